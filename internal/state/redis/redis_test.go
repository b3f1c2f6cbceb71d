package redis_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/state"
	stateredis "github.com/crm-mcp/crm-mcp/internal/state/redis"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
	"github.com/crm-mcp/crm-mcp/internal/state/statetest"
)

var (
	benchOnce sync.Once
	benchSrv  *redistest.Server
	benchErr  error
)

// quietLogger drops go-redis's pool logs (dial failures are expected in the
// outage tests and would bury real failures).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	goredis.SetLogger(quietLogger{})
	code := m.Run()
	if benchSrv != nil {
		benchSrv.Stop()
	}
	os.Exit(code)
}

func newClient(tb testing.TB, addr string) *goredis.Client {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true, PoolSize: 64})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func prefix() string { return "t" + strings.ToLower(rand.Text()[:8]) }

// factory returns a NewStore whose stores share one client (and server),
// each with its own prefix. The stores are not closed: Close would close the
// shared client, which newClient closes at the end.
func factory(c goredis.UniversalClient) statetest.NewStore {
	return func(t *testing.T, now func() time.Time) state.Store {
		return stateredis.New(c, stateredis.Options{Prefix: prefix(), Now: now})
	}
}

var caps = statetest.Capabilities{FakeClock: false}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	// Runs after every (parallel) subtest has finished.
	t.Cleanup(func() { auditKeyspace(t, c) })
	statetest.Run(t, factory(c), caps)
}

func TestConcurrency(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	t.Cleanup(func() { auditKeyspace(t, c) })
	statetest.RunConcurrency(t, factory(c), caps)
}

