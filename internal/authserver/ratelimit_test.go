package authserver_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
	"github.com/crm-mcp/crm-mcp/internal/clientip"
	"github.com/crm-mcp/crm-mcp/internal/ratelimit"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

// limits returns rate limits on lim where every policy allows 1000 per hour
// except the overrides.
func limits(lim authserver.RateLimiter, overrides map[string]ratelimit.Policy, key func(*http.Request) string) *authserver.RateLimits {
	ps := map[string]ratelimit.Policy{}
	for _, name := range authserver.AuthPolicies {
		ps[name] = ratelimit.Policy{Name: name, Limit: 1000, Window: time.Hour}
	}
	for name, p := range overrides {
		p.Name = name
		ps[name] = p
	}
	return &authserver.RateLimits{Limiter: lim, Policies: ps, ClientKey: key}
}

func one(name string) map[string]ratelimit.Policy {
	return map[string]ratelimit.Policy{name: {Limit: 1, Window: time.Hour}}
}

func assertLimited(t *testing.T, r response, policy string) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", r.status, r.body)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	if p := r.header.Get("RateLimit-Policy"); !strings.HasPrefix(p, strconv.Quote(policy)+";q=") {
		t.Errorf("RateLimit-Policy = %q", p)
	}
	if !strings.Contains(r.header.Get("RateLimit"), ";r=0;t=") {
		t.Errorf("RateLimit = %q", r.header.Get("RateLimit"))
	}
	if r.header.Get("Location") != "" {
		t.Errorf("a refusal redirects to %q", r.header.Get("Location"))
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", r.header.Get("Cache-Control"))
	}
}

// TestRateLimitResponses: each limited endpoint refuses its request after
// the budget with 429 in its own form: OAuth JSON for /register, /token and
// /revoke, the HTML error page (never a redirect, RFC 9700 §4.11) for
// /authorize, /login and /consent (catalog J-01, J-13).
func TestRateLimitResponses(t *testing.T) {
	tests := []struct {
		name, policy string
		page         bool
		send         func(e *env) response
	}{
		{"register", authserver.PolicyRegister, false, func(e *env) response {
			return do(e.t, nil, newReq(e.t, http.MethodPost, e.url+"/register", "application/json", `{"redirect_uris":["https://x.example/cb"],"token_endpoint_auth_method":"none"}`))
		}},
		{"token", authserver.PolicyToken, false, func(e *env) response {
			return e.postForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {"c"}})
		}},
		{"revoke", authserver.PolicyRevoke, false, func(e *env) response {
			return e.postForm("/revoke", url.Values{"token": {"x"}, "client_id": {"c"}})
		}},
		{"authorize", authserver.PolicyAuthorize, true, func(e *env) response {
			return e.browser().get("/authorize?client_id=c&response_type=code")
		}},
		{"login", authserver.PolicyLogin, true, func(e *env) response {
			return e.browser().post("/login", url.Values{"email": {u1Email}, "password": {"wrong"}})
		}},
		{"consent", authserver.PolicyConsent, true, func(e *env) response {
			return e.browser().post("/consent", url.Values{"tx": {"x"}, "csrf": {"y"}, "action": {"approve"}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := ratelimit.New(ratelimit.Options{})
			e := newEnv(t, envOptions{rateLimits: limits(lim, one(tt.policy), nil)})
			if r := tt.send(e); r.status == http.StatusTooManyRequests {
				t.Fatalf("first request limited: %s", r.body)
			}
			before := e.records()
			r := tt.send(e)
			assertLimited(t, r, tt.policy)
			if e.records() != before {
				t.Errorf("the refused request changed the store: %d → %d records", before, e.records())
			}
			if tt.page {
				if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "Too many requests") {
					t.Errorf("not the error page: %q %s", r.header.Get("Content-Type"), r.body)
				}
				if r.header.Get("Content-Security-Policy") == "" {
					t.Error("error page without its CSP")
				}
				return
			}
			if r.errCode() != "temporarily_unavailable" || !strings.Contains(r.json()["error_description"].(string), "retry after") {
				t.Errorf("body %s", r.body)
			}
		})
	}
}

// TestRateLimitTokenPerClient: /token is limited per client_id as well as
// per IP, before the client is looked up.
func TestRateLimitTokenPerClient(t *testing.T) {
	lim := ratelimit.New(ratelimit.Options{})
	e := newEnv(t, envOptions{rateLimits: limits(lim, map[string]ratelimit.Policy{authserver.PolicyTokenClient: {Limit: 2, Window: time.Hour}}, nil)})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	c2 := e.publicClient("C2", "https://c2.example/cb")
	bad := func(c client) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "code_verifier": {newPKCE().verifier}, "client_id": {c.id}}
	}
	for range 2 {
		if r := e.token(bad(c1)); r.status != http.StatusBadRequest {
			t.Fatalf("within budget: %d %s", r.status, r.body)
		}
	}
	assertLimited(t, e.token(bad(c1)), authserver.PolicyTokenClient)
	// Basic credentials name the same client.
	form := bad(c1)
	form.Del("client_id")
	assertLimited(t, e.token(form, basicAuth(c1.id, "")), authserver.PolicyTokenClient)
	if r := e.token(bad(c2)); r.status != http.StatusBadRequest {
		t.Errorf("another client limited: %d %s", r.status, r.body)
	}
}

