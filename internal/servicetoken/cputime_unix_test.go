//go:build unix

package servicetoken_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user + system). Per
// operation it is far steadier than wall time on a shared machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
