package cimd_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/cimd"
)

func TestCacheLifetime(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string // "" sends no header
		// fresh is still served from cache; stale is refetched.
		fresh, stale time.Duration
	}{
		{"no header uses default", "", time.Hour - time.Second, time.Hour},
		{"max-age honoured", "max-age=600", 599 * time.Second, 600 * time.Second},
		{"max-age with other directives", "public, max-age=3600, must-revalidate", time.Hour - time.Second, time.Hour},
		{"quoted max-age", `max-age="600"`, 599 * time.Second, 600 * time.Second},
		{"max-age floored to MinCacheTTL", "max-age=10", cimd.DefaultMinCacheTTL - time.Second, cimd.DefaultMinCacheTTL},
		{"max-age=0 floored", "max-age=0", cimd.DefaultMinCacheTTL - time.Second, cimd.DefaultMinCacheTTL},
		{"max-age capped at 24h", "max-age=999999999999", 24*time.Hour - time.Second, 24 * time.Hour},
		{"invalid max-age uses default", "max-age=abc", time.Hour - time.Second, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *docServer
			var hdr []string
			if tt.cacheControl != "" {
				hdr = []string{"Cache-Control", tt.cacheControl}
			}
			srv = newDocServer(t, serveValid(&srv, hdr...))
			tf := newTestFetcher(t, nil)
			id := srv.ID("/c")
			fetch := func(wantHits int64) {
				t.Helper()
				if _, err := tf.Fetch(t.Context(), id); err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if srv.Hits() != wantHits {
					t.Fatalf("server hits = %d, want %d", srv.Hits(), wantHits)
				}
			}
			fetch(1)
			fetch(1) // served from cache
			tf.clock.Advance(tt.fresh)
			fetch(1)
			tf.clock.Advance(tt.stale - tt.fresh)
			fetch(2)
		})
	}
}

func TestCacheNoStore(t *testing.T) {
	for _, cc := range []string{"no-store", "private, no-cache", "max-age=600, no-store"} {
		t.Run(cc, func(t *testing.T) {
			var srv *docServer
			srv = newDocServer(t, serveValid(&srv, "Cache-Control", cc))
			tf := newTestFetcher(t, nil)
			for i := range 3 {
				if _, err := tf.Fetch(t.Context(), srv.ID("/c")); err != nil {
					t.Fatalf("Fetch %d: %v", i, err)
				}
			}
			if srv.Hits() != 3 {
				t.Errorf("server hits = %d, want 3 (not cached)", srv.Hits())
			}
		})
	}
}

func TestCacheFailure(t *testing.T) {
	var srv *docServer
	fail := true
	var mu sync.Mutex
	srv = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		serveJSON(validDoc(srv.ID(r.URL.Path), nil))(w, r)
	})
	tf := newTestFetcher(t, nil)
	id := srv.ID("/c")
	for range 3 {
		if _, err := tf.Fetch(t.Context(), id); !errors.Is(err, cimd.ErrFetch) {
			t.Fatalf("Fetch err = %v, want ErrFetch", err)
		}
	}
	if srv.Hits() != 1 {
		t.Fatalf("server hits = %d, want 1 (failure cached)", srv.Hits())
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	tf.clock.Advance(cimd.DefaultFailureTTL - time.Second)
	if _, err := tf.Fetch(t.Context(), id); !errors.Is(err, cimd.ErrFetch) || srv.Hits() != 1 {
		t.Fatalf("within FailureTTL: err = %v, hits = %d; want cached ErrFetch, 1", err, srv.Hits())
	}
	tf.clock.Advance(time.Second)
	if _, err := tf.Fetch(t.Context(), id); err != nil || srv.Hits() != 2 {
		t.Fatalf("after FailureTTL: err = %v, hits = %d; want success, 2", err, srv.Hits())
	}
}

func TestCacheForbiddenAddressCached(t *testing.T) {
	tf := newTestFetcher(t, func(o *cimd.Options) { o.AllowAddrs = nil })
	for range 3 {
		if _, err := tf.Fetch(t.Context(), "https://client.test/c"); !errors.Is(err, cimd.ErrForbiddenAddress) {
			t.Fatalf("Fetch err = %v, want ErrForbiddenAddress", err)
		}
	}
	if n := tf.resolver.Calls(); n != 1 {
		t.Errorf("resolver calls = %d, want 1", n)
	}
}

func TestFetchSingleflight(t *testing.T) {
	release := make(chan struct{})
	var srv *docServer
	srv = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		serveJSON(validDoc(srv.ID(r.URL.Path), nil))(w, r)
	})
	tf := newTestFetcher(t, nil)
	id := srv.ID("/c")

	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			doc, err := tf.Fetch(t.Context(), id)
			if err == nil && doc.ClientID != id {
				err = fmt.Errorf("ClientID = %q", doc.ClientID)
			}
			errs <- err
		})
	}
	waitFor(t, func() bool { return srv.Hits() == 1 })
	time.Sleep(50 * time.Millisecond) // let stragglers join the flight
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Fetch: %v", err)
		}
	}
	if srv.Hits() != 1 {
		t.Errorf("server hits = %d, want 1", srv.Hits())
	}
}

