package authserver

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/cimd"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// Store is the shared state the authorization server uses.
type Store interface {
	state.Clients
	state.Codes
	state.RefreshTokens
	state.Revocations
	state.Sessions
	state.Consents
	state.AuthRequests
}

// MetadataFetcher resolves URL client ids (Client ID Metadata Documents).
type MetadataFetcher interface {
	Fetch(ctx context.Context, clientID string) (cimd.Document, error)
}

// Lifetimes of what the server issues.
const (
	CodeTTL        = 10 * time.Minute
	AuthRequestTTL = 10 * time.Minute
	RefreshTTL     = 7 * 24 * time.Hour // absolute, per family
	ClientTTL      = 90 * 24 * time.Hour
	SessionTTL     = 12 * time.Hour
	ConsentTTL     = 90 * 24 * time.Hour
	// DefaultRefreshGrace lets a client that lost a refresh response retry
	// with the same token and get the same successor (RFC 9700 §4.14.2
	// allows it; hydra calls it the rotation grace period).
	DefaultRefreshGrace = 30 * time.Second
	// CodeReplayGrace is how long after a redemption a replay of the code
	// (same client, same verifier) counts as a duplicate of it rather than
	// a replay that revokes the tokens issued (see exchangeCode).
	CodeReplayGrace = 2 * time.Second
)

// Options configures a [Server].
type Options struct {
	// Issuer is the public base URL; it is the issuer identifier exactly.
	Issuer string
	// Resource is the canonical MCP resource URL (Issuer + "/mcp").
	Resource string
	Store    Store
	Users    identity.Directory
	Access   *token.AccessIssuer
	// RefreshSecret keys the derivation of refresh-token successors
	// (HMAC), so a retried refresh gets the same successor. At least 32 bytes.
	RefreshSecret []byte
	// CIMD fetches Client ID Metadata Documents. If nil, URL client ids
	// are refused.
	CIMD MetadataFetcher
	// RefreshGrace is the rotation grace window. If zero, defaults to
	// DefaultRefreshGrace; negative means strict (no grace).
	RefreshGrace time.Duration
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
	// Logger receives audit events and failure classes. If nil, discards.
	Logger *slog.Logger
	// RateLimits limits the public endpoints (ratelimit.go). If nil,
	// nothing is limited.
	RateLimits *RateLimits
}

// Server is the authorization server. Mount its routes on a mux.
type Server struct {
	opts   Options
	secure bool // issuer is https: cookies get Secure and the __Host- prefix
	logger *slog.Logger
	csrf   *http.CrossOriginProtection
}

// New validates opts and returns the server.
func New(opts Options) (*Server, error) {
	u, err := url.Parse(opts.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("new authorization server: issuer must be an absolute http(s) URL")
	}
	if opts.Store == nil || opts.Users == nil || opts.Access == nil || opts.Resource == "" {
		return nil, errors.New("new authorization server: store, users, access issuer and resource are required")
	}
	if len(opts.RefreshSecret) < 32 {
		return nil, errors.New("new authorization server: refresh secret must have at least 32 bytes")
	}
	if opts.RefreshGrace == 0 {
		opts.RefreshGrace = DefaultRefreshGrace
	}
	if opts.RefreshGrace < 0 {
		opts.RefreshGrace = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RateLimits != nil {
		rl := *opts.RateLimits
		if err := rl.validate(); err != nil {
			return nil, fmt.Errorf("new authorization server: %w", err)
		}
		opts.RateLimits = &rl
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, secure: u.Scheme == "https", logger: logger, csrf: http.NewCrossOriginProtection()}
	s.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, http.StatusForbidden, "This request came from another site and was refused.")
	}))
	return s, nil
}

// Mount registers the authorization server's routes.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.serverMetadata)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serverMetadata)
	mux.HandleFunc("GET /.well-known/oauth-protected-resource", s.resourceMetadata)
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", s.resourceMetadata)
	// Rate limits run first (docs/architecture.md §3 step 4): a refused
	// request reaches no handler and changes nothing.
	mux.Handle("POST /register", s.limitIP(PolicyRegister, refuseJSON, http.HandlerFunc(s.register)))
	mux.Handle("GET /authorize", s.limitIP(PolicyAuthorize, refusePage, http.HandlerFunc(s.authorize)))
	mux.HandleFunc("GET /authorize/resume", s.resume)
	mux.Handle("POST /consent", s.limitIP(PolicyConsent, refusePage, s.csrf.Handler(http.HandlerFunc(s.consent))))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.Handle("POST /login", s.limitIP(PolicyLogin, refusePage, s.csrf.Handler(http.HandlerFunc(s.login))))
	mux.Handle("POST /logout", s.csrf.Handler(http.HandlerFunc(s.logout)))
	mux.HandleFunc("GET /{$}", s.home)
	mux.Handle("POST /token", s.limitIP(PolicyToken, refuseJSON, http.HandlerFunc(s.token)))
	mux.Handle("POST /revoke", s.limitIP(PolicyRevoke, refuseJSON, http.HandlerFunc(s.revoke)))
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles()))
	for _, p := range []string{"/register", "/token", "/revoke"} {
		mux.HandleFunc(p, methodNotAllowed("POST"))
	}
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "method not allowed"})
	}
}

// MetadataURL is the RFC 9728 protected resource metadata URL for /mcp.
func (s *Server) MetadataURL() string {
	return s.opts.Issuer + "/.well-known/oauth-protected-resource/mcp"
}

// randomToken returns 256 random bits, base64url: codes, refresh tokens,
// session ids, transaction ids, CSRF tokens (OAuth 2.1 §7.10: guessing
// probability far below 2^-128).
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomID returns 128 random bits for identifiers (client and family ids).
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// successor derives the refresh token that replaces rt. Deriving it (rather
// than drawing it at random) lets a client that lost the response retry
// within the grace window and receive the same successor, without the store
// ever holding a plaintext token.
func (s *Server) successor(rt string) string {
	m := hmac.New(sha256.New, s.opts.RefreshSecret)
	m.Write([]byte("refresh-successor\x00"))
	m.Write([]byte(rt))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// s256 is the PKCE S256 transform (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// audit logs a security event without secrets.
func (s *Server) audit(ctx context.Context, event string, attrs ...slog.Attr) {
	s.logger.LogAttrs(ctx, slog.LevelInfo, "audit", append([]slog.Attr{slog.String("event", event)}, attrs...)...)
}
