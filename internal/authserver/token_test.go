package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
)

// TestTokenCodeHappyPath covers C-01.
func TestTokenCodeHappyPath(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	p := newPKCE()
	code := e.browser().code(c1, p, "crm:read crm:write", u1Email, u1Pass)
	form := codeForm(c1, code, p)
	form.Set("redirect_uri", c1.redirect)
	form.Set("resource", e.issuer+"/mcp")
	r := e.token(form)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json()
	if m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) || m["refresh_token"] == "" || m["scope"] != "crm:read crm:write" {
		t.Errorf("token response %s", r.body)
	}
	claims, err := e.access.Verify(r.tokens().access)
	if err != nil || claims.Audience != e.issuer+"/mcp" || claims.Subject != "u1" || claims.TenantID != "t1" || claims.ClientID != c1.id {
		t.Errorf("claims %+v, %v", claims, err)
	}
}

// TestTokenCodeRejects covers C-05..C-20 one request at a time: the right
// status and error, no-store, nothing leaked (G-INV-2), and (unless the
// case necessarily redeems the code) the code is not burned: a later
// correct redemption still succeeds (G-INV-1).
func TestTokenCodeRejects(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	c2 := e.publicClient("C2", "https://c2.example/cb")
	conf := e.register(`{"redirect_uris":["https://c3.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`)
	other := e.grant(c1, "") // a real AT and RT, for confusion cases

	type fixture struct {
		code string
		p    pkce
	}
	tests := []struct {
		name   string
		form   func(f fixture) url.Values
		mod    func(*http.Request)
		method string
		status int
		err    string
		burns  bool // the request redeems the code (only the legitimate client can send it)
	}{
		{name: "C-05 other public client", form: func(f fixture) url.Values { return codeForm(c2, f.code, f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-05 other confidential client", form: func(f fixture) url.Values {
			v := codeForm(conf, f.code, f.p)
			v.Del("client_id")
			return v
		}, mod: basicAuth(conf.id, conf.secret), status: 400, err: "invalid_grant"},
		{name: "C-06 verifier missing", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Del("code_verifier"); return v }, status: 400, err: "invalid_grant"},
		{name: "C-06 verifier empty", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Set("code_verifier", ""); return v }, status: 400, err: "invalid_grant"},
		{name: "C-07 wrong verifier", form: func(f fixture) url.Values { return codeForm(c1, f.code, newPKCE()) }, status: 400, err: "invalid_grant"},
		{name: "C-08 challenge as verifier", form: func(f fixture) url.Values {
			return codeForm(c1, f.code, pkce{verifier: f.p.challenge})
		}, status: 400, err: "invalid_grant"},
		{name: "C-09 42 chars", form: func(f fixture) url.Values { return codeForm(c1, f.code, pkce{verifier: f.p.verifier[:42]}) }, status: 400, err: "invalid_grant"},
		{name: "C-09 129 chars", form: func(f fixture) url.Values { return codeForm(c1, f.code, pkce{verifier: strings.Repeat("a", 129)}) }, status: 400, err: "invalid_grant"},
		{name: "C-09 plus", form: func(f fixture) url.Values { return codeForm(c1, f.code, pkce{verifier: "+" + f.p.verifier}) }, status: 400, err: "invalid_grant"},
		{name: "C-09 equals", form: func(f fixture) url.Values { return codeForm(c1, f.code, pkce{verifier: f.p.verifier + "="}) }, status: 400, err: "invalid_grant"},
		{name: "C-09 space", form: func(f fixture) url.Values { return codeForm(c1, f.code, pkce{verifier: f.p.verifier + " "}) }, status: 400, err: "invalid_grant"},
		// C-11: the code is redeemed (binding check in the store), then the
		// redirect_uri is compared. Only a holder of the verifier can
		// send this, so burning it costs the attacker nothing.
		{name: "C-11 other redirect_uri", form: func(f fixture) url.Values {
			v := codeForm(c1, f.code, f.p)
			v.Set("redirect_uri", "https://c1.example/other")
			return v
		}, status: 400, err: "invalid_grant", burns: true},
		{name: "C-12 10KB code", form: func(f fixture) url.Values { return codeForm(c1, strings.Repeat("k", 10<<10), f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-12 star", form: func(f fixture) url.Values { return codeForm(c1, "*", f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-12 question mark", form: func(f fixture) url.Values { return codeForm(c1, "?", f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-12 brackets", form: func(f fixture) url.Values { return codeForm(c1, "[a]", f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-12 braces", form: func(f fixture) url.Values { return codeForm(c1, "{tag}", f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-12 CRLF", form: func(f fixture) url.Values { return codeForm(c1, "a\r\nb", f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-12 NUL", form: func(f fixture) url.Values { return codeForm(c1, "a\x00b", f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-12 code plus suffix", form: func(f fixture) url.Values { return codeForm(c1, f.code+"x", f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-13 access token as code", form: func(f fixture) url.Values { return codeForm(c1, other.access, f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-13 refresh token as code", form: func(f fixture) url.Values { return codeForm(c1, other.refresh, f.p) }, status: 400, err: "invalid_grant"},
		{name: "C-14 grant_type missing", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Del("grant_type"); return v }, status: 400, err: "invalid_request"},
		{name: "C-14 grant_type foo", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Set("grant_type", "foo"); return v }, status: 400, err: "unsupported_grant_type"},
		{name: "C-14 password", form: func(f fixture) url.Values {
			return url.Values{"grant_type": {"password"}, "username": {u1Email}, "password": {u1Pass}, "client_id": {c1.id}}
		}, status: 400, err: "unsupported_grant_type"},
		{name: "C-14 implicit", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Set("grant_type", "implicit"); return v }, status: 400, err: "unsupported_grant_type"},
		{name: "C-14 client_credentials", form: func(f fixture) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {c1.id}}
		}, status: 400, err: "unauthorized_client"},
		{name: "C-15 code repeated", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Add("code", f.code); return v }, status: 400, err: "invalid_request"},
		{name: "C-15 client_id repeated", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Add("client_id", c2.id); return v }, status: 400, err: "invalid_request"},
		{name: "C-16 JSON body", form: func(f fixture) url.Values { return codeForm(c1, f.code, f.p) }, mod: func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
		}, status: 400, err: "invalid_request"},
		{name: "C-16 parameters in the query", form: func(f fixture) url.Values { return url.Values{} }, mod: func(r *http.Request) {
			r.URL.RawQuery = "grant_type=authorization_code&client_id=" + c1.id
		}, status: 400, err: "invalid_request"},
		{name: "C-16 GET", method: http.MethodGet, form: func(f fixture) url.Values { return codeForm(c1, f.code, f.p) }, status: 405, err: "invalid_request"},
		{name: "C-18 2MB body", form: func(f fixture) url.Values {
			v := codeForm(c1, f.code, f.p)
			v.Set("pad", strings.Repeat("x", 2<<20))
			return v
		}, status: 400, err: "invalid_request"},
		{name: "C-18 100000 params", form: func(f fixture) url.Values {
			v := codeForm(c1, f.code, f.p)
			for i := range 100000 {
				v.Set("p"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i), "1")
			}
			return v
		}, status: 400, err: "invalid_request"},
		{name: "C-19 other resource", form: func(f fixture) url.Values {
			v := codeForm(c1, f.code, f.p)
			v.Set("resource", "https://other.example")
			return v
		}, status: 400, err: "invalid_target"},
		{name: "code missing", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Del("code"); return v }, status: 400, err: "invalid_request"},
		{name: "client_id missing", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Del("client_id"); return v }, status: 401, err: "invalid_client"},
		{name: "unknown client_id", form: func(f fixture) url.Values { v := codeForm(c1, f.code, f.p); v.Set("client_id", "nope"); return v }, status: 401, err: "invalid_client"},
		{name: "public client sends a secret", form: func(f fixture) url.Values {
			v := codeForm(c1, f.code, f.p)
			v.Set("client_secret", "guess")
			return v
		}, status: 401, err: "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKCE()
			f := fixture{code: e.browser().code(c1, p, "", u1Email, u1Pass), p: p}
			form := tt.form(f)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := newReq(t, method, e.url+"/token", formType, form.Encode())
			if tt.mod != nil {
				tt.mod(req)
			}
			before := e.records()
			r := do(t, nil, req)
			assertOAuthError(t, r, tt.status, tt.err)
			assertNoStore(t, r)
			assertNoLeak(t, r, f.code, p.verifier, conf.secret, other.access, other.refresh)
			if strings.Contains(r.body, "access_token") {
				t.Error("tokens in an error response")
			}
			if tt.burns {
				return
			}
			if got := e.records(); got != before {
				t.Errorf("records %d -> %d: the refused request changed state", before, got)
			}
			// G-INV-1: the code is still good for its client.
			e.exchange(c1, f.code, p)
		})
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

