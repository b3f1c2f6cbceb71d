package authserver

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/state"
)

// Message constants: pages never show request data or internal errors.
const (
	msgBadLogin       = "The email or password is not right."
	msgUnavailable    = "The service is temporarily unavailable. Please try again in a moment."
	msgExpiredRequest = "This sign-in request has expired or was already used. Start again from your application."
	msgBadClient      = "The application that sent you here is not registered, or asked to send you to an address it has not registered. You have not been sent back to it."
	msgForbidden      = "This request could not be verified and was refused. Start again from your application."
	maxFormBody       = 16 << 10
)

// sessionCookieName is __Host- prefixed on https (no Domain, Path=/,
// Secure: the browser enforces that nothing else can set it). Plain http is
// only allowed on loopback, where the prefix cannot be used.
func (s *Server) sessionCookieName() string {
	if s.secure {
		return "__Host-crm_session"
	}
	return "crm_session"
}

// currentSession returns the login session of the request. found is false
// for no, a forged, an expired or a deleted session; err is set only when
// the store cannot answer (then nobody counts as logged in: B-46).
func (s *Server) currentSession(r *http.Request) (sess state.Session, hash string, found bool, err error) {
	c, cerr := r.Cookie(s.sessionCookieName())
	if cerr != nil || len(c.Value) != 43 {
		return state.Session{}, "", false, nil
	}
	hash = state.Hash(c.Value)
	sess, err = s.opts.Store.GetSession(r.Context(), hash)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return state.Session{}, "", false, nil
	case err != nil:
		return state.Session{}, "", false, err
	case !sess.ExpiresAt.After(s.opts.Now()):
		return state.Session{}, "", false, nil
	}
	return sess, hash, true, nil
}

func (s *Server) setSessionCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.sessionCookieName(),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// loginPage shows the sign-in form; tx names the pending authorization
// request to continue afterwards (a server-side continuation: there is no
// return URL to abuse, catalog B.4).
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	tx := r.URL.Query().Get("tx")
	data := map[string]any{"Title": "Sign in", "Tx": validTx(tx)}
	if req, err := s.opts.Store.GetAuthRequest(r.Context(), state.Hash(tx)); err == nil && tx != "" {
		data["ClientName"] = s.displayNameFor(r, req.ClientID)
	}
	s.render(w, http.StatusOK, "login.html", data)
}

func validTx(tx string) string {
	if len(tx) != 43 {
		return ""
	}
	return tx
}

// login authenticates a CRM user and starts a new session. The session id
// is always new (fixation, B-40); the old one is deleted.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, msgForbidden)
		return
	}
	email, password, tx := r.PostForm.Get("email"), r.PostForm.Get("password"), validTx(r.PostForm.Get("tx"))
	if !s.allowLoginAccount(w, r, email, tx) {
		return
	}
	user, err := s.opts.Users.Authenticate(r.Context(), email, password)
	if err != nil {
		status := http.StatusUnauthorized
		msg := msgBadLogin
		if !errors.Is(err, identity.ErrBadCredentials) {
			status, msg = http.StatusServiceUnavailable, msgUnavailable
		}
		s.audit(r.Context(), "login_failed")
		s.render(w, status, "login.html", map[string]any{"Title": "Sign in", "Tx": tx, "Error": msg, "Email": email})
		return
	}
	if _, oldHash, found, _ := s.currentSession(r); found {
		_ = s.opts.Store.DeleteSession(r.Context(), oldHash)
	}
	sid := randomToken()
	now := s.opts.Now()
	err = s.opts.Store.CreateSession(r.Context(), state.Hash(sid), state.Session{
		UserID: user.ID, TenantID: user.TenantID, Email: user.Email, CreatedAt: now, ExpiresAt: now.Add(SessionTTL),
	}, SessionTTL)
	if err != nil {
		s.render(w, http.StatusServiceUnavailable, "login.html", map[string]any{"Title": "Sign in", "Tx": tx, "Error": msgUnavailable, "Email": email})
		return
	}
	s.setSessionCookie(w, sid, int(SessionTTL.Seconds()))
	s.audit(r.Context(), "login", slog.String("user_id", user.ID), slog.String("tenant_id", user.TenantID))
	next := "/"
	if tx != "" {
		next = "/authorize/resume?tx=" + url.QueryEscape(tx)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout deletes the session server side, so a replayed cookie is dead (B-44).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if _, hash, found, _ := s.currentSession(r); found {
		if err := s.opts.Store.DeleteSession(r.Context(), hash); err != nil {
			s.errorPage(w, http.StatusServiceUnavailable, msgUnavailable)
			return
		}
	}
	s.setSessionCookie(w, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// home is the signed-in landing page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	sess, _, found, _ := s.currentSession(r)
	data := map[string]any{"Title": "crm-mcp", "MCPURL": s.opts.Resource}
	if found {
		data["Email"] = sess.Email
	}
	s.render(w, http.StatusOK, "home.html", data)
}
