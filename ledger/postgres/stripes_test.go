package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
)

// Accounts without FlagNoNegative (issuance, redeemed, expired) are not
// locked by LockAccounts; their totals are striped (migration 0003). These
// tests check that concurrent writers on one such account neither wait for
// each other nor lose an update, and that the states a lock used to protect
// (hold still open, transaction not yet reversed) are re-checked instead.

// TestParallelAwardsFromOneIssuance: many goroutines award to distinct
// customers from one issuance account at once. Every award lands exactly
// once and the issuance total is exactly minus their sum.
func TestParallelAwardsFromOneIssuance(t *testing.T) {
	t.Parallel()
	_, url := testPool(t)
	l := openLedger(t, url)
	ctx := context.Background()
	const workers, each = 16, 10
	for w := range workers {
		customer(t, l, fmt.Sprintf("cust/%d", w))
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// Amounts differ per award, so a lost or doubled update
				// cannot cancel out in the totals.
				amt := decimal.New(int64(100*w+i+1), -2)
				_, err := l.Post(ctx, ledger.Transaction{Key: fmt.Sprintf("award/%d/%d", w, i),
					Postings: []ledger.Posting{{From: issuance, To: fmt.Sprintf("cust/%d", w), Amount: amt}}})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	total := decimal.Zero
	for w := range workers {
		want := decimal.Zero
		for i := range each {
			want = want.Add(decimal.New(int64(100*w+i+1), -2))
		}
		total = total.Add(want)
		checkAvailable(t, l, fmt.Sprintf("cust/%d", w), want.String())
	}
	checkAvailable(t, l, issuance, total.Neg().String())
	ledgertest.CheckInvariants(t, l)

	// Successive write transactions take successive stripes, so the
	// issuance total is spread over several rows (16 > stripes writers
	// serially would already use them all).
	var rows int
	if err := l.Store().(*Store).pool.QueryRow(ctx,
		`SELECT count(*) FROM account_stripes WHERE account = $1`, issuance).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows < 2 {
		t.Errorf("issuance total kept in %d stripe rows, want several", rows)
	}
}

// TestAwardNotBlockedByOpenAward: while one storage transaction has written
// an award from the issuance account and not yet committed, another award
// from the same issuance account commits. With SELECT ... FOR UPDATE on
// the issuance row the second would wait for the first to finish.
func TestAwardNotBlockedByOpenAward(t *testing.T) {
	t.Parallel()
	pool, url := testPool(t)
	l := openLedger(t, url)
	customer(t, l, "cust/a")
	customer(t, l, "cust/b")
	s, err := NewStore(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	open, err := s.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Rollback()
	got, err := open.LockAccounts(ctx, []string{"cust/a", issuance})
	if err != nil || len(got) != 2 {
		t.Fatalf("LockAccounts = %v, %v", got, err)
	}
	for i := range got {
		if got[i].ID == issuance {
			got[i].Posted = got[i].Posted.Sub(dec("7"))
		} else {
			got[i].Posted = got[i].Posted.Add(dec("7"))
		}
	}
	if err := open.Apply(ctx, &ledger.Changes{Accounts: got}); err != nil {
		t.Fatal(err)
	}

	// Generous bound: it only turns a regression (waiting for the open
	// transaction forever) into a failure instead of a hung test.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := l.Post(wctx, ledger.Transaction{Key: "b",
		Postings: []ledger.Posting{{From: issuance, To: "cust/b", Amount: dec("2")}}}); err != nil {
		t.Fatalf("award while another award on the issuance account is open: %v", err)
	}
	checkAvailable(t, l, issuance, "-2")
	if err := open.Commit(); err != nil {
		t.Fatal(err)
	}
	checkAvailable(t, l, issuance, "-9")
	checkAvailable(t, l, "cust/a", "7")
	checkAvailable(t, l, "cust/b", "2")
}

