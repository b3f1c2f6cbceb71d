package oauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
)

// recorder is an http.RoundTripper that records what a client sent.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []string // "POST /token 200 grant=authorization_code"
	mcp  []string // the Authorization header of each POST /mcp
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var grant string
	if req.URL.Path == "/token" && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			data, _ := io.ReadAll(io.LimitReader(body, 1<<16))
			body.Close()
			if form, err := url.ParseQuery(string(data)); err == nil {
				grant = form.Get("grant_type")
			}
		}
	}
	authz := req.Header.Get("Authorization")
	resp, err := r.next.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.log = append(r.log, fmt.Sprintf("%s %s error", req.Method, req.URL.Path))
		return nil, err
	}
	line := fmt.Sprintf("%s %s %d", req.Method, req.URL.Path, resp.StatusCode)
	if grant != "" {
		line += " grant=" + grant
	}
	r.log = append(r.log, line)
	if req.Method == http.MethodPost && req.URL.Path == "/mcp" {
		r.mcp = append(r.mcp, authz)
	}
	return resp, nil
}

func (r *recorder) snapshot() (log, mcpAuth []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log), slices.Clone(r.mcp)
}

// refreshingSource is the token source the go-sdk handler uses (installed
// through NewTokenSource). It serves the current token until forceRefresh,
// then refreshes through golang.org/x/oauth2: the current token, marked
// expired, is handed to oauth2.Config.TokenSource, which redeems its refresh
// token at the token endpoint.
type refreshingSource struct {
	ctx context.Context // carries the handler's HTTP client
	cfg *oauth2.Config

	mu        sync.Mutex
	cur       *oauth2.Token
	force     bool
	refreshes []*oauth2.Token // tokens obtained by refreshing
}

func (s *refreshingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.force {
		expired := *s.cur
		expired.Expiry = time.Now().Add(-time.Hour)
		tok, err := s.cfg.TokenSource(s.ctx, &expired).Token()
		if err != nil {
			return nil, fmt.Errorf("refresh: %w", err)
		}
		s.force = false
		s.cur = tok
		s.refreshes = append(s.refreshes, tok)
	}
	return s.cur, nil
}

func (s *refreshingSource) forceRefresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.force = true
}

