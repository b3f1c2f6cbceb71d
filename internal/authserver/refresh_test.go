package authserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
	"github.com/crm-mcp/crm-mcp/internal/bearer"
	"github.com/crm-mcp/crm-mcp/internal/identity"
)

// TestRefreshRejects covers D-05, D-07, D-10 and malformed refresh
// requests, in strict mode (no grace) so that "nothing rotated" is
// provable: the presented token still refreshes afterwards, which it could
// not if the refused request had rotated it (G-INV-1).
func TestRefreshRejects(t *testing.T) {
	e := newEnv(t, envOptions{refreshGrace: -1})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	c2 := e.publicClient("C2", "https://c2.example/cb")
	conf := e.register(`{"redirect_uris":["https://c3.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`)

	tests := []struct {
		name   string
		form   func(tk tokens) url.Values
		mod    func(*http.Request)
		status int
		err    string
	}{
		{name: "D-05 other public client", form: func(tk tokens) url.Values { return refreshForm(c2, tk.refresh) }, status: 400, err: "invalid_grant"},
		{name: "D-05 other confidential client", form: func(tk tokens) url.Values {
			v := refreshForm(c1, tk.refresh)
			v.Del("client_id")
			return v
		}, mod: basicAuth(conf.id, conf.secret), status: 400, err: "invalid_grant"},
		{name: "D-07 scope escalation", form: func(tk tokens) url.Values {
			v := refreshForm(c1, tk.refresh)
			v.Set("scope", "crm:read crm:export")
			return v
		}, status: 400, err: "invalid_scope"},
		{name: "D-07 unknown scope", form: func(tk tokens) url.Values {
			v := refreshForm(c1, tk.refresh)
			v.Set("scope", "admin")
			return v
		}, status: 400, err: "invalid_scope"},
		{name: "D-10 access token as refresh token", form: func(tk tokens) url.Values { return refreshForm(c1, tk.access) }, status: 400, err: "invalid_grant"},
		{name: "unknown 43-char token", form: func(tk tokens) url.Values { return refreshForm(c1, strings.Repeat("r", 43)) }, status: 400, err: "invalid_grant"},
		{name: "token plus suffix", form: func(tk tokens) url.Values { return refreshForm(c1, tk.refresh+"x") }, status: 400, err: "invalid_grant"},
		{name: "refresh_token missing", form: func(tk tokens) url.Values { v := refreshForm(c1, tk.refresh); v.Del("refresh_token"); return v }, status: 400, err: "invalid_request"},
		{name: "refresh_token repeated", form: func(tk tokens) url.Values {
			v := refreshForm(c1, tk.refresh)
			v.Add("refresh_token", tk.refresh)
			return v
		}, status: 400, err: "invalid_request"},
		{name: "other resource", form: func(tk tokens) url.Values {
			v := refreshForm(c1, tk.refresh)
			v.Set("resource", "https://other.example/mcp")
			return v
		}, status: 400, err: "invalid_target"},
		{name: "client_id missing", form: func(tk tokens) url.Values { v := refreshForm(c1, tk.refresh); v.Del("client_id"); return v }, status: 401, err: "invalid_client"},
		{name: "public client with Basic", form: func(tk tokens) url.Values { v := refreshForm(c1, tk.refresh); v.Del("client_id"); return v },
			mod: basicAuth(c1.id, "x"), status: 401, err: "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := e.grant(c1, "crm:read crm:write")
			var mods []func(*http.Request)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			before := e.records()
			r := e.token(tt.form(tk), mods...)
			assertOAuthError(t, r, tt.status, tt.err)
			assertNoLeak(t, r, tk.refresh, tk.access, conf.secret)
			if got := e.records(); got != before {
				t.Errorf("records %d -> %d: the refused request changed state", before, got)
			}
			if e.accessRevoked(tk.access) {
				t.Error("the refused request revoked the family")
			}
			if r := e.token(refreshForm(c1, tk.refresh)); r.status != 200 {
				t.Errorf("the refused request rotated or revoked the refresh token: %d %s", r.status, r.body)
			}
		})
	}
}

