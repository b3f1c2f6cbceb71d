package authserver_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// TestMetadata covers F-01 (RFC 8414 document), F-02 (RFC 9728 document)
// and F-04 (a hostile Host or X-Forwarded-Host never changes a URL).
func TestMetadata(t *testing.T) {
	e := newEnv(t, envOptions{issuer: "https://as.example"})
	headers := []struct {
		name string
		set  func(*http.Request)
	}{
		{"plain", func(*http.Request) {}},
		{"F-04 Host evil", func(r *http.Request) { r.Host = "evil.example" }},
		{"F-04 X-Forwarded-Host evil", func(r *http.Request) {
			r.Header.Set("X-Forwarded-Host", "evil.example")
			r.Header.Set("X-Forwarded-Proto", "http")
			r.Header.Set("Forwarded", "host=evil.example;proto=http")
		}},
	}
	for _, h := range headers {
		for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
			t.Run(h.name+" "+path, func(t *testing.T) {
				req := newReq(t, http.MethodGet, e.url+path, "", "")
				h.set(req)
				r := do(t, nil, req)
				if r.status != 200 {
					t.Fatalf("%d", r.status)
				}
				var m struct {
					Issuer           string   `json:"issuer"`
					Authorization    string   `json:"authorization_endpoint"`
					Token            string   `json:"token_endpoint"`
					Registration     string   `json:"registration_endpoint"`
					Revocation       string   `json:"revocation_endpoint"`
					ResponseTypes    []string `json:"response_types_supported"`
					GrantTypes       []string `json:"grant_types_supported"`
					ChallengeMethods []string `json:"code_challenge_methods_supported"`
					ISSParam         bool     `json:"authorization_response_iss_parameter_supported"`
					RequestParam     bool     `json:"request_parameter_supported"`
					RequestURIParam  bool     `json:"request_uri_parameter_supported"`
					TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
					ResponseModes    []string `json:"response_modes_supported"`
				}
				if err := json.Unmarshal([]byte(r.body), &m); err != nil {
					t.Fatal(err)
				}
				iss := "https://as.example"
				if m.Issuer != iss || m.Authorization != iss+"/authorize" || m.Token != iss+"/token" ||
					m.Registration != iss+"/register" || m.Revocation != iss+"/revoke" {
					t.Errorf("endpoints %+v", m)
				}
				if !slices.Equal(m.ResponseTypes, []string{"code"}) || !slices.Equal(m.ChallengeMethods, []string{"S256"}) ||
					!slices.Equal(m.ResponseModes, []string{"query"}) {
					t.Errorf("response types %v, challenge methods %v, modes %v", m.ResponseTypes, m.ChallengeMethods, m.ResponseModes)
				}
				for _, g := range m.GrantTypes {
					if g != "authorization_code" && g != "refresh_token" {
						t.Errorf("grant type %q advertised", g)
					}
				}
				if !m.ISSParam || m.RequestParam || m.RequestURIParam {
					t.Errorf("iss param %v, request %v, request_uri %v", m.ISSParam, m.RequestParam, m.RequestURIParam)
				}
				if slices.Contains(m.TokenAuthMethods, "private_key_jwt") || len(m.TokenAuthMethods) == 0 {
					t.Errorf("token auth methods %v", m.TokenAuthMethods)
				}
			})
		}
		for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
			t.Run(h.name+" "+path, func(t *testing.T) {
				req := newReq(t, http.MethodGet, e.url+path, "", "")
				h.set(req)
				r := do(t, nil, req)
				var m struct {
					Resource string   `json:"resource"`
					AS       []string `json:"authorization_servers"`
					Bearer   []string `json:"bearer_methods_supported"`
				}
				if err := json.Unmarshal([]byte(r.body), &m); err != nil || r.status != 200 {
					t.Fatalf("%d %v", r.status, err)
				}
				if m.Resource != "https://as.example/mcp" || !slices.Equal(m.AS, []string{"https://as.example"}) || !slices.Equal(m.Bearer, []string{"header"}) {
					t.Errorf("resource metadata %+v", m)
				}
			})
		}
	}
	if e.srv.MetadataURL() != "https://as.example/.well-known/oauth-protected-resource/mcp" {
		t.Errorf("MetadataURL %q", e.srv.MetadataURL())
	}
}
