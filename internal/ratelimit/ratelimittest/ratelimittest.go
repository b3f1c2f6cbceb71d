// Package ratelimittest helps rate-limit tests restart a redis-server on the
// port a test's earlier server used, so clients that were never restarted
// reconnect to it, and hold a blackholed address for timeout tests.
package ratelimittest

import (
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/state/redis/redistest"
)

// Restart starts redis-server on addr (127.0.0.1:port, freed by a stopped
// redistest server, whose port stays reserved for the process: see
// internal/portpick) and stops it when tb finishes. The test fails if the
// server does not answer within 5 s.
func Restart(tb testing.TB, addr string) {
	tb.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatal("redis-server not found in PATH")
	}
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction")
	if err := cmd.Start(); err != nil {
		tb.Fatalf("restart redis-server: %v", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if !redistest.Ready(addr, 5*time.Second) {
		tb.Fatalf("restarted redis-server on %s did not answer", addr)
	}
}

// Blackhole returns a loopback address that accepts TCP connections and
// never answers, like a Redis behind a dead network path. It closes when
// tb finishes.
func Blackhole(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
