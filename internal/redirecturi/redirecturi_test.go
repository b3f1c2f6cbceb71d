package redirecturi_test

import (
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/redirecturi"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://c1.example/cb", true},
		{"https://c1.example:8443/cb?x=1", true},
		{"http://127.0.0.1/cb", true},
		{"http://127.0.0.1:33418/callback", true},
		{"http://[::1]:8080/cb", true},
		{"http://localhost:6274/oauth/callback", true},
		{"cursor://anysphere.cursor-retrieval/oauth/callback", true},
		{"vscode://vscode.github-authentication/did-authenticate", true},
		{"com.example.app:/cb", true},
		{"javascript:alert(1)//", false},
		{"JavaScript:alert(1)", false},                   // A-01 case
		{"data:text/html,<script>x</script>", false},
		{"vbscript:msgbox", false},
		{"file:///etc/passwd", false},
		{"blob:https://x/1", false},
		{"about:blank", false},
		{"http://c1.example/cb", false},
		{"https://c1.example/cb#x", false},
		{"https://c1.example/cb#", false},                // A-05 empty fragment
		{"https://*.c1.example/cb", false},
		{"https://c1.example/*", false},
		{"/cb", false},
		{"//evil.example/cb", false},
		{"cb", false},
		{"https://c1.example@evil.example/cb", false},
		{"http://localhost.evil.example/cb", false},
		{"http://127.0.0.1.nip.io/cb", false},
		{"https://аpple.example/cb", false},              // A-10 non-ASCII
		{"myapp:/cb", false},                             // A-11 bare custom scheme
		{"https://c1.example/cb/../evil", false},         // B-06
		{"https://c1.example/cb/%2e%2e/evil", false},     // B-06
		{"https://c1.example/cb/%252e%252e/evil", false}, // B-06
		{"https://c1.example\\@evil.example/cb", false},  // B-07
		{"https://c1.example/" + strings.Repeat("a", 2001), false},
		{"https://c1.example/c b", false},
		{"HTTPS://c1.example/cb", false},
		{"https:///cb", false},
		{"", false},
	}
	for _, tt := range tests {
		err := redirecturi.Validate(tt.uri)
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.uri, err, tt.ok)
		}
	}
}

func TestMatch(t *testing.T) {
	reg := []string{"https://c1.example/cb", "http://127.0.0.1/cb", "https://c1.example/q?a=1&b=2"}
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://c1.example/cb", true},
		{"https://evil.example/cb", false},      // B-01
		{"https://c1.example/cb/", false},       // B-02
		{"https://C1.example/cb", false},        // B-03
		{"https://c1.example/CB", false},        // B-03
		{"https://c1.example/cb?x=1", false},    // B-04
		{"https://c1.example/q?b=2&a=1", false}, // B-04
		{"https://c1.example:443/cb", false},    // B-05
		{"http://127.0.0.1:53123/cb", true},     // B-10
		{"http://127.0.0.1/cb", true},           // B-10
		{"http://127.0.0.1:53123/other", false}, // B-10
		{"http://localhost:53123/cb", false},    // B-10: another host literal
		{"http://127.0.0.1:53123/cb#f", false},  // B-08
		{"http://u@127.0.0.1:53123/cb", false},  // userinfo
		{"https://c1.example.evil.example/cb", false},
	}
	for _, tt := range tests {
		if got := redirecturi.Match(reg, tt.uri); got != tt.ok {
			t.Errorf("Match(%q) = %v, want %v", tt.uri, got, tt.ok)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"https://c1.example/cb", "http://127.0.0.1:1/cb", "javascript:x", "cursor://a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if redirecturi.Validate(uri) != nil {
			return
		}
		low := strings.ToLower(uri)
		for _, bad := range []string{"javascript:", "data:", "file:", "#", "*", "\\"} {
			if strings.Contains(low, bad) {
				t.Fatalf("accepted %q containing %q", uri, bad)
			}
		}
	})
}
