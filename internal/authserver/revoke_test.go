package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func revokeForm(c client, tok string) url.Values {
	return url.Values{"token": {tok}, "client_id": {c.id}}
}

func (e *env) revoke(form url.Values, mod ...func(*http.Request)) response {
	e.t.Helper()
	r := e.postForm("/revoke", form, mod...)
	assertNoStore(e.t, r)
	assertNoLeak(e.t, r, form.Get("token"))
	return r
}

// TestRevokeOwner covers E-01 (refresh token: the family and its access
// tokens die, also through the resource server), E-02 and G-23 (access
// token: its jti is denied at /mcp), and a hint that does not fit or is
// unknown being ignored (E-05).
func TestRevokeOwner(t *testing.T) {
	tests := []struct {
		name         string
		which        string // "refresh", "old-refresh", "access"
		hint         string
		familyDies   bool
		accessDenied bool
	}{
		{"E-01 current refresh token", "refresh", "refresh_token", true, true},
		{"E-01 rotated-away refresh token", "old-refresh", "", true, true},
		{"E-01 refresh token with access_token hint", "refresh", "access_token", true, true},
		{"E-02/G-23 access token", "access", "access_token", false, true},
		{"E-05 unknown hint ignored", "access", "foo", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			rs := protectedResource(t, e)
			c1 := e.publicClient("C1", "https://c1.example/cb")
			t0 := e.grant(c1, "")
			r1 := e.token(refreshForm(c1, t0.refresh))
			t1 := r1.tokens()
			tok := map[string]string{"refresh": t1.refresh, "old-refresh": t0.refresh, "access": t1.access}[tt.which]
			form := revokeForm(c1, tok)
			if tt.hint != "" {
				form.Set("token_type_hint", tt.hint)
			}
			if r := e.revoke(form); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			status, chal := callResource(t, rs, t1.access)
			if tt.accessDenied != (status == 401) {
				t.Errorf("resource with the access token: %d %q", status, chal)
			}
			if status == 401 && !strings.Contains(chal, `error="invalid_token"`) {
				t.Errorf("challenge %q", chal)
			}
			rr := e.token(refreshForm(c1, t1.refresh))
			if tt.familyDies {
				assertOAuthError(t, rr, 400, "invalid_grant")
				if !e.accessRevoked(t0.access) {
					t.Error("an older access token of the family survived")
				}
			} else if rr.status != 200 {
				// RFC 7009 §2.1: revoking an access token need not end the grant.
				t.Errorf("refresh after access-token revocation: %d %s", rr.status, rr.body)
			}
		})
	}
}

// TestRevokeNoChange covers E-03 (unknown, garbage, expired: 200, nothing
// changes) and E-04 (another client's tokens: 200, not revoked, no oracle).
func TestRevokeNoChange(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	c2 := e.publicClient("C2", "https://c2.example/cb")
	conf := e.register(`{"redirect_uris":["https://c3.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`)
	victim := e.grant(c1, "")
	expired := e.grant(c1, "")
	tests := []struct {
		name string
		form url.Values
		mod  func(*http.Request)
	}{
		{"E-03 unknown 43 chars", revokeForm(c1, strings.Repeat("x", 43)), nil},
		{"E-03 garbage", revokeForm(c1, "garbage"), nil},
		{"E-03 8KB", revokeForm(c1, strings.Repeat("g", 8<<10)), nil},
		{"E-03 JWT-shaped garbage", revokeForm(c1, "eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0."), nil},
		{"E-03 tampered access token", revokeForm(c1, victim.access[:len(victim.access)-2]+"AA"), nil},
		{"E-04 other public client, refresh token", revokeForm(c2, victim.refresh), nil},
		{"E-04 other public client, access token", revokeForm(c2, victim.access), nil},
		{"E-04 other confidential client, refresh token", url.Values{"token": {victim.refresh}}, basicAuth(conf.id, conf.secret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.records()
			var mods []func(*http.Request)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			r := e.revoke(tt.form, mods...)
			if r.status != 200 || strings.TrimSpace(r.body) != "{}" {
				t.Errorf("got %d %s, want 200 {}", r.status, r.body)
			}
			if got := e.records(); got != before {
				t.Errorf("records %d -> %d", before, got)
			}
			if e.accessRevoked(victim.access) {
				t.Fatal("the victim's token was revoked")
			}
		})
	}
	// The victim's grant is intact.
	if r := e.token(refreshForm(c1, victim.refresh)); r.status != 200 {
		t.Errorf("victim refresh: %d %s", r.status, r.body)
	}
	// E-03 expired access token: 200, no denylist entry.
	e.clock.Advance(2 * time.Hour)
	_, _ = e.store.Store.FamilyRevoked(t.Context(), "x") // let the store prune what expired
	before := e.records()
	if r := e.revoke(revokeForm(c1, expired.access)); r.status != 200 {
		t.Errorf("expired token: %d", r.status)
	}
	if e.records() != before {
		t.Error("expired token added state")
	}
}

// TestRevokeRejects covers E-05 (no token), E-06 (bad client auth), E-07
// (GET) and repeated parameters.
func TestRevokeRejects(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	conf := e.register(`{"redirect_uris":["https://c3.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`)
	tk := e.grant(c1, "")
	tests := []struct {
		name      string
		method    string
		form      url.Values
		mod       func(*http.Request)
		status    int
		err       string
		challenge bool
	}{
		{"E-05 no token", "", url.Values{"client_id": {c1.id}}, nil, 400, "invalid_request", false},
		{"E-05 empty token", "", url.Values{"client_id": {c1.id}, "token": {""}}, nil, 400, "invalid_request", false},
		{"token repeated", "", url.Values{"client_id": {c1.id}, "token": {tk.refresh, tk.access}}, nil, 400, "invalid_request", false},
		{"E-06 confidential wrong secret (Basic)", "", url.Values{"token": {tk.refresh}}, basicAuth(conf.id, "wrong"), 401, "invalid_client", true},
		{"E-06 confidential without secret", "", url.Values{"token": {tk.refresh}, "client_id": {conf.id}}, nil, 401, "invalid_client", false},
		{"E-06 no client", "", url.Values{"token": {tk.refresh}}, nil, 401, "invalid_client", false},
		{"E-06 unknown client", "", url.Values{"token": {tk.refresh}, "client_id": {"nope"}}, nil, 401, "invalid_client", false},
		{"E-07 GET", http.MethodGet, revokeForm(c1, tk.refresh), nil, 405, "invalid_request", false},
		{"JSON body", "", revokeForm(c1, tk.refresh), func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 400, "invalid_request", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := newReq(t, method, e.url+"/revoke", formType, tt.form.Encode())
			if tt.mod != nil {
				tt.mod(req)
			}
			before := e.records()
			r := do(t, nil, req)
			assertOAuthError(t, r, tt.status, tt.err)
			assertNoStore(t, r)
			assertNoLeak(t, r, tk.refresh, tk.access, conf.secret)
			if got := r.header.Get("WWW-Authenticate"); tt.challenge != strings.HasPrefix(got, "Basic") {
				t.Errorf("WWW-Authenticate %q", got)
			}
			if e.records() != before || e.accessRevoked(tk.access) {
				t.Error("a refused revocation changed state")
			}
		})
	}
}
