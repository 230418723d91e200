//go:build unix

package ledger_test

import (
	"syscall"
	"time"
)

// processCPU is the user+system CPU time the process has used. Benchmarks
// report CPU per operation next to wall time because the 2-core machine
// they are recorded on is shared with other jobs.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
