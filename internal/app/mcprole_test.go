package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres/pgtest"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

// TestMCPRoleCallsRemoteAPI: crm-mcp mcp has no CRM store; a tool call goes
// through a separately started crm-mcp api on PostgreSQL, which verifies
// the mcp role's service tokens (signed with the shared key file) against
// the JWKS the mcp role publishes. Its readiness follows the API's. A
// recording proxy between the two shows what reaches the API: service
// tokens (RS256, a kid, aud crm-api), never the client's access token.
func TestMCPRoleCallsRemoteAPI(t *testing.T) {
	db := pgtest.NewDB(t)
	rds := redistest.Start(t)
	ctx := t.Context()

	store, err := app.OpenCRMStore(ctx, config.CRMStore{DatabaseURL: config.Secret(db.AppDSN), DatabaseOwnerURL: config.Secret(db.OwnerDSN)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.SeedDemo(ctx, store, app.SeedOptions{PeoplePerTenant: 5, PasswordParams: identity.Params{Time: 1, Memory: 1024, Threads: 1}}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	keyFile := filepath.Join(t.TempDir(), "service-keys.pem")
	if _, err := servicetoken.LoadOrCreateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mcpURL := "http://" + ln.Addr().String()
	apiURL := startAPI(t, map[string]string{
		"CRM_MCP_API_ADDR":     "127.0.0.1:0",
		"CRM_MCP_PUBLIC_URL":   mcpURL,
		"CRM_MCP_JWKS_URL":     mcpURL + config.JWKSPath,
		"CRM_MCP_DATABASE_URL": db.AppDSN,
	})
	rec := &authRecorder{}
	proxy := httptest.NewServer(rec.wrap(t, apiURL))
	t.Cleanup(proxy.Close)
	vars := map[string]string{
		"CRM_MCP_ADDR":             ln.Addr().String(),
		"CRM_MCP_PUBLIC_URL":       mcpURL,
		"CRM_MCP_DATA_DIR":         t.TempDir(),
		"CRM_MCP_TOKEN_KEYS":       testKeyID + ":" + base64.RawURLEncoding.EncodeToString(testKey),
		"CRM_MCP_REDIS_URL":        "redis://" + rds.Addr,
		"CRM_MCP_API_URL":          proxy.URL,
		"CRM_MCP_SERVICE_KEY_FILE": keyFile,
		"CRM_MCP_INSTANCE_ID":      "mcp-1",
	}
	cfg, err := config.LoadMCP(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatalf("config.LoadMCP: %v", err)
	}
	a, err := app.New(cfg, app.Options{})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srvCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(srvCtx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("mcp role did not stop")
		}
	})

	status, h, body := get(t, mcpURL+"/readyz", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"crm":"ok"`) {
		t.Errorf("readyz = %d %s", status, body)
	}
	if got := h.Get(config.InstanceHeader); got != "mcp-1" {
		t.Errorf("%s = %q, want mcp-1", config.InstanceHeader, got)
	}

	ts := &testServer{URL: mcpURL}
	tok := mintTokenFor(t, ts, "usr_globex_bob", "tnt_globex", "crm:read")
	tr := callTool(t, ts, tok, "searchPeople", `{"pageSize":3}`)
	var page struct {
		TotalResults int `json:"totalResults"`
		Results      []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	if err := json.Unmarshal(tr.StructuredContent, &page); err != nil {
		t.Fatalf("searchPeople: %v: %s", err, tr.StructuredContent)
	}
	if tr.IsError || page.TotalResults == 0 {
		t.Fatalf("searchPeople through the remote API: isError=%v %s %+v", tr.IsError, tr.StructuredContent, tr.Content)
	}
	seen := rec.calls()
	crmCalls := 0
	for _, c := range seen {
		if strings.Contains(c.auth, tok) {
			t.Errorf("%s reached the API with the client's access token", c.path)
		}
		if !strings.HasPrefix(c.path, "/v1/") {
			continue
		}
		crmCalls++
		header, claims := jwtParts(t, strings.TrimPrefix(c.auth, "Bearer "))
		exp, _ := claims["exp"].(float64)
		iat, _ := claims["iat"].(float64)
		if header["alg"] != "RS256" || header["kid"] == "" || claims["aud"] != "crm-api" || claims["tenant"] != "tnt_globex" ||
			claims["sub"] != "usr_globex_bob" || exp-iat != 120 {
			t.Errorf("%s: Authorization is not a service token for tnt_globex: header %v, claims %v", c.path, header, claims)
		}
	}
	if crmCalls == 0 {
		t.Fatalf("no CRM API call went through the proxy: %+v", seen)
	}
}

// authRecorder is a reverse proxy that notes each request's path and
// Authorization header.
type authRecorder struct {
	mu   sync.Mutex
	seen []recordedCall
}

type recordedCall struct{ path, auth string }

func (r *authRecorder) wrap(t *testing.T, target string) http.Handler {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, recordedCall{path: req.URL.Path, auth: req.Header.Get("Authorization")})
		r.mu.Unlock()
		proxy.ServeHTTP(w, req)
	})
}

func (r *authRecorder) calls() []recordedCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// jwtParts decodes a JWT's header and claims without verifying it (the API
// did that).
func jwtParts(t *testing.T, jwt string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q", jwt)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
	}
	return header, claims
}

// TestMCPRoleLoginEndpointRefusesUserTokens: the API's login endpoint answers only login
// service tokens, and refuses a wrong password like an unknown email.
func TestMCPRoleLoginEndpointRefusesUserTokens(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, map[string]string{"CRM_MCP_DATA_DIR": dir})
	apiURL := startAPI(t, map[string]string{
		"CRM_MCP_API_ADDR":   "127.0.0.1:0",
		"CRM_MCP_PUBLIC_URL": ts.URL,
		"CRM_MCP_DATA_DIR":   dir,
	})
	keys, err := servicetoken.LoadOrCreateKeyFile(filepath.Join(dir, "service-keys.pem"))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(aud string, sub servicetoken.Subject) string {
		m, err := servicetoken.NewMinter(keys, servicetoken.MinterOptions{Issuer: ts.URL, Audience: aud})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := m.Mint(t.Context(), sub)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	login := servicetoken.Subject{UserID: "crm-mcp", TenantID: "crm-mcp:login"}
	tests := []struct {
		name, tok, body string
		want            int
		wantBody        string
	}{
		{"login token, right password", mint("crm-api-login", login), `{"email":"bob@globex.example","password":"bob-demo-pass"}`, http.StatusOK, `"tenantId":"tnt_globex"`},
		{"login token, wrong password", mint("crm-api-login", login), `{"email":"bob@globex.example","password":"nope"}`, http.StatusForbidden, `"bad_credentials"`},
		{"login token, unknown email", mint("crm-api-login", login), `{"email":"nobody@globex.example","password":"nope"}`, http.StatusForbidden, `"bad_credentials"`},
		{"a user's data token", mint("", servicetoken.Subject{UserID: "usr_globex_bob", TenantID: "tnt_globex"}), `{"email":"bob@globex.example","password":"bob-demo-pass"}`, http.StatusUnauthorized, ""},
		{"login audience, other subject", mint("crm-api-login", servicetoken.Subject{UserID: "usr_globex_bob", TenantID: "tnt_globex"}), `{"email":"bob@globex.example","password":"bob-demo-pass"}`, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, apiURL+"/v1/login", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tt.tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("POST /v1/login = %d %s; want %d with %s", resp.StatusCode, b, tt.want, tt.wantBody)
			}
			if strings.Contains(string(b), "argon2") {
				t.Errorf("response carries a password hash: %s", b)
			}
		})
	}
}
