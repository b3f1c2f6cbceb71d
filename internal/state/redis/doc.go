// Package redis implements state.Store on Redis (standalone, Sentinel or
// Cluster), so that any number of server instances share one OAuth state.
//
// Key layout (P is Options.Prefix; every key has a TTL):
//
//	P:{client:ID}                hash d=JSON, lu=last used        90 d sliding (caller's ttl)
//	P:{code:H}                   JSON AuthCode                    caller's ttl (10 min)
//	P:{code:H}:tomb              hash f=family, c=client, p=PKCE  max(code's rest, 10 min)
//	P:{fam:F}                    hash d=JSON, cid, cur, prev, rot until Family.ExpiresAt
//	P:{fam:F}:revoked            "1"                              max(family's rest, MinRevocationTTL)
//	P:{rt:H}                     JSON {f: family id, x: expiry}   until Family.ExpiresAt
//	P:{at:JTI}                   "1"                              until the token's expiry
//	P:{sess:H}                   JSON Session                     caller's ttl
//	P:{user:U}:consent:C         JSON Consent                     caller's ttl
//	P:{user:U}:consents          set of client ids                longest member's ttl
//	P:{areq:H}                   JSON AuthRequest                 caller's ttl
//
// Keys used together share a hash tag ({...}), so every multi-key command and
// Lua script touches one Cluster slot. A refresh token's index key lives in
// another slot than its family: RotateRefresh reads the index first, then runs
// one script on the family's slot that re-validates everything, so a race
// between the two steps is safe. Values never contain plaintext secrets: codes,
// refresh tokens, session ids and request ids arrive hashed. Keys are built
// from ids by concatenation only; no KEYS or SCAN is ever issued.
//
// Build the client with ContextTimeoutEnabled (or socket timeouts no longer
// than OpTimeout) so that a blackholed Redis fails within OpTimeout.
package redis