// TestTokenCodeScopeParamIgnored covers C-20: the authorization_code grant
// has no scope parameter (RFC 6749 §4.1.3); a scope sent anyway is ignored
// and never widens the grant.
func TestTokenCodeScopeParamIgnored(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	p := newPKCE()
	code := e.browser().code(c1, p, "crm:read", u1Email, u1Pass)
	form := codeForm(c1, code, p)
	form.Set("scope", "crm:read crm:write crm:export admin")
	r := e.token(form)
	if r.status != 200 || r.tokens().scope != "crm:read" {
		t.Fatalf("got %d scope %q, want 200 with the granted crm:read only", r.status, r.tokens().scope)
	}
	claims, _ := e.access.Verify(r.tokens().access)
	if strings.Join(claims.Scopes, " ") != "crm:read" {
		t.Errorf("access token scopes %v", claims.Scopes)
	}
}

// TestTokenCodeReplay covers C-02: a replayed code is invalid_grant and
// revokes what the first exchange issued (OAuth 2.1 §4.1.3) once it comes
// later than CodeReplayGrace after the redemption; a duplicate within the
// grace window (a retry or concurrent send, C-03) revokes nothing; a
// replay by someone without the verifier does not revoke (it is not
// "otherwise valid").
func TestTokenCodeReplay(t *testing.T) {
	tests := []struct {
		name       string
		after      time.Duration
		replayPKCE bool // replay with another verifier
		wantRevoke bool
	}{
		{"duplicate within the grace window", 0, false, false},
		{"duplicate at the end of the grace window", authserver.CodeReplayGrace - time.Millisecond, false, false},
		{"replay once the grace window is over", authserver.CodeReplayGrace, false, true},
		{"after 30s", 30 * time.Second, false, true},
		{"after 9m59s", 9*time.Minute + 59*time.Second, false, true},
		{"with a wrong verifier", 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			c1 := e.publicClient("C1", "https://c1.example/cb")
			p := newPKCE()
			code := e.browser().code(c1, p, "", u1Email, u1Pass)
			first := e.exchange(c1, code, p)
			e.clock.Advance(tt.after)
			rp := p
			if tt.replayPKCE {
				rp = newPKCE()
			}
			r := e.token(codeForm(c1, code, rp))
			assertOAuthError(t, r, 400, "invalid_grant")
			if got := e.accessRevoked(first.access); got != tt.wantRevoke {
				t.Errorf("first access token revoked = %v, want %v", got, tt.wantRevoke)
			}
			rr := e.token(refreshForm(c1, first.refresh))
			if tt.wantRevoke {
				assertOAuthError(t, rr, 400, "invalid_grant")
			} else if rr.status != 200 {
				t.Errorf("refresh after a non-matching replay: %d %s", rr.status, rr.body)
			}
		})
	}
}

