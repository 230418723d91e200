package savings

import (
	"math"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// benchUsage is days of hourly kWh from 2019-05-01 London with a daily
// shape and customer-specific noise.
func benchUsage(b *testing.B, loc *time.Location, customer, days int) *baseline.Usage {
	b.Helper()
	lo := time.Date(2019, 5, 1, 0, 0, 0, 0, loc)
	rs := make([]baseline.Reading, 0, days*24)
	for x := lo; x.Before(lo.AddDate(0, 0, days)); x = x.Add(time.Hour) {
		h := uint64(x.Unix()/3600)*0x9E3779B97F4A7C15 ^ uint64(customer)*0xBF58476D1CE4E5B9
		h ^= h >> 29
		noise := float64(h>>11) / (1 << 53)
		rs = append(rs, baseline.Reading{Start: x, Value: 1 + math.Sin(float64(x.Hour())/24*2*math.Pi) + noise})
	}
	u, err := baseline.NewUsage(rs)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// processCPUNanos is the process's user+system CPU time: on a shared,
// loaded machine it measures a benchmark's work better than wall time.
func processCPUNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func benchMethod() EventMethod {
	m := CBLHigh5of10()
	m.Adjustment = AdjustMultiplicative
	return m
}

// BenchmarkEventSavings: one customer-event, high 5 of 10 with a
// multiplicative adjustment, on a year of hourly usage.
func BenchmarkEventSavings(b *testing.B) {
	loc := mustLoc(b, "Europe/London")
	u := benchUsage(b, loc, 1, 365)
	ev := Event{Location: loc, Start: time.Date(2019, 7, 24, 15, 0, 0, 0, loc), End: time.Date(2019, 7, 24, 19, 0, 0, 0, loc)}
	m := benchMethod()
	excl := WithExcludedDays(LocalDate{2019, 7, 23}, LocalDate{2019, 7, 22})
	b.ReportAllocs()
	cpu0 := processCPUNanos()
	for b.Loop() {
		if _, err := EventSavings(u, ev, m, excl); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPUNanos()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkEventSavings100k: 100,000 customer-events per run (1,000
// customers × 100 events, 120 days of hourly usage each) spread over
// GOMAXPROCS goroutines; reports events/s.
func BenchmarkEventSavings100k(b *testing.B) {
	const customers, eventsPer = 1000, 100
	loc := mustLoc(b, "Europe/London")
	us := make([]*baseline.Usage, customers)
	for c := range us {
		us[c] = benchUsage(b, loc, c, 120)
	}
	evs := make([]Event, eventsPer)
	for i := range evs {
		d := time.Date(2019, 6, 20+i%60, 0, 0, 0, 0, loc) // 50–110 days in: full lookback
		start := time.Date(d.Year(), d.Month(), d.Day(), 13+i%5, 0, 0, 0, loc)
		evs[i] = Event{Location: loc, Start: start, End: start.Add(4 * time.Hour)}
	}
	m := benchMethod()
	workers := runtime.GOMAXPROCS(0)
	b.ReportAllocs()
	cpu0 := processCPUNanos()
	for b.Loop() {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := w; c < customers; c += workers {
					for _, ev := range evs {
						if _, err := EventSavings(us[c], ev, m); err != nil {
							b.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
	}
	events := float64(customers * eventsPer * b.N)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	// What GOMAXPROCS otherwise idle cores would do: events per CPU-second
	// times the worker count.
	b.ReportMetric(events/(float64(processCPUNanos()-cpu0)/1e9)*float64(workers), "events/s-idle")
}
