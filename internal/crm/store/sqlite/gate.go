package sqlite

import (
	"context"
	"database/sql"
)

// fifoGate admits at most cap(g) callers at a time and wakes waiters in
// the order they arrived. It sits in front of each connection pool with
// the pool's size, so database/sql never has a waiter of its own: when
// all its connections are busy, database/sql hands a freed connection to
// a random waiter (connRequestSet.TakeRandom), and under a queue that
// turns a few milliseconds of average wait into a long tail for the
// unlucky. A Go channel's blocked senders are served first come, first
// served, select included.
type fifoGate chan struct{}

func newFIFOGate(n int) fifoGate { return make(fifoGate, n) }

// enter waits for a place, or for ctx.
func (g fifoGate) enter(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	default:
	}
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave gives the place back.
func (g fifoGate) leave() { <-g }

// readOne runs f, a read of one statement (or of independent ones), on
// the transaction of the ReadSnapshot it is inside, else on the reader
// pool behind the gate: a single statement is its own snapshot and needs
// no BEGIN of its own. f must be done with the connection when it
// returns (rows closed, rows scanned).
func (s *Store) readOne(ctx context.Context, op string, f func(q querier) error) error {
	if tx, ok := ctx.Value(readTxKey{s}).(*sql.Tx); ok {
		return dbErr(op, f(tx))
	}
	if err := s.rGate.enter(ctx); err != nil {
		return dbErr(op, err)
	}
	defer s.rGate.leave()
	return dbErr(op, f(s.r))
}

// readTxKey carries, in a context, the read transaction ReadSnapshot
// opened on this store; read runs inside it instead of opening another.
type readTxKey struct{ s *Store }

// ReadSnapshot runs f with a context in which every read of this store
// shares one read transaction: one snapshot, one connection, one pass
// through the gate for a result that takes several store calls. Writes
// made meanwhile (on the writer connection) are not seen inside; f must
// not write. tenantID is not needed here (every statement filters by
// tenant) and is taken for the same signature as the Postgres store's.
func (s *Store) ReadSnapshot(ctx context.Context, tenantID string, f func(ctx context.Context) error) error {
	var inner error
	err := s.read(ctx, "snapshot", func(tx *sql.Tx) error {
		// f's errors come from store methods and are mapped already;
		// keep them as they are rather than prefixing op twice.
		inner = f(context.WithValue(ctx, readTxKey{s}, tx))
		return nil
	})
	if err != nil {
		return err
	}
	return inner
}
