// Package tools defines MCP tools and registers them on a go-sdk server,
// safely and cheaply.
//
// A tool is a static definition ([Def]: the [mcp.Tool], its toolset,
// required scopes and whether it streams) bound to a typed handler with
// [New]. New infers the input and output JSON schemas from the handler's
// In and Out types once, resolves them once and keeps them pre-serialised.
// [Registered.Register] adds the tool with go-sdk's raw [mcp.Server.AddTool]
// API and a handler that does what go-sdk's typed [mcp.AddTool] does —
// validate the arguments against the resolved input schema after applying
// its defaults, decode them into In, call the handler, validate the output
// and build the [mcp.CallToolResult] — with the same results and errors, but
// without go-sdk's per-decode 32 KiB read buffers and, when it is provably
// equivalent, without re-marshalling the arguments before decoding them
// into In. In addition, a panic
// in a handler becomes an IsError result with a fixed message instead of
// crashing the process (go-sdk runs handlers without recover).
//
// The equivalence with mcp.AddTool is held by a differential test
// (differential_test.go); run it on every go-sdk upgrade.
package tools
