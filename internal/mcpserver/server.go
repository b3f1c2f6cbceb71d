package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/bearer"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// ProtocolVersions are the MCP protocol revisions crm-mcp serves, newest
// first. 2024-11-05 (HTTP+SSE era) is deliberately not offered.
var ProtocolVersions = []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}

// DefaultMaxBodyBytes is the request body limit used when
// [GuardOptions.MaxBodyBytes] is zero. Real MCP requests are a few KiB; 1 MiB
// leaves room for large tool arguments without letting one client make the
// process buffer tens of megabytes.
const DefaultMaxBodyBytes = 1 << 20

// Options configures a [Server].
type Options struct {
	// Implementation names the server in initialize and server/discover
	// results. If nil, defaults to {Name: "crm-mcp", Version: "dev"}.
	Implementation *mcp.Implementation

	// ServerOptions are handed to go-sdk (capabilities, completion handler,
	// instructions, ...). SupportedProtocolVersions is always replaced by
	// [ProtocolVersions] and a nil Logger by Options.Logger. If nil, go-sdk's
	// defaults apply.
	ServerOptions *mcp.ServerOptions

	// Register adds tools, resources and prompts to the server. It runs once,
	// in New; the server lives as long as the process.
	Register func(*mcp.Server)

	// StreamingTools names the tools that emit progress or log notifications
	// while they run. Their calls (and any call that asks for progress with a
	// progressToken) are answered as text/event-stream so the notifications
	// reach the client; everything else is answered as application/json,
	// which is cheaper and friendlier to proxies.
	StreamingTools []string

	// Guard holds the transport-level checks. Its zero value allows only
	// same-host requests without an Origin and a 1 MiB body.
	Guard GuardOptions

	// ToolScopes names the OAuth scopes each tool needs. A tools/call for a
	// tool whose scopes the request's principal lacks is answered 403
	// insufficient_scope with the scopes to ask for (step-up, MCP
	// authorization "Scope Challenge Handling"). Tools not listed need none
	// beyond authentication. Ignored for requests without a principal.
	ToolScopes map[string][]string

	// RequestLimit limits POST /mcp requests (ratelimit.go); a refusal is
	// HTTP 429 with a JSON-RPC error. If nil, no limit.
	RequestLimit RequestLimitFunc

	// ToolLimit limits tool calls (ratelimit.go); a refusal is a tool error
	// result. If nil, no limit.
	ToolLimit ToolLimitFunc

	// ResourceMetadataURL is named in insufficient_scope challenges.
	ResourceMetadataURL string

	// Logger receives transport diagnostics. If nil, nothing is logged.
	Logger *slog.Logger

	// Streams enables the notification streams (GET /mcp up to 2025-11-25,
	// subscriptions/listen on 2026-07-28; listen.go). If nil, GET answers
	// 405 and subscriptions/listen goes to go-sdk.
	Streams *StreamOptions
}

// Server is the /mcp endpoint. It is an [http.Handler] safe for concurrent
// use; build one per process.
type Server struct {
	mcp       *mcp.Server
	guard     guard
	streaming map[string]bool
	jsonResp  http.Handler // go-sdk answering application/json
	sseResp   http.Handler // go-sdk answering text/event-stream
	logger    *slog.Logger
	scopes    map[string][]string
	reqLimit  RequestLimitFunc // Options.RequestLimit (ratelimit.go)
	rmURL     string
	fast      *fastList // tools/list fast path (fastlist.go)
	oneShot   *oneShot  // one-shot tools/call path (oneshot.go)
	streams   *streams  // notification streams (listen.go); nil if off
}

