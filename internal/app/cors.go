package app

import (
	"net/http"
	"strings"
)

// CORS lets browser-based MCP clients (MCP Inspector's web UI, web IDEs)
// discover, register, obtain tokens and call /mcp.
//
//   - OAuth discovery, /register, /token and /revoke are public,
//     credential-less endpoints (no cookies): any origin may read them.
//     /authorize, /login and /consent are navigations, never fetched
//     cross-origin, and get no CORS headers.
//   - /mcp answers only origins the transport guard allows (the public
//     URL's origin, configured origins, loopback on a loopback bind); the
//     guard refuses the others with 403 anyway.
//
// No endpoint allows credentials (cookies): the bearer token is an
// explicit header.
func (a *App) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/.well-known/") || p == "/register" || p == "/token" || p == "/revoke":
			h.Set("Access-Control-Allow-Origin", "*")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		case p == "/mcp" && a.mcp.OriginAllowed(origin):
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version, X-Request-Id")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "POST, GET, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Session-Id, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
