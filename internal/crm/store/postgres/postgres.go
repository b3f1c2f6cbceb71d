package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

var _ crm.Store = (*Store)(nil)

// AppRole is the role the application connects as (or a member of which
// it connects as). Migrate creates it when missing and grants it the least
// it needs; it is never the owner of the tables.
const AppRole = "crm_app"

// Options configures a Store. The zero value is usable.
type Options struct {
	// MaxConns caps the pool. If zero, defaults to pgxpool's default
	// (the greater of 4 and the number of CPUs) or the DSN's pool_max_conns.
	MaxConns int32
	// OpTimeout bounds every Store method (its whole transaction); a
	// method that exceeds it fails with crm.ErrUnavailable. If zero,
	// defaults to 10 s.
	OpTimeout time.Duration
	// Now returns the current time, used to stamp records. If nil,
	// defaults to time.Now.
	Now func() time.Time
	// Logger receives one record per failed database call, with the
	// operation and SQLSTATE only (never SQL, arguments or server
	// messages). If nil, nothing is logged.
	Logger *slog.Logger
}

// Store is a crm.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	timeout time.Duration
	log     *slog.Logger
}

// ErrUnsafeRole is returned by Open when the DSN's role would not be held
// to row-level security: a superuser, a BYPASSRLS role, or the owner (or a
// member of the owner role) of the tables, who could turn it off.
var ErrUnsafeRole = errors.New("postgres: the application role bypasses or controls row-level security")

// Open connects to the database at dsn, which must name the application
// role (see AppRole), never the owner or a superuser: Open checks this and
// fails with ErrUnsafeRole otherwise. The schema must have been migrated
// (Migrate). The returned Store owns its pool; Close releases it.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors may quote the DSN, password included.
		return nil, errors.New("postgres: invalid dsn")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "crm-mcp"
	}
	s := &Store{now: opts.Now, timeout: opts.OpTimeout, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.fail("open", err)
	}
	s.pool = pool
	if err := s.checkRole(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// checkRole refuses a connection role that row-level security would not
// hold: it is the last line of defence, and a misconfigured DSN would
// otherwise turn it off silently.
func (s *Store) checkRole(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var super, bypass, owner, migrated bool
	err := s.pool.QueryRow(ctx, `
		SELECT r.rolsuper, r.rolbypassrls,
		       coalesce(pg_has_role(current_user, c.relowner, 'MEMBER'), false),
		       c.oid IS NOT NULL
		FROM pg_roles AS r
		LEFT JOIN pg_class AS c ON c.oid = to_regclass('people')
		WHERE r.rolname = current_user`).Scan(&super, &bypass, &owner, &migrated)
	if err != nil {
		return s.fail("check role", err)
	}
	if !migrated {
		return errors.New("postgres: schema not migrated (run Migrate as the owner role)")
	}
	if super || bypass || owner {
		return ErrUnsafeRole
	}
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return s.fail("ping", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// stamp returns the current time as PostgreSQL stores it (UTC, whole
// microseconds), so a record a method returns equals the one read back.
func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

type txMode int

const (
	readOnly txMode = iota
	readWrite
	// readSnapshotMode is read-only at REPEATABLE READ: every statement
	// sees the snapshot the first one took (readSnapshot).
	readSnapshotMode
)

// inTenant runs fn in a transaction bound to tenantID: the first statement
// sets app.tenant_id transaction-locally (is_local = true), so row-level
// security admits only that tenant's rows and the setting ends with the
// transaction, committed or not: a pooled connection never carries it into
// the next request. Queries filter by tenant_id as well (defence in depth).
// fn must use the ctx it is given, which carries OpTimeout.
// An empty tenant id matches nothing and fails with crm.ErrNotFound.
func (s *Store) inTenant(ctx context.Context, op, tenantID string, mode txMode, fn func(context.Context, pgx.Tx) error) error {
	if tenantID == "" {
		return fmt.Errorf("postgres: %s: %w", op, crm.ErrNotFound)
	}
	if in, ok := ctx.Value(snapshotKey{s}).(snapshot); ok && in.tenantID == tenantID && mode == readOnly {
		// Inside readSnapshot for the same tenant: its transaction.
		if err := fn(ctx, in.tx); err != nil {
			return s.fail(op, err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	opts := pgx.TxOptions{AccessMode: pgx.ReadOnly}
	switch mode {
	case readWrite:
		opts.AccessMode = pgx.ReadWrite
	case readSnapshotMode:
		opts.IsoLevel = pgx.RepeatableRead
	}
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return s.fail(op, err)
	}
	defer func() {
		// After a commit this is a no-op. If ctx is done pgx closes the
		// connection instead of returning it to the pool mid-transaction.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer rcancel()
		_ = tx.Rollback(rctx)
	}()
	if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenantID); err != nil {
		return s.fail(op, err)
	}
	if err := fn(ctx, tx); err != nil {
		return s.fail(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// snapshotKey carries, in a context, the read transaction readSnapshot
// opened on this store for one tenant.
type snapshotKey struct{ s *Store }

type snapshot struct {
	tenantID string
	tx       pgx.Tx
}

// ReadSnapshot runs f with a context in which this store's reads for
// tenantID share one read-only transaction (one connection, one
// set_config, one snapshot: REPEATABLE READ). Writes, and reads for
// another tenant, still get their own transactions.
func (s *Store) ReadSnapshot(ctx context.Context, tenantID string, f func(ctx context.Context) error) error {
	var inner error
	err := s.inTenant(ctx, "snapshot", tenantID, readSnapshotMode, func(ctx context.Context, tx pgx.Tx) error {
		// f's errors come from store methods and are mapped already.
		inner = f(context.WithValue(ctx, snapshotKey{s}, snapshot{tenantID: tenantID, tx: tx}))
		return nil
	})
	if err != nil {
		return err
	}
	return inner
}
