package mcpserver

// The one-shot tools/call path.
//
// For a stateless request go-sdk v1.8.0's StreamableHTTPHandler builds a
// StreamableServerTransport, connects the server to it with a synthesised
// session state, and serves the POST through it. On the way it decodes the
// body about six times (readBatch twice, each trying a batch first; the
// message decode itself is two unmarshals), and every go-sdk unmarshal
// allocates a 32 KiB decoder buffer: ~200 KB and a large share of the CPU
// of a trivial call before the tool runs (docs/performance.md).
//
// For a single legacy-revision (no header, 2025-03-26, 2025-06-18,
// 2025-11-25) tools/call answered as application/json, this path does what
// go-sdk's stateless handler does, with go-sdk's public API: it builds the
// same [jsonrpc.Request] (go-sdk's own decoder, or a strict scanner proven
// equal to it), connects the long-lived *mcp.Server to a one-shot
// [mcp.Transport] with the state go-sdk synthesises (ephemeralConnectOpts),
// writes the response with the headers go-sdk's JSON stream writes, and
// closes the session. Everything from the session inward (middleware, tool
// lookup, input validation, the tool, result encoding) is go-sdk's own code.
//
// It serves only when it is certain go-sdk would take the same route;
// anything else goes to go-sdk unchanged. Mirrored go-sdk v1.8.0 details
// (re-check on every upgrade; oneshot_test.go compares ~60 request variants
// byte for byte and must pass):
//   - StreamableHTTPHandler.ServeHTTP / serveStateless: the DNS-rebinding
//     check, the protocol-version header check, Content-Type and Accept
//     checks, ephemeralConnectOpts' state (InitializeParams{ProtocolVersion:
//     header or 2025-03-26}, InitializedParams{}, LogLevel "info");
//   - streamableServerConn.servePOST: Last-Event-ID refusal, checkRequest
//     (known method, id, params present), the _meta protocolVersion check
//     (refused here: any params that could carry it go to go-sdk),
//     RequestExtra{TokenInfo, Header, CloseSSEStream}, validateMcpHeaders
//     (a no-op below 2026-07-28), the Cache-Control and Content-Type headers;
//   - streamableServerConn.Write in stateless JSON mode: server→client
//     requests fail with jsonrpc2.ErrRejected ("rejected by transport:
//     stateless servers cannot make requests"); notifications go to the
//     never-connected standalone stream and fail with ErrRejected
//     ("undelivered message: stream not connected or already closed");
//     the response is written as the whole body;
//   - hangResponse / stream.release / session.Close ordering, so a client
//     that hangs up on a legacy request does not cancel the tool (go-sdk
//     propagates cancellation only for 2026-07-28), and CloseSSEStream.
//   - MCPGODEBUG=allowsessionsinstateless=1 changes the stateless handler;
//     the path is off when it is set.
//
// A panicking tool does not crash the process on either path: both run
// the method handlers through recoverPanics (recover.go).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// oneShot serves single legacy tools/call requests through a one-shot
// transport.
type oneShot struct {
	owner   *Server
	sdk     *mcp.StreamableHTTPHandler // the handler it stands in for
	enabled atomic.Bool
	served  atomic.Int64 // requests answered (tests)
}

// newOneShot is called by New once s.mcp and s.jsonResp are set. The path
// stands in for that go-sdk JSON handler only: if s.jsonResp is replaced
// (wrapped, or stubbed in a test), every request goes to the replacement.
func newOneShot(s *Server) *oneShot {
	o := &oneShot{owner: s}
	o.sdk, _ = s.jsonResp.(*mcp.StreamableHTTPHandler)
	o.enabled.Store(o.sdk != nil && !sdkSessionsInStateless(os.Getenv("MCPGODEBUG")))
	return o
}

// sdkSessionsInStateless reports whether go-sdk's allowsessionsinstateless
// compatibility setting may be on (it makes stateless requests carry
// session ids). Any mention turns the one-shot path off.
func sdkSessionsInStateless(mcpgodebug string) bool {
	return strings.Contains(mcpgodebug, "allowsessionsinstateless")
}

