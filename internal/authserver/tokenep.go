package authserver

import (
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

const maxTokenBody = 16 << 10

// clientTouchInterval is how stale a client's LastUsedAt may get before
// /token extends its registration again.
const clientTouchInterval = 24 * time.Hour

// readForm parses an application/x-www-form-urlencoded body within a size
// limit and refuses repeated parameters (OAuth 2.1 §3.2: parameters MUST
// NOT be included more than once).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenBody))
	if err != nil {
		return nil, errInvalidRequest("request body too large or unreadable")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errInvalidRequest("malformed form body")
	}
	for name, vals := range form {
		if len(vals) > 1 {
			return nil, errInvalidRequest("parameter " + name + " is repeated")
		}
	}
	if len(r.URL.RawQuery) > 0 {
		return nil, errInvalidRequest("parameters must be sent in the body")
	}
	return form, nil
}

// authenticateClient implements RFC 6749 §2.3 / OAuth 2.1 §2.4 for the token
// and revocation endpoints. Public clients identify themselves with
// client_id; confidential ones with client_secret_basic or
// client_secret_post, never both at once.
func (s *Server) authenticateClient(r *http.Request, form url.Values) (clientInfo, error) {
	basicID, basicSecret, hasBasic := r.BasicAuth()
	if hasBasic {
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded.
		id, err1 := url.QueryUnescape(basicID)
		secret, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return clientInfo{}, errInvalidClient(true)
		}
		basicID, basicSecret = id, secret
		if form.Has("client_secret") {
			return clientInfo{}, errInvalidRequest("use one client authentication method")
		}
		if form.Has("client_id") && form.Get("client_id") != basicID {
			return clientInfo{}, errInvalidRequest("client_id does not match the credentials")
		}
	}
	id := form.Get("client_id")
	if hasBasic {
		id = basicID
	}
	if id == "" {
		return clientInfo{}, errInvalidClient(false)
	}
	ci, err := s.lookupClient(r.Context(), id)
	if errors.Is(err, errUnknownClient) {
		return clientInfo{}, errInvalidClient(hasBasic)
	}
	if err != nil {
		return clientInfo{}, err
	}
	if ci.SecretHash == "" {
		if hasBasic || form.Has("client_secret") {
			return clientInfo{}, errInvalidClient(hasBasic)
		}
		return ci, nil
	}
	secret := form.Get("client_secret")
	switch {
	case hasBasic && ci.AuthMethod == "client_secret_basic":
		secret = basicSecret
	case !hasBasic && ci.AuthMethod == "client_secret_post" && secret != "":
	default:
		return clientInfo{}, errInvalidClient(hasBasic)
	}
	if subtle.ConstantTimeCompare([]byte(state.Hash(secret)), []byte(ci.SecretHash)) != 1 {
		return clientInfo{}, errInvalidClient(hasBasic)
	}
	return ci, nil
}

// token implements the token endpoint (RFC 6749 §3.2, §4.1.3, §6).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		writeTokenError(w, err)
		return
	}
	if !s.allowTokenClient(w, r, form) {
		return
	}
	var resp map[string]any
	switch gt := form.Get("grant_type"); gt {
	case "":
		err = errInvalidRequest("grant_type is required")
	case "authorization_code":
		resp, err = s.exchangeCode(r, form)
	case "refresh_token":
		resp, err = s.refresh(r, form)
	case "client_credentials":
		err = &oauthError{Code: "unauthorized_client", Description: "this client may not use the client_credentials grant", Status: http.StatusBadRequest}
	default:
		err = &oauthError{Code: "unsupported_grant_type", Description: "supported grants: authorization_code, refresh_token", Status: http.StatusBadRequest}
	}
	if err != nil {
		oe := asOAuthError(err)
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "token request refused", slog.String("error", oe.Code))
		writeTokenError(w, oe)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// exchangeCode implements RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6). The
