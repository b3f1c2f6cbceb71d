package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// InTenant runs fn in the Store's own tenant transaction (set_config
// first, rollback on error), so tests can look at the connection state a
// Store method sees.
func InTenant(s *Store, ctx context.Context, tenantID string, fn func(pgx.Tx) error) error {
	return s.inTenant(ctx, "test", tenantID, readWrite, func(_ context.Context, tx pgx.Tx) error { return fn(tx) })
}

// Pool returns the Store's pool, to inspect a connection between
// requests.
func Pool(s *Store) *pgxpool.Pool { return s.pool }

// MigrateTo applies the migrations up to version upTo only, to build a
// database as an older release left it.
func MigrateTo(ctx context.Context, ownerDSN string, upTo int) error {
	return migrateTo(ctx, ownerDSN, upTo)
}
