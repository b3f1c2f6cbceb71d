package loadbench

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// chain is one refresh-token family: the token rotates on every refresh,
// so one chain is used by one request at a time.
type chain struct {
	clientID string
	refresh  string
}

var hiddenInput = regexp.MustCompile(`name="(tx|csrf)" value="([^"]+)"`)

// oauthChain runs the real authorization-code flow once for a user
// (register a public client, /authorize, login form, consent form, /token
// with PKCE) and returns the refresh-token chain it yields. base is the
// server's public URL.
func oauthChain(base, email, password string) (*chain, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, u, ctype, body string) (*http.Response, string, error) {
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		if err != nil {
			return nil, "", err
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if method == http.MethodPost && ctype == "application/x-www-form-urlencoded" && !strings.HasSuffix(u, "/token") {
			req.Header.Set("Origin", base) // a same-origin browser form post
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}
	const redirect = "http://127.0.0.1:33418/callback"
	resp, body, err := do(http.MethodPost, base+"/register", "application/json",
		`{"redirect_uris":["`+redirect+`"],"token_endpoint_auth_method":"none","client_name":"crm-mcp bench","grant_types":["authorization_code","refresh_token"]}`)
	if err != nil {
		return nil, err
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(body), &reg) != nil || reg.ClientID == "" {
		return nil, fmt.Errorf("register: %d %.200s", resp.StatusCode, body)
	}
	vb := make([]byte, 32)
	_, _ = rand.Read(vb)
	verifier := base64.RawURLEncoding.EncodeToString(vb)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {reg.ClientID}, "redirect_uri": {redirect},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"state": {"lb"}, "resource": {base + "/mcp"}, "scope": {"crm:read crm:write"},
	}
	resp, body, err = do(http.MethodGet, base+"/authorize?"+q.Encode(), "", "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login?tx=") {
		if resp, body, err = do(http.MethodGet, base+resp.Header.Get("Location"), "", ""); err != nil {
			return nil, err
		}
		tx := hidden(body)["tx"]
		form := url.Values{"email": {email}, "password": {password}, "tx": {tx}}
		if resp, body, err = do(http.MethodPost, base+"/login", "application/x-www-form-urlencoded", form.Encode()); err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("login as %s: %d %.200s", email, resp.StatusCode, body)
		}
		if resp, body, err = do(http.MethodGet, base+resp.Header.Get("Location"), "", ""); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode == http.StatusOK {
		h := hidden(body)
		form := url.Values{"tx": {h["tx"]}, "csrf": {h["csrf"]}, "action": {"approve"}}
		if resp, body, err = do(http.MethodPost, base+"/consent", "application/x-www-form-urlencoded", form.Encode()); err != nil {
			return nil, err
		}
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return nil, fmt.Errorf("authorize as %s: %d %q %.200s", email, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "code_verifier": {verifier},
		"redirect_uri": {redirect}, "client_id": {reg.ClientID}}
	resp, body, err = do(http.MethodPost, base+"/token", "application/x-www-form-urlencoded", form.Encode())
	if err != nil {
		return nil, err
	}
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &tr) != nil || tr.RefreshToken == "" {
		return nil, fmt.Errorf("token: %d %.200s", resp.StatusCode, body)
	}
	return &chain{clientID: reg.ClientID, refresh: tr.RefreshToken}, nil
}

func hidden(page string) map[string]string {
	out := map[string]string{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}
