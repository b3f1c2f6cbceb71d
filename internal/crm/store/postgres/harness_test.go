package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres/pgtest"
)

// The provisioning (the superuser DSN from CRM_MCP_POSTGRES_DSN, skipping
// or failing without PostgreSQL, fresh databases) lives in package pgtest,
// which other packages' tests share. This file adds what only these tests
// need: one owner role per test run (dropped by TestMain) that owns every
// database of the run.

// cluster is the owner role of this test run.
var cluster struct {
	once  sync.Once
	err   error
	owner string
}

func TestMain(m *testing.M) {
	code := m.Run()
	teardown()
	os.Exit(code)
}

func randomName(prefix string) string { return pgtest.RandomName(prefix) }

// withDB returns the admin URL pointed at another role and database.
func withDB(role, db string) string { return pgtest.WithDB(role, db) }

// admin runs statements as the superuser on the admin database.
func admin(ctx context.Context, sqls ...string) error { return pgtest.Admin(ctx, sqls...) }

func setup() {
	if cluster.err = pgtest.Reachable(); cluster.err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The owner is a plain role, as in production: no superuser, no
	// BYPASSRLS, no CREATEROLE, so the app role is created by pgtest.
	owner := randomName("crm_test_owner_")
	if cluster.err = pgtest.CreateOwner(ctx, owner); cluster.err == nil {
		cluster.owner = owner
	}
}

func teardown() {
	if cluster.owner == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if bench.name != "" {
		_ = admin(ctx, `DROP DATABASE IF EXISTS `+bench.name+` WITH (FORCE)`)
	}
	if err := admin(ctx, `DROP ROLE IF EXISTS `+cluster.owner); err != nil {
		fmt.Fprintf(os.Stderr, "postgres tests: drop role %s: %v\n", cluster.owner, err)
	}
}

// need skips (or fails, under CRM_MCP_REQUIRE_SERVICES=1) when PostgreSQL
// cannot be reached.
func need(tb testing.TB) {
	tb.Helper()
	pgtest.Need(tb)
	cluster.once.Do(setup)
	if cluster.err != nil {
		tb.Fatalf("PostgreSQL at %s: create the test owner role: %v", pgtest.Redact(pgtest.AdminDSN()), cluster.err)
	}
}

// db is one fresh database of this test run.
type db struct {
	name             string
	ownerDSN, appDSN string
	superDSN         string
}

// newDB creates an empty database owned by the run's owner role and drops
// it when tb ends.
func newDB(tb testing.TB) db {
	tb.Helper()
	need(tb)
	d := pgtest.NewDBOwnedBy(tb, cluster.owner)
	return db{name: d.Name, ownerDSN: d.OwnerDSN, appDSN: d.AppDSN, superDSN: d.SuperDSN}
}

// newMigratedDB is newDB plus Migrate as the owner.
func newMigratedDB(tb testing.TB) db {
	tb.Helper()
	d := newDB(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := postgres.Migrate(ctx, d.ownerDSN); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return d
}

// open opens a Store on d as the app role and closes it when tb ends.
func open(tb testing.TB, d db, opts postgres.Options) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), d.appDSN, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// connect opens a raw connection to d as role dsn, closed when tb ends.
func connect(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// sqlState returns err's SQLSTATE, or "".
func sqlState(err error) string {
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) {
		return pgErr.SQLState()
	}
	return ""
}
