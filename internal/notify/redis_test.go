package notify_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/notify"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

func woken(s *notify.Stream, d time.Duration) bool {
	select {
	case <-s.Wake():
		return true
	case <-time.After(d):
		return false
	}
}

// instance is one crm-mcp instance's notification side: its own hub, its
// own Redis connection, one shared Redis.
func instance(t *testing.T, addr string) (*notify.Hub, *notify.RedisBus, *goredis.Client) {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	hub := notify.NewHub(notify.HubOptions{})
	bus, err := notify.NewRedisBus(t.Context(), c, hub, notify.RedisOptions{PingEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close() })
	return hub, bus, c
}

// TestRedisFanOut: an event published on instance A reaches the matching
// streams on instance B, and never another tenant's.
func TestRedisFanOut(t *testing.T) {
	rs := redistest.Start(t)
	hubA, busA, clientA := instance(t, rs.Addr)
	hubB, _, _ := instance(t, rs.Addr)
	onB, _ := hubB.Open("acme", "u", notify.ToolsListChanged)
	otherOnB, _ := hubB.Open("globex", "u", notify.ToolsListChanged)
	onA, _ := hubA.Open("acme", "v", notify.ToolsListChanged)

	if err := busA.Publish(t.Context(), "acme", notify.ToolsListChanged); err != nil {
		t.Fatal(err)
	}
	if !woken(onB, 3*time.Second) || onB.Take() != notify.ToolsListChanged {
		t.Fatal("acme's stream on instance B did not get the event published on A")
	}
	if !woken(onA, 3*time.Second) {
		t.Error("the publishing instance's own acme stream did not get it")
	}
	if woken(otherOnB, 300*time.Millisecond) {
		t.Fatal("globex's stream received acme's event")
	}
	// Garbage on the channel (anyone with PUBLISH rights) is ignored.
	for _, junk := range []string{"not json", `{"v":2,"tenant":"globex","kind":"tools"}`, `{"v":1,"tenant":"globex","kind":"unknown"}`} {
		clientA.Publish(t.Context(), notify.DefaultChannel, junk)
	}
	if woken(otherOnB, 300*time.Millisecond) {
		t.Error("a malformed payload woke a stream")
	}
	// A global event reaches every tenant.
	_ = busA.Publish(t.Context(), "", notify.ToolsListChanged)
	if !woken(otherOnB, 3*time.Second) {
		t.Error("global event did not reach globex on B")
	}
}

// TestRedisResubscribeAnnounces: after the subscription connection is
// lost, events may have been missed, so every stream is told to refetch.
func TestRedisResubscribeAnnounces(t *testing.T) {
	rs := redistest.Start(t)
	hub, bus, client := instance(t, rs.Addr)
	s, _ := hub.Open("acme", "u", notify.ToolsListChanged)
	if err := client.Do(t.Context(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	if !woken(s, 5*time.Second) {
		t.Fatal("no list_changed after the subscription was restored")
	}
	// And the bus works again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = bus.Publish(context.Background(), "acme", notify.ToolsListChanged)
		if woken(s, 100*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bus did not recover")
		}
	}
}

// TestRedisBusClosePrompt: Close does not wait for a quiet subscription's
// receive timeout (30 s by default), or shutdown would hang that long.
func TestRedisBusClosePrompt(t *testing.T) {
	rs := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	defer c.Close()
	bus, err := notify.NewRedisBus(t.Context(), c, notify.NewHub(notify.HubOptions{}), notify.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the receive block
	start := time.Now()
	_ = bus.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %v", took)
	}
}
