package cimd_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/cimd"
)

func TestFetchHappyPath(t *testing.T) {
	var srv *docServer
	var gotAccept, gotCookie string
	srv = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		gotAccept, gotCookie = r.Header.Get("Accept"), r.Header.Get("Cookie")
		id := srv.ID(r.URL.Path)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `{
			"client_id": %q,
			"client_name": "Claude",
			"client_uri": "https://claude.ai",
			"logo_uri": "https://claude.ai/logo.png",
			"redirect_uris": ["https://claude.ai/api/mcp/auth_callback", "http://localhost:33418/cb", "http://[::1]/cb"],
			"grant_types": ["authorization_code", "refresh_token"],
			"response_types": ["code"],
			"token_endpoint_auth_method": "none",
			"scope": "mcp:read mcp:write",
			"software_id": "ignored",
			"jwks": {"keys": []}
		}`, id)
	})
	tf := newTestFetcher(t, nil)
	id := srv.ID("/oauth/client.json")

	got, err := tf.Fetch(t.Context(), id)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	want := cimd.Document{
		ClientID:                id,
		ClientName:              "Claude",
		ClientURI:               "https://claude.ai",
		LogoURI:                 "https://claude.ai/logo.png",
		RedirectURIs:            []string{"https://claude.ai/api/mcp/auth_callback", "http://localhost:33418/cb", "http://[::1]/cb"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		TokenEndpointAuthMethod: "none",
		Scope:                   "mcp:read mcp:write",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fetch document mismatch\n got %#v\nwant %#v", got, want)
	}
	if gotAccept != "application/json" || gotCookie != "" {
		t.Errorf("request headers: Accept=%q Cookie=%q", gotAccept, gotCookie)
	}
	u, _ := url.Parse(srv.URL)
	if got, want := cimd.Host(id), "client.test:"+u.Port(); got != want {
		t.Errorf("Host = %q, want %q", got, want)
	}
}

func TestFetchDefaults(t *testing.T) {
	var srv *docServer
	srv = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		serveJSON(validDoc(srv.ID(r.URL.Path), map[string]any{"client_name": nil}))(w, r)
	})
	tf := newTestFetcher(t, nil)
	got, err := tf.Fetch(t.Context(), srv.ID("/c"))
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got.TokenEndpointAuthMethod != "none" || !reflect.DeepEqual(got.GrantTypes, []string{"authorization_code"}) ||
		!reflect.DeepEqual(got.ResponseTypes, []string{"code"}) || got.ClientName != "" {
		t.Errorf("defaults not applied: %#v", got)
	}
}

// TestFetchTLS runs over real TLS: the certificate is verified against the
// client_id host name while the connection goes to the vetted address.
func TestFetchTLS(t *testing.T) {
	var hits int
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		u, _ := url.Parse(srv.URL)
		// httptest's certificate is valid for example.com.
		serveJSON(validDoc("https://example.com:"+u.Port()+r.URL.Path, nil))(w, r)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	tf := newTestFetcher(t, func(o *cimd.Options) {
		o.AllowHTTP = false
		o.Client = srv.Client()
		o.Resolver = &fakeResolver{hosts: map[string][]netip.Addr{
			"example.com": addrs("127.0.0.1"),
			"other.test":  addrs("127.0.0.1"),
		}}
	})
	id := "https://example.com:" + u.Port() + "/client.json"
	doc, err := tf.Fetch(t.Context(), id)
	if err != nil {
		t.Fatalf("Fetch over TLS: %v", err)
	}
	if doc.ClientID != id {
		t.Errorf("ClientID = %q, want %q", doc.ClientID, id)
	}
	if want := []string{"127.0.0.1:" + u.Port()}; !reflect.DeepEqual(tf.Dials(), want) {
		t.Errorf("dials = %v, want %v", tf.Dials(), want)
	}

	// Same server, but a name the certificate does not cover: TLS
	// verification must use the client_id host, not the IP.
	_, err = tf.Fetch(t.Context(), "https://other.test:"+u.Port()+"/client.json")
	if !errors.Is(err, cimd.ErrFetch) {
		t.Errorf("Fetch with a host the certificate does not cover: err = %v, want ErrFetch", err)
	}
	if hits != 1 {
		t.Errorf("server hits = %d, want 1", hits)
	}
}

