package ratelimit_test

import (
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/ratelimit"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

// TestRedisClusterSharedByInstances: two limiters with their own Redis
// Cluster clients share every counter, for keys on every master (a
// counter is one key, so its script never crosses slots).
func TestRedisClusterSharedByInstances(t *testing.T) {
	cl := redistest.StartCluster(t)
	newLimiter := func() *ratelimit.Limiter {
		opts, err := goredis.ParseClusterURL(cl.URL())
		if err != nil {
			t.Fatal(err)
		}
		opts.ContextTimeoutEnabled, opts.MaxRetries = true, -1
		c := goredis.NewClusterClient(opts)
		t.Cleanup(func() { _ = c.Close() })
		return ratelimit.New(ratelimit.Options{Redis: c, Timeout: time.Second})
	}
	a, b := newLimiter(), newLimiter()
	p := ratelimit.Policy{Name: "register", Limit: 4, Window: time.Hour}
	for k := range 12 { // 12 keys: spread over the 3 masters
		key := "client-" + strconv.Itoa(k)
		for i := range 4 {
			l := a
			if i%2 == 1 {
				l = b
			}
			if d := l.Allow(t.Context(), p, key, 1); !d.Allowed || d.Backend != ratelimit.BackendRedis {
				t.Fatalf("%s request %d: %+v", key, i+1, d)
			}
		}
		for _, l := range []*ratelimit.Limiter{a, b} {
			if d := l.Allow(t.Context(), p, key, 1); d.Allowed || d.Backend != ratelimit.BackendRedis {
				t.Fatalf("%s 5th request across two instances: %+v", key, d)
			}
		}
	}
}
