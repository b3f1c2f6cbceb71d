package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAuthorizeRedirectURIMismatch covers catalog B.1: when the client or
// redirect URI is not known good, the answer is a 400 page, never a
// redirect, and no request, code or session state is written (G-INV-1).
func TestAuthorizeRedirectURIMismatch(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	cq := e.register(`{"redirect_uris":["https://c1.example/cb?a=1&b=2"],"token_endpoint_auth_method":"none"}`)
	multi := e.register(`{"redirect_uris":["https://c1.example/cb","https://c1.example/cb2"],"token_endpoint_auth_method":"none"}`)
	loop := e.publicClient("Loop", "http://127.0.0.1/cb")
	c2 := e.publicClient("C2", "https://c2.example/cb")
	p := newPKCE()

	tests := []struct {
		name     string
		client   client
		redirect string // "-" omits the parameter
		mod      func(url.Values)
		rawQuery string // used instead of the built query when set
	}{
		{name: "B-01 other host", client: c1, redirect: "https://evil.example/cb"},
		{name: "B-02 trailing slash", client: c1, redirect: "https://c1.example/cb/"},
		{name: "B-03 scheme case", client: c1, redirect: "HTTPS://c1.example/cb"},
		{name: "B-03 host case", client: c1, redirect: "https://C1.example/cb"},
		{name: "B-03 path case", client: c1, redirect: "https://c1.example/CB"},
		{name: "B-04 query added", client: c1, redirect: "https://c1.example/cb?x=1"},
		{name: "B-04 query reordered", client: cq, redirect: "https://c1.example/cb?b=2&a=1"},
		{name: "B-05 explicit default port", client: c1, redirect: "https://c1.example:443/cb"},
		{name: "B-05 other port", client: c1, redirect: "https://c1.example:8443/cb"},
		{name: "B-06 dot segments", client: c1, redirect: "https://c1.example/cb/../evil"},
		{name: "B-06 encoded dot segments", client: c1, redirect: "https://c1.example/cb/%2e%2e/evil"},
		{name: "B-06 double-encoded dot segments", client: c1, redirect: "https://c1.example/cb/%252e%252e/evil"},
		{name: "B-07 userinfo", client: c1, redirect: "https://c1.example@evil.example/cb"},
		{name: "B-07 suffix host", client: c1, redirect: "https://c1.example.evil.example/cb"},
		{name: "B-07 backslash", client: c1, redirect: `https://c1.example\@evil.example/cb`},
		{name: "B-08 fragment", client: c1, redirect: "https://c1.example/cb#frag"},
		{name: "B-09 omitted with two registered", client: multi, redirect: "-"},
		{name: "B-10 loopback other path", client: loop, redirect: "http://127.0.0.1:53123/other"},
		{name: "B-10 loopback other host form", client: loop, redirect: "http://localhost:53123/cb"},
		{name: "B-10 loopback https", client: loop, redirect: "https://127.0.0.1:53123/cb"},
		{name: "B-10 loopback userinfo", client: loop, redirect: "http://evil@127.0.0.1:53123/cb"},
		{name: "B-11 two client_ids", client: c1, rawQuery: "response_type=code&client_id=" + c1.id + "&client_id=" + c2.id +
			"&redirect_uri=" + url.QueryEscape(c1.redirect) + "&code_challenge=" + p.challenge + "&code_challenge_method=S256"},
		{name: "B-11 two redirect_uris", client: c1, rawQuery: "response_type=code&client_id=" + c1.id +
			"&redirect_uri=" + url.QueryEscape(c1.redirect) + "&redirect_uri=" + url.QueryEscape("https://evil.example/cb") +
			"&code_challenge=" + p.challenge + "&code_challenge_method=S256"},
		{name: "B-12 unknown client", client: client{id: "no-such-client", redirect: "https://c1.example/cb"}},
		{name: "B-12 missing client_id", client: client{redirect: "https://c1.example/cb"}, mod: func(q url.Values) { q.Del("client_id") }},
		{name: "B-12 URL client id without CIMD", client: client{id: "https://evil.example/client.json", redirect: "https://evil.example/cb"}},
		{name: "B-12 huge client id", client: client{id: strings.Repeat("x", 4096), redirect: "https://c1.example/cb"}},
		{name: "other client's redirect", client: c1, redirect: c2.redirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authzParams(tt.client, p, "")
			switch tt.redirect {
			case "":
			case "-":
				q.Del("redirect_uri")
			default:
				q.Set("redirect_uri", tt.redirect)
			}
			if tt.mod != nil {
				tt.mod(q)
			}
			raw := q.Encode()
			if tt.rawQuery != "" {
				raw = tt.rawQuery
			}
			// A logged-in user: nothing may be skipped because of a session.
			b := e.browser()
			b.login(u1Email, u1Pass)
			before := e.records()
			r := b.get("/authorize?" + raw)
			assertErrorPage(t, r, http.StatusBadRequest)
			if got := e.records(); got != before {
				t.Errorf("records %d -> %d: state written for a bad request", before, got)
			}
		})
	}
}