// TestRateLimitLoginPerAccount: password guesses against one account are
// bounded per (IP, account); the limited attempt does not sign in even with
// the right password; other accounts are unaffected.
func TestRateLimitLoginPerAccount(t *testing.T) {
	lim := ratelimit.New(ratelimit.Options{})
	e := newEnv(t, envOptions{rateLimits: limits(lim, map[string]ratelimit.Policy{authserver.PolicyLoginAccount: {Limit: 3, Window: time.Hour}}, nil)})
	b := e.browser()
	for range 3 {
		if r := b.post("/login", url.Values{"email": {u1Email}, "password": {"guess"}}); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", r.status)
		}
	}
	r := b.post("/login", url.Values{"email": {strings.ToUpper(u1Email)}, "password": {u1Pass}})
	assertLimited(t, r, authserver.PolicyLoginAccount)
	if b.sessionCookie() != "" || !strings.Contains(r.body, "Too many sign-in attempts") {
		t.Errorf("limited login signed in or did not say why: %s", r.body)
	}
	b.login(u2Email, u2Pass) // fails the test unless 303
}

// TestRateLimitClientIP is catalog J-05: X-Forwarded-For from a peer that
// is not a trusted proxy does not change the key; from a trusted proxy it
// does.
func TestRateLimitClientIP(t *testing.T) {
	send := func(e *env, xff string) int {
		req := newReq(t, http.MethodGet, e.url+"/authorize?client_id=c", "", "")
		req.Header.Set("X-Forwarded-For", xff)
		return do(t, nil, req).status
	}
	untrusted, _ := clientip.New(nil, "")
	e := newEnv(t, envOptions{rateLimits: limits(ratelimit.New(ratelimit.Options{}), map[string]ratelimit.Policy{authserver.PolicyAuthorize: {Limit: 3, Window: time.Hour}}, untrusted.Key)})
	for i := range 3 {
		if s := send(e, "198.51.100."+strconv.Itoa(i)); s == http.StatusTooManyRequests {
			t.Fatalf("request %d limited", i)
		}
	}
	if s := send(e, "198.51.100.99"); s != http.StatusTooManyRequests {
		t.Errorf("spoofed X-Forwarded-For escaped the limit: %d", s)
	}

	trusted, _ := clientip.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, clientip.XForwardedFor)
	e = newEnv(t, envOptions{rateLimits: limits(ratelimit.New(ratelimit.Options{}), map[string]ratelimit.Policy{authserver.PolicyAuthorize: {Limit: 3, Window: time.Hour}}, trusted.Key)})
	for i := range 5 {
		if s := send(e, "198.51.100."+strconv.Itoa(i)); s == http.StatusTooManyRequests {
			t.Fatalf("behind a trusted proxy, client %d limited by the proxy's address", i)
		}
	}
	for range 3 {
		send(e, "203.0.113.1")
	}
	if s := send(e, "1.1.1.1, 203.0.113.1"); s != http.StatusTooManyRequests {
		t.Errorf("behind a trusted proxy the client's 4th request: %d (a forged left-most entry must not help)", s)
	}
}

// TestRateLimitTokenSharedOnRedis is J-01, J-02 and G-INV-6: two instances
// share one Redis (state and counters, each with its own clients); the
// 51st /token request in the window is refused on either and does not
// redeem the code it carries; after the window it does.
func TestRateLimitTokenSharedOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	prefix := redisPrefix()
	const window = 3 * time.Second
	newLimiter := func() *ratelimit.Limiter {
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
		t.Cleanup(func() { _ = c.Close() })
		return ratelimit.New(ratelimit.Options{Redis: c, Prefix: prefix + ":rl"})
	}
	tokenPolicy := map[string]ratelimit.Policy{authserver.PolicyToken: {Limit: 50, Window: window}}
	la, lb := newLimiter(), newLimiter()
	a := newEnv(t, envOptions{store: redisStore(t, srv.Addr, prefix), rateLimits: limits(la, tokenPolicy, nil)})
	b := newEnv(t, envOptions{store: redisStore(t, srv.Addr, prefix), issuer: a.issuer, rateLimits: limits(lb, tokenPolicy, nil)})
	c := a.publicClient("C", "https://c.example/cb")
	p := newPKCE()
	code := a.browser().code(c, p, "", u1Email, u1Pass)

	// Start in a fresh window (Redis's clock) so the 51 requests share one.
	if d := la.Allow(t.Context(), ratelimit.Policy{Name: "probe", Limit: 1 << 40, Window: window}, "probe", 1); d.Reset < window*2/3 {
		time.Sleep(d.Reset + 20*time.Millisecond)
	}
	bad := url.Values{"grant_type": {"authorization_code"}, "code": {"wrong-code"}, "code_verifier": {p.verifier}, "client_id": {c.id}}
	for i := range 50 {
		e := a
		if i%2 == 1 {
			e = b
		}
		if r := e.token(bad); r.status != http.StatusBadRequest {
			t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
		}
	}
	for _, e := range []*env{a, b} {
		r := e.token(codeForm(c, code, p))
		assertLimited(t, r, authserver.PolicyToken)
		if r.tokens().access != "" {
			t.Fatal("a limited request issued tokens")
		}
	}
	time.Sleep(window)
	if got := b.exchange(c, code, p); got.access == "" { // fails unless 200
		t.Error("no access token after the window")
	}
}
