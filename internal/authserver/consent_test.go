package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// consentFixture is U1 logged in, looking at the consent page of C1.
type consentFixture struct {
	e        *env
	c1       client
	p        pkce
	b        *browser
	tx, csrf string
}

func newConsentFixture(t *testing.T, e *env, c1 client) consentFixture {
	t.Helper()
	b := e.browser()
	p := newPKCE()
	page := b.toConsent(authzParams(c1, p, "crm:read crm:write"), u1Email, u1Pass)
	if page.status != http.StatusOK {
		t.Fatalf("consent page: %d %s", page.status, page.body)
	}
	if page.header.Get("Set-Cookie") != "" {
		t.Error("B-70: a cookie was set before approval")
	}
	tx, csrf := hidden(page.body)
	return consentFixture{e: e, c1: c1, p: p, b: b, tx: tx, csrf: csrf}
}

// noCodeIssued checks that nothing was granted: no consent stored and the
// transaction still approvable with the right token afterwards.
func (f consentFixture) stillApprovable(t *testing.T) {
	t.Helper()
	if _, err := f.e.store.Store.GetConsent(t.Context(), "u1", f.c1.id); err == nil {
		t.Error("consent stored by a refused request")
	}
	r := f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}})
	q := assertClientRedirect(t, f.e, r, f.c1.redirect, "", "S-state")
	f.e.exchange(f.c1, q.Get("code"), f.p)
}

// TestConsentCSRF covers B-60 (missing token), B-61 (token of another
// transaction or session), B-62 (cross-site POST), B-63 (GET cannot
// approve): 403 (405 for GET), no code, no consent, transaction intact.
func TestConsentCSRF(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")

	tests := []struct {
		name   string
		status int
		send   func(t *testing.T, f consentFixture) response
	}{
		{"B-60 missing csrf", http.StatusForbidden, func(t *testing.T, f consentFixture) response {
			return f.b.post("/consent", url.Values{"tx": {f.tx}, "action": {"approve"}})
		}},
		{"B-60 empty csrf", http.StatusForbidden, func(t *testing.T, f consentFixture) response {
			return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {""}, "action": {"approve"}})
		}},
		{"B-60 wrong csrf", http.StatusForbidden, func(t *testing.T, f consentFixture) response {
			return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {strings.Repeat("A", 43)}, "action": {"approve"}})
		}},
		{"B-61 csrf of another transaction, same session", http.StatusForbidden, func(t *testing.T, f consentFixture) response {
			other := f.b.authorize(authzParams(e.publicClient("C3", "https://c3.example/cb"), newPKCE(), ""))
			_, otherCSRF := hidden(other.body)
			if otherCSRF == "" {
				t.Fatalf("second consent page: %d", other.status)
			}
			return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {otherCSRF}, "action": {"approve"}})
		}},
		{"B-61 tx and csrf posted from another session", http.StatusForbidden, func(t *testing.T, f consentFixture) response {
			u2 := e.browser()
			u2.login(u2Email, u2Pass)
			return u2.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}})
		}},
		{"B-61 tx and csrf posted without a session", http.StatusForbidden, func(t *testing.T, f consentFixture) response {
			return e.browser().post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}})
		}},
		{"B-62 foreign Origin", http.StatusForbidden, func(t *testing.T, f consentFixture) response {
			return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}}, func(r *http.Request) {
				r.Header.Set("Origin", "https://evil.example")
				r.Header.Del("Sec-Fetch-Site")
			})
		}},
		{"B-62 Sec-Fetch-Site cross-site", http.StatusForbidden, func(t *testing.T, f consentFixture) response {
			return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}}, func(r *http.Request) {
				r.Header.Del("Origin")
				r.Header.Set("Sec-Fetch-Site", "cross-site")
			})
		}},
		{"B-62 Origin null", http.StatusForbidden, func(t *testing.T, f consentFixture) response {
			return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}}, func(r *http.Request) {
				r.Header.Set("Origin", "null")
				r.Header.Del("Sec-Fetch-Site")
			})
		}},
		{"B-63 GET cannot approve", http.StatusMethodNotAllowed, func(t *testing.T, f consentFixture) response {
			return f.b.get("/consent?" + url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}, "approve": {"1"}}.Encode())
		}},
		{"unknown action", http.StatusBadRequest, func(t *testing.T, f consentFixture) response {
			return f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"yes"}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newConsentFixture(t, e, c1)
			r := tt.send(t, f)
			if r.status != tt.status || r.header.Get("Location") != "" {
				t.Errorf("got %d Location %q, want %d and no redirect", r.status, r.header.Get("Location"), tt.status)
			}
			assertNoLeak(t, r, f.csrf)
			f.stillApprovable(t)
			// Reset remembered consent for the next case.
			_ = e.store.Store.RevokeConsent(t.Context(), "u1", c1.id)
		})
	}
}

