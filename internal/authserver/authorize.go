package authserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/cimd"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/redirecturi"
	"github.com/crm-mcp/crm-mcp/internal/state"
)

// clientInfo is what /authorize and /token need of a client, registered
// or described by a metadata document.
type clientInfo struct {
	ID           string
	Name         string
	RedirectURIs []string
	SecretHash   string // "" for public clients
	Dynamic      bool   // registered through /register: unverified
	Metadata     bool   // a Client ID Metadata Document client
	AuthMethod   string
	LastUsedAt   time.Time
}

var errUnknownClient = errors.New("unknown client")

// lookupClient resolves a client id. It returns errUnknownClient for an
// unknown, expired or invalid client and wraps state.ErrUnavailable when
// it cannot tell.
func (s *Server) lookupClient(ctx context.Context, id string) (clientInfo, error) {
	if id == "" || len(id) > 2048 {
		return clientInfo{}, errUnknownClient
	}
	if cimd.IsURLClientID(id) {
		if s.opts.CIMD == nil {
			return clientInfo{}, errUnknownClient
		}
		doc, err := s.opts.CIMD.Fetch(ctx, id)
		if err != nil {
			return clientInfo{}, errUnknownClient
		}
		return clientInfo{ID: id, Name: doc.ClientName, RedirectURIs: doc.RedirectURIs, Metadata: true, AuthMethod: "none"}, nil
	}
	c, err := s.opts.Store.GetClient(ctx, id)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return clientInfo{}, errUnknownClient
	case err != nil:
		return clientInfo{}, err
	}
	return clientInfo{ID: c.ID, Name: c.Name, RedirectURIs: c.RedirectURIs, SecretHash: c.SecretHash, Dynamic: c.Dynamic, AuthMethod: c.TokenEndpointAuthMethod, LastUsedAt: c.LastUsedAt}, nil
}

func (s *Server) displayNameFor(r *http.Request, clientID string) string {
	ci, err := s.lookupClient(r.Context(), clientID)
	if err != nil {
		return ""
	}
	return displayName(ci)
}

func displayName(ci clientInfo) string {
	switch {
	case ci.Name != "":
		return ci.Name
	case ci.Metadata:
		return cimd.Host(ci.ID)
	default:
		return "an unnamed application"
	}
}

