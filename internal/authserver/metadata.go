package authserver

import (
	"net/http"

	"github.com/crm-mcp/crm-mcp/internal/identity"
)

// serverMetadata implements RFC 8414 §3 (and serves the same document at
// the OIDC discovery path, which some MCP clients try first). Every URL
// comes from configuration, never from the request's Host (F-04).
func (s *Server) serverMetadata(w http.ResponseWriter, _ *http.Request) {
	iss := s.opts.Issuer
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Type", "application/json")
	writeJSONCached(w, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorize",
		"token_endpoint":                                 iss + "/token",
		"registration_endpoint":                          iss + "/register",
		"revocation_endpoint":                            iss + "/revoke",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"none", "client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":     []string{"none", "client_secret_basic", "client_secret_post"},
		"scopes_supported":                               identity.AllScopes,
		"client_id_metadata_document_supported":          s.opts.CIMD != nil,
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
	})
}

// resourceMetadata implements RFC 9728 §3 for the MCP endpoint.
func (s *Server) resourceMetadata(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSONCached(w, map[string]any{
		"resource":                 s.opts.Resource,
		"authorization_servers":    []string{s.opts.Issuer},
		"scopes_supported":         identity.AllScopes,
		"bearer_methods_supported": []string{"header"},
		"resource_name":            "crm-mcp recruitment CRM",
	})
}
