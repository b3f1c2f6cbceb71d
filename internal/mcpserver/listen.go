package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/bearer"
	"github.com/crm-mcp/crm-mcp/internal/notify"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// Defaults of [StreamOptions].
const (
	DefaultHeartbeat    = 25 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultRetry        = 2 * time.Second
)

// listenVersion is the first revision with subscriptions/listen and without
// the GET stream.
const listenVersion = "2026-07-28"

// RevocationChecker reports whether an access token (by jti) or its refresh
// family was revoked. An error means "cannot tell".
type RevocationChecker interface {
	AccessRevoked(ctx context.Context, jti, familyID string) (bool, error)
}

// StreamOptions configures the notification streams: GET /mcp for
// 2025-03-26 … 2025-11-25 clients and subscriptions/listen for 2026-07-28.
type StreamOptions struct {
	// Hub holds the open streams and enforces the caps. Required.
	Hub *notify.Hub
	// Heartbeat is the interval of the ": ping" comment that keeps proxies
	// with 30–60 s idle timeouts from cutting a quiet stream; the token's
	// revocation is re-checked at the same pace. If zero, defaults to
	// DefaultHeartbeat.
	Heartbeat time.Duration
	// WriteTimeout bounds each write (per-write deadline): a client that
	// stops reading is dropped once its buffers are full. If zero,
	// defaults to DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Retry is the reconnection delay sent on shutdown, plus a random
	// jitter of up to Retry, so that clients do not all reconnect at once.
	// If zero, defaults to DefaultRetry.
	Retry time.Duration
	// Revocations is consulted at every heartbeat; a revoked token, or a
	// store that cannot tell, ends the stream (fail closed). If nil,
	// streams end only at expiry.
	Revocations RevocationChecker
	// Now is the clock for token expiry. If nil, time.Now.
	Now func() time.Time
}

type streams struct {
	StreamOptions
}

