package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBulkReads: CustomersByID, UsageOf and ModelDigests return what the
// one-customer reads return for each id, leave unknown ids out, and refuse
// an empty or oversized id list.
func TestBulkReads(t *testing.T) {
	for name, open := range openers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			var ids []string
			for i := range 3 {
				id := fmt.Sprintf("c-%d", i)
				ids = append(ids, id)
				if _, err := s.PutCustomer(ctx, Customer{ID: id, Tier: "gold", TimeZone: "UTC", EnrolledAt: jan, Attributes: map[string]string{}}); err != nil {
					t.Fatal(err)
				}
				if i == 2 {
					continue // c-2: no usage, no model
				}
				var rows []UsageReading
				for d := range 5 {
					rows = append(rows, UsageReading{Start: jan.AddDate(0, 0, d), KWh: float64(10*i + d)})
				}
				if err := s.PutUsage(ctx, id, rows); err != nil {
					t.Fatal(err)
				}
				if err := s.PutModel(ctx, Model{Customer: id, Method: "caltrack_daily", Start: jan, End: jan, JSON: []byte(fmt.Sprintf(`{"x":%d}`, i)), FittedAt: jan}); err != nil {
					t.Fatal(err)
				}
			}
			ask := append(ids, "nobody", "c-1") // unknown and repeated ids
			cs, err := s.CustomersByID(ctx, ask)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cs {
				one, err := s.Customer(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(one, c); d != "" {
					t.Errorf("CustomersByID %s differs from Customer (-one +bulk):\n%s", c.ID, d)
				}
				got = append(got, c.ID)
			}
			if d := cmp.Diff(ids, got); d != "" {
				t.Errorf("CustomersByID ids (-want +got):\n%s", d)
			}

			from, to := jan.AddDate(0, 0, 1), jan.AddDate(0, 0, 4)
			usage, err := s.UsageOf(ctx, ask, from, to)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]UsageReading{}
			for _, id := range ids[:2] {
				if want[id], err = s.Usage(ctx, id, from, to); err != nil {
					t.Fatal(err)
				}
			}
			if d := cmp.Diff(want, usage); d != "" {
				t.Errorf("UsageOf (-Usage per customer +bulk):\n%s", d)
			}

			digests, err := s.ModelDigests(ctx, ask)
			if err != nil {
				t.Fatal(err)
			}
			wantDigests := map[string]string{}
			for _, id := range ids[:2] {
				if wantDigests[id], err = s.ModelDigest(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			if d := cmp.Diff(wantDigests, digests); d != "" {
				t.Errorf("ModelDigests (-ModelDigest per customer +bulk):\n%s", d)
			}

			tooMany := make([]string, MaxBulkIDs+1)
			for i := range tooMany {
				tooMany[i] = fmt.Sprintf("x%d", i)
			}
			for _, bad := range [][]string{nil, tooMany} {
				if _, err := s.CustomersByID(ctx, bad); !errors.Is(err, ErrInvalid) {
					t.Errorf("CustomersByID(%d ids): %v, want ErrInvalid", len(bad), err)
				}
				if _, err := s.UsageOf(ctx, bad, from, to); !errors.Is(err, ErrInvalid) {
					t.Errorf("UsageOf(%d ids): %v, want ErrInvalid", len(bad), err)
				}
				if _, err := s.ModelDigests(ctx, bad); !errors.Is(err, ErrInvalid) {
					t.Errorf("ModelDigests(%d ids): %v, want ErrInvalid", len(bad), err)
				}
			}
		})
	}
}
