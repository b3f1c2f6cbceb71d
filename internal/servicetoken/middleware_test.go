package servicetoken_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

// echoTenant is a stand-in CRM API handler: it answers with the tenant and
// user from the context, or fails the test if called without them.
func echoTenant(t *testing.T, called *bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*called = true
		c, ok := servicetoken.FromContext(r.Context())
		if !ok {
			t.Error("next called without claims")
			return
		}
		io.WriteString(w, c.TenantID+"/"+c.Subject)
	})
}

func TestMiddleware(t *testing.T) {
	clk := newClock(t0)
	keys := mustKeys(t, keyA())
	var logs bytes.Buffer
	v, err := servicetoken.NewVerifier(servicetoken.VerifierOptions{
		Issuer: issuer, Keys: keys, Now: clk.Now,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := newMinter(t, keys, clk, servicetoken.MinterOptions{})
	good := mint(t, m, servicetoken.Subject{UserID: "u1", TenantID: "t1"})
	expired := good // checked 200 s later, below
	accessToken := rs256(edit(goodHeader(keyA().ID), "typ", "at+jwt"), goodClaims())

	tests := []struct {
		name     string
		header   []string // Authorization values
		target   string
		at       time.Duration
		wantBody string // empty: 401
	}{
		{name: "valid", header: []string{"Bearer " + good}, wantBody: "t1/u1"},
		{name: "scheme lower case", header: []string{"bearer " + good}, wantBody: "t1/u1"},
		{name: "tenant in query and header is ignored", header: []string{"Bearer " + good}, target: "/?tenant=t2&tenant_id=t2", wantBody: "t1/u1"},
		{name: "no Authorization"},
		{name: "token in the query only", target: "/?access_token=" + good},
		{name: "Basic", header: []string{"Basic dTE6cHc="}},
		{name: "Bearer without token", header: []string{"Bearer"}},
		{name: "Bearer with empty token", header: []string{"Bearer "}},
		{name: "two tokens", header: []string{"Bearer " + good + " " + good}},
		{name: "two Authorization headers", header: []string{"Bearer " + good, "Bearer " + good}},
		{name: "raw token without scheme", header: []string{good}},
		{name: "access token typ", header: []string{"Bearer " + accessToken}},
		{name: "garbage", header: []string{"Bearer abc.def.ghi"}},
		{name: "expired", header: []string{"Bearer " + expired}, at: 200 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0.Add(tt.at))
			v := v
			if tt.at != 0 {
				var err error
				v, err = servicetoken.NewVerifier(servicetoken.VerifierOptions{Issuer: issuer, Keys: keys, Now: clk.Now})
				if err != nil {
					t.Fatal(err)
				}
			}
			target := tt.target
			if target == "" {
				target = "/"
			}
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("X-Tenant-ID", "t2")
			for _, h := range tt.header {
				req.Header.Add("Authorization", h)
			}
			rec := httptest.NewRecorder()
			var called bool
			servicetoken.Middleware(v, echoTenant(t, &called)).ServeHTTP(rec, req)
			if tt.wantBody != "" {
				if rec.Code != http.StatusOK || rec.Body.String() != tt.wantBody {
					t.Fatalf("got %d %q, want 200 %q", rec.Code, rec.Body, tt.wantBody)
				}
				return
			}
			assertUnauthorized(t, rec)
			if called {
				t.Error("next was called")
			}
		})
	}
	if strings.Contains(logs.String(), good) || strings.Contains(logs.String(), "Bearer") {
		t.Errorf("logs contain a token: %s", logs.String())
	}
}

func assertUnauthorized(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", rec.Code)
	}
	if got := rec.Body.String(); got != `{"error":"unauthorized"}` {
		t.Errorf("body = %q, want exactly {\"error\":\"unauthorized\"}", got)
	}
	for name, want := range map[string]string{
		"Content-Type": "application/json", "Cache-Control": "no-store", "WWW-Authenticate": "Bearer",
	} {
		if got := rec.Header().Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// TestMiddlewareKeysUnavailable: a JWKS outage is a 401 like any other to
// the caller (no detail), but is logged as its own class.
func TestMiddlewareKeysUnavailable(t *testing.T) {
	clk := newClock(t0)
	srv := newJWKSServer(t, nil)
	srv.set(nil, http.StatusBadGateway)
	var logs bytes.Buffer
	v := jwksVerifier(t, srv.URL, clk, servicetoken.VerifierOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	tok := mint(t, newMinter(t, mustKeys(t, keyA()), clk, servicetoken.MinterOptions{}), servicetoken.Subject{UserID: "u1", TenantID: "t1"})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	var called bool
	servicetoken.Middleware(v, echoTenant(t, &called)).ServeHTTP(rec, req)
	assertUnauthorized(t, rec)
	out := logs.String()
	if !strings.Contains(out, `"class":"keys_unavailable"`) || !strings.Contains(out, `"level":"WARN"`) {
		t.Errorf("outage not logged as keys_unavailable: %s", out)
	}
	if strings.Contains(out, tok) || strings.Contains(out, srv.URL) || strings.Contains(out, "502") {
		t.Errorf("logs leak the token or upstream detail: %s", out)
	}
}

func TestFromContext(t *testing.T) {
	if _, ok := servicetoken.FromContext(context.Background()); ok {
		t.Error("empty context has claims")
	}
}
