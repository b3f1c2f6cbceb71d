// Package token mints and verifies crm-mcp's client access tokens: HS256
// JWTs (RFC 7519, typ at+jwt per RFC 9068) signed from a key ring, so keys
// rotate without logging anyone out. Verification follows RFC 8725: one
// allowed algorithm, keys chosen only by a known kid, audience and issuer
// checked exactly, exp required, bounded leeway, and claims decoded
// strictly (no duplicate or case-variant keys).
package token
