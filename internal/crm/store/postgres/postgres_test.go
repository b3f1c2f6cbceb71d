package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/storetest"
)

// TestConformance runs the shared suite on one fresh database (the suite
// isolates its tests by tenant).
func TestConformance(t *testing.T) {
	d := newMigratedDB(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) crm.Store {
		return open(t, d, postgres.Options{Now: now, MaxConns: 8})
	})
}

// tenants is two tenants with a few people each, written through a Store.
type tenants struct {
	t1, t2     string
	ids1, ids2 []string
	store      *postgres.Store
	d          db
}

// allTables is every tenant table; TestAllTablesListed keeps it complete,
// so the row-level security tests below cover every table a migration
// adds.
var allTables = []string{"tenants", "users", "companies", "people", "jobs", "applications", "stage_changes", "notes", "activities", "tasks", "placements"}

// TestAllTablesListed: allTables names every table of the migrated schema
// but schema_migrations (not tenant data, not readable by the app role).
func TestAllTablesListed(t *testing.T) {
	d := newMigratedDB(t)
	conn := connect(t, d.ownerDSN)
	rows, err := conn.Query(t.Context(), `SELECT c.relname FROM pg_class AS c
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations'
		ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := slices.Sorted(slices.Values(allTables)); !slices.Equal(got, want) {
		t.Errorf("tables in the schema %v, allTables %v: add the new table to allTables", got, want)
	}
}

func seedTwo(t *testing.T, opts postgres.Options) tenants {
	t.Helper()
	d := newMigratedDB(t)
	s := open(t, d, opts)
	ctx := t.Context()
	w := tenants{store: s, d: d}
	for i, n := range []int{3, 2} {
		tn, err := s.CreateTenant(ctx, crm.Tenant{Name: "Agency"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.CreateUser(ctx, tn.ID, crm.User{Email: strings.ToLower(tn.ID) + "@example.test", Name: "U", Role: crm.RoleRecruiter})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateCompany(ctx, tn.ID, crm.Company{Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.CreateJob(ctx, tn.ID, crm.Job{CompanyID: c.ID, Title: "Engineer", Status: crm.JobOpen})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for k := range n {
			p, err := s.CreatePerson(ctx, tn.ID, crm.Person{Kind: crm.KindCandidate, FirstName: "Ada", Location: "Shared Town", Skills: []string{"Go"}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
			if _, err := s.AddNote(ctx, tn.ID, crm.Note{PersonID: p.ID, Body: "shared words"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.LogActivity(ctx, tn.ID, crm.Activity{Kind: crm.ActivityCall, PersonID: p.ID, Summary: "call", OccurredAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateTask(ctx, tn.ID, crm.Task{Title: "t", AssigneeID: u.ID, PersonID: p.ID}); err != nil {
				t.Fatal(err)
			}
			a, err := s.AddToPipeline(ctx, tn.ID, crm.Application{JobID: j.ID, PersonID: p.ID})
			if err != nil {
				t.Fatal(err)
			}
			if k == n-1 { // one placement per tenant
				if _, err := s.MoveStage(ctx, tn.ID, a.ID, crm.StageOffer, u.ID, ""); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.Hire(ctx, tn.ID, a.ID, u.ID, crm.Placement{Salary: 1, Currency: "EUR"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if i == 0 {
			w.t1, w.ids1 = tn.ID, ids
		} else {
			w.t2, w.ids2 = tn.ID, ids
		}
	}
	return w
}

// count runs SELECT count(*) FROM table on q.
func count(t *testing.T, ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, table string) int {
	t.Helper()
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestRLSUnfilteredQuery is an application-role query with no tenant
// filter: row-level security alone limits it to the tenant set in the
// transaction, and to nothing when none is set.
func TestRLSUnfilteredQuery(t *testing.T) {
	w := seedTwo(t, postgres.Options{})
	ctx := t.Context()
	conn := connect(t, w.d.appDSN)

	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, w.t1); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, tx, "people"); n != len(w.ids1) {
		t.Errorf("tenant 1 sees %d people, want %d", n, len(w.ids1))
	}
	rows, err := tx.Query(ctx, `SELECT id FROM people`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(w.ids1))
	if !slices.Equal(got, want) {
		t.Errorf("tenant 1 sees %v, want %v", got, want)
	}
	if n := count(t, ctx, tx, "tenants"); n != 1 {
		t.Errorf("tenant 1 sees %d tenants, want 1", n)
	}
	// Both tenants have one placement; an unfiltered query sees its own.
	var plcTenants []string
	prow, err := tx.Query(ctx, `SELECT tenant_id FROM placements`)
	if err != nil {
		t.Fatal(err)
	}
	if plcTenants, err = pgx.CollectRows(prow, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plcTenants, []string{w.t1}) {
		t.Errorf("tenant 1 sees placements of tenants %v, want only its own", plcTenants)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// No tenant set: on a fresh session, and on this one after the
	// transaction-local setting ended.
	for _, c := range []*pgx.Conn{conn, connect(t, w.d.appDSN)} {
		for _, table := range allTables {
			if n := count(t, ctx, c, table); n != 0 {
				t.Errorf("without a tenant, %s shows %d rows", table, n)
			}
		}
	}
	// The owner is held by FORCE ROW LEVEL SECURITY too, except for the
	// read policies its SECURITY DEFINER functions need (users, people).
	owner := connect(t, w.d.ownerDSN)
	for _, table := range allTables {
		if table == "users" || table == "people" {
			continue
		}
		if n := count(t, ctx, owner, table); n != 0 {
			t.Errorf("the owner without a tenant sees %d rows of %s", n, table)
		}
	}
}

// TestRLSWithCheck: writes carrying (or moving a row to) another tenant's
// id are refused by the policies' WITH CHECK, and another tenant's rows
// cannot be updated at all.
func TestRLSWithCheck(t *testing.T) {
	w := seedTwo(t, postgres.Options{})
	ctx := t.Context()
	conn := connect(t, w.d.appDSN)
	inT1 := func(sql string, args ...any) (pgconnTag string, err error) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, w.t1); err != nil {
			t.Fatal(err)
		}
		tag, err := tx.Exec(ctx, sql, args...)
		return tag.String(), err
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		sql  string
		args []any
	}{
		{"insert person into tenant 2", `INSERT INTO people (tenant_id, id, kind, first_name, last_name, headline, emails, phones, location,
			current_title, current_company, skills, source, tags, created_at, updated_at)
			VALUES ($1, 'per_x', 'candidate', 'Eve', '', '', '{}', '{}', '', '', '', '{}', '', '{}', $2, $2)`, []any{w.t2, now}},
		{"insert tenant", `INSERT INTO tenants (tenant_id, name, created_at) VALUES ('tnt_evil', 'x', $1)`, []any{now}},
		{"move own person to tenant 2", `UPDATE people SET tenant_id = $1 WHERE id = $2`, []any{w.t2, w.ids1[0]}},
	} {
		_, err := inT1(tc.sql, tc.args...)
		if sqlState(err) != "42501" {
			t.Errorf("%s: error %v, want SQLSTATE 42501 (row-level security)", tc.name, err)
		}
	}
	tag, err := inT1(`UPDATE people SET first_name = 'Hijacked' WHERE id = $1`, w.ids2[0])
	if err != nil || tag != "UPDATE 0" {
		t.Errorf("update of tenant 2's person from tenant 1: %q, %v; want UPDATE 0", tag, err)
	}
	// No tenant at all: nothing can be written.
	_, err = conn.Exec(ctx, `INSERT INTO tenants (tenant_id, name, created_at) VALUES ('tnt_none', 'x', $1)`, now)
	if sqlState(err) != "42501" {
		t.Errorf("insert without a tenant: %v, want SQLSTATE 42501", err)
	}
	p, err := w.store.GetPerson(ctx, w.t2, w.ids2[0])
	if err != nil || p.FirstName != "Ada" {
		t.Errorf("tenant 2's person after the attempts: %+v, %v", p, err)
	}
}

// TestRLSPooledConnection: with one pooled connection, tenant 2's request
// after tenant 1's (committed, failed or abandoned) runs on the same
// backend and sees neither tenant 1's rows nor its setting.
func TestRLSPooledConnection(t *testing.T) {
	w := seedTwo(t, postgres.Options{MaxConns: 1})
	ctx := t.Context()
	s := w.store
	pool := postgres.Pool(s)

	type view struct {
		pid     int
		setting string
		ids     []string
	}
	look := func(tenant string, after func(tx pgx.Tx) error) (view, error) {
		var v view
		err := postgres.InTenant(s, ctx, tenant, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT pg_backend_pid(), current_setting('app.tenant_id', true)`).Scan(&v.pid, &v.setting); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT id FROM people ORDER BY id`)
			if err != nil {
				return err
			}
			if v.ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
			if after != nil {
				return after(tx)
			}
			return nil
		})
		return v, err
	}
	// between checks the idle pooled connection: no tenant, no rows.
	between := func(step string, wantPID int) {
		t.Helper()
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		var pid int
		var setting *string
		if err := c.QueryRow(ctx, `SELECT pg_backend_pid(), current_setting('app.tenant_id', true)`).Scan(&pid, &setting); err != nil {
			t.Fatal(err)
		}
		if wantPID != 0 && pid != wantPID {
			t.Errorf("%s: backend %d, want the same backend %d", step, pid, wantPID)
		}
		if setting != nil && *setting != "" {
			t.Errorf("%s: app.tenant_id = %q leaked past the transaction", step, *setting)
		}
		if n := count(t, ctx, c, "people"); n != 0 {
			t.Errorf("%s: idle connection sees %d people", step, n)
		}
	}
	checkB := func(step string, wantPID int) {
		t.Helper()
		b, err := look(w.t2, nil)
		if err != nil {
			t.Fatalf("%s: request B: %v", step, err)
		}
		if wantPID != 0 && b.pid != wantPID {
			t.Errorf("%s: request B on backend %d, want %d", step, b.pid, wantPID)
		}
		if b.setting != w.t2 || !slices.Equal(b.ids, slices.Sorted(slices.Values(w.ids2))) {
			t.Errorf("%s: request B sees tenant %q, people %v; want %q, %v", step, b.setting, b.ids, w.t2, w.ids2)
		}
	}

	a, err := look(w.t1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.setting != w.t1 || len(a.ids) != len(w.ids1) {
		t.Fatalf("request A sees tenant %q, people %v", a.setting, a.ids)
	}
	between("after committed A", a.pid)
	checkB("after committed A", a.pid)

	// A fails inside the database (division by zero aborts the transaction).
	_, err = look(w.t1, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT 1 / 0`)
		return err
	})
	if err == nil {
		t.Fatal("request A with a failing statement succeeded")
	}
	between("after failed A", a.pid)
	checkB("after failed A", a.pid)

	// A fails in Go after writing: rolled back, nothing kept.
	errBoom := errors.New("boom")
	_, err = look(w.t1, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE people SET first_name = 'Changed' WHERE tenant_id = $1`, w.t1); err != nil {
			return err
		}
		return errBoom
	})
	if err == nil {
		t.Fatal("request A returning an error succeeded")
	}
	between("after rolled back A", a.pid)
	checkB("after rolled back A", a.pid)
	if p, err := s.GetPerson(ctx, w.t1, w.ids1[0]); err != nil || p.FirstName != "Ada" {
		t.Errorf("rolled back write kept: %+v, %v", p, err)
	}

	// A is abandoned mid-transaction (its context is canceled): pgx drops
	// that connection rather than reuse it, and B still sees only its own.
	cctx, cancel := context.WithCancel(ctx)
	err = postgres.InTenant(s, cctx, w.t1, func(tx pgx.Tx) error {
		cancel()
		_, err := tx.Exec(cctx, `SELECT pg_sleep(1)`)
		return err
	})
	if !errors.Is(err, crm.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("abandoned request A: %v, want ErrUnavailable and context.Canceled", err)
	}
	between("after abandoned A", 0)
	checkB("after abandoned A", 0)

	// And through the public API, interleaved on the one connection.
	for i := range 50 {
		tn, own, other := w.t1, w.ids1[0], w.ids2[0]
		if i%2 == 1 {
			tn, own, other = w.t2, w.ids2[0], w.ids1[0]
		}
		if _, err := s.GetPerson(ctx, tn, own); err != nil {
			t.Fatalf("GetPerson own: %v", err)
		}
		if _, err := s.GetPerson(ctx, tn, other); !errors.Is(err, crm.ErrNotFound) {
			t.Fatalf("GetPerson other tenant's: %v, want ErrNotFound", err)
		}
		res, err := s.SearchPeople(ctx, tn, crm.PeopleQuery{Text: "shared words"})
		if err != nil || slices.Contains(res.IDs, other) {
			t.Fatalf("SearchPeople: %v, %v", res, err)
		}
	}
}

// TestAppRoleCannotLiftRLS: the application role owns nothing, holds no
// DDL rights, cannot bypass or switch off row-level security, and cannot
// delete.
func TestAppRoleCannotLiftRLS(t *testing.T) {
	d := newMigratedDB(t)
	ctx := t.Context()
	conn := connect(t, d.appDSN)
	var super, bypass bool
	if err := conn.QueryRow(ctx, `SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&super, &bypass); err != nil {
		t.Fatal(err)
	}
	if super || bypass {
		t.Fatalf("app role: superuser %v, bypassrls %v", super, bypass)
	}
	for _, table := range allTables {
		var owner string
		var rls, force bool
		if err := conn.QueryRow(ctx, `SELECT pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass`, table).Scan(&owner, &rls, &force); err != nil {
			t.Fatal(err)
		}
		if owner == postgres.AppRole || !rls || !force {
			t.Errorf("%s: owner %s, row security %v, forced %v", table, owner, rls, force)
		}
		for _, sql := range []string{
			`ALTER TABLE ` + table + ` DISABLE ROW LEVEL SECURITY`,
			`ALTER TABLE ` + table + ` NO FORCE ROW LEVEL SECURITY`,
			`DROP POLICY tenant_isolation ON ` + table,
			`CREATE POLICY open_door ON ` + table + ` USING (true)`,
			`ALTER TABLE ` + table + ` OWNER TO ` + postgres.AppRole,
			`TRUNCATE ` + table,
			`DELETE FROM ` + table,
		} {
			if _, err := conn.Exec(ctx, sql); sqlState(err) != "42501" {
				t.Errorf("%s: %v, want SQLSTATE 42501 (insufficient privilege / must be owner)", sql, err)
			}
		}
	}
	for _, sql := range []string{
		`CREATE TABLE mine (id int)`,
		`CREATE FUNCTION mine() RETURNS int LANGUAGE sql RETURN 1`,
	} {
		if _, err := conn.Exec(ctx, sql); sqlState(err) != "42501" {
			t.Errorf("%s: %v, want SQLSTATE 42501", sql, err)
		}
	}
	// row_security = off does not switch policies off for a role they
	// bind: the query fails instead of returning every row.
	if _, err := conn.Exec(ctx, `SET row_security = off`); err != nil {
		t.Fatal(err)
	}
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM people`).Scan(&n)
	if sqlState(err) != "42501" {
		t.Errorf("with row_security off: count %d, %v; want SQLSTATE 42501", n, err)
	}
}

// TestOpenRefusesUnsafeRoles: a DSN for the owner or a superuser would
// not be held by row-level security, so Open refuses it.
func TestOpenRefusesUnsafeRoles(t *testing.T) {
	d := newMigratedDB(t)
	for _, tc := range []struct{ name, dsn string }{{"owner", d.ownerDSN}, {"superuser", d.superDSN}} {
		s, err := postgres.Open(t.Context(), tc.dsn, postgres.Options{})
		if !errors.Is(err, postgres.ErrUnsafeRole) {
			t.Errorf("Open as %s: %v, want ErrUnsafeRole", tc.name, err)
		}
		if s != nil {
			_ = s.Close()
		}
	}
	// Not migrated: a clear error, not a failure on first use.
	empty := newDB(t)
	if _, err := postgres.Open(t.Context(), empty.appDSN, postgres.Options{}); err == nil || !strings.Contains(err.Error(), "not migrated") {
		t.Errorf("Open on an empty database: %v", err)
	}
}

// TestMigrate: idempotent, safe to run concurrently, recorded.
func TestMigrate(t *testing.T) {
	d := newDB(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = postgres.Migrate(ctx, d.ownerDSN) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate %d: %v", i, err)
		}
	}
	if err := postgres.Migrate(ctx, d.ownerDSN); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	conn := connect(t, d.ownerDSN)
	var versions []int
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	if versions, err = pgx.CollectRows(rows, pgx.RowTo[int]); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(versions, []int{1, 2, 3}) {
		t.Errorf("schema_migrations = %v, want [1 2 3]", versions)
	}
	// Migrating as a superuser works too (the login function is then
	// owned by the superuser).
	d2 := newDB(t)
	if err := postgres.Migrate(ctx, d2.superDSN); err != nil {
		t.Fatalf("Migrate as superuser: %v", err)
	}
	s := open(t, d2, postgres.Options{})
	tn, err := s.CreateTenant(ctx, crm.Tenant{Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, tn.ID, crm.User{Email: strings.ToLower(tn.ID) + "@x.test", Name: "U", Role: crm.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByEmail(ctx, u.Email); err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail after a superuser migration: %+v, %v", got, err)
	}
}

// TestMigrateBackfillsPlacements: a database of the release before
// placements (0001 only) with hired applications migrates forward; every
// hired application gets one placement without details, stamped with the
// move to hired, others get none, and row-level security stays forced on
// the tables the backfill read.
func TestMigrateBackfillsPlacements(t *testing.T) {
	d := newDB(t)
	ctx := t.Context()
	if err := postgres.MigrateTo(ctx, d.ownerDSN, 1); err != nil {
		t.Fatalf("migrate to 0001: %v", err)
	}
	conn := connect(t, d.ownerDSN)
	if err := conn.QueryRow(ctx, `SELECT to_regclass('placements') IS NULL`).Scan(new(bool)); err != nil {
		t.Fatal(err)
	}
	// Written as the app role straight into the 0001 schema (the Store
	// would write placements, which do not exist yet).
	app := connect(t, d.appDSN)
	hiredAt := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	seed := func(tenant string, hired bool) {
		t.Helper()
		tx, err := app.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		stage := "offer"
		if hired {
			stage = "hired"
		}
		for _, sql := range []string{
			`SELECT set_config('app.tenant_id', $1, true)`,
			`INSERT INTO tenants (tenant_id, name, created_at) VALUES ($1, 'A', now())`,
			`INSERT INTO users (tenant_id, id, email, name, role, password_hash, created_at) VALUES ($1, 'usr_1', $1 || '@x.test', 'U', 'recruiter', '', now())`,
			`INSERT INTO companies (tenant_id, id, name, domain, industry, location, size, description, created_at, updated_at) VALUES ($1, 'cmp_1', 'C', '', '', '', '', '', now(), now())`,
			`INSERT INTO jobs (tenant_id, id, company_id, company_name, title, status, location, salary_min, salary_max, currency, description, created_at, updated_at)
				VALUES ($1, 'job_1', 'cmp_1', 'C', 'T', 'open', '', 0, 0, '', '', now(), now())`,
			`INSERT INTO people (tenant_id, id, kind, first_name, last_name, headline, emails, phones, location, current_title, current_company, skills, source, tags, created_at, updated_at)
				VALUES ($1, 'per_1', 'candidate', 'Ada', '', '', '{}', '{}', '', '', '', '{}', '', '{}', now(), now())`,
		} {
			if _, err := tx.Exec(ctx, sql, tenant); err != nil {
				t.Fatalf("seed %s: %v", tenant, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO applications (tenant_id, id, job_id, person_id, stage, reject_reason, created_at, updated_at)
			VALUES ($1, 'app_1', 'job_1', 'per_1', $2, '', $3, $3)`, tenant, stage, hiredAt.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO stage_changes (tenant_id, application_id, seq, from_stage, to_stage, at, user_id, reason)
			VALUES ($1, 'app_1', 1, '', 'offer', $2, NULL, ''), ($1, 'app_1', 2, 'offer', $3, $4, 'usr_1', '')`,
			tenant, hiredAt.Add(-time.Hour), stage, hiredAt); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// (The second change of the offer tenant is offer → offer; the table
	// does not check transitions, and it is not a move to hired.)
	seed("tnt_hired", true)
	seed("tnt_offer", false)

	if err := postgres.Migrate(ctx, d.ownerDSN); err != nil {
		t.Fatalf("migrate forward: %v", err)
	}
	s := open(t, d, postgres.Options{})
	got, err := s.Placements(ctx, "tnt_hired", crm.PlacementQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("placements of the hired tenant after the migration: %+v, %v; want 1", got, err)
	}
	p := got[0]
	if !strings.HasPrefix(p.ID, "plc_") || p.ApplicationID != "app_1" || p.JobID != "job_1" || p.PersonID != "per_1" ||
		p.CreatedBy != "usr_1" || !p.CreatedAt.Equal(hiredAt) || p.Salary != 0 || p.Fee != 0 || p.Currency != "" || !p.StartDate.IsZero() {
		t.Errorf("backfilled placement = %+v", p)
	}
	if got, err := s.Placements(ctx, "tnt_offer", crm.PlacementQuery{}); err != nil || len(got) != 0 {
		t.Errorf("placements of the tenant without a hire: %+v, %v", got, err)
	}
	for _, table := range []string{"applications", "stage_changes", "placements"} {
		var rls, force bool
		if err := conn.QueryRow(ctx, `SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass`, table).Scan(&rls, &force); err != nil {
			t.Fatal(err)
		}
		if !rls || !force {
			t.Errorf("%s after the migration: row security %v, forced %v", table, rls, force)
		}
	}
	// The hired application cannot be hired again: the backfilled
	// placement is its one placement.
	if _, _, err := s.Hire(ctx, "tnt_hired", "app_1", "usr_1", crm.Placement{}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Hire of a backfilled hire: %v, want ErrInvalid", err)
	}
}

// TestDefinerFunctions: the SECURITY DEFINER functions are the narrow
// exceptions they claim to be. The app role reads users across tenants
// only through crm_user_by_email, which returns one user; the search
// functions are bound to the transaction's tenant like the policies; PUBLIC
// can run none of them.
func TestDefinerFunctions(t *testing.T) {
	w := seedTwo(t, postgres.Options{})
	ctx := t.Context()
	conn := connect(t, w.d.appDSN)
	if n := count(t, ctx, conn, "users"); n != 0 {
		t.Errorf("app role without a tenant sees %d users", n)
	}
	email := strings.ToLower(w.t2) + "@example.test"
	rows, err := conn.Query(ctx, `SELECT tenant_id FROM crm_user_by_email($1)`, email)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(got, []string{w.t2}) {
		t.Errorf("crm_user_by_email = %v, %v; want [%s]", got, err, w.t2)
	}
	for _, pattern := range []string{"%", "", "' OR true --"} {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM crm_user_by_email($1)`, pattern).Scan(&n); err != nil || n != 0 {
			t.Errorf("crm_user_by_email(%q) = %d rows, %v", pattern, n, err)
		}
	}
	for fn, overloads := range map[string]int{"crm_user_by_email": 1, "crm_people_matching": 2, "crm_people_with_skills": 2, "crm_people_in_location": 1} {
		rows, err := conn.Query(ctx, `
			SELECT p.oid::regprocedure::text, p.prosecdef, EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a WHERE a.grantee = 0)
			FROM pg_proc AS p WHERE p.proname = $1`, fn)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var (
				sig                 string
				definer, publicExec bool
			)
			if err := rows.Scan(&sig, &definer, &publicExec); err != nil {
				t.Fatal(err)
			}
			if !definer || publicExec {
				t.Errorf("%s: security definer %v, executable by PUBLIC %v", sig, definer, publicExec)
			}
			n++
		}
		if rows.Err() != nil || n != overloads {
			t.Errorf("%s: %d functions (%v), want %d", fn, n, rows.Err(), overloads)
		}
	}

	// Search functions: nothing without a tenant, only the tenant's rows
	// with one.
	const matching = `SELECT id FROM crm_people_matching(plainto_tsquery('english', 'shared words')) ORDER BY id`
	const matchingIn = `SELECT id FROM crm_people_matching(plainto_tsquery('english', 'shared words'), 'SHARED TOWN') ORDER BY id`
	const skilled = `SELECT id FROM crm_people_with_skills('{go}') ORDER BY id`
	const skilledIn = `SELECT id FROM crm_people_with_skills('{go}', 'SHARED TOWN') ORDER BY id`
	const located = `SELECT id FROM crm_people_in_location('SHARED TOWN') ORDER BY id`
	for _, q := range []string{matching, matchingIn, skilled, skilledIn, located} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || len(got) != 0 {
			t.Errorf("%s without a tenant: %v, %v", q, got, err)
		}
		for _, tc := range []struct {
			tenant string
			want   []string
		}{{w.t1, w.ids1}, {w.t2, w.ids2}} {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tc.tenant); err != nil {
				t.Fatal(err)
			}
			rows, err := tx.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil || !slices.Equal(got, slices.Sorted(slices.Values(tc.want))) {
				t.Errorf("%s in %s: %v, %v; want %v", q, tc.tenant, got, err, tc.want)
			}
			_ = tx.Rollback(ctx)
		}
	}
}

