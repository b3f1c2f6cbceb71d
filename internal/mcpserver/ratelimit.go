package mcpserver

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// RequestLimitFunc decides whether a POST /mcp may proceed (MCP
// 2025-11-25 security best practices: servers rate-limit tool
// invocations). It runs after bearer authentication and the transport
// checks, before any method runs; r's context holds the principal. On
// refusal it returns ok false and how long the client should wait, and
// may set response headers in h (RateLimit, RateLimit-Policy).
type RequestLimitFunc func(r *http.Request, h http.Header) (ok bool, retryAfter time.Duration)

// ToolLimitFunc decides whether a tools/call of the named tool may run. ctx
// is the request's (it holds the principal). On refusal the call is
// answered with a tool error result telling the model when to retry, and
// the tool does not run.
type ToolLimitFunc func(ctx context.Context, tool string) (ok bool, retryAfter time.Duration)

// rpcRateLimited is the JSON-RPC error code of a request refused by the
// request limit (implementation-defined server error range, JSON-RPC 2.0
// §5.1).
const rpcRateLimited = -32029

// admitRequest applies the request limit, writing the refusal: HTTP 429
// with Retry-After and a JSON-RPC error answering the request's id.
func (s *Server) admitRequest(w http.ResponseWriter, r *http.Request, env envelope) bool {
	if s.reqLimit == nil {
		return true
	}
	ok, after := s.reqLimit(r, w.Header())
	if ok {
		return true
	}
	secs := retrySeconds(after)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeRPCErrorID(w, env.ID, http.StatusTooManyRequests, rpcRateLimited,
		"rate limit exceeded: retry after "+strconv.FormatInt(secs, 10)+" seconds", map[string]int64{"retryAfterSeconds": secs})
	return false
}

// toolLimitMiddleware applies limit to every tools/call inside go-sdk's
// method handling, so the one-shot path, the JSON path and the SSE path all
// pass through it and the refusal is encoded by go-sdk for the request's
// revision.
func toolLimitMiddleware(limit ToolLimitFunc) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "tools/call" {
				return next(ctx, method, req)
			}
			call, isCall := req.(*mcp.CallToolRequest)
			if !isCall || call.Params == nil {
				return next(ctx, method, req)
			}
			if ok, after := limit(ctx, call.Params.Name); !ok {
				return toolRateLimited(after), nil
			}
			return next(ctx, method, req)
		}
	}
}

// toolRateLimited is the result a rate-limited tool call gets: a tool
// error (not a protocol error), so the model sees it and backs off.
func toolRateLimited(after time.Duration) *mcp.CallToolResult {
	secs := strconv.FormatInt(retrySeconds(after), 10)
	return &mcp.CallToolResult{
		IsError: true,
		Content: []mcp.Content{&mcp.TextContent{Text: "Rate limit reached for this tool. The call was not run. " +
			"Wait " + secs + " seconds before calling it again, and make fewer calls (exports count more)."}},
	}
}

func retrySeconds(d time.Duration) int64 {
	return max(int64((d+time.Second-1)/time.Second), 1)
}
