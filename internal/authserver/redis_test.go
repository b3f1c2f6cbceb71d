package authserver_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
	stateredis "github.com/crm-mcp/crm-mcp/internal/state/redis"
)

// redisServer is a private redis-server started for one test or benchmark
// (the helper pattern of internal/state/redis's tests, copied: test code is
// not importable).
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	once sync.Once
}

func (s *redisServer) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
}

var errNoRedis = errors.New("redis-server not found in PATH")

// launchRedis starts redis-server on a free loopback port, no persistence.
func launchRedis() (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction")
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		s := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
		if redisReady(s.addr, 5*time.Second) {
			return s, nil
		}
		s.stop()
	}
	return nil, errors.New("redis-server did not become ready")
}

func redisReady(addr string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			_ = c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// startRedis starts a private redis-server and kills it when tb ends.
// Without a redis-server binary it skips, or fails when
// CRM_MCP_REQUIRE_SERVICES=1.
func startRedis(tb testing.TB) *redisServer {
	tb.Helper()
	s, err := launchRedis()
	if errors.Is(err, errNoRedis) {
		if os.Getenv("CRM_MCP_REQUIRE_SERVICES") == "1" {
			tb.Fatal("redis-server not found in PATH and CRM_MCP_REQUIRE_SERVICES=1")
		}
		tb.Skip("redis-server not found in PATH; install it or set CRM_MCP_REQUIRE_SERVICES=1 to make this a failure")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.stop)
	return s
}

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
	srv := startRedis(t)
	p := redisPrefix()
	a := newEnv(t, envOptions{store: redisStore(t, srv.addr, p), refreshGrace: grace})
	b := newEnv(t, envOptions{store: redisStore(t, srv.addr, p), refreshGrace: grace, issuer: a.issuer})
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
