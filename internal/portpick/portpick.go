// Package portpick hands out loopback TCP ports for servers that run in
// child processes (nginx, redis-server, postgres, crm-mcp replicas) and
// must be told their port before they bind it.
//
// The usual trick, bind 127.0.0.1:0 and close, races: until the child
// binds, the kernel may give the same port to any bind(0) or outgoing
// connect on the machine, and `go test ./...` runs many packages at once
// that do both. CI lost runs to it ("bind: address already in use").
// So ports come from below the kernel's ephemeral range, where it never
// assigns ports by itself, and each is reserved with an exclusive flock
// on a per-port file that every process using this package respects.
// The lock lasts until Release or the process's exit (even a crash), so a
// server can be killed and restarted on its port without losing it.
package portpick

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Port is a reserved port number.
type Port struct {
	N      int
	unlock func()
	once   sync.Once
}

// Addr is "127.0.0.1:N".
func (p *Port) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.N)) }

// Release gives the port back. It is idempotent.
func (p *Port) Release() { p.once.Do(p.unlock) }

// Bounds of the range ports are drawn from: above the well-known and
// most registered service ports, below the ephemeral range.
const (
	rangeLow            = 20000
	defaultEphemeralLow = 32768
	minRange            = 1000
	tries               = 2000
)

// lockDir holds one lock file per port. Files are never removed: removing
// a lock file another process is about to lock breaks the lock.
func lockDir() string { return filepath.Join(os.TempDir(), "crm-mcp-ports") }

// Reserve returns a loopback port that is free now, is outside the
// kernel's ephemeral range, and that no other holder (this process or
// another using this package) has. Call Release when done, or let the
// process's exit release it.
func Reserve() (*Port, error) {
	lo, hi := rangeLow, ephemeralLow()
	if hi-lo < minRange {
		return nil, fmt.Errorf("portpick: ephemeral range starts at %d, leaving fewer than %d ports above %d", hi, minRange, lo)
	}
	if err := os.MkdirAll(lockDir(), 0o777); err != nil {
		return nil, fmt.Errorf("portpick: %w", err)
	}
	for range tries {
		n := lo + rand.IntN(hi-lo)
		unlock, ok, err := lockPort(n)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		// Something outside this package (a service) may listen there.
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(n)))
		if err != nil {
			unlock()
			continue
		}
		_ = ln.Close()
		return &Port{N: n, unlock: unlock}, nil
	}
	return nil, errors.New("portpick: no free port found")
}

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeralLow
	}
	f := strings.Fields(string(raw))
	if len(f) < 1 {
		return defaultEphemeralLow
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return defaultEphemeralLow
	}
	return n
}

// TB is the part of testing.TB that Test uses (so that this package does
// not import testing into the crm-mcp binary, which uses it for "bench").
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// Test reserves a port for the rest of tb, failing tb if none is free.
func Test(tb TB) *Port {
	tb.Helper()
	p, err := Reserve()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Release)
	return p
}
