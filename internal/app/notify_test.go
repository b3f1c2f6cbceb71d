package app_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/notify"
	redisstate "github.com/crm-mcp/crm-mcp/internal/state/redis"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// stream is an open SSE response; frames arrive on ch until it ends.
type stream struct {
	status int
	header http.Header
	ch     chan string
}

// sseClient dials one connection per stream. With keep-alives, the
// transport may dial a spare connection it then never uses; the server
// sees it as new and Shutdown waits 5 s for it, which would blur the drain
// timing asserted here.
var sseClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// openSSE opens GET /mcp with tok and reads its frames in the background.
func openSSE(t *testing.T, baseURL, tok string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/mcp", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := sseClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{status: resp.StatusCode, header: resp.Header, ch: make(chan string, 32)}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	go func() {
		defer close(s.ch)
		br := bufio.NewReader(resp.Body)
		var f strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\n" {
				s.ch <- f.String()
				f.Reset()
				continue
			}
			f.WriteString(line)
		}
	}()
	return s
}

// event returns the next non-heartbeat frame within d ("" if the stream
// ended or nothing came).
func (s *stream) event(d time.Duration) string {
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-s.ch:
			if !ok {
				return ""
			}
			if !strings.HasPrefix(f, ":") {
				return f
			}
		case <-timeout:
			return ""
		}
	}
}

// waitEnd waits for the stream to end; it returns the frames it still sent
// and whether it ended within d.
func (s *stream) waitEnd(d time.Duration) ([]string, bool) {
	var got []string
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-s.ch:
			if !ok {
				return got, true
			}
			got = append(got, f)
		case <-timeout:
			return got, false
		}
	}
}

const listChanged = `"method":"notifications/tools/list_changed"`

// TestNotificationStreamAndShutdown: through the whole stack, GET /mcp
// starts with list_changed and heartbeats; cancelling Serve's context (what
// SIGTERM does in main) sends retry: and closes the stream, and the drain
// finishes at once although the drain bound is 20 s.
func TestNotificationStreamAndShutdown(t *testing.T) {
	ts := startServer(t, map[string]string{"CRM_MCP_SSE_HEARTBEAT": "50ms"})
	if s := openSSE(t, ts.URL, "not-a-token"); s.status != http.StatusUnauthorized {
		t.Errorf("stream with a bad token: %d", s.status)
	}
	s := openSSE(t, ts.URL, ts.token)
	if s.status != http.StatusOK || s.header.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("status %d headers %v", s.status, s.header)
	}
	if f := s.event(3 * time.Second); !strings.Contains(f, listChanged) {
		t.Fatalf("first event %q", f)
	}
	select {
	case f := <-s.ch:
		if f != ": ping\n" {
			t.Fatalf("frame %q, want heartbeat", f)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no heartbeat")
	}
	start := time.Now()
	ts.cancel()
	tail, ended := s.waitEnd(5 * time.Second)
	if !ended {
		t.Fatal("stream still open after shutdown started")
	}
	if !containsPrefix(tail, "retry: ") {
		t.Errorf("stream ended with %q, want a retry: field", tail)
	}
	select {
	case <-ts.done:
		if ts.err != nil {
			t.Errorf("Serve: %v", ts.err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("drain took %v with an open stream", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return: an open stream held the drain")
	}
}

func containsPrefix(frames []string, prefix string) bool {
	for _, f := range frames {
		if strings.HasPrefix(f, prefix) {
			return true
		}
	}
	return false
}

// instance is an app on a loopback port, for multi-instance tests.
type instance struct {
	URL string
	app *app.App
	cfg *config.Config
}

func startInstance(t *testing.T, env map[string]string, register func(*mcp.Server)) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"CRM_MCP_ADDR":        ln.Addr().String(),
		"CRM_MCP_PUBLIC_URL":  "http://" + ln.Addr().String(),
		"CRM_MCP_DATA_DIR":    t.TempDir(),
		"CRM_MCP_DEMO_PEOPLE": "12",
		"CRM_MCP_TOKEN_KEYS":  testKeyID + ":" + base64.RawURLEncoding.EncodeToString(testKey),
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, app.Options{PasswordParams: identity.Params{Time: 1, Memory: 1024, Threads: 1}, Register: register})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("instance did not stop")
		}
	})
	return &instance{URL: "http://" + ln.Addr().String(), app: a, cfg: cfg}
}

