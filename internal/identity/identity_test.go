package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/identity"
)

// fast keeps the tests quick; the format records the parameters.
var fast = identity.Params{Time: 1, Memory: 1024, Threads: 1}

func TestPasswordHashing(t *testing.T) {
	h := identity.HashPassword("correct horse", fast)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash %q is not PHC argon2id", h)
	}
	if h == identity.HashPassword("correct horse", fast) {
		t.Error("two hashes of one password are equal: salt missing")
	}
	if !identity.VerifyPassword(h, "correct horse") {
		t.Error("right password rejected")
	}
	for _, bad := range []string{"", "correct horsE", "correct horse "} {
		if identity.VerifyPassword(h, bad) {
			t.Errorf("wrong password %q accepted", bad)
		}
	}
	for _, tampered := range []string{
		"", "plaintext", strings.Replace(h, "argon2id", "argon2i", 1),
		strings.Replace(h, "m=1024", "m=99999999", 1), // memory bomb refused
		strings.Replace(h, "t=1", "t=0", 1),
	} {
		if identity.VerifyPassword(tampered, "correct horse") {
			t.Errorf("tampered hash %q accepted", tampered)
		}
	}
}

func TestMemoryDirectory(t *testing.T) {
	d := identity.NewMemory(fast, identity.SeedUser{User: identity.User{ID: "u1", TenantID: "t1", Email: "Alice@Example.com", Role: identity.RoleRecruiter}, Password: "pw-alice"})
	ctx := context.Background()
	u, err := d.Authenticate(ctx, " alice@example.COM", "pw-alice")
	if err != nil || u.ID != "u1" || u.TenantID != "t1" {
		t.Fatalf("Authenticate = %+v, %v", u, err)
	}
	_, errWrong := d.Authenticate(ctx, "alice@example.com", "nope")
	_, errUnknown := d.Authenticate(ctx, "bob@example.com", "pw-alice")
	if !errors.Is(errWrong, identity.ErrBadCredentials) || !errors.Is(errUnknown, identity.ErrBadCredentials) || errWrong.Error() != errUnknown.Error() {
		t.Errorf("unknown user and wrong password must look the same: %v / %v", errWrong, errUnknown)
	}
	if _, err := d.UserByID(ctx, "t1", "u2"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("UserByID(unknown) = %v", err)
	}
	if _, err := d.UserByID(ctx, "t2", "u1"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("UserByID(other tenant) = %v", err)
	}
	if u, err := d.UserByID(ctx, "t1", "u1"); err != nil || u.Email != "alice@example.com" {
		t.Errorf("UserByID = %+v, %v", u, err)
	}
}

func TestRoleScopes(t *testing.T) {
	if got := strings.Join(identity.RoleViewer.MaxScopes(), " "); got != "crm:read" {
		t.Errorf("viewer = %s", got)
	}
	if got := strings.Join(identity.RoleRecruiter.MaxScopes(), " "); got != "crm:read crm:write crm:export" {
		t.Errorf("recruiter = %s", got)
	}
	if identity.Role("root").MaxScopes() != nil {
		t.Error("unknown role gets scopes")
	}
}

func BenchmarkVerifyDefaultParams(b *testing.B) {
	h := identity.HashPassword("pw", identity.DefaultParams)
	for b.Loop() {
		identity.VerifyPassword(h, "pw")
	}
}
