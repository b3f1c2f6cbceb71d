package app_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// oauthClient plays an MCP client plus the user's browser.
type oauthClient struct {
	t        *testing.T
	ts       *testServer
	browser  *http.Client // cookie jar, does not follow redirects
	clientID string
	redirect string
	verifier string
}

func newOAuthClient(t *testing.T, ts *testServer) *oauthClient {
	jar, _ := cookiejar.New(nil)
	return &oauthClient{
		t: t, ts: ts,
		browser: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		redirect: "http://127.0.0.1:33418/callback",
		verifier: strings.Repeat("v", 43) + "erifier",
	}
}

func (c *oauthClient) challenge() string {
	sum := sha256.Sum256([]byte(c.verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (c *oauthClient) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.browser.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *oauthClient) get(u string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return c.do(req)
}

func (c *oauthClient) postForm(u string, form url.Values) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.ts.URL) // a same-origin browser form post
	return c.do(req)
}

func (c *oauthClient) register() {
	c.t.Helper()
	body := `{"redirect_uris":["` + c.redirect + `"],"token_endpoint_auth_method":"none","client_name":"Flow Test","grant_types":["authorization_code","refresh_token"]}`
	req, _ := http.NewRequest(http.MethodPost, c.ts.URL+"/register", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, b := c.do(req)
	if resp.StatusCode != http.StatusCreated {
		c.t.Fatalf("register: %d %s", resp.StatusCode, b)
	}
	var reg struct {
		ClientID string `json:"client_id"`
		Secret   string `json:"client_secret"`
	}
	_ = json.Unmarshal([]byte(b), &reg)
	if reg.ClientID == "" || reg.Secret != "" {
		c.t.Fatalf("register response %s", b)
	}
	c.clientID = reg.ClientID
}

var hiddenInput = regexp.MustCompile(`name="(tx|csrf)" value="([^"]+)"`)

func hidden(page string) map[string]string {
	out := map[string]string{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// authorize runs /authorize → login → consent and returns the code.
func (c *oauthClient) authorize(scope, email, password string) string {
	c.t.Helper()
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.clientID}, "redirect_uri": {c.redirect},
		"code_challenge": {c.challenge()}, "code_challenge_method": {"S256"}, "state": {"st-123"},
		"resource": {c.ts.URL + "/mcp"}, "scope": {scope},
	}
	resp, body := c.get(c.ts.URL + "/authorize?" + q.Encode())
	if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login?tx=") {
		resp, body = c.get(c.ts.URL + resp.Header.Get("Location"))
		tx := hidden(body)["tx"]
		if tx == "" {
			c.t.Fatalf("login page without tx: %s", body)
		}
		resp, body = c.postForm(c.ts.URL+"/login", url.Values{"email": {email}, "password": {password}, "tx": {tx}})
		if resp.StatusCode != http.StatusSeeOther {
			c.t.Fatalf("login: %d %s", resp.StatusCode, body)
		}
		resp, body = c.get(c.ts.URL + resp.Header.Get("Location"))
	}
	if resp.StatusCode == http.StatusOK {
		if !strings.Contains(body, "Flow Test") || !strings.Contains(body, "unverified") || !strings.Contains(body, "127.0.0.1:33418") {
			c.t.Errorf("consent page lacks client name, unverified mark or redirect host:\n%s", body)
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Frame-Options") != "DENY" {
			c.t.Errorf("consent page headers: %v", resp.Header)
		}
		h := hidden(body)
		resp, body = c.postForm(c.ts.URL+"/consent", url.Values{"tx": {h["tx"]}, "csrf": {h["csrf"]}, "action": {"approve"}})
	}
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		c.t.Fatalf("expected a redirect to the client, got %d %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), c.redirect) {
		c.t.Fatalf("redirect to %q", resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != "st-123" || loc.Query().Get("iss") != c.ts.URL {
		c.t.Errorf("redirect lacks state or iss: %s", loc)
	}
	if e := loc.Query().Get("error"); e != "" {
		c.t.Fatalf("authorization error %s: %s", e, loc.Query().Get("error_description"))
	}
	return loc.Query().Get("code")
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

func (c *oauthClient) token(form url.Values) (int, tokenResponse) {
	c.t.Helper()
	form.Set("client_id", c.clientID)
	req, _ := http.NewRequest(http.MethodPost, c.ts.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := c.do(req)
	var tr tokenResponse
	_ = json.Unmarshal([]byte(body), &tr)
	if resp.Header.Get("Cache-Control") != "no-store" {
		c.t.Errorf("token response Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, tr
}

// TestOAuthFlowEndToEnd: register → authorize → login → consent → token →
// /mcp → refresh (rotation, reuse revokes the family) → revoke.
func TestOAuthFlowEndToEnd(t *testing.T) {
	ts := startServer(t, nil)
	c := newOAuthClient(t, ts)

	// An anonymous /mcp request is challenged with the metadata URL.
	anon := ts.postRaw(t, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"MCP-Protocol-Version": "2025-06-18"})
	if anon.status != http.StatusUnauthorized || !strings.Contains(anon.header.Get("WWW-Authenticate"), `resource_metadata="`+ts.URL+`/.well-known/oauth-protected-resource/mcp"`) {
		t.Fatalf("anonymous /mcp: %d %q", anon.status, anon.header.Get("WWW-Authenticate"))
	}

	c.register()
	code := c.authorize("crm:read crm:write", "alice@acme.example", "alice-demo-pass")
	status, tr := c.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {c.verifier}, "redirect_uri": {c.redirect}})
	if status != http.StatusOK || tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 || tr.Scope != "crm:read crm:write" || tr.RefreshToken == "" {
		t.Fatalf("token: %d %+v", status, tr)
	}
	// C-02: the code is single use.
	if status, again := c.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {c.verifier}}); status != 400 || again.Error != "invalid_grant" {
		t.Errorf("code replay: %d %+v", status, again)
	}
	// An immediate replay by the same client is a duplicate of the
	// redemption (authserver.CodeReplayGrace): refused, but the tokens stay
	// good. Later replays revoke them (internal/authserver tests, C-02).
	if resp := ts.postAuth(t, tr.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); resp.status != http.StatusOK {
		t.Errorf("a duplicate redemption broke the first token: %d", resp.status)
	}

	// A fresh authorization: consent is remembered now, no page.
	code = c.authorize("crm:read", "", "")
	_, tr = c.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {c.verifier}})
	if tr.AccessToken == "" {
		t.Fatalf("second token: %+v", tr)
	}
	list := ts.postAuth(t, tr.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if list.status != http.StatusOK || !strings.Contains(string(list.body), `"echo"`) {
		t.Fatalf("tools/list with token: %d %s", list.status, list.body)
	}

	// D-01 rotation; D-02 reuse of the old refresh token revokes the family.
	status, r1 := c.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
	if status != 200 || r1.RefreshToken == "" || r1.RefreshToken == tr.RefreshToken {
		t.Fatalf("refresh: %d %+v", status, r1)
	}
	// Within the grace window a retry of the same token gets the same successor.
	status, retry := c.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
	if status != 200 || retry.RefreshToken != r1.RefreshToken {
		t.Fatalf("grace retry: %d %+v", status, retry)
	}
	if resp := ts.postAuth(t, r1.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); resp.status != 200 {
		t.Fatalf("refreshed access token: %d", resp.status)
	}

	// E-01: revoking the refresh token ends the family and its access tokens.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/revoke", strings.NewReader(url.Values{"token": {r1.RefreshToken}, "client_id": {c.clientID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, body := c.do(req); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	if resp := ts.postAuth(t, r1.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); resp.status != http.StatusUnauthorized {
		t.Errorf("access token of a revoked family still works: %d", resp.status)
	}
	if status, _ := c.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r1.RefreshToken}}); status != 400 {
		t.Errorf("revoked refresh token refreshed: %d", status)
	}
}

// TestScopeStepUp: a token without crm:write calling a write tool gets 403
// insufficient_scope naming the scopes to ask for.
func TestScopeStepUp(t *testing.T) {
	ts := startServer(t, nil)
	c := newOAuthClient(t, ts)
	c.register()
	code := c.authorize("crm:read", "alice@acme.example", "alice-demo-pass")
	_, tr := c.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {c.verifier}})
	resp := ts.postAuth(t, tr.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"count","arguments":{}}}`)
	chal := resp.header.Get("WWW-Authenticate")
	if resp.status != http.StatusForbidden || !strings.Contains(chal, `error="insufficient_scope"`) || !strings.Contains(chal, `scope="crm:read crm:write"`) {
		t.Fatalf("status %d challenge %q", resp.status, chal)
	}
	if ts.calls.Load() != 0 {
		t.Error("the tool ran without its scope")
	}
	if resp := ts.postAuth(t, tr.AccessToken, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`); resp.status != 200 {
		t.Errorf("read tool with crm:read: %d %s", resp.status, resp.body)
	}
}