func TestFetchErrors(t *testing.T) {
	big := strings.Repeat("a", cimd.DefaultMaxBytes)
	tests := []struct {
		name string
		// handler builds the response for document URL id.
		handler func(id string) http.HandlerFunc
		want    error
	}{
		{"client_id mismatch", docWith(map[string]any{"client_id": "https://other.test/c"}), cimd.ErrInvalidDocument},
		{"client_id trailing slash", func(id string) http.HandlerFunc {
			return serveJSON(validDoc(id+"/", nil))
		}, cimd.ErrInvalidDocument},
		{"client_id missing", docWith(map[string]any{"client_id": nil}), cimd.ErrInvalidDocument},
		{"client_id case-variant key", func(id string) http.HandlerFunc {
			return serveJSON(validDoc(id, map[string]any{"client_id": nil, "Client_ID": id}))
		}, cimd.ErrInvalidDocument},
		{"client_id not a string", docWith(map[string]any{"client_id": 42}), cimd.ErrInvalidDocument},
		{"status 404", status(404), cimd.ErrFetch},
		{"status 500", status(500), cimd.ErrFetch},
		{"status 204", status(204), cimd.ErrFetch},
		{"content type html", func(id string) http.HandlerFunc {
			return serveJSON(validDoc(id, nil), "Content-Type", "text/html")
		}, cimd.ErrFetch},
		{"content type text/plain", func(id string) http.HandlerFunc {
			return serveJSON(validDoc(id, nil), "Content-Type", "text/plain; charset=utf-8")
		}, cimd.ErrFetch},
		{"content type missing", func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = nil // suppress sniffing
				w.Write(validDoc(id, nil))
			}
		}, cimd.ErrFetch},
		{"oversize with Content-Length", func(id string) http.HandlerFunc {
			return serveJSON(validDoc(id, map[string]any{"pad": big}))
		}, cimd.ErrFetch},
		{"oversize chunked", func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				body := validDoc(id, map[string]any{"pad": big})
				for i := 0; i < len(body); i += 512 {
					w.Write(body[i:min(i+512, len(body))])
					w.(http.Flusher).Flush()
				}
			}
		}, cimd.ErrFetch},
		{"not JSON", func(id string) http.HandlerFunc { return serveJSON([]byte("<html>" + bodyMarker)) }, cimd.ErrInvalidDocument},
		{"JSON array", func(id string) http.HandlerFunc { return serveJSON([]byte(`["` + bodyMarker + `"]`)) }, cimd.ErrInvalidDocument},
		{"trailing data", func(id string) http.HandlerFunc {
			return serveJSON(append(validDoc(id, nil), []byte(`{"x":"`+bodyMarker+`"}`)...))
		}, cimd.ErrInvalidDocument},
		{"duplicate member", func(id string) http.HandlerFunc {
			return serveJSON(fmt.Appendf(nil, `{"client_id":%q,"redirect_uris":["https://a.example/cb"],"redirect_uris":["https://%s/cb"]}`, id, bodyMarker))
		}, cimd.ErrInvalidDocument},
		{"redirect_uris missing", docWith(map[string]any{"redirect_uris": nil}), cimd.ErrInvalidDocument},
		{"redirect_uris empty", docWith(map[string]any{"redirect_uris": []string{}}), cimd.ErrInvalidDocument},
		{"redirect_uris null", docWith(map[string]any{"redirect_uris": rawJSON(`null`)}), cimd.ErrInvalidDocument},
		{"redirect_uris a string", docWith(map[string]any{"redirect_uris": "https://a.example/cb"}), cimd.ErrInvalidDocument},
		{"redirect javascript", redirects("javascript:alert('" + bodyMarker + "')"), cimd.ErrInvalidDocument},
		{"redirect data", redirects("data:text/html,<script>" + bodyMarker), cimd.ErrInvalidDocument},
		{"redirect custom scheme", redirects("com.example.app:/" + bodyMarker), cimd.ErrInvalidDocument},
		{"redirect http non-loopback", redirects("http://" + bodyMarker + ".example/cb"), cimd.ErrInvalidDocument},
		{"redirect http localhost lookalike", redirects("http://localhost.evil.example/cb"), cimd.ErrInvalidDocument},
		{"redirect http 127.0.0.2", redirects("http://127.0.0.2/cb"), cimd.ErrInvalidDocument},
		{"redirect fragment", redirects("https://a.example/cb#" + bodyMarker), cimd.ErrInvalidDocument},
		{"redirect empty fragment", redirects("https://a.example/cb#"), cimd.ErrInvalidDocument},
		{"redirect userinfo", redirects("https://a.example@" + bodyMarker + ".example/cb"), cimd.ErrInvalidDocument},
		{"redirect wildcard host", redirects("https://*.example.com/cb"), cimd.ErrInvalidDocument},
		{"redirect wildcard path", redirects("https://a.example/cb/*"), cimd.ErrInvalidDocument},
		{"redirect dot segment", redirects("https://a.example/cb/../evil"), cimd.ErrInvalidDocument},
		{"redirect encoded dot segment", redirects("https://a.example/cb/%2e%2e/evil"), cimd.ErrInvalidDocument},
		{"redirect backslash", redirects(`https://a.example\@evil.example/cb`), cimd.ErrInvalidDocument},
		{"redirect relative", redirects("/cb"), cimd.ErrInvalidDocument},
		{"redirect uppercase scheme", redirects("HTTPS://a.example/cb"), cimd.ErrInvalidDocument},
		{"redirect empty", redirects(""), cimd.ErrInvalidDocument},
		{"redirect whitespace", redirects("https://a.example/c b"), cimd.ErrInvalidDocument},
		{"redirect too long", redirects("https://a.example/" + strings.Repeat("a", cimd.MaxURLLength)), cimd.ErrInvalidDocument},
		{"too many redirects", redirects(strings.Split(strings.Repeat("https://a.example/cb,", 11), ",")[:11]...), cimd.ErrInvalidDocument},
		{"auth client_secret_basic", docWith(map[string]any{"token_endpoint_auth_method": "client_secret_basic"}), cimd.ErrInvalidDocument},
		{"auth client_secret_post", docWith(map[string]any{"token_endpoint_auth_method": "client_secret_post"}), cimd.ErrInvalidDocument},
		{"auth private_key_jwt", docWith(map[string]any{"token_endpoint_auth_method": "private_key_jwt"}), cimd.ErrInvalidDocument},
		{"client_secret present", docWith(map[string]any{"client_secret": bodyMarker}), cimd.ErrInvalidDocument},
		{"grant implicit", docWith(map[string]any{"grant_types": []string{"authorization_code", "implicit"}}), cimd.ErrInvalidDocument},
		{"grant client_credentials", docWith(map[string]any{"grant_types": []string{"client_credentials"}}), cimd.ErrInvalidDocument},
		{"grant refresh only", docWith(map[string]any{"grant_types": []string{"refresh_token"}}), cimd.ErrInvalidDocument},
		{"response token", docWith(map[string]any{"response_types": []string{"token"}}), cimd.ErrInvalidDocument},
		{"response empty", docWith(map[string]any{"response_types": []string{}}), cimd.ErrInvalidDocument},
		{"client_name too long", docWith(map[string]any{"client_name": strings.Repeat("n", cimd.MaxClientNameRunes+1)}), cimd.ErrInvalidDocument},
		{"client_name not a string", docWith(map[string]any{"client_name": []string{"a"}}), cimd.ErrInvalidDocument},
		{"logo_uri http", docWith(map[string]any{"logo_uri": "http://169.254.169.254/" + bodyMarker}), cimd.ErrInvalidDocument},
		{"client_uri javascript", docWith(map[string]any{"client_uri": "javascript:" + bodyMarker}), cimd.ErrInvalidDocument},
		{"scope with quote", docWith(map[string]any{"scope": `mcp "` + bodyMarker}), cimd.ErrInvalidDocument},
		{"scope double space", docWith(map[string]any{"scope": "a  b"}), cimd.ErrInvalidDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *docServer
			srv = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
				tt.handler(srv.ID(r.URL.Path))(w, r)
			})
			tf := newTestFetcher(t, nil)
			doc, err := tf.Fetch(t.Context(), srv.ID("/client.json"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Fetch err = %v, want %v (doc %#v)", err, tt.want, doc)
			}
			if !reflect.DeepEqual(doc, cimd.Document{}) {
				t.Errorf("Fetch returned a document with an error: %#v", doc)
			}
			t.Logf("err: %v", err)
			if strings.Contains(err.Error(), bodyMarker) {
				t.Errorf("error quotes the response body: %v", err)
			}
		})
	}
}

