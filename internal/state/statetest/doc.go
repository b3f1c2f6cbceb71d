// Package statetest is the conformance suite every state.Store backend runs:
// Run covers each method's contract (CRUD, expiry, single use, rotation,
// revocation), RunConcurrency covers the races (one winner per code, per
// authorization request and per refresh token).
package statetest
