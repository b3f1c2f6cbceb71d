package servicetoken

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

type claimsKey struct{}

// FromContext returns the verified service-token claims [Middleware]
// stored in ctx, and whether there are any. The CRM API takes the tenant
// from here and from nowhere else.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok && c.TenantID != "" && c.Subject != ""
}

// unauthorizedBody is the whole 401 answer: the caller is crm-mcp, which
// has nothing to learn from a reason, and an attacker should learn none.
const unauthorizedBody = `{"error":"unauthorized"}`

// Middleware authenticates every request to the CRM API: exactly one
// "Authorization: Bearer <service token>" header (RFC 6750 §2.1; scheme
// case-insensitive) that v accepts puts the token's [Claims] in the
// context for next. Anything else is answered 401 with the body
// {"error":"unauthorized"} and no detail. The reason is logged through v's
// Logger as a class only: "invalid" or "keys_unavailable" (a JWKS outage,
// worth an alert). Tokens in the query string or body are never read.
func Middleware(v *Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r)
		if !ok {
			v.logger.LogAttrs(r.Context(), slog.LevelInfo, "service token rejected", slog.String("class", "no_credentials"))
			unauthorized(w)
			return
		}
		c, err := v.Verify(r.Context(), raw)
		if err != nil {
			level, class := slog.LevelInfo, "invalid"
			if errors.Is(err, ErrKeysUnavailable) {
				level, class = slog.LevelWarn, "keys_unavailable"
			}
			v.logger.LogAttrs(r.Context(), level, "service token rejected", slog.String("class", class))
			unauthorized(w)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return "", false
	}
	scheme, cred, ok := strings.Cut(h[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" || strings.ContainsAny(cred, " \t") {
		return "", false
	}
	return cred, true
}

func unauthorized(w http.ResponseWriter) {
	h := w.Header()
	h.Set("WWW-Authenticate", "Bearer")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(unauthorizedBody))
}
