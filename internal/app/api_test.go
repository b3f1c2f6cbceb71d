package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/sqlite"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

// get fetches url, with a bearer token when tok is set.
func get(t *testing.T, url, tok string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// TestJWKSPublished: serve publishes the public half of the service-token
// key file, so a separately deployed CRM API can verify its tokens.
func TestJWKSPublished(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, map[string]string{"CRM_MCP_DATA_DIR": dir})

	status, h, body := get(t, ts.URL+"/.well-known/jwks.json", "")
	if status != http.StatusOK || h.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("GET jwks: %d %q %s", status, h.Get("Content-Type"), body)
	}
	var set struct {
		Keys []struct {
			Kty, Use, Alg, Kid, N, E string
			D                        string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("jwks is not JSON: %v\n%s", err, body)
	}
	keys, err := servicetoken.LoadOrCreateKeyFile(filepath.Join(dir, "service-keys.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys, want 1: %s", len(set.Keys), body)
	}
	k := set.Keys[0]
	got, want := []string{k.Kty, k.Use, k.Alg, k.Kid}, []string{"RSA", "sig", "RS256", keys.SigningKeyID()}
	if !slices.Equal(got, want) {
		t.Errorf("jwk kty, use, alg, kid = %q, want %q", got, want)
	}
	if k.N == "" || k.E == "" || k.D != "" || strings.Contains(string(body), `"d"`) {
		t.Errorf("jwk lacks the public key or carries private parts: %s", body)
	}
	if string(body) != string(keys.JWKS()) {
		t.Errorf("served JWKS differs from the key file's:\n%s\n%s", body, keys.JWKS())
	}
}

// startAPI runs app.NewAPI + Serve on a loopback port and stops it at
// cleanup, checking that the drain is clean.
func startAPI(t *testing.T, env map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadAPI(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("config.LoadAPI: %v", err)
	}
	a, err := app.NewAPI(t.Context(), cfg, app.APIOptions{})
	if err != nil {
		t.Fatalf("app.NewAPI: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("api Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("api did not stop")
		}
	})
	return "http://" + ln.Addr().String()
}

// TestAPIRoleVerifiesServeTokens: crm-mcp api, on the same SQLite store as
// a running serve, accepts the service tokens serve mints (keys fetched
// from serve's JWKS) and refuses the rest.
func TestAPIRoleVerifiesServeTokens(t *testing.T) {
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
	mint := func(issuer string, k *servicetoken.Keys) string {
		m, err := servicetoken.NewMinter(k, servicetoken.MinterOptions{Issuer: issuer})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := m.Mint(t.Context(), servicetoken.Subject{UserID: "usr_globex_bob", TenantID: "tnt_globex"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	other, err := servicetoken.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	otherKeys, err := servicetoken.NewKeys(other)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path, tok string
		want            int
		wantBody        string
	}{
		{"serve's token", "/v1/tenant", mint(ts.URL, keys), http.StatusOK, `"Globex Recruiting"`},
		{"no token", "/v1/tenant", "", http.StatusUnauthorized, ""},
		{"unknown key", "/v1/tenant", mint(ts.URL, otherKeys), http.StatusUnauthorized, ""},
		{"wrong issuer", "/v1/tenant", mint("https://elsewhere.example", keys), http.StatusUnauthorized, ""},
		{"healthz", "/healthz", "", http.StatusOK, `"ok"`},
		{"readyz", "/readyz", "", http.StatusOK, `"ready"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := get(t, apiURL+tt.path, tt.tok)
			if status != tt.want || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET %s = %d %s; want %d with %s", tt.path, status, body, tt.want, tt.wantBody)
			}
			if h.Get("X-Request-Id") == "" {
				t.Errorf("no X-Request-Id: the access-log middleware is missing")
			}
		})
	}
}

// TestSeedDemoPerTenant: seeding is idempotent per tenant, and a subset
// leaves the other tenants for a later run.
func TestSeedDemoPerTenant(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cheap := identity.Params{Time: 1, Memory: 1024, Threads: 1}
	steps := []struct {
		tenants []string
		want    app.SeedResult
	}{
		{[]string{"tnt_globex"}, app.SeedResult{Seeded: []string{"tnt_globex"}}},
		{nil, app.SeedResult{Seeded: []string{"tnt_acme", "tnt_initech"}, Skipped: []string{"tnt_globex"}}},
		{nil, app.SeedResult{Skipped: []string{"tnt_acme", "tnt_globex", "tnt_initech"}}},
	}
	for i, s := range steps {
		got, err := app.SeedDemo(t.Context(), store, app.SeedOptions{PeoplePerTenant: 3, TenantIDs: s.tenants, PasswordParams: cheap})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: got %+v, want %+v", i, got, s.want)
		}
	}
	u, err := store.UserByEmail(t.Context(), "carol@initech.example")
	if err != nil || u.TenantID != "tnt_initech" || !identity.VerifyPassword(u.PasswordHash, "carol-demo-pass") {
		t.Errorf("carol: %+v %v", u, err)
	}
	if _, err := app.SeedDemo(t.Context(), store, app.SeedOptions{TenantIDs: []string{"tnt_nope"}}); err == nil {
		t.Error("unknown tenant: want an error")
	}
}
