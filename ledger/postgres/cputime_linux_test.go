//go:build linux

package postgres

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// clientCPU is this process's user+system CPU time (all threads).
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU maps the PIDs of the server backends whose application_name is
// app (freshSchema names each benchmark's connections after its schema) to
// their user+system CPU time, read from /proc/<pid>/stat. It is empty when
// the server runs on another host or its processes are not readable.
func serverCPU(ctx context.Context, pool *pgxpool.Pool, app string) map[int32]time.Duration {
	out := map[int32]time.Duration{}
	rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		return out
	}
	var pids []int32
	for rows.Next() {
		var pid int32
		if rows.Scan(&pid) == nil {
			pids = append(pids, pid)
		}
	}
	rows.Close()
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state is field 3, utime
		// and stime are fields 14 and 15, in clock ticks (proc(5)).
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * (time.Second / clockTicks)
	}
	return out
}

// clockTicks is USER_HZ, 100 on every Linux ABI Go supports.
const clockTicks = 100
