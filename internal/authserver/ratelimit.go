package authserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/clientip"
	"github.com/crm-mcp/crm-mcp/internal/ratelimit"
)

// RateLimiter decides requests against fixed-window policies;
// *ratelimit.Limiter implements it. Allow never fails open (see package
// ratelimit): a store outage is answered from per-instance memory.
type RateLimiter interface {
	Allow(ctx context.Context, p ratelimit.Policy, key string, cost int64) ratelimit.Decision
}

// RateLimits configures the authorization server's rate limits.
type RateLimits struct {
	Limiter RateLimiter
	// Policies by name. Every name in AuthPolicies must be present.
	Policies map[string]ratelimit.Policy
	// ClientKey is the client-IP key of a request (trusted proxies
	// applied). If nil, the socket address (IPv6 by /64).
	ClientKey func(*http.Request) string
}

// The policies the authorization server applies. Each is keyed by client
// IP except token_client (the client_id presented at /token) and
// login_account (client IP and the account name tried, so guessing one
// account's password is bounded well below the per-IP budget).
const (
	PolicyRegister     = "register"
	PolicyAuthorize    = "authorize"
	PolicyToken        = "token"
	PolicyTokenClient  = "token_client"
	PolicyRevoke       = "revoke"
	PolicyLogin        = "login"
	PolicyLoginAccount = "login_account"
	PolicyConsent      = "consent"
)

// AuthPolicies lists the policies [RateLimits] must define.
var AuthPolicies = []string{PolicyRegister, PolicyAuthorize, PolicyToken, PolicyTokenClient, PolicyRevoke, PolicyLogin, PolicyLoginAccount, PolicyConsent}

const msgTooMany = "Too many requests came from your network. Please wait a few minutes and try again."

func (rl *RateLimits) validate() error {
	if rl.Limiter == nil {
		return fmt.Errorf("rate limits: no limiter")
	}
	for _, name := range AuthPolicies {
		if p, ok := rl.Policies[name]; !ok || p.Limit < 1 || p.Window <= 0 {
			return fmt.Errorf("rate limits: policy %q is missing or invalid", name)
		}
	}
	if rl.ClientKey == nil {
		var zero *clientip.Resolver // trusts no proxy: the socket address
		rl.ClientKey = zero.Key
	}
	return nil
}

// refusal says how a refused request is answered.
type refusal int

const (
	refuseJSON refusal = iota // /register, /token, /revoke: OAuth JSON error
	refusePage                // /authorize, /login, /consent: HTML error page, never a redirect (RFC 9700 §4.11)
)

// limitIP applies the per-client-IP policy before h. Without rate limits
// configured it returns h itself.
func (s *Server) limitIP(policy string, how refusal, h http.Handler) http.Handler {
	if s.opts.RateLimits == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.allow(w, r, policy, s.opts.RateLimits.ClientKey(r), how) {
			h.ServeHTTP(w, r)
		}
	})
}

// allow charges one request to policy under key. On refusal it writes the
// 429 and reports false; nothing else has run.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, policy, key string, how refusal) bool {
	rl := s.opts.RateLimits
	if rl == nil {
		return true
	}
	d := rl.Limiter.Allow(r.Context(), rl.Policies[policy], key, 1)
	if d.Allowed {
		return true
	}
	ratelimit.SetHeaders(w.Header(), d)
	switch how {
	case refusePage:
		s.errorPageReq(w, r, http.StatusTooManyRequests, msgTooMany)
	default:
		// RFC 6749 has no rate-limit error code; temporarily_unavailable
		// (§4.1.2.1) is the nearest, and 429 with Retry-After says the rest.
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"error":             "temporarily_unavailable",
			"error_description": fmt.Sprintf("too many requests; retry after %d seconds", ratelimit.RetryAfterSeconds(d)),
		})
	}
	return false
}

// allowTokenClient applies token_client to the client_id the request
// presents (Basic credentials or the form), before anything is looked up
// or consumed.
func (s *Server) allowTokenClient(w http.ResponseWriter, r *http.Request, form url.Values) bool {
	id := form.Get("client_id")
	if user, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(user); err == nil {
			id = u
		}
	}
	if id == "" {
		return true // refused as invalid_client anyway
	}
	return s.allow(w, r, PolicyTokenClient, id, refuseJSON)
}

// allowLoginAccount applies login_account to (client IP, account) before
// the password is checked. The account name is only ever hashed.
func (s *Server) allowLoginAccount(w http.ResponseWriter, r *http.Request, email, tx string) bool {
	rl := s.opts.RateLimits
	if rl == nil {
		return true
	}
	key := rl.ClientKey(r) + "\x00" + strings.ToLower(strings.TrimSpace(email))
	d := rl.Limiter.Allow(r.Context(), rl.Policies[PolicyLoginAccount], key, 1)
	if d.Allowed {
		return true
	}
	ratelimit.SetHeaders(w.Header(), d)
	s.render(w, http.StatusTooManyRequests, "login.html", map[string]any{"Title": "Sign in", "Tx": tx, "Error": msgTooManyLogins})
	return false
}

const msgTooManyLogins = "Too many sign-in attempts for this account. Please wait a few minutes and try again."