// TestGuardedUpdatesRetry: a writer that read a hold open (or a
// transaction unreversed) and lost the race to another writer gets
// ErrRetry from Apply, so the engine re-runs it against the new state.
func TestGuardedUpdatesRetry(t *testing.T) {
	t.Parallel()
	s := testStore(t)
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sys := ledger.AccountState{Account: ledger.Account{ID: "sys", Kind: ledger.KindIssuance, Currency: "points"}, Posted: dec("0"), Held: dec("1")}
	if err := writeTx(t, s, func(tx ledger.StoreTx) error {
		seq, err := tx.ReserveSeq(ctx, 1)
		if err != nil {
			return err
		}
		return tx.Apply(ctx, &ledger.Changes{
			NewAccounts: []ledger.AccountState{sys},
			Transactions: []ledger.TxRecord{{Transaction: ledger.Transaction{Key: "t", Seq: seq,
				Postings: []ledger.Posting{{From: "sys", To: "x", Amount: dec("1")}}, EffectiveAt: at, PostedAt: at}}},
			NewHolds: []ledger.HoldRecord{{Hold: ledger.Hold{HoldRequest: ledger.HoldRequest{ID: "h", Account: "sys", To: "x",
				Amount: dec("1"), Deadline: at}, Status: ledger.HoldOpen, Committed: dec("0")}}},
		})
	}); err != nil {
		t.Fatal(err)
	}
	resolve := func(by string) *ledger.Changes {
		return &ledger.Changes{
			Reversed: []ledger.Reversal{{Key: "t", By: by}},
			Holds: []ledger.HoldRecord{{Hold: ledger.Hold{HoldRequest: ledger.HoldRequest{ID: "h"},
				Status: ledger.HoldVoided, Committed: dec("0"), ResolvedAt: at}}},
		}
	}
	// The loser began (and, without account locks, read) before the
	// winner committed.
	loser, err := s.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer loser.Rollback()
	if _, err := loser.Holds(ctx, []string{"h"}); err != nil {
		t.Fatal(err)
	}
	if err := writeTx(t, s, func(tx ledger.StoreTx) error { return tx.Apply(ctx, resolve("winner")) }); err != nil {
		t.Fatal(err)
	}
	if err := loser.Apply(ctx, resolve("loser")); !errors.Is(err, ledger.ErrRetry) {
		t.Fatalf("Apply resolving a hold another writer resolved: %v, want ErrRetry", err)
	}
	got, err := readTx(t, s).Transactions(ctx, []string{"t"})
	if err != nil || len(got) != 1 || got[0].ReversedBy != "winner" {
		t.Fatalf("t = %+v, %v; want ReversedBy winner", got, err)
	}
}

// TestConcurrentResolutionsOnSystemAccount: holds on, and reversals of
// transactions between, accounts that are not locked are still resolved
// exactly once when many goroutines race for them.
func TestConcurrentResolutionsOnSystemAccount(t *testing.T) {
	t.Parallel()
	_, url := testPool(t)
	l := openLedger(t, url)
	ctx := context.Background()
	if _, err := l.Post(ctx, ledger.Transaction{Key: "t",
		Postings: []ledger.Posting{{From: issuance, To: redeemed, Amount: dec("5")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Hold(ctx, ledger.HoldRequest{ID: "h", Account: issuance, To: redeemed, Amount: dec("3"),
		Deadline: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, 2*racers)
	for i := range racers {
		wg.Go(func() { _, errs[i] = l.Reverse(ctx, fmt.Sprintf("rev/%d", i), "t") })
		wg.Go(func() {
			if i%2 == 0 {
				_, errs[racers+i] = l.CommitHold(ctx, "h", dec("1"))
			} else {
				_, errs[racers+i] = l.VoidHold(ctx, "h")
			}
		})
	}
	wg.Wait()
	reversed := 0
	for _, err := range errs[:racers] {
		switch {
		case err == nil:
			reversed++
		case !errors.Is(err, ledger.ErrAlreadyReversed):
			t.Errorf("Reverse: %v", err)
		}
	}
	if reversed != 1 {
		t.Errorf("%d of %d concurrent reversals of one transaction succeeded, want 1", reversed, racers)
	}
	h, err := l.GetHold(ctx, "h")
	if err != nil {
		t.Fatal(err)
	}
	// A repeated commit of the same amount or void of a voided hold is an
	// idempotent success; anything else is ErrHoldResolved.
	for _, err := range errs[racers:] {
		if err != nil && !errors.Is(err, ledger.ErrHoldResolved) {
			t.Errorf("resolving the hold: %v", err)
		}
	}
	wantRedeemed := "0" // reversed: 5 back to issuance
	if h.Status == ledger.HoldCommitted {
		wantRedeemed = "1"
	}
	checkAvailable(t, l, redeemed, wantRedeemed)
	ledgertest.CheckInvariants(t, l)
}
