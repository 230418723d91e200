package app

import (
	"context"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
)

// TestConcurrentSettlementsPayOnce: many settlements of the same months
// at once (a retried request, a nightly job overlapping an operator) pay
// each award exactly once.
func TestConcurrentSettlementsPayOnce(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *Service{"sqlite": newSQLiteService, "postgres": newPostgresService} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			if err := LoadDemo(ctx, s, "../../../testdata"); err != nil {
				t.Fatal(err)
			}
			want, _ := s.Balance(ctx, DemoCustomer)
			// Restate nothing, but settle the year before too, from 8
			// goroutines at once.
			var wg sync.WaitGroup
			paid := make([]decimal.Decimal, 8)
			errs := make([]error, 8)
			for i := range paid {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := s.Settle(ctx, SettleRequest{Customers: []string{DemoCustomer}, From: "2013-03-01", To: "2015-03-01"})
					if err != nil {
						errs[i] = err
						return
					}
					paid[i] = res.Points
				}()
			}
			wg.Wait()
			total := decimal.Zero
			for i := range paid {
				if errs[i] != nil {
					t.Fatalf("settlement %d: %v", i, errs[i])
				}
				total = total.Add(paid[i])
			}
			got, _ := s.Balance(ctx, DemoCustomer)
			if !got.Posted.Equal(want.Posted.Add(total)) {
				t.Errorf("ledger holds %s, want %s + %s paid", got.Posted, want.Posted, total)
			}
			// Each award was paid once: one settlement of the same window
			// on a fresh service pays the same total.
			fresh := open(t)
			if err := LoadDemo(ctx, fresh, "../../../testdata"); err != nil {
				t.Fatal(err)
			}
			res, err := fresh.Settle(ctx, SettleRequest{Customers: []string{DemoCustomer}, From: "2013-03-01", To: "2015-03-01"})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Points.Equal(total) {
				t.Errorf("concurrent settlements paid %s, a single one %s", total, res.Points)
			}
		})
	}
}
