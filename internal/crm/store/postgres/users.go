package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// CreateTenant stores a tenant. An empty ID gets a new one.
func (s *Store) CreateTenant(ctx context.Context, t crm.Tenant) (crm.Tenant, error) {
	if err := checkName("tenant name", t.Name); err != nil {
		return crm.Tenant{}, err
	}
	if t.ID == "" {
		t.ID = crm.NewID("tnt")
	}
	t.CreatedAt = s.stamp()
	err := s.inTenant(ctx, "create tenant", t.ID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (tenant_id, name, created_at) VALUES ($1, $2, $3)`,
			t.ID, t.Name, t.CreatedAt)
		return err
	})
	if err != nil {
		return crm.Tenant{}, err
	}
	return t, nil
}

// GetTenant returns one tenant.
func (s *Store) GetTenant(ctx context.Context, id string) (crm.Tenant, error) {
	var t crm.Tenant
	err := s.inTenant(ctx, "get tenant", id, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT tenant_id, name, created_at FROM tenants WHERE tenant_id = $1`, id).
			Scan(&t.ID, &t.Name, &t.CreatedAt)
		t.CreatedAt = t.CreatedAt.UTC()
		return err
	})
	return t, err
}

func checkName(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%w: %s is required", crm.ErrInvalid, field)
	}
	if len(v) > crm.MaxNameLen {
		return fmt.Errorf("%w: %s is longer than %d bytes", crm.ErrInvalid, field, crm.MaxNameLen)
	}
	return nil
}

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

const userCols = `id, tenant_id, email, name, role, password_hash, created_at`

func scanUser(row pgx.Row) (crm.User, error) {
	var u crm.User
	var role string
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.CreatedAt)
	u.Role = crm.Role(role)
	u.CreatedAt = u.CreatedAt.UTC()
	return u, err
}

// CreateUser stores a user. Emails are unique across tenants (they log in
// without naming one): a taken email is crm.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, tenantID string, u crm.User) (crm.User, error) {
	u.Email = normEmail(u.Email)
	if u.Email == "" || len(u.Email) > crm.MaxItemLen || !strings.Contains(u.Email, "@") {
		return crm.User{}, fmt.Errorf("%w: email is invalid", crm.ErrInvalid)
	}
	if err := checkName("name", u.Name); err != nil {
		return crm.User{}, err
	}
	switch u.Role {
	case crm.RoleAdmin, crm.RoleRecruiter, crm.RoleViewer:
	default:
		return crm.User{}, fmt.Errorf("%w: role must be admin, recruiter or viewer", crm.ErrInvalid)
	}
	if u.ID == "" { // administration and seeding may choose the id
		u.ID = crm.NewID("usr")
	}
	var out crm.User
	err := s.inTenant(ctx, "create user", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = scanUser(tx.QueryRow(ctx, `
			INSERT INTO users (tenant_id, id, email, name, role, password_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+userCols,
			tenantID, u.ID, u.Email, u.Name, string(u.Role), u.PasswordHash, s.stamp()))
		return err
	})
	return out, err
}

// GetUser returns one user of the tenant.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (crm.User, error) {
	var u crm.User
	err := s.inTenant(ctx, "get user", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		return err
	})
	return u, err
}

// ListUsers lists the tenant's users by email.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]crm.User, error) {
	var us []crm.User
	err := s.inTenant(ctx, "list users", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = $1 ORDER BY email`, tenantID)
		if err != nil {
			return err
		}
		us, err = collect(rows, scanUser)
		return err
	})
	return us, err
}

// UserByEmail finds the user with this email in any tenant (login). It is
// the one read that crosses tenants, so it does not set a tenant: it calls
// crm_user_by_email, a SECURITY DEFINER function owned by the schema
// owner that returns at most the one row for that exact (lower-cased)
// email. The application role has no other way to read users across
// tenants.
func (s *Store) UserByEmail(ctx context.Context, email string) (crm.User, error) {
	email = normEmail(email)
	if email == "" {
		return crm.User{}, fmt.Errorf("postgres: user by email: %w", crm.ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM crm_user_by_email($1)`, email))
	if err != nil {
		return crm.User{}, s.fail("user by email", err)
	}
	return u, nil
}

// collect scans every row with scan.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// utc returns t in UTC, or the zero time for a NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// list returns vs, or an empty list for nil (columns are NOT NULL).
func list(vs []string) []string {
	if vs == nil {
		return []string{}
	}
	return vs
}

// nilIfEmpty reads an empty array back as nil, as it was most likely
// written.
func nilIfEmpty(vs []string) []string {
	if len(vs) == 0 {
		return nil
	}
	return vs
}