func newStreams(o *StreamOptions) *streams {
	if o == nil || o.Hub == nil {
		return nil
	}
	s := &streams{*o}
	if s.Heartbeat <= 0 {
		s.Heartbeat = DefaultHeartbeat
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = DefaultWriteTimeout
	}
	if s.Retry <= 0 {
		s.Retry = DefaultRetry
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return s
}

// serveGET opens the standalone SSE stream of 2025-03-26 … 2025-11-25
// (transports §2.2.3 "Listening for Messages from the Server"). The first
// event is notifications/tools/list_changed: a stateless server cannot know
// what the client last saw, so every (re)connect asks it to refetch.
func (s *Server) serveGET(w http.ResponseWriter, r *http.Request) {
	if rej := s.guard.check(r); rej != nil {
		writeRPCError(w, rej.status, rej.code, rej.msg, rej.data)
		return
	}
	if rej := s.guard.checkVersion(r); rej != nil {
		writeRPCError(w, rej.status, rej.code, rej.msg, rej.data)
		return
	}
	if r.Header.Get("Mcp-Protocol-Version") >= listenVersion {
		// 2026-07-28 removed the GET stream: subscriptions/listen replaces it.
		w.Header().Set("Allow", http.MethodPost)
		writeRPCError(w, http.StatusMethodNotAllowed, -32600, "method not allowed: use POST subscriptions/listen", nil)
		return
	}
	if _, streamOK := accepts(r.Header.Values("Accept")); !streamOK {
		writeRPCError(w, http.StatusNotAcceptable, -32600, "Accept must include text/event-stream", nil)
		return
	}
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	// Last-Event-ID is ignored: events carry no ids and nothing is
	// replayed, so no stream can receive another user's history.
	st, ok := s.openStream(w, r, p, notify.ToolsListChanged, nil)
	if !ok || s.detach(w, r, st, p, legacyFrames{}) { // listen_detached.go
		return
	}
	s.runStream(w, r, st, p, legacyFrames{})
}

// listenRequest is a subscriptions/listen request (2026-07-28
// basic/patterns/subscriptions).
type listenRequest struct {
	ID     json.RawMessage `json:"id"`
	Params *struct {
		Meta          map[string]json.RawMessage     `json:"_meta"`
		Notifications *mcp.NotificationSubscriptions `json:"notifications"`
	} `json:"params"`
}

// serveListen answers subscriptions/listen with an SSE stream whose first
// message is notifications/subscriptions/acknowledged carrying the subset of
// the requested types the server honours (only toolsListChanged), then a
// tools/list_changed if it was asked for, then heartbeats. On shutdown the
// stream ends with the SubscriptionsListenResult (graceful teardown).
func (s *Server) serveListen(w http.ResponseWriter, r *http.Request, body []byte) {
	var req listenRequest
	if err := json.Unmarshal(body, &req); err != nil || !validID(req.ID) {
		writeRPCErrorID(w, req.ID, http.StatusBadRequest, -32600, "invalid subscriptions/listen request", nil)
		return
	}
	version := r.Header.Get("Mcp-Protocol-Version")
	if req.Params != nil && version == "" {
		_ = json.Unmarshal(req.Params.Meta["io.modelcontextprotocol/protocolVersion"], &version)
	}
	if version < listenVersion {
		writeRPCErrorID(w, req.ID, http.StatusOK, -32601, "method not found: subscriptions/listen needs protocol 2026-07-28", nil)
		return
	}
	if m := r.Header.Values("Mcp-Method"); len(m) > 0 && (len(m) > 1 || m[0] != "subscriptions/listen") {
		writeRPCErrorID(w, req.ID, http.StatusBadRequest, mcp.CodeHeaderMismatch, "Mcp-Method header does not match the request", nil)
		return
	}
	if req.Params == nil || req.Params.Notifications == nil {
		writeRPCErrorID(w, req.ID, http.StatusBadRequest, -32602, "invalid params: notifications is required", nil)
		return
	}
	if _, streamOK := accepts(r.Header.Values("Accept")); !streamOK {
		writeRPCErrorID(w, req.ID, http.StatusNotAcceptable, -32600, "Accept must include text/event-stream", nil)
		return
	}
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	var kinds notify.Kind
	if req.Params.Notifications.ToolsListChanged {
		kinds |= notify.ToolsListChanged
	}
	frames := listenFrames{id: req.ID}
	if kinds == 0 {
		// Nothing we can honour: acknowledge the empty set and end at once,
		// without taking a slot.
		rc := http.NewResponseController(w)
		startSSE(w)
		_ = s.streams.write(w, rc, append(frames.ack(0), frames.end()...))
		return
	}
	st, ok := s.openStream(w, r, p, kinds, req.ID)
	if !ok || s.detach(w, r, st, p, frames) { // listen_detached.go
		return
	}
	s.runStream(w, r, st, p, frames)
}

// principal returns the verified caller, or answers 401.
func (s *Server) principal(w http.ResponseWriter, r *http.Request) (tenant.Principal, bool) {
	p, ok := tenant.FromContext(r.Context())
	if !ok {
		bearer.Challenge(w, s.rmURL, http.StatusUnauthorized, "", "")
		return p, false
	}
	if !p.ExpiresAt.IsZero() && !s.streams.Now().Before(p.ExpiresAt) {
		bearer.Challenge(w, s.rmURL, http.StatusUnauthorized, "invalid_token", "")
		return p, false
	}
	return p, true
}

// openStream takes a slot or answers 429 (this user's cap: the client
// should close streams it leaked) or 503 (this instance is full or
// draining: another instance may have room), both with Retry-After.
func (s *Server) openStream(w http.ResponseWriter, r *http.Request, p tenant.Principal, kinds notify.Kind, id json.RawMessage) (*notify.Stream, bool) {
	st, err := s.streams.Hub.Open(p.TenantID, p.UserID, kinds)
	if err == nil {
		return st, true
	}
	status, msg := http.StatusServiceUnavailable, "too many notification streams on this instance"
	switch {
	case errors.Is(err, notify.ErrUserLimit):
		status, msg = http.StatusTooManyRequests, "too many notification streams for this user"
	case errors.Is(err, notify.ErrClosed):
		msg = "server is shutting down"
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(s.streams.Heartbeat/time.Second)+1))
	s.logger.LogAttrs(r.Context(), slog.LevelInfo, "notification stream refused", slog.Int("status", status))
	writeRPCErrorID(w, id, status, -32000, msg, nil)
	return nil, false
}

// frames encodes the messages of one protocol revision's stream.
type frames interface {
	// open is written first: the acknowledgement (2026-07-28) and the
	// list_changed of kinds.
	open(kinds notify.Kind) []byte
	// notify encodes notifications of kinds.
	notify(kinds notify.Kind) []byte
	// end is written after retry: on graceful teardown (shutdown).
	end() []byte
}

