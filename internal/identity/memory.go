package identity

import (
	"context"
	"strings"
	"sync"
)

// SeedUser is a user with a plaintext password, hashed when seeded.
type SeedUser struct {
	User
	Password string
}

// Memory is an in-process [Directory]. The CRM's database-backed directory
// replaces it when the CRM store lands; the demo users stay the same.
type Memory struct {
	mu      sync.RWMutex
	byEmail map[string]memUser
	byID    map[string]User
	dummy   string // hash checked for unknown emails, to even out timing
}

type memUser struct {
	User
	hash string
}

var _ Directory = (*Memory)(nil)

// NewMemory hashes each seed user's password with p.
func NewMemory(p Params, users ...SeedUser) *Memory {
	m := &Memory{byEmail: map[string]memUser{}, byID: map[string]User{}, dummy: HashPassword("dummy password", p)}
	for _, u := range users {
		u.Email = strings.ToLower(strings.TrimSpace(u.Email))
		m.byEmail[u.Email] = memUser{User: u.User, hash: HashPassword(u.Password, p)}
		m.byID[u.ID] = u.User
	}
	return m
}

// Authenticate implements [Directory].
func (m *Memory) Authenticate(_ context.Context, email, password string) (User, error) {
	m.mu.RLock()
	u, ok := m.byEmail[strings.ToLower(strings.TrimSpace(email))]
	m.mu.RUnlock()
	if !ok {
		VerifyPassword(m.dummy, password) // same work as a wrong password
		return User{}, ErrBadCredentials
	}
	if !VerifyPassword(u.hash, password) {
		return User{}, ErrBadCredentials
	}
	return u.User, nil
}

// UserByID implements [Directory].
func (m *Memory) UserByID(_ context.Context, tenantID, id string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.byID[id]
	if !ok || u.TenantID != tenantID {
		return User{}, ErrNotFound
	}
	return u, nil
}