// SetOneShotToolsCall turns the one-shot tools/call path on or off. Off,
// every tools/call goes through go-sdk's StreamableHTTPHandler.
func (s *Server) SetOneShotToolsCall(on bool) {
	if s.oneShot == nil {
		return
	}
	s.oneShot.enabled.Store(on && s.oneShot.sdk != nil && !sdkSessionsInStateless(os.Getenv("MCPGODEBUG")))
}

// legacyRevisions maps the MCP-Protocol-Version header values the path
// serves to the revision go-sdk assumes for them.
var legacyRevisions = map[string]string{
	"":           "2025-03-26",
	"2025-03-26": "2025-03-26",
	"2025-06-18": "2025-06-18",
	"2025-11-25": "2025-11-25",
}

// serve answers a tools/call the way go-sdk's stateless JSON handler would
// and reports true, or reports false having written nothing. It runs after
// the guard, the body read, the batch refusal and the SSE routing decision;
// body is the whole request body.
func (o *oneShot) serve(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if o == nil || !o.enabled.Load() {
		return false
	}
	if sdk, ok := o.owner.jsonResp.(*mcp.StreamableHTTPHandler); !ok || sdk != o.sdk {
		return false
	}
	h := r.Header
	if len(h.Values("Mcp-Session-Id")) > 0 || len(h.Values("Last-Event-ID")) > 0 {
		return false
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && la != nil {
		if sdkIsLoopback(la.String()) && !sdkIsLoopback(r.Host) {
			return false // go-sdk answers 403
		}
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return false
		}
	}
	if jsonOK, streamOK := accepts(h.Values("Accept")); !jsonOK || !streamOK {
		return false
	}
	header := h.Get("Mcp-Protocol-Version")
	version, ok := legacyRevisions[header]
	if !ok || (header != "" && !slices.Contains(ProtocolVersions, header)) {
		return false
	}
	req, ok := parseCallRequest(body)
	if !ok {
		// Not in the scanner's certain subset: decode exactly as go-sdk does.
		msg, err := jsonrpc.DecodeMessage(body)
		if err != nil {
			return false
		}
		if req, ok = msg.(*jsonrpc.Request); !ok {
			return false
		}
	}
	// checkRequest: a call with params; validateMcpHeaders does nothing
	// below 2026-07-28.
	if req.Method != "tools/call" || !req.ID.IsValid() || len(req.Params) == 0 || mayCarryMetaVersion(req.Params) {
		return false
	}
	o.served.Add(1)
	o.call(w, r, req, version)
	return true
}

// mayCarryMetaVersion reports whether params could hold a non-empty
// _meta["io.modelcontextprotocol/protocolVersion"], which makes go-sdk check
// it against the header (servePOST). Without \u or \/ escapes every key is
// written literally, so the key's absence is certain.
func mayCarryMetaVersion(params []byte) bool {
	return bytes.Contains(params, []byte("io.modelcontextprotocol")) ||
		bytes.Contains(params, []byte(`\u`)) || bytes.Contains(params, []byte(`\/`))
}

// call runs req on a fresh session over a one-shot connection and writes
// the answer, as serveStateless + servePOST do.
func (o *oneShot) call(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request, version string) {
	c := &oneShotConn{
		req:     req,
		version: version,
		w:       w,
		done:    make(chan struct{}),
		pending: true,
		closed:  make(chan struct{}),
	}
	done := c.done
	req.Extra = &mcp.RequestExtra{
		TokenInfo:      auth.TokenInfoFromContext(r.Context()),
		Header:         r.Header,
		CloseSSEStream: c.closeStream,
	}
	// The headers servePOST sets before publishing the request (the tool may
	// answer before Connect returns).
	wh := w.Header()
	wh.Set("Cache-Control", "no-cache, no-transform")
	wh.Set("Content-Type", "application/json")
	ss, err := o.owner.mcp.Connect(r.Context(), oneShotTransport{c}, &mcp.ServerSessionOptions{
		State: &mcp.ServerSessionState{
			InitializeParams:  &mcp.InitializeParams{ProtocolVersion: version},
			InitializedParams: new(mcp.InitializedParams),
			LogLevel:          "info",
		},
	})
	if err != nil { // unreachable: oneShotTransport.Connect cannot fail
		wh.Del("Cache-Control")
		http.Error(w, "failed connection", http.StatusInternalServerError)
		return
	}
	select { // hangResponse
	case <-r.Context().Done():
	case <-done:
	case <-c.closed:
	}
	c.release()
	_ = ss.Close()
}

