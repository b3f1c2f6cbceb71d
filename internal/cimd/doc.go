// Package cimd fetches and validates OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document, "CIMD"), the mechanism the
// MCP authorization spec (2025-11-25 and later) uses to let a client present
// an https URL as its client_id instead of registering first.
//
// The authorization server must fetch a URL chosen by an unauthenticated
// party, so the package is built around server-side request forgery (SSRF)
// defenses (MCP security best practices, "SSRF Against Authorization
// Servers"; catalog G-INV-5):
//
//   - [IsURLClientID] accepts only a narrow, canonical URL form: lowercase
//     https, an ASCII DNS host name (A-labels; no IP literals, no userinfo),
//     a path, no query, no fragment, no dot segments.
//   - [Fetcher] resolves the host once, refuses the fetch if any resolved
//     address is non-public (loopback, RFC 1918, ULA, link-local including
//     cloud metadata, CGNAT, multicast, …), then dials only the vetted
//     addresses, so a DNS answer that changes between check and connect
//     (rebinding) cannot redirect the connection. TLS still verifies the
//     host name. A dialer Control hook re-checks every socket as defense in
//     depth. Proxies from the environment, redirects, cookies and
//     compression are off; the body, time and headers are bounded.
//   - Documents are decoded strictly (exact-case member names, duplicates
//     rejected) and validated as a public client: client_id equal to the
//     URL, https or loopback redirect URIs, token_endpoint_auth_method
//     "none", and a client_name stripped of control, bidi and zero-width
//     characters for the consent page.
//
// Results, including failures, are cached in a bounded LRU with an injected
// clock, and concurrent fetches of one URL share a single request, so a
// hostile or broken client_id cannot make the server fetch on every
// /authorize.
package cimd
