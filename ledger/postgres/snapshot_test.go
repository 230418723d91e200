package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
)

// TestAccountSnapshotHolds checks that the one-statement snapshot, which
// learns of open holds from accounts.held, returns exactly the open holds
// as they come and go, and the open lots with them.
func TestAccountSnapshotHolds(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, migratedSchema(t))
	customer(t, l, "cust/snap")
	exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Microsecond)
	if _, err := l.Post(ctx, ledger.Transaction{Key: "award", Postings: []ledger.Posting{
		{From: issuance, To: "cust/snap", Amount: decimal.New(10, 0), ExpiresAt: exp}}}); err != nil {
		t.Fatal(err)
	}
	s := l.Store().(*Store)
	snap := func() (held decimal.Decimal, holdIDs []string, lotRemaining []string) {
		t.Helper()
		a, holds, lots, found, err := s.AccountSnapshot(ctx, "cust/snap")
		if err != nil || !found {
			t.Fatalf("AccountSnapshot: found %v, err %v", found, err)
		}
		for _, h := range holds {
			holdIDs = append(holdIDs, h.ID)
		}
		for _, l := range lots {
			lotRemaining = append(lotRemaining, l.Remaining.String())
		}
		return a.Held, holdIDs, lotRemaining
	}
	check := func(step string, wantHeld string, wantHolds, wantLots []string) {
		t.Helper()
		held, holds, lots := snap()
		if held.String() != wantHeld {
			t.Errorf("%s: held %s, want %s", step, held, wantHeld)
		}
		if diff := cmp.Diff(wantHolds, holds); diff != "" {
			t.Errorf("%s: open holds (-want +got):\n%s", step, diff)
		}
		if diff := cmp.Diff(wantLots, lots); diff != "" {
			t.Errorf("%s: open lots' remaining (-want +got):\n%s", step, diff)
		}
	}
	check("no hold", "0", nil, []string{"10"})
	for _, id := range []string{"h1", "h2"} {
		if _, err := l.Hold(ctx, ledger.HoldRequest{ID: id, Account: "cust/snap", To: redeemed, Amount: decimal.New(3, 0),
			Deadline: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// A customer account reserves lots for its holds (their remaining
	// drops); the snapshot reads the holds in its second round trip.
	_, holds, _ := snap()
	if len(holds) != 2 {
		t.Fatalf("two open holds: snapshot has %v", holds)
	}
	if _, err := l.VoidHold(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, ids, _ := snap(); len(ids) != 1 || ids[0] != "h2" {
		t.Errorf("after voiding h1: open holds %v, want [h2]", ids)
	}
	if _, err := l.CommitHold(ctx, "h2", decimal.New(3, 0)); err != nil {
		t.Fatal(err)
	}
	check("all resolved", "0", nil, []string{"7"})
	if b, err := l.Balance(ctx, "cust/snap", time.Time{}); err != nil || !b.Available.Equal(decimal.New(7, 0)) || !b.Held.IsZero() {
		t.Errorf("balance %+v, err %v: want 7 available, none held", b, err)
	}
}

// TestConcurrentSnapshots: snapshots from many goroutines at once (which
// the Store reads in groups, one statement per group) each get exactly
// what a lone snapshot of the same account gets — several callers asking
// for one account, accounts with open lots, with an open hold (the second
// round trip), with nothing, and unknown accounts; a caller whose context
// is already cancelled fails with the context's error and leaves the
// others' answers intact.
func TestConcurrentSnapshots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLedger(t, migratedSchema(t))
	s := l.Store().(*Store)
	ids := []string{"cust/a", "cust/b", "cust/c", "cust/held", "cust/empty"}
	for _, id := range ids {
		customer(t, l, id)
	}
	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Microsecond)
	for i, id := range ids[:4] {
		for k := range i + 1 {
			if _, err := l.Post(ctx, ledger.Transaction{Key: fmt.Sprintf("award/%s/%d", id, k), Postings: []ledger.Posting{
				{From: issuance, To: id, Amount: decimal.New(int64(10*(k+1)), 0), ExpiresAt: exp.Add(time.Duration(k) * time.Hour)}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := l.Hold(ctx, ledger.HoldRequest{ID: "h", Account: "cust/held", To: redeemed, Amount: decimal.New(5, 0),
		Deadline: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	type snap struct {
		A     ledger.AccountState
		Holds []ledger.HoldRecord
		Lots  []ledger.Lot
		Found bool
	}
	all := append(ids, issuance, "cust/unknown", "it's; DROP TABLE accounts")
	want := map[string]snap{}
	for _, id := range all {
		a, h, lots, found, err := s.AccountSnapshot(ctx, id)
		if err != nil {
			t.Fatalf("lone AccountSnapshot(%q): %v", id, err)
		}
		want[id] = snap{a, h, lots, found}
	}
	if !want["cust/held"].Found || len(want["cust/held"].Holds) != 1 || len(want["cust/c"].Lots) != 3 || want["cust/unknown"].Found {
		t.Fatalf("lone snapshots are not what the set-up made: %+v", want)
	}
	decEqual := cmp.Comparer(func(x, y decimal.Decimal) bool { return x.Equal(y) })
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 150 {
			id := all[(i*7+round)%len(all)]
			wg.Go(func() {
				a, h, lots, found, err := s.AccountSnapshot(ctx, id)
				if err != nil {
					errs <- fmt.Errorf("AccountSnapshot(%q): %v", id, err)
					return
				}
				if d := cmp.Diff(want[id], snap{a, h, lots, found}, decEqual); d != "" {
					errs <- fmt.Errorf("AccountSnapshot(%q) (-lone +grouped):\n%s", id, d)
				}
				for k := range lots {
					// A caller owns its lots: were they shared with another
					// caller of the same group, -race or its comparison
					// would see this write.
					lots[k].Remaining = decimal.New(-1, 0)
				}
			})
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		wg.Go(func() {
			if _, _, _, _, err := s.AccountSnapshot(cancelled, "cust/a"); !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("AccountSnapshot with a cancelled context = %v, want context.Canceled", err)
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}
