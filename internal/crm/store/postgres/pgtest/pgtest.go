// Package pgtest provisions throw-away PostgreSQL databases for tests: a
// fresh database owned by a fresh non-superuser owner role (as in
// production: no superuser, no BYPASSRLS, no CREATEROLE), with the
// application role postgres.AppRole able to log in, both dropped when the
// test ends.
//
// The superuser URL comes from CRM_MCP_POSTGRES_DSN (default
// postgres://postgres@127.0.0.1:5432/test). When PostgreSQL cannot be
// reached, tests skip, or fail under CRM_MCP_REQUIRE_SERVICES=1.
//
// It is test support only; nothing outside tests imports it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres"
)

// DSNEnv names the superuser DSN used to create and drop databases and
// roles. It must be a URL.
const DSNEnv = "CRM_MCP_POSTGRES_DSN"

// DefaultDSN is the superuser DSN when DSNEnv is not set.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&connect_timeout=5"

// RequireEnv, set to 1, turns an unreachable PostgreSQL into a failure.
const RequireEnv = "CRM_MCP_REQUIRE_SERVICES"

// cluster is the PostgreSQL server of this process, reached once.
var cluster struct {
	once  sync.Once
	err   error
	admin *url.URL
}

// AdminDSN is the superuser DSN in use (DSNEnv, else DefaultDSN).
func AdminDSN() string {
	if v := os.Getenv(DSNEnv); v != "" {
		return v
	}
	return DefaultDSN
}

// RandomName returns prefix followed by 12 random hex digits: a valid,
// unquoted SQL identifier when prefix is one.
func RandomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Redact hides the password of a DSN for messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

func setup() {
	u, err := url.Parse(AdminDSN())
	if err != nil || u.Scheme == "" {
		cluster.err = fmt.Errorf("%s is not a URL", DSNEnv)
		return
	}
	cluster.admin = u
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The app role is cluster-wide and shared by every test run (and by
	// concurrently running test binaries): create it once, tolerating a
	// race with another creator.
	cluster.err = Admin(ctx, `DO $$ BEGIN
			CREATE ROLE `+postgres.AppRole+` LOGIN NOSUPERUSER NOBYPASSRLS;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
		END $$`)
}

// Reachable reports whether PostgreSQL can be reached (and the app role
// exists), with the reason when not. It tries once per process.
func Reachable() error {
	cluster.once.Do(setup)
	return cluster.err
}

// Need skips tb (or fails it, under CRM_MCP_REQUIRE_SERVICES=1) when
// PostgreSQL cannot be reached.
func Need(tb testing.TB) {
	tb.Helper()
	err := Reachable()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("PostgreSQL not reachable at %s (set %s to a superuser URL): %v", Redact(AdminDSN()), DSNEnv, err)
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatal(msg + " (" + RequireEnv + "=1)")
	}
	tb.Skip(msg + "; start PostgreSQL or set " + RequireEnv + "=1 to make this a failure")
}

// Admin runs statements as the superuser on the admin database. Call
// [Need] or [Reachable] first.
func Admin(ctx context.Context, sqls ...string) error {
	if cluster.admin == nil {
		return fmt.Errorf("pgtest: PostgreSQL not set up (call Need or Reachable first)")
	}
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

// WithDB returns the superuser URL pointed at another role (none: the
// superuser) and database. Roles log in without a password, as the test
// cluster trusts local connections.
func WithDB(role, db string) string {
	u := *cluster.admin
	if role != "" {
		u.User = url.User(role)
	}
	u.Path = "/" + db
	return u.String()
}

// CreateOwner creates a login role fit to own a CRM database: no
// superuser, no CREATEROLE, no BYPASSRLS.
func CreateOwner(ctx context.Context, name string) error {
	return Admin(ctx, `CREATE ROLE `+name+` LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS`)
}

// DB is one fresh, empty database.
type DB struct {
	Name     string // the database's name
	Owner    string // the owner role's name
	OwnerDSN string // as the owner: for postgres.Migrate
	AppDSN   string // as postgres.AppRole: for postgres.Open
	SuperDSN string // as the superuser
}

// NewDB creates an empty database owned by a new owner role, and drops
// both when tb ends (the database WITH (FORCE), so open connections do
// not hold it). It skips or fails tb like [Need] without PostgreSQL.
func NewDB(tb testing.TB) DB {
	tb.Helper()
	Need(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	owner := RandomName("crm_test_owner_")
	if err := CreateOwner(ctx, owner); err != nil {
		tb.Fatalf("create owner role: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := Admin(ctx, `DROP ROLE IF EXISTS `+owner); err != nil {
			tb.Errorf("drop owner role: %v", err)
		}
	})
	d := NewDBOwnedBy(tb, owner)
	return d
}

// NewDBOwnedBy creates an empty database owned by the existing role owner
// and drops it when tb ends. Call [Need] first.
func NewDBOwnedBy(tb testing.TB, owner string) DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := RandomName("crm_test_")
	if err := Admin(ctx, `CREATE DATABASE `+name+` OWNER `+owner); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := Admin(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("drop database: %v", err)
		}
	})
	return DB{
		Name:     name,
		Owner:    owner,
		OwnerDSN: WithDB(owner, name),
		AppDSN:   WithDB(postgres.AppRole, name),
		SuperDSN: WithDB("", name),
	}
}
