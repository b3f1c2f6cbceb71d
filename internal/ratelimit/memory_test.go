package ratelimit_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/ratelimit"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} } // on a 15-min boundary

func TestMemoryFixedWindow(t *testing.T) {
	clk := newClock()
	l := ratelimit.New(ratelimit.Options{Now: clk.Now})
	p := ratelimit.Policy{Name: "token", Limit: 50, Window: 15 * time.Minute}
	clk.Add(time.Minute)
	for i := range 50 {
		if d := l.Allow(t.Context(), p, "192.0.2.1", 1); !d.Allowed || d.Remaining != int64(49-i) || d.Backend != ratelimit.BackendMemory {
			t.Fatalf("request %d: %+v", i+1, d)
		}
	}
	d := l.Allow(t.Context(), p, "192.0.2.1", 1)
	if d.Allowed || d.Remaining != 0 || d.Reset != 14*time.Minute || d.RetryAfter() != 14*time.Minute {
		t.Fatalf("51st request: %+v", d)
	}
	if got := l.MemoryCount("token", "192.0.2.1"); got != 50 {
		t.Errorf("a refused request was counted: count %d, want 50", got)
	}
	if d := l.Allow(t.Context(), p, "192.0.2.2", 1); !d.Allowed {
		t.Errorf("another key is limited too: %+v", d)
	}
	clk.Add(14 * time.Minute) // the next window
	if d := l.Allow(t.Context(), p, "192.0.2.1", 1); !d.Allowed || d.Remaining != 49 {
		t.Errorf("after the window: %+v", d)
	}
}

func TestMemoryWeights(t *testing.T) {
	clk := newClock()
	l := ratelimit.New(ratelimit.Options{Now: clk.Now})
	p := ratelimit.Policy{Name: "mcp_tool", Limit: 25, Window: time.Minute}
	for range 2 {
		if d := l.Allow(t.Context(), p, "u1", 10); !d.Allowed {
			t.Fatalf("export within budget refused: %+v", d)
		}
	}
	if d := l.Allow(t.Context(), p, "u1", 10); d.Allowed || d.Remaining != 5 {
		t.Fatalf("third export (30 > 25) allowed: %+v", d)
	}
	// The refused export consumed nothing, so five cheap calls still fit.
	for i := range 5 {
		if d := l.Allow(t.Context(), p, "u1", 1); !d.Allowed {
			t.Fatalf("cheap call %d refused: %+v", i, d)
		}
	}
	if d := l.Allow(t.Context(), p, "u1", 1); d.Allowed {
		t.Fatalf("26th unit allowed: %+v", d)
	}
	if d := l.Allow(t.Context(), ratelimit.Policy{Name: "x", Limit: 5, Window: time.Minute}, "u2", 10); d.Allowed {
		t.Fatalf("a cost above the limit was allowed: %+v", d)
	}
}

// TestMemoryFloodBounded is catalog J-09: a million one-off keys keep the
// fallback at its cap, and the attacker's hot key keeps its count.
func TestMemoryFloodBounded(t *testing.T) {
	clk := newClock()
	const maxKeys = 10_000
	l := ratelimit.New(ratelimit.Options{Now: clk.Now, MaxKeys: maxKeys})
	p := ratelimit.Policy{Name: "login", Limit: 50, Window: 15 * time.Minute}
	for range 50 {
		l.Allow(t.Context(), p, "203.0.113.7", 1)
	}
	if d := l.Allow(t.Context(), p, "203.0.113.7", 1); d.Allowed {
		t.Fatal("hot key not limited before the flood")
	}
	flood := 1_000_000
	if testing.Short() {
		flood = 100_000
	}
	for i := range flood {
		l.Allow(t.Context(), p, "flood-"+strconv.Itoa(i), 1)
		if i%1000 == 0 {
			clk.Add(time.Millisecond) // still inside the window
			if n := l.MemoryKeys(); n > maxKeys {
				t.Fatalf("after %d keys the limiter holds %d > %d", i, n, maxKeys)
			}
		}
	}
	if n := l.MemoryKeys(); n > maxKeys {
		t.Fatalf("limiter holds %d keys > %d", n, maxKeys)
	}
	if got := l.MemoryCount("login", "203.0.113.7"); got != 50 {
		t.Fatalf("hot key count after the flood = %d, want 50", got)
	}
	if d := l.Allow(t.Context(), p, "203.0.113.7", 1); d.Allowed {
		t.Fatal("hot key was evicted by the flood: its next request is allowed")
	}
	if got := l.MemoryCount("login", "flood-0"); got != -1 {
		t.Errorf("the first one-off key is still held (count %d); eviction is not happening", got)
	}
}

// TestMemoryPrunesExpired: once windows end, a full table is swept rather
// than evicting live keys.
func TestMemoryPrunesExpired(t *testing.T) {
	clk := newClock()
	l := ratelimit.New(ratelimit.Options{Now: clk.Now, MaxKeys: 100})
	short := ratelimit.Policy{Name: "s", Limit: 5, Window: time.Second}
	long := ratelimit.Policy{Name: "l", Limit: 5, Window: time.Hour}
	l.Allow(t.Context(), long, "keep", 1) // the oldest entry, one hit: first to evict by LRU
	for i := range 99 {
		l.Allow(t.Context(), short, fmt.Sprint(i), 1)
	}
	clk.Add(2 * time.Second)
	l.Allow(t.Context(), short, "new", 1)
	if got := l.MemoryCount("l", "keep"); got != 1 {
		t.Errorf("live entry evicted although 99 expired ones could be pruned (count %d)", got)
	}
	if n := l.MemoryKeys(); n != 2 {
		t.Errorf("after pruning: %d keys, want 2", n)
	}
}

func TestHeaders(t *testing.T) {
	h := make(map[string][]string)
	d := ratelimit.Decision{Policy: ratelimit.Policy{Name: "token", Limit: 50, Window: 15 * time.Minute}, Remaining: 0, Reset: 1500 * time.Millisecond}
	ratelimit.SetHeaders(h, d)
	want := map[string]string{
		"Ratelimit-Policy": `"token";q=50;w=900`,
		"Ratelimit":        `"token";r=0;t=2`,
		"Retry-After":      "2",
	}
	for k, v := range want {
		if got := h[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
