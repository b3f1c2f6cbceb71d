package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// CreateTenant stores a tenant, keeping a given id (seeding) or making one.
func (s *Store) CreateTenant(ctx context.Context, t crm.Tenant) (crm.Tenant, error) {
	if err := t.Validate(); err != nil {
		return crm.Tenant{}, err
	}
	if t.ID == "" {
		t.ID = crm.NewID("tnt")
	}
	t.CreatedAt = s.now()
	err := s.write(ctx, "create tenant", func(tx *sql.Tx) error {
		// ord numbers the tenant's block of full-text rowids (ridBlock).
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, created_at, ord)
			VALUES (?, ?, ?, (SELECT coalesce(max(ord), 0) + 1 FROM tenants))`, t.ID, t.Name, ts(t.CreatedAt))
		return err
	})
	if err != nil {
		return crm.Tenant{}, err
	}
	return t, nil
}

// GetTenant returns a tenant.
func (s *Store) GetTenant(ctx context.Context, id string) (crm.Tenant, error) {
	var (
		t       crm.Tenant
		created int64
	)
	err := s.readOne(ctx, "get tenant", func(q querier) error {
		err := q.QueryRowContext(ctx, `SELECT id, name, created_at FROM tenants WHERE id = ?`, id).Scan(&t.ID, &t.Name, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("tenant")
		}
		return err
	})
	if err != nil {
		return crm.Tenant{}, err
	}
	t.CreatedAt = fromTS(created)
	return t, nil
}

const userCols = `id, tenant_id, email, name, role, password_hash, created_at`

func scanUser(row interface{ Scan(...any) error }) (crm.User, error) {
	var (
		u       crm.User
		created int64
	)
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &created)
	u.CreatedAt = fromTS(created)
	return u, err
}

// CreateUser stores a user; the email is kept in lower case and is unique
// across tenants (ErrConflict).
func (s *Store) CreateUser(ctx context.Context, tenantID string, u crm.User) (crm.User, error) {
	if err := requireTenant(tenantID); err != nil {
		return crm.User{}, err
	}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if err := u.Validate(); err != nil {
		return crm.User{}, err
	}
	if u.ID == "" { // administration and seeding may choose the id
		u.ID = crm.NewID("usr")
	}
	u.TenantID, u.CreatedAt = tenantID, s.now()
	err := s.write(ctx, "create user", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, tenantID, u.Email, u.Name, u.Role, u.PasswordHash, ts(u.CreatedAt))
		return err
	})
	if err != nil {
		return crm.User{}, err
	}
	return u, nil
}

// GetUser returns one user of the tenant.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (crm.User, error) {
	var u crm.User
	err := s.readOne(ctx, "get user", func(q querier) (err error) {
		u, err = scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		}
		return err
	})
	return u, err
}

// ListUsers lists the tenant's users by email.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]crm.User, error) {
	out := []crm.User{}
	err := s.readOne(ctx, "list users", func(q querier) error {
		return collect(ctx, q, &out, scanUser, `SELECT `+userCols+` FROM users WHERE tenant_id = ? ORDER BY email`, tenantID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UserByEmail finds a user by email, case-insensitively, in any tenant.
func (s *Store) UserByEmail(ctx context.Context, email string) (crm.User, error) {
	var u crm.User
	err := s.readOne(ctx, "user by email", func(q querier) (err error) {
		u, err = scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, strings.ToLower(strings.TrimSpace(email))))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("user")
		}
		return err
	})
	return u, err
}