// client and PKCE checks happen inside the store's atomic consume, so a
// wrong attempt does not burn a good code and exactly one redemption wins.
func (s *Server) exchangeCode(r *http.Request, form url.Values) (map[string]any, error) {
	ctx := r.Context()
	ci, err := s.authenticateClient(r, form)
	if err != nil {
		return nil, err
	}
	code, verifier := form.Get("code"), form.Get("code_verifier")
	if code == "" {
		return nil, errInvalidRequest("code is required")
	}
	if form.Has("resource") && form.Get("resource") != s.opts.Resource {
		return nil, &oauthError{Code: "invalid_target", Description: "resource must be " + s.opts.Resource, Status: http.StatusBadRequest}
	}
	if !validVerifier(verifier) || len(code) > 512 {
		return nil, errInvalidGrant("the code or code_verifier is invalid")
	}
	ac, err := s.opts.Store.ConsumeCode(ctx, state.Hash(code), ci.ID, s256(verifier))
	switch {
	case errors.Is(err, state.ErrConsumed):
		// OAuth 2.1 §4.1.3: a replayed code revokes what it issued. The
		// store reports ErrConsumed only for the same client and verifier
		// (anyone else gets a mismatch), so a replay within moments of the
		// redemption is a duplicate of it (a retry, or one of several
		// concurrent sends), not an attack: revoking then would kill the
		// tokens its twin just received (catalog C-03 vs C-02).
		duplicate := !ac.ConsumedAt.IsZero() && s.opts.Now().Sub(ac.ConsumedAt) < CodeReplayGrace
		if ac.FamilyID != "" && !duplicate {
			if err := s.opts.Store.RevokeFamily(ctx, ac.FamilyID); err != nil {
				return nil, err
			}
		}
		s.audit(ctx, "code_replayed", slog.String("client_id", ci.ID), slog.Bool("duplicate", duplicate))
		return nil, errInvalidGrant("the code is invalid, expired or already used")
	case errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrMismatch):
		return nil, errInvalidGrant("the code is invalid, expired or already used")
	case err != nil:
		return nil, err
	}
	if form.Has("redirect_uri") && form.Get("redirect_uri") != ac.RedirectURI {
		return nil, errInvalidGrant("redirect_uri does not match the authorization request")
	}
	if !ac.ExpiresAt.After(s.opts.Now()) {
		return nil, errInvalidGrant("the code is invalid, expired or already used")
	}
	user, err := s.opts.Users.UserByID(ctx, ac.TenantID, ac.UserID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, errInvalidGrant("the user no longer exists")
	}
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	rt := randomToken()
	fam := state.Family{
		ID: ac.FamilyID, ClientID: ci.ID, UserID: user.ID, TenantID: user.TenantID, Email: user.Email,
		Scopes: ac.Scopes, Resource: ac.Resource, CreatedAt: now, ExpiresAt: now.Add(RefreshTTL),
	}
	if err := s.opts.Store.CreateFamily(ctx, fam, state.Hash(rt)); err != nil {
		if errors.Is(err, state.ErrExists) {
			// A concurrent replay of this code revoked the family before this
			// exchange created it (OAuth 2.1 §4.1.3). The grant is revoked:
			// invalid_grant (RFC 6749 §5.2), never a 500 (catalog C-03).
			s.audit(ctx, "code_replayed", slog.String("client_id", ci.ID))
			return nil, errInvalidGrant("the code is invalid, expired or already used")
		}
		return nil, err
	}
	s.touchClient(r, ci)
	s.audit(ctx, "token_issued", slog.String("client_id", ci.ID), slog.String("user_id", user.ID), slog.String("tenant_id", user.TenantID))
	return s.tokenResponse(fam, rt)
}

