// Package authserver is crm-mcp's OAuth 2.1 authorization server: metadata
// (RFC 8414, RFC 9728), dynamic client registration (RFC 7591), Client ID
// Metadata Documents, /authorize with PKCE (RFC 7636) that reuses the CRM's
// login session, consent, /token (authorization_code, refresh_token with
// rotation and reuse detection, RFC 9700 §4.14) and /revoke (RFC 7009).
//
// OAuth failures are *oauthError values built by the grant code and written
// once at the edge (writeTokenError, redirectError, errorPage). All shared
// state goes through the narrow state interfaces, so every instance behind
// a load balancer sees the same codes, families, sessions and consents.
package authserver
