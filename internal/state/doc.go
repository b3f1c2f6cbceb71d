// Package state defines the shared OAuth authorization-server state contract:
// the records (clients, authorization codes, refresh-token families, access-token
// revocations, login sessions, consents and pending authorization requests), the
// sentinel errors every backend returns, and one small interface per aggregate,
// composed into [Store].
//
// Backends live in subpackages (memory, redis) and are held to the same contract
// by the conformance suite in statetest.
//
// Secrets never reach a store in plaintext. Callers pass authorization codes,
// refresh tokens, session ids and authorization-request ids already hashed with
// [Hash]; the store uses the hash as the lookup key and never sees the secret.
//
// Errors: a backend returns [ErrNotFound], [ErrExists], [ErrMismatch] or
// [ErrConsumed] for semantic outcomes, [ErrInvalid] for caller bugs, and wraps
// [ErrUnavailable] for everything else (backend down, timeout, corrupt record).
// Handlers translate ErrUnavailable to 503 with Retry-After, never to
// invalid_grant, so that a client does not discard a valid code or refresh token
// because the store was briefly unreachable. Error messages never contain keys,
// hashes, identifiers or record contents.
package state
