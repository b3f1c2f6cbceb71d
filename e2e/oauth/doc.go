// Package oauth holds crm-mcp's end-to-end OAuth tests: real MCP clients
// (the official TypeScript SDK, go-sdk's client-side OAuth handler) and the
// official conformance suite's authorization-server scenarios, each run
// against the whole application (internal/app) served in-process on a
// loopback port. The browser part of the authorization code flow (sign in,
// approve) is played headlessly through the server's real login and consent
// forms.
//
// Everything is in the _test.go files; run with
//
//	go test ./e2e/oauth/
//
// The Node-based tests need the pinned tools (npm ci --prefix e2e/node); they
// skip without them unless CRM_MCP_REQUIRE_SERVICES=1, when they fail.
package oauth
