// Package mcpserver serves the MCP endpoint: one long-lived go-sdk server per
// process behind the Streamable HTTP transport in stateless mode, guarded by
// the checks the transport specification asks of a network-facing server
// (Origin, Host, body size, protocol version, no JSON-RPC batches).
//
// Statelessness comes from keeping no session state, not from rebuilding the
// server: building a go-sdk server with ~30 tools costs ~3 ms of CPU, ten
// times the rest of a request, so the server is built once and per-user
// behaviour comes from the request context.
package mcpserver