// TestTokenCodeExpired covers C-04: a code is good for 10 minutes.
func TestTokenCodeExpired(t *testing.T) {
	tests := []struct {
		name string
		wait time.Duration
		ok   bool
	}{
		{"just before expiry", authserver.CodeTTL - time.Second, true},
		{"C-04 just after expiry", authserver.CodeTTL + time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			c1 := e.publicClient("C1", "https://c1.example/cb")
			p := newPKCE()
			code := e.browser().code(c1, p, "", u1Email, u1Pass)
			e.clock.Advance(tt.wait)
			r := e.token(codeForm(c1, code, p))
			if tt.ok {
				if r.status != 200 {
					t.Fatalf("%d %s", r.status, r.body)
				}
				return
			}
			assertOAuthError(t, r, 400, "invalid_grant")
		})
	}
}

// TestTokenCodeConcurrent covers C-03 on one instance: 50 simultaneous
// redemptions of one code; see checkConcurrentRedemption.
func TestTokenCodeConcurrent(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	for range 10 {
		p := newPKCE()
		code := e.browser().code(c1, p, "", u1Email, u1Pass)
		checkConcurrentRedemption(t, []*env{e}, c1, code, p, 50)
	}
}

// checkConcurrentRedemption fires n identical redemptions of code, spread
// over the given instances (C-03, G-INV-6), and checks:
//   - exactly one redemption wins in the store (one ConsumeCode success,
//     across all instances) and at most one refresh family is created;
//   - every answer is 200 or 400 invalid_grant, never 5xx; the number of
//     200s equals the number of families created (at most one);
//   - exactly one 200: the 49 losers are duplicates within the replay
//     grace window (the test clock does not move), so they revoke nothing
//     and the winner's tokens work;
//   - a later redemption fails.
func checkConcurrentRedemption(t *testing.T, envs []*env, c client, code string, p pkce, n int) {
	t.Helper()
	var consumed0, families0 int64
	for _, e := range envs {
		consumed0 += e.store.consumed.Load()
		families0 += e.store.families.Load()
	}
	results := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	body := codeForm(c, code, p).Encode()
	for i := range n {
		e := envs[i%len(envs)]
		wg.Go(func() {
			req := newReq(t, http.MethodPost, e.url+"/token", formType, body)
			<-start
			results[i] = do(t, nil, req)
		})
	}
	close(start)
	wg.Wait()
	var consumed, families int64
	for _, e := range envs {
		consumed += e.store.consumed.Load()
		families += e.store.families.Load()
	}
	consumed, families = consumed-consumed0, families-families0
	ok, grant := 0, 0
	var winner response
	for _, r := range results {
		switch {
		case r.status == 200:
			ok++
			winner = r
		case r.status == 400 && r.errCode() == "invalid_grant":
			grant++
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.body)
		}
		assertNoStore(t, r)
	}
	if consumed != 1 || families != 1 || ok != 1 || grant != n-1 {
		t.Fatalf("store: %d redemptions won, %d families; HTTP: %d×200, %d×invalid_grant of %d; want exactly 1 of each and %d×invalid_grant",
			consumed, families, ok, grant, n, n-1)
	}
	e := envs[0]
	if e.accessRevoked(winner.tokens().access) {
		t.Error("a concurrent duplicate revoked the winner's access token")
	}
	if r := e.token(refreshForm(c, winner.tokens().refresh)); r.status != 200 {
		t.Errorf("winner's refresh token: %d %s", r.status, r.body)
	}
	assertOAuthError(t, e.token(codeForm(c, code, p)), 400, "invalid_grant")
}

