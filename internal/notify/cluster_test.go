package notify_test

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/notify"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

// TestRedisClusterFanOut: on a Redis Cluster, instances whose clients
// subscribe through different seed nodes still receive each other's
// events (PUBLISH is broadcast over the cluster bus).
func TestRedisClusterFanOut(t *testing.T) {
	cl := redistest.StartCluster(t)
	var hubs []*notify.Hub
	var buses []*notify.RedisBus
	for i := range cl.Addrs {
		// Each instance's first seed is another master.
		c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{cl.Addrs[i]}})
		t.Cleanup(func() { _ = c.Close() })
		hub := notify.NewHub(notify.HubOptions{})
		bus, err := notify.NewRedisBus(t.Context(), c, hub, notify.RedisOptions{PingEvery: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = bus.Close() })
		hubs, buses = append(hubs, hub), append(buses, bus)
	}
	for from := range buses {
		var streams []*notify.Stream
		for _, h := range hubs {
			s, _ := h.Open("acme", "u", notify.ToolsListChanged)
			streams = append(streams, s)
		}
		if err := buses[from].Publish(t.Context(), "acme", notify.ToolsListChanged); err != nil {
			t.Fatal(err)
		}
		for to, s := range streams {
			if !woken(s, 3*time.Second) || s.Take() != notify.ToolsListChanged {
				t.Errorf("event published on instance %d did not reach instance %d", from, to)
			}
			s.Close()
		}
	}
}
