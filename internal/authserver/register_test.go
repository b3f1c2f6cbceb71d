package authserver_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
)

func regBody(uris ...string) string {
	b, _ := json.Marshal(map[string]any{"redirect_uris": uris, "token_endpoint_auth_method": "none"})
	return string(b)
}

// TestRegisterRejects covers catalog §A rejections: 400 with the RFC 7591
// §3.2.2 error, Cache-Control: no-store, no client created (G-INV-1) and
// nothing leaked (G-INV-2).
func TestRegisterRejects(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"A-01 javascript", "application/json", regBody("javascript:alert(1)//"), 400, "invalid_redirect_uri"},
		{"A-02 data", "application/json", regBody("data:text/html,<script>alert(1)</script>"), 400, "invalid_redirect_uri"},
		{"A-02 vbscript", "application/json", regBody("vbscript:msgbox(1)"), 400, "invalid_redirect_uri"},
		{"A-02 file", "application/json", regBody("file:///etc/passwd"), 400, "invalid_redirect_uri"},
		{"A-02 blob", "application/json", regBody("blob:https://c1.example/x"), 400, "invalid_redirect_uri"},
		{"A-02 about", "application/json", regBody("about:blank"), 400, "invalid_redirect_uri"},
		{"A-03 plain http", "application/json", regBody("http://c1.example/cb"), 400, "invalid_redirect_uri"},
		{"A-05 fragment", "application/json", regBody("https://c1.example/cb#x"), 400, "invalid_redirect_uri"},
		{"A-06 wildcard host", "application/json", regBody("https://*.c1.example/cb"), 400, "invalid_redirect_uri"},
		{"A-06 wildcard path", "application/json", regBody("https://c1.example/*"), 400, "invalid_redirect_uri"},
		{"A-07 relative", "application/json", regBody("/cb"), 400, "invalid_redirect_uri"},
		{"A-07 scheme-relative", "application/json", regBody("//evil.example/cb"), 400, "invalid_redirect_uri"},
		{"A-07 bare", "application/json", regBody("cb"), 400, "invalid_redirect_uri"},
		{"A-08 userinfo", "application/json", regBody("https://c1.example@evil.example/cb"), 400, "invalid_redirect_uri"},
		{"A-09 localhost look-alike", "application/json", regBody("http://localhost.evil.example/cb"), 400, "invalid_redirect_uri"},
		{"A-09 127 look-alike", "application/json", regBody("http://127.0.0.1.nip.io/cb"), 400, "invalid_redirect_uri"},
		{"A-10 IDN not punycode", "application/json", regBody("https://аpple.example/cb"), 400, "invalid_redirect_uri"},
		{"A-12 missing redirect_uris", "application/json", `{}`, 400, "invalid_redirect_uri"},
		{"A-12 empty redirect_uris", "application/json", `{"redirect_uris":[]}`, 400, "invalid_redirect_uri"},
		{"A-13 too many URIs", "application/json", regBody(manyURIs(11)...), 400, "invalid_client_metadata"},
		// One 10 KB URI is refused as a bad redirect URI (RFC 7591 §3.2.2
		// names invalid_redirect_uri for any bad redirect URI).
		{"A-13 10KB URI", "application/json", regBody("https://c1.example/" + strings.Repeat("a", 10<<10)), 400, "invalid_redirect_uri"},
		{"A-13 long client_name", "application/json", `{"redirect_uris":["https://c1.example/cb"],"client_name":"` + strings.Repeat("n", 5000) + `"}`, 400, "invalid_client_metadata"},
		{"A-15 deep nesting", "application/json", `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, 413, "invalid_client_metadata"},
		{"A-15 deep nesting within limit", "application/json", `{"redirect_uris":["https://c1.example/cb"],"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`, 201, ""},
		{"A-16 redirect_uris string", "application/json", `{"redirect_uris":"https://c1.example/cb"}`, 400, "invalid_client_metadata"},
		{"A-16 redirect_uris number", "application/json", `{"redirect_uris":42}`, 400, "invalid_client_metadata"},
		{"A-16 redirect_uris null", "application/json", `{"redirect_uris":null}`, 400, "invalid_redirect_uri"},
		{"A-16 not an object", "application/json", `["https://c1.example/cb"]`, 400, "invalid_client_metadata"},
		{"A-16 form body", formType, "redirect_uris=https%3A%2F%2Fc1.example%2Fcb", 400, "invalid_client_metadata"},
		{"A-16 text body", "text/plain", regBody("https://c1.example/cb"), 400, "invalid_client_metadata"},
		{"A-16 no content type", "", regBody("https://c1.example/cb"), 400, "invalid_client_metadata"},
		{"A-16 truncated JSON", "application/json", `{"redirect_uris":["https://c1.example/cb"]`, 400, "invalid_client_metadata"},
		{"A-17 password grant", "application/json", `{"redirect_uris":["https://c1.example/cb"],"grant_types":["password"]}`, 400, "invalid_client_metadata"},
		{"A-17 implicit grant", "application/json", `{"redirect_uris":["https://c1.example/cb"],"grant_types":["implicit"]}`, 400, "invalid_client_metadata"},
		{"A-17 token response type", "application/json", `{"redirect_uris":["https://c1.example/cb"],"response_types":["token"]}`, 400, "invalid_client_metadata"},
		{"A-17 public client_credentials", "application/json", `{"redirect_uris":["https://c1.example/cb"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","client_credentials"]}`, 400, "invalid_client_metadata"},
		{"A-17 refresh only", "application/json", `{"redirect_uris":["https://c1.example/cb"],"grant_types":["refresh_token"]}`, 400, "invalid_client_metadata"},
		{"A-17 private_key_jwt", "application/json", `{"redirect_uris":["https://c1.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, 400, "invalid_client_metadata"},
		{"A-18 scope admin", "application/json", `{"redirect_uris":["https://c1.example/cb"],"scope":"crm:read admin"}`, 400, "invalid_client_metadata"},
		{"A-21 javascript logo_uri", "application/json", `{"redirect_uris":["https://c1.example/cb"],"logo_uri":"javascript:alert('XSS')"}`, 400, "invalid_client_metadata"},
		{"A-21 file client_uri", "application/json", `{"redirect_uris":["https://c1.example/cb"],"client_uri":"file://x"}`, 400, "invalid_client_metadata"},
		{"A-21 javascript policy_uri", "application/json", `{"redirect_uris":["https://c1.example/cb"],"policy_uri":"javascript:alert(1)"}`, 400, "invalid_client_metadata"},
		{"A-21 data tos_uri", "application/json", `{"redirect_uris":["https://c1.example/cb"],"tos_uri":"data:text/html,x"}`, 400, "invalid_client_metadata"},
		{"A-22 metadata IP logo_uri", "application/json", `{"redirect_uris":["https://c1.example/cb"],"logo_uri":"http://169.254.169.254/latest/meta-data/"}`, 400, "invalid_client_metadata"},
		{"A-22 jwks_uri", "application/json", `{"redirect_uris":["https://c1.example/cb"],"jwks_uri":"https://169.254.169.254/jwks"}`, 400, "invalid_client_metadata"},
		{"A-22 jwks", "application/json", `{"redirect_uris":["https://c1.example/cb"],"jwks":{"keys":[]}}`, 400, "invalid_client_metadata"},
		{"A-22 software_statement", "application/json", `{"redirect_uris":["https://c1.example/cb"],"software_statement":"e30.e30."}`, 400, "invalid_client_metadata"},
		{"A-22 sector_identifier_uri ignored, never fetched", "application/json", `{"redirect_uris":["https://c1.example/cb"],"sector_identifier_uri":"http://169.254.169.254/"}`, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.records()
			r := do(t, nil, newReq(t, http.MethodPost, e.url+"/register", tt.contentType, tt.body))
			assertNoStore(t, r)
			assertNoLeak(t, r)
			if tt.status == http.StatusCreated {
				if r.status != 201 || e.records() != before+1 {
					t.Fatalf("got %d %s, want 201 and one client", r.status, r.body)
				}
				return
			}
			assertOAuthError(t, r, tt.status, tt.code)
			if got := e.records(); got != before {
				t.Errorf("records %d -> %d: a rejected registration created state (G-INV-1)", before, got)
			}
		})
	}
}

func manyURIs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "https://c1.example/cb" + strings.Repeat("x", i)
	}
	return out
}

// TestRegisterAccepts covers A-04 (loopback), A-10 (punycode), A-11 (the
// native-scheme policy this server chose: reverse-domain schemes are
// allowed, see internal/redirecturi), and A-27 response hygiene.
func TestRegisterAccepts(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name string
		uri  string
	}{
		{"A-04 127.0.0.1", "http://127.0.0.1/cb"},
		{"A-04 [::1]", "http://[::1]/cb"},
		{"A-04 localhost", "http://localhost/cb"},
		{"A-10 punycode", "https://xn--pple-43d.example/cb"},
		{"A-11 reverse-domain native scheme (policy: allowed)", "com.example.app:/cb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, nil, newReq(t, http.MethodPost, e.url+"/register", "application/json", regBody(tt.uri)))
			if r.status != http.StatusCreated {
				t.Fatalf("got %d %s", r.status, r.body)
			}
			assertNoStore(t, r)
			m := r.json()
			if _, has := m["client_secret"]; has {
				t.Errorf("A-27: public client got a client_secret: %s", r.body)
			}
			if uris, _ := m["redirect_uris"].([]any); len(uris) != 1 || uris[0] != tt.uri {
				t.Errorf("redirect_uris echoed as %v", m["redirect_uris"])
			}
		})
	}
}

// TestRegisterSelfAsserted covers A-18 (self-asserted ids and privileges
// ignored, server-minted 128-bit client_id) and A-23 (unknown members
// neither stored nor echoed), A-19/A-20 (client_name cleaned, escaped on
// the consent page).
func TestRegisterSelfAsserted(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := `{"redirect_uris":["https://c1.example/cb"],"token_endpoint_auth_method":"none",
		"client_id":"chosen-id","client_secret":"chosen-secret","client_id_issued_at":1,
		"registration_access_token":"rat","skip_consent":true,"trusted":true,"tenant_id":"t2","foo":"bar-canary",
		"client_name":"Evil\u202e<img src=x onerror=alert(1)>\u200b"}`
	r := do(t, nil, newReq(t, http.MethodPost, e.url+"/register", "application/json", body))
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	m := r.json()
	id, _ := m["client_id"].(string)
	if id == "chosen-id" || len(id) != 22 { // 16 random bytes, base64url
		t.Errorf("client_id %q: must be server-minted with 128 bits", id)
	}
	for _, k := range []string{"client_secret", "registration_access_token", "skip_consent", "trusted", "tenant_id", "foo"} {
		if _, has := m[k]; has {
			t.Errorf("response echoes self-asserted %q: %s", k, r.body)
		}
	}
	if strings.Contains(r.body, "chosen") || strings.Contains(r.body, "bar-canary") {
		t.Errorf("response echoes attacker values: %s", r.body)
	}
	name, _ := m["client_name"].(string)
	if strings.ContainsAny(name, "\u202e\u200b") {
		t.Errorf("A-20: bidi/zero-width characters kept in %q", name)
	}
	// the consent page renders the name as text.
	c := client{id: id, redirect: "https://c1.example/cb"}
	page := e.browser().toConsent(authzParams(c, newPKCE(), ""), u1Email, u1Pass)
	if page.status != http.StatusOK {
		t.Fatalf("consent page: %d %s", page.status, page.body)
	}
	if strings.Contains(page.body, "<img src=x") || !strings.Contains(page.body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("A-19: client_name not escaped on the consent page:\n%s", page.body)
	}
	// B-68: client id, redirect host and "unverified" are shown.
	for _, want := range []string{id, "c1.example", "unverified"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("B-68: consent page lacks %q", want)
		}
	}
}

// TestRegisterBodyLimits covers A-14: an oversized body is refused with 413
// before parsing, with and without Content-Length.
func TestRegisterBodyLimits(t *testing.T) {
	e := newEnv(t, envOptions{})
	big := `{"redirect_uris":["https://c1.example/cb"],"client_name":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name    string
		chunked bool
	}{
		{"A-14 Content-Length", false},
		{"A-14 chunked", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.records()
			req := newReq(t, http.MethodPost, e.url+"/register", "application/json", "")
			if tt.chunked {
				req.Body = io.NopCloser(struct{ io.Reader }{bytes.NewReader([]byte(big))})
				req.ContentLength = -1
			} else {
				req.Body = io.NopCloser(strings.NewReader(big))
				req.ContentLength = int64(len(big))
			}
			r := do(t, nil, req)
			assertOAuthError(t, r, http.StatusRequestEntityTooLarge, "invalid_client_metadata")
			assertNoStore(t, r)
			if e.records() != before {
				t.Error("client created")
			}
		})
	}
}

// TestRegisterMethods covers A-28: RFC 7592 management verbs are not
// implemented.
func TestRegisterMethods(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(m, func(t *testing.T) {
			r := do(t, nil, newReq(t, m, e.url+"/register", "application/json", regBody("https://c1.example/cb")))
			if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
				t.Errorf("%s /register: %d Allow=%q", m, r.status, r.header.Get("Allow"))
			}
		})
	}
}

