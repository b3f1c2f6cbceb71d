// Package bearer is the resource-server side of OAuth on /mcp: it turns an
// Authorization: Bearer access token into a verified tenant.Principal in the
// request context, or answers 401/400/503 with the WWW-Authenticate
// challenge MCP clients use to discover the authorization server
// (RFC 6750 §3, RFC 9728 §5.1).
package bearer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/tenant"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// Verifier checks an access token's signature and claims.
type Verifier interface {
	Verify(raw string) (token.AccessClaims, error)
}

// RevocationChecker reports whether a token (by jti) or its refresh
// family was revoked. An error means "cannot tell".
type RevocationChecker interface {
	AccessRevoked(ctx context.Context, jti, familyID string) (bool, error)
}

// Options configures [Middleware].
type Options struct {
	Verifier    Verifier
	Revocations RevocationChecker
	// ResourceMetadataURL is the RFC 9728 metadata URL named in challenges.
	ResourceMetadataURL string
	// DefaultScope is the scope named in a challenge to an anonymous request.
	DefaultScope string
	// Logger receives failure classes (never tokens). If nil, discards.
	Logger *slog.Logger
}

// Middleware authenticates every request before next.
func Middleware(opts Options, next http.Handler) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := extract(r)
		switch {
		case errors.Is(err, errNoCredentials):
			Challenge(w, opts.ResourceMetadataURL, http.StatusUnauthorized, "", opts.DefaultScope)
			return
		case err != nil:
			Challenge(w, opts.ResourceMetadataURL, http.StatusBadRequest, "invalid_request", "")
			return
		}
		claims, err := opts.Verifier.Verify(raw)
		if err != nil {
			logger.LogAttrs(r.Context(), slog.LevelInfo, "bearer rejected", slog.String("reason", "invalid_token"))
			Challenge(w, opts.ResourceMetadataURL, http.StatusUnauthorized, "invalid_token", "")
			return
		}
		revoked, err := opts.Revocations.AccessRevoked(r.Context(), claims.JTI, claims.FamilyID)
		if err != nil {
			// Fail closed: without the denylist we cannot tell a revoked
			// token from a good one.
			logger.LogAttrs(r.Context(), slog.LevelWarn, "revocation check unavailable", slog.String("err_type", fmt.Sprintf("%T", err)))
			w.Header().Set("Retry-After", "5")
			writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
			return
		}
		if revoked {
			Challenge(w, opts.ResourceMetadataURL, http.StatusUnauthorized, "invalid_token", "")
			return
		}
		p := tenant.Principal{
			TenantID: claims.TenantID,
			UserID:   claims.Subject,
			Email:    claims.Email,
			Scopes:   claims.Scopes,
			ClientID: claims.ClientID,
			TokenID:  claims.JTI,
			FamilyID: claims.FamilyID,
			// For streams, which outlive the request that verified the token.
			ExpiresAt: claims.ExpiresAt,
		}
		next.ServeHTTP(w, r.WithContext(tenant.WithPrincipal(r.Context(), p)))
	})
}

var (
	errNoCredentials = errors.New("no bearer credentials")
	errMalformed     = errors.New("malformed bearer credentials")
)

// extract returns the bearer token. Per OAuth 2.1 §5.2 a resource server
// ignores tokens in the query string; a query token next to a header is a
// malformed request (two methods, RFC 6750 §2).
func extract(r *http.Request) (string, error) {
	headers := r.Header.Values("Authorization")
	queryToken := r.URL.Query().Has("access_token")
	if len(headers) == 0 {
		return "", errNoCredentials
	}
	if len(headers) > 1 || queryToken {
		return "", errMalformed
	}
	scheme, cred, ok := strings.Cut(headers[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", errNoCredentials // another scheme: no bearer credentials
	}
	if !ok || cred == "" || strings.ContainsAny(cred, " \t") {
		return "", errMalformed
	}
	return cred, nil
}

// Challenge writes a 401/403/400 with a WWW-Authenticate Bearer challenge.
// errCode is empty for a request without credentials (RFC 6750 §3.1).
func Challenge(w http.ResponseWriter, resourceMetadata string, status int, errCode, scope string) {
	var b strings.Builder
	b.WriteString(`Bearer resource_metadata="`)
	b.WriteString(resourceMetadata)
	b.WriteString(`"`)
	if errCode != "" {
		b.WriteString(`, error="` + errCode + `"`)
	}
	if scope != "" {
		b.WriteString(`, scope="` + scope + `"`)
	}
	w.Header().Set("WWW-Authenticate", b.String())
	code := errCode
	if code == "" {
		code = "unauthorized"
	}
	writeJSONError(w, status, code)
}

func writeJSONError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}
