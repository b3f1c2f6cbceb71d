package ratelimit_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/ratelimit"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

// BenchmarkRequest measures what the limiter adds to one HTTP request over
// loopback: a handler that answers 200 at once, without a limiter
// (baseline), with the in-memory limiter (no Redis configured), with Redis
// up, and with Redis down (the fallback, breaker open, default cool-down
// so a probe runs every 2 s), and, for scale, with one bare Redis PING
// instead of a limiter. Keys rotate over 1 000 clients and the
// policy never refuses, so every request does the full work.
//
//	go test -run '^$' -bench BenchmarkRequest -benchtime 20000x -count 6 ./internal/ratelimit/
func BenchmarkRequest(b *testing.B) {
	srv := redistest.Start(b)
	p := ratelimit.Policy{Name: "token", Limit: 1 << 40, Window: 15 * time.Minute}
	up := ratelimit.New(ratelimit.Options{Redis: newClient(b, srv.Addr)})
	deadSrv := redistest.Start(b)
	down := ratelimit.New(ratelimit.Options{Redis: newClient(b, deadSrv.Addr)})
	deadSrv.Stop()
	for range 5 { // open the breaker
		down.Allow(b.Context(), p, "warm", 1)
	}
	if !down.FallbackActive() {
		b.Fatal("fallback not active with redis down")
	}
	pinger := newClient(b, srv.Addr)
	cases := []struct {
		name string
		lim  *ratelimit.Limiter
		ping bool // a bare Redis PING instead of a limiter: one round trip
	}{
		{"baseline", nil, false},
		{"memory", ratelimit.New(ratelimit.Options{}), false},
		{"redis-up", up, false},
		{"redis-down", down, false},
		{"redis-ping", nil, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var n int
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.ping {
					if err := pinger.Ping(r.Context()).Err(); err != nil {
						http.Error(w, "ping", http.StatusInternalServerError)
						return
					}
				}
				if c.lim != nil {
					n++
					d := c.lim.Allow(r.Context(), p, strconv.Itoa(n%1000), 1)
					if !d.Allowed {
						http.Error(w, "limited", http.StatusTooManyRequests)
						return
					}
				}
				w.WriteHeader(http.StatusOK)
			})
			ts := httptest.NewServer(h)
			defer ts.Close()
			client := ts.Client()
			b.ResetTimer()
			for b.Loop() {
				resp, err := client.Get(ts.URL)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

// BenchmarkAllow is the limiter call alone.
func BenchmarkAllow(b *testing.B) {
	p := ratelimit.Policy{Name: "token", Limit: 1 << 40, Window: 15 * time.Minute}
	l := ratelimit.New(ratelimit.Options{})
	i := 0
	for b.Loop() {
		i++
		l.Allow(b.Context(), p, strconv.Itoa(i%1000), 1)
	}
}
