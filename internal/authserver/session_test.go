package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
	"github.com/crm-mcp/crm-mcp/internal/state"
)

// TestSessionCookieAttributes covers B-41: on an https issuer the session
// cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain.
func TestSessionCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		issuer     string
		wantName   string
		wantSecure bool
	}{
		{"https issuer", "https://as.example", "__Host-crm_session", true},
		{"loopback http issuer", "", "crm_session", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{issuer: tt.issuer})
			r := e.postForm("/login", url.Values{"email": {u1Email}, "password": {u1Pass}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("login: %d %s", r.status, r.body)
			}
			cookies := (&http.Response{Header: r.header}).Cookies()
			if len(cookies) != 1 {
				t.Fatalf("Set-Cookie: %v", r.header.Values("Set-Cookie"))
			}
			c := cookies[0]
			if c.Name != tt.wantName || c.Secure != tt.wantSecure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
				c.Path != "/" || c.Domain != "" || len(c.Value) != 43 {
				t.Errorf("cookie %+v", c)
			}
		})
	}
}

// TestSessionFixation covers B-40: a planted cookie, random or a live
// session of the attacker, is replaced at login and the old id is dead.
func TestSessionFixation(t *testing.T) {
	e := newEnv(t, envOptions{})
	attacker := e.browser()
	attacker.login(u2Email, u2Pass)
	planted := attacker.sessionCookie()

	tests := []struct {
		name  string
		value string
		live  bool
	}{
		{"attacker's live session", planted, true},
		{"random value", "ATTACKERATTACKERATTACKERATTACKERATTACKERATT", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			victim := e.browser()
			victim.setSessionCookie(tt.value)
			victim.login(u1Email, u1Pass)
			got := victim.sessionCookie()
			if got == tt.value || len(got) != 43 {
				t.Fatalf("session id not renewed at login: %q", got)
			}
			if _, err := e.store.Store.GetSession(t.Context(), state.Hash(tt.value)); err == nil {
				t.Error("the planted session id is still alive")
			}
			// The attacker's cookie is anonymous now.
			c := e.publicClient("C", "https://c.example/cb")
			r := attacker.authorize(authzParams(c, newPKCE(), ""))
			if tt.live && (r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?tx=")) {
				t.Errorf("planted id still logged in: %d %q", r.status, r.header.Get("Location"))
			}
		})
	}
}

// TestSessionForgedAndExpired covers B-43 (tampered or forged cookie →
// anonymous, no 500), B-44 (logout kills the session server side) and the
// absolute part of B-45.
func TestSessionForgedAndExpired(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")

	real := e.browser()
	real.login(u1Email, u1Pass)
	sid := real.sessionCookie()
	tampered := []byte(sid)
	tampered[10] ^= 1

	loggedOut := e.browser()
	loggedOut.login(u1Email, u1Pass)
	oldSID := loggedOut.sessionCookie()
	if r := loggedOut.post("/logout", nil); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}

	expiring := e.browser()
	expiring.login(u1Email, u1Pass)
	expSID := expiring.sessionCookie()
	e.clock.Advance(authserver.SessionTTL + 1)

	tests := []struct {
		name   string
		cookie string
	}{
		{"B-43 random 43 chars", strings.Repeat("A", 43)},
		{"B-43 one bit flipped", string(tampered)},
		{"B-43 short garbage", "x"},
		{"B-43 oversized", strings.Repeat("A", 4000)},
		{"B-43 quotes and semicolons", `"abc;def"`},
		{"B-44 replay after logout", oldSID},
		{"B-45 absolute timeout", expSID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			b.setSessionCookie(tt.cookie)
			r := b.authorize(authzParams(c1, newPKCE(), ""))
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?tx=") {
				t.Errorf("got %d %q, want 303 to the login page", r.status, r.header.Get("Location"))
			}
			if h := b.get("/"); h.status != http.StatusOK || strings.Contains(h.body, u1Email) {
				t.Errorf("home page treats the cookie as signed in: %d", h.status)
			}
		})
	}
	if _, err := e.store.Store.GetSession(t.Context(), state.Hash(oldSID)); err == nil {
		t.Error("B-44: session still stored after logout")
	}
}

// TestLoginSameErrorForUnknownUser covers the enumeration part of B-47.
func TestLoginSameErrorForUnknownUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	wrong := e.postForm("/login", url.Values{"email": {u1Email}, "password": {"not-the-password"}})
	unknown := e.postForm("/login", url.Values{"email": {"nobody@t1.example"}, "password": {"not-the-password"}})
	if wrong.status != http.StatusUnauthorized || unknown.status != wrong.status {
		t.Fatalf("statuses %d / %d, want 401 for both", wrong.status, unknown.status)
	}
	norm := func(s, email string) string { return strings.ReplaceAll(s, email, "EMAIL") }
	if norm(wrong.body, u1Email) != norm(unknown.body, "nobody@t1.example") {
		t.Error("wrong password and unknown user answer differently")
	}
	if wrong.header.Get("Set-Cookie") != "" {
		t.Error("failed login set a cookie")
	}
	assertNoLeak(t, wrong, "not-the-password")
}

