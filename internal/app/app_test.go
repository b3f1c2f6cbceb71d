package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/obs"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// testServer is a running app on a loopback port.
type testServer struct {
	URL    string // http://127.0.0.1:PORT
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve returned
	err    error         // what Serve returned
	calls  atomic.Int64  // how many times the "count" tool ran
	token  string        // a valid access token (alice, crm:read) for /mcp
	// slowStarted receives when a "slow" call starts; slowRelease lets it finish.
	slowStarted chan struct{}
	slowRelease chan struct{}
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

type echoIn struct {
	Text string `json:"text" jsonschema:"the text to echo"`
}

type echoOut struct {
	Text string `json:"text"`
}

// startServer runs app.Serve with test tools. env overrides configuration.
func startServer(t *testing.T, env map[string]string, mods ...func(*app.Options)) *testServer {
	t.Helper()
	// Listen first so the public URL can name the real port, as a
	// deployment's would.
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
		t.Fatalf("config.Load: %v", err)
	}
	ts := &testServer{
		logs:        &syncBuffer{},
		slowStarted: make(chan struct{}, 1),
		slowRelease: make(chan struct{}),
	}
	register := func(s *mcp.Server) {
		mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echo the text back."},
			func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
				return nil, echoOut(in), nil
			})
		mcp.AddTool(s, &mcp.Tool{Name: "count", Description: "Count calls."},
			func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, echoOut, error) {
				ts.calls.Add(1)
				return nil, echoOut{Text: "counted"}, nil
			})
		mcp.AddTool(s, &mcp.Tool{Name: "slow", Description: "Wait until released."},
			func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, echoOut, error) {
				ts.slowStarted <- struct{}{}
				select {
				case <-ts.slowRelease:
				case <-ctx.Done():
				}
				return nil, echoOut{Text: "finished"}, nil
			})
	}
	logger, err := obs.NewLogger(ts.logs, "json", slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	opts := app.Options{
		PasswordParams: identity.Params{Time: 1, Memory: 1024, Threads: 1},
		Logger:         logger,
		Register:       register,
		ToolScopes:     map[string][]string{"count": {"crm:write"}},
	}
	for _, mod := range mods {
		mod(&opts)
	}
	a, err := app.New(cfg, opts)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ts.token = mintToken(t, cfg, "crm:read", "crm:write")
	ts.URL = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	ts.done = make(chan struct{})
	go func() {
		ts.err = a.Serve(ctx, ln)
		close(ts.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	})
	return ts
}

// rpc is a JSON-RPC response as seen on the wire.
type rpc struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) rpc(t *testing.T) rpc {
	t.Helper()
	var out rpc
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("response is not JSON-RPC (status %d): %v\n%s", r.status, err, r.body)
	}
	return out
}

// testKey signs the tokens tests mint; the app under test shares it.
var (
	testKeyID = "test"
	testKey   = []byte("0123456789abcdef0123456789abcdef")
)

