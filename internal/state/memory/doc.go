// Package memory is an in-process, bounded implementation of state.Store for
// tests, development and single-instance deployments. It is not shared
// between processes, so it cannot back a multi-instance deployment.
package memory