// TestTwoInstances is C-03 across instances: two Stores with their own
// client (two server processes in production) share one Redis.
func TestTwoInstances(t *testing.T) {
	srv := redistest.Start(t)
	p := prefix()
	a := stateredis.New(newClient(t, srv.Addr), stateredis.Options{Prefix: p})
	b := stateredis.New(newClient(t, srv.Addr), stateredis.Options{Prefix: p})
	for range 10 {
		statetest.ConcurrentConsume(t, []state.Store{a, b}, time.Now, 50)
	}

	// A rotation on one instance is reuse on the other.
	ctx := t.Context()
	now := time.Now()
	f := state.Family{ID: "fam-x", ClientID: "c1", Scopes: []string{"mcp"}, CreatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour)}
	rt0, rt1 := state.Hash("rt0"), state.Hash("rt1")
	if err := a.CreateFamily(ctx, f, rt0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RotateRefresh(ctx, rt0, rt1, "c1", now, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RotateRefresh(ctx, rt0, rt1, "c1", now, 0); !errors.Is(err, state.ErrConsumed) {
		t.Fatalf("reuse on the other instance: err = %v, want ErrConsumed", err)
	}
	if denied, err := a.AccessRevoked(ctx, "any-jti", f.ID); err != nil || !denied {
		t.Fatalf("AccessRevoked on the first instance = %v, %v; want true", denied, err)
	}
}

// auditKeyspace checks I-01 and I-03 on a dedicated server: every key has a
// TTL no longer than 90 days, and no key or value holds a plaintext secret.
func auditKeyspace(t *testing.T, c *goredis.Client) {
	t.Helper()
	n := auditNode(t, c)
	if n == 0 {
		t.Fatal("audit saw no keys: the suite wrote nothing?")
	}
	t.Logf("audited %d keys", n)
}

// auditNode audits one server's keys and returns how many it saw.
func auditNode(t *testing.T, c *goredis.Client) int {
	t.Helper()
	// Not t.Context(): the audit runs in Cleanup, after it is canceled.
	ctx := context.Background()
	n := 0
	iter := c.Scan(ctx, 0, "", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		n++
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatalf("PTTL: %v", err)
		}
		if ttl == -2 {
			continue // expired between SCAN and PTTL
		}
		if ttl <= 0 {
			t.Errorf("key %q has no TTL (PTTL %v)", k, ttl)
		}
		if ttl > 90*24*time.Hour+time.Minute {
			t.Errorf("key %q TTL %v exceeds 90 days", k, ttl)
		}
		var vals []string
		switch typ := c.Type(ctx, k).Val(); typ {
		case "string":
			vals = append(vals, c.Get(ctx, k).Val())
		case "hash":
			for f, v := range c.HGetAll(ctx, k).Val() {
				vals = append(vals, f, v)
			}
		case "set":
			vals = c.SMembers(ctx, k).Val()
		case "none":
		default:
			t.Errorf("key %q has unexpected type %s", k, typ)
		}
		for _, v := range append(vals, k) {
			if strings.Contains(v, statetest.SecretCanary) {
				t.Errorf("key %q stores a plaintext secret", k)
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN: %v", err)
	}
	return n
}

// TestKeyTTLs pins the documented key layout and every TTL (I-01).
func TestKeyTTLs(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	ctx := t.Context()
	now := time.Now()
	s := stateredis.New(c, stateredis.Options{Prefix: "p", Now: func() time.Time { return now }})

	code, rt0, rt1, sid, areq := state.Hash("code"), state.Hash("rt0"), state.Hash("rt1"), state.Hash("sid"), state.Hash("areq")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateClient(ctx, state.Client{ID: "c1"}, 90*24*time.Hour))
	must(s.SaveCode(ctx, code, state.AuthCode{ClientID: "c1", CodeChallenge: "ch", FamilyID: "f1"}, 10*time.Minute))
	must(s.SaveCode(ctx, state.Hash("code2"), state.AuthCode{ClientID: "c1", CodeChallenge: "ch"}, 10*time.Minute))
	_, err := s.ConsumeCode(ctx, state.Hash("code2"), "c1", "ch")
	must(err)
	must(s.CreateFamily(ctx, state.Family{ID: "f1", ClientID: "c1", ExpiresAt: now.Add(7 * 24 * time.Hour)}, rt0))
	_, err = s.RotateRefresh(ctx, rt0, rt1, "c1", now, 0)
	must(err)
	must(s.CreateFamily(ctx, state.Family{ID: "f2", ClientID: "c1", ExpiresAt: now.Add(time.Minute)}, state.Hash("rt-f2")))
	must(s.RevokeFamily(ctx, "f2"))
	must(s.RevokeAccess(ctx, "jti1", now.Add(time.Hour)))
	must(s.CreateSession(ctx, sid, state.Session{UserID: "u1"}, 8*time.Hour))
	must(s.GrantConsent(ctx, "u1", "c1", []string{"mcp"}, "https://c1.example/cb", 30*24*time.Hour))
	must(s.SaveAuthRequest(ctx, areq, state.AuthRequest{ClientID: "c1"}, 10*time.Minute))

	day := 24 * time.Hour
	for _, tc := range []struct {
		key      string
		min, max time.Duration
	}{
		{"p:{client:c1}", 90*day - time.Minute, 90 * day},
		{"p:{code:" + code + "}", 10*time.Minute - time.Minute, 10 * time.Minute},
		{"p:{code:" + state.Hash("code2") + "}:tomb", 10*time.Minute - time.Minute, 10 * time.Minute},
		{"p:{fam:f1}", 7*day - time.Minute, 7 * day},
		{"p:{rt:" + rt0 + "}", 7*day - time.Minute, 7 * day},
		{"p:{rt:" + rt1 + "}", 7*day - time.Minute, 7 * day},
		{"p:{fam:f2}:revoked", state.DefaultMinRevocationTTL - time.Minute, state.DefaultMinRevocationTTL},
		{"p:{at:jti1}", time.Hour - time.Minute, time.Hour},
		{"p:{sess:" + sid + "}", 8*time.Hour - time.Minute, 8 * time.Hour},
		{"p:{user:u1}:consent:c1", 30*day - time.Minute, 30 * day},
		{"p:{user:u1}:consents", 30*day - time.Minute, 30 * day},
		{"p:{areq:" + areq + "}", 10*time.Minute - time.Minute, 10 * time.Minute},
	} {
		ttl, err := c.PTTL(ctx, tc.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < tc.min || ttl > tc.max {
			t.Errorf("PTTL(%s) = %v, want in [%v, %v]", tc.key, ttl, tc.min, tc.max)
		}
	}
	if n := c.Exists(ctx, "p:{fam:f2}").Val(); n != 0 {
		t.Error("revoked family record still exists")
	}
	auditKeyspace(t, c)
}

// TestHashTagsShareSlots checks that every multi-key operation's keys hash
// to one Cluster slot, including with hostile ids.
func TestHashTagsShareSlots(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	ctx := t.Context()
	for _, id := range []string{"plain", "{x}", "a}b", "}{", "{", "}", "x{y}z"} {
		for _, pair := range [][2]string{
			{"crm:{code:" + id + "}", "crm:{code:" + id + "}:tomb"},
			{"crm:{fam:" + id + "}", "crm:{fam:" + id + "}:revoked"},
			{"crm:{user:" + id + "}:consent:" + id, "crm:{user:" + id + "}:consents"},
		} {
			// CLUSTER KEYSLOT needs cluster mode; compute the slot the same
			// way Redis does instead.
			if a, b := keySlot(pair[0]), keySlot(pair[1]); a != b {
				t.Errorf("%q (slot %d) and %q (slot %d) differ", pair[0], a, pair[1], b)
			}
		}
	}
	_ = c.Ping(ctx)
}

// keySlot is Redis Cluster's HASH_SLOT: CRC16 of the hash tag (the part
// between the first '{' and the next '}', if non-empty) modulo 16384.
func keySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// TestUnavailable is: a stopped or blackholed Redis makes every
// call fail with ErrUnavailable (never ErrNotFound, which callers would turn
// into invalid_grant) within about OpTimeout, and the message names no key.
func TestUnavailable(t *testing.T) {
	const opTimeout = 200 * time.Millisecond

	srv := redistest.Start(t)
	stopped := newClient(t, srv.Addr)
	ctx := t.Context()
	if err := stopped.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hole.Close() })
	var conns sync.WaitGroup
	held := make(chan net.Conn, 64)
	conns.Go(func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			held <- c // accept, never answer
		}
	})
	t.Cleanup(func() {
		_ = hole.Close()
		conns.Wait()
		close(held)
		for c := range held {
			_ = c.Close()
		}
	})
	blackholed := newClient(t, hole.Addr().String())

	secret := state.Hash(statetest.SecretCanary + "outage")
	for _, tc := range []struct {
		name   string
		client goredis.UniversalClient
	}{{"stopped", stopped}, {"blackholed", blackholed}} {
		t.Run(tc.name, func(t *testing.T) {
			s := stateredis.New(tc.client, stateredis.Options{Prefix: "outage", OpTimeout: opTimeout})
			now := time.Now()
			ops := map[string]func() error{
				"Ping":         func() error { return s.Ping(ctx) },
				"CreateClient": func() error { return s.CreateClient(ctx, state.Client{ID: secret}, time.Hour) },
				"GetClient":    func() error { _, err := s.GetClient(ctx, secret); return err },
				"TouchClient":  func() error { return s.TouchClient(ctx, secret, now, time.Hour) },
				"SaveCode":     func() error { return s.SaveCode(ctx, secret, state.AuthCode{}, time.Minute) },
				"ConsumeCode":  func() error { _, err := s.ConsumeCode(ctx, secret, "c1", "ch"); return err },
				"CreateFamily": func() error {
					return s.CreateFamily(ctx, state.Family{ID: secret, ExpiresAt: now.Add(time.Hour)}, secret)
				},
				"RotateRefresh": func() error { _, err := s.RotateRefresh(ctx, secret, secret+"n", "c1", now, 0); return err },
				"RevokeFamily":  func() error { return s.RevokeFamily(ctx, secret) },
				"FamilyOfToken": func() error { _, err := s.FamilyOfToken(ctx, secret); return err },
				"FamilyRevoked": func() error { _, err := s.FamilyRevoked(ctx, secret); return err },
				"RevokeAccess":  func() error { return s.RevokeAccess(ctx, secret, now.Add(time.Hour)) },
				"AccessRevoked": func() error { _, err := s.AccessRevoked(ctx, secret, secret); return err },
				"CreateSession": func() error { return s.CreateSession(ctx, secret, state.Session{}, time.Hour) },
				"GetSession":    func() error { _, err := s.GetSession(ctx, secret); return err },
				"DeleteSession": func() error { return s.DeleteSession(ctx, secret) },
				"GrantConsent":  func() error { return s.GrantConsent(ctx, secret, secret, nil, "", time.Hour) },
				"GetConsent":    func() error { _, err := s.GetConsent(ctx, secret, secret); return err },
				"RevokeConsent": func() error { return s.RevokeConsent(ctx, secret, secret) },
				"ListConsents":  func() error { _, err := s.ListConsents(ctx, secret); return err },
				"SaveAuthReq":   func() error { return s.SaveAuthRequest(ctx, secret, state.AuthRequest{}, time.Minute) },
				"GetAuthReq":    func() error { _, err := s.GetAuthRequest(ctx, secret); return err },
				"TakeAuthReq":   func() error { _, err := s.TakeAuthRequest(ctx, secret); return err },
			}
			// All at once: the -parallel limit (GOMAXPROCS) would
			// serialise t.Parallel subtests that mostly wait.
			type result struct {
				err  error
				took time.Duration
			}
			var mu sync.Mutex
			results := map[string]result{}
			var wg sync.WaitGroup
			for name, op := range ops {
				wg.Go(func() {
					start := time.Now()
					err := op()
					mu.Lock()
					results[name] = result{err, time.Since(start)}
					mu.Unlock()
				})
			}
			wg.Wait()
			for name, r := range results {
				if !errors.Is(r.err, state.ErrUnavailable) {
					t.Errorf("%s: err = %v, want ErrUnavailable", name, r.err)
					continue
				}
				if errors.Is(r.err, state.ErrNotFound) {
					t.Errorf("%s: an outage must not look like not found", name)
				}
				// RotateRefresh makes up to three calls, but the first
				// fails; generous slack for -race on 2 cores.
				if limit := opTimeout + 400*time.Millisecond; r.took > limit {
					t.Errorf("%s took %v, want <= %v", name, r.took, limit)
				}
				for _, leak := range []string{secret, "outage", "127.0.0.1", statetest.SecretCanary} {
					if strings.Contains(r.err.Error(), leak) {
						t.Errorf("%s: message %q leaks %q", name, r.err, leak)
					}
				}
			}
		})
	}
}

