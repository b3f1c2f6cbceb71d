package bearer_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/bearer"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

const rm = "http://localhost:8080/.well-known/oauth-protected-resource/mcp"

// denylist is a hand-written fake of the revocation store.
type denylist struct {
	jtis, families map[string]bool
	err            error
}

func (d *denylist) AccessRevoked(_ context.Context, jti, fid string) (bool, error) {
	return d.jtis[jti] || d.families[fid], d.err
}

func setup(t *testing.T) (*token.AccessIssuer, *denylist, http.Handler, *tenant.Principal) {
	t.Helper()
	ring, err := token.NewKeyRing(token.Key{ID: "k", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: "http://localhost:8080", Audience: "http://localhost:8080/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	dl := &denylist{jtis: map[string]bool{}, families: map[string]bool{}}
	seen := new(tenant.Principal)
	h := bearer.Middleware(bearer.Options{Verifier: iss, Revocations: dl, ResourceMetadataURL: rm, DefaultScope: "crm:read"},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := tenant.FromContext(r.Context())
			if !ok {
				t.Error("handler reached without a principal")
			}
			*seen = p
			w.WriteHeader(http.StatusOK)
		}))
	return iss, dl, h, seen
}

func TestMiddleware(t *testing.T) {
	iss, dl, h, seen := setup(t)
	good, claims, err := iss.Mint(token.AccessClaims{Subject: "u1", TenantID: "t1", Email: "a@x", Scopes: []string{"crm:read"}, ClientID: "c1", FamilyID: "f1"})
	if err != nil {
		t.Fatal(err)
	}
	revokedJTI, rc, _ := iss.Mint(token.AccessClaims{Subject: "u1", TenantID: "t1", ClientID: "c1", FamilyID: "f2"})
	dl.jtis[rc.JTI] = true
	revokedFam, _, _ := iss.Mint(token.AccessClaims{Subject: "u1", TenantID: "t1", ClientID: "c1", FamilyID: "dead"})
	dl.families["dead"] = true

	tests := []struct {
		name       string
		auth       []string
		query      string
		wantStatus int
		wantChal   string // substring of WWW-Authenticate; "" = none expected
	}{
		{"G-01 no credentials", nil, "", 401, `Bearer resource_metadata="` + rm + `", scope="crm:read"`},
		{"valid", []string{"Bearer " + good}, "", 200, ""},
		{"G-03 lower-case scheme", []string{"bearer " + good}, "", 200, ""},
		{"G-03 upper-case scheme", []string{"BEARER " + good}, "", 200, ""},
		{"G-02 empty bearer", []string{"Bearer "}, "", 400, `error="invalid_request"`},
		{"G-02 bare scheme", []string{"Bearer"}, "", 400, `error="invalid_request"`},
		{"G-02 two tokens", []string{"Bearer a b"}, "", 400, `error="invalid_request"`},
		{"G-02 basic scheme", []string{"Basic dXNlcjpwdw=="}, "", 401, `resource_metadata=`},
		{"two Authorization headers", []string{"Bearer " + good, "Bearer " + good}, "", 400, `error="invalid_request"`},
		{"G-04 query token alone is ignored", nil, "access_token=" + good, 401, `resource_metadata=`},
		{"G-04 header and query", []string{"Bearer " + good}, "access_token=" + good, 400, `error="invalid_request"`},
		{"garbage token", []string{"Bearer not.a.jwt"}, "", 401, `error="invalid_token"`},
		{"G-23 revoked jti", []string{"Bearer " + revokedJTI}, "", 401, `error="invalid_token"`},
		{"D-02 revoked family", []string{"Bearer " + revokedFam}, "", 401, `error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*seen = tenant.Principal{}
			req := httptest.NewRequest(http.MethodPost, "/mcp?"+tt.query, nil)
			for _, a := range tt.auth {
				req.Header.Add("Authorization", a)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			chal := rec.Header().Get("WWW-Authenticate")
			if tt.wantChal != "" && !strings.Contains(chal, tt.wantChal) {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", chal, tt.wantChal)
			}
			if tt.name == "G-01 no credentials" && strings.Contains(chal, "error=") {
				t.Errorf("anonymous challenge carries an error: %q", chal)
			}
			if tt.wantStatus != 200 && seen.UserID != "" {
				t.Error("handler ran for a refused request")
			}
			if strings.Contains(rec.Body.String(), good) {
				t.Error("response echoes the token")
			}
		})
	}
	// The principal is exactly what the token says.
	req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if seen.TenantID != "t1" || seen.UserID != "u1" || seen.Email != "a@x" || seen.ClientID != "c1" || seen.TokenID != claims.JTI || !seen.HasScopes("crm:read") {
		t.Errorf("principal = %+v", *seen)
	}
}

// TestRevocationStoreDownFailsClosed: G-24: if the denylist cannot be read,
// the request is refused with 503, never let through.
func TestRevocationStoreDownFailsClosed(t *testing.T) {
	iss, dl, h, seen := setup(t)
	good, _, _ := iss.Mint(token.AccessClaims{Subject: "u1", TenantID: "t1", ClientID: "c1"})
	dl.err = errors.New("redis: connection refused")
	req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || seen.UserID != "" {
		t.Errorf("status %d Retry-After %q, handler ran %v", rec.Code, rec.Header().Get("Retry-After"), seen.UserID != "")
	}
	if strings.Contains(rec.Body.String(), "redis") {
		t.Errorf("body leaks the backend error: %s", rec.Body)
	}
}

func BenchmarkBearerVerify(b *testing.B) {
	ring, _ := token.NewKeyRing(token.Key{ID: "k", Secret: []byte("0123456789abcdef0123456789abcdef")})
	iss, _ := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: "http://localhost:8080", Audience: "http://localhost:8080/mcp"})
	good, _, _ := iss.Mint(token.AccessClaims{Subject: "u1", TenantID: "t1", ClientID: "c1", Scopes: []string{"crm:read"}, Email: "a@example.com", FamilyID: "f"})
	dl := &denylist{}
	h := bearer.Middleware(bearer.Options{Verifier: iss, Revocations: dl, ResourceMetadataURL: rm}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
