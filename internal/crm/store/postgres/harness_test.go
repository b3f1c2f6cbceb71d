package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres"
)

// dsnEnv names the superuser DSN the tests use to create and drop their
// databases and roles. It must be a URL.
const dsnEnv = "CRM_MCP_POSTGRES_DSN"

const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&connect_timeout=5"

// cluster is the PostgreSQL server the tests share: reached once, with one
// owner role per test run (dropped by TestMain).
var cluster struct {
	once  sync.Once
	err   error
	admin *url.URL
	owner string
}

func TestMain(m *testing.M) {
	code := m.Run()
	teardown()
	os.Exit(code)
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func adminDSN() string {
	if v := os.Getenv(dsnEnv); v != "" {
		return v
	}
	return defaultDSN
}

// withDB returns the admin URL pointed at another role and database.
func withDB(role, db string) string {
	u := *cluster.admin
	if role != "" {
		u.User = url.User(role)
	}
	u.Path = "/" + db
	return u.String()
}

// admin runs statements as the superuser on the admin database.
func admin(ctx context.Context, sqls ...string) error {
	conn, err := pgx.Connect(ctx, cluster.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, q := range sqls {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func setup() {
	u, err := url.Parse(adminDSN())
	if err != nil || u.Scheme == "" {
		cluster.err = fmt.Errorf("%s is not a URL", dsnEnv)
		return
	}
	cluster.admin = u
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	owner := randomName("crm_test_owner_")
	// The owner is a plain role, as in production: no superuser, no
	// BYPASSRLS, no CREATEROLE, so the app role is created here.
	cluster.err = admin(ctx,
		`CREATE ROLE `+owner+` LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS`,
		`DO $$ BEGIN
			CREATE ROLE `+postgres.AppRole+` LOGIN NOSUPERUSER NOBYPASSRLS;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
		END $$`)
	if cluster.err == nil {
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
	cluster.once.Do(setup)
	if cluster.err == nil {
		return
	}
	msg := fmt.Sprintf("PostgreSQL not reachable at %s (set %s to a superuser URL): %v", redact(adminDSN()), dsnEnv, cluster.err)
	if os.Getenv("CRM_MCP_REQUIRE_SERVICES") == "1" {
		tb.Fatal(msg + " (CRM_MCP_REQUIRE_SERVICES=1)")
	}
	tb.Skip(msg + "; start PostgreSQL or set CRM_MCP_REQUIRE_SERVICES=1 to make this a failure")
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := randomName("crm_test_")
	if err := admin(ctx, `CREATE DATABASE `+name+` OWNER `+cluster.owner); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("drop database: %v", err)
		}
	})
	return db{
		name:     name,
		ownerDSN: withDB(cluster.owner, name),
		appDSN:   withDB(postgres.AppRole, name),
		superDSN: withDB("", name),
	}
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
