package authserver

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/redirecturi"
	"github.com/crm-mcp/crm-mcp/internal/state"
)

// Registration limits (catalog A-13): a client needs a handful of redirect
// URIs and a short name; anything larger is abuse.
const (
	maxRegisterBody  = 16 << 10
	maxRedirectURIs  = 10
	maxClientNameLen = 100
	maxMetadataURI   = 2000
)

// registerRequest holds the RFC 7591 §2 members we honour. Everything else,
// including self-asserted client_id, client_secret or privileges, is
// ignored.
type registerRequest struct {
	RedirectURIs            []string        `json:"redirect_uris"`
	TokenEndpointAuthMethod *string         `json:"token_endpoint_auth_method"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	ClientName              *string         `json:"client_name"`
	ClientURI               *string         `json:"client_uri"`
	LogoURI                 *string         `json:"logo_uri"`
	PolicyURI               *string         `json:"policy_uri"`
	TosURI                  *string         `json:"tos_uri"`
	Scope                   *string         `json:"scope"`
	JWKSURI                 *string         `json:"jwks_uri"`
	JWKS                    json.RawMessage `json:"jwks"`
	SoftwareStatement       *string         `json:"software_statement"`
}

func errClientMetadata(desc string) *oauthError {
	return &oauthError{Code: "invalid_client_metadata", Description: desc, Status: http.StatusBadRequest}
}

func errRedirectURI(desc string) *oauthError {
	return &oauthError{Code: "invalid_redirect_uri", Description: desc, Status: http.StatusBadRequest}
}

// register implements RFC 7591 §3 dynamic client registration.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeTokenError(w, errClientMetadata("Content-Type must be application/json"))
		return
	}
	if r.ContentLength > maxRegisterBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "invalid_client_metadata", "error_description": "request body too large"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegisterBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "invalid_client_metadata", "error_description": "request body too large"})
			return
		}
		writeTokenError(w, errClientMetadata("unreadable body"))
		return
	}
	var req registerRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeTokenError(w, errClientMetadata("body must be a JSON object of client metadata"))
		return
	}
	c, secret, err := s.validateRegistration(req)
	if err != nil {
		writeTokenError(w, err)
		return
	}
	now := s.opts.Now()
	c.ID = randomID()
	c.CreatedAt, c.LastUsedAt = now, now
	c.Dynamic = true
	if err := s.opts.Store.CreateClient(r.Context(), c, ClientTTL); err != nil {
		writeTokenError(w, err)
		return
	}
	s.audit(r.Context(), "client_registered", slog.String("client_id", c.ID), slog.String("auth_method", c.TokenEndpointAuthMethod))
	resp := map[string]any{
		"client_id":                  c.ID,
		"client_id_issued_at":        now.Unix(),
		"redirect_uris":              c.RedirectURIs,
		"grant_types":                c.GrantTypes,
		"response_types":             c.ResponseTypes,
		"token_endpoint_auth_method": c.TokenEndpointAuthMethod,
	}
	if c.Name != "" {
		resp["client_name"] = c.Name
	}
	if c.Scope != "" {
		resp["scope"] = c.Scope
	}
	if secret != "" {
		// Shown once; only its hash is stored.
		resp["client_secret"] = secret
		resp["client_secret_expires_at"] = 0
	}
	writeJSON(w, http.StatusCreated, resp)
}

// validateRegistration applies the registration policy (catalog §A).
func (s *Server) validateRegistration(req registerRequest) (state.Client, string, error) {
	var c state.Client
	if len(req.RedirectURIs) == 0 {
		return c, "", errRedirectURI("redirect_uris is required")
	}
	if len(req.RedirectURIs) > maxRedirectURIs {
		return c, "", errClientMetadata("too many redirect_uris")
	}
	for _, u := range req.RedirectURIs {
		if err := redirecturi.Validate(u); err != nil {
			return c, "", errRedirectURI("redirect URIs must be https, loopback http or a native app scheme, without fragments, wildcards or userinfo")
		}
	}
	c.RedirectURIs = slices.Compact(slices.Clone(req.RedirectURIs))

	method := "client_secret_basic" // RFC 7591 §2 default
	if req.TokenEndpointAuthMethod != nil {
		method = *req.TokenEndpointAuthMethod
	}
	switch method {
	case "none", "client_secret_basic", "client_secret_post":
	default:
		return c, "", errClientMetadata("token_endpoint_auth_method must be none, client_secret_basic or client_secret_post")
	}
	c.TokenEndpointAuthMethod = method

	c.GrantTypes = []string{"authorization_code", "refresh_token"}
	if req.GrantTypes != nil {
		for _, g := range req.GrantTypes {
			if g != "authorization_code" && g != "refresh_token" {
				return c, "", errClientMetadata("only the authorization_code and refresh_token grants are supported")
			}
		}
		if !slices.Contains(req.GrantTypes, "authorization_code") {
			return c, "", errClientMetadata("grant_types must include authorization_code")
		}
		c.GrantTypes = slices.Compact(slices.Sorted(slices.Values(req.GrantTypes)))
	}
	c.ResponseTypes = []string{"code"}
	for _, rt := range req.ResponseTypes {
		if rt != "code" {
			return c, "", errClientMetadata("only the code response type is supported")
		}
	}
	if req.JWKSURI != nil || len(req.JWKS) > 0 || req.SoftwareStatement != nil {
		return c, "", errClientMetadata("jwks, jwks_uri and software statements are not supported")
	}
	for _, u := range []*string{req.ClientURI, req.LogoURI, req.PolicyURI, req.TosURI} {
		// Stored nowhere and never fetched (G-INV-5); still refused when
		// dangerous, so a later UI cannot be tricked into linking them.
		if u != nil && (*u == "" || len(*u) > maxMetadataURI || !strings.HasPrefix(*u, "https://")) {
			return c, "", errClientMetadata("client_uri, logo_uri, policy_uri and tos_uri must be https URLs")
		}
	}
	if req.ClientName != nil {
		name := cleanDisplayText(*req.ClientName)
		if len([]rune(name)) > maxClientNameLen {
			return c, "", errClientMetadata("client_name is too long")
		}
		c.Name = name
	}
	if req.Scope != nil {
		for _, sc := range strings.Fields(*req.Scope) {
			if !slices.Contains(identity.AllScopes, sc) {
				return c, "", errClientMetadata("unknown scope")
			}
		}
		c.Scope = strings.Join(strings.Fields(*req.Scope), " ")
	}
	var secret string
	if method != "none" {
		secret = randomToken()
		c.SecretHash = state.Hash(secret)
	}
	return c, secret, nil
}

// cleanDisplayText removes control, format (bidi overrides, zero-width) and
// other invisible characters from text shown to a person (catalog A-20),
// and trims it.
func cleanDisplayText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
