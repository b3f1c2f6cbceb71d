package authserver_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

// The /token benchmarks call the server's handler in process (no HTTP
// client, no loopback TCP to the authorization server) so they measure the
// server's own cost per request: form parsing, client lookup, the state
// store round trips (real TCP to a private redis-server for "redis"), token
// minting and the JSON response. One request at a time, so the serial
// throughput of one instance is 1e9/ns-per-op requests per second.
//
//	go test -run '^$' -bench 'BenchmarkToken' -benchmem -count 5 ./internal/authserver/

// benchBackends lists the state backends to compare.
var benchBackends = []struct {
	name  string
	store func(b *testing.B) authserver.Store // nil: memory
}{
	{"memory", nil},
	{"redis", func(b *testing.B) authserver.Store {
		srv := redistest.Start(b)
		return redisStore(b, srv.Addr, redisPrefix())
	}},
}

// benchHandler is the mounted authorization server of e.
func benchHandler(e *env) http.Handler {
	mux := http.NewServeMux()
	e.srv.Mount(mux)
	return mux
}

func serveToken(b *testing.B, h http.Handler, body string) {
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	req.Header.Set("Content-Type", formType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
}

// BenchmarkTokenAuthorizationCode measures grant_type=authorization_code
// with PKCE: client lookup, atomic consume, family creation, client touch,
// access-token mint. Codes are seeded in the store before the timer starts.
func BenchmarkTokenAuthorizationCode(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			var o envOptions
			if be.store != nil {
				o.store = be.store(b)
			}
			e := newEnv(b, o)
			c := e.publicClient("Bench", "https://bench.example/cb")
			h := benchHandler(e)
			p := newPKCE()
			now := e.clock.Now()
			bodies := make([]string, b.N)
			for i := range bodies {
				code := randomCode()
				err := e.store.Store.SaveCode(b.Context(), state.Hash(code), state.AuthCode{
					ClientID: c.id, RedirectURI: c.redirect, CodeChallenge: p.challenge, Scopes: []string{"crm:read"},
					Resource: e.issuer + "/mcp", UserID: "u1", TenantID: "t1", Email: u1Email,
					FamilyID: randomCode()[:22], IssuedAt: now, ExpiresAt: now.Add(authserver.CodeTTL),
				}, authserver.CodeTTL)
				if err != nil {
					b.Fatal(err)
				}
				bodies[i] = codeForm(c, code, p).Encode()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				serveToken(b, h, bodies[i])
			}
		})
	}
}

// BenchmarkTokenRefresh measures grant_type=refresh_token: client lookup,
// atomic rotation, user check, client touch, access-token mint. Each
// iteration presents the successor the previous one returned.
func BenchmarkTokenRefresh(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			var o envOptions
			if be.store != nil {
				o.store = be.store(b)
			}
			e := newEnv(b, o)
			c := e.publicClient("Bench", "https://bench.example/cb")
			h := benchHandler(e)
			rt := randomCode()
			now := e.clock.Now()
			err := e.store.Store.CreateFamily(b.Context(), state.Family{
				ID: randomCode()[:22], ClientID: c.id, UserID: "u1", TenantID: "t1", Email: u1Email,
				Scopes: []string{"crm:read"}, Resource: e.issuer + "/mcp", CreatedAt: now, ExpiresAt: now.Add(authserver.RefreshTTL),
			}, state.Hash(rt))
			if err != nil {
				b.Fatal(err)
			}
			prefix := url.Values{"grant_type": {"refresh_token"}, "client_id": {c.id}}.Encode() + "&refresh_token="
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				serveToken(b, h, prefix+rt)
				rt = successorOf(rt) // what the response carried
			}
		})
	}
}

func randomCode() string { return newPKCE().verifier } // 43 base64url chars, 256 bits

// successorOf mirrors the server's deterministic successor derivation
// (server.go), so the benchmark needs no JSON decoding per iteration.
func successorOf(rt string) string {
	m := hmac.New(sha256.New, refreshSecret)
	m.Write([]byte("refresh-successor\x00"))
	m.Write([]byte(rt))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
