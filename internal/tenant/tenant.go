// Package tenant carries the verified caller, the Principal, through a
// request's context. The tenant comes only from a verified token: nothing
// downstream reads identity from anywhere else, and no tool takes a tenant
// as input.
package tenant

import (
	"context"
	"slices"
	"time"
)

// Principal is the verified identity of a request.
type Principal struct {
	TenantID string
	UserID   string
	Email    string
	Scopes   []string
	ClientID string
	// TokenID is the access token's jti, for revocation and audit.
	TokenID string
	// FamilyID is the refresh family the token came from (revoking the
	// family revokes the token), for re-checking revocation later.
	FamilyID string
	// ExpiresAt is the token's expiry: long-lived responses (notification
	// streams) end there.
	ExpiresAt time.Time
}

// HasScopes reports whether p was granted every scope in need.
func (p Principal) HasScopes(need ...string) bool {
	for _, s := range need {
		if !slices.Contains(p.Scopes, s) {
			return false
		}
	}
	return true
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal and whether there is one.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok && p.TenantID != "" && p.UserID != ""
}