// TestErrors: failures map to the contract's sentinels with log-safe
// text (operation and class only; the SQLSTATE is a field).
func TestErrors(t *testing.T) {
	w := seedTwo(t, postgres.Options{})
	ctx := t.Context()
	s := w.store
	canary := "CANARY-" + strings.Repeat("z", 8)

	_, err := s.AddNote(ctx, w.t1, crm.Note{PersonID: canary, Body: canary})
	var pe *postgres.Error
	if !errors.Is(err, crm.ErrInvalid) || !errors.As(err, &pe) || pe.SQLState != "23503" {
		t.Errorf("note about a missing person: %v, want ErrInvalid with SQLSTATE 23503", err)
	}
	_, err = s.CreatePerson(ctx, w.t1, crm.Person{Kind: crm.KindCandidate, FirstName: "nul\x00" + canary})
	if !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("NUL byte: %v, want ErrInvalid", err)
	}
	for _, e := range []error{err} {
		if e != nil && (strings.Contains(e.Error(), canary) || strings.Contains(strings.ToLower(e.Error()), "violates") || strings.Contains(e.Error(), "23")) {
			t.Errorf("error text leaks: %q", e)
		}
	}

	// Unreachable database.
	_, err = postgres.Open(ctx, "postgres://crm_app@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", postgres.Options{})
	if !errors.Is(err, crm.ErrUnavailable) {
		t.Errorf("Open on a closed port: %v, want ErrUnavailable", err)
	}
	if _, err := postgres.Open(ctx, "postgres://u:s3cret@[bad", postgres.Options{}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open with a bad DSN: %v", err)
	}

	// A lock held elsewhere outlasts OpTimeout: ErrUnavailable, nothing
	// written.
	apps, err := s.PersonApplications(ctx, w.t1, w.ids1[0])
	if err != nil || len(apps) != 1 {
		t.Fatalf("PersonApplications: %v, %v", apps, err)
	}
	slow := open(t, w.d, postgres.Options{OpTimeout: 300 * time.Millisecond})
	locker := connect(t, w.d.appDSN)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, w.t1); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM applications WHERE id = $1 FOR UPDATE`, apps[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = slow.MoveStage(ctx, w.t1, apps[0].ID, crm.StageScreening, "", "")
	if !errors.Is(err, crm.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("MoveStage behind a lock: %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	_ = tx.Rollback(ctx)
	if a, err := s.GetApplication(ctx, w.t1, apps[0].ID); err != nil || a.Stage != crm.StageSourced || len(a.History) != 1 {
		t.Errorf("after the timed-out move: %+v, %v", a, err)
	}

	// The server drops the Store's connections: the failed call is
	// ErrUnavailable (or succeeds on a fresh connection), and the pool
	// recovers without a restart.
	if err := admin(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '`+w.d.name+`' AND usename = '`+postgres.AppRole+`'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPerson(ctx, w.t1, w.ids1[0]); err != nil && !errors.Is(err, crm.ErrUnavailable) {
		t.Errorf("GetPerson on a terminated connection: %v, want ErrUnavailable", err)
	}
	if _, err := s.GetPerson(ctx, w.t1, w.ids1[0]); err != nil {
		t.Errorf("GetPerson after reconnect: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// TestMigrateLocationGrams: people written before 0003 (a database of the
// release with 0001 and 0002) are found by location through the new
// two-column index once it is built, alone, with text and with skills,
// and never across tenants.
func TestMigrateLocationGrams(t *testing.T) {
	d := newDB(t)
	ctx := t.Context()
	if err := postgres.MigrateTo(ctx, d.ownerDSN, 2); err != nil {
		t.Fatalf("migrate to 0002: %v", err)
	}
	old := open(t, d, postgres.Options{})
	ids := map[string]string{}
	for _, tn := range []string{"tnt_a", "tnt_b"} {
		if _, err := old.CreateTenant(ctx, crm.Tenant{ID: tn, Name: tn}); err != nil {
			t.Fatal(err)
		}
		for _, loc := range []string{"Berlin, DE", "München", ""} {
			p, err := old.CreatePerson(ctx, tn, crm.Person{Kind: crm.KindCandidate, FirstName: "Ada", Location: loc, Skills: []string{"Go"}})
			if err != nil {
				t.Fatal(err)
			}
			ids[tn+"/"+loc] = p.ID
		}
	}
	old.Close()
	if err := postgres.Migrate(ctx, d.ownerDSN); err != nil {
		t.Fatalf("migrate forward: %v", err)
	}
	s := open(t, d, postgres.Options{})
	for _, tc := range []struct {
		name string
		q    crm.PeopleQuery
		want string // location of tnt_a's one match
	}{
		{"location alone", crm.PeopleQuery{Location: "BERLIN"}, "Berlin, DE"},
		{"location alone, non-ASCII", crm.PeopleQuery{Location: "ünch"}, "München"},
		{"with text", crm.PeopleQuery{Text: "ada", Location: "erlin"}, "Berlin, DE"},
		{"with skills", crm.PeopleQuery{Skills: []string{"go"}, Location: "nchen"}, "München"},
	} {
		res, err := s.SearchPeople(ctx, "tnt_a", tc.q)
		if err != nil || !slices.Equal(res.IDs, []string{ids["tnt_a/"+tc.want]}) || res.Total != 1 {
			t.Errorf("%s: %v (total %d), %v; want [%s]", tc.name, res.IDs, res.Total, err, ids["tnt_a/"+tc.want])
		}
	}
}
