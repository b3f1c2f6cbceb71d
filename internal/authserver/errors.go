package authserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/state"
)

// oauthError is an RFC 6749 §5.2 / §4.1.2.1 error. Description is sent to
// the client, so it never holds internal detail.
type oauthError struct {
	Code        string
	Description string
	Status      int
	// basicChallenge adds WWW-Authenticate: Basic (invalid_client via Basic).
	basicChallenge bool
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{Code: "invalid_request", Description: desc, Status: http.StatusBadRequest}
}

func errInvalidGrant(desc string) *oauthError {
	return &oauthError{Code: "invalid_grant", Description: desc, Status: http.StatusBadRequest}
}

func errInvalidClient(basic bool) *oauthError {
	return &oauthError{Code: "invalid_client", Description: "client authentication failed", Status: http.StatusUnauthorized, basicChallenge: basic}
}

var errUnavailable = &oauthError{Code: "temporarily_unavailable", Description: "the authorization server is temporarily unavailable, retry shortly", Status: http.StatusServiceUnavailable}

// asOAuthError maps an error to what the client sees: store and user
// directory outages become
// 503 temporarily_unavailable (never invalid_grant: the client would throw
// away a valid code or refresh token), anything unknown a 500 server_error.
func asOAuthError(err error) *oauthError {
	var oe *oauthError
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, state.ErrUnavailable), errors.Is(err, identity.ErrUnavailable):
		return errUnavailable
	default:
		return &oauthError{Code: "server_error", Description: "internal error", Status: http.StatusInternalServerError}
	}
}

// writeTokenError writes a JSON error for /token, /register and /revoke.
func writeTokenError(w http.ResponseWriter, err error) {
	oe := asOAuthError(err)
	if oe.basicChallenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="crm-mcp"`)
	}
	if oe.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(5))
	}
	writeJSON(w, oe.Status, map[string]string{"error": oe.Code, "error_description": oe.Description})
}

// writeJSON writes v with the headers every OAuth JSON response needs
// (OAuth 2.1 §3.2.3: no caching of anything carrying credentials).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONCached writes public, cacheable JSON (metadata documents); the
// caller sets Cache-Control.
func writeJSONCached(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}
