package scaleout_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres/pgtest"
	"github.com/crm-mcp/crm-mcp/internal/portpick"
	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

// rateLimits are the replicas' limits: register is small so the global
// limit shows (test d); the rest are high enough for every flow here.
const rateLimits = "register=5/1m,token=1000/15m,authorize=1000/15m,login=1000/15m,consent=1000/15m,revoke=1000/15m,login_account=1000/15m"

// cluster is the fleet of one test: mcp replicas and api replicas behind
// nginx, one private Redis, one fresh PostgreSQL database.
type cluster struct {
	bin       string             // the crm-mcp binary
	dir       string             // t.TempDir of the fleet
	PublicURL string             // nginx in front of the mcp replicas
	APIURL    string             // nginx in front of the api replicas
	MCP       []string           // http://127.0.0.1:PORT of each mcp replica, in instance order
	RedisURL  string             // what the replicas have as CRM_MCP_REDIS_URL
	Redis     *redistest.Server  // the single Redis (nil in cluster mode)
	RedisC    *redistest.Cluster // the Redis Cluster (nil in single mode)
	mcpEnv    map[string]string  // shared env of the mcp replicas
	MCPProcs  []*proc            // the mcp replicas' processes, in instance order
	procs     []*proc
	mu        sync.Mutex
}

// fleetOptions vary a fleet.
type fleetOptions struct {
	// RedisCluster runs a 3-master Redis Cluster instead of one Redis.
	RedisCluster bool
	// DB is the database of the api replicas; nil: a fresh one on the
	// shared PostgreSQL (pgtest).
	DB *pgtest.DB
	// MCPEnv is added to the mcp replicas' environment.
	MCPEnv map[string]string
	// RedisArgs are extra redis-server arguments of the single Redis.
	RedisArgs []string
}

// redisClient returns a client of the fleet's Redis (single or cluster).
func (c *cluster) redisClient(t *testing.T) goredis.UniversalClient {
	t.Helper()
	var rdb goredis.UniversalClient
	if c.RedisC != nil {
		rdb = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.RedisC.Addrs})
	} else {
		rdb = goredis.NewClient(&goredis.Options{Addr: c.Redis.Addr})
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// proc is one child process, its output kept in a file for failures.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// requireNginx returns the nginx binary or skips (fails under
// CRM_MCP_REQUIRE_SERVICES=1).
func requireNginx(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		msg := "nginx not found (install the Debian package nginx; .ci/run does)"
		if os.Getenv("CRM_MCP_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + " and CRM_MCP_REQUIRE_SERVICES=1")
		}
		t.Skip(msg + "; set CRM_MCP_REQUIRE_SERVICES=1 to make this a failure")
	}
	return bin
}

// startCluster builds crm-mcp, seeds a fresh database and starts Redis,
// nApi api replicas, nginx and nMCP mcp replicas (instance ids mcp-0…),
// and waits until every mcp replica is ready. Everything stops when t
// ends.
func startCluster(ctx context.Context, t *testing.T, nMCP, nAPI int, o fleetOptions) *cluster {
	t.Helper()
	nginx := requireNginx(t)
	var db pgtest.DB
	if o.DB != nil {
		db = *o.DB
	} else {
		db = pgtest.NewDB(t)
	}
	c := &cluster{dir: t.TempDir()}
	if o.RedisCluster {
		c.RedisC = redistest.StartCluster(t)
		c.RedisURL = c.RedisC.URL()
	} else if len(o.RedisArgs) > 0 {
		rds, err := redistest.LaunchArgs(o.RedisArgs...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rds.Stop)
		c.Redis = rds
		c.RedisURL = "redis://" + c.Redis.Addr
	} else {
		c.Redis = redistest.Start(t)
		c.RedisURL = "redis://" + c.Redis.Addr
	}
	t.Cleanup(c.stopAll)

	c.bin = filepath.Join(c.dir, "crm-mcp")
	build := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "github.com/crm-mcp/crm-mcp/cmd/crm-mcp")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	seed := exec.CommandContext(ctx, c.bin, "seed", "-people", "30")
	seed.Env = append(os.Environ(), "CRM_MCP_DATABASE_URL="+db.AppDSN, "CRM_MCP_DATABASE_OWNER_URL="+db.OwnerDSN)
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("crm-mcp seed: %v\n%s", err, out)
	}

	keyFile := filepath.Join(c.dir, "service-keys.pem")
	if _, err := servicetoken.LoadOrCreateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)

	pubAddr, apiAddr := portpick.Test(t).Addr(), portpick.Test(t).Addr()
	c.PublicURL = "http://" + pubAddr
	c.APIURL = "http://" + apiAddr
	var apiAddrs, mcpAddrs []string
	for i := range nAPI {
		a := portpick.Test(t).Addr()
		apiAddrs = append(apiAddrs, a)
		c.start(ctx, t, fmt.Sprintf("api-%d", i), []string{"api"}, map[string]string{
			"CRM_MCP_API_ADDR":     a,
			"CRM_MCP_PUBLIC_URL":   c.PublicURL,
			"CRM_MCP_DATABASE_URL": db.AppDSN,
			"CRM_MCP_LOG_FORMAT":   "text",
		})
	}
	for range nMCP {
		mcpAddrs = append(mcpAddrs, portpick.Test(t).Addr())
	}
	c.startNginx(ctx, t, nginx, pubAddr, apiAddr, mcpAddrs, apiAddrs)

	c.mcpEnv = map[string]string{
		"CRM_MCP_PUBLIC_URL":       c.PublicURL,
		"CRM_MCP_TOKEN_KEYS":       "k1:" + base64.RawURLEncoding.EncodeToString(secret),
		"CRM_MCP_REDIS_URL":        c.RedisURL,
		"CRM_MCP_API_URL":          c.APIURL,
		"CRM_MCP_SERVICE_KEY_FILE": keyFile,
		"CRM_MCP_TRUSTED_PROXIES":  "127.0.0.1",
		"CRM_MCP_RATE_LIMITS":      rateLimits,
		"CRM_MCP_SSE_HEARTBEAT":    "2s",
		"CRM_MCP_LOG_FORMAT":       "text",
	}
	if o.RedisCluster {
		c.mcpEnv["CRM_MCP_REDIS_CLUSTER"] = "true"
	}
	for k, v := range o.MCPEnv {
		c.mcpEnv[k] = v
	}
	for i, a := range mcpAddrs {
		c.MCP = append(c.MCP, "http://"+a)
		c.MCPProcs = append(c.MCPProcs, c.startMCP(ctx, t, i, a))
	}
	for _, u := range c.MCP {
		c.waitReady(ctx, t, u)
	}
	return c
}

