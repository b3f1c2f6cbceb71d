package export_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/export"
	"github.com/crm-mcp/crm-mcp/internal/state/memory"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

var (
	alice  = tenant.Principal{TenantID: "tnt_one", UserID: "usr_alice", Scopes: []string{"crm:read", "crm:export"}}
	amy    = tenant.Principal{TenantID: "tnt_one", UserID: "usr_amy", Scopes: []string{"crm:read", "crm:export"}}
	bob    = tenant.Principal{TenantID: "tnt_two", UserID: "usr_bob", Scopes: []string{"crm:read", "crm:export"}}
	reader = tenant.Principal{TenantID: "tnt_one", UserID: "usr_alice", Scopes: []string{"crm:read"}}
	// mallory has alice's user id in another tenant.
	mallory = tenant.Principal{TenantID: "tnt_two", UserID: "usr_alice", Scopes: []string{"crm:export"}}
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type linkEnv struct {
	clock *testClock
	store *memory.Store
	links *export.Links
	srv   *httptest.Server
}

// who is the test's bearer middleware: the principal named by the
// X-Test-Principal header (none without it).
var who = map[string]tenant.Principal{"alice": alice, "amy": amy, "bob": bob, "reader": reader, "mallory": mallory}

func newLinkEnv(t *testing.T) *linkEnv {
	t.Helper()
	c := &testClock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := &linkEnv{clock: c, store: memory.New(memory.Options{Now: c.Now})}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	var err error
	e.links, err = export.NewLinks(export.LinkOptions{Key: []byte("0123456789abcdef0123456789abcdef"), Store: e.store,
		BaseURL: e.srv.URL + "/mcp/exports", ResourceMetadataURL: "https://mcp.example/.well-known/oauth-protected-resource/mcp", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(export.Pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := who[r.Header.Get("X-Test-Principal")]; ok {
			r = r.WithContext(tenant.WithPrincipal(r.Context(), p))
		}
		e.links.ServeHTTP(w, r)
	}))
	return e
}

func (e *linkEnv) publish(t *testing.T, p tenant.Principal, csv string) export.Link {
	t.Helper()
	l, err := e.links.Publish(t.Context(), p, &export.Result{CSV: []byte(csv), Rows: 1, Reason: export.Cap})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func get(t *testing.T, rawURL, principal string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if principal != "" {
		req.Header.Set("X-Test-Principal", principal)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// withQuery returns u with query parameter k set to v ("" deletes it).
func withQuery(t *testing.T, u, k, v string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	p.RawQuery = q.Encode()
	return p.String()
}

func TestDownloadOwner(t *testing.T) {
	e := newLinkEnv(t)
	const file = "id,name\r\nper_1,'=1+1\r\n"
	l := e.publish(t, alice, file)
	if !strings.HasPrefix(l.URL, e.srv.URL+"/mcp/exports/exp_") || l.ExpiresAt.Sub(e.clock.Now()) != 10*time.Minute {
		t.Errorf("link = %+v, want under /mcp/exports/, expiring in 10 minutes", l)
	}
	resp, body := get(t, l.URL, "alice")
	if resp.StatusCode != http.StatusOK || body != file {
		t.Fatalf("owner got %d %q, want 200 and the file", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Content-Type":           "text/csv; charset=utf-8",
		"Content-Disposition":    `attachment; filename="export-` + l.ID + `.csv"`,
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
		"X-Export-Reason":        "cap",
		"X-Export-Rows":          "1",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// A link works more than once within its life (a retried download).
	if resp, _ := get(t, l.URL, "alice"); resp.StatusCode != http.StatusOK {
		t.Errorf("second download: %d", resp.StatusCode)
	}
}

func TestDownloadRefusals(t *testing.T) {
	e := newLinkEnv(t)
	l := e.publish(t, alice, "id\r\nCANARY-T1\r\n")
	other := e.publish(t, bob, "id\r\nCANARY-T2\r\n")
	sig := func(u string) string { p, _ := url.Parse(u); return p.Query().Get("sig") }
	exp := func(u string) string { p, _ := url.Parse(u); return p.Query().Get("exp") }
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	expPlus, _ := strconv.ParseInt(exp(l.URL), 10, 64)
	tests := []struct {
		name, url, who string
		status         int
		code           string
	}{
		{"no bearer principal", l.URL, "", http.StatusUnauthorized, "unauthorized"},
		{"token without crm:export", l.URL, "reader", http.StatusForbidden, "insufficient_scope"},
		{"another tenant", l.URL, "bob", http.StatusNotFound, "not_found"},
		{"same user id in another tenant", l.URL, "mallory", http.StatusNotFound, "not_found"},
		{"another user of the tenant", l.URL, "amy", http.StatusNotFound, "not_found"},
		{"tampered signature", withQuery(t, l.URL, "sig", flip(sig(l.URL))), "alice", http.StatusNotFound, "not_found"},
		{"missing signature", withQuery(t, l.URL, "sig", ""), "alice", http.StatusNotFound, "not_found"},
		{"extended expiry", withQuery(t, l.URL, "exp", strconv.FormatInt(expPlus+3600, 10)), "alice", http.StatusNotFound, "not_found"},
		{"padded expiry", withQuery(t, l.URL, "exp", "0"+exp(l.URL)), "alice", http.StatusNotFound, "not_found"},
		{"another export's signature", strings.Replace(l.URL, l.ID, other.ID, 1), "alice", http.StatusNotFound, "not_found"},
		{"bob's own link under alice", other.URL, "alice", http.StatusNotFound, "not_found"},
		{"malformed id", strings.Replace(l.URL, l.ID, "exp_zz", 1), "alice", http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, tt.url, tt.who)
			if resp.StatusCode != tt.status || !strings.Contains(body, `"`+tt.code+`"`) {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if strings.Contains(body, "CANARY") {
				t.Errorf("refusal carries file content: %s", body)
			}
			if tt.status == http.StatusForbidden && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="crm:export"`) {
				t.Errorf("403 without the scope challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// The owner still can.
	if resp, body := get(t, l.URL, "alice"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "CANARY-T1") {
		t.Errorf("owner after refusals: %d %q", resp.StatusCode, body)
	}
}

func TestDownloadExpired(t *testing.T) {
	e := newLinkEnv(t)
	l := e.publish(t, alice, "id\r\nx\r\n")
	e.clock.Advance(10*time.Minute - time.Second)
	if resp, _ := get(t, l.URL, "alice"); resp.StatusCode != http.StatusOK {
		t.Fatalf("just before expiry: %d, want 200", resp.StatusCode)
	}
	e.clock.Advance(time.Second)
	if resp, body := get(t, l.URL, "alice"); resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired") {
		t.Errorf("owner after expiry: %d %s, want 410 expired", resp.StatusCode, body)
	}
	if resp, _ := get(t, l.URL, "bob"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another tenant after expiry: %d, want 404 (no oracle)", resp.StatusCode)
	}
	// The file itself is gone from the store too.
	if _, err := e.store.GetExport(context.Background(), l.ID); err == nil {
		t.Error("expired export still in the store")
	}
}

func TestDownloadStoreDown(t *testing.T) {
	e := newLinkEnv(t)
	l := e.publish(t, alice, "id\r\nx\r\n")
	_ = e.store.Close()
	if resp, _ := get(t, l.URL, "alice"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("store down: %d, want 503 with Retry-After", resp.StatusCode)
	}
	if _, err := e.links.Publish(t.Context(), alice, &export.Result{CSV: []byte("a\r\n")}); err == nil {
		t.Error("Publish succeeded with the store down")
	}
}

func TestNewLinksValidates(t *testing.T) {
	store := memory.New(memory.Options{})
	for name, o := range map[string]export.LinkOptions{
		"short key": {Key: []byte("short"), Store: store, BaseURL: "https://x/mcp/exports"},
		"no store":  {Key: make([]byte, 32), BaseURL: "https://x/mcp/exports"},
		"no base":   {Key: make([]byte, 32), Store: store},
	} {
		if _, err := export.NewLinks(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
