// Package identity authenticates CRM users: the people who log in to the
// CRM and whose login session /authorize reuses. Passwords are stored as
// argon2id hashes (RFC 9106) in PHC string format.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Role bounds what a user may grant an AI client.
type Role string

// Roles of CRM users.
const (
	RoleAdmin     Role = "admin"
	RoleRecruiter Role = "recruiter"
	RoleViewer    Role = "viewer"
)

// Scopes of crm-mcp access tokens.
const (
	ScopeRead   = "crm:read"
	ScopeWrite  = "crm:write"
	ScopeExport = "crm:export"
)

// AllScopes lists every scope, in the order they are shown.
var AllScopes = []string{ScopeRead, ScopeWrite, ScopeExport}

// MaxScopes is the most a user of role r may consent to.
func (r Role) MaxScopes() []string {
	switch r {
	case RoleAdmin, RoleRecruiter:
		return []string{ScopeRead, ScopeWrite, ScopeExport}
	case RoleViewer:
		return []string{ScopeRead}
	default:
		return nil
	}
}

// User is a CRM user.
type User struct {
	ID       string
	TenantID string
	Email    string
	Name     string
	Role     Role
}

// Errors returned by a [Directory].
var (
	// ErrBadCredentials is returned for an unknown user and for a wrong
	// password alike, so the login form cannot be used to probe accounts.
	ErrBadCredentials = errors.New("identity: bad credentials")
	ErrNotFound       = errors.New("identity: user not found")
	// ErrUnavailable: the directory (the CRM store or API behind it) could
	// not answer; callers answer 503 and the client retries.
	ErrUnavailable = errors.New("identity: directory unavailable")
)

// Directory finds and authenticates users.
type Directory interface {
	// Authenticate returns the user with this email and password, or
	// ErrBadCredentials.
	Authenticate(ctx context.Context, email, password string) (User, error)
	// UserByID returns the user of tenantID with this id, or ErrNotFound
	// (also for a disabled user, or a user of another tenant).
	UserByID(ctx context.Context, tenantID, id string) (User, error)
}

// Params are argon2id cost parameters.
type Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams follow the RFC 9106 second recommended option scaled to a
// small server: 64 MiB, 1 pass, 2 lanes (~40 ms on this project's machine).
var DefaultParams = Params{Time: 1, Memory: 64 * 1024, Threads: 2}

// HashPassword returns the PHC-format argon2id hash of password.
func HashPassword(password string, p Params) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// maxMemoryKiB bounds the cost a stored hash can demand, so a tampered hash
// cannot make a login allocate gigabytes.
const maxMemoryKiB = 1 << 20

// VerifyPassword reports whether password matches the PHC hash, in
// constant time with respect to the key comparison.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Memory > maxMemoryKiB || p.Time == 0 || p.Time > 10 || p.Threads == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
