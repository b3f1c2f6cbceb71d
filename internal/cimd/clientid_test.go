package cimd_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/cimd"
)

func TestIsURLClientID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"typical", "https://app.example.com/oauth/client-metadata.json", true},
		{"root path", "https://example.com/", true},
		{"port", "https://example.com:8443/client", true},
		{"punycode A-label", "https://xn--bcher-kva.example/c", true},
		{"pchars", "https://example.com/a-b_c~d!$&'()*+,;=:@/x", true},
		{"valid escape", "https://example.com/a%20b", true},

		{"empty", "", false},
		{"not a URL", "my-client", false},
		{"http", "http://example.com/client", false},
		{"uppercase scheme", "HTTPS://example.com/client", false},
		{"no path", "https://example.com", false},
		{"fragment", "https://example.com/client#x", false},
		{"empty fragment", "https://example.com/client#", false},
		{"query", "https://example.com/client?x=1", false},
		{"empty query", "https://example.com/client?", false},
		{"userinfo", "https://user@example.com/client", false},
		{"userinfo password", "https://user:pw@example.com/client", false},
		{"dot segment", "https://example.com/./client", false},
		{"dotdot segment", "https://example.com/a/../client", false},
		{"trailing dotdot", "https://example.com/a/..", false},
		{"encoded dot", "https://example.com/%2e/client", false},
		{"encoded dotdot mixed case", "https://example.com/%2E%2e/client", false},
		{"half encoded dotdot", "https://example.com/.%2e/client", false},
		{"encoded slash", "https://example.com/a%2fb", false},
		{"encoded backslash", "https://example.com/a%5Cb", false},
		{"encoded NUL", "https://example.com/a%00b", false},
		{"bad escape", "https://example.com/a%zz", false},
		{"truncated escape", "https://example.com/a%2", false},
		{"backslash", `https://example.com\@evil.example/x`, false},
		{"space", "https://example.com/a b", false},
		{"IPv4 literal", "https://127.0.0.1/x", false},
		{"IPv4 public literal", "https://93.184.215.14/x", false},
		{"IPv6 literal", "https://[::1]/x", false},
		{"IPv4-mapped literal", "https://[::ffff:127.0.0.1]/x", false},
		{"inet_aton hex", "https://0x7f.1/x", false},
		{"decimal host", "https://2130706433/x", false},
		{"numeric tld", "https://example.123/x", false},
		{"hex tld", "https://a.0x7f000001/x", false},
		{"single label", "https://intranet/x", false},
		{"localhost", "https://localhost/x", false},
		{"localhost subdomain", "https://evil.localhost/x", false},
		{"trailing dot", "https://example.com./x", false},
		{"uppercase host", "https://Example.com/x", false},
		{"non-ASCII host", "https://bücher.example/x", false},
		{"percent host", "https://ex%61mple.com/x", false},
		{"underscore host", "https://ex_ample.com/x", false},
		{"leading hyphen label", "https://-ex.com/x", false},
		{"empty label", "https://a..com/x", false},
		{"empty port", "https://example.com:/x", false},
		{"zero port", "https://example.com:0/x", false},
		{"leading zero port", "https://example.com:0443/x", false},
		{"huge port", "https://example.com:65536/x", false},
		{"non-ASCII path", "https://example.com/ü", false},
		{"too long", "https://example.com/" + strings.Repeat("a", cimd.MaxURLLength), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cimd.IsURLClientID(tt.id); got != tt.want {
				t.Errorf("IsURLClientID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestHost(t *testing.T) {
	tests := []struct {
		id, want string
	}{
		{"https://claude.ai/oauth/client.json", "claude.ai"},
		{"https://example.com:8443/c", "example.com:8443"},
		{"https://xn--bcher-kva.example/c", "xn--bcher-kva.example"},
		{"https://user@claude.ai/x", ""},
		{"http://claude.ai/x", ""},
		{"not a url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := cimd.Host(tt.id); got != tt.want {
				t.Errorf("Host(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func FuzzIsURLClientID(f *testing.F) {
	for _, s := range []string{
		"https://example.com/c", "https://example.com:1/%41", "https://a.b/./",
		"https://[::1]/x", "https://u@a.b/c", "https://a.b/c?d#e", "https://0x7f.1/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !cimd.IsURLClientID(s) {
			if cimd.Host(s) != "" {
				t.Fatalf("Host(%q) non-empty for a rejected id", s)
			}
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q, but url.Parse fails: %v", s, err)
		}
		if u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.RawQuery != "" ||
			u.Fragment != "" || u.Path == "" {
			t.Fatalf("accepted %q with parts %#v", s, u)
		}
		if h := cimd.Host(s); h != u.Host {
			t.Fatalf("Host(%q) = %q, want %q", s, h, u.Host)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				t.Fatalf("accepted %q containing byte %#x", s, s[i])
			}
		}
	})
}
