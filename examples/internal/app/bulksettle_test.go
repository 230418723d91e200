package app

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/negawatt/negawatt/examples/internal/store"
)

// seedThree loads the demo and adds customers x1 and x2 (the demo
// building's usage scaled, same weather, own baselines) and x3 (no
// baseline).
func seedThree(t *testing.T) *Service {
	t.Helper()
	s := newSQLiteService(t)
	ctx := context.Background()
	if err := LoadDemo(ctx, s, "../../../testdata"); err != nil {
		t.Fatal(err)
	}
	usage, _, err := ReadNMECR("../../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"x1", "x2", "x3"} {
		if _, _, err := s.PutCustomer(ctx, id, CustomerInput{Tier: "silver", TimeZone: "UTC", EnrolledAt: "2012-03-01", Station: DemoCustomer}); err != nil {
			t.Fatal(err)
		}
		if id == "x3" {
			continue
		}
		scaled := make([]store.UsageReading, len(usage))
		for j, u := range usage {
			// Uses less in the reporting years than the baseline year.
			f := 1.1 + 0.1*float64(i)
			if !u.Start.Before(DemoReportingStart) {
				f *= 0.85
			}
			scaled[j] = store.UsageReading{Start: u.Start, KWh: u.KWh * f}
		}
		if _, err := s.IngestUsage(ctx, id, scaled); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FitBaseline(ctx, id, FitRequest{Method: "daily", End: DemoBaselineEnd.Format(time.RFC3339), Days: 365}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

type settledAward struct{ Customer, Fact, Points string }

func awardsOfResult(r *SettleResult) []settledAward {
	var out []settledAward
	for _, f := range r.Facts {
		if !f.Points.IsZero() {
			out = append(out, settledAward{f.Customer, f.Fact, f.Points.String()})
		}
	}
	return out
}

// TestBulkSettlementMatchesOneByOne: settling several customers in one
// request (bulk reads, one ledger batch, grouped rows) pays exactly what
// settling each alone pays, reports the customer without a baseline as a
// problem, and re-settling pays nothing.
func TestBulkSettlementMatchesOneByOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ids := []string{DemoCustomer, "x1", "x2", "x3"}
	req := SettleRequest{From: DemoReportingStart.Format(time.DateOnly), To: DemoReportingEnd.Format(time.DateOnly)}

	one := seedThree(t)
	var want []settledAward
	for _, id := range ids {
		r := req
		r.Customers = []string{id}
		res, err := one.Settle(ctx, r)
		if id == "x3" {
			if err == nil {
				t.Fatal("settling x3 alone: no error for a customer without a baseline")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, awardsOfResult(res)...)
	}

	bulk := seedThree(t)
	r := req
	r.Customers = ids
	res, err := bulk.Settle(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	got := awardsOfResult(res)
	paidTo := map[string]bool{}
	for _, a := range got {
		paidTo[a.Customer] = true
	}
	if !paidTo["x1"] || !paidTo["x2"] {
		t.Fatalf("the bulk settlement paid %v, want awards for x1 and x2", got)
	}
	// The demo customer's months were settled by LoadDemo in both.
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("awards (-one by one +bulk):\n%s", d)
	}
	if d := cmp.Diff([]string{`x3: customer "x3" has no fitted baseline`}, res.Problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	for _, id := range ids[:3] {
		b1, _ := one.Balance(ctx, id)
		b2, _ := bulk.Balance(ctx, id)
		if !b1.Posted.Equal(b2.Posted) {
			t.Errorf("%s: balance %s one by one, %s in bulk", id, b1.Posted, b2.Posted)
		}
	}
	again, err := bulk.Settle(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if again.Awards != 0 {
		t.Errorf("re-settling paid %d awards", again.Awards)
	}
}

// TestNightlySettlesCustomersTogether: the nightly run settles customers
// with the same window in one Settle and pays what settling each customer
// alone over that window pays; x3 (no baseline) is skipped, and a second
// run pays nothing.
func TestNightlySettlesCustomersTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2015, 3, 2, 3, 0, 0, 0, time.UTC)

	one := seedThree(t)
	var want []settledAward
	for _, id := range []string{DemoCustomer, "x1", "x2"} {
		// The window SettleNightly computes: the baseline's end month
		// to the month containing now.
		res, err := one.Settle(ctx, SettleRequest{Customers: []string{id}, From: "2013-03-01", To: "2015-03-01"})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, awardsOfResult(res)...)
	}

	nightly := seedThree(t)
	res, err := nightly.SettleNightly(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, awardsOfResult(res)); d != "" {
		t.Errorf("nightly awards (-one by one +nightly):\n%s", d)
	}
	if len(res.Problems) != 0 {
		t.Errorf("problems %v", res.Problems)
	}
	again, err := nightly.SettleNightly(ctx, now.AddDate(0, 0, 1))
	if err != nil || again.Awards != 0 {
		t.Errorf("second nightly run: %d awards, %v", again.Awards, err)
	}
}
