package redis_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/state"
	stateredis "github.com/crm-mcp/crm-mcp/internal/state/redis"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
	"github.com/crm-mcp/crm-mcp/internal/state/statetest"
)

// The state store on a real 3-master Redis Cluster: every multi-key script
// and pipeline must keep its keys in one slot, or the cluster answers
// CROSSSLOT and the suite fails with ErrUnavailable.

func newClusterClient(t *testing.T, cl *redistest.Cluster) *goredis.ClusterClient {
	t.Helper()
	opts, err := goredis.ParseClusterURL(cl.URL())
	if err != nil {
		t.Fatal(err)
	}
	opts.ContextTimeoutEnabled = true
	opts.PoolSize = 64
	c := goredis.NewClusterClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// auditCluster audits every master's keys, and checks that the suite's
// keys were spread over more than one master (or the cluster proved
// nothing about slots).
func auditCluster(t *testing.T, c *goredis.ClusterClient) {
	t.Helper()
	var total, nodes atomic.Int64
	err := c.ForEachMaster(context.Background(), func(ctx context.Context, node *goredis.Client) error {
		if n := auditNode(t, node); n > 0 {
			total.Add(int64(n))
			nodes.Add(1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if nodes.Load() < 2 {
		t.Errorf("the suite's %d keys are on %d master(s), want them spread over several", total.Load(), nodes.Load())
	}
	t.Logf("audited %d keys on %d masters", total.Load(), nodes.Load())
}

func TestClusterConformance(t *testing.T) {
	cl := redistest.StartCluster(t)
	c := newClusterClient(t, cl)
	t.Cleanup(func() { auditCluster(t, c) })
	statetest.Run(t, factory(c), caps)
}

func TestClusterConcurrency(t *testing.T) {
	cl := redistest.StartCluster(t)
	c := newClusterClient(t, cl)
	statetest.RunConcurrency(t, factory(c), caps)
	// Two instances with their own cluster clients race for one code.
	p := prefix()
	a := stateredis.New(newClusterClient(t, cl), stateredis.Options{Prefix: p})
	b := stateredis.New(newClusterClient(t, cl), stateredis.Options{Prefix: p})
	for range 5 {
		statetest.ConcurrentConsume(t, []state.Store{a, b}, time.Now, 50)
	}
}

// TestClusterKeySlots checks keySlot (used by TestHashTagsShareSlots)
// against the cluster's own CLUSTER KEYSLOT, with hostile ids, and that
// each multi-key pair lands in one slot there too.
func TestClusterKeySlots(t *testing.T) {
	cl := redistest.StartCluster(t)
	c := newClusterClient(t, cl)
	ctx := t.Context()
	for _, id := range []string{"plain", "{x}", "a}b", "}{", "{", "}", "x{y}z"} {
		for _, pair := range [][2]string{
			{"crm:{code:" + id + "}", "crm:{code:" + id + "}:tomb"},
			{"crm:{fam:" + id + "}", "crm:{fam:" + id + "}:revoked"},
			{"crm:{user:" + id + "}:consent:" + id, "crm:{user:" + id + "}:consents"},
		} {
			a, err := c.ClusterKeySlot(ctx, pair[0]).Result()
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.ClusterKeySlot(ctx, pair[1]).Result()
			if err != nil {
				t.Fatal(err)
			}
			if a != b || int(a) != keySlot(pair[0]) {
				t.Errorf("%q slot %d, %q slot %d, keySlot %d", pair[0], a, pair[1], b, keySlot(pair[0]))
			}
		}
	}
	// The negative control: keys without a shared tag are refused.
	err := c.Eval(ctx, "return redis.call('EXISTS', KEYS[1], KEYS[2])", []string{"crm:{a}", "crm:{b}"}).Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Errorf("a cross-slot script: err = %v, want CROSSSLOT (else this cluster proves nothing)", err)
	}
	// And an outage of the whole cluster is ErrUnavailable, not NotFound.
	st := stateredis.New(c, stateredis.Options{Prefix: prefix(), OpTimeout: 300 * time.Millisecond})
	cl.Stop()
	start := time.Now()
	if _, err := st.GetClient(ctx, "any"); !errors.Is(err, state.ErrUnavailable) {
		t.Errorf("GetClient with the cluster down: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("GetClient with the cluster down took %v", d)
	}
}