// authorize implements RFC 6749 §4.1.1 with the OAuth 2.1 rules: PKCE S256
// required, exact redirect URI matching, iss in every response (RFC 9207).
// Until the client and redirect URI are known good, failures are shown as a
// page and never redirected (RFC 6749 §4.1.2.1).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1 {
		s.errorPageReq(w, r, http.StatusBadRequest, msgBadClient)
		return
	}
	ci, err := s.lookupClient(r.Context(), q.Get("client_id"))
	if errors.Is(err, errUnknownClient) {
		s.errorPageReq(w, r, http.StatusBadRequest, msgBadClient)
		return
	}
	if err != nil {
		s.errorPageReq(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	redirect := q.Get("redirect_uri")
	switch {
	case redirect == "" && len(ci.RedirectURIs) == 1:
		redirect = ci.RedirectURIs[0]
	case redirect == "" || !redirecturi.Match(ci.RedirectURIs, redirect):
		s.errorPageReq(w, r, http.StatusBadRequest, msgBadClient)
		return
	}

	// From here on the redirect URI is trusted: errors go back to the client.
	st := q.Get("state")
	fail := func(code, desc string) { s.redirectError(w, r, redirect, st, code, desc) }
	for name, vals := range q {
		if len(vals) > 1 {
			fail("invalid_request", "parameter "+name+" is repeated")
			return
		}
	}
	if q.Has("request") || q.Has("request_uri") {
		fail("request_not_supported", "request objects are not supported")
		return
	}
	switch q.Get("response_type") {
	case "code":
	case "":
		fail("invalid_request", "response_type is required")
		return
	default:
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "":
		fail("invalid_request", "code_challenge is required (PKCE)")
		return
	case method != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case !validChallenge(challenge):
		fail("invalid_request", "code_challenge must be 43 base64url characters")
		return
	}
	if res := q.Get("resource"); q.Has("resource") && res != s.opts.Resource {
		fail("invalid_target", "resource must be "+s.opts.Resource)
		return
	}
	req := state.AuthRequest{
		ClientID:      ci.ID,
		RedirectURI:   redirect,
		State:         st,
		CodeChallenge: challenge,
		Scopes:        strings.Fields(q.Get("scope")),
		Resource:      s.opts.Resource,
		CreatedAt:     s.opts.Now(),
	}
	tx := randomToken()
	if err := s.opts.Store.SaveAuthRequest(r.Context(), state.Hash(tx), req, AuthRequestTTL); err != nil {
		s.errorPageReq(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	s.proceed(w, r, tx, req, ci)
}

// validChallenge checks an S256 challenge: 43 base64url characters
// (RFC 7636 §4.2).
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// resume continues a pending request after login.
func (s *Server) resume(w http.ResponseWriter, r *http.Request) {
	tx := validTx(r.URL.Query().Get("tx"))
	req, err := s.opts.Store.GetAuthRequest(r.Context(), state.Hash(tx))
	switch {
	case tx == "" || errors.Is(err, state.ErrNotFound):
		s.errorPageReq(w, r, http.StatusBadRequest, msgExpiredRequest)
		return
	case err != nil:
		s.errorPageReq(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	ci, err := s.lookupClient(r.Context(), req.ClientID)
	if err != nil {
		s.errorPageReq(w, r, http.StatusBadRequest, msgBadClient)
		return
	}
	s.proceed(w, r, tx, req, ci)
}

// proceed sends an anonymous user to login, decides scopes for a known
// one, and either issues a code at once (consent remembered) or shows the
// consent page bound to this session and transaction.
func (s *Server) proceed(w http.ResponseWriter, r *http.Request, tx string, req state.AuthRequest, ci clientInfo) {
	ctx := r.Context()
	sess, sessHash, found, err := s.currentSession(r)
	if err != nil {
		s.errorPageReq(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	if !found {
		http.Redirect(w, r, "/login?tx="+url.QueryEscape(tx), http.StatusSeeOther)
		return
	}
	user, err := s.opts.Users.UserByID(ctx, sess.TenantID, sess.UserID)
	if errors.Is(err, identity.ErrNotFound) {
		_ = s.opts.Store.DeleteSession(ctx, sessHash)
		http.Redirect(w, r, "/login?tx="+url.QueryEscape(tx), http.StatusSeeOther)
		return
	}
	if err != nil {
		s.errorPageReq(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	// Scope errors only now, after authentication (catalog B-27): an
	// attacker's client gets no free redirect to its site.
	scopes, ok := decideScopes(req.Scopes, user.Role)
	if !ok {
		_, _ = s.opts.Store.TakeAuthRequest(ctx, state.Hash(tx))
		s.redirectError(w, r, req.RedirectURI, req.State, "invalid_scope", "requested scope is unknown or exceeds what this user may grant")
		return
	}
	req.Scopes = scopes
	if c, err := s.opts.Store.GetConsent(ctx, user.ID, req.ClientID); err == nil &&
		c.RedirectURI == req.RedirectURI && isSubset(scopes, c.Scopes) && c.ExpiresAt.After(s.opts.Now()) {
		// Consent is remembered for this client, redirect URI and scopes.
		if _, err := s.opts.Store.TakeAuthRequest(ctx, state.Hash(tx)); err != nil {
			s.takeFailed(w, r, err)
			return
		}
		s.issueCode(w, r, req, user, "consent_remembered")
		return
	}
	// Bind the request to this session and a fresh CSRF token (B-60, B-61).
	csrf := randomToken()
	req.CSRFHash, req.SessionHash = state.Hash(csrf), sessHash
	if _, err := s.opts.Store.TakeAuthRequest(ctx, state.Hash(tx)); err != nil {
		s.takeFailed(w, r, err)
		return
	}
	if err := s.opts.Store.SaveAuthRequest(ctx, state.Hash(tx), req, AuthRequestTTL); err != nil {
		s.errorPageReq(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	host, loopbackOnly := redirectHost(req.RedirectURI)
	s.render(w, http.StatusOK, "consent.html", map[string]any{
		"Title":        "Allow access",
		"ClientName":   displayName(ci),
		"ClientID":     ci.ID,
		"Unverified":   ci.Dynamic || ci.Metadata,
		"RedirectHost": host,
		"LoopbackOnly": loopbackOnly,
		"Email":        user.Email,
		"Scopes":       scopeWords(scopes),
		"Tx":           tx,
		"CSRF":         csrf,
	})
}

// consent handles the approve/deny form. CrossOriginProtection has already
// refused cross-site posts (B-62); here the CSRF token must match the one
// bound to this session and transaction, and the transaction is taken
// atomically so a double submit issues one code (B-64).
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		s.errorPageReq(w, r, http.StatusBadRequest, msgForbidden)
		return
	}
	tx, csrf, action := validTx(r.PostForm.Get("tx")), r.PostForm.Get("csrf"), r.PostForm.Get("action")
	ctx := r.Context()
	_, sessHash, found, err := s.currentSession(r)
	if err != nil {
		s.errorPageReq(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	if !found || tx == "" || csrf == "" {
		s.errorPageReq(w, r, http.StatusForbidden, msgForbidden)
		return
	}
	req, err := s.opts.Store.GetAuthRequest(ctx, state.Hash(tx))
	switch {
	case errors.Is(err, state.ErrNotFound):
		s.errorPageReq(w, r, http.StatusBadRequest, msgExpiredRequest)
		return
	case err != nil:
		s.errorPageReq(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	if req.SessionHash == "" || subtle.ConstantTimeCompare([]byte(req.SessionHash), []byte(sessHash)) != 1 ||
		subtle.ConstantTimeCompare([]byte(req.CSRFHash), []byte(state.Hash(csrf))) != 1 {
		s.audit(ctx, "consent_csrf_rejected")
		s.errorPageReq(w, r, http.StatusForbidden, msgForbidden)
		return
	}
	if action != "approve" && action != "deny" {
		s.errorPageReq(w, r, http.StatusBadRequest, msgForbidden)
		return
	}
	taken, err := s.opts.Store.TakeAuthRequest(ctx, state.Hash(tx))
	if err != nil {
		s.takeFailed(w, r, err)
		return
	}
	sess, _, _, _ := s.currentSession(r)
	if action == "deny" {
		s.audit(ctx, "consent_denied", slog.String("client_id", taken.ClientID), slog.String("user_id", sess.UserID))
		s.redirectError(w, r, taken.RedirectURI, taken.State, "access_denied", "the user denied the request")
		return
	}
	user, err := s.opts.Users.UserByID(ctx, sess.TenantID, sess.UserID)
	if err != nil {
		s.errorPageReq(w, r, http.StatusForbidden, msgForbidden)
		return
	}
	if err := s.opts.Store.GrantConsent(ctx, user.ID, taken.ClientID, taken.Scopes, taken.RedirectURI, ConsentTTL); err != nil {
		s.redirectError(w, r, taken.RedirectURI, taken.State, "temporarily_unavailable", "try again shortly")
		return
	}
	s.issueCode(w, r, taken, user, "consent_granted")
}

// takeFailed answers a failed TakeAuthRequest: a request that is gone
// (expired, or taken by a concurrent submit, B-64) is 400; a store that
// cannot answer is 503, so the user is not told to start over during an
// outage and can retry the same transaction (catalog B-46, R-01).
func (s *Server) takeFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, state.ErrNotFound) {
		s.errorPageReq(w, r, http.StatusBadRequest, msgExpiredRequest)
		return
	}
	s.errorPageReq(w, r, http.StatusServiceUnavailable, msgUnavailable)
}

// issueCode mints a single-use code bound to the client, redirect URI,
// PKCE challenge and user, and redirects to the client (RFC 6749 §4.1.2).
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, req state.AuthRequest, user identity.User, event string) {
	code := randomToken()
	now := s.opts.Now()
	err := s.opts.Store.SaveCode(r.Context(), state.Hash(code), state.AuthCode{
		ClientID:      req.ClientID,
		RedirectURI:   req.RedirectURI,
		CodeChallenge: req.CodeChallenge,
		Scopes:        req.Scopes,
		Resource:      req.Resource,
		UserID:        user.ID,
		TenantID:      user.TenantID,
		Email:         user.Email,
		FamilyID:      randomID(),
		IssuedAt:      now,
		ExpiresAt:     now.Add(CodeTTL),
	}, CodeTTL)
	if err != nil {
		s.redirectError(w, r, req.RedirectURI, req.State, "temporarily_unavailable", "try again shortly")
		return
	}
	s.audit(r.Context(), event, slog.String("client_id", req.ClientID), slog.String("user_id", user.ID),
		slog.String("tenant_id", user.TenantID), slog.String("scope", strings.Join(req.Scopes, " ")))
	s.redirectTo(w, r, req.RedirectURI, url.Values{"code": {code}}, req.State)
}

// redirectError sends an RFC 6749 §4.1.2.1 error to a validated redirect URI.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, redirect, st, code, desc string) {
	s.redirectTo(w, r, redirect, url.Values{"error": {code}, "error_description": {desc}}, st)
}

// redirectTo appends params, state and iss (RFC 9207) to redirect. GETs get
// 302 and POSTs 303, never 307, which would re-post the user's form to the
// client (RFC 9700 §4.12).
func (s *Server) redirectTo(w http.ResponseWriter, r *http.Request, redirect string, params url.Values, st string) {
	u, err := url.Parse(redirect)
	if err != nil {
		s.errorPageReq(w, r, http.StatusBadRequest, msgBadClient)
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if st != "" {
		q.Set("state", st)
	}
	q.Set("iss", s.opts.Issuer)
	u.RawQuery = q.Encode()
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Location", u.String())
	w.WriteHeader(status)
}

// decideScopes applies the default (crm:read) and bounds the request by
// what the user's role may grant. ok is false for unknown scopes or
// scopes beyond the role.
func decideScopes(requested []string, role identity.Role) ([]string, bool) {
	if len(requested) == 0 {
		requested = []string{identity.ScopeRead}
	}
	allowed := role.MaxScopes()
	var out []string
	for _, sc := range requested {
		if !slices.Contains(allowed, sc) {
			return nil, false
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	// Keep the canonical order so consents and tokens compare simply.
	slices.SortFunc(out, func(a, b string) int {
		return slices.Index(identity.AllScopes, a) - slices.Index(identity.AllScopes, b)
	})
	return out, true
}

func isSubset(sub, super []string) bool {
	for _, s := range sub {
		if !slices.Contains(super, s) {
			return false
		}
	}
	return true
}

// scopeWords explains scopes in plain words on the consent page.
func scopeWords(scopes []string) []string {
	words := map[string]string{
		identity.ScopeRead:   "Read candidates, contacts, companies, jobs, pipelines, notes and tasks",
		identity.ScopeWrite:  "Create and change records: move candidates between stages, add notes, log activities, manage tasks",
		identity.ScopeExport: "Export people and pipelines as CSV files",
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, words[s])
	}
	return out
}

// redirectHost is what the consent page names as the destination, and
// whether it is this computer only.
func redirectHost(redirect string) (string, bool) {
	u, err := url.Parse(redirect)
	if err != nil {
		return "", false
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return u.Scheme + "://" + u.Host, false
	}
	return u.Host, redirecturi.IsLoopbackHost(u.Hostname())
}