// startMCP starts mcp replica i (instance id mcp-i) listening on a.
func (c *cluster) startMCP(ctx context.Context, t *testing.T, i int, a string) *proc {
	t.Helper()
	env := map[string]string{"CRM_MCP_ADDR": a, "CRM_MCP_INSTANCE_ID": fmt.Sprintf("mcp-%d", i), "CRM_MCP_DATA_DIR": filepath.Join(c.dir, fmt.Sprintf("mcp-%d", i))}
	for k, v := range c.mcpEnv {
		env[k] = v
	}
	return c.start(ctx, t, fmt.Sprintf("mcp-%d-%d", i, time.Now().UnixNano()), []string{"mcp"}, env)
}

// start runs the binary with env added to the test's environment (minus
// any CRM_MCP_ variable of the caller's, so runs do not depend on it).
func (c *cluster) start(ctx context.Context, t *testing.T, name string, args []string, env map[string]string) *proc {
	t.Helper()
	return c.startCmd(ctx, t, name, c.bin, args, env)
}

func (c *cluster) startCmd(ctx context.Context, t *testing.T, name, bin string, args []string, env map[string]string) *proc {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRM_MCP_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logPath := filepath.Join(c.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("--- %s (tail) ---\n%s", name, b)
		}
	})
	return p
}

// stopAll sends SIGTERM to every process, waits a bounded time, then
// kills what is left.
func (c *cluster) stopAll() {
	c.mu.Lock()
	procs := c.procs
	c.mu.Unlock()
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(15 * time.Second)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

type nginxConf struct {
	Prefix, Listen, APIListen string
	User                      string // set when running as root
	MCP, API                  []string
}

// startNginx writes nginx.conf from nginx.conf.tmpl into its own prefix
// dir and runs nginx in the foreground as the current user.
func (c *cluster) startNginx(ctx context.Context, t *testing.T, bin, pubAddr, apiAddr string, mcp, api []string) {
	t.Helper()
	prefix := filepath.Join(c.dir, "nginx")
	if err := os.MkdirAll(filepath.Join(prefix, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.ParseFiles("nginx.conf.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, nginxConf{Prefix: prefix, Listen: pubAddr, APIListen: apiAddr, MCP: mcp, API: api, User: rootUser()}); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// master_process off: one process, so killing it at the end leaves no
	// orphaned worker behind (a killed master's workers live on).
	c.startCmd(ctx, t, "nginx", bin, []string{"-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "error.log"), "-g", "daemon off; master_process off;"}, nil)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
			t.Logf("--- nginx error.log ---\n%s", b)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", pubAddr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("nginx did not listen on %s: %v", pubAddr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReady polls base/readyz until 200.
func (c *cluster) waitReady(ctx context.Context, t *testing.T, base string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not ready: %v", base, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rootUser is "root" when the test runs as root, else "" (an unprivileged
// nginx cannot switch users and keeps its own).
func rootUser() string {
	if os.Geteuid() == 0 {
		return "root"
	}
	return ""
}
