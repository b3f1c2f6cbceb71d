package cimd_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crm-mcp/crm-mcp/internal/cimd"
)

func TestParseDocumentRedirectURIs(t *testing.T) {
	const id = "https://client.test/c"
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://client.test/cb", true},
		{"https://client.test:8443/cb?x=1&y=2", true},
		{"https://[2001:4860::1]/cb", true},
		{"http://127.0.0.1/cb", true},
		{"http://127.0.0.1:53123/cb", true},
		{"http://[::1]:8080/cb", true},
		{"http://localhost:33418/cb", true},
		{"https://client.test/%7Euser/cb", true},

		{"javascript:alert(1)", false},
		{"http://client.test/cb", false},
		{"http://127.0.0.1.evil.example/cb", false},
		{"http://[::ffff:127.0.0.1]/cb", false},
		{"http://[fe80::1%25lo]/cb", false},
		{"https://client.test/cb#frag", false},
		{"https://user:pw@client.test/cb", false},
		{"https://*.client.test/cb", false},
		{"https://client.test/cb?scope=*", false},
		{"https://client.test/a/./cb", false},
		{"https://client.test/a/%2E/cb", false},
		{"https:client.test/cb", false},
		{"https:///cb", false},
		{"https://client.test:/cb", false},
		{"https://client.test:99999/cb", false},
		{"https://client.test/cb\n", false},
		{"https://clíent.test/cb", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			_, err := cimd.ParseDocument(id, validDoc(id, map[string]any{"redirect_uris": []string{tt.uri}}))
			if tt.ok && err != nil {
				t.Errorf("redirect %q rejected: %v", tt.uri, err)
			}
			if !tt.ok && !errors.Is(err, cimd.ErrInvalidDocument) {
				t.Errorf("redirect %q: err = %v, want ErrInvalidDocument", tt.uri, err)
			}
		})
	}
}

func FuzzParseDocument(f *testing.F) {
	const id = "https://client.test/c"
	f.Add([]byte(validDoc(id, nil)))
	f.Add([]byte(`{"client_id":"https://client.test/c","redirect_uris":["http://[::1]/x"],"client_name":"a\u202eb"}`))
	f.Add([]byte(`{"client_id":"https://client.test/c","redirect_uris":["https://a.b/c"],"redirect_uris":[]}`))
	f.Add([]byte(`{"client_id":"https://client.test/c","redirect_uris":null,"grant_types":["refresh_token"]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"client_id":"https://client.test/c"} {}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := cimd.ParseDocument(id, body)
		if err != nil {
			if !errors.Is(err, cimd.ErrInvalidDocument) {
				t.Fatalf("error %v does not wrap ErrInvalidDocument", err)
			}
			return
		}
		if doc.ClientID != id || doc.TokenEndpointAuthMethod != "none" {
			t.Fatalf("accepted %#v", doc)
		}
		if n := len(doc.RedirectURIs); n < 1 || n > cimd.MaxRedirectURIs {
			t.Fatalf("accepted %d redirect URIs", n)
		}
		for _, r := range doc.RedirectURIs {
			u, err := url.Parse(r)
			if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || strings.ContainsAny(r, "#*\\") {
				t.Fatalf("accepted redirect URI %q", r)
			}
			if u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "::1" || u.Hostname() == "localhost")) {
				t.Fatalf("accepted redirect URI %q", r)
			}
		}
		if utf8.RuneCountInString(doc.ClientName) > cimd.MaxClientNameRunes || cimd.SanitizeName(doc.ClientName) != doc.ClientName {
			t.Fatalf("client_name %q not sanitized", doc.ClientName)
		}
		if strings.ContainsAny(doc.ClientName, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\ufeff") {
			t.Fatalf("client_name %q keeps invisible characters", doc.ClientName)
		}
		for _, g := range doc.GrantTypes {
			if g != "authorization_code" && g != "refresh_token" {
				t.Fatalf("accepted grant type %q", g)
			}
		}
		for _, r := range doc.ResponseTypes {
			if r != "code" {
				t.Fatalf("accepted response type %q", r)
			}
		}
	})
}