// TestGoSDKClient runs go-sdk's client-side OAuth (auth.AuthorizationCodeHandler
// on mcp.StreamableClientTransport): RFC 9728 discovery from the 401's
// WWW-Authenticate, RFC 8414, dynamic registration, the authorization code
// flow with PKCE (the browser part played headlessly), token, tools/list,
// then a refresh through oauth2.TokenSource and tools/list again.
func TestGoSDKClient(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	rec := &recorder{next: http.DefaultTransport}
	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: loopbackOnly{rec}}
	const redirectURI = "http://127.0.0.1:33420/callback" // never listened on
	b := newBrowser(s.URL)

	var (
		fetches  int
		authURLs []*url.URL
		source   *refreshingSource
	)
	handler, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				ClientName:              "crm-mcp e2e (go-sdk)",
				RedirectURIs:            []string{redirectURI},
				TokenEndpointAuthMethod: "none",
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
			},
		},
		Client: httpClient,
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			fetches++
			u, err := url.Parse(args.URL)
			if err != nil {
				return nil, err
			}
			authURLs = append(authURLs, u)
			back, err := b.authorize(ctx, args.URL, demoEmail, demoPassword)
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(back.String(), redirectURI+"?") {
				return nil, fmt.Errorf("redirected to %s, want %s", back, redirectURI)
			}
			q := back.Query()
			if e := q.Get("error"); e != "" {
				return nil, fmt.Errorf("authorization refused: %s %s", e, q.Get("error_description"))
			}
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
		NewTokenSource: func(ctx context.Context, cfg *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
			source = &refreshingSource{ctx: ctx, cfg: cfg, cur: tok}
			return source, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	transport := func() *mcp.StreamableClientTransport {
		return &mcp.StreamableClientTransport{
			Endpoint:     s.MCPURL,
			HTTPClient:   httpClient,
			OAuthHandler: handler,
			MaxRetries:   -1,
		}
	}
	connect := func() *mcp.ClientSession {
		t.Helper()
		client := mcp.NewClient(&mcp.Implementation{Name: "crm-mcp-e2e-go", Version: "1.0.0"}, nil)
		cs, err := client.Connect(ctx, transport(), nil)
		if err != nil {
			log, _ := rec.snapshot()
			t.Fatalf("connect: %v\nrequests: %q\nbrowser: %q", err, log, b.hops)
		}
		t.Cleanup(func() { _ = cs.Close() })
		if got := cs.InitializeResult().ServerInfo.Name; got != "crm-mcp" {
			t.Errorf("server name %q", got)
		}
		return cs
	}
	cs := connect()

	listTools := func(cs *mcp.ClientSession) []string {
		t.Helper()
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			log, _ := rec.snapshot()
			t.Fatalf("tools/list: %v\nrequests: %q", err, log)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
		}
		return names
	}
	if names := listTools(cs); !slices.Contains(names, pingTool) {
		t.Errorf("first tools/list %q lacks %q", names, pingTool)
	}
	if source == nil {
		t.Fatal("the handler never built a token source")
	}
	first, err := source.Token()
	if err != nil {
		t.Fatal(err)
	}
	if first.RefreshToken == "" || !strings.EqualFold(first.Type(), "Bearer") || first.Expiry.IsZero() {
		t.Errorf("first token: type %q, refresh token %v, expiry %v", first.Type(), first.RefreshToken != "", first.Expiry)
	}

	// Refresh, then use the refreshed token on the same session (tools/call:
	// go-sdk serves a repeated tools/list from its TTL cache, SEP-2549) and
	// list the tools again on a new session, which shares the handler and so
	// the token source: no new authorization.
	source.forceRefresh()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: pingTool, Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("tools/call after refresh: %v %+v", err, res)
	}
	cs2 := connect()
	if names := listTools(cs2); !slices.Contains(names, pingTool) {
		t.Errorf("second tools/list %q lacks %q", names, pingTool)
	}
	if len(source.refreshes) != 1 {
		t.Fatalf("refreshed %d times, want 1", len(source.refreshes))
	}
	second := source.refreshes[0]
	if second.AccessToken == first.AccessToken || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Errorf("refresh did not rotate: access changed %v, refresh rotated %v",
			second.AccessToken != first.AccessToken, second.RefreshToken != "" && second.RefreshToken != first.RefreshToken)
	}

	log, mcpAuth := rec.snapshot()
	t.Logf("client requests: %q", log)
	t.Logf("browser hops: %q", b.hops)

	// Discovery: the 401 first, then RFC 9728 at the URL the challenge named,
	// then RFC 8414, then registration and the code exchange.
	want := []string{
		"POST /mcp 401",
		"GET /.well-known/oauth-protected-resource/mcp 200",
		"GET /.well-known/oauth-authorization-server 200",
		"POST /register 201",
		"POST /token 200 grant=authorization_code",
	}
	if len(log) < len(want) || !slices.Equal(log[:len(want)], want) {
		t.Errorf("flow started %q, want %q", log, want)
	}
	if n := count(log, "POST /token 200 grant=refresh_token"); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
	if fetches != 1 || len(authURLs) != 1 {
		t.Fatalf("authorization ran %d times, want 1", fetches)
	}
	q := authURLs[0].Query()
	if authURLs[0].Path != "/authorize" || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("resource") != s.MCPURL || q.Get("client_id") == "" {
		t.Errorf("authorization request %s", authURLs[0])
	}
	if q.Get("scope") != "crm:read" {
		t.Errorf("scope %q, want crm:read from the WWW-Authenticate challenge", q.Get("scope"))
	}

	// The MCP requests carried the first access token, then the refreshed one.
	var bearers []string
	for _, a := range mcpAuth {
		if tok, ok := strings.CutPrefix(a, "Bearer "); ok && (len(bearers) == 0 || bearers[len(bearers)-1] != tok) {
			bearers = append(bearers, tok)
		}
	}
	if !slices.Equal(bearers, []string{first.AccessToken, second.AccessToken}) {
		t.Errorf("MCP requests used %d distinct access tokens in turn, want the first then the refreshed one", len(bearers))
	}

	ev := s.auditEvents()
	for name, want := range map[string]int{"client_registered": 1, "login": 1, "consent_granted": 1, "token_issued": 1, "token_refreshed": 1} {
		if ev[name] != want {
			t.Errorf("server audit %q: %d, want %d (all: %v)", name, ev[name], want, ev)
		}
	}
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}