// TestAuthorizeRedirectURIAccepted covers B-10 (loopback: any port) and
// B-09's complement (omitted with one registered URI).
func TestAuthorizeRedirectURIAccepted(t *testing.T) {
	e := newEnv(t, envOptions{})
	loop := e.publicClient("Loop", "http://127.0.0.1/cb")
	loop6 := e.publicClient("Loop6", "http://[::1]/cb")
	c1 := e.publicClient("C1", "https://c1.example/cb")
	tests := []struct {
		name     string
		c        client
		redirect string
	}{
		{"B-10 loopback any port", loop, "http://127.0.0.1:53123/cb"},
		{"B-10 loopback registered form", loop, "http://127.0.0.1/cb"},
		{"B-10 IPv6 loopback any port", loop6, "http://[::1]:40000/cb"},
		{"B-09 omitted, one registered", c1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			b.login(u1Email, u1Pass)
			p := newPKCE()
			q := authzParams(tt.c, p, "")
			want := tt.redirect
			if tt.redirect == "" {
				q.Del("redirect_uri")
				want = tt.c.redirect
			} else {
				q.Set("redirect_uri", tt.redirect)
			}
			r := b.authorize(q)
			if r.status != http.StatusOK {
				t.Fatalf("want consent page, got %d %s", r.status, r.body)
			}
			r = b.approve(r)
			qv := assertClientRedirect(t, e, r, want, "", "S-state")
			if r.location().Host != mustURL(want).Host {
				t.Errorf("redirected to %s, want host %s", r.location(), mustURL(want).Host)
			}
			// The code works for that client.
			tc := tt.c
			e.exchange(tc, qv.Get("code"), p)
		})
	}
}

func mustURL(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

// TestAuthorizeErrorRedirects covers catalog B.2: once the redirect URI is
// validated, request errors go back to it with error, state and iss
// (RFC 9207), by 302 (never 307), and no request state is stored.
func TestAuthorizeErrorRedirects(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	p := newPKCE()
	tests := []struct {
		name    string
		mod     func(url.Values)
		raw     string // appended raw (for repeated params)
		wantErr string
	}{
		{name: "B-20 response_type token", mod: func(q url.Values) { q.Set("response_type", "token") }, wantErr: "unsupported_response_type"},
		{name: "B-20 response_type code id_token", mod: func(q url.Values) { q.Set("response_type", "code id_token") }, wantErr: "unsupported_response_type"},
		{name: "B-21 response_type missing", mod: func(q url.Values) { q.Del("response_type") }, wantErr: "invalid_request"},
		{name: "B-22 no code_challenge", mod: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, wantErr: "invalid_request"},
		{name: "B-23 plain", mod: func(q url.Values) { q.Set("code_challenge_method", "plain") }, wantErr: "invalid_request"},
		{name: "B-24 no method", mod: func(q url.Values) { q.Del("code_challenge_method") }, wantErr: "invalid_request"},
		{name: "B-25 s256", mod: func(q url.Values) { q.Set("code_challenge_method", "s256") }, wantErr: "invalid_request"},
		{name: "B-25 SHA256", mod: func(q url.Values) { q.Set("code_challenge_method", "SHA256") }, wantErr: "invalid_request"},
		{name: "B-25 S512", mod: func(q url.Values) { q.Set("code_challenge_method", "S512") }, wantErr: "invalid_request"},
		{name: "B-26 42 chars", mod: func(q url.Values) { q.Set("code_challenge", p.challenge[:42]) }, wantErr: "invalid_request"},
		{name: "B-26 44 chars", mod: func(q url.Values) { q.Set("code_challenge", p.challenge+"A") }, wantErr: "invalid_request"},
		{name: "B-26 129 chars", mod: func(q url.Values) { q.Set("code_challenge", strings.Repeat("A", 129)) }, wantErr: "invalid_request"},
		{name: "B-26 plus", mod: func(q url.Values) { q.Set("code_challenge", "+"+p.challenge[1:]) }, wantErr: "invalid_request"},
		{name: "B-26 slash", mod: func(q url.Values) { q.Set("code_challenge", "/"+p.challenge[1:]) }, wantErr: "invalid_request"},
		{name: "B-26 padding", mod: func(q url.Values) { q.Set("code_challenge", p.challenge[:42]+"=") }, wantErr: "invalid_request"},
		{name: "B-28 foreign resource", mod: func(q url.Values) { q.Set("resource", "https://evil.example/") }, wantErr: "invalid_target"},
		{name: "B-28 resource with trailing slash", mod: func(q url.Values) { q.Set("resource", e.issuer+"/mcp/") }, wantErr: "invalid_target"},
		{name: "B-28 empty resource", mod: func(q url.Values) { q.Set("resource", "") }, wantErr: "invalid_target"},
		{name: "B-34 request object", mod: func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, wantErr: "request_not_supported"},
		{name: "B-34 request_uri, never fetched", mod: func(q url.Values) { q.Set("request_uri", "http://169.254.169.254/") }, wantErr: "request_not_supported"},
		{name: "B-11 repeated state", raw: "&state=other", wantErr: "invalid_request"},
		{name: "B-11 repeated code_challenge", raw: "&code_challenge=" + p.challenge, wantErr: "invalid_request"},
		{name: "B-11 repeated scope", raw: "&scope=crm:read", wantErr: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authzParams(c1, p, "crm:read")
			if tt.mod != nil {
				tt.mod(q)
			}
			b := e.browser()
			b.login(u1Email, u1Pass)
			before := e.records()
			r := b.get("/authorize?" + q.Encode() + tt.raw)
			wantState := "S-state"
			assertClientRedirect(t, e, r, c1.redirect, tt.wantErr, wantState)
			if r.status != http.StatusFound {
				t.Errorf("GET /authorize error redirect status %d, want 302", r.status)
			}
			if got := e.records(); got != before {
				t.Errorf("records %d -> %d: state written for a refused request", before, got)
			}
		})
	}
}

