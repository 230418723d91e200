package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/negawatt/negawatt/examples/internal/store/storetest"
)

// openers lists the implementations every test runs against; the
// PostgreSQL one skips without NEGAWATT_POSTGRES_URL (and fails in CI).
func openers(t *testing.T) map[string]func(t *testing.T) Store {
	m := map[string]func(t *testing.T) Store{
		"sqlite": func(t *testing.T) Store {
			s, err := Open(context.Background(), filepath.Join(t.TempDir(), "app.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	m["postgres"] = func(t *testing.T) Store {
		s, err := OpenPostgres(context.Background(), storetest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return m
}

func TestStore(t *testing.T) {
	for name, open := range openers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

			c := Customer{ID: "c-1", Tier: "gold", TimeZone: "Europe/London", EnrolledAt: jan, Attributes: map[string]string{"region": "north"}}
			created, err := s.PutCustomer(ctx, c)
			if err != nil || !created {
				t.Fatalf("PutCustomer = %v, %v", created, err)
			}
			c.Tier = "silver"
			if created, err = s.PutCustomer(ctx, c); err != nil || created {
				t.Fatalf("PutCustomer again = %v, %v", created, err)
			}
			got, err := s.Customer(ctx, "c-1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, got, cmpIgnoreUpdated); diff != "" {
				t.Errorf("Customer (-want +got):\n%s", diff)
			}
			if _, err := s.Customer(ctx, "1' OR '1'='1"); !errors.Is(err, ErrNotFound) {
				t.Errorf("injection-shaped id: %v, want ErrNotFound", err)
			}

			rows := []UsageReading{{jan, 10}, {jan.AddDate(0, 0, 1), 11}}
			if err := s.PutUsage(ctx, "c-1", rows); err != nil {
				t.Fatal(err)
			}
			// Upsert: same period replaced, new one added.
			if err := s.PutUsage(ctx, "c-1", []UsageReading{{jan.AddDate(0, 0, 1), 12}, {jan.AddDate(0, 0, 2), 13}}); err != nil {
				t.Fatal(err)
			}
			u, err := s.Usage(ctx, "c-1", time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			want := []UsageReading{{jan, 10}, {jan.AddDate(0, 0, 1), 12}, {jan.AddDate(0, 0, 2), 13}}
			if diff := cmp.Diff(want, u); diff != "" {
				t.Errorf("Usage (-want +got):\n%s", diff)
			}
			u, _ = s.Usage(ctx, "c-1", jan.AddDate(0, 0, 1), jan.AddDate(0, 0, 2))
			if diff := cmp.Diff(want[1:2], u); diff != "" {
				t.Errorf("Usage window (-want +got):\n%s", diff)
			}

			if err := s.PutTemperature(ctx, "st", []TempReading{{jan, 40.5}}); err != nil {
				t.Fatal(err)
			}
			temps, _ := s.Temperature(ctx, "st", time.Time{}, time.Time{})
			if diff := cmp.Diff([]TempReading{{jan, 40.5}}, temps); diff != "" {
				t.Errorf("Temperature (-want +got):\n%s", diff)
			}

			if _, err := s.Model(ctx, "c-1"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Model before fit: %v", err)
			}
			m := Model{Customer: "c-1", Method: "caltrack_daily", Start: jan, End: jan.AddDate(1, 0, 0), JSON: []byte(`{"x":1}`), FittedAt: jan}
			if err := s.PutModel(ctx, m); err != nil {
				t.Fatal(err)
			}
			gm, _ := s.Model(ctx, "c-1")
			if diff := cmp.Diff(m, gm); diff != "" {
				t.Errorf("Model (-want +got):\n%s", diff)
			}
			// The digest follows the stored JSON through a re-fit; the
			// wanted values are from sha256sum.
			for _, tc := range []struct{ js, want string }{
				{`{"x":1}`, "5041bf1f713df204784353e82f6a4a535931cb64f1f4b4a5aeaffcb720918b22"},
				{`{"x":2}`, "5e2b030a4a0f1582d78c0fd9924511cd6b1f2df9879e574f5ea1406c94052418"},
			} {
				m.JSON = []byte(tc.js)
				if err := s.PutModel(ctx, m); err != nil {
					t.Fatal(err)
				}
				if got, err := s.ModelDigest(ctx, "c-1"); err != nil || got != tc.want {
					t.Errorf("ModelDigest after storing %s = %q, %v; want %q", tc.js, got, err, tc.want)
				}
			}
			if _, err := s.ModelDigest(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
				t.Errorf("ModelDigest of a customer without a model: %v, want ErrNotFound", err)
			}

			for v := 1; v <= 3; v++ {
				if _, err := s.PutRuleSet(ctx, RuleSet{Version: v, Program: "p", FileName: "r.yaml", Source: []byte{byte('a' + v)}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.PutRuleSet(ctx, RuleSet{Version: 2, Program: "p", Source: []byte("other")}); !errors.Is(err, ErrConflict) {
				t.Errorf("changed version 2: %v, want ErrConflict", err)
			}
			if _, err := s.Rollback(ctx); !errors.Is(err, ErrNotFound) {
				t.Errorf("Rollback with nothing live: %v", err)
			}
			for _, v := range []int{1, 2, 3} {
				if err := s.Promote(ctx, v); err != nil {
					t.Fatal(err)
				}
			}
			back, err := s.Rollback(ctx)
			if err != nil || back.Version != 2 {
				t.Fatalf("Rollback = %d, %v; want 2", back.Version, err)
			}
			back, err = s.Rollback(ctx)
			if err != nil || back.Version != 1 {
				t.Fatalf("second Rollback = %d, %v; want 1", back.Version, err)
			}
			all, _ := s.RuleSets(ctx)
			var statuses []string
			for _, rs := range all {
				statuses = append(statuses, rs.Status)
			}
			if diff := cmp.Diff([]string{StatusLive, StatusRolledBack, StatusRolledBack}, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}

			st := Settlement{Customer: "c-1", FactID: "2024-01", Kind: "period", Start: jan, End: jan.AddDate(0, 1, 0),
				BaselineKWh: 100, ObservedKWh: 90, SavingsKWh: 10, Fact: []byte(`{}`), Version: 1, Points: "100", SettledAt: jan}
			if err := s.PutSettlements(ctx, []Settlement{st}); err != nil {
				t.Fatal(err)
			}
			st.Points = "120"
			if err := s.PutSettlements(ctx, []Settlement{st}); err != nil {
				t.Fatal(err)
			}
			ss, _ := s.Settlements(ctx, "", time.Time{}, time.Time{})
			if diff := cmp.Diff([]Settlement{st}, ss); diff != "" {
				t.Errorf("Settlements (-want +got):\n%s", diff)
			}
			if err := s.Ping(ctx); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestAllOrNothing: a batch with one bad row writes nothing.
func TestAllOrNothing(t *testing.T) {
	for name, open := range openers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			nan := 0.0
			nan /= nan
			err := s.PutUsage(ctx, "c", []UsageReading{{jan, 1}, {jan.AddDate(0, 0, 1), nan}})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("PutUsage with NaN: %v", err)
			}
			if u, _ := s.Usage(ctx, "c", time.Time{}, time.Time{}); len(u) != 0 {
				t.Errorf("a failed batch wrote %d rows", len(u))
			}
		})
	}
}

var cmpIgnoreUpdated = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".UpdatedAt" }, cmp.Ignore())

// TestPutSettlementsMany: one call with more rows than one statement
// takes, a fact named twice (the last row wins, as with one upsert after
// another) and an update of a stored row.
func TestPutSettlementsMany(t *testing.T) {
	for name, open := range openers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			row := func(c int, points string) Settlement {
				return Settlement{Customer: fmt.Sprintf("c-%03d", c), FactID: "2024-01", Kind: "period", Start: jan, End: jan.AddDate(0, 1, 0),
					BaselineKWh: 100, ObservedKWh: 90, SavingsKWh: 10, Fact: []byte(`{}`), Version: 1, Points: points, SettledAt: jan}
			}
			if err := s.PutSettlements(ctx, []Settlement{row(0, "1")}); err != nil {
				t.Fatal(err)
			}
			var in, want []Settlement
			for c := range 450 {
				in = append(in, row(c, "2"))
				want = append(want, row(c, "2"))
			}
			in = append(in, row(7, "3")) // named twice: the last row wins
			want[7] = row(7, "3")
			if err := s.PutSettlements(ctx, in); err != nil {
				t.Fatal(err)
			}
			got, err := s.Settlements(ctx, "", time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			sort.Slice(got, func(i, j int) bool { return got[i].Customer < got[j].Customer })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Settlements (-want +got):\n%s", diff)
			}
		})
	}
}
