package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded file, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimPrefix(f, "migrations/"), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: bad migration file name %q", f)
		}
		b, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("postgres: duplicate migration version %d", ms[i].version)
		}
	}
	return ms, nil
}

// migrateLockKey serializes concurrent Migrate calls on one database
// (pg_advisory_xact_lock); any constant works as long as it never changes.
const migrateLockKey = 0x63726d6d6370 // "crmmcp"

// Migrate brings the schema at ownerDSN up to date. ownerDSN must connect
// as the role that owns (or will own) the tables: ideally a dedicated,
// non-superuser role with CREATE on the schema, never AppRole. Migrate
// creates AppRole when it does not exist (this needs CREATEROLE; create
// the role beforehand otherwise) and grants it what the Store needs.
//
// Migrations are embedded SQL files applied in version order, each
// recorded in schema_migrations; all pending ones run in one transaction
// under an advisory lock, so concurrent calls are safe and a failure
// leaves the schema as it was. Running Migrate again is a no-op.
func Migrate(ctx context.Context, ownerDSN string) error {
	return migrateTo(ctx, ownerDSN, 0)
}

// migrateTo applies the pending migrations up to version upTo (all of
// them when upTo is 0). Tests use it to build a database as an older
// release left it.
func migrateTo(ctx context.Context, ownerDSN string, upTo int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(ownerDSN)
	if err != nil {
		return errors.New("postgres: migrate: invalid dsn")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return classify("migrate", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := ensureAppRole(ctx, conn); err != nil {
		return err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return classify("migrate", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLockKey)); err != nil {
		return classify("migrate: lock", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return classify("migrate: schema_migrations", err)
	}
	applied := map[int]bool{}
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return classify("migrate: read versions", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return classify("migrate: read versions", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return classify("migrate: read versions", err)
	}
	var schema string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return classify("migrate: schema", err)
	}
	vars := strings.NewReplacer(
		"@SCHEMA@", pgx.Identifier{schema}.Sanitize(),
		"@APP_ROLE@", pgx.Identifier{AppRole}.Sanitize(),
	)
	for _, m := range ms {
		if applied[m.version] || (upTo > 0 && m.version > upTo) {
			continue
		}
		// The simple protocol runs a multi-statement file in one call.
		if _, err := tx.Exec(ctx, vars.Replace(m.sql), pgx.QueryExecModeSimpleProtocol); err != nil {
			return classify(fmt.Sprintf("migrate: apply %04d_%s", m.version, m.name), err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return classify("migrate: record version", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return classify("migrate: commit", err)
	}
	return nil
}

// ensureAppRole creates AppRole if it does not exist. Roles belong to the
// cluster, not the database, so two databases migrated at once may race
// to create it: losing that race is fine.
func ensureAppRole(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, AppRole).Scan(&exists); err != nil {
		return classify("migrate: app role", err)
	}
	if exists {
		return nil
	}
	// LOGIN without a password: with password authentication nobody can
	// log in until an operator sets one (or makes a login role a member).
	_, err := conn.Exec(ctx, `DO $$ BEGIN
		CREATE ROLE `+pgx.Identifier{AppRole}.Sanitize()+` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
	END $$`)
	if err != nil {
		return classify("migrate: create app role", err)
	}
	return nil
}
