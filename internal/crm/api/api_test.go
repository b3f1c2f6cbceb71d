package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/sqlite"
	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

const issuer = "http://localhost:8080"

type fixture struct {
	url    string
	minter *servicetoken.Minter
	store  crm.Store
}

var testKeys = func() *servicetoken.Keys {
	k, err := servicetoken.GenerateKey()
	if err != nil {
		panic(err)
	}
	keys, err := servicetoken.NewKeys(k)
	if err != nil {
		panic(err)
	}
	return keys
}()

// newFixture runs the API over a real SQLite store behind the real
// service-token middleware, with two tenants.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, id := range []string{"tnt_a", "tnt_b"} {
		if _, err := st.CreateTenant(ctx, crm.Tenant{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateUser(ctx, id, crm.User{ID: "usr_" + id, TenantID: id, Email: id + "@example.com", Name: id, Role: crm.RoleRecruiter, PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	verifier, err := servicetoken.NewVerifier(servicetoken.VerifierOptions{Issuer: issuer, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	minter, err := servicetoken.NewMinter(testKeys, servicetoken.MinterOptions{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.NewServer(api.Options{
		Store: st,
		Authenticate: func(next http.Handler) http.Handler {
			return servicetoken.Middleware(verifier, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _ := servicetoken.FromContext(r.Context())
				next.ServeHTTP(w, r.WithContext(api.WithIdentity(r.Context(), api.Identity{TenantID: c.TenantID, UserID: c.Subject})))
			}))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &fixture{url: ts.URL, minter: minter, store: st}
}

func (f *fixture) client(tenantID string) *api.Client {
	return api.NewClient(f.url, nil, func(ctx context.Context) (string, error) {
		return f.minter.Mint(ctx, servicetoken.Subject{UserID: "usr_" + tenantID, TenantID: tenantID, ClientID: "test"})
	})
}

func TestTenantComesOnlyFromTheToken(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, b := f.client("tnt_a"), f.client("tnt_b")

	// A body naming another tenant is ignored: the person lands in the
	// token's tenant.
	p, err := a.CreatePerson(ctx, crm.Person{TenantID: "tnt_b", Kind: crm.KindCandidate, FirstName: "Ada", LastName: "CANARY-A"})
	if err != nil {
		t.Fatal(err)
	}
	if p.TenantID != "tnt_a" || p.OwnerID != "usr_tnt_a" {
		t.Errorf("created %+v, want tenant tnt_a owned by its caller", p)
	}
	// Another tenant's id behaves exactly like a missing one.
	_, errForeign := b.GetPerson(ctx, p.ID)
	_, errMissing := b.GetPerson(ctx, crm.NewID("per"))
	if !errors.Is(errForeign, crm.ErrNotFound) || errForeign.Error() != errMissing.Error() {
		t.Errorf("foreign id: %v; missing id: %v", errForeign, errMissing)
	}
	if _, err := b.UpdatePerson(ctx, p.ID, crm.PersonPatch{Headline: ptr("hijacked")}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("update of a foreign person: %v", err)
	}
	res, err := b.SearchPeople(ctx, crm.PeopleQuery{Text: "CANARY-A"})
	if err != nil || res.Total != 0 || len(res.IDs) != 0 {
		t.Errorf("search in tenant b found tenant a's canary: %+v %v", res, err)
	}
	got, err := a.GetPerson(ctx, p.ID)
	if err != nil || got.Headline != "" {
		t.Errorf("tenant a's person after b's attempts: %+v %v", got, err)
	}
}

func TestUnauthenticatedRequestsAreRefused(t *testing.T) {
	f := newFixture(t)
	forged := api.NewClient(f.url, nil, func(context.Context) (string, error) {
		return "eyJhbGciOiJub25lIn0.eyJ0ZW5hbnQiOiJ0bnRfYSJ9.", nil
	})
	if _, err := forged.GetTenant(t.Context()); !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("forged token: %v", err)
	}
	for _, tc := range []struct{ name, auth string }{
		{"no header", ""},
		{"client access token shape", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.x"},
		{"basic", "Basic dXNlcjpwdw=="},
	} {
		req, _ := http.NewRequest(http.MethodGet, f.url+"/v1/tenant?tenant=tnt_a", nil)
		req.Header.Set("X-Tenant-Id", "tnt_a")
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "tnt_a") {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
}

func TestErrorsMapToSentinels(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.client("tnt_a")
	if _, err := a.CreatePerson(ctx, crm.Person{Kind: "robot", FirstName: "x"}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("invalid person: %v", err)
	}
	co, err := a.CreateCompany(ctx, crm.Company{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	job, err := a.CreateJob(ctx, crm.Job{CompanyID: co.ID, Title: "Go Engineer", Status: crm.JobOpen})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.CreatePerson(ctx, crm.Person{Kind: crm.KindCandidate, FirstName: "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := a.AddToPipeline(ctx, crm.Application{JobID: job.ID, PersonID: p.ID})
	if err != nil || app.Stage != crm.StageSourced {
		t.Fatalf("add to pipeline: %+v %v", app, err)
	}
	if _, err := a.AddToPipeline(ctx, crm.Application{JobID: job.ID, PersonID: p.ID}); !errors.Is(err, crm.ErrConflict) {
		t.Errorf("duplicate application: %v", err)
	}
	moved, err := a.MoveStage(ctx, app.ID, crm.StageScreening, "")
	if err != nil || moved.Stage != crm.StageScreening || len(moved.History) != 2 || moved.History[1].UserID != "usr_tnt_a" {
		t.Errorf("move: %+v %v", moved, err)
	}
	if _, err := a.MoveStage(ctx, app.ID, crm.StageRejected, ""); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("reject without reason: %v", err)
	}
	team, err := a.ListUsers(ctx)
	if err != nil || len(team) != 1 || team[0].Email != "tnt_a@example.com" {
		t.Errorf("team: %+v %v", team, err)
	}
}

// TestHire: the hire endpoint records the placement with the request's
// details, the application's job and person and the token's user; it
// refuses ids in the body, and another tenant's application or job is
// not found exactly like a missing one.
func TestHire(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, b := f.client("tnt_a"), f.client("tnt_b")
	co, err := a.CreateCompany(ctx, crm.Company{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	job, err := a.CreateJob(ctx, crm.Job{CompanyID: co.ID, Title: "Go Engineer", Status: crm.JobOpen})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.CreatePerson(ctx, crm.Person{Kind: crm.KindCandidate, FirstName: "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := a.AddToPipeline(ctx, crm.Application{JobID: job.ID, PersonID: p.ID, Stage: crm.StageOffer})
	if err != nil {
		t.Fatal(err)
	}
	// Tenant b cannot hire tenant a's application, nor list its job.
	_, _, errForeign := b.Hire(ctx, app.ID, crm.Placement{Salary: 1})
	_, _, errMissing := b.Hire(ctx, crm.NewID("app"), crm.Placement{Salary: 1})
	if !errors.Is(errForeign, crm.ErrNotFound) || errForeign.Error() != errMissing.Error() {
		t.Errorf("foreign hire: %v; missing: %v", errForeign, errMissing)
	}
	if _, err := b.Placements(ctx, crm.PlacementQuery{JobID: job.ID}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("tenant b lists tenant a's job's placements: %v", err)
	}
	// Ids in the body are refused, not used.
	req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/applications/"+app.ID+"/hire", strings.NewReader(`{"salary":1,"jobId":"job_x"}`))
	tok, err := f.minter.Mint(ctx, servicetoken.Subject{UserID: "usr_tnt_a", TenantID: "tnt_a", ClientID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("hire with a jobId in the body: %d, want 400", resp.StatusCode)
	}
	if _, _, err := a.Hire(ctx, app.ID, crm.Placement{Currency: "eur"}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("lower-case currency: %v, want ErrInvalid", err)
	}

	start := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	h, plc, err := a.Hire(ctx, app.ID, crm.Placement{StartDate: start, Salary: 90_000, Fee: 18_000, Currency: "EUR", JobID: "job_x", CreatedBy: "usr_tnt_b"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Stage != crm.StageHired || plc.ApplicationID != app.ID || plc.JobID != job.ID || plc.PersonID != p.ID || plc.CreatedBy != "usr_tnt_a" ||
		!plc.StartDate.Equal(start) || plc.Salary != 90_000 || plc.Fee != 18_000 || plc.Currency != "EUR" || plc.TenantID != "tnt_a" {
		t.Errorf("hire = %+v, %+v", h, plc)
	}
	if _, _, err := a.Hire(ctx, app.ID, crm.Placement{}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("second hire: %v, want ErrInvalid", err)
	}
	list, err := a.Placements(ctx, crm.PlacementQuery{PersonID: p.ID})
	if err != nil || len(list) != 1 || list[0].ID != plc.ID {
		t.Errorf("placements of the person: %+v, %v", list, err)
	}
	if list, err := b.Placements(ctx, crm.PlacementQuery{}); err != nil || len(list) != 0 {
		t.Errorf("tenant b's placements: %+v, %v", list, err)
	}
}

func TestUnavailableStore(t *testing.T) {
	f := newFixture(t)
	f.store.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := f.client("tnt_a").GetTenant(ctx)
	if !errors.Is(err, crm.ErrUnavailable) {
		t.Errorf("closed store: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
