// Package redistest starts private redis-server processes for tests that
// need a real Redis (on a free loopback port, no persistence, noeviction),
// so each test can kill its own server without touching anyone else's.
package redistest

import (
	"bufio"
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

	"github.com/crm-mcp/crm-mcp/internal/portpick"
)

// Server is a running redis-server.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	bin  string
	args []string
	mu   sync.Mutex
	cmd  *exec.Cmd // nil while stopped
}

// Stop kills the server (SIGKILL: no shutdown save). It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts a stopped server again on the same port with the same
// settings (an empty dataset: no persistence) and waits until it answers
// PING. A running server is killed first.
func (s *Server) Restart() error {
	s.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, s.args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart redis-server: %w", err)
	}
	s.cmd = cmd
	if !Ready(s.Addr, 10*time.Second) {
		return errors.New("restarted redis-server did not become ready")
	}
	return nil
}

// ErrNoRedis means there is no redis-server binary in PATH.
var ErrNoRedis = errors.New("redis-server not found in PATH")

// Launch starts redis-server on a free loopback port and waits until it
// answers PING. The caller must Stop it.
func Launch() (*Server, error) { return launch(nil) }

// LaunchArgs is Launch with extra redis-server arguments (e.g. --appendonly
// yes --dir DIR, so that a Restart keeps the data).
func LaunchArgs(extra ...string) (*Server, error) { return launch(extra) }

func launch(extra []string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoRedis
	}
	for range 3 {
		// Reserved until the process exits, so that a Restart finds the
		// port still free (see internal/portpick).
		reserved, err := portpick.Reserve()
		if err != nil {
			return nil, err
		}
		port := reserved.N
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"}
		args = append(args, extra...)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			reserved.Release()
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		s := &Server{Addr: reserved.Addr(), bin: bin, args: args, cmd: cmd}
		if Ready(s.Addr, 5*time.Second) {
			return s, nil
		}
		s.Stop()
		reserved.Release()
	}
	return nil, errors.New("redis-server did not become ready")
}

// Start launches a server that is stopped when tb finishes. Without a
// redis-server binary it skips, or fails when CRM_MCP_REQUIRE_SERVICES=1.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := Launch()
	if errors.Is(err, ErrNoRedis) {
		if os.Getenv("CRM_MCP_REQUIRE_SERVICES") == "1" {
			tb.Fatal("redis-server not found in PATH and CRM_MCP_REQUIRE_SERVICES=1")
		}
		tb.Skip("redis-server not found in PATH; install it or set CRM_MCP_REQUIRE_SERVICES=1 to make this a failure")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Ready reports whether a Redis at addr answers PING within the bound.
func Ready(addr string, within time.Duration) bool {
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
