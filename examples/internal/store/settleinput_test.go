package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSettlementInput: SettlementInput returns what Customer, ModelDigest
// and Usage return one by one (PostgreSQL reads them in one statement),
// for a customer with a model and usage, one with neither, a window with
// no readings, open bounds, and ErrNotFound for an unknown customer.
func TestSettlementInput(t *testing.T) {
	for name, open := range openers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			for _, c := range []Customer{
				{ID: "full", Name: "Full", Tier: "gold", TimeZone: "Europe/London", EnrolledAt: jan, Station: "wx-1", Attributes: map[string]string{"region": "north"}},
				{ID: "bare", Tier: "silver", TimeZone: "UTC", EnrolledAt: jan, Attributes: map[string]string{}},
			} {
				if _, err := s.PutCustomer(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			var rows []UsageReading
			for d := range 40 {
				rows = append(rows, UsageReading{Start: jan.AddDate(0, 0, d).Add(time.Microsecond), KWh: 10.25 + float64(d)/8})
			}
			if err := s.PutUsage(ctx, "full", rows); err != nil {
				t.Fatal(err)
			}
			if err := s.PutModel(ctx, Model{Customer: "full", Method: "caltrack_daily", Start: jan, End: jan, JSON: []byte(`{"m":1}`), FittedAt: jan}); err != nil {
				t.Fatal(err)
			}
			windows := []struct{ from, to time.Time }{
				{jan.AddDate(0, 0, 3), jan.AddDate(0, 0, 30)},
				{jan.AddDate(0, 0, 3).Add(time.Microsecond), jan.AddDate(0, 0, 30).Add(time.Microsecond)}, // bounds: from ≤ start < to
				{jan.AddDate(1, 0, 0), jan.AddDate(1, 1, 0)},                                              // no readings
				{time.Time{}, time.Time{}},                                                                // open bounds
			}
			for _, id := range []string{"full", "bare"} {
				for _, w := range windows {
					got, err := s.SettlementInput(ctx, id, w.from, w.to)
					if err != nil {
						t.Fatalf("SettlementInput(%s, %v, %v): %v", id, w.from, w.to, err)
					}
					var want SettlementInput
					if want.Customer, err = s.Customer(ctx, id); err != nil {
						t.Fatal(err)
					}
					want.ModelDigest, err = s.ModelDigest(ctx, id)
					want.HasModel = err == nil
					if err != nil && !errors.Is(err, ErrNotFound) {
						t.Fatal(err)
					}
					if want.Usage, err = s.Usage(ctx, id, w.from, w.to); err != nil {
						t.Fatal(err)
					}
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("SettlementInput(%s, %v, %v) (-one by one +combined):\n%s", id, w.from, w.to, d)
					}
				}
			}
			full, err := s.SettlementInput(ctx, "full", jan.AddDate(0, 0, 3), jan.AddDate(0, 0, 30))
			if err != nil {
				t.Fatal(err)
			}
			// Independent of the one-by-one reads: days 3..29 stored at
			// +1 µs, the digest of the JSON stored.
			if len(full.Usage) != 27 || !full.Usage[0].Start.Equal(jan.AddDate(0, 0, 3).Add(time.Microsecond)) || full.Usage[0].KWh != 10.25+3.0/8 {
				t.Errorf("usage: %d readings, first %+v; want 27 from day 3", len(full.Usage), full.Usage[:min(1, len(full.Usage))])
			}
			if !full.HasModel || full.ModelDigest != ModelDigestOf([]byte(`{"m":1}`)) {
				t.Errorf("model: %v %q, want the digest of the stored JSON", full.HasModel, full.ModelDigest)
			}
			// A model stored before digests were recorded has digest "":
			// still a model.
			d := s.(*db)
			if _, err := d.sql.ExecContext(ctx, d.q("UPDATE app_models SET model_sha256 = '' WHERE customer = ?"), "full"); err != nil {
				t.Fatal(err)
			}
			if old, err := s.SettlementInput(ctx, "full", jan, jan.AddDate(0, 1, 0)); err != nil || !old.HasModel || old.ModelDigest != "" {
				t.Errorf("pre-digest model: %v %q %v, want a model with digest \"\"", old.HasModel, old.ModelDigest, err)
			}
			if _, err := s.SettlementInput(ctx, "nobody", jan, jan.AddDate(0, 1, 0)); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown customer: err = %v, want ErrNotFound", err)
			}
			if _, err := s.SettlementInput(ctx, "x' OR '1'='1", jan, jan.AddDate(0, 1, 0)); !errors.Is(err, ErrNotFound) {
				t.Errorf("injection-shaped id: err = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestSettlementInputConcurrent: reads from many goroutines at once
// (PostgreSQL sends them in groups, one round trip per group) each get
// their own customer's and window's answer, unknown customers
// ErrNotFound, and a read with a cancelled context its context's error.
func TestSettlementInputConcurrent(t *testing.T) {
	for name, open := range openers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			ids := []string{"c-0", "c-1", "c-2", "c-3", "c-4", "nobody"}
			for i, id := range ids[:5] {
				if _, err := s.PutCustomer(ctx, Customer{ID: id, Tier: fmt.Sprint("tier-", i), TimeZone: "UTC", EnrolledAt: jan, Attributes: map[string]string{}}); err != nil {
					t.Fatal(err)
				}
				var rows []UsageReading
				for d := range 10 * i {
					rows = append(rows, UsageReading{Start: jan.AddDate(0, 0, d), KWh: float64(100*i + d)})
				}
				if err := s.PutUsage(ctx, id, rows); err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					if err := s.PutModel(ctx, Model{Customer: id, Method: "caltrack_daily", Start: jan, End: jan, JSON: []byte(fmt.Sprintf(`{"c":%d}`, i)), FittedAt: jan}); err != nil {
						t.Fatal(err)
					}
				}
			}
			type ask struct {
				id     string
				from   time.Time
				to     time.Time
				want   SettlementInput
				wantNF bool
			}
			var asks []ask
			for k := range 60 {
				a := ask{id: ids[k%len(ids)], from: jan.AddDate(0, 0, k%7), to: jan.AddDate(0, 0, 5+k%30)}
				in, err := s.(*db).settlementInput(ctx, a.id, a.from, a.to) // the three reads
				switch {
				case errors.Is(err, ErrNotFound):
					a.wantNF = true
				case err != nil:
					t.Fatal(err)
				}
				a.want = in
				asks = append(asks, a)
			}
			var wg sync.WaitGroup
			errs := make(chan string, len(asks)+1)
			for _, a := range asks {
				wg.Go(func() {
					got, err := s.SettlementInput(ctx, a.id, a.from, a.to)
					switch {
					case a.wantNF:
						if !errors.Is(err, ErrNotFound) {
							errs <- fmt.Sprintf("SettlementInput(%s) = %v, want ErrNotFound", a.id, err)
						}
					case err != nil:
						errs <- fmt.Sprintf("SettlementInput(%s): %v", a.id, err)
					default:
						if d := cmp.Diff(a.want, got); d != "" {
							errs <- fmt.Sprintf("SettlementInput(%s, %v, %v) (-three reads +combined):\n%s", a.id, a.from, a.to, d)
						}
					}
				})
			}
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			wg.Go(func() {
				if _, err := s.SettlementInput(cancelled, "c-1", jan, jan.AddDate(0, 1, 0)); !errors.Is(err, context.Canceled) {
					errs <- fmt.Sprintf("cancelled context: err = %v, want context.Canceled", err)
				}
			})
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}
