// Package browser holds the end-to-end test of crm-mcp's authorization
// pages in a real browser: browser_test.go starts the whole app on a
// loopback port and drives headless Chromium (Debian's chromium package,
// /usr/bin/chromium, or $CRM_MCP_CHROMIUM) through consent.mjs, a
// playwright-core script run with the Node.js pinned in e2e/node:
//
//   - /authorize → login page → consent page → Allow: the client's loopback
//     callback receives code, state and iss, and the code redeems at /token
//     for a token that opens /mcp;
//   - the same with Deny: the callback receives error=access_denied;
//   - the client registers with an HTML-looking client_name, which both
//     pages must show as literal text without running it (no dialog);
//   - another loopback origin embedding the login or consent page in an
//     iframe gets nothing rendered (CSP frame-ancestors 'none',
//     X-Frame-Options DENY), checked against a frameable control page.
//
// The test skips when Chromium, the pinned Node.js or playwright-core is
// missing (npm ci --prefix e2e/node; apt-get install chromium), and fails
// instead under CRM_MCP_REQUIRE_SERVICES=1, as in CI. Set
// CRM_MCP_SCREENSHOT_DIR to keep the consent page screenshot it takes.
//
//	go test ./e2e/browser
package browser
