package loadtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux architecture Go supports (proc(5)).
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time (user + system) the server has used so
// far: the child's from /proc/<pid>/stat (fields 14 utime and 15 stime,
// proc(5)), or this process's from getrusage when served in process
// (then it includes the load generator). On a machine shared with other
// work, CPU time per request measures the server's cost better than
// wall-clock throughput, which also counts the wait for a core.
func (s *Server) cpuTime() (time.Duration, error) {
	if s.cmd != nil {
		return procCPU(s.cmd.Process.Pid)
	}
	return selfCPU()
}

// selfCPU is this process's CPU time (user + system) so far, from
// getrusage(RUSAGE_SELF): the load generator's when the server runs as a
// child (a child's time is not in RUSAGE_SELF).
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// backendCPU returns the CPU time so far of each PostgreSQL backend
// serving the database at url with this URL's application_name (the
// server under test's connections: FreshSchema gives each run its own
// name), so other clients of a shared server are not counted. It reads
// /proc, so the server must be local.
func backendCPU(ctx context.Context, url string) (map[int]time.Duration, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity
		WHERE application_name = current_setting('application_name') AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, err
	}
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		if d, err := procCPU(int(pid)); err == nil {
			out[int(pid)] = d
		}
	}
	return out, nil
}

// cpuDelta sums after − before per backend; a backend that started in
// between counts in full, one that ended is lost (pools keep theirs).
func cpuDelta(before, after map[int]time.Duration) time.Duration {
	var sum time.Duration
	for pid, d := range after {
		sum += d - before[pid]
	}
	return sum
}

// procCPU reads a process's user + system CPU time from /proc.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after the last ')'. utime is field 14, the 12th after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("loadtest: unexpected /proc stat %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("loadtest: short /proc stat %q", b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("loadtest: /proc stat times %q %q", f[11], f[12])
	}
	return time.Duration(ut+st) * clockTick, nil
}