// mintToken returns an access token for the demo user alice.
func mintToken(t *testing.T, cfg *config.Config, scopes ...string) string {
	t.Helper()
	ring, err := token.NewKeyRing(token.Key{ID: testKeyID, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: cfg.PublicURL, Audience: cfg.MCPURL()})
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := iss.Mint(token.AccessClaims{Subject: "usr_acme_alice", TenantID: "tnt_acme", Scopes: scopes, ClientID: "test-client"})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// postAuth sends body to /mcp with the given bearer token.
func (ts *testServer) postAuth(t *testing.T, tok, body string) response {
	t.Helper()
	return ts.post(t, body, map[string]string{"Authorization": "Bearer " + tok, "MCP-Protocol-Version": "2025-06-18"})
}

// postRaw sends body to /mcp without credentials.
func (ts *testServer) postRaw(t *testing.T, body string, extra map[string]string) response {
	t.Helper()
	m := map[string]string{"Authorization": ""}
	for k, v := range extra {
		m[k] = v
	}
	return ts.post(t, body, m)
}

// post sends body to /mcp with MCP's required headers, the test token,
// plus extra (an empty value deletes a header).
func (ts *testServer) post(t *testing.T, body string, extra map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/mcp", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+ts.token)
	for k, v := range extra {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	return ts.do(t, req)
}

func (ts *testServer) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// newProtocolMeta is the per-request _meta a 2026-07-28 client sends.
const newProtocolMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"test","version":"1"}}`

func toolNames(t *testing.T, result json.RawMessage) []string {
	t.Helper()
	var lr struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(result, &lr); err != nil {
		t.Fatalf("tools/list result: %v", err)
	}
	var names []string
	for _, tool := range lr.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// assertHasTools checks that every wanted tool is listed, once.
func assertHasTools(t *testing.T, names []string, want ...string) {
	t.Helper()
	seen := map[string]int{}
	for _, n := range names {
		seen[n]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("tool %s listed %d times in %v", w, seen[w], names)
		}
	}
}

// TestLegacyRevisions: for each handshake-era revision, initialize
// negotiates that revision, the initialized notification is accepted and
// tools/list answers without a session.
func TestLegacyRevisions(t *testing.T) {
	ts := startServer(t, nil)
	for _, version := range []string{"2025-03-26", "2025-06-18", "2025-11-25"} {
		t.Run(version, func(t *testing.T) {
			init := ts.post(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+version+`","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`, nil)
			if init.status != http.StatusOK {
				t.Fatalf("initialize: status %d: %s", init.status, init.body)
			}
			if ct := init.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("initialize Content-Type = %q, want application/json", ct)
			}
			if sid := init.header.Get("Mcp-Session-Id"); sid != "" {
				t.Errorf("stateless server set Mcp-Session-Id %q", sid)
			}
			var ir struct {
				ProtocolVersion string `json:"protocolVersion"`
				ServerInfo      struct {
					Name string `json:"name"`
				} `json:"serverInfo"`
				Capabilities map[string]json.RawMessage `json:"capabilities"`
			}
			if err := json.Unmarshal(init.rpc(t).Result, &ir); err != nil {
				t.Fatal(err)
			}
			if ir.ProtocolVersion != version || ir.ServerInfo.Name != "crm-mcp" || ir.Capabilities["tools"] == nil {
				t.Errorf("initialize result = %+v, want version %s, server crm-mcp, tools capability", ir, version)
			}

			hdr := map[string]string{"MCP-Protocol-Version": version}
			note := ts.post(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, hdr)
			if note.status != http.StatusAccepted || len(note.body) != 0 {
				t.Errorf("notification: status %d body %q, want 202 and no body", note.status, note.body)
			}

			list := ts.post(t, `{"jsonrpc":"2.0","id":"list-1","method":"tools/list"}`, hdr)
			got := list.rpc(t)
			if list.status != http.StatusOK || got.Error != nil || string(got.ID) != `"list-1"` {
				t.Fatalf("tools/list: status %d: %s", list.status, list.body)
			}
			assertHasTools(t, toolNames(t, got.Result), "count", "echo", "slow", "searchPeople", "getPersonInfo")

			call := ts.post(t, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`, hdr)
			var cr struct {
				StructuredContent echoOut `json:"structuredContent"`
				IsError           bool    `json:"isError"`
			}
			if err := json.Unmarshal(call.rpc(t).Result, &cr); err != nil || cr.IsError || cr.StructuredContent.Text != "hi" {
				t.Errorf("tools/call echo: %s", call.body)
			}
		})
	}
}

