//go:build !unix

package portpick

import "sync"

// Without flock, ports are unique within the process only (still outside
// the ephemeral range).
var (
	heldMu sync.Mutex
	held   = map[int]bool{}
)

// lockPort claims n in this process; unlock gives it back.
func lockPort(n int) (unlock func(), ok bool, err error) {
	heldMu.Lock()
	defer heldMu.Unlock()
	if held[n] {
		return nil, false, nil
	}
	held[n] = true
	return func() {
		heldMu.Lock()
		defer heldMu.Unlock()
		delete(held, n)
	}, true, nil
}
