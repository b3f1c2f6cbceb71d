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
	"sync/atomic"
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
	// MaxReaders caps the read-only connections. If zero,
	// DefaultMaxReaders.
	MaxReaders int
	// MaintainEvery is how often the full-text indexes are merged in the
	// background (see maintain.go), the first time MaintainEvery after
	// Open. If zero, 5 min; if negative, never.
	MaintainEvery time.Duration
	// OnMaintain, if not nil, gets the result of each background pass:
	// the merge steps that did work, the time it took, and any error. A
	// pass skipped for too few writes reports 0 steps.
	OnMaintain func(steps int, took time.Duration, err error)
	// MergeAfterWrites is how many full-text rows this process must have
	// rewritten since the last background merge for the next one to run
	// (the first always runs). If zero, 1 000; if negative, 0.
	MergeAfterWrites int
}

// DefaultMaxReaders is the read pool's size. Fewer were tried on the
// 2-CPU benchmark machine and kept out (docs/performance.md, "Fifth
// session"):
//
//   - More concurrent searches than Ps get less done. This SQLite build
//     (modernc, SQLITE_ENABLE_MEMORY_MANAGEMENT) has one page cache, behind
//     one Go sync.Mutex, for all the connections of the process, taken for
//     every page a statement touches. With more page-heavy statements
//     running than Ps, a holder gets descheduled, the mutex turns to
//     starvation mode and page fetches become goroutine handoffs: four
//     concurrent searches over 100 000 people ran at 60-72/s on 4
//     connections and 86-108/s on 2 (2 CPUs).
//   - But with 2 connections a getPersonInfo waited behind two broad
//     searches: in the load harness's mixed workload its median went from
//     ~5-15 ms to ~150 ms. Capping only the searches at 2 (on 4
//     connections) kept getPersonInfo fast but made short searches wait
//     behind broad ones (searchPeople's median 100 → 560 ms in the one
//     run that was not disturbed).
const DefaultMaxReaders = 4

// pageCacheKiB is the page cache of a store, all its connections
// together (160 MiB, what 4 readers and the writer had at 32 MiB each),
// split between them whatever their number.
const pageCacheKiB = 160 << 10

// Store is a crm.Store on one SQLite database.
type Store struct {
	w, r *sql.DB // writer (one connection) and readers
	// wGate and rGate admit as many callers as each pool has connections,
	// in arrival order (see fifoGate). They are one gate when w == r.
	wGate, rGate fifoGate
	now          func() time.Time
	// ords caches tenant id → ord (tenants.ord never changes).
	ords sync.Map
	// stopMaintain ends the background index upkeep, which closes
	// maintainDone when it has returned; both nil when it is off.
	stopMaintain context.CancelFunc
	maintainDone chan struct{}
	// ftsWrites counts full-text rows this process has rewritten since the
	// last background merge (see maintain.go).
	ftsWrites atomic.Int64
	// mergeAfterWrites is Options.MergeAfterWrites.
	mergeAfterWrites int64
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
		opts.MaxReaders = DefaultMaxReaders
	}
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()),
		"foreign_keys(1)",
		"journal_mode(WAL)",
		// NORMAL is durable against application crashes in WAL mode; a
		// power loss can lose the last commits, never corrupt the file.
		"synchronous(NORMAL)",
		"temp_store(MEMORY)",
		// The page cache is one pool for every connection of the process
		// (see DefaultMaxReaders), sized as the sum of the connections'
		// cache_size: split a fixed budget between them, so that fewer
		// readers do not mean a smaller cache.
		fmt.Sprintf("cache_size(%d)", -pageCacheKiB/(opts.MaxReaders+1)),
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
		s.wGate = newFIFOGate(1)
		s.rGate = s.wGate
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
		s.wGate = newFIFOGate(1)
		s.rGate = newFIFOGate(opts.MaxReaders)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if opts.MaintainEvery == 0 {
		opts.MaintainEvery = defaultMaintainEvery
	}
	switch {
	case opts.MergeAfterWrites == 0:
		s.mergeAfterWrites = defaultMergeAfterWrites
	case opts.MergeAfterWrites > 0:
		s.mergeAfterWrites = int64(opts.MergeAfterWrites)
	}
	if opts.MaintainEvery > 0 {
		mctx, stop := context.WithCancel(context.Background())
		s.stopMaintain, s.maintainDone = stop, make(chan struct{})
		go s.maintain(mctx, opts.MaintainEvery, opts.OnMaintain)
	}
	return s, nil
}

// Close stops the background index upkeep (a merge step in progress is
// cancelled and rolled back) and closes both pools.
func (s *Store) Close() error {
	if s.stopMaintain != nil {
		s.stopMaintain()
		<-s.maintainDone
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.rGate.enter(ctx); err != nil {
		return dbErr("ping", err)
	}
	defer s.rGate.leave()
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
	if err := s.wGate.enter(ctx); err != nil {
		return dbErr(op, err)
	}
	defer s.wGate.leave()
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
	if tx, ok := ctx.Value(readTxKey{s}).(*sql.Tx); ok {
		// Inside readSnapshot: the caller's snapshot and connection.
		return dbErr(op, f(tx))
	}
	if err := s.rGate.enter(ctx); err != nil {
		return dbErr(op, err)
	}
	defer s.rGate.leave()
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
