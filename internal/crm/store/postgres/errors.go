package postgres

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// errInternal is the class of failures that are bugs rather than bad
// input or an unavailable database (a privilege or row-level security
// refusal, a scan into the wrong type).
var errInternal = errors.New("internal error")

// errNoRef is returned inside a transaction when a referenced record is
// missing; it becomes crm.ErrInvalid.
var errNoRef = errors.New("missing reference")

// Error is a failed Store call. Its message names the operation and the
// class (a crm sentinel or "internal error") and nothing else: no SQL,
// argument values, ids or server messages, so it is safe to log and the
// same for another tenant's id as for a missing one. SQLState carries the
// server's code for logs and metrics. errors.Is matches the class, and the
// context error when the call ran out of time or was canceled.
type Error struct {
	Op       string // e.g. "create person"
	SQLState string // empty when the failure did not come from the server
	class    error
	ctxErr   error
}

func (e *Error) Error() string { return "postgres: " + e.Op + ": " + e.class.Error() }

// Unwrap returns the class and, if any, the context error.
func (e *Error) Unwrap() []error {
	if e.ctxErr != nil {
		return []error{e.class, e.ctxErr}
	}
	return []error{e.class}
}

// fail turns err into a log-safe error. Errors that already carry a crm
// sentinel and were built by this package (validation) pass through.
func (s *Store) fail(op string, err error) error {
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	if isSentinel(err) {
		return err
	}
	e := classify(op, err)
	level := slog.LevelDebug // not found, invalid, conflict: the caller's business
	if e.class == crm.ErrUnavailable || e.class == errInternal {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "postgres call failed", "op", op, "class", e.class.Error(), "sqlstate", e.SQLState)
	return e
}

func isSentinel(err error) bool {
	for _, s := range []error{crm.ErrNotFound, crm.ErrInvalid, crm.ErrConflict, crm.ErrUnavailable} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func classify(op string, err error) *Error {
	e := &Error{Op: op, class: errInternal}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		e.class = crm.ErrUnavailable
		if errors.Is(err, context.DeadlineExceeded) {
			e.ctxErr = context.DeadlineExceeded
		} else {
			e.ctxErr = context.Canceled
		}
		return e
	}
	if errors.Is(err, pgx.ErrNoRows) {
		e.class = crm.ErrNotFound
		return e
	}
	if errors.Is(err, errNoRef) {
		e.class = crm.ErrInvalid
		return e
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		e.SQLState = pgErr.Code
		e.class = sqlStateClass(pgErr)
		return e
	}
	var scanErr pgx.ScanArgError
	if errors.As(err, &scanErr) {
		return e
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		e.class = crm.ErrUnavailable
		return e
	}
	// Anything else from the driver is a broken or closed connection.
	e.class = crm.ErrUnavailable
	return e
}

func sqlStateClass(pgErr *pgconn.PgError) error {
	code := pgErr.Code
	switch code {
	case "23505": // unique_violation
		return crm.ErrConflict
	case "23503", // foreign_key_violation: a record (or tenant) the tenant does not have
		"23502", "23514", // not_null_violation, check_violation
		"22001", "22021", "22P02", "22003", "22007", "22008", // too long, bad encoding (NUL), bad text, out of range, datetime
		"54000": // program_limit_exceeded (e.g. a tsvector over 1 MB)
		return crm.ErrInvalid
	case "40001", "40P01", "55P03", "57014", "25006": // serialization, deadlock, lock timeout, canceled, read-only replica
		return crm.ErrUnavailable
	}
	switch code[:2] {
	case "08", "53", "57", "58": // connection, resources, operator intervention, system
		return crm.ErrUnavailable
	}
	return errInternal
}
