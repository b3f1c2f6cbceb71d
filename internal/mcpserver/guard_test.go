package mcpserver

import "testing"

func TestNormalizeOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://App.Example.com", "https://app.example.com", true},
		{"https://app.example.com:443", "https://app.example.com", true},
		{"http://localhost:80", "http://localhost", true},
		{"http://localhost:6274", "http://localhost:6274", true},
		{"http://[::1]:6274", "http://[::1]:6274", true},
		{"https://app.example.com/", "https://app.example.com", true},
		{"null", "", false},
		{"file://x", "", false},
		{"https://user@app.example.com", "", false},
		{"https://app.example.com/path", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeOrigin(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestHostAndOriginChecks(t *testing.T) {
	g, err := newGuard(GuardOptions{
		AllowedOrigins: []string{"https://mcp.example.com"},
		AllowedHosts:   []string{"mcp.example.com", "internal:8080"},
		AllowLoopback:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]bool{
		"mcp.example.com":          true,
		"MCP.example.com:443":      true, // bare host entry matches any port
		"internal:8080":            true,
		"internal:9090":            false,
		"localhost:8080":           true,
		"127.0.0.1:8080":           true,
		"[::1]:8080":               true,
		"127.1.2.3":                true,
		"evil.example":             false,
		"mcp.example.com.evil.com": false,
		"localhost.evil.com":       false,
		"":                         false,
	}
	for host, want := range hosts {
		if got := g.hostAllowed(host); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
	origins := map[string]bool{
		"https://mcp.example.com":      true,
		"https://mcp.example.com:443":  true,
		"http://mcp.example.com":       false, // scheme matters
		"https://evil.example":         false,
		"http://localhost:6274":        true,
		"http://127.0.0.1:1234":        true,
		"null":                         false,
		"https://mcp.example.com.evil": false,
	}
	for origin, want := range origins {
		if got := g.originAllowed(origin); got != want {
			t.Errorf("originAllowed(%q) = %v, want %v", origin, got, want)
		}
	}
}

func TestGuardWithoutLoopback(t *testing.T) {
	g, err := newGuard(GuardOptions{AllowedHosts: []string{"mcp.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.hostAllowed("127.0.0.1:8080") || g.originAllowed("http://localhost:3000") {
		t.Error("loopback allowed although AllowLoopback is false")
	}
	if _, err := newGuard(GuardOptions{AllowedOrigins: []string{"javascript:alert(1)"}}); err == nil {
		t.Error("an invalid allowed origin was accepted")
	}
	if _, err := newGuard(GuardOptions{MaxBodyBytes: -1}); err == nil {
		t.Error("a negative body limit was accepted")
	}
}

func TestIsBatch(t *testing.T) {
	for body, want := range map[string]bool{
		`[{}]`:         true,
		" \r\n\t[]":    true,
		`{"a":[1]}`:    false,
		`  {"id":"["}`: false,
		``:             false,
	} {
		if got := isBatch([]byte(body)); got != want {
			t.Errorf("isBatch(%q) = %v, want %v", body, got, want)
		}
	}
}