// New builds the go-sdk server once, registers its features and wraps it in
// the guarded stateless transport.
func New(opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g, err := newGuard(opts.Guard)
	if err != nil {
		return nil, fmt.Errorf("configure mcp guard: %w", err)
	}
	impl := opts.Implementation
	if impl == nil {
		impl = &mcp.Implementation{Name: "crm-mcp", Version: "dev"}
	}
	var so mcp.ServerOptions
	if opts.ServerOptions != nil {
		so = *opts.ServerOptions
	}
	so.SupportedProtocolVersions = slices.Clone(ProtocolVersions)
	if so.SetCacheable == nil {
		so.SetCacheable = defaultCacheable
	}
	if so.Logger == nil {
		// go-sdk logs every stateless request's session connect and
		// disconnect at INFO; only its warnings are worth keeping.
		so.Logger = slog.New(minLevel{logger.Handler(), slog.LevelWarn})
	}
	srv := mcp.NewServer(impl, &so)
	if opts.ToolLimit != nil {
		srv.AddReceivingMiddleware(toolLimitMiddleware(opts.ToolLimit)) // ratelimit.go
	}
	if opts.Register != nil {
		opts.Register(srv)
	}
	// Added last, so outermost: it also covers the features' own middleware.
	srv.AddReceivingMiddleware(recoverPanics(logger))

	getServer := func(*http.Request) *mcp.Server { return srv }
	// Our guard already enforces Host (a stricter superset of go-sdk's
	// loopback-only DNS rebinding check), Origin and the body limit; go-sdk
	// keeps its own body limit as a second line.
	base := mcp.StreamableHTTPOptions{
		Stateless:           true,
		Logger:              slog.New(minLevel{logger.Handler(), slog.LevelWarn}),
		MaxRequestBodyBytes: g.maxBody,
		// For 2026-07-28 the POST is the whole request lifecycle: a client
		// that hangs up cancels the tool instead of leaving it running.
		PropagateRequestCancellation: true,
	}
	jsonOpts, sseOpts := base, base
	jsonOpts.JSONResponse = true
	s := &Server{
		mcp:       srv,
		guard:     g,
		streaming: make(map[string]bool, len(opts.StreamingTools)),
		jsonResp:  mcp.NewStreamableHTTPHandler(getServer, &jsonOpts),
		sseResp:   mcp.NewStreamableHTTPHandler(getServer, &sseOpts),
		logger:    logger,
	}
	s.scopes, s.rmURL = opts.ToolScopes, opts.ResourceMetadataURL
	// Options.RequestLimit (ratelimit.go).
	s.reqLimit = opts.RequestLimit
	s.streams = newStreams(opts.Streams) // notification streams (listen.go)
	for _, name := range opts.StreamingTools {
		s.streaming[name] = true
	}
	s.fast = newFastList(s.jsonResp, opts.ServerOptions) // tools/list fast path (fastlist.go)
	s.oneShot = newOneShot(s)                            // one-shot tools/call path (oneshot.go)
	return s, nil
}

// ListTTL is the cache lifetime crm-mcp advertises (2026-07-28 ttlMs) for
// server/discover and list results. Lists change only on deploy, and
// clients holding a notification stream hear of it at once.
const ListTTL = 5 * time.Minute

// defaultCacheable marks results private: which tools a user sees depends on
// the scopes they granted, so no intermediary may share one user's list.
func defaultCacheable(_ context.Context, req mcp.Request, c *mcp.Cacheable) {
	c.CacheScope = "private"
	if _, isRead := req.(*mcp.ReadResourceRequest); isRead {
		return // resource contents are tenant data: let handlers decide
	}
	c.TTLMs = int(ListTTL / time.Millisecond)
}

// MCP returns the underlying go-sdk server, for adding or removing features
// after start.
func (s *Server) MCP() *mcp.Server { return s.mcp }

