package app_test

import (
	"net/http"
	"testing"
)

func TestCORS(t *testing.T) {
	ts := startServer(t, map[string]string{"CRM_MCP_ALLOWED_ORIGINS": "https://ide.example.com"})
	tests := []struct {
		name, method, path, origin string
		wantStatus                 int
		wantACAO                   string
	}{
		{"metadata from any origin", http.MethodGet, "/.well-known/oauth-authorization-server", "https://anything.example", 200, "*"},
		{"token preflight", http.MethodOptions, "/token", "https://anything.example", 204, "*"},
		{"mcp preflight from loopback inspector", http.MethodOptions, "/mcp", "http://localhost:6274", 204, "http://localhost:6274"},
		{"mcp preflight from configured origin", http.MethodOptions, "/mcp", "https://ide.example.com", 204, "https://ide.example.com"},
		{"mcp preflight from a foreign origin", http.MethodOptions, "/mcp", "https://evil.example", 401, ""},
		{"login page is never CORS", http.MethodGet, "/login", "https://anything.example", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			resp := ts.do(t, req)
			if resp.status != tt.wantStatus || resp.header.Get("Access-Control-Allow-Origin") != tt.wantACAO {
				t.Errorf("status %d ACAO %q, want %d %q", resp.status, resp.header.Get("Access-Control-Allow-Origin"), tt.wantStatus, tt.wantACAO)
			}
			if resp.header.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials allowed")
			}
		})
	}
}
