package baseline

import "syscall"

// cpuNow is the process's user+system CPU time in ns: on a shared,
// loaded machine it measures the work a benchmark does better than wall
// time (reported next to ns/op as cpu-ns/op).
func cpuNow() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