// oneShotTransport is an [mcp.Transport] carrying exactly one request.
type oneShotTransport struct{ c *oneShotConn }

func (t oneShotTransport) Connect(context.Context) (mcp.Connection, error) { return t.c, nil }

// errRejected is go-sdk's jsonrpc2.ErrRejected (internal in v1.8.0): a
// write failure that does not break the connection. jsonrpc2 matches it by
// code (WireError.Is), so an equal value behaves identically.
var errRejected = &jsonrpc.Error{Code: -32005, Message: "rejected by transport"}

// errStreamGone is go-sdk's stream.deliverLocked error for a stream without
// a hanging HTTP request.
var errStreamGone = errors.New("stream not connected or already closed")

func undelivered(err error) error {
	return fmt.Errorf("%w: undelivered message: %v", errRejected, errors.Join(err))
}

// oneShotConn is the [mcp.Connection]. Its fields mirror the state of
// go-sdk's streamableServerConn and its one request stream.
type oneShotConn struct {
	req     *jsonrpc.Request
	version string // effective revision (stream.protocolVersion)

	mu       sync.Mutex
	read     bool                // req handed out (c.incoming drained)
	w        http.ResponseWriter // nil once released (stream.w)
	done     chan struct{}       // closed on answer or CloseSSEStream, then nil (stream.done)
	pending  bool                // req still unanswered (c.requestStreams entry)
	isClosed bool                // Close called (c.isDone)
	closed   chan struct{}       // closed by Close (c.done)
}

// Read returns the request once, then blocks until Close.
func (c *oneShotConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	c.mu.Lock()
	if !c.read {
		c.read = true
		c.mu.Unlock()
		return c.req, nil
	}
	c.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, io.EOF
	}
}

// Write mirrors streamableServerConn.Write for a stateless session
// answering application/json without an event store.
func (c *oneShotConn) Write(_ context.Context, msg jsonrpc.Message) error {
	data, err := encodeMessage(msg)
	if err != nil {
		return err
	}
	if req, ok := msg.(*jsonrpc.Request); ok && req.IsCall() {
		return fmt.Errorf("%w: stateless servers cannot make requests", errRejected)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	resp, isResp := msg.(*jsonrpc.Response)
	if !isResp {
		// A notification: JSON mode sends it to the standalone SSE stream,
		// which a stateless POST never connects.
		if c.isClosed {
			return errors.New("session is closed")
		}
		return undelivered(errStreamGone)
	}
	if !c.pending || resp.ID != c.req.ID {
		return fmt.Errorf("%w: write to closed stream", errRejected)
	}
	c.pending = false
	if c.isClosed {
		return errors.New("session is closed")
	}
	if c.done == nil {
		return undelivered(errStreamGone)
	}
	_, werr := c.w.Write(data)
	close(c.done)
	c.done = nil
	if werr != nil {
		return undelivered(werr)
	}
	return nil
}

// encodeMessage is jsonrpc.EncodeMessage, byte for byte, without its last
// pass over a successful result. go-sdk builds Response.Result with its
// own encoder (compact, HTML not escaped), and EncodeMessage would encode
// it again inside the envelope, which for a RawMessage means scanning it
// byte by byte to compact it: a tool's answer is kilobytes. Error
// responses and string ids go through EncodeMessage. TestOneShotDifferential
// compares the bytes with go-sdk's own transport.
func encodeMessage(msg jsonrpc.Message) ([]byte, error) {
	resp, ok := msg.(*jsonrpc.Response)
	if !ok || resp.Error != nil || len(resp.Result) == 0 {
		return jsonrpc.EncodeMessage(msg)
	}
	id, ok := resp.ID.Raw().(int64)
	if !ok {
		return jsonrpc.EncodeMessage(msg)
	}
	buf := make([]byte, 0, len(resp.Result)+48)
	buf = append(buf, primedPrefix...) // how go-sdk starts every response (fastlist.go)
	buf = strconv.AppendInt(buf, id, 10)
	buf = append(buf, `,"result":`...)
	buf = append(buf, resp.Result...)
	return append(buf, '}'), nil
}

// closeStream is RequestExtra.CloseSSEStream for a legacy revision
// (stream.close): a close event from 2025-11-25 on when a retry is given,
// written even on a JSON response, then the request is let go unanswered.
func (c *oneShotConn) closeStream(args mcp.CloseSSEStreamArgs) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pending || c.done == nil {
		return
	}
	if c.version >= "2025-11-25" && args.RetryAfter > 0 {
		_, _ = c.w.Write([]byte("event: close\nretry: " + strconv.FormatInt(args.RetryAfter.Milliseconds(), 10) + "\ndata: \n\n"))
		_ = http.NewResponseController(c.w).Flush()
	}
	close(c.done)
	c.done = nil
}