// legacyFrames: GET stream notifications (no subscription id).
type legacyFrames struct{}

func (legacyFrames) open(k notify.Kind) []byte { return legacyFrames{}.notify(k) }

func (legacyFrames) notify(k notify.Kind) []byte {
	var b []byte
	for _, m := range k.Methods() {
		b = appendEvent(b, `{"jsonrpc":"2.0","method":"`+m+`"}`)
	}
	return b
}

func (legacyFrames) end() []byte { return nil }

// listenFrames: subscriptions/listen messages, each carrying the
// subscription id (the listen request's id) in _meta.
type listenFrames struct{ id json.RawMessage }

const subscriptionIDKey = `"io.modelcontextprotocol/subscriptionId":`

func (f listenFrames) meta() string { return `"_meta":{` + subscriptionIDKey + string(f.id) + `}` }

func (f listenFrames) ack(k notify.Kind) []byte {
	agreed := `{}`
	if k.Has(notify.ToolsListChanged) {
		agreed = `{"toolsListChanged":true}`
	}
	return appendEvent(nil, `{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{`+f.meta()+`,"notifications":`+agreed+`}}`)
}

func (f listenFrames) open(k notify.Kind) []byte { return append(f.ack(k), f.notify(k)...) }

func (f listenFrames) notify(k notify.Kind) []byte {
	var b []byte
	for _, m := range k.Methods() {
		b = appendEvent(b, `{"jsonrpc":"2.0","method":"`+m+`","params":{`+f.meta()+`}}`)
	}
	return b
}

func (f listenFrames) end() []byte {
	return appendEvent(nil, `{"jsonrpc":"2.0","id":`+string(f.id)+`,"result":{"resultType":"complete",`+f.meta()+`}}`)
}

func appendEvent(b []byte, data string) []byte {
	b = append(b, "event: message\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

var heartbeatFrame = []byte(": ping\n\n")

func startSSE(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would buffer and hold back heartbeats
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
}

// write sends b and flushes it under a per-write deadline. A server-wide
// WriteTimeout would cap the whole stream; this bounds only a write that
// cannot make progress (a client that stopped reading).
func (o *streams) write(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	if err := rc.SetWriteDeadline(time.Now().Add(o.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return rc.Flush()
}

// runStream holds the stream until the client goes, a write fails, the
// token expires or is revoked, or the server shuts down. The slot is
// released on every one of these ways out.
func (s *Server) runStream(w http.ResponseWriter, r *http.Request, st *notify.Stream, p tenant.Principal, f frames) {
	defer st.Close()
	o := s.streams
	rc := http.NewResponseController(w)
	// The server's ReadTimeout also bounds the connection's background
	// read while the handler runs; left in place it would cancel the
	// request (and end the stream) ReadTimeout after it started.
	_ = rc.SetReadDeadline(time.Time{})
	startSSE(w)
	if o.write(w, rc, f.open(st.Kinds())) != nil {
		return
	}
	heartbeat := time.NewTicker(o.Heartbeat)
	defer heartbeat.Stop()
	var expired <-chan time.Time
	if !p.ExpiresAt.IsZero() {
		t := time.NewTimer(p.ExpiresAt.Sub(o.Now()))
		defer t.Stop()
		expired = t.C
	}
	ctx := r.Context()
	for {
		select {
		case <-ctx.Done():
			return // client gone
		case <-expired:
			return // the client reconnects with a refreshed token
		case <-st.Closing():
			retry := o.Retry + rand.N(o.Retry+1)
			_ = o.write(w, rc, append([]byte("retry: "+strconv.FormatInt(retry.Milliseconds(), 10)+"\n\n"), f.end()...))
			return
		case <-st.Wake():
			if b := f.notify(st.Take() & st.Kinds()); len(b) > 0 && o.write(w, rc, b) != nil {
				return
			}
		case <-heartbeat.C:
			if o.Revocations != nil {
				revoked, err := o.Revocations.AccessRevoked(ctx, p.TokenID, p.FamilyID)
				if revoked || err != nil {
					return // fail closed, like bearer.Middleware
				}
			}
			if o.write(w, rc, heartbeatFrame) != nil {
				return
			}
		}
	}
}