// ServeHTTP implements the Streamable HTTP transport for POST /mcp
// (MCP transports 2025-11-25 §2.1, 2026-07-28 streamable-http).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && s.streams != nil {
		s.serveGET(w, r) // notification stream (listen.go)
		return
	}
	if r.Method != http.MethodPost {
		// RFC 9110 §15.5.6: name the methods that exist. GET exists only
		// with notification streams.
		allow := http.MethodPost
		if s.streams != nil {
			allow = "GET, POST"
		}
		w.Header().Set("Allow", allow)
		writeRPCError(w, http.StatusMethodNotAllowed, -32600, "method not allowed: use POST", nil)
		return
	}
	if rej := s.guard.check(r); rej != nil {
		writeRPCError(w, rej.status, rej.code, rej.msg, rej.data)
		return
	}
	body, rej := s.guard.readBody(w, r)
	if rej != nil {
		writeRPCError(w, rej.status, rej.code, rej.msg, rej.data)
		return
	}
	if isBatch(body) {
		// Batches were removed in 2025-06-18; for older revisions we refuse
		// them too, so one POST can never run more than one call. Nothing in
		// the batch is executed.
		writeRPCError(w, http.StatusBadRequest, -32600, "JSON-RPC batches are not supported", nil)
		return
	}
	env := peekEnvelope(body)
	if rej := s.guard.checkVersion(r); rej != nil {
		writeRPCErrorID(w, env.ID, rej.status, rej.code, rej.msg, rej.data)
		return
	}
	if !s.admitRequest(w, r, env) { // rate limit (ratelimit.go)
		return
	}
	if need := s.scopes[env.Params.Name]; env.Method == "tools/call" && len(need) > 0 {
		if p, ok := tenant.FromContext(r.Context()); ok && !p.HasScopes(need...) {
			bearer.Challenge(w, s.rmURL, http.StatusForbidden, "insufficient_scope", strings.Join(unionScopes(p.Scopes, need), " "))
			return
		}
	}
	if env.Method == "subscriptions/listen" && s.streams != nil {
		s.serveListen(w, r, body) // notification stream (listen.go)
		return
	}
	if env.Method == "tools/list" && s.fast.serve(w, r, body) { // tools/list fast path (fastlist.go)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	if s.wantsStream(r, env) {
		s.sseResp.ServeHTTP(w, r)
		return
	}
	if env.Method == "tools/call" && s.oneShot.serve(w, r, body) { // one-shot tools/call path (oneshot.go)
		return
	}
	s.jsonResp.ServeHTTP(w, r)
}

// wantsStream reports whether the request should be answered as an SSE
// stream: a tools/call that will emit notifications, for a client that
// accepts text/event-stream.
func (s *Server) wantsStream(r *http.Request, env envelope) bool {
	if env.Method != "tools/call" {
		return false
	}
	if !s.streaming[env.Params.Name] && len(env.Params.Meta.ProgressToken) == 0 {
		return false
	}
	_, streamOK := accepts(r.Header.Values("Accept"))
	return streamOK
}

// envelope is the part of a JSON-RPC request the transport routes on.
type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Name string `json:"name"`
		Meta struct {
			ProgressToken json.RawMessage `json:"progressToken"`
		} `json:"_meta"`
	} `json:"params"`
}

// peekEnvelope decodes the routing fields. A body that does not decode is
// left for go-sdk to reject with its precise JSON-RPC error.
func peekEnvelope(body []byte) envelope {
	var env envelope
	_ = json.Unmarshal(body, &env)
	if bytes.Equal(env.Params.Meta.ProgressToken, []byte("null")) {
		env.Params.Meta.ProgressToken = nil
	}
	return env
}

// isBatch reports whether body is a JSON array, i.e. a JSON-RPC batch.
func isBatch(body []byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '['
}

// rpcErrorBody is a JSON-RPC 2.0 error response with a null id: the errors
// written here happen before a request id is known to be valid.
type rpcErrorBody struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcErrorInfo    `json:"error"`
}

type rpcErrorInfo struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// writeRPCError writes a transport-level failure as a JSON-RPC error, which
// MCP clients surface better than a text/plain body.
func writeRPCError(w http.ResponseWriter, status, code int, msg string, data any) {
	writeRPCErrorID(w, nil, status, code, msg, data)
}

// writeRPCErrorID is writeRPCError answering the request with the given raw
// id. An id that is not a JSON string or number is answered as null.
func writeRPCErrorID(w http.ResponseWriter, id json.RawMessage, status, code int, msg string, data any) {
	if !validID(id) {
		id = json.RawMessage("null")
	}
	b, err := json.Marshal(rpcErrorBody{JSONRPC: "2.0", ID: id, Error: rpcErrorInfo{Code: code, Message: msg, Data: data}})
	if err != nil {
		// Only reachable with an unmarshalable data value: a programmer error.
		b = []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// validID reports whether id is a JSON-RPC request id: a string or a number.
func validID(id json.RawMessage) bool {
	var v any
	if len(id) == 0 || json.Unmarshal(id, &v) != nil {
		return false
	}
	switch v.(type) {
	case string, float64:
		return true
	}
	return false
}

// minLevel drops records below a level before they reach the wrapped handler.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}

// unionScopes is what a step-up asks for: what the client has plus what the
// tool needs, so re-authorizing does not lose existing access.
func unionScopes(have, need []string) []string {
	out := slices.Clone(have)
	for _, n := range need {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
