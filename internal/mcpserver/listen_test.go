package mcpserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/mcpserver"
	"github.com/crm-mcp/crm-mcp/internal/notify"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// fakeRevocations is a hand-written revocation store.
type fakeRevocations struct {
	mu      sync.Mutex
	revoked map[string]bool
	err     error
}

func (f *fakeRevocations) AccessRevoked(_ context.Context, jti, _ string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.revoked[jti], f.err
}

func (f *fakeRevocations) revoke(jti string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[jti] = true
}

type listenEnv struct {
	URL  string
	hub  *notify.Hub
	revs *fakeRevocations
	srv  *httptest.Server
}

// newListenServer serves /mcp with notification streams behind a test
// authenticator: X-User "tenant/user/jti[/ttl]" becomes the principal.
func newListenServer(t *testing.T, o mcpserver.StreamOptions, hub notify.HubOptions) *listenEnv {
	t.Helper()
	e := &listenEnv{hub: notify.NewHub(hub), revs: &fakeRevocations{revoked: map[string]bool{}}}
	o.Hub, o.Revocations = e.hub, e.revs
	srv, err := mcpserver.New(mcpserver.Options{
		Guard:   mcpserver.GuardOptions{AllowLoopback: true},
		Streams: &o,
		Register: func(s *mcp.Server) {
			mcp.AddTool(s, &mcp.Tool{Name: "plain"}, func(context.Context, *mcp.CallToolRequest, noInput) (*mcp.CallToolResult, textOut, error) {
				return nil, textOut{Text: "plain"}, nil
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(authenticate(srv))
	t.Cleanup(func() {
		_ = e.hub.Shutdown(context.Background())
		e.srv.Close()
	})
	e.URL = e.srv.URL + "/mcp"
	return e
}

func authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.Header.Get("X-User"), "/")
		if len(parts) >= 3 {
			p := tenant.Principal{TenantID: parts[0], UserID: parts[1], TokenID: parts[2]}
			if len(parts) == 4 {
				ttl, _ := time.ParseDuration(parts[3])
				p.ExpiresAt = time.Now().Add(ttl)
			}
			r = r.WithContext(tenant.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// sse is an open stream: frames arrive on ch (one per blank-line-separated
// block) until the stream ends, when ch is closed.
type sse struct {
	resp   *http.Response
	ch     chan string
	cancel context.CancelFunc
}

func openGET(t *testing.T, url, user, version string) *sse {
	t.Helper()
	return openStream(t, http.MethodGet, url, user, version, "")
}

func openListen(t *testing.T, url, user, id, notifications string) *sse {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":` + id + `,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}},"notifications":` + notifications + `}}`
	return openStream(t, http.MethodPost, url, user, "2026-07-28", body)
}

func openStream(t *testing.T, method, url, user, version, body string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-User", user)
	if version != "" {
		req.Header.Set("MCP-Protocol-Version", version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &sse{resp: resp, ch: make(chan string, 64), cancel: cancel}
	t.Cleanup(s.close)
	if resp.StatusCode != http.StatusOK {
		close(s.ch)
		return s
	}
	go func() {
		defer close(s.ch)
		br := bufio.NewReader(resp.Body)
		var frame strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\n" {
				s.ch <- frame.String()
				frame.Reset()
				continue
			}
			frame.WriteString(line)
		}
	}()
	return s
}

func (s *sse) close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// next returns the next frame, failing if none arrives within d.
func (s *sse) next(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case f, ok := <-s.ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return f
	case <-time.After(d):
		t.Fatalf("no frame within %v", d)
	}
	return ""
}

// nextEvent skips heartbeats and returns the next event's data.
func (s *sse) nextEvent(t *testing.T, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		f := s.next(t, time.Until(deadline))
		if strings.HasPrefix(f, ":") {
			continue
		}
		return f
	}
}

// ended waits for the stream to end and returns the frames it still sent.
func (s *sse) ended(t *testing.T, d time.Duration) []string {
	t.Helper()
	var got []string
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-s.ch:
			if !ok {
				return got
			}
			got = append(got, f)
		case <-timeout:
			t.Fatalf("stream still open after %v (frames %q)", d, got)
		}
	}
}

func dataOf(t *testing.T, frame string) map[string]any {
	t.Helper()
	if !strings.HasPrefix(frame, "event: message\ndata: ") {
		t.Fatalf("not a message event: %q", frame)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(frame, "event: message\ndata: "))), &m); err != nil {
		t.Fatalf("event data is not JSON: %v: %q", err, frame)
	}
	return m
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFirstEventIsListChanged(t *testing.T) {
	e := newListenServer(t, mcpserver.StreamOptions{}, notify.HubOptions{})
	for _, v := range []string{"", "2025-03-26", "2025-06-18", "2025-11-25"} {
		t.Run("GET "+v, func(t *testing.T) {
			s := openGET(t, e.URL, "t1/u1/j1", v)
			if s.resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", s.resp.StatusCode)
			}
			h := s.resp.Header
			if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
				t.Errorf("headers %v", h)
			}
			m := dataOf(t, s.next(t, 2*time.Second))
			if m["method"] != "notifications/tools/list_changed" || m["id"] != nil {
				t.Errorf("first event %v", m)
			}
		})
	}
	t.Run("subscriptions/listen", func(t *testing.T) {
		s := openListen(t, e.URL, "t1/u1/j1", `"abc"`, `{"toolsListChanged":true,"promptsListChanged":true,"resourceSubscriptions":["x://y"]}`)
		if s.resp.StatusCode != http.StatusOK || s.resp.Header.Get("X-Accel-Buffering") != "no" {
			t.Fatalf("status %d headers %v", s.resp.StatusCode, s.resp.Header)
		}
		ack := dataOf(t, s.next(t, 2*time.Second))
		if ack["method"] != "notifications/subscriptions/acknowledged" {
			t.Fatalf("first message %v, want the acknowledgement", ack)
		}
		params := ack["params"].(map[string]any)
		if got, _ := json.Marshal(params["notifications"]); string(got) != `{"toolsListChanged":true}` {
			t.Errorf("acknowledged %s: only what is honoured may be acknowledged", got)
		}
		if params["_meta"].(map[string]any)["io.modelcontextprotocol/subscriptionId"] != "abc" {
			t.Errorf("ack _meta %v", params["_meta"])
		}
		lc := dataOf(t, s.next(t, 2*time.Second))
		if lc["method"] != "notifications/tools/list_changed" ||
			lc["params"].(map[string]any)["_meta"].(map[string]any)["io.modelcontextprotocol/subscriptionId"] != "abc" {
			t.Errorf("second message %v", lc)
		}
	})
	t.Run("listen for nothing honoured", func(t *testing.T) {
		waitFor(t, "earlier streams released", 2*time.Second, func() bool { return e.hub.Active() == 0 })
		s := openListen(t, e.URL, "t1/u1/j1", "7", `{"promptsListChanged":true}`)
		frames := s.ended(t, 2*time.Second)
		if len(frames) != 2 {
			t.Fatalf("frames %q, want ack and result", frames)
		}
		if ack := dataOf(t, frames[0]); ack["method"] != "notifications/subscriptions/acknowledged" {
			t.Errorf("ack %v", ack)
		} else if got, _ := json.Marshal(ack["params"].(map[string]any)["notifications"]); string(got) != `{}` {
			t.Errorf("acknowledged %s, want {}: prompts were not honoured", got)
		}
		if res := dataOf(t, frames[1]); res["id"] != float64(7) || res["result"].(map[string]any)["resultType"] != "complete" {
			t.Errorf("result %v", res)
		}
		if e.hub.Active() != 0 {
			t.Error("a slot was taken for a stream with nothing to carry")
		}
	})
}

