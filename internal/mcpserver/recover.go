package mcpserver

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/obs"
	"github.com/crm-mcp/crm-mcp/internal/outputguard"
)

// recoverPanics is the outermost receiving middleware. go-sdk runs method
// handlers on a goroutine of its own without recover, so a panic in any
// tool (or prompt, or resource) handler that is not recovered closer to it
// would end the process, and with it every request in flight; obs's HTTP
// recovery cannot reach that goroutine. A panicking tools/call becomes a
// tool error with the request id (the model can tell the user and stop
// retrying); any other method a JSON-RPC internal error. The log gets the
// method, the tool's name and the panic's type, never its value, which can
// hold arguments or records.
func recoverPanics(logger *slog.Logger) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				attrs := []slog.Attr{slog.String("method", method), slog.String("panic_type", fmt.Sprintf("%T", v))}
				ctr, isCall := req.(*mcp.CallToolRequest)
				if isCall && ctr.Params != nil {
					attrs = append(attrs, slog.String("tool", ctr.Params.Name))
				}
				logger.LogAttrs(ctx, slog.LevelError, "mcp handler panic", attrs...)
				id := obs.RequestIDFrom(ctx)
				if isCall {
					res, err = &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{
						Text: outputguard.Wrap("The tool hit an internal error (request id " + id + "). It was not retried; tell the user, and do not call it again with the same input."),
					}}}, nil
					return
				}
				res, err = nil, fmt.Errorf("internal error (request id %s)", id)
			}()
			return next(ctx, method, req)
		}
	}
}
