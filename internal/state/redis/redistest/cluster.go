package redistest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a running Redis Cluster of masters without replicas, each a
// redis-server on loopback (its cluster bus on port+10000).
type Cluster struct {
	// Addrs are the masters' host:port, the seeds a client is given.
	Addrs   []string
	Servers []*Server
}

// Stop kills every node. It is idempotent.
func (c *Cluster) Stop() {
	for _, s := range c.Servers {
		s.Stop()
	}
}

// URL is the CRM_MCP_REDIS_URL naming every master as a seed (with
// CRM_MCP_REDIS_CLUSTER=true): redis://first?addr=second&addr=third.
func (c *Cluster) URL() string {
	u := "redis://" + c.Addrs[0]
	for i, a := range c.Addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + a
	}
	return u
}

// ErrNoRedisCLI means there is no redis-cli binary in PATH (it creates the
// cluster).
var ErrNoRedisCLI = errors.New("redis-cli not found in PATH")

// LaunchCluster starts n masters with --cluster-enabled yes (node files in
// dir), joins them with redis-cli --cluster create (no replicas) and waits
// until every node reports cluster_state:ok. The caller must Stop it.
func LaunchCluster(dir string, n int) (*Cluster, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoRedis
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, ErrNoRedisCLI
	}
	c := &Cluster{}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	for i := range n {
		s, err := launchNode(bin, filepath.Join(dir, fmt.Sprintf("node-%d", i)))
		if err != nil {
			return nil, err
		}
		c.Servers = append(c.Servers, s)
		c.Addrs = append(c.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range c.Addrs {
		host, port, _ := net.SplitHostPort(a)
		for {
			out, _ := exec.Command(cli, "-h", host, "-p", port, "cluster", "info").Output()
			if strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("redis cluster node %s not ok within 20s:\n%s", a, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	ok = true
	return c, nil
}

// launchNode starts one cluster-enabled redis-server on a port whose bus
// port (port+10000) is free as well.
func launchNode(bin, dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for range 20 {
		port := 20000 + rand.IntN(25000)
		if !free(port) || !free(port+10000) {
			continue
		}
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "5000", "--dir", dir}
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), bin: bin, args: args, cmd: cmd}
		if Ready(s.Addr, 5*time.Second) {
			return s, nil
		}
		s.Stop()
	}
	return nil, errors.New("no cluster node became ready")
}

func free(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// StartCluster launches a 3-master cluster that is stopped when tb
// finishes. Without redis-server or redis-cli it skips, or fails when
// CRM_MCP_REQUIRE_SERVICES=1.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := LaunchCluster(tb.TempDir(), 3)
	if errors.Is(err, ErrNoRedis) || errors.Is(err, ErrNoRedisCLI) {
		if os.Getenv("CRM_MCP_REQUIRE_SERVICES") == "1" {
			tb.Fatalf("%v and CRM_MCP_REQUIRE_SERVICES=1", err)
		}
		tb.Skipf("%v; install redis-server and redis-tools or set CRM_MCP_REQUIRE_SERVICES=1 to make this a failure", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Stop)
	return c
}
