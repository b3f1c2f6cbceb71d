// Package sqlite is the embedded crm.Store: one SQLite file (pure Go,
// modernc.org/sqlite) in WAL mode, with foreign keys on and FTS5 full-text
// indexes for people, companies and jobs.
//
// Tenancy: every table has tenant_id, every key and reference is composite
// (tenant_id, id), and every statement filters by the tenant it is given, so
// another tenant's id can neither be read nor joined nor referenced.
//
// Connections: one writer connection (SQLite allows one writer at a time;
// serialising writers in database/sql instead of in SQLite's busy loop
// avoids SQLITE_BUSY between our own writes and makes BEGIN IMMEDIATE
// transactions cheap) and a small pool of read-only connections, which WAL
// lets read a consistent snapshot while the writer commits.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now stamps every time the store writes. If nil, time.Now.
	Now func() time.Time
	// BusyTimeout is how long a statement waits for another process's
	// write lock before failing with crm.ErrUnavailable. If zero, 5 s.
	BusyTimeout time.Duration
	// MaxReaders caps the read-only connections. If zero, 4.
	MaxReaders int
}

// Store is a crm.Store on one SQLite database.
type Store struct {
	w, r *sql.DB // writer (one connection) and readers
	now  func() time.Time
	// ords caches tenant id → ord (tenants.ord never changes).
	ords sync.Map
}

var _ crm.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path, applies the
// embedded migrations that are not applied yet, and returns the store.
// path ":memory:" gives a private in-memory database on one connection.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.MaxReaders <= 0 {
		opts.MaxReaders = 4
	}
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()),
		"foreign_keys(1)",
		"journal_mode(WAL)",
		// NORMAL is durable against application crashes in WAL mode; a
		// power loss can lose the last commits, never corrupt the file.
		"synchronous(NORMAL)",
		"temp_store(MEMORY)",
		"cache_size(-32768)", // 32 MiB of page cache per connection
	}
	dsn := func(extra ...string) string {
		v := url.Values{}
		for _, p := range append(pragmas, extra...) {
			v.Add("_pragma", p)
		}
		return "file:" + path + "?" + v.Encode()
	}
	s := &Store{now: func() time.Time { return opts.Now().UTC() }}
	var err error
	if path == ":memory:" {
		if s.w, err = sql.Open("sqlite", "file::memory:?"+url.Values{"_pragma": {"foreign_keys(1)"}, "_txlock": {"immediate"}}.Encode()); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetConnMaxIdleTime(0)
		s.w.SetConnMaxLifetime(0)
		s.r = s.w
	} else {
		if s.w, err = sql.Open("sqlite", dsn()+"&_txlock=immediate"); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		s.w.SetMaxOpenConns(1)
		if s.r, err = sql.Open("sqlite", dsn("query_only(1)")); err != nil {
			s.w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		s.r.SetMaxOpenConns(opts.MaxReaders)
		s.r.SetMaxIdleConns(opts.MaxReaders)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return dbErr("ping", err)
	}
	return nil
}

// migrate applies every embedded migration not yet recorded in
// schema_migrations, each in its own write transaction, so running it
// again (or from two processes) is harmless.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return dbErr("migrate", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		err = s.write(ctx, "migrate", func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, s.now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", version, err)
		}
	}
	return nil
}

// write runs f in a write transaction (BEGIN IMMEDIATE on the single writer
// connection) and commits if f returns nil. Errors are mapped to crm
// sentinels.
func (s *Store) write(ctx context.Context, op string, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(op, err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return dbErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return dbErr(op, err)
	}
	return nil
}

// read runs f in a read transaction: one consistent snapshot for reads
// that take several statements.
func (s *Store) read(ctx context.Context, op string, f func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.r != s.w})
	if err != nil {
		return dbErr(op, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	if err := f(tx); err != nil {
		return dbErr(op, err)
	}
	return nil
}

// storeError is an error whose text is only the operation and the crm
// sentinel (no SQL, no values), while errors.As still reaches the driver
// error for logs that need the code.
type storeError struct {
	op    string
	kind  error
	cause error
}

func (e *storeError) Error() string   { return "sqlite: " + e.op + ": " + e.kind.Error() }
func (e *storeError) Unwrap() []error { return []error{e.kind, e.cause} }

// dbErr maps an error to a crm sentinel. Errors that already are crm
// sentinels (from validation or lookups) and context errors pass through
// with the operation prepended.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *storeError
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, crm.ErrNotFound), errors.Is(err, crm.ErrInvalid), errors.Is(err, crm.ErrConflict), errors.Is(err, crm.ErrUnavailable):
		return fmt.Errorf("sqlite: %s: %w", op, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &storeError{op: op, kind: crm.ErrUnavailable, cause: err}
	case errors.Is(err, sql.ErrNoRows):
		return &storeError{op: op, kind: crm.ErrNotFound, cause: err}
	}
	var e *sqlite3.Error
	if errors.As(err, &e) {
		switch code := e.Code(); {
		case code == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &storeError{op: op, kind: crm.ErrConflict, cause: err}
		case code&0xff == sqlite3lib.SQLITE_CONSTRAINT:
			return &storeError{op: op, kind: crm.ErrInvalid, cause: err}
		}
	}
	return &storeError{op: op, kind: crm.ErrUnavailable, cause: err}
}

// notFound is the one error for a missing (or foreign) id: it never names
// the id, so both cases read the same.
func notFound(what string) error { return fmt.Errorf("%s: %w", what, crm.ErrNotFound) }

func invalid(what string) error { return fmt.Errorf("%s: %w", what, crm.ErrInvalid) }

// ---- value helpers

// ts stores a time as Unix nanoseconds. Times a record may hold are
// limited to crm.MinTime..crm.MaxTime by validation; query bounds outside
// that range are clamped, so they can never overflow int64 and wrap.
func ts(t time.Time) int64 {
	switch {
	case t.Before(crm.MinTime):
		t = crm.MinTime
	case t.After(crm.MaxTime):
		t = crm.MaxTime
	}
	return t.UnixNano()
}

func fromTS(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func fromNullTS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromTS(n.Int64)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// requireTenant rejects a blank tenant before any SQL runs.
func requireTenant(tenantID string) error {
	if strings.TrimSpace(tenantID) == "" {
		return invalid("tenant is required")
	}
	return nil
}

// listLimit applies the default page and the maximum to a list limit.
func listLimit(n int) int {
	if n <= 0 {
		return crm.DefaultPage
	}
	return min(n, crm.MaxLimit)
}

// exists reports whether a row with id exists in the tenant's table.
func exists(ctx context.Context, q querier, table, tenantID, id string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE tenant_id = ? AND id = ?", tenantID, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// checkUsers returns ErrInvalid unless every non-empty id names a user of
// the tenant: owners, authors, assignees and actors must exist there, as
// PostgreSQL's foreign keys enforce (another tenant's user is as unknown as
// a missing one).
func checkUsers(ctx context.Context, q querier, tenantID string, ids ...string) error {
	for _, id := range ids {
		if id == "" {
			continue
		}
		ok, err := exists(ctx, q, "users", tenantID, id)
		if err != nil {
			return err
		}
		if !ok {
			return invalid("unknown user")
		}
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
