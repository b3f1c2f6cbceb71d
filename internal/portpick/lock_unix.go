//go:build unix

package portpick

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockPort takes the port's file lock without waiting; unlock releases
// it. ok is false when another holder has it, in this process or another:
// flock locks belong to the open file description.
func lockPort(n int) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(filepath.Join(lockDir(), strconv.Itoa(n)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, false, fmt.Errorf("portpick: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("portpick: lock: %w", err)
	}
	return func() { _ = f.Close() }, true, nil // closing the descriptor drops the flock
}
