package loadtest

import (
	"context"
	"testing"
	"time"
)

// TestScenariosInProcess runs the two scenarios of record against the
// in-process service (the profiling path), small and bounded.
func TestScenariosInProcess(t *testing.T) {
	ctx := context.Background()
	s, err := ServeApp(ctx, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	}()
	sd := Seed{Customers: 3, Months: 2}
	if full() {
		sd = Seed{Customers: 100, Months: 4}
	}
	runScenarios(t, s, "sqlite (in process)", sd)
}

// runScenarios seeds, settles every seeded fact once, then reads
// balances; every request must succeed.
func runScenarios(t *testing.T, s *Server, storeName string, sd Seed) []Figure {
	t.Helper()
	ctx := context.Background()
	t0 := time.Now()
	f, err := SeedData(ctx, s, sd)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d customers × %d months in %v", sd.Customers, sd.Months, time.Since(t0).Round(time.Millisecond))
	settle := limits(f.Facts())
	settle.Requests = f.Facts()
	var figs []Figure
	for _, c := range []struct {
		sc  Scenario
		lim Limits
	}{{f.Settlements(), settle}, {f.BalanceReads(), limits(100_000)}} {
		fig, err := Measure(ctx, s, storeName, c.sc, c.lim)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(fig.Row())
		if fig.Errors != 0 || fig.Requests != c.lim.Requests {
			t.Errorf("%s: %d of %d requests, %d errors (statuses %v)", c.sc.Name, fig.Requests, c.lim.Requests, fig.Errors, fig.Statuses)
		}
		figs = append(figs, fig)
	}
	return figs
}