// TestLoginContinuationNeverOffSite covers B.4 (B-50): there is no
// return_to parameter; the continuation is a server-side transaction id.
// Hostile tx values on GET /login, POST /login and /authorize/resume never
// produce an off-site redirect.
func TestLoginContinuationNeverOffSite(t *testing.T) {
	e := newEnv(t, envOptions{})
	payloads := []string{
		"https://evil.example", "//evil.example", "///evil.example", `/\evil.example`, `\\evil.example`,
		"/%5Cevil.example", "/%2F%2Fevil.example", "https:evil.example", "http:/evil.example", "/%09/evil.example",
		"%0d%0aLocation:%20https://evil.example", "\r\nLocation: https://evil.example", "javascript:alert(1)",
		"data:text/html,<script>alert(1)</script>", "https://as.example.evil.example", "https://as.example@evil.example",
	}
	// Each payload also padded to 43 characters, the length of a real tx.
	var all []string
	for _, p := range payloads {
		all = append(all, p)
		if len(p) < 43 {
			all = append(all, p+strings.Repeat("a", 43-len(p)))
		}
	}
	for _, p := range all {
		t.Run(p, func(t *testing.T) {
			b := e.browser()
			// GET /login renders the form; the tx is never echoed unless it
			// has a tx's shape, and is never a redirect.
			r := b.get("/login?tx=" + url.QueryEscape(p))
			if r.status != http.StatusOK || r.header.Get("Location") != "" {
				t.Errorf("GET /login: %d Location %q", r.status, r.header.Get("Location"))
			}
			// A tx-shaped payload is echoed only inside the escaped hidden
			// input (CRLF there is body text, not a header).
			if strings.Contains(r.body, "<script>alert(1)") || len(r.header.Values("Location")) != 0 || r.header.Get("Set-Cookie") != "" {
				t.Errorf("GET /login reflects the payload unescaped or into headers")
			}
			// POST /login with the payload: same-origin continuation only.
			r = b.post("/login", url.Values{"email": {u1Email}, "password": {u1Pass}, "tx": {p}})
			assertSameOrigin(t, r)
			// Following it never leaves the site either.
			if r.status == http.StatusSeeOther {
				next := b.get(r.header.Get("Location"))
				if next.status >= 300 && next.status < 400 {
					assertSameOrigin(t, next)
				}
			}
			// /authorize/resume with the payload is an error page.
			assertErrorPage(t, b.get("/authorize/resume?tx="+url.QueryEscape(p)), http.StatusBadRequest)
		})
	}
}

// assertSameOrigin checks that a redirect stays on this server.
func assertSameOrigin(t *testing.T, r response) {
	t.Helper()
	loc := r.header.Get("Location")
	if r.status < 300 || r.status >= 400 {
		return
	}
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(loc, "/") ||
		strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) || strings.ContainsAny(loc, "\r\n\t\\") {
		t.Errorf("off-site or ambiguous Location %q", loc)
	}
	if loc != "/" && !strings.HasPrefix(loc, "/authorize/resume?tx=") && !strings.HasPrefix(loc, "/login") {
		t.Errorf("unexpected continuation %q", loc)
	}
}

// TestBrowserPostsRefuseCrossSite covers B-62 for /login and /logout (login
// CSRF, forced logout).
func TestBrowserPostsRefuseCrossSite(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name   string
		path   string
		header map[string]string
	}{
		{"login foreign Origin", "/login", map[string]string{"Origin": "https://evil.example"}},
		{"login Sec-Fetch-Site cross-site", "/login", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"logout foreign Origin", "/logout", map[string]string{"Origin": "https://evil.example"}},
		{"logout Sec-Fetch-Site cross-site", "/logout", map[string]string{"Sec-Fetch-Site": "cross-site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			b.login(u1Email, u1Pass)
			sid := b.sessionCookie()
			before := e.records()
			r := b.post(tt.path, url.Values{"email": {u1Email}, "password": {u1Pass}}, func(r *http.Request) {
				r.Header.Del("Origin")
				r.Header.Del("Sec-Fetch-Site")
				for k, v := range tt.header {
					r.Header.Set(k, v)
				}
			})
			assertErrorPage(t, r, http.StatusForbidden)
			if e.records() != before || b.sessionCookie() != sid {
				t.Error("a cross-site post changed the session")
			}
		})
	}
}
