package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
)

// These tests exercise the Store directly: the rows the engine hands to
// Apply must come back exactly (times to the nanosecond, amounts, nil vs
// empty maps), and the concurrency primitives must hold. The engine's
// behaviour on top is covered by ledgertest.Run in ledgertest_test.go.

func testStore(t *testing.T) *Store {
	t.Helper()
	pool, _ := testPool(t)
	s, err := NewStore(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// cmpOpts compares decimals by value and times by instant.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
}

func writeTx(t *testing.T, s *Store, f func(ledger.StoreTx) error) error {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func readTx(t *testing.T, s *Store) ledger.StoreTx {
	t.Helper()
	tx, err := s.Begin(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx
}

func TestStoreRoundTrip(t *testing.T) {
	t.Parallel()
	s := testStore(t)
	ctx := context.Background()
	// Instants with nanoseconds and a non-UTC zone: stored exactly.
	at := time.Date(2026, 3, 1, 10, 30, 0, 123456789, time.FixedZone("X", 3600))
	accts := []ledger.AccountState{
		{Account: ledger.Account{ID: "cust/1", Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative, Currency: "points", CreatedAt: at}, Posted: dec("10.50"), Held: dec("2")},
		{Account: ledger.Account{ID: "issuance/p", Kind: ledger.KindIssuance, Currency: "points", CreatedAt: at}, Posted: dec("-10.50"), Held: decimal.Zero},
	}
	var first int64
	txr := ledger.TxRecord{
		Transaction: ledger.Transaction{
			Key: "award-1",
			Postings: []ledger.Posting{
				{From: "issuance/p", To: "cust/1", Amount: dec("10.00"), ExpiresAt: at.Add(time.Hour)},
				{From: "issuance/p", To: "cust/1", Amount: dec("0.50")},
			},
			Metadata:    map[string]string{"rule": "r1", "customer": "1"},
			EffectiveAt: at.Add(-48 * time.Hour),
			PostedAt:    at,
		},
		Hash:     sha256.Sum256([]byte("award-1")),
		Consumed: []ledger.LotUse{{Posting: 1, Lot: ledger.LotID{Seq: 7, Posting: 2}, Amount: dec("0.25")}},
	}
	lot := ledger.Lot{Account: "cust/1", ExpiresAt: at.Add(time.Hour), Amount: dec("10.00"), Remaining: dec("10.00"), Expired: decimal.Zero}
	hold := ledger.HoldRecord{
		Hold: ledger.Hold{
			HoldRequest: ledger.HoldRequest{ID: "h1", Account: "cust/1", To: "redeemed", Amount: dec("2"), Deadline: at.Add(time.Minute)},
			Status:      ledger.HoldOpen, Committed: decimal.Zero, CreatedAt: at,
		},
		Hash:     sha256.Sum256([]byte("h1")),
		Reserved: []ledger.LotUse{{Lot: ledger.LotID{Seq: 1, Posting: 0}, Amount: dec("2")}},
	}
	err := writeTx(t, s, func(tx ledger.StoreTx) error {
		var err error
		if first, err = tx.ReserveSeq(ctx, 1); err != nil {
			return err
		}
		txr.Seq = first
		lot.ID = ledger.LotID{Seq: first, Posting: 0}
		return tx.Apply(ctx, &ledger.Changes{
			NewAccounts: accts, Transactions: []ledger.TxRecord{txr},
			NewLots: []ledger.Lot{lot}, NewHolds: []ledger.HoldRecord{hold},
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	r := readTx(t, s)
	gotA, err := r.LockAccounts(ctx, []string{"cust/1", "issuance/p", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(accts, gotA, cmpOpts); d != "" {
		t.Errorf("accounts (-want +got):\n%s", d)
	}
	gotT, err := r.Transactions(ctx, []string{"award-1", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]ledger.TxRecord{txr}, gotT, cmpOpts); d != "" {
		t.Errorf("transactions (-want +got):\n%s", d)
	}
	if ns := gotT[0].PostedAt.Nanosecond(); ns != 123456789 {
		t.Errorf("PostedAt nanoseconds = %d, want 123456789 (stored exactly)", ns)
	}
	gotL, err := r.OpenLots(ctx, []string{"cust/1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]ledger.Lot{lot}, gotL, cmpOpts); d != "" {
		t.Errorf("lots (-want +got):\n%s", d)
	}
	gotH, err := r.OpenHolds(ctx, "cust/1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]ledger.HoldRecord{hold}, gotH, cmpOpts); d != "" {
		t.Errorf("holds (-want +got):\n%s", d)
	}
	for _, acct := range []string{"cust/1", "issuance/p"} {
		h, err := r.History(ctx, acct, 0, false, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 || h[0].Key != "award-1" {
			t.Errorf("History(%s) = %d records, want award-1 once", acct, len(h))
		}
	}
	cr, db, err := r.SumTagged(ctx, "cust/1", "rule", "r1", at.Add(-72*time.Hour), at)
	if err != nil {
		t.Fatal(err)
	}
	if !cr.Equal(dec("10.5")) || !db.IsZero() {
		t.Errorf("SumTagged(cust/1) = %s, %s; want 10.5, 0", cr, db)
	}
	cr, db, err = r.SumTagged(ctx, "issuance/p", "rule", "r1", at.Add(-48*time.Hour), at)
	if err != nil {
		t.Fatal(err)
	}
	if !cr.IsZero() || !db.Equal(dec("10.5")) {
		t.Errorf("SumTagged(issuance/p) = %s, %s; want 0, 10.5", cr, db)
	}
	// [from, to): the transaction's EffectiveAt is excluded as an upper bound.
	cr, _, err = r.SumTagged(ctx, "cust/1", "rule", "r1", at.Add(-72*time.Hour), at.Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !cr.IsZero() {
		t.Errorf("SumTagged with to = EffectiveAt = %s, want 0", cr)
	}
	exp, err := r.ExpiredLots(ctx, at.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 1 {
		t.Errorf("ExpiredLots at expiry = %d lots, want 1 (expiry ≤ at)", len(exp))
	}
	exp, err = r.ExpiredLots(ctx, at.Add(time.Hour-1), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 0 {
		t.Errorf("ExpiredLots 1ns before expiry = %d lots, want 0", len(exp))
	}
	eh, err := r.ExpiredHolds(ctx, at.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(eh) != 1 {
		t.Errorf("ExpiredHolds at deadline = %d, want 1", len(eh))
	}
}

func TestStoreUpdates(t *testing.T) {
	t.Parallel()
	s := testStore(t)
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	acct := ledger.AccountState{Account: ledger.Account{ID: "a", Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative, Currency: "points"}, Posted: dec("5"), Held: dec("0")}
	var seq int64
	mustApply := func(f func(tx ledger.StoreTx) *ledger.Changes) {
		t.Helper()
		if err := writeTx(t, s, func(tx ledger.StoreTx) error { return tx.Apply(ctx, f(tx)) }); err != nil {
			t.Fatal(err)
		}
	}
	mustApply(func(tx ledger.StoreTx) *ledger.Changes {
		var err error
		if seq, err = tx.ReserveSeq(ctx, 2); err != nil {
			t.Fatal(err)
		}
		return &ledger.Changes{
			NewAccounts: []ledger.AccountState{acct},
			Transactions: []ledger.TxRecord{
				{Transaction: ledger.Transaction{Key: "k1", Seq: seq, Postings: []ledger.Posting{{From: "x", To: "a", Amount: dec("5")}}, EffectiveAt: at, PostedAt: at}},
				{Transaction: ledger.Transaction{Key: "k2", Seq: seq + 1, Postings: []ledger.Posting{{From: "a", To: "x", Amount: dec("1")}}, EffectiveAt: at, PostedAt: at}},
			},
			NewLots: []ledger.Lot{{ID: ledger.LotID{Seq: seq}, Account: "a", Amount: dec("5"), Remaining: dec("5"), Expired: dec("0")}},
			NewHolds: []ledger.HoldRecord{{Hold: ledger.Hold{HoldRequest: ledger.HoldRequest{ID: "h", Account: "a", To: "x", Amount: dec("1"), Deadline: at},
				Status: ledger.HoldOpen, Committed: dec("0")}}},
		}
	})
	mustApply(func(tx ledger.StoreTx) *ledger.Changes {
		return &ledger.Changes{
			Accounts: []ledger.AccountState{{Account: acct.Account, Posted: dec("4"), Held: dec("0")}},
			Reversed: []ledger.Reversal{{Key: "k1", By: "k2"}},
			Lots:     []ledger.Lot{{ID: ledger.LotID{Seq: seq}, Remaining: dec("0"), Expired: dec("1")}},
			Holds: []ledger.HoldRecord{{Hold: ledger.Hold{HoldRequest: ledger.HoldRequest{ID: "h"},
				Status: ledger.HoldCommitted, Committed: dec("1"), CommitKey: "hold/h/commit", ResolvedAt: at}}},
		}
	})
	r := readTx(t, s)
	a, _ := r.LockAccounts(ctx, []string{"a"})
	if len(a) != 1 || !a[0].Posted.Equal(dec("4")) {
		t.Errorf("account after update = %+v, want Posted 4", a)
	}
	txs, _ := r.Transactions(ctx, []string{"k1"})
	if len(txs) != 1 || txs[0].ReversedBy != "k2" {
		t.Errorf("k1 after reversal = %+v, want ReversedBy k2", txs)
	}
	lots, _ := r.Lots(ctx, []ledger.LotID{{Seq: seq}})
	if len(lots) != 1 || !lots[0].Remaining.IsZero() || !lots[0].Expired.Equal(dec("1")) {
		t.Errorf("lot after update = %+v, want Remaining 0, Expired 1", lots)
	}
	if open, _ := r.OpenLots(ctx, []string{"a"}); len(open) != 0 {
		t.Errorf("OpenLots after consuming = %d, want 0", len(open))
	}
	hs, _ := r.Holds(ctx, []string{"h"})
	if len(hs) != 1 || hs[0].Status != ledger.HoldCommitted || hs[0].CommitKey != "hold/h/commit" || !hs[0].ResolvedAt.Equal(at) {
		t.Errorf("hold after update = %+v", hs)
	}
	// History: both directions, cursor semantics of ledger.StoreTx.History.
	asc, _ := r.History(ctx, "a", 0, false, 10)
	desc, _ := r.History(ctx, "a", 0, true, 10)
	after, _ := r.History(ctx, "a", seq, false, 10)
	if keys(asc) != "k1,k2" || keys(desc) != "k2,k1" || keys(after) != "k2" {
		t.Errorf("history asc %q desc %q after first %q; want k1,k2 / k2,k1 / k2", keys(asc), keys(desc), keys(after))
	}
	// An update of a row that does not exist fails rather than vanishing.
	err := writeTx(t, s, func(tx ledger.StoreTx) error {
		return tx.Apply(ctx, &ledger.Changes{Accounts: []ledger.AccountState{{Account: ledger.Account{ID: "ghost"}}}})
	})
	if err == nil {
		t.Error("updating a missing account succeeded")
	}
}

func keys(rs []ledger.TxRecord) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ","
		}
		s += r.Key
	}
	return s
}

func TestStoreDuplicateKeyIsRetry(t *testing.T) {
	t.Parallel()
	s := testStore(t)
	ctx := context.Background()
	insert := func() error {
		return writeTx(t, s, func(tx ledger.StoreTx) error {
			seq, err := tx.ReserveSeq(ctx, 1)
			if err != nil {
				return err
			}
			return tx.Apply(ctx, &ledger.Changes{Transactions: []ledger.TxRecord{{Transaction: ledger.Transaction{
				Key: "dup", Seq: seq, Postings: []ledger.Posting{{From: "x", To: "y", Amount: dec("1")}}}}}})
		})
	}
	if err := insert(); err != nil {
		t.Fatal(err)
	}
	if err := insert(); !errors.Is(err, ledger.ErrRetry) {
		t.Fatalf("second insert of the same key: got %v, want ErrRetry", err)
	}
}

func TestStoreTimeRange(t *testing.T) {
	t.Parallel()
	s := testStore(t)
	ctx := context.Background()
	err := writeTx(t, s, func(tx ledger.StoreTx) error {
		return tx.Apply(ctx, &ledger.Changes{NewAccounts: []ledger.AccountState{{
			Account: ledger.Account{ID: "a", Kind: ledger.KindSystem, Currency: "points",
				CreatedAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}}}})
	})
	if !errors.Is(err, ErrTimeRange) {
		t.Fatalf("year 3000: got %v, want ErrTimeRange", err)
	}
}

// TestReserveSeqConcurrent: reservations from many connections never
// overlap, and each is consecutive, even when their transactions roll back.
func TestReserveSeqConcurrent(t *testing.T) {
	t.Parallel()
	s := testStore(t)
	ctx := context.Background()
	type span struct{ first, n int64 }
	var (
		mu    sync.Mutex
		spans []span
		wg    sync.WaitGroup
	)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				n := 1 + (g*7+i*3)%50
				tx, err := s.Begin(ctx, true)
				if err != nil {
					t.Error(err)
					return
				}
				first, err := tx.ReserveSeq(ctx, n)
				if err != nil {
					t.Error(err)
				}
				if i%2 == 0 {
					err = tx.Commit()
				} else {
					err = tx.Rollback()
				}
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				spans = append(spans, span{first, int64(n)})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sort.Slice(spans, func(i, j int) bool { return spans[i].first < spans[j].first })
	for i := 1; i < len(spans); i++ {
		if prev := spans[i-1]; prev.first+prev.n > spans[i].first {
			t.Fatalf("reservations overlap: [%d,+%d) and [%d,+%d)", prev.first, prev.n, spans[i].first, spans[i].n)
		}
	}
	// An imported Seq above every reservation pushes later ones past it.
	err := writeTx(t, s, func(tx ledger.StoreTx) error {
		return tx.Apply(ctx, &ledger.Changes{Transactions: []ledger.TxRecord{{Transaction: ledger.Transaction{
			Key: "imported", Seq: 1_000_000, Postings: []ledger.Posting{{From: "x", To: "y", Amount: dec("1")}}}}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = writeTx(t, s, func(tx ledger.StoreTx) error {
		first, err := tx.ReserveSeq(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if first <= 1_000_000 {
			t.Errorf("ReserveSeq after importing Seq 1000000 = %d, want > 1000000", first)
		}
		return nil
	})
}

// TestLockAccountsBlocksWriters: a second writer locking the same account
// waits for the first to finish and then sees its committed balance (no
// lost update), which is what stops overdrafts under contention.
func TestLockAccountsBlocksWriters(t *testing.T) {
	t.Parallel()
	s := testStore(t)
	ctx := context.Background()
	acct := ledger.AccountState{Account: ledger.Account{ID: "hot", Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative, Currency: "points"}, Posted: dec("100"), Held: dec("0")}
	if err := writeTx(t, s, func(tx ledger.StoreTx) error {
		return tx.Apply(ctx, &ledger.Changes{NewAccounts: []ledger.AccountState{acct}})
	}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				err := writeTx(t, s, func(tx ledger.StoreTx) error {
					got, err := tx.LockAccounts(ctx, []string{"hot"})
					if err != nil {
						return err
					}
					a := got[0]
					a.Posted = a.Posted.Sub(dec("1"))
					return tx.Apply(ctx, &ledger.Changes{Accounts: []ledger.AccountState{a}})
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := readTx(t, s).LockAccounts(ctx, []string{"hot"})
	if err != nil {
		t.Fatal(err)
	}
	if want := dec("20"); !got[0].Posted.Equal(want) {
		t.Fatalf("after %d read-modify-writes of -1 from 100: Posted = %s, want %s", workers*each, got[0].Posted, want)
	}
}
