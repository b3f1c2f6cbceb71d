// Package ratelimit counts requests against named fixed-window policies and
// admits or refuses them.
//
// Counters live in Redis when a client is configured: one Lua script per
// decision reads the window from the server's clock (TIME), so instance
// clocks do not matter, and keys are hash-tagged ("{…}") and expire with
// their window. When a Redis call fails or exceeds the timeout, the decision
// comes from a bounded in-memory limiter in this process instead (a
// fallback, never an open door), a circuit breaker stops waiting on a dead
// Redis, and probes bring the limiter back to Redis once it answers again.
//
// Keys are hashed (SHA-256, truncated) before they reach Redis, memory or a
// log, so client ids, account names and addresses are never stored in
// clear.
package ratelimit
