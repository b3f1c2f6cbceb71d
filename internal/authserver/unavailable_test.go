package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// fixture is what one outage case starts from.
type fixture struct {
	b        *browser
	code     string
	p        pkce
	tk       tokens
	tx, csrf string
}

// TestStoreUnavailable covers the "state store down" rows (C-21, D-11,
// E-08, B-46, R-01): every endpoint answers 503 with Retry-After, JSON
// temporarily_unavailable on the API endpoints and a page (never a
// redirect, never "logged out") on the browser ones; never invalid_grant,
// never 500; and once the store is back the code, refresh token or
// transaction still works (nothing was burned).
func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t, envOptions{refreshGrace: -1})
	c1 := e.publicClient("C1", "https://c1.example/cb")

	newCode := func(t *testing.T) fixture {
		p := newPKCE()
		return fixture{code: e.browser().code(c1, p, "", u1Email, u1Pass), p: p}
	}
	newTokens := func(t *testing.T) fixture { return fixture{tk: e.grant(c1, "crm:read crm:write")} }
	newConsent := func(t *testing.T) fixture {
		_ = e.store.Store.RevokeConsent(t.Context(), "u1", c1.id)
		b := e.browser()
		p := newPKCE()
		page := b.toConsent(authzParams(c1, p, ""), u1Email, u1Pass)
		tx, csrf := hidden(page.body)
		if csrf == "" {
			t.Fatalf("consent page: %d", page.status)
		}
		return fixture{b: b, p: p, tx: tx, csrf: csrf}
	}
	loggedIn := func(t *testing.T) fixture {
		b := e.browser()
		b.login(u1Email, u1Pass)
		return fixture{b: b}
	}

	const api, page, loginForm = "api", "page", "login form"
	tests := []struct {
		name  string
		down  []string
		setup func(t *testing.T) fixture
		send  func(t *testing.T, f fixture) response
		kind  string
		after func(t *testing.T, f fixture) // once the store is back
	}{
		{name: "register", down: []string{"CreateClient"}, setup: func(*testing.T) fixture { return fixture{} },
			send: func(t *testing.T, f fixture) response {
				return do(t, nil, newReq(t, http.MethodPost, e.url+"/register", "application/json", regBody("https://c9.example/cb")))
			}, kind: api},
		{name: "C-21 token: client lookup", down: []string{"GetClient"}, setup: newCode,
			send: func(t *testing.T, f fixture) response { return e.token(codeForm(c1, f.code, f.p)) }, kind: api,
			after: func(t *testing.T, f fixture) { e.exchange(c1, f.code, f.p) }},
		{name: "C-21 token: consume", down: []string{"ConsumeCode"}, setup: newCode,
			send: func(t *testing.T, f fixture) response { return e.token(codeForm(c1, f.code, f.p)) }, kind: api,
			after: func(t *testing.T, f fixture) { e.exchange(c1, f.code, f.p) }},
		{name: "C-21 token: everything", down: []string{"*"}, setup: newCode,
			send: func(t *testing.T, f fixture) response { return e.token(codeForm(c1, f.code, f.p)) }, kind: api,
			after: func(t *testing.T, f fixture) { e.exchange(c1, f.code, f.p) }},
		// C-22: the code was redeemed, then the family write failed: 503;
		// the code is burned (a retry is invalid_grant), no tokens exist.
		{name: "C-22 token: family write", down: []string{"CreateFamily"}, setup: newCode,
			send: func(t *testing.T, f fixture) response { return e.token(codeForm(c1, f.code, f.p)) }, kind: api,
			after: func(t *testing.T, f fixture) {
				assertOAuthError(t, e.token(codeForm(c1, f.code, f.p)), 400, "invalid_grant")
			}},
		{name: "D-11 refresh: rotate", down: []string{"RotateRefresh"}, setup: newTokens,
			send: func(t *testing.T, f fixture) response { return e.token(refreshForm(c1, f.tk.refresh)) }, kind: api,
			after: func(t *testing.T, f fixture) {
				if r := e.token(refreshForm(c1, f.tk.refresh)); r.status != 200 {
					t.Errorf("refresh after outage: %d %s", r.status, r.body)
				}
			}},
		{name: "D-11 refresh with scope: family lookup", down: []string{"FamilyOfToken"}, setup: newTokens,
			send: func(t *testing.T, f fixture) response {
				v := refreshForm(c1, f.tk.refresh)
				v.Set("scope", "crm:read")
				return e.token(v)
			}, kind: api,
			after: func(t *testing.T, f fixture) {
				if r := e.token(refreshForm(c1, f.tk.refresh)); r.status != 200 {
					t.Errorf("refresh after outage: %d %s", r.status, r.body)
				}
			}},
		{name: "E-08 revoke refresh token", down: []string{"FamilyOfToken"}, setup: newTokens,
			send: func(t *testing.T, f fixture) response { return e.postForm("/revoke", revokeForm(c1, f.tk.refresh)) }, kind: api},
		{name: "E-08 revoke refresh token: revoke write", down: []string{"RevokeFamily"}, setup: newTokens,
			send: func(t *testing.T, f fixture) response { return e.postForm("/revoke", revokeForm(c1, f.tk.refresh)) }, kind: api},
		{name: "E-08 revoke access token", down: []string{"RevokeAccess"}, setup: newTokens,
			send: func(t *testing.T, f fixture) response { return e.postForm("/revoke", revokeForm(c1, f.tk.access)) }, kind: api},
		{name: "authorize: client lookup", down: []string{"GetClient"}, setup: loggedIn,
			send: func(t *testing.T, f fixture) response { return f.b.authorize(authzParams(c1, newPKCE(), "")) }, kind: page},
		{name: "authorize: save request", down: []string{"SaveAuthRequest"}, setup: loggedIn,
			send: func(t *testing.T, f fixture) response { return f.b.authorize(authzParams(c1, newPKCE(), "")) }, kind: page},
		{name: "B-46 authorize: session store", down: []string{"GetSession"}, setup: loggedIn,
			send: func(t *testing.T, f fixture) response { return f.b.authorize(authzParams(c1, newPKCE(), "")) }, kind: page},
		{name: "authorize: take request", down: []string{"TakeAuthRequest"}, setup: loggedIn,
			send: func(t *testing.T, f fixture) response { return f.b.authorize(authzParams(c1, newPKCE(), "")) }, kind: page},
		{name: "login: session write", down: []string{"CreateSession"}, setup: func(*testing.T) fixture { return fixture{b: e.browser()} },
			send: func(t *testing.T, f fixture) response {
				return f.b.post("/login", url.Values{"email": {u1Email}, "password": {u1Pass}})
			}, kind: loginForm},
		{name: "B-46 consent: session store", down: []string{"GetSession"}, setup: newConsent,
			send: func(t *testing.T, f fixture) response {
				return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}})
			}, kind: page, after: approveAfterOutage(e, c1)},
		{name: "consent: request lookup", down: []string{"GetAuthRequest"}, setup: newConsent,
			send: func(t *testing.T, f fixture) response {
				return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}})
			}, kind: page, after: approveAfterOutage(e, c1)},
		{name: "consent: take request", down: []string{"TakeAuthRequest"}, setup: newConsent,
			send: func(t *testing.T, f fixture) response {
				return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}})
			}, kind: page, after: approveAfterOutage(e, c1)},
		{name: "resume: request lookup", down: []string{"GetAuthRequest"}, setup: newConsent,
			send: func(t *testing.T, f fixture) response { return f.b.get("/authorize/resume?tx=" + f.tx) }, kind: page},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.setup(t)
			e.store.setDown(tt.down...)
			r := tt.send(t, f)
			e.store.setDown()
			if r.status != http.StatusServiceUnavailable {
				t.Fatalf("got %d %s (Location %q), want 503", r.status, r.body, r.header.Get("Location"))
			}
			if r.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			assertNoLeak(t, r, f.code, f.tk.refresh, f.tk.access, f.csrf)
			switch tt.kind {
			case api:
				assertOAuthError(t, r, 503, "temporarily_unavailable")
				assertNoStore(t, r)
			case page:
				assertErrorPage(t, r, 503)
				if strings.Contains(r.body, `action="/login"`) {
					t.Error("an outage is shown as a login prompt")
				}
			case loginForm:
				// The form again, saying the service is unavailable; no session.
				if !strings.Contains(r.body, "temporarily unavailable") || r.header.Get("Set-Cookie") != "" {
					t.Errorf("login outage page: %s", r.body)
				}
			}
			if tt.after != nil {
				tt.after(t, f)
			}
		})
	}
}

// approveAfterOutage checks that the consent transaction survived the
// outage: approving it now issues a working code.
func approveAfterOutage(e *env, c1 client) func(t *testing.T, f fixture) {
	return func(t *testing.T, f fixture) {
		r := f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}})
		q := assertClientRedirect(t, e, r, c1.redirect, "", "S-state")
		e.exchange(c1, q.Get("code"), f.p)
	}
}