// TestRevision20260728: the sessionless revision answers server/discover
// and tools/list with per-request _meta, Mcp-Method headers and the
// ttlMs/cacheScope hints.
func TestRevision20260728(t *testing.T) {
	ts := startServer(t, nil)
	hdr := func(method string) map[string]string {
		return map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
	}
	disc := ts.post(t, `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{`+newProtocolMeta+`}}`, hdr("server/discover"))
	if disc.status != http.StatusOK {
		t.Fatalf("server/discover: status %d: %s", disc.status, disc.body)
	}
	var dr struct {
		SupportedVersions []string                   `json:"supportedVersions"`
		Capabilities      map[string]json.RawMessage `json:"capabilities"`
		CacheScope        string                     `json:"cacheScope"`
		TTLMs             int                        `json:"ttlMs"`
	}
	if err := json.Unmarshal(disc.rpc(t).Result, &dr); err != nil {
		t.Fatal(err)
	}
	if want := "2026-07-28,2025-11-25,2025-06-18,2025-03-26"; strings.Join(dr.SupportedVersions, ",") != want {
		t.Errorf("supportedVersions = %v, want %s", dr.SupportedVersions, want)
	}
	if dr.Capabilities["tools"] == nil {
		t.Errorf("server/discover capabilities lack tools: %s", disc.body)
	}
	if dr.CacheScope != "private" || dr.TTLMs != 300000 {
		t.Errorf("discover cache hints = %q/%d, want private/300000", dr.CacheScope, dr.TTLMs)
	}

	list := ts.post(t, `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{`+newProtocolMeta+`}}`, hdr("tools/list"))
	got := list.rpc(t)
	if list.status != http.StatusOK || got.Error != nil {
		t.Fatalf("tools/list: status %d: %s", list.status, list.body)
	}
	assertHasTools(t, toolNames(t, got.Result), "count", "echo", "slow", "searchPeople", "getPersonInfo")
	var cache struct {
		TTLMs      int    `json:"ttlMs"`
		CacheScope string `json:"cacheScope"`
	}
	_ = json.Unmarshal(got.Result, &cache)
	if cache.TTLMs != 300000 || cache.CacheScope != "private" {
		t.Errorf("tools/list cache hints = %+v, want 300000/private", cache)
	}

	call := ts.post(t, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"new"},`+newProtocolMeta+`}}`,
		map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo"})
	if call.status != http.StatusOK || !strings.Contains(string(call.body), `"text":"new"`) {
		t.Errorf("tools/call: status %d: %s", call.status, call.body)
	}
}

// TestGoSDKClient drives the server with the official go-sdk client, which
// negotiates the newest revision it speaks.
func TestGoSDKClient(t *testing.T) {
	ts := startServer(t, nil)
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	httpClient := &http.Client{Transport: bearerTransport{token: ts.token}}
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: httpClient}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer session.Close()
	tools, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	assertHasTools(t, names, "echo", "searchPeople")
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "from go-sdk"}})
	if err != nil || res.IsError {
		t.Fatalf("CallTool: %v %+v", err, res)
	}
	if b, _ := json.Marshal(res.StructuredContent); !strings.Contains(string(b), "from go-sdk") {
		t.Errorf("structuredContent = %s", b)
	}
}

// bearerTransport adds an Authorization header, as an OAuth-capable
// client would after its flow.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// TestTransportGuards covers the hardening on /mcp through the whole stack.
func TestTransportGuards(t *testing.T) {
	ts := startServer(t, map[string]string{
		"CRM_MCP_ALLOWED_ORIGINS": "https://app.example.com",
		"CRM_MCP_MAX_BODY_BYTES":  "4096",
	})
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	v := map[string]string{"MCP-Protocol-Version": "2025-06-18"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"MCP-Protocol-Version": "2025-06-18"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name       string
		body       string
		header     map[string]string
		wantStatus int
		wantCode   int // JSON-RPC error code; 0 = a result
	}{
		{"plain request", list, v, 200, 0},
		{"foreign origin", list, with("Origin", "https://evil.example"), 403, -32600},
		{"null origin", list, with("Origin", "null"), 403, -32600},
		{"origin lookalike suffix", list, with("Origin", "https://app.example.com.evil.example"), 403, -32600},
		{"configured origin", list, with("Origin", "https://app.example.com"), 200, 0},
		{"public URL origin", list, with("Origin", ts.URL), 200, 0},
		{"loopback origin on loopback bind", list, with("Origin", "http://127.0.0.1:6274"), 200, 0},
		{"rebound host", list, with("Host", "evil.example"), 403, -32600},
		{"rebound host with loopback port", list, with("Host", "attacker.example:8080"), 403, -32600},
		{"unknown protocol version", list, with("MCP-Protocol-Version", "1999-01-01"), 400, mcp.CodeUnsupportedProtocolVersion},
		{"future protocol version", list, with("MCP-Protocol-Version", "2099-01-01"), 400, mcp.CodeUnsupportedProtocolVersion},
		{"2024 revision not offered", list, with("MCP-Protocol-Version", "2024-11-05"), 400, mcp.CodeUnsupportedProtocolVersion},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"count","arguments":{}}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"count","arguments":{}}}]`, v, 400, -32600},
		{"batch with leading whitespace, old revision", " \n[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"count\",\"arguments\":{}}}]", with("MCP-Protocol-Version", "2025-03-26"), 400, -32600},
		{"body over limit", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"count","arguments":{"pad":"` + strings.Repeat("x", 5000) + `"}}}`, v, 413, -32600},
		{"header/body version mismatch", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + newProtocolMeta + `}}`, with("MCP-Protocol-Version", "2025-11-25"), 400, mcp.CodeHeaderMismatch},
		{"Mcp-Method mismatch", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"count","arguments":{},` + newProtocolMeta + `}}`, with("MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/list", "Mcp-Name", "count"), 400, mcp.CodeHeaderMismatch},
		{"Mcp-Name mismatch", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"count","arguments":{},` + newProtocolMeta + `}}`, with("MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "echo"), 400, mcp.CodeHeaderMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.calls.Load()
			resp := ts.post(t, tt.body, tt.header)
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tt.wantStatus, resp.body)
			}
			got := resp.rpc(t)
			switch {
			case tt.wantCode == 0 && got.Error != nil:
				t.Errorf("unexpected error %+v", got.Error)
			case tt.wantCode != 0 && (got.Error == nil || got.Error.Code != tt.wantCode):
				t.Errorf("error = %s, want code %d", resp.body, tt.wantCode)
			}
			if tt.wantStatus != 200 && ts.calls.Load() != before {
				t.Errorf("a refused request executed a tool")
			}
			for _, leak := range []string{"goroutine", ".go:", "panic"} {
				if strings.Contains(string(resp.body), leak) {
					t.Errorf("response leaks %q: %s", leak, resp.body)
				}
			}
		})
	}
}

// TestChunkedBodyOverLimit: a body without Content-Length is cut off at the
// limit too.
func TestChunkedBodyOverLimit(t *testing.T) {
	ts := startServer(t, map[string]string{"CRM_MCP_MAX_BODY_BYTES": "4096"})
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"count","arguments":{"pad":"`)
		for range 100 {
			if _, err := io.WriteString(pw, strings.Repeat("x", 1000)); err != nil {
				return // the server stopped reading: expected
			}
		}
		_, _ = io.WriteString(pw, `"}}}`)
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mcp", pr)
	req.Header.Set("Authorization", "Bearer "+ts.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if req.ContentLength != 0 && req.ContentLength != -1 {
		t.Fatalf("request is not chunked")
	}
	resp := ts.do(t, req)
	if resp.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413: %s", resp.status, resp.body)
	}
	if ts.calls.Load() != 0 {
		t.Error("tool ran")
	}
}

