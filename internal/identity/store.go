package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// UserStore is the part of the CRM store the directory reads.
type UserStore interface {
	UserByEmail(ctx context.Context, email string) (crm.User, error)
	GetUser(ctx context.Context, tenantID, id string) (crm.User, error)
}

// StoreDirectory is the [Directory] of the CRM's own users, read from the
// CRM store.
type StoreDirectory struct {
	users UserStore
	dummy string
}

var _ Directory = (*StoreDirectory)(nil)

// NewStoreDirectory returns a directory over users; p sets the cost of the
// dummy hash checked for unknown emails (use the cost real hashes have).
func NewStoreDirectory(users UserStore, p Params) *StoreDirectory {
	return &StoreDirectory{users: users, dummy: HashPassword("dummy password", p)}
}

// Authenticate implements [Directory].
func (d *StoreDirectory) Authenticate(ctx context.Context, email, password string) (User, error) {
	u, err := d.users.UserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	switch {
	case errors.Is(err, crm.ErrNotFound):
		VerifyPassword(d.dummy, password) // same work as a wrong password
		return User{}, ErrBadCredentials
	case err != nil:
		return User{}, err
	}
	if !VerifyPassword(u.PasswordHash, password) {
		return User{}, ErrBadCredentials
	}
	return fromCRM(u), nil
}

// UserByID implements [Directory].
func (d *StoreDirectory) UserByID(ctx context.Context, tenantID, id string) (User, error) {
	u, err := d.users.GetUser(ctx, tenantID, id)
	switch {
	case errors.Is(err, crm.ErrNotFound):
		return User{}, ErrNotFound
	case errors.Is(err, crm.ErrUnavailable):
		return User{}, errors.Join(ErrUnavailable, err)
	case err != nil:
		return User{}, err
	}
	return fromCRM(u), nil
}

func fromCRM(u crm.User) User {
	return User{ID: u.ID, TenantID: u.TenantID, Email: u.Email, Name: u.Name, Role: Role(u.Role)}
}
