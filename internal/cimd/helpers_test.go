package cimd_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/cimd"
)

// bodyMarker is planted in every test document so tests can assert that
// error messages never quote response bodies.
const bodyMarker = "BODY-MARKER-7f3a"

// fakeResolver maps host names to fixed answers and counts lookups.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]netip.Addr
	// next, if set, overrides hosts: it receives the 1-based call number.
	next  func(n int, host string) []netip.Addr
	calls int
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.next != nil {
		return r.next(r.calls, host), nil
	}
	addrs, ok := r.hosts[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	return addrs, nil
}

func (r *fakeResolver) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// docServer is a plain-HTTP loopback server standing in for a client's
// metadata host "client.test".
type docServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newDocServer(t *testing.T, h http.HandlerFunc) *docServer {
	t.Helper()
	s := &docServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// ID returns the https client_id that maps to path on this server.
func (s *docServer) ID(path string) string {
	u, _ := url.Parse(s.URL)
	return "https://client.test:" + u.Port() + path
}

func (s *docServer) Hits() int64 { return s.hits.Load() }

// validDoc returns a valid document for id with mods applied; a nil mod
// value deletes the member.
func validDoc(id string, mods map[string]any) []byte {
	m := map[string]any{
		"client_id":     id,
		"client_name":   "Example Client",
		"redirect_uris": []string{"https://client.test/callback", "http://127.0.0.1/callback"},
		"x-extra":       bodyMarker,
	}
	for k, v := range mods {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// serveJSON writes body as application/json with optional extra headers.
func serveJSON(body []byte, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Write(body)
	}
}

// serveValid serves validDoc for whatever URL is requested.
func serveValid(s **docServer, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		serveJSON(validDoc((*s).ID(r.URL.Path), nil), header...)(w, r)
	}
}

// testFetcher wires a Fetcher to loopback test servers: client.test
// resolves to 127.0.0.1, loopback is allow-listed and plain HTTP stands in
// for https. mod adjusts the options.
type testFetcher struct {
	*cimd.Fetcher
	clock    *fakeClock
	resolver *fakeResolver
	mu       sync.Mutex
	dials    []string
}

func newTestFetcher(t *testing.T, mod func(*cimd.Options)) *testFetcher {
	t.Helper()
	tf := &testFetcher{
		clock:    newClock(),
		resolver: &fakeResolver{hosts: map[string][]netip.Addr{"client.test": addrs("127.0.0.1")}},
	}
	opts := cimd.Options{
		Resolver:   tf.resolver,
		AllowAddrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		AllowHTTP:  true,
		Timeout:    2 * time.Second,
		Now:        tf.clock.Now,
	}
	if mod != nil {
		mod(&opts)
	}
	f, err := cimd.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	cimd.SetDialHook(f, func(addr string) {
		tf.mu.Lock()
		defer tf.mu.Unlock()
		tf.dials = append(tf.dials, addr)
	})
	tf.Fetcher = f
	return tf
}

func (tf *testFetcher) Dials() []string {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	return append([]string(nil), tf.dials...)
}
