package scaleout_test

import (
	"context"
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
	"testing"
	"time"
)

const (
	demoEmail    = "alice@acme.example"
	demoPassword = "alice-demo-pass"
	instanceHdr  = "X-Crm-Mcp-Instance"
)

// client plays a browser and an OAuth client at once. Every request goes
// to the base URL pick returns for it (nginx, or one replica directly)
// with the Host of the public URL, as nginx would pass it; it keeps
// cookies (they ignore the port), never follows redirects, and records
// which instance answered each request.
type client struct {
	t         *testing.T
	public    *url.URL
	pick      func(step int) string
	ip        string // X-Forwarded-For: the client's address as a proxy reports it
	http      *http.Client
	step      int
	Instances []string // X-Crm-Mcp-Instance of every response, in order
}

func newClient(t *testing.T, publicURL, ip string, pick func(step int) string) *client {
	u, err := url.Parse(publicURL)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	return &client{t: t, public: u, pick: pick, ip: ip, http: &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type reply struct {
	status   int
	header   http.Header
	body     string
	instance string
}

// do sends one request; target is a path (with query) on the public URL.
func (c *client) do(ctx context.Context, method, target string, form url.Values, hdr map[string]string) reply {
	c.t.Helper()
	base := c.pick(c.step)
	c.step++
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, base+target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Host = c.public.Host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.public.Scheme+"://"+c.public.Host)
	}
	if c.ip != "" {
		req.Header.Set("X-Forwarded-For", c.ip)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s via %s: %v", method, target, base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r := reply{status: resp.StatusCode, header: resp.Header, body: string(b), instance: resp.Header.Get(instanceHdr)}
	c.Instances = append(c.Instances, r.instance)
	return r
}

func (c *client) postJSON(ctx context.Context, target, body string, hdr map[string]string) reply {
	c.t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range hdr {
		h[k] = v
	}
	base := c.pick(c.step)
	c.step++
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+target, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Host = c.public.Host
	if c.ip != "" {
		req.Header.Set("X-Forwarded-For", c.ip)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s via %s: %v", target, base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r := reply{status: resp.StatusCode, header: resp.Header, body: string(b), instance: resp.Header.Get(instanceHdr)}
	c.Instances = append(c.Instances, r.instance)
	return r
}

var hiddenInput = regexp.MustCompile(`name="(tx|csrf)" value="([^"]+)"`)

func hiddenInputs(page string) map[string]string {
	out := map[string]string{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

const redirectURI = "http://127.0.0.1:9/callback"

// register registers a public client (RFC 7591) and returns its id.
func (c *client) register(ctx context.Context) (string, reply) {
	c.t.Helper()
	r := c.postJSON(ctx, "/register", `{"redirect_uris":["`+redirectURI+`"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"scale-out e2e"}`, nil)
	var out struct {
		ClientID string `json:"client_id"`
	}
	_ = json.Unmarshal([]byte(r.body), &out)
	return out.ClientID, r
}

// authorize runs /authorize → /login → consent and returns the code and
// the PKCE verifier.
func (c *client) authorize(ctx context.Context, clientID string) (code, verifier string) {
	c.t.Helper()
	vb := make([]byte, 32)
	_, _ = rand.Read(vb)
	verifier = base64.RawURLEncoding.EncodeToString(vb)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		"resource":              {c.public.String() + "/mcp"},
		"scope":                 {"crm:read"},
		"state":                 {"st-1"},
	}
	r := c.do(ctx, http.MethodGet, "/authorize?"+q.Encode(), nil, nil)
	for range 8 {
		switch r.status {
		case http.StatusFound, http.StatusSeeOther:
			next, err := c.public.Parse(r.header.Get("Location"))
			if err != nil {
				c.t.Fatal(err)
			}
			if strings.HasPrefix(next.String(), redirectURI) {
				if next.Query().Get("state") != "st-1" || next.Query().Get("code") == "" {
					c.t.Fatalf("redirect back without code or state: %s", next)
				}
				return next.Query().Get("code"), verifier
			}
			if next.Path == "/login" {
				login := c.do(ctx, http.MethodGet, next.RequestURI(), nil, nil)
				tx := hiddenInputs(login.body)["tx"]
				if tx == "" {
					c.t.Fatalf("login page without tx: %d %.300s", login.status, login.body)
				}
				r = c.do(ctx, http.MethodPost, "/login", url.Values{"email": {demoEmail}, "password": {demoPassword}, "tx": {tx}}, nil)
				if r.status != http.StatusSeeOther {
					c.t.Fatalf("login: %d %.300s", r.status, r.body)
				}
				continue
			}
			r = c.do(ctx, http.MethodGet, next.RequestURI(), nil, nil)
		case http.StatusOK:
			h := hiddenInputs(r.body)
			if h["tx"] == "" || h["csrf"] == "" {
				c.t.Fatalf("expected the consent page: %.300s", r.body)
			}
			r = c.do(ctx, http.MethodPost, "/consent", url.Values{"tx": {h["tx"]}, "csrf": {h["csrf"]}, "action": {"approve"}}, nil)
		default:
			c.t.Fatalf("authorization: status %d %.300s", r.status, r.body)
		}
	}
	c.t.Fatal("authorization: too many hops")
	return "", ""
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// redeem exchanges a code (RFC 6749 §4.1.3 with RFC 7636).
func (c *client) redeem(ctx context.Context, clientID, code, verifier string) (tokens, reply) {
	c.t.Helper()
	r := c.do(ctx, http.MethodPost, "/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"client_id": {clientID}, "redirect_uri": {redirectURI}, "resource": {c.public.String() + "/mcp"},
	}, nil)
	var tk tokens
	_ = json.Unmarshal([]byte(r.body), &tk)
	return tk, r
}

// refresh rotates a refresh token.
func (c *client) refresh(ctx context.Context, clientID, rt string) (tokens, reply) {
	c.t.Helper()
	r := c.do(ctx, http.MethodPost, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}}, nil)
	var tk tokens
	_ = json.Unmarshal([]byte(r.body), &tk)
	return tk, r
}

// login runs the whole flow and returns the client id and tokens.
func (c *client) login(ctx context.Context) (string, tokens) {
	c.t.Helper()
	id, r := c.register(ctx)
	if r.status != http.StatusCreated || id == "" {
		c.t.Fatalf("register: %d %s", r.status, r.body)
	}
	code, verifier := c.authorize(ctx, id)
	tk, r := c.redeem(ctx, id, code, verifier)
	if r.status != http.StatusOK || tk.AccessToken == "" {
		c.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return id, tk
}

// callTool posts a tools/call with the access token and returns the
// status and the JSON-RPC result.
func (c *client) callTool(ctx context.Context, at, tool, args string) (reply, json.RawMessage) {
	c.t.Helper()
	r := c.postJSON(ctx, "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tool+`","arguments":`+args+`}}`, map[string]string{
		"Authorization":        "Bearer " + at,
		"Accept":               "application/json, text/event-stream",
		"MCP-Protocol-Version": "2025-06-18",
	})
	var rpc struct {
		Result json.RawMessage `json:"result"`
	}
	_ = json.Unmarshal([]byte(r.body), &rpc)
	return r, rpc.Result
}

// roundRobin picks bases[i % len] for request i.
func roundRobin(bases ...string) func(int) string {
	return func(i int) string { return bases[i%len(bases)] }
}

func distinct(ids []string) map[string]int {
	out := map[string]int{}
	for _, id := range ids {
		out[id]++
	}
	return out
}

func ip(n int) string { return fmt.Sprintf("198.51.100.%d", n) }
