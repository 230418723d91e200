package postgres

import (
	"context"
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