func TestListenRefusals(t *testing.T) {
	e := newListenServer(t, mcpserver.StreamOptions{}, notify.HubOptions{})
	do := func(method, version, accept, user, body string) *http.Response {
		req, _ := http.NewRequest(method, e.URL, strings.NewReader(body))
		req.Header.Set("Accept", accept)
		req.Header.Set("Content-Type", "application/json")
		if user != "" {
			req.Header.Set("X-User", user)
		}
		if version != "" {
			req.Header.Set("MCP-Protocol-Version", version)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	const sse = "text/event-stream"
	listen := func(params string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":` + params + `}`
	}
	tests := []struct {
		name                     string
		method, version, accept  string
		user, body               string
		wantStatus               int
		wantAllow, wantChallenge bool
	}{
		{"GET on 2026-07-28 (removed there)", http.MethodGet, "2026-07-28", sse, "t/u/j", "", 405, true, false},
		{"GET without text/event-stream", http.MethodGet, "2025-11-25", "application/json", "t/u/j", "", 406, false, false},
		{"GET unauthenticated", http.MethodGet, "2025-11-25", sse, "", "", 401, false, true},
		{"GET with an expired token", http.MethodGet, "2025-11-25", sse, "t/u/j/-1s", "", 401, false, true},
		{"GET unknown version", http.MethodGet, "2099-01-01", sse, "t/u/j", "", 400, false, false},
		{"listen without notifications", http.MethodPost, "2026-07-28", sse, "t/u/j", listen(`{}`), 400, false, false},
		{"listen on an older revision", http.MethodPost, "2025-11-25", sse, "t/u/j", listen(`{"notifications":{"toolsListChanged":true}}`), 200, false, false},
		{"listen JSON only", http.MethodPost, "2026-07-28", "application/json", "t/u/j", listen(`{"notifications":{"toolsListChanged":true}}`), 406, false, false},
		{"DELETE", http.MethodDelete, "", sse, "t/u/j", "", 405, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(tt.method, tt.version, tt.accept, tt.user, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantAllow && !strings.Contains(resp.Header.Get("Allow"), "POST") {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
			}
			if tt.wantChallenge != (resp.Header.Get("WWW-Authenticate") != "") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if n := e.hub.Active(); n != 0 {
		t.Errorf("refusals left %d slots taken", n)
	}
}

func TestHeartbeatInterval(t *testing.T) {
	const every = 60 * time.Millisecond
	e := newListenServer(t, mcpserver.StreamOptions{Heartbeat: every}, notify.HubOptions{})
	s := openGET(t, e.URL, "t1/u1/j1", "2025-06-18")
	s.next(t, time.Second) // list_changed
	start := time.Now()
	for i := range 4 {
		if f := s.next(t, 10*every); f != ": ping\n" {
			t.Fatalf("frame %d = %q, want a comment heartbeat", i, f)
		}
	}
	if took := time.Since(start); took < 3*every || took > 20*every {
		t.Errorf("4 heartbeats took %v at a %v interval", took, every)
	}
}

// TestStreamOutlivesReadTimeout: http.Server.ReadTimeout also bounds the
// background read under a running handler; the stream must clear it or die
// ReadTimeout after it opened.
func TestStreamOutlivesReadTimeout(t *testing.T) {
	hub := notify.NewHub(notify.HubOptions{})
	srv, err := mcpserver.New(mcpserver.Options{
		Guard:   mcpserver.GuardOptions{AllowLoopback: true},
		Streams: &mcpserver.StreamOptions{Hub: hub, Heartbeat: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(authenticate(srv))
	ts.Config.ReadTimeout = 150 * time.Millisecond
	ts.Start()
	defer ts.Close()
	defer func() { _ = hub.Shutdown(context.Background()) }()
	s := openGET(t, ts.URL+"/mcp", "t/u/j", "2025-11-25")
	s.next(t, time.Second)
	deadline := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(deadline) {
		s.next(t, 500*time.Millisecond) // fails if the stream ended
	}
}

func TestStreamCaps(t *testing.T) {
	e := newListenServer(t, mcpserver.StreamOptions{Heartbeat: 10 * time.Second}, notify.HubOptions{MaxPerUser: 2, MaxStreams: 4})
	for range 2 {
		if s := openGET(t, e.URL, "t1/alice/j", "2025-11-25"); s.resp.StatusCode != 200 {
			t.Fatalf("stream within the cap: %d", s.resp.StatusCode)
		}
	}
	over := openGET(t, e.URL, "t1/alice/j", "2025-11-25")
	if over.resp.StatusCode != http.StatusTooManyRequests || over.resp.Header.Get("Retry-After") == "" {
		t.Fatalf("user cap+1: %d Retry-After %q, want 429 with Retry-After", over.resp.StatusCode, over.resp.Header.Get("Retry-After"))
	}
	overListen := openListen(t, e.URL, "t1/alice/j", "1", `{"toolsListChanged":true}`)
	if overListen.resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("listen over the user cap: %d", overListen.resp.StatusCode)
	}
	// Other users are unaffected, up to the instance cap.
	if s := openGET(t, e.URL, "t1/bob/j", "2025-11-25"); s.resp.StatusCode != 200 {
		t.Fatalf("another user: %d", s.resp.StatusCode)
	}
	if s := openListen(t, e.URL, "t2/carol/j", "1", `{"toolsListChanged":true}`); s.resp.StatusCode != 200 {
		t.Fatalf("another tenant's user: %d", s.resp.StatusCode)
	}
	full := openGET(t, e.URL, "t2/dave/j", "2025-11-25")
	if full.resp.StatusCode != http.StatusServiceUnavailable || full.resp.Header.Get("Retry-After") == "" {
		t.Fatalf("instance cap+1: %d, want 503 with Retry-After", full.resp.StatusCode)
	}
	// Non-stream traffic is still served at the cap.
	resp, body := postMCP(t, e.srv.URL+"/mcp", "application/json, text/event-stream", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, "plain") {
		t.Errorf("tools/list at the stream cap: %d %s", resp.StatusCode, body)
	}
}

// TestSlotsReleased: 1 000 streams opened and ended every way a client can
// end one leave no slot and no goroutine behind.
func TestSlotsReleased(t *testing.T) {
	e := newListenServer(t, mcpserver.StreamOptions{Heartbeat: time.Hour}, notify.HubOptions{MaxPerUser: 3})
	// Warm up keep-alive connections so the baseline includes them.
	openGET(t, e.URL, "t/u/j", "2025-11-25").close()
	waitFor(t, "warm-up slot", 2*time.Second, func() bool { return e.hub.Active() == 0 })
	http.DefaultClient.CloseIdleConnections()
	e.srv.CloseClientConnections()
	base := runtime.NumGoroutine()

	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := "t/u" + string(rune('a'+w)) + "/j"
			for i := range 250 {
				if err := oneCycle(e.URL, user, i); err != nil {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of 1000 cycles failed to open (a slot leaked?)", n)
	}
	waitFor(t, "slots back to zero", 5*time.Second, func() bool { return e.hub.Active() == 0 })
	http.DefaultClient.CloseIdleConnections()
	e.srv.CloseClientConnections()
	waitFor(t, "goroutines back to baseline", 5*time.Second, func() bool { return runtime.NumGoroutine() <= base+2 })
}

// oneCycle opens a stream and ends it one of three ways: the client closes
// the body, cancels the request mid-stream, or the listen variant closes.
func oneCycle(url, user string, i int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	method, body, version := http.MethodGet, "", "2025-11-25"
	if i%3 == 2 {
		method, version = http.MethodPost, "2026-07-28"
		body = `{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true}}}`
	}
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-User", user)
	req.Header.Set("MCP-Protocol-Version", version)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return errors.New(resp.Status)
	}
	buf := make([]byte, 64)
	_, err = resp.Body.Read(buf) // the first event arrived: the slot is held
	if i%3 == 1 {
		cancel() // abort
	}
	resp.Body.Close()
	return err
}

func TestTokenExpiryEndsStream(t *testing.T) {
	e := newListenServer(t, mcpserver.StreamOptions{Heartbeat: time.Hour}, notify.HubOptions{})
	start := time.Now()
	s := openGET(t, e.URL, "t/u/j/300ms", "2025-11-25")
	s.ended(t, 3*time.Second)
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Errorf("stream ended after %v, before the token expired", took)
	}
	waitFor(t, "slot released", time.Second, func() bool { return e.hub.Active() == 0 })
}

func TestRevocationEndsStream(t *testing.T) {
	e := newListenServer(t, mcpserver.StreamOptions{Heartbeat: 50 * time.Millisecond}, notify.HubOptions{})
	keep := openGET(t, e.URL, "t/u/good", "2025-11-25")
	gone := openListen(t, e.URL, "t/u/bad", "1", `{"toolsListChanged":true}`)
	gone.next(t, time.Second)
	e.revs.revoke("bad")
	gone.ended(t, 2*time.Second)
	keep.next(t, time.Second)
	keep.next(t, time.Second) // the other token's stream lives on
	waitFor(t, "the revoked stream's slot released", time.Second, func() bool { return e.hub.Active() == 1 })
	// A store that cannot tell ends streams too (fail closed).
	e.revs.mu.Lock()
	e.revs.err = errors.New("store down")
	e.revs.mu.Unlock()
	keep.ended(t, 2*time.Second)
}

func TestShutdownSendsRetryAndCloses(t *testing.T) {
	e := newListenServer(t, mcpserver.StreamOptions{Heartbeat: time.Hour, Retry: 500 * time.Millisecond}, notify.HubOptions{})
	get := openGET(t, e.URL, "t/u/j", "2025-11-25")
	listen := openListen(t, e.URL, "t/v/j", "42", `{"toolsListChanged":true}`)
	get.next(t, time.Second)
	listen.next(t, time.Second)
	listen.next(t, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v (streams not closed)", err)
	}
	tail := get.ended(t, 2*time.Second)
	if len(tail) != 1 || !strings.HasPrefix(tail[0], "retry: ") {
		t.Fatalf("GET stream ended with %q, want a retry: field", tail)
	}
	var ms int
	if _, err := fmtSscanf(tail[0], &ms); err != nil || ms < 500 || ms > 1000 {
		t.Errorf("retry %q, want 500–1000 ms (base plus jitter)", tail[0])
	}
	tail = listen.ended(t, 2*time.Second)
	if len(tail) != 2 || !strings.HasPrefix(tail[0], "retry: ") || !strings.Contains(tail[1], `"id":42,"result":{"resultType":"complete"`) {
		t.Fatalf("listen stream ended with %q, want retry and the listen result", tail)
	}
	if s := openGET(t, e.URL, "t/u/j", "2025-11-25"); s.resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream opened during shutdown: %d", s.resp.StatusCode)
	}
}

func fmtSscanf(frame string, ms *int) (int, error) {
	var n int
	for _, c := range strings.TrimSpace(strings.TrimPrefix(frame, "retry: ")) {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
	}
	*ms = n
	return 1, nil
}

// TestEventsScopedToTenant: a tenant's event reaches that tenant's streams
// of both kinds and no stream of another tenant; a global one reaches all.
func TestEventsScopedToTenant(t *testing.T) {
	e := newListenServer(t, mcpserver.StreamOptions{Heartbeat: time.Hour}, notify.HubOptions{})
	bus := notify.NewLocal(e.hub)
	a := openGET(t, e.URL, "acme/u/j", "2025-11-25")
	al := openListen(t, e.URL, "acme/v/j", "9", `{"toolsListChanged":true}`)
	b := openGET(t, e.URL, "globex/u/j", "2025-11-25")
	a.next(t, time.Second)
	al.next(t, time.Second)
	al.next(t, time.Second)
	b.next(t, time.Second)
	_ = bus.Publish(t.Context(), "acme", notify.ToolsListChanged)
	if m := dataOf(t, a.next(t, time.Second)); m["method"] != "notifications/tools/list_changed" {
		t.Errorf("acme GET stream got %v", m)
	}
	if m := dataOf(t, al.next(t, time.Second)); m["method"] != "notifications/tools/list_changed" || !strings.Contains(mustJSON(m), `"io.modelcontextprotocol/subscriptionId":9`) {
		t.Errorf("acme listen stream got %v", m)
	}
	select {
	case f := <-b.ch:
		t.Fatalf("globex stream received acme's event: %q", f)
	case <-time.After(200 * time.Millisecond):
	}
	_ = bus.Publish(t.Context(), "", notify.PromptsListChanged) // nobody asked for prompts
	_ = bus.Publish(t.Context(), "", notify.ToolsListChanged)
	if m := dataOf(t, b.next(t, time.Second)); m["method"] != "notifications/tools/list_changed" {
		t.Errorf("global event at globex: %v", m)
	}
	if m := dataOf(t, a.next(t, time.Second)); m["method"] != "notifications/tools/list_changed" {
		t.Errorf("global event at acme: %v (prompts must not be sent)", m)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// stalledWriter is a ResponseWriter whose client stopped reading: after
// the first frame every Write blocks until the write deadline passes.
type stalledWriter struct {
	h        http.Header
	mu       sync.Mutex
	deadline time.Time
	writes   int
}

func (w *stalledWriter) Header() http.Header { return w.h }
func (w *stalledWriter) WriteHeader(int)     {}
func (w *stalledWriter) FlushError() error   { return nil }
func (w *stalledWriter) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadline = t
	return nil
}
func (w *stalledWriter) SetReadDeadline(time.Time) error { return nil }
func (w *stalledWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	first, d := w.writes == 1, w.deadline
	w.mu.Unlock()
	if first {
		return len(b), nil
	}
	time.Sleep(time.Until(d))
	return 0, os.ErrDeadlineExceeded
}

func TestStalledReaderDropped(t *testing.T) {
	hub := notify.NewHub(notify.HubOptions{})
	srv, err := mcpserver.New(mcpserver.Options{
		Guard:   mcpserver.GuardOptions{AllowLoopback: true},
		Streams: &mcpserver.StreamOptions{Hub: hub, Heartbeat: 20 * time.Millisecond, WriteTimeout: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/mcp", nil)
	req.Header.Set("Accept", "text/event-stream")
	req = req.WithContext(tenant.WithPrincipal(req.Context(), tenant.Principal{TenantID: "t", UserID: "u"}))
	w := &stalledWriter{h: http.Header{}}
	done := make(chan struct{})
	start := time.Now()
	go func() { authenticate(srv).ServeHTTP(w, req); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a stalled stream was never dropped")
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("dropped after %v, before the write deadline", took)
	}
	if hub.Active() != 0 {
		t.Error("the stalled stream's slot was not released")
	}
}

// TestGoSDKClientsHearListChanged: the official client, on a legacy
// revision (GET stream) and on 2026-07-28 (subscriptions/listen, which it
// opens because tools.listChanged is advertised), calls its
// ToolListChangedHandler for the connect-time event and for a published one.
func TestGoSDKClientsHearListChanged(t *testing.T) {
	e := newListenServer(t, mcpserver.StreamOptions{Heartbeat: time.Hour}, notify.HubOptions{})
	bus := notify.NewLocal(e.hub)
	hc := &http.Client{Transport: userTransport{"acme/u/j"}}
	for _, v := range []string{"2025-11-25", "2026-07-28"} {
		t.Run(v, func(t *testing.T) {
			changed := make(chan struct{}, 8)
			c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
				ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
			})
			tr := &mcp.StreamableClientTransport{Endpoint: e.URL, HTTPClient: hc}
			cs, err := c.Connect(t.Context(), tr, &mcp.ClientSessionOptions{ProtocolVersion: v})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			if got := cs.InitializeResult(); got == nil || got.Capabilities.Tools == nil || !got.Capabilities.Tools.ListChanged {
				t.Fatalf("tools.listChanged not advertised: %+v", got)
			}
			select {
			case <-changed:
			case <-time.After(3 * time.Second):
				t.Fatal("no list_changed on connect")
			}
			waitFor(t, "stream registered", 2*time.Second, func() bool { return e.hub.UserActive("acme", "u") == 1 })
			_ = bus.Publish(t.Context(), "acme", notify.ToolsListChanged)
			select {
			case <-changed:
			case <-time.After(3 * time.Second):
				t.Fatal("published list_changed not delivered")
			}
		})
	}
}

type userTransport struct{ user string }

func (u userTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-User", u.user)
	return http.DefaultTransport.RoundTrip(r)
}

// TestStalledReaderDroppedOverTCP: a real client that stops reading, with
// small socket buffers so heartbeats fill them: the per-write deadline
// fires, the stream is dropped and its slot released, although the client
// never closes its connection.
func TestStalledReaderDroppedOverTCP(t *testing.T) {
	hub := notify.NewHub(notify.HubOptions{})
	srv, err := mcpserver.New(mcpserver.Options{
		Guard:   mcpserver.GuardOptions{AllowLoopback: true},
		Streams: &mcpserver.StreamOptions{Hub: hub, Heartbeat: time.Millisecond, WriteTimeout: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(authenticate(srv))
	ts.Listener = smallBufListener{ln}
	ts.Start()
	defer ts.Close()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
	}}
	conn, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("GET /mcp HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\nAccept: text/event-stream\r\nX-User: t/u/j\r\n\r\n"))
	waitFor(t, "stream open", 2*time.Second, func() bool { return hub.Active() == 1 })
	// The client reads nothing from here on.
	waitFor(t, "stalled stream dropped", 20*time.Second, func() bool { return hub.Active() == 0 })
}

type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(2048)
	}
	return c, err
}