func TestNewRejectsBracedPrefix(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted a prefix with a brace")
		}
	}()
	stateredis.New(goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"}), stateredis.Options{Prefix: "crm{x}"})
}

// benchStore returns a store on one redis-server shared by all benchmarks
// (a benchmark function runs several times with growing b.N).
func benchStore(b *testing.B) *stateredis.Store {
	b.Helper()
	benchOnce.Do(func() { benchSrv, benchErr = redistest.Launch() })
	if errors.Is(benchErr, redistest.ErrNoRedis) {
		b.Skip("redis-server not found in PATH")
	}
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return stateredis.New(newClient(b, benchSrv.Addr), stateredis.Options{Prefix: prefix()})
}

func BenchmarkAccessRevoked(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	if err := s.RevokeFamily(ctx, "fam-revoked"); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if denied, err := s.AccessRevoked(ctx, "jti-live", "fam-live"); err != nil || denied {
				b.Fatal(denied, err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if denied, err := s.AccessRevoked(ctx, "jti-live", "fam-revoked"); err != nil || !denied {
					b.Fatal(denied, err)
				}
			}
		})
	})
}

func BenchmarkConsumeCode(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	code := state.AuthCode{ClientID: "c1", CodeChallenge: "ch", FamilyID: "f", Scopes: []string{"mcp"}}
	hashes := make([]string, b.N)
	for i := range hashes {
		hashes[i] = state.Hash(fmt.Sprintf("code-%d-%d", b.N, i))
		if err := s.SaveCode(ctx, hashes[i], code, 10*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.ConsumeCode(ctx, hashes[i], "c1", "ch"); err != nil {
			b.Fatal(err)
		}
	}
}