// TestClientTTL covers A-26: a dynamic registration unused for 90 days is
// gone: /authorize shows the unknown-client page, /token answers 401.
func TestClientTTL(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.publicClient("TTL", "https://c1.example/cb")
	e.clock.Advance(authserver.ClientTTL + time.Second)
	r := e.browser().authorize(authzParams(c, newPKCE(), ""))
	assertErrorPage(t, r, http.StatusBadRequest)
	tr := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {strings.Repeat("c", 43)}, "code_verifier": {newPKCE().verifier}, "client_id": {c.id}})
	assertOAuthError(t, tr, http.StatusUnauthorized, "invalid_client")
}

// TestClientKeptAliveByUse: a registration used now and then never expires;
// /token extends it at most once a day (the touch is throttled, since a
// 90-day expiry needs no finer update).
func TestClientKeptAliveByUse(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.publicClient("Alive", "https://c1.example/cb")
	for range 3 {
		e.clock.Advance(authserver.ClientTTL - 24*time.Hour)
		p := newPKCE()
		code := e.browser().code(c, p, "", u1Email, u1Pass)
		e.exchange(c, code, p)
	}
	// 267 days after registration the client still works...
	p := newPKCE()
	e.exchange(c, e.browser().code(c, p, "", u1Email, u1Pass), p)
	// ...and expires 90 days after its last use.
	e.clock.Advance(authserver.ClientTTL + time.Second)
	assertErrorPage(t, e.browser().authorize(authzParams(c, newPKCE(), "")), http.StatusBadRequest)
}