// release detaches the HTTP response (stream.release).
func (c *oneShotConn) release() {
	c.mu.Lock()
	c.w = nil
	c.done = nil
	c.mu.Unlock()
}

func (c *oneShotConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isClosed {
		c.isClosed = true
		close(c.closed)
	}
	return nil
}

func (c *oneShotConn) SessionID() string { return "" }

// parseCallRequest builds the request go-sdk's jsonrpc.DecodeMessage would
// build from body, for the subset where that is certain without go-sdk's
// decoder:
//
//	{"jsonrpc":"2.0","id":ID,"method":"tools/call","params":{...}}
//
// in any key order with JSON whitespace: valid UTF-8, no escaped, duplicate
// or other keys, ID a string without escapes or an integer literal of at
// most 15 digits, params an object nested at most 32 deep whose numbers
// have no exponent. Anything else reports false (the caller then uses
// go-sdk's decoder). TestParseCallRequestMatchesGoSDK and
// FuzzParseCallRequest hold it to DecodeMessage.
func parseCallRequest(body []byte) (*jsonrpc.Request, bool) {
	if !utf8.Valid(body) {
		return nil, false
	}
	var (
		sawVersion, sawMethod bool
		idVal, params         []byte
	)
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i = skipWS(body, i+1)
	for {
		key, start, ok := scanKey(body, i)
		if !ok {
			return nil, false
		}
		end, ok := scanValue(body, start, 0)
		if !ok {
			return nil, false
		}
		val := body[start:end]
		switch key {
		case "jsonrpc":
			if sawVersion || string(val) != `"2.0"` {
				return nil, false
			}
			sawVersion = true
		case "method":
			if sawMethod || string(val) != `"tools/call"` {
				return nil, false
			}
			sawMethod = true
		case "id":
			if idVal != nil {
				return nil, false
			}
			idVal = val
		case "params":
			if params != nil || val[0] != '{' || !simpleNumbers(val) {
				return nil, false
			}
			params = val
		default:
			return nil, false
		}
		i = skipWS(body, end)
		if i >= len(body) {
			return nil, false
		}
		if body[i] == '}' {
			break
		}
		if body[i] != ',' {
			return nil, false
		}
		i = skipWS(body, i+1)
	}
	if skipWS(body, i+1) != len(body) || !sawVersion || !sawMethod || idVal == nil || params == nil {
		return nil, false
	}
	id, ok := plainID(idVal)
	if !ok {
		return nil, false
	}
	return &jsonrpc.Request{ID: id, Method: "tools/call", Params: params}, true
}

// plainID converts an id literal the way go-sdk does (strings as they are,
// numbers through float64 to int64), for the literals where that is exact.
func plainID(val []byte) (jsonrpc.ID, bool) {
	switch c := val[0]; {
	case c == '"':
		if bytes.IndexByte(val, '\\') >= 0 {
			return jsonrpc.ID{}, false
		}
		id, err := jsonrpc.MakeID(string(val[1 : len(val)-1]))
		return id, err == nil
	case c == '-' || (c >= '0' && c <= '9'):
		digits := val
		if c == '-' {
			digits = val[1:]
		}
		if len(digits) == 0 || len(digits) > 15 || (digits[0] == '0' && len(val) > 1) {
			return jsonrpc.ID{}, false
		}
		n, err := strconv.ParseInt(string(val), 10, 64)
		if err != nil {
			return jsonrpc.ID{}, false // a fraction or an exponent
		}
		id, err := jsonrpc.MakeID(float64(n))
		return id, err == nil
	}
	return jsonrpc.ID{}, false
}
