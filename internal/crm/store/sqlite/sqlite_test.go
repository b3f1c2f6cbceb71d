package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/sqlite"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/storetest"
)

func open(t *testing.T, now func() time.Time) crm.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crm.db"), sqlite.Options{Now: now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, open)
}

func TestOpenIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.db")
	for i := range 3 {
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		if i == 0 {
			if _, err := s.CreateTenant(t.Context(), crm.Tenant{ID: "tnt_kept", Name: "Kept"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.GetTenant(t.Context(), "tnt_kept"); err != nil {
			t.Fatalf("Open #%d lost data: %v", i, err)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateBackfillsPlacements: a database an older release left (0001
// only, like a seeded ./data/crm.db) with a hired application migrates
// forward on Open; the hired application gets one placement without
// details, stamped with the move to hired, and cannot be hired again.
func TestMigrateBackfillsPlacements(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "crm.db")
	hiredAt := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	oldDatabase(t, path, []string{"0001_init"},
		`INSERT INTO tenants VALUES ('tnt_a', 'A', 1)`,
		`INSERT INTO users VALUES ('tnt_a', 'usr_1', 'u@x.test', 'U', 'recruiter', '', 1)`,
		`INSERT INTO companies (tenant_id, id, name, domain, industry, industry_norm, location, location_norm, size, description, owner_id, created_at, updated_at)
			VALUES ('tnt_a', 'cmp_1', 'C', '', '', '', '', '', '', '', '', 1, 1)`,
		`INSERT INTO jobs (tenant_id, id, company_id, title, status, location, location_norm, salary_min, salary_max, currency, description, owner_id, created_at, updated_at)
			VALUES ('tnt_a', 'job_1', 'cmp_1', 'T', 'open', '', '', 0, 0, '', '', '', 1, 1)`,
		`INSERT INTO people (tenant_id, id, kind, first_name, last_name, headline, emails, phones, location, location_norm, current_title, current_company, skills, source, tags, owner_id, created_at, updated_at)
			VALUES ('tnt_a', 'per_1', 'candidate', 'Ada', '', '', '[]', '[]', '', '', '', '', '[]', '', '[]', '', 1, 1),
			       ('tnt_a', 'per_2', 'candidate', 'Bo', '', '', '[]', '[]', '', '', '', '', '[]', '', '[]', '', 1, 1)`,
		`INSERT INTO applications VALUES ('tnt_a', 'app_1', 'job_1', 'per_1', 'hired', '', '', 1, `+fmt.Sprint(hiredAt)+`),
			('tnt_a', 'app_2', 'job_1', 'per_2', 'offer', '', '', 1, 2)`,
		`INSERT INTO stage_changes VALUES ('tnt_a', 'app_1', 0, '', 'offer', 1, '', ''), ('tnt_a', 'app_1', 1, 'offer', 'hired', `+fmt.Sprint(hiredAt)+`, 'usr_1', ''),
			('tnt_a', 'app_2', 0, '', 'offer', 1, '', '')`,
	)

	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open (migrate forward): %v", err)
	}
	defer s.Close()
	got, err := s.Placements(ctx, "tnt_a", crm.PlacementQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("placements after the migration: %+v, %v; want 1", got, err)
	}
	p := got[0]
	if len(p.ID) != 4+32 || p.ID[:4] != "plc_" || p.ApplicationID != "app_1" || p.JobID != "job_1" || p.PersonID != "per_1" ||
		p.CreatedBy != "usr_1" || p.CreatedAt.UnixNano() != hiredAt || p.Salary != 0 || p.Fee != 0 || p.Currency != "" || !p.StartDate.IsZero() {
		t.Errorf("backfilled placement = %+v", p)
	}
	if _, _, err := s.Hire(ctx, "tnt_a", "app_1", "usr_1", crm.Placement{}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Hire of a backfilled hire: %v, want ErrInvalid", err)
	}
	if _, plc, err := s.Hire(ctx, "tnt_a", "app_2", "usr_1", crm.Placement{Salary: 5}); err != nil || plc.Salary != 5 {
		t.Errorf("Hire after the migration: %+v, %v", plc, err)
	}
}

func TestMemory(t *testing.T) {
	s, err := sqlite.Open(t.Context(), ":memory:", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tn, err := s.CreateTenant(t.Context(), crm.Tenant{Name: "Mem"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePerson(t.Context(), tn.ID, crm.Person{Kind: crm.KindCandidate, FirstName: "Ada", Skills: []string{"Go"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.SearchPeople(t.Context(), tn.ID, crm.PeopleQuery{Text: "ada", Skills: []string{"go"}})
	if err != nil || res.Total != 1 || res.IDs[0] != p.ID {
		t.Fatalf("SearchPeople = %+v, %v", res, err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.GetPerson(t.Context(), "tnt_x", "per_x"); !errors.Is(err, crm.ErrUnavailable) {
		t.Fatalf("GetPerson on a closed store: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, crm.ErrUnavailable) {
		t.Fatalf("Ping on a closed store: %v", err)
	}
}

// TestMigrateTenantRids: a database at 0003 whose tenants' people are
// interleaved migrates to per-tenant rowid blocks (0004) with the
// full-text index rebuilt: each tenant's searches find exactly its own
// people by name, skill and note, new people land in their tenant's block,
// and nothing of the other tenant matches.
func TestMigrateTenantRids(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "crm.db")
	person := func(tenant, id, first, skills string) string {
		return `INSERT INTO people (tenant_id, id, kind, first_name, last_name, headline, emails, phones, location, location_norm, current_title, current_company, skills, source, tags, owner_id, created_at, updated_at)
			VALUES ('` + tenant + `', '` + id + `', 'candidate', '` + first + `', '', '', '[]', '[]', '', '', '', '', '` + skills + `', '', '[]', '', 1, 1)`
	}
	oldDatabase(t, path, []string{"0001_init", "0002_placements", "0003_people_search"},
		`INSERT INTO tenants VALUES ('tnt_a', 'A', 1), ('tnt_b', 'B', 1)`,
		person("tnt_a", "per_a1", "Ada", `["Go"]`),
		person("tnt_b", "per_b1", "Ada", `["Go"]`),
		person("tnt_a", "per_a2", "Bo", `["Rust","Go"]`),
		`INSERT INTO notes (tenant_id, id, person_id, body, author_id, created_at) VALUES ('tnt_a', 'not_1', 'per_a2', 'zebracorn interview', '', 1)`,
	)

	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open (migrate forward): %v", err)
	}
	defer s.Close()
	added, err := s.CreatePerson(ctx, "tnt_b", crm.Person{Kind: crm.KindCandidate, FirstName: "Cy", Skills: []string{"Go"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tenant, text string
		want         []string
	}{
		{"tnt_a", "ada", []string{"per_a1"}},
		{"tnt_b", "ada", []string{"per_b1"}},
		{"tnt_a", "go", []string{"per_a1", "per_a2"}},
		{"tnt_b", "go", []string{"per_b1", added.ID}},
		{"tnt_a", "zebracorn", []string{"per_a2"}},
		{"tnt_b", "zebracorn", nil},
		{"tnt_b", "cy", []string{added.ID}},
		{"tnt_nobody", "ada", nil},
	} {
		wantPeople(t, s, tc.tenant, crm.PeopleQuery{Text: tc.text}, tc.want)
	}
	check, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	rows, err := check.QueryContext(ctx, `SELECT p.rid >> 32, t.ord, count(*) FROM people p JOIN tenants t ON t.id = p.tenant_id GROUP BY p.tenant_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var block, ord, count int64
		if err := rows.Scan(&block, &ord, &count); err != nil {
			t.Fatal(err)
		}
		if block != ord || count != 2 {
			t.Errorf("a tenant's people are in block %d, its ord is %d (%d people)", block, ord, count)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d tenants with people, want 2", n)
	}
}

// TestMigratePeopleLocations: a database at 0004 migrates to location
// tokens in the full-text index (0005): a text search with a location
// filter finds exactly the tenant's people whose location contains it,
// each tenant's distinct locations get their own ids, and people added
// afterwards reuse them.
func TestMigratePeopleLocations(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "crm.db")
	rid := map[string]int{"tnt_a": 1 << 32, "tnt_b": 2 << 32}
	person := func(tenant, id, location string) string {
		rid[tenant]++
		return fmt.Sprintf(`INSERT INTO people (rid, tenant_id, id, kind, first_name, last_name, headline, emails, phones, location, location_norm, current_title, current_company, skills, source, tags, owner_id, created_at, updated_at)
			VALUES (%d, '%s', '%s', 'candidate', 'Ada', '', '', '[]', '[]', '%s', lower('%s'), '', '', '["Go"]', '', '[]', '', 1, 1)`, rid[tenant], tenant, id, location, location)
	}
	oldDatabase(t, path, []string{"0001_init", "0002_placements", "0003_people_search", "0004_tenant_rids"},
		`INSERT INTO tenants (id, name, created_at, ord) VALUES ('tnt_a', 'A', 1, 1), ('tnt_b', 'B', 1, 2)`,
		person("tnt_a", "per_a1", "Berlin"),
		person("tnt_a", "per_a2", "Berlin-Mitte"),
		person("tnt_a", "per_a3", "Munich"),
		person("tnt_a", "per_a4", ""),
		person("tnt_b", "per_b1", "Berlin"),
	)

	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open (migrate forward): %v", err)
	}
	defer s.Close()
	added, err := s.CreatePerson(ctx, "tnt_a", crm.Person{Kind: crm.KindCandidate, FirstName: "Cy", Location: "BERLIN", Skills: []string{"Go"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tenant, location string
		want             []string
	}{
		{"tnt_a", "berlin", []string{"per_a1", "per_a2", added.ID}},
		{"tnt_a", "mitte", []string{"per_a2"}},
		{"tnt_a", "munich", []string{"per_a3"}},
		{"tnt_a", "hamburg", nil},
		{"tnt_b", "berlin", []string{"per_b1"}},
		{"tnt_b", "munich", nil},
	} {
		wantPeople(t, s, tc.tenant, crm.PeopleQuery{Text: "go", Location: tc.location}, tc.want)
	}
	check, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var got []string
	rows, err := check.QueryContext(ctx, `SELECT tenant_id || ' ' || norm FROM people_locations ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if want := []string{"tnt_a berlin", "tnt_a berlin-mitte", "tnt_a munich", "tnt_b berlin"}; !slices.Equal(got, want) {
		t.Errorf("people_locations = %q, want %q", got, want)
	}
}

// wantPeople checks that a search finds exactly want (in any order) and
// counts as many.
func wantPeople(t *testing.T, s *sqlite.Store, tenant string, q crm.PeopleQuery, want []string) {
	t.Helper()
	res, err := s.SearchPeople(t.Context(), tenant, q)
	if err != nil {
		t.Fatalf("%s %+v: %v", tenant, q, err)
	}
	got := slices.Sorted(slices.Values(res.IDs))
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) || res.Total != len(want) {
		t.Errorf("%s %+v = %v (total %d), want %v", tenant, q, got, res.Total, want)
	}
}

// oldDatabase writes at path the database a release that had applied only
// versions (embedded migration files, in order) would have left, then
// runs stmts on it; Open later migrates it forward.
func oldDatabase(t *testing.T, path string, versions []string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := []string{`CREATE TABLE schema_migrations (version TEXT NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`}
	for _, v := range versions {
		b, err := os.ReadFile(filepath.Join("migrations", v+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, string(b), `INSERT INTO schema_migrations VALUES ('`+v+`', 1)`)
	}
	for _, stmt := range append(all, stmts...) {
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("build the database at %s: %v\n%.300s", versions[len(versions)-1], err, stmt)
		}
	}
}