func docWith(mods map[string]any) func(id string) http.HandlerFunc {
	return func(id string) http.HandlerFunc { return serveJSON(validDoc(id, mods)) }
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func redirects(uris ...string) func(id string) http.HandlerFunc {
	return docWith(map[string]any{"redirect_uris": uris})
}

func status(code int) func(string) http.HandlerFunc {
	return func(id string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			w.Write(validDoc(id, nil))
		}
	}
}

func TestFetchRedirectNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			var target *docServer
			target = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
				serveJSON(validDoc(target.ID(r.URL.Path), nil))(w, r)
			})
			var origin *docServer
			origin = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+r.URL.Path, code)
			})
			tf := newTestFetcher(t, nil)
			_, err := tf.Fetch(t.Context(), origin.ID("/client.json"))
			if !errors.Is(err, cimd.ErrFetch) {
				t.Fatalf("Fetch err = %v, want ErrFetch", err)
			}
			if origin.Hits() != 1 || target.Hits() != 0 {
				t.Errorf("hits: origin %d (want 1), redirect target %d (want 0)", origin.Hits(), target.Hits())
			}
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	tests := []struct {
		name    string
		handler func(id string) http.HandlerFunc
	}{
		{"slow headers", func(string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			}
		}},
		{"slow body", func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"client_id":`))
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *docServer
			srv = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
				tt.handler(srv.ID(r.URL.Path))(w, r)
			})
			tf := newTestFetcher(t, func(o *cimd.Options) { o.Timeout = 200 * time.Millisecond })
			start := time.Now()
			_, err := tf.Fetch(t.Context(), srv.ID("/client.json"))
			if !errors.Is(err, cimd.ErrFetch) {
				t.Fatalf("Fetch err = %v, want ErrFetch", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("Fetch took %v, want about the 200ms timeout", el)
			}
		})
	}
}

func TestClientNameSanitized(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Claude", "Claude"},
		{"RLO override", "Good\u202eexe.evil", "Goodexe.evil"},
		{"all bidi embeddings", "a\u202ab\u202bc\u202cd\u202de\u202ef", "abcdef"},
		{"bidi isolates", "a\u2066b\u2067c\u2068d\u2069e", "abcde"},
		{"marks", "a\u200eb\u200fc\u061cd", "abcd"},
		{"zero width", "Cl\u200bau\u200cd\u200de\u2060\ufeff", "Claude"},
		{"soft hyphen and tags", "Cla\u00adude\U000E0041", "Claude"},
		{"controls", "Cla\x00ude\x1b[31m\x7f\u0085", "Claude[31m"},
		{"newlines collapse", "Claude\n\r\nApprove all", "Claude Approve all"},
		{"line separator", "a\u2028b\u2029c", "abc"},
		{"spaces trimmed", "  Claude   Desktop  ", "Claude Desktop"},
		{"non-Latin kept", "クロード", "クロード"},
		{"only invisible", "\u200b\u202e", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cimd.SanitizeName(tt.in); got != tt.want {
				t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}

	t.Run("through Fetch", func(t *testing.T) {
		var srv *docServer
		srv = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
			serveJSON(validDoc(srv.ID(r.URL.Path), map[string]any{"client_name": "Trusted\u202e\u200bApp\u2066"}))(w, r)
		})
		tf := newTestFetcher(t, nil)
		doc, err := tf.Fetch(t.Context(), srv.ID("/c"))
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if doc.ClientName != "TrustedApp" {
			t.Errorf("ClientName = %q, want %q", doc.ClientName, "TrustedApp")
		}
	})
	t.Run("length counted after stripping", func(t *testing.T) {
		id := "https://client.test/c"
		name := strings.Repeat("n\u200b", cimd.MaxClientNameRunes)
		doc, err := cimd.ParseDocument(id, validDoc(id, map[string]any{"client_name": name}))
		if err != nil || doc.ClientName != strings.Repeat("n", cimd.MaxClientNameRunes) {
			t.Errorf("ParseDocument = %q, %v", doc.ClientName, err)
		}
	})
}

func TestFetchIgnoresProxyEnvironment(t *testing.T) {
	proxy := newDocServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) })
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	var srv *docServer
	srv = newDocServer(t, serveValid(&srv))
	tf := newTestFetcher(t, nil)
	if _, err := tf.Fetch(t.Context(), srv.ID("/c")); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if proxy.Hits() != 0 || srv.Hits() != 1 {
		t.Errorf("hits: proxy %d (want 0), server %d (want 1)", proxy.Hits(), srv.Hits())
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts cimd.Options
	}{
		{"negative MaxBytes", cimd.Options{MaxBytes: -1}},
		{"negative Timeout", cimd.Options{Timeout: -time.Second}},
		{"negative FailureTTL", cimd.Options{FailureTTL: -time.Second}},
		{"negative MaxEntries", cimd.Options{MaxEntries: -1}},
		{"min above max TTL", cimd.Options{MinCacheTTL: 2 * time.Hour, MaxCacheTTL: time.Hour}},
		{"invalid prefix", cimd.Options{AllowAddrs: []netip.Prefix{{}}}},
		{"custom round tripper", cimd.Options{Client: &http.Client{Transport: roundTripperFunc(nil)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, err := cimd.New(tt.opts); err == nil {
				t.Errorf("New(%+v) = %v, want an error", tt.opts, f)
			}
		})
	}
	if _, err := cimd.New(cimd.Options{}); err != nil {
		t.Errorf("New(zero Options): %v", err)
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFetchInvalidClientID(t *testing.T) {
	tf := newTestFetcher(t, nil)
	for _, id := range []string{"", "my-client", "http://client.test/c", "https://client.test", "https://client.test/c?x"} {
		if _, err := tf.Fetch(t.Context(), id); !errors.Is(err, cimd.ErrInvalidClientID) {
			t.Errorf("Fetch(%q) err = %v, want ErrInvalidClientID", id, err)
		}
	}
	if n := tf.resolver.Calls(); n != 0 {
		t.Errorf("resolver calls = %d, want 0", n)
	}
}
