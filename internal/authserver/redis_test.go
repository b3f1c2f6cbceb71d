package authserver_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
	stateredis "github.com/crm-mcp/crm-mcp/internal/state/redis"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

// redisStore returns a Redis-backed store with its own go-redis client, as
// one app instance has.
func redisStore(tb testing.TB, addr, prefix string) *stateredis.Store {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true, PoolSize: 64})
	s := stateredis.New(c, stateredis.Options{Prefix: prefix})
	tb.Cleanup(func() { _ = s.Close() })
	if err := s.Ping(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

func redisPrefix() string { return "t" + strings.ToLower(rand.Text()[:8]) }

// twoInstances is one deployment: two authorization servers behind the
// same public URL, each with its own Redis client, sharing one Redis.
func twoInstances(t *testing.T, grace time.Duration) (*env, *env) {
	t.Helper()
	srv := redistest.Start(t)
	p := redisPrefix()
	a := newEnv(t, envOptions{store: redisStore(t, srv.Addr, p), refreshGrace: grace})
	b := newEnv(t, envOptions{store: redisStore(t, srv.Addr, p), refreshGrace: grace, issuer: a.issuer})
	return a, b
}

// TestTwoInstancesConcurrentRedemption covers C-03 with G-INV-6: 50
// goroutines redeem one code against two instances sharing one Redis;
// exactly one redemption wins (see checkConcurrentRedemption).
func TestTwoInstancesConcurrentRedemption(t *testing.T) {
	a, b := twoInstances(t, 0)
	c1 := a.publicClient("C1", "https://c1.example/cb")
	for range 5 {
		p := newPKCE()
		code := a.browser().code(c1, p, "", u1Email, u1Pass)
		checkConcurrentRedemption(t, []*env{a, b}, c1, code, p, 50)
	}
}

// TestTwoInstancesStateIsShared covers D-02, E-01 and G-23 "on every
// instance": what one instance rotates or revokes, the other enforces.
func TestTwoInstancesStateIsShared(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, a, b *env, c client)
	}{
		{"C-02 code replayed on the other instance", func(t *testing.T, a, b *env, c client) {
			p := newPKCE()
			code := a.browser().code(c, p, "", u1Email, u1Pass)
			tk := a.exchange(c, code, p)
			// Past the duplicate window (the Redis store stamps the
			// redemption with real time; B's test clock started at or
			// before it).
			b.clock.Advance(authserver.CodeReplayGrace + 5*time.Second)
			assertOAuthError(t, b.token(codeForm(c, code, p)), 400, "invalid_grant")
			if !a.accessRevoked(tk.access) {
				t.Error("replay on B did not revoke A's tokens")
			}
		}},
		{"D-02 refresh reuse on the other instance", func(t *testing.T, a, b *env, c client) {
			t0 := a.grant(c, "")
			r := a.token(refreshForm(c, t0.refresh))
			if r.status != 200 {
				t.Fatalf("refresh on A: %d %s", r.status, r.body)
			}
			assertOAuthError(t, b.token(refreshForm(c, t0.refresh)), 400, "invalid_grant")
			assertOAuthError(t, a.token(refreshForm(c, r.tokens().refresh)), 400, "invalid_grant")
			if !a.accessRevoked(r.tokens().access) {
				t.Error("family not revoked")
			}
		}},
		{"E-01 revoke on one, enforced on the other", func(t *testing.T, a, b *env, c client) {
			tk := a.grant(c, "")
			if r := b.revoke(revokeForm(c, tk.refresh)); r.status != 200 {
				t.Fatalf("revoke on B: %d", r.status)
			}
			assertOAuthError(t, a.token(refreshForm(c, tk.refresh)), 400, "invalid_grant")
		}},
		{"G-23 access token revoked on one, 401 at the other's resource", func(t *testing.T, a, b *env, c client) {
			rs := protectedResource(t, a)
			tk := a.grant(c, "")
			if st, _ := callResource(t, rs, tk.access); st != 200 {
				t.Fatalf("before revocation: %d", st)
			}
			if r := b.revoke(revokeForm(c, tk.access)); r.status != 200 {
				t.Fatalf("revoke on B: %d", r.status)
			}
			if st, chal := callResource(t, rs, tk.access); st != 401 || !strings.Contains(chal, "invalid_token") {
				t.Errorf("after revocation on B: %d %q", st, chal)
			}
		}},
	}
	a, b := twoInstances(t, -1)
	c1 := a.publicClient("C1", "https://c1.example/cb")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, a, b, c1)
		})
	}
}