// TestFetchCallerCancel: a caller that gives up gets an error at once,
// while the shared fetch completes and is cached for the next caller.
func TestFetchCallerCancel(t *testing.T) {
	release := make(chan struct{})
	var srv *docServer
	srv = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		serveJSON(validDoc(srv.ID(r.URL.Path), nil))(w, r)
	})
	tf := newTestFetcher(t, nil)
	id := srv.ID("/c")

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := tf.Fetch(ctx, id)
		done <- err
	}()
	waitFor(t, func() bool { return srv.Hits() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, cimd.ErrFetch) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch err = %v, want ErrFetch and context.Canceled", err)
	}
	close(release)
	waitFor(t, func() bool { return cimd.CacheLen(tf.Fetcher) == 1 })
	if _, err := tf.Fetch(t.Context(), id); err != nil || srv.Hits() != 1 {
		t.Errorf("Fetch after cancel: err = %v, hits = %d; want cached success, 1", err, srv.Hits())
	}
}

func TestFetchMaxInFlight(t *testing.T) {
	release := make(chan struct{})
	var srv *docServer
	srv = newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		serveJSON(validDoc(srv.ID(r.URL.Path), nil))(w, r)
	})
	tf := newTestFetcher(t, func(o *cimd.Options) { o.MaxInFlight = 1 })
	done := make(chan error, 1)
	go func() {
		_, err := tf.Fetch(t.Context(), srv.ID("/a"))
		done <- err
	}()
	waitFor(t, func() bool { return srv.Hits() == 1 })
	if _, err := tf.Fetch(t.Context(), srv.ID("/b")); !errors.Is(err, cimd.ErrFetch) {
		t.Errorf("Fetch beyond MaxInFlight: err = %v, want ErrFetch", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	// The refusal was not cached: /b works now.
	if _, err := tf.Fetch(t.Context(), srv.ID("/b")); err != nil {
		t.Errorf("Fetch /b after the slot freed: %v", err)
	}
}

func TestCacheBounded(t *testing.T) {
	var srv *docServer
	srv = newDocServer(t, serveValid(&srv))
	const max = 3
	tf := newTestFetcher(t, func(o *cimd.Options) { o.MaxEntries = max })
	for i := range 10 {
		if _, err := tf.Fetch(t.Context(), srv.ID(fmt.Sprintf("/c%d", i))); err != nil {
			t.Fatalf("Fetch %d: %v", i, err)
		}
		if n := cimd.CacheLen(tf.Fetcher); n > max {
			t.Fatalf("cache holds %d entries, want at most %d", n, max)
		}
	}
	// Failures count against the bound too.
	for i := range 5 {
		tf.Fetch(t.Context(), fmt.Sprintf("https://nxdomain%d.test/c", i))
		if n := cimd.CacheLen(tf.Fetcher); n > max {
			t.Fatalf("cache holds %d entries, want at most %d", n, max)
		}
	}
	// LRU: touching /c0 after refetching keeps it over older entries.
	hits := srv.Hits()
	tf.Fetch(t.Context(), srv.ID("/c0"))
	if srv.Hits() != hits+1 {
		t.Fatalf("evicted entry was not refetched")
	}
	tf.Fetch(t.Context(), srv.ID("/c1"))
	tf.Fetch(t.Context(), srv.ID("/c0")) // hit, moves to front
	tf.Fetch(t.Context(), srv.ID("/c2"))
	tf.Fetch(t.Context(), srv.ID("/c3")) // evicts /c1, the least recently used
	hits = srv.Hits()
	tf.Fetch(t.Context(), srv.ID("/c0"))
	if srv.Hits() != hits {
		t.Errorf("recently used /c0 was evicted")
	}
	tf.Fetch(t.Context(), srv.ID("/c1"))
	if srv.Hits() != hits+1 {
		t.Errorf("least recently used /c1 was not evicted")
	}
}

func TestFetchReturnsCopies(t *testing.T) {
	var srv *docServer
	srv = newDocServer(t, serveValid(&srv))
	tf := newTestFetcher(t, nil)
	id := srv.ID("/c")
	a, err := tf.Fetch(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	a.RedirectURIs[0] = "https://evil.example/cb"
	a.GrantTypes[0] = "implicit"
	b, _ := tf.Fetch(t.Context(), id)
	if b.RedirectURIs[0] != "https://client.test/callback" || b.GrantTypes[0] != "authorization_code" {
		t.Errorf("mutating a returned Document changed the cache: %#v", b)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
