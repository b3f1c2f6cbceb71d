package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tsSummary is what e2e/node/oauth-client.mjs prints.
type tsSummary struct {
	SDKVersion string `json:"sdkVersion"`
	Requests   []struct {
		Method    string `json:"method"`
		Path      string `json:"path"`
		Status    int    `json:"status"`
		GrantType string `json:"grantType"`
	} `json:"requests"`
	Browser   []map[string]any `json:"browser"`
	Discovery *struct {
		AuthorizationServerURL       string   `json:"authorizationServerUrl"`
		ResourceMetadataURL          string   `json:"resourceMetadataUrl"`
		Resource                     string   `json:"resource"`
		ResourceAuthorizationServers []string `json:"resourceAuthorizationServers"`
		Issuer                       string   `json:"issuer"`
		AuthorizationEndpoint        string   `json:"authorizationEndpoint"`
		TokenEndpoint                string   `json:"tokenEndpoint"`
		RegistrationEndpoint         string   `json:"registrationEndpoint"`
	} `json:"discovery"`
	Registration *struct {
		ClientID                string   `json:"client_id"`
		HasClientSecret         bool     `json:"has_client_secret"`
		TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
		RedirectURIs            []string `json:"redirect_uris"`
	} `json:"registration"`
	AuthorizationRequest *struct {
		Endpoint            string `json:"endpoint"`
		ResponseType        string `json:"response_type"`
		ClientID            string `json:"client_id"`
		CodeChallengeMethod string `json:"code_challenge_method"`
		HasCodeChallenge    bool   `json:"has_code_challenge"`
		HasState            bool   `json:"has_state"`
		Resource            string `json:"resource"`
		Scope               string `json:"scope"`
		Iss                 string `json:"iss"`
	} `json:"authorizationRequest"`
	Redirects  int `json:"redirects"`
	TokenSaves []struct {
		HasAccess  bool   `json:"hasAccess"`
		HasRefresh bool   `json:"hasRefresh"`
		TokenType  string `json:"tokenType"`
		Scope      string `json:"scope"`
		ExpiresIn  int    `json:"expiresIn"`
	} `json:"tokenSaves"`
	Server *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"server"`
	ToolLists [][]string `json:"toolLists"`
	Refresh   *struct {
		AccessTokenChanged  bool     `json:"accessTokenChanged"`
		RefreshTokenRotated bool     `json:"refreshTokenRotated"`
		TokenRequests       []string `json:"tokenRequests"`
	} `json:"refresh"`
	Error string `json:"error"`
}

// TestTypeScriptSDKClient runs the official TypeScript SDK client
// (e2e/node/oauth-client.mjs) through discovery, dynamic registration, the
// authorization code flow with PKCE, tools/list, a forced refresh and
// tools/list again.
func TestTypeScriptSDKClient(t *testing.T) {
	node, dir := nodeTools(t, "oauth-client.mjs", filepath.Join("node_modules", "@modelcontextprotocol", "sdk", "package.json"))
	s := startServer(t)

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "oauth-client.mjs"), s.MCPURL)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OAUTH_E2E_EMAIL="+demoEmail, "OAUTH_E2E_PASSWORD="+demoPassword, "NO_COLOR=1")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("oauth-client.mjs did not finish within 90s\nstderr:\n%s", stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var sum tsSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("no JSON summary (%v; run: %v)\nstdout:\n%s\nstderr:\n%s", err, runErr, stdout.String(), stderr.String())
	}
	t.Logf("summary: %s", lines[len(lines)-1])
	if runErr != nil || sum.Error != "" {
		t.Fatalf("oauth-client.mjs failed: %v: %s\nstderr:\n%s", runErr, sum.Error, stderr.String())
	}

	if !strings.HasPrefix(sum.SDKVersion, "1.") {
		t.Errorf("SDK version %q, want the pinned 1.x", sum.SDKVersion)
	}

	// Discovery used our metadata: the RFC 9728 document named by the 401's
	// WWW-Authenticate, then the RFC 8414 document of the issuer it names.
	d := sum.Discovery
	if d == nil {
		t.Fatal("the SDK saved no discovery state")
	}
	if d.ResourceMetadataURL != s.URL+"/.well-known/oauth-protected-resource/mcp" {
		t.Errorf("resource metadata URL %q, want the one from WWW-Authenticate", d.ResourceMetadataURL)
	}
	if d.Resource != s.MCPURL || !slices.Equal(d.ResourceAuthorizationServers, []string{s.URL}) {
		t.Errorf("protected resource metadata: resource %q, authorization_servers %q", d.Resource, d.ResourceAuthorizationServers)
	}
	if strings.TrimSuffix(d.AuthorizationServerURL, "/") != s.URL || d.Issuer != s.URL {
		t.Errorf("authorization server %q, issuer %q, want %q", d.AuthorizationServerURL, d.Issuer, s.URL)
	}
	if d.AuthorizationEndpoint != s.URL+"/authorize" || d.TokenEndpoint != s.URL+"/token" || d.RegistrationEndpoint != s.URL+"/register" {
		t.Errorf("endpoints: %q %q %q", d.AuthorizationEndpoint, d.TokenEndpoint, d.RegistrationEndpoint)
	}
	var seq []string
	for _, r := range sum.Requests {
		seq = append(seq, r.Method+" "+r.Path+" "+itoa(r.Status))
	}
	t.Logf("SDK requests: %q", seq)
	t.Logf("browser hops: %v", sum.Browser)
	for _, want := range []string{
		"POST /mcp 401",
		"GET /.well-known/oauth-protected-resource/mcp 200",
		"GET /.well-known/oauth-authorization-server 200",
		"POST /register 201",
		"POST /token 200",
		"POST /mcp 200",
	} {
		if !slices.Contains(seq, want) {
			t.Errorf("the SDK never sent %q", want)
		}
	}
	if i, j := slices.Index(seq, "GET /.well-known/oauth-protected-resource/mcp 200"), slices.Index(seq, "GET /.well-known/oauth-authorization-server 200"); i < 0 || j < i {
		t.Errorf("RFC 9728 discovery should precede RFC 8414 discovery: %q", seq)
	}

	// Dynamic registration happened, as a public client.
	reg := sum.Registration
	if reg == nil || reg.ClientID == "" {
		t.Fatal("no dynamic registration")
	}
	if reg.HasClientSecret || reg.TokenEndpointAuthMethod != "none" {
		t.Errorf("registration: secret %v, auth method %q", reg.HasClientSecret, reg.TokenEndpointAuthMethod)
	}

	// One authorization request, with PKCE S256, the resource indicator and
	// the registered client; the redirect carried iss (RFC 9207).
	ar := sum.AuthorizationRequest
	if sum.Redirects != 1 || ar == nil {
		t.Fatalf("redirectToAuthorization called %d times, want 1", sum.Redirects)
	}
	if ar.Endpoint != s.URL+"/authorize" || ar.ResponseType != "code" || ar.ClientID != reg.ClientID ||
		ar.CodeChallengeMethod != "S256" || !ar.HasCodeChallenge || !ar.HasState || ar.Resource != s.MCPURL {
		t.Errorf("authorization request: %+v", *ar)
	}
	if ar.Iss != s.URL {
		t.Errorf("iss in the redirect %q, want %q", ar.Iss, s.URL)
	}

	// Tokens obtained twice: by the code, then by the refresh.
	if len(sum.TokenSaves) != 2 {
		t.Fatalf("tokens saved %d times, want 2 (code, refresh)", len(sum.TokenSaves))
	}
	for i, tok := range sum.TokenSaves {
		if !tok.HasAccess || !tok.HasRefresh || !strings.EqualFold(tok.TokenType, "bearer") || tok.ExpiresIn <= 0 {
			t.Errorf("token save %d: %+v", i, tok)
		}
	}

	// Tools listed twice, the second time after the refresh.
	if len(sum.ToolLists) != 2 {
		t.Fatalf("tools/list ran %d times, want 2", len(sum.ToolLists))
	}
	for i, names := range sum.ToolLists {
		if !slices.Contains(names, pingTool) {
			t.Errorf("tools/list %d: %q lacks %q", i, names, pingTool)
		}
	}
	if sum.Server == nil || sum.Server.Name != "crm-mcp" {
		t.Errorf("server info %+v", sum.Server)
	}

	// The refresh happened: new access token, rotated refresh token.
	rf := sum.Refresh
	if rf == nil || !rf.AccessTokenChanged || !rf.RefreshTokenRotated {
		t.Errorf("refresh: %+v", rf)
	}
	if rf != nil && !slices.Equal(rf.TokenRequests, []string{"authorization_code:200", "refresh_token:200"}) {
		t.Errorf("token requests %q, want a code exchange then a refresh", rf.TokenRequests)
	}

	// The server saw the same.
	ev := s.auditEvents()
	for name, want := range map[string]int{"client_registered": 1, "login": 1, "consent_granted": 1, "token_issued": 1, "token_refreshed": 1} {
		if ev[name] != want {
			t.Errorf("server audit %q: %d, want %d (all: %v)", name, ev[name], want, ev)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