// refresh implements RFC 6749 §6 with rotation and reuse detection
// (RFC 9700 §4.14.2). The successor is derived from the presented token so
// a retry within the grace window gets the same one.
func (s *Server) refresh(r *http.Request, form url.Values) (map[string]any, error) {
	ctx := r.Context()
	ci, err := s.authenticateClient(r, form)
	if err != nil {
		return nil, err
	}
	rt := form.Get("refresh_token")
	if rt == "" {
		return nil, errInvalidRequest("refresh_token is required")
	}
	if len(rt) != 43 {
		return nil, errInvalidGrant("the refresh token is invalid, expired or revoked")
	}
	if form.Has("resource") && form.Get("resource") != s.opts.Resource {
		return nil, &oauthError{Code: "invalid_target", Description: "resource must be " + s.opts.Resource, Status: http.StatusBadRequest}
	}
	if sc := strings.Fields(form.Get("scope")); len(sc) > 0 {
		// RFC 6749 §6: the scope must not exceed the original grant. Check
		// before rotating, so a refused request leaves the presented token
		// usable (catalog D-07, G-INV-1); FamilyOfToken changes nothing.
		// Another client's token falls through to RotateRefresh's
		// invalid_grant, so this is no oracle for it.
		fam, err := s.opts.Store.FamilyOfToken(ctx, state.Hash(rt))
		switch {
		case err == nil && fam.ClientID == ci.ID && !isSubset(sc, fam.Scopes):
			return nil, &oauthError{Code: "invalid_scope", Description: "scope exceeds the original grant", Status: http.StatusBadRequest}
		case err != nil && !errors.Is(err, state.ErrNotFound):
			return nil, err
		}
	}
	next := s.successor(rt)
	rot, err := s.opts.Store.RotateRefresh(ctx, state.Hash(rt), state.Hash(next), ci.ID, s.opts.Now(), s.opts.RefreshGrace)
	switch {
	case errors.Is(err, state.ErrConsumed):
		s.audit(ctx, "refresh_reuse_detected", slog.String("client_id", ci.ID), slog.String("family_id", rot.Family.ID))
		return nil, errInvalidGrant("the refresh token is invalid, expired or revoked")
	case errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrMismatch):
		return nil, errInvalidGrant("the refresh token is invalid, expired or revoked")
	case err != nil:
		return nil, err
	}
	fam := rot.Family
	if sc := strings.Fields(form.Get("scope")); len(sc) > 0 {
		if !isSubset(sc, fam.Scopes) {
			return nil, &oauthError{Code: "invalid_scope", Description: "scope exceeds the original grant", Status: http.StatusBadRequest}
		}
		fam.Scopes = sc
	}
	if _, err := s.opts.Users.UserByID(ctx, fam.TenantID, fam.UserID); err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			_ = s.opts.Store.RevokeFamily(ctx, fam.ID)
			return nil, errInvalidGrant("the user no longer exists")
		}
		return nil, err
	}
	s.touchClient(r, ci)
	s.audit(ctx, "token_refreshed", slog.String("client_id", ci.ID), slog.String("family_id", fam.ID), slog.Bool("retry", rot.Retry))
	return s.tokenResponse(fam, next)
}

func (s *Server) tokenResponse(fam state.Family, rt string) (map[string]any, error) {
	at, _, err := s.opts.Access.Mint(token.AccessClaims{
		Subject: fam.UserID, TenantID: fam.TenantID, Email: fam.Email, Scopes: fam.Scopes,
		ClientID: fam.ClientID, FamilyID: fam.ID,
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"access_token":  at,
		"token_type":    "Bearer",
		"expires_in":    int(s.opts.Access.TTL().Seconds()),
		"refresh_token": rt,
		"scope":         strings.Join(fam.Scopes, " "),
	}, nil
}

// touchClient keeps a used dynamic registration alive (90 days unused).
// A 90-day expiry needs at most one touch a day, so a client used within
// the last day is not written again: that saves a store round trip on
// almost every /token call.
func (s *Server) touchClient(r *http.Request, ci clientInfo) {
	if ci.Metadata || s.opts.Now().Sub(ci.LastUsedAt) < clientTouchInterval {
		return
	}
	_ = s.opts.Store.TouchClient(r.Context(), ci.ID, s.opts.Now(), ClientTTL)
}

// validVerifier checks RFC 7636 §4.1: 43–128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// revoke implements RFC 7009. Unknown tokens and tokens of other clients
// get 200 and change nothing (no oracle, E-03/E-04); a store that cannot
// answer gets 503, since the client must then assume the token still works
// (E-08).
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		writeTokenError(w, err)
		return
	}
	ci, err := s.authenticateClient(r, form)
	if err != nil {
		writeTokenError(w, err)
		return
	}
	tok := form.Get("token")
	if tok == "" {
		writeTokenError(w, errInvalidRequest("token is required"))
		return
	}
	ctx := r.Context()
	if claims, verr := s.opts.Access.Verify(tok); verr == nil {
		if claims.ClientID == ci.ID {
			if err := s.opts.Store.RevokeAccess(ctx, claims.JTI, claims.ExpiresAt.Add(token.MaxLeeway)); err != nil {
				writeTokenError(w, err)
				return
			}
			s.audit(ctx, "access_token_revoked", slog.String("client_id", ci.ID))
		}
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	if len(tok) == 43 {
		fam, err := s.opts.Store.FamilyOfToken(ctx, state.Hash(tok))
		switch {
		case err == nil && fam.ClientID == ci.ID:
			if err := s.opts.Store.RevokeFamily(ctx, fam.ID); err != nil {
				writeTokenError(w, err)
				return
			}
			s.audit(ctx, "refresh_family_revoked", slog.String("client_id", ci.ID), slog.String("family_id", fam.ID))
		case err != nil && !errors.Is(err, state.ErrNotFound):
			writeTokenError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