// TestConsentDoubleSubmit covers B-64: serial and 20 concurrent approvals
// of one transaction issue exactly one code.
func TestConsentDoubleSubmit(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	for _, n := range []int{2, 20} {
		t.Run(map[int]string{2: "serial", 20: "20 concurrent"}[n], func(t *testing.T) {
			_ = e.store.Store.RevokeConsent(t.Context(), "u1", c1.id)
			f := newConsentFixture(t, e, c1)
			form := url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}}
			results := make([]response, n)
			if n == 2 {
				for i := range results {
					results[i] = f.b.post("/consent", form)
				}
			} else {
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range results {
					wg.Go(func() {
						<-start
						results[i] = f.b.post("/consent", form)
					})
				}
				close(start)
				wg.Wait()
			}
			codes := 0
			for _, r := range results {
				switch {
				case r.status == http.StatusSeeOther && r.location().Query().Get("code") != "":
					codes++
					f.e.exchange(c1, r.location().Query().Get("code"), f.p)
				case r.status == http.StatusBadRequest && r.header.Get("Location") == "":
				default:
					t.Errorf("unexpected answer %d %q", r.status, r.header.Get("Location"))
				}
			}
			if codes != 1 {
				t.Errorf("%d codes issued, want exactly 1", codes)
			}
		})
	}
}

// TestConsentTamperIgnored covers B-65: client_id, scope or redirect_uri
// added to the approve POST are ignored; the code stays bound to what the
// user saw.
func TestConsentTamperIgnored(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	c2 := e.publicClient("C2", "https://c2.example/cb")
	f := newConsentFixture(t, e, c1)
	r := f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"},
		"client_id": {c2.id}, "scope": {"crm:export"}, "redirect_uri": {"https://evil.example/cb"}})
	q := assertClientRedirect(t, e, r, c1.redirect, "", "S-state")
	// Not redeemable by C2; redeemable by C1 with the scopes shown.
	assertOAuthError(t, e.token(codeForm(c2, q.Get("code"), f.p)), 400, "invalid_grant")
	if tk := e.exchange(c1, q.Get("code"), f.p); tk.scope != "crm:read crm:write" {
		t.Errorf("scope %q, want the consented crm:read crm:write", tk.scope)
	}
}

// TestConsentDeny covers B-66: access_denied with state and iss to the
// validated redirect URI (303 after the POST), no consent stored.
func TestConsentDeny(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	f := newConsentFixture(t, e, c1)
	r := f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"deny"}})
	assertClientRedirect(t, e, r, c1.redirect, "access_denied", "S-state")
	if r.status != http.StatusSeeOther {
		t.Errorf("B-32: deny after POST answered %d, want 303", r.status)
	}
	if _, err := e.store.Store.GetConsent(t.Context(), "u1", c1.id); err == nil {
		t.Error("consent stored after deny")
	}
	// The transaction is used up.
	if r := f.b.post("/consent", url.Values{"tx": {f.tx}, "csrf": {f.csrf}, "action": {"approve"}}); r.status != http.StatusBadRequest {
		t.Errorf("approve after deny: %d", r.status)
	}
}

// TestConsentReuseKeying covers B-42 and B-69: a remembered consent skips
// the page only for the same user, client and redirect URI and a subset of
// the scopes; anything else prompts again.
func TestConsentReuseKeying(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.register(`{"redirect_uris":["https://c1.example/cb","https://c1.example/cb2"],"token_endpoint_auth_method":"none","client_name":"C1"}`)
	c2 := e.publicClient("C2", "https://c2.example/cb")
	// "C1" again: a look-alike registration (same name and redirect).
	lookalike := e.register(`{"redirect_uris":["https://c1.example/cb"],"token_endpoint_auth_method":"none","client_name":"C1"}`)
	loop := e.publicClient("Loop", "http://127.0.0.1/cb")

	u1 := e.browser()
	u1.code(c1, newPKCE(), "crm:read crm:write", u1Email, u1Pass)
	loopPKCE := newPKCE()
	lq := authzParams(loop, loopPKCE, "crm:read")
	lq.Set("redirect_uri", "http://127.0.0.1:5000/cb")
	if r := u1.authorize(lq); r.status == http.StatusOK {
		u1.approve(r)
	}
	u2 := e.browser()
	u2.login(u2Email, u2Pass)

	tests := []struct {
		name       string
		b          *browser
		c          client
		redirect   string
		scope      string
		wantPrompt bool
	}{
		{"same client, redirect and scopes", u1, c1, "https://c1.example/cb", "crm:read crm:write", false},
		{"subset of scopes", u1, c1, "https://c1.example/cb", "crm:read", false},
		{"default scope (crm:read) is a subset", u1, c1, "https://c1.example/cb", "", false},
		{"new scope", u1, c1, "https://c1.example/cb", "crm:read crm:export", true},
		{"other registered redirect", u1, c1, "https://c1.example/cb2", "crm:read", true},
		{"B-42 new client with a live session", u1, c2, "https://c2.example/cb", "crm:read", true},
		{"look-alike client", u1, lookalike, "https://c1.example/cb", "crm:read", true},
		{"other user", u2, c1, "https://c1.example/cb", "crm:read", true},
		{"loopback same port", u1, loop, "http://127.0.0.1:5000/cb", "crm:read", false},
		{"loopback other port", u1, loop, "http://127.0.0.1:6000/cb", "crm:read", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authzParams(tt.c, newPKCE(), tt.scope)
			q.Set("redirect_uri", tt.redirect)
			r := tt.b.authorize(q)
			if tt.wantPrompt {
				if r.status != http.StatusOK || !strings.Contains(r.body, `action="/consent"`) {
					t.Errorf("want the consent page, got %d %q", r.status, r.header.Get("Location"))
				}
				return
			}
			assertClientRedirect(t, e, r, tt.redirect, "", "S-state")
		})
	}
}