func TestMethodsOtherThanPOST(t *testing.T) {
	ts := startServer(t, nil)
	// GET is the notification stream (notify_test.go).
	for _, method := range []string{http.MethodDelete, http.MethodPut, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			req, _ := http.NewRequest(method, ts.URL+"/mcp", nil)
			req.Header.Set("Accept", "text/event-stream")
			req.Header.Set("Authorization", "Bearer "+ts.token)
			resp := ts.do(t, req)
			if resp.status != http.StatusMethodNotAllowed || resp.header.Get("Allow") != "GET, POST" {
				t.Errorf("%s /mcp = %d Allow %q, want 405 Allow GET, POST", method, resp.status, resp.header.Get("Allow"))
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	ts := startServer(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		resp := ts.do(t, req)
		if resp.status != http.StatusOK || resp.header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s = %d (request id %q)", path, resp.status, resp.header.Get("X-Request-Id"))
		}
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/nope", nil)
	if resp := ts.do(t, req); resp.status != http.StatusNotFound {
		t.Errorf("unknown path = %d, want 404", resp.status)
	}
}

// TestAccessLogHidesSecrets: the access log names method, path, status and
// request id, and never the query string or credential headers.
func TestAccessLogHidesSecrets(t *testing.T) {
	ts := startServer(t, nil)
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/healthz?code=QUERYSECRET&token=QUERYSECRET", nil)
	req.Header.Set("Authorization", "Bearer BEARERSECRET")
	req.Header.Set("Cookie", "session=COOKIESECRET")
	req.Header.Set("X-Request-Id", "trace-abc.123")
	resp := ts.do(t, req)
	if got := resp.header.Get("X-Request-Id"); got != "trace-abc.123" {
		t.Errorf("X-Request-Id echoed %q, want trace-abc.123", got)
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, `"path":"/healthz"`) || !strings.Contains(logs, `"request_id":"trace-abc.123"`) {
		t.Errorf("access log lacks path or request id:\n%s", logs)
	}
	for _, secret := range []string{"QUERYSECRET", "BEARERSECRET", "COOKIESECRET"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %s:\n%s", secret, logs)
		}
	}
}

// TestShutdownDrainsInFlight: cancelling the serve context (what SIGTERM
// does in main) lets an in-flight tool call finish and answer, turns
// readiness off, refuses new connections and returns cleanly.
func TestShutdownDrainsInFlight(t *testing.T) {
	ts := startServer(t, nil)
	type result struct {
		resp response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mcp",
			strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+ts.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{resp: response{status: resp.StatusCode, body: b}, err: err}
	}()
	select {
	case <-ts.slowStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("slow tool never started")
	}
	ts.cancel()
	// The listener closes promptly; the in-flight call is still running.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.URL, "http://"), time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-got:
		t.Fatalf("in-flight request ended before release: %+v", r)
	default:
	}
	close(ts.slowRelease)
	select {
	case r := <-got:
		if r.err != nil || r.resp.status != http.StatusOK || !strings.Contains(string(r.resp.body), "finished") {
			t.Fatalf("in-flight call: %v status %d body %s", r.err, r.resp.status, r.resp.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight call never answered")
	}
	select {
	case <-ts.done:
		if ts.err != nil {
			t.Errorf("Serve returned %v, want nil after a clean drain", ts.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after drain")
	}
	if !strings.Contains(ts.logs.String(), "shutdown complete") {
		t.Error("no shutdown log line")
	}
}

// TestShutdownDrainIsBounded: a request that never finishes cannot hold the
// process past CRM_MCP_SHUTDOWN_TIMEOUT.
func TestShutdownDrainIsBounded(t *testing.T) {
	ts := startServer(t, map[string]string{"CRM_MCP_SHUTDOWN_TIMEOUT": "300ms"})
	go func() {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mcp",
			strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+ts.token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-ts.slowStarted
	start := time.Now()
	ts.cancel()
	select {
	case <-ts.done:
		if ts.err == nil {
			t.Error("Serve returned nil although the drain timed out")
		}
		if waited := time.Since(start); waited > 10*time.Second {
			t.Errorf("drain took %v with a 300ms bound", waited)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return")
	}
	close(ts.slowRelease)
}

// TestShutdownDelay: during CRM_MCP_SHUTDOWN_DELAY after SIGTERM /readyz
// is 503. For the first half the replica serves as before, keep-alive
// included (closing every connection would make a balancer open new ones,
// which the listener's close can cut with a request already sent); then
// the listener closes and, for the second half, answers on the open
// connections carry Connection: close (so a balancer's keep-alive pool
// drops them before Shutdown closes idle ones); then Serve returns.
func TestShutdownDelay(t *testing.T) {
	const delay = 1600 * time.Millisecond
	ts := startServer(t, map[string]string{"CRM_MCP_SHUTDOWN_DELAY": delay.String()})
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 2 * time.Second, Transport: tr}
	get := func(path string) (*http.Response, error) {
		resp, err := client.Get(ts.URL + path)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	accepting := func() bool {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.URL, "http://"), time.Second)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}
	if resp, err := get("/healthz"); err != nil || resp.Close {
		t.Fatalf("before shutdown: %v (close %v)", err, resp != nil && resp.Close)
	}
	ts.cancel()
	start := time.Now()
	time.Sleep(100 * time.Millisecond)
	resp, err := get("/healthz")
	if err != nil || resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("first half /healthz: %v %+v, want 200 kept alive", err, resp)
	}
	if resp, err := get("/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first half /readyz: %v %+v, want 503", err, resp)
	}
	if !accepting() {
		t.Fatal("first half: listener already closed")
	}
	for accepting() {
		if time.Since(start) > delay {
			t.Fatal("listener still accepting after the whole delay")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if waited := time.Since(start); waited < delay/2-100*time.Millisecond {
		t.Errorf("listener closed after %v, before half the %v delay", waited, delay)
	}
	// Second half: the kept-alive connection still answers, and closes.
	resp, err = get("/healthz")
	if err != nil || resp.StatusCode != http.StatusOK || !resp.Close {
		t.Fatalf("second half /healthz on the open connection: %v %+v, want 200 with Connection: close", err, resp)
	}
	select {
	case <-ts.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the delay")
	}
	if waited := time.Since(start); waited < delay-100*time.Millisecond {
		t.Errorf("Serve returned after %v, before the %v delay", waited, delay)
	}
}