// TestTokenClientAuth covers C-17: confidential clients authenticate with
// their registered method only; Basic and body secret together are
// invalid_request; a wrong secret via Basic is 401 with a Basic challenge;
// no failure burns the code.
func TestTokenClientAuth(t *testing.T) {
	e := newEnv(t, envOptions{})
	basic := e.register(`{"redirect_uris":["https://b.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`)
	post := e.register(`{"redirect_uris":["https://p.example/cb"],"token_endpoint_auth_method":"client_secret_post"}`)
	if basic.secret == "" || post.secret == "" {
		t.Fatal("confidential clients got no secret")
	}
	withSecret := func(v url.Values, s string) url.Values { v.Set("client_secret", s); return v }
	noID := func(v url.Values) url.Values { v.Del("client_id"); return v }
	tests := []struct {
		name      string
		c         client
		form      func(v url.Values) url.Values
		mod       func(*http.Request)
		status    int
		err       string
		challenge bool
	}{
		{"basic ok", basic, noID, basicAuth(basic.id, basic.secret), 200, "", false},
		{"basic ok with matching client_id", basic, func(v url.Values) url.Values { return v }, basicAuth(basic.id, basic.secret), 200, "", false},
		{"basic wrong secret", basic, noID, basicAuth(basic.id, "wrong"), 401, "invalid_client", true},
		{"basic unknown client", basic, noID, basicAuth("nobody", "x"), 401, "invalid_client", true},
		{"basic bad percent-encoding", basic, noID, func(r *http.Request) { r.SetBasicAuth("%zz", "x") }, 401, "invalid_client", true},
		{"basic and client_secret both", basic, func(v url.Values) url.Values { return withSecret(noID(v), basic.secret) }, basicAuth(basic.id, basic.secret), 400, "invalid_request", false},
		{"basic with another client_id in body", basic, func(v url.Values) url.Values { v.Set("client_id", post.id); return v }, basicAuth(basic.id, basic.secret), 400, "invalid_request", false},
		{"basic client uses post", basic, func(v url.Values) url.Values { return withSecret(v, basic.secret) }, nil, 401, "invalid_client", false},
		{"basic client without secret", basic, func(v url.Values) url.Values { return v }, nil, 401, "invalid_client", false},
		{"post ok", post, func(v url.Values) url.Values { return withSecret(v, post.secret) }, nil, 200, "", false},
		{"post wrong secret", post, func(v url.Values) url.Values { return withSecret(v, "wrong") }, nil, 401, "invalid_client", false},
		{"post client uses basic", post, noID, basicAuth(post.id, post.secret), 401, "invalid_client", true},
		{"post client empty secret", post, func(v url.Values) url.Values { return withSecret(v, "") }, nil, 401, "invalid_client", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKCE()
			code := e.browser().code(tt.c, p, "", u1Email, u1Pass)
			var mods []func(*http.Request)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			r := e.token(tt.form(codeForm(tt.c, code, p)), mods...)
			assertNoLeak(t, r, tt.c.secret)
			if tt.status == 200 {
				if r.status != 200 {
					t.Fatalf("%d %s", r.status, r.body)
				}
				return
			}
			assertOAuthError(t, r, tt.status, tt.err)
			if got := r.header.Get("WWW-Authenticate"); tt.challenge != strings.HasPrefix(got, "Basic") {
				t.Errorf("WWW-Authenticate = %q, want Basic challenge: %v", got, tt.challenge)
			}
			// Not burned: the right authentication still redeems it.
			good := codeForm(tt.c, code, p)
			var gm []func(*http.Request)
			if tt.c.id == basic.id {
				good.Del("client_id")
				gm = append(gm, basicAuth(basic.id, basic.secret))
			} else {
				good.Set("client_secret", post.secret)
			}
			if r := e.token(good, gm...); r.status != 200 {
				t.Errorf("code burned by a failed authentication: %d %s", r.status, r.body)
			}
		})
	}
}