// TestRefreshRotation covers D-01 (rotation), D-02 (reuse after the grace
// window revokes the family and its access tokens), D-12 (a retry within
// the grace window gets the same successor) and D-03 (same-second replay
// in strict mode).
func TestRefreshRotation(t *testing.T) {
	tests := []struct {
		name        string
		grace       time.Duration
		replayAfter time.Duration
		wantRetry   bool // the replay gets the same successor
	}{
		{"D-12 retry within the 30s grace window", 0, 10 * time.Second, true},
		{"D-02 reuse after the grace window", 0, authserver.DefaultRefreshGrace + time.Second, false},
		{"D-03 strict mode, same second", -1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{refreshGrace: tt.grace})
			c1 := e.publicClient("C1", "https://c1.example/cb")
			t0 := e.grant(c1, "crm:read")
			r := e.token(refreshForm(c1, t0.refresh))
			if r.status != 200 {
				t.Fatalf("refresh: %d %s", r.status, r.body)
			}
			t1 := r.tokens()
			if t1.refresh == t0.refresh || len(t1.refresh) != 43 || t1.access == t0.access {
				t.Fatalf("D-01: no rotation: %+v", t1)
			}
			e.clock.Advance(tt.replayAfter)
			replay := e.token(refreshForm(c1, t0.refresh))
			if tt.wantRetry {
				if replay.status != 200 || replay.tokens().refresh != t1.refresh {
					t.Fatalf("grace retry: %d, same successor %v", replay.status, replay.tokens().refresh == t1.refresh)
				}
				// The family is intact; the successor rotates normally.
				if r := e.token(refreshForm(c1, t1.refresh)); r.status != 200 {
					t.Errorf("successor after a grace retry: %d %s", r.status, r.body)
				}
				return
			}
			assertOAuthError(t, replay, 400, "invalid_grant")
			// The whole family is dead: the current token and every access
			// token issued from it (D-02).
			assertOAuthError(t, e.token(refreshForm(c1, t1.refresh)), 400, "invalid_grant")
			for _, at := range []string{t0.access, t1.access} {
				if !e.accessRevoked(at) {
					t.Error("access token of a reused family still valid")
				}
			}
		})
	}
}

// TestRefreshConcurrent covers D-04: 50 parallel refreshes of one token.
// Grace mode: all succeed with the same successor. Strict mode: exactly
// one rotation wins, the rest are reuse (invalid_grant) and revoke the
// family. Never a 5xx.
func TestRefreshConcurrent(t *testing.T) {
	tests := []struct {
		name   string
		grace  time.Duration
		strict bool
	}{
		{"grace", 0, false},
		{"strict", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{refreshGrace: tt.grace})
			c1 := e.publicClient("C1", "https://c1.example/cb")
			t0 := e.grant(c1, "")
			const n = 50
			results := make([]response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			body := refreshForm(c1, t0.refresh).Encode()
			for i := range n {
				wg.Go(func() {
					req := newReq(t, http.MethodPost, e.url+"/token", formType, body)
					<-start
					results[i] = do(t, nil, req)
				})
			}
			close(start)
			wg.Wait()
			ok, grant := 0, 0
			successors := map[string]bool{}
			for _, r := range results {
				switch {
				case r.status == 200:
					ok++
					successors[r.tokens().refresh] = true
				case r.status == 400 && r.errCode() == "invalid_grant":
					grant++
				default:
					t.Errorf("unexpected %d %s", r.status, r.body)
				}
			}
			if len(successors) > 1 {
				t.Errorf("%d different successors", len(successors))
			}
			if tt.strict {
				if ok != 1 || grant != n-1 {
					t.Errorf("strict: %d×200 %d×invalid_grant, want 1 and %d", ok, grant, n-1)
				}
				if !e.accessRevoked(t0.access) {
					t.Error("strict: reuse did not revoke the family")
				}
				return
			}
			if ok != n {
				t.Errorf("grace: %d×200 of %d", ok, n)
			}
		})
	}
}