// mint returns a token for user in tenant valid at inst, and its claims.
func (inst *instance) mint(t *testing.T, user, tenantID string, ttl time.Duration) (string, token.AccessClaims) {
	t.Helper()
	ring, _ := token.NewKeyRing(token.Key{ID: testKeyID, Secret: testKey})
	iss, err := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: inst.cfg.PublicURL, Audience: inst.cfg.MCPURL(), TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	raw, claims, err := iss.Mint(token.AccessClaims{Subject: user, TenantID: tenantID, Scopes: []string{"crm:read"}, ClientID: "test-client", FamilyID: "fam-" + user})
	if err != nil {
		t.Fatal(err)
	}
	return raw, claims
}

// TestNotificationsAcrossInstances: two instances on one real Redis. An
// event published on A reaches the same tenant's stream on B and no stream
// of another tenant; a revoked token's stream ends; a token's stream ends
// at its expiry; a third instance starting with a different tool set
// announces list_changed to the streams of the others.
func TestNotificationsAcrossInstances(t *testing.T) {
	rs := redistest.Start(t)
	env := map[string]string{"CRM_MCP_REDIS_URL": "redis://" + rs.Addr, "CRM_MCP_SSE_HEARTBEAT": "100ms"}
	a := startInstance(t, env, nil)
	b := startInstance(t, env, nil)

	acmeTok, _ := b.mint(t, "usr_acme_alice", "tnt_acme", time.Hour)
	globexTok, _ := b.mint(t, "usr_globex_gina", "tnt_globex", time.Hour)
	acme := openSSE(t, b.URL, acmeTok)
	globex := openSSE(t, b.URL, globexTok)
	for _, s := range []*stream{acme, globex} {
		if f := s.event(3 * time.Second); !strings.Contains(f, listChanged) {
			t.Fatalf("first event %q", f)
		}
	}
	if err := a.app.Notifier().Publish(t.Context(), "tnt_acme", notify.ToolsListChanged); err != nil {
		t.Fatal(err)
	}
	if f := acme.event(3 * time.Second); !strings.Contains(f, listChanged) {
		t.Fatalf("acme's stream on B did not get the event published on A (got %q)", f)
	}
	if f := globex.event(500 * time.Millisecond); f != "" {
		t.Fatalf("globex's stream received acme's event: %q", f)
	}

	t.Run("revoked token ends its stream", func(t *testing.T) {
		tok, claims := b.mint(t, "usr_acme_bob", "tnt_acme", time.Hour)
		s := openSSE(t, b.URL, tok)
		if f := s.event(3 * time.Second); !strings.Contains(f, listChanged) {
			t.Fatalf("first event %q", f)
		}
		c := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
		defer c.Close()
		if err := redisstate.New(c, redisstate.Options{}).RevokeAccess(t.Context(), claims.JTI, claims.ExpiresAt.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, ended := s.waitEnd(3 * time.Second); !ended {
			t.Fatal("the revoked token's stream is still open")
		}
		if f := acme.event(300 * time.Millisecond); f != "" && !strings.HasPrefix(f, ":") {
			t.Logf("acme stream: %q", f)
		}
		if b.app.Streams().UserActive("tnt_acme", "usr_acme_alice") != 1 {
			t.Error("another user's stream was ended too")
		}
	})

	t.Run("expired token ends its stream", func(t *testing.T) {
		tok, claims := b.mint(t, "usr_acme_carl", "tnt_acme", 1500*time.Millisecond)
		s := openSSE(t, b.URL, tok)
		if s.status != http.StatusOK {
			t.Fatalf("status %d", s.status)
		}
		if _, ended := s.waitEnd(5 * time.Second); !ended {
			t.Fatal("stream outlived its token")
		}
		// exp has whole seconds (RFC 7519 NumericDate).
		if time.Now().Before(claims.ExpiresAt.Truncate(time.Second).Add(-100 * time.Millisecond)) {
			t.Error("stream ended before the token expired")
		}
	})

	t.Run("a deploy with another tool set announces itself", func(t *testing.T) {
		_ = startInstance(t, env, func(s *mcp.Server) {
			mcp.AddTool(s, &mcp.Tool{Name: "brand_new", Description: "New in this deploy."},
				func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, echoOut, error) {
					return nil, echoOut{}, nil
				})
		})
		for _, s := range []*stream{acme, globex} {
			if f := s.event(5 * time.Second); !strings.Contains(f, listChanged) {
				t.Fatalf("no list_changed after a deploy changed the tools (got %q)", f)
			}
		}
	})
}