// TestAuthorizeState covers B-29 (long and hostile state echoed byte-exact,
// URL-encoded, no header injection) and B-30 (no state is allowed).
func TestAuthorizeState(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	tests := []struct {
		name  string
		state string
	}{
		{"B-29 4KB", strings.Repeat("s", 4096)},
		{"B-29 CRLF header injection", "x\r\nSet-Cookie: pwned=1\r\nLocation: https://evil.example"},
		{"B-29 reserved characters", `a&b=c#d?e/f%20"<>`},
		{"B-30 none", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			b.login(u1Email, u1Pass)
			p := newPKCE()
			q := authzParams(c1, p, "")
			if tt.state == "" {
				q.Del("state")
			} else {
				q.Set("state", tt.state)
			}
			r := b.authorize(q)
			if r.status == http.StatusOK { // first run: consent page; later: remembered
				r = b.approve(r)
			}
			if r.header.Get("Set-Cookie") != "" || len(r.header.Values("Location")) != 1 {
				t.Errorf("header injection: %v", r.header)
			}
			qv := assertClientRedirect(t, e, r, c1.redirect, "", tt.state)
			if tt.state == "" && qv.Has("state") {
				t.Errorf("state added although none was sent: %s", r.location())
			}
			// Error redirects echo it too.
			q.Set("response_type", "token")
			assertClientRedirect(t, e, b.authorize(q), c1.redirect, "unsupported_response_type", tt.state)
		})
	}
}

// TestAuthorizeScopeAfterLogin covers B-27: an invalid or excessive scope
// is reported to the client only after the user authenticated; an
// anonymous request goes to the login page, not to the client.
func TestAuthorizeScopeAfterLogin(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	tests := []struct {
		name         string
		scope        string
		email, pass  string
		wantRedirErr string
	}{
		{"B-27 unknown scope", "admin", u1Email, u1Pass, "invalid_scope"},
		{"B-27 mixed", "crm:read admin", u1Email, u1Pass, "invalid_scope"},
		{"B-27 beyond the viewer role", "crm:read crm:write", vEmail, vPass, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			q := authzParams(c1, newPKCE(), tt.scope)
			r := b.authorize(q)
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?tx=") {
				t.Fatalf("anonymous request with bad scope: %d Location %q, want 303 to /login", r.status, r.header.Get("Location"))
			}
			r = b.toConsent(q, tt.email, tt.pass)
			assertClientRedirect(t, e, r, c1.redirect, tt.wantRedirErr, "S-state")
			if r.status == http.StatusTemporaryRedirect || r.status == http.StatusPermanentRedirect {
				t.Errorf("B-32: %d redirect", r.status)
			}
			// The consent was not stored.
			if _, err := e.store.Store.GetConsent(t.Context(), "u1", c1.id); err == nil && tt.email == u1Email {
				t.Error("consent stored for a refused scope")
			}
		})
	}
}

// TestAuthorizeCodeEntropy covers B-71: codes are 256-bit base64url and
// unique.
func TestAuthorizeCodeEntropy(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	b := e.browser()
	p := newPKCE()
	b.code(c1, p, "", u1Email, u1Pass) // consent now remembered
	const n = 500
	seen := make(map[string]bool, n)
	for range n {
		r := b.authorize(authzParams(c1, p, ""))
		code := r.location().Query().Get("code")
		if len(code) != 43 || strings.ContainsAny(code, "+/=") {
			t.Fatalf("code %q: want 43 base64url characters (256 bits)", code)
		}
		if seen[code] {
			t.Fatal("duplicate code")
		}
		seen[code] = true
	}
}