// TestRefreshAbsoluteExpiry covers D-06: refresh tokens live 7 days from
// the code exchange, and rotation never extends that.
func TestRefreshAbsoluteExpiry(t *testing.T) {
	tests := []struct {
		name   string
		rotate bool          // rotate on day 6 first
		at     time.Duration // since the exchange
		ok     bool
	}{
		{"unrotated, just before 7d", false, authserver.RefreshTTL - time.Minute, true},
		{"unrotated, 7d+1s", false, authserver.RefreshTTL + time.Second, false},
		{"rotated on day 6, 7d+1s", true, authserver.RefreshTTL + time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			c1 := e.publicClient("C1", "https://c1.example/cb")
			tk := e.grant(c1, "")
			rt := tk.refresh
			elapsed := time.Duration(0)
			if tt.rotate {
				e.clock.Advance(6 * 24 * time.Hour)
				elapsed = 6 * 24 * time.Hour
				r := e.token(refreshForm(c1, rt))
				if r.status != 200 {
					t.Fatalf("day-6 refresh: %d %s", r.status, r.body)
				}
				rt = r.tokens().refresh
			}
			e.clock.Advance(tt.at - elapsed)
			r := e.token(refreshForm(c1, rt))
			if tt.ok {
				if r.status != 200 {
					t.Errorf("%d %s", r.status, r.body)
				}
				return
			}
			assertOAuthError(t, r, 400, "invalid_grant")
		})
	}
}

// TestRefreshScopeNarrowing: a subset scope is allowed for that response
// (RFC 6749 §6) and the family keeps its original grant.
func TestRefreshScopeNarrowing(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	tk := e.grant(c1, "crm:read crm:write")
	form := refreshForm(c1, tk.refresh)
	form.Set("scope", "crm:read")
	r := e.token(form)
	if r.status != 200 || r.tokens().scope != "crm:read" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = e.token(refreshForm(c1, r.tokens().refresh))
	if r.status != 200 || r.tokens().scope != "crm:read crm:write" {
		t.Errorf("family scope after narrowing: %d %s", r.status, r.body)
	}
}

// TestRefreshTokenIsNotABearer covers D-09 end to end: a refresh token sent
// to the resource server is 401 invalid_token.
func TestRefreshTokenIsNotABearer(t *testing.T) {
	e := newEnv(t, envOptions{})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	tk := e.grant(c1, "")
	rs := protectedResource(t, e)
	if status, chal := callResource(t, rs, tk.refresh); status != 401 || !strings.Contains(chal, `error="invalid_token"`) {
		t.Errorf("refresh token at the resource: %d %q", status, chal)
	}
	if status, _ := callResource(t, rs, tk.access); status != 200 {
		t.Errorf("access token at the resource: %d", status)
	}
}

// TestRefreshUserGone covers D-13: the user was removed; refresh fails and
// the family is revoked.
func TestRefreshUserGone(t *testing.T) {
	users := &removableUsers{Directory: testUsers()}
	e := newEnv(t, envOptions{users: users})
	c1 := e.publicClient("C1", "https://c1.example/cb")
	tk := e.grant(c1, "")
	users.remove("u1")
	assertOAuthError(t, e.token(refreshForm(c1, tk.refresh)), 400, "invalid_grant")
	if !e.accessRevoked(tk.access) {
		t.Error("family of a removed user not revoked")
	}
}

// removableUsers is an identity.Directory whose users can be removed.
type removableUsers struct {
	identity.Directory
	mu   sync.Mutex
	gone map[string]bool
}

func (u *removableUsers) remove(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.gone == nil {
		u.gone = map[string]bool{}
	}
	u.gone[id] = true
}

func (u *removableUsers) UserByID(ctx context.Context, tenantID, id string) (identity.User, error) {
	u.mu.Lock()
	gone := u.gone[id]
	u.mu.Unlock()
	if gone {
		return identity.User{}, identity.ErrNotFound
	}
	return u.Directory.UserByID(ctx, tenantID, id)
}

// protectedResource is /mcp as the app builds it: the bearer middleware with
// the same verifier and revocation store, in front of a handler that
// answers 200.
func protectedResource(t *testing.T, e *env) *httptest.Server {
	t.Helper()
	h := bearer.Middleware(bearer.Options{
		Verifier:            e.access,
		Revocations:         e.store,
		ResourceMetadataURL: e.issuer + "/.well-known/oauth-protected-resource/mcp",
		DefaultScope:        identity.ScopeRead,
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func callResource(t *testing.T, rs *httptest.Server, tok string) (int, string) {
	t.Helper()
	req := newReq(t, http.MethodPost, rs.URL+"/mcp", "application/json", `{}`)
	req.Header.Set("Authorization", "Bearer "+tok)
	r := do(t, nil, req)
	return r.status, r.header.Get("WWW-Authenticate")
}
