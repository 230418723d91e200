package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
	"github.com/shopspring/decimal"
)

func TestMemoryConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T, opts ...ledger.Option) ledger.Ledger {
		l, err := ledger.NewMemory(opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}, ledgertest.WithChecks(100))
}

// hideOptional wraps a Store so its transactions expose only the StoreTx
// methods, to run the suite over the engine's fallbacks for optional store
// capabilities (ResolvedHoldLister).
type hideOptional struct{ ledger.Store }

func (h hideOptional) Begin(ctx context.Context, write bool) (ledger.StoreTx, error) {
	tx, err := h.Store.Begin(ctx, write)
	if err != nil {
		return nil, err
	}
	return struct{ ledger.StoreTx }{tx}, nil
}

func TestMemoryConformanceWithoutOptionalStoreMethods(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T, opts ...ledger.Option) ledger.Ledger {
		l, err := ledger.New(hideOptional{ledger.NewMemoryStore()}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}, ledgertest.WithChecks(10))
}

// TestMemoryStoreSeqAfterImport: records applied with their own Seq (an
// import) push later reservations past them, as the Store contract asks.
func TestMemoryStoreSeqAfterImport(t *testing.T) {
	ctx := context.Background()
	s := ledger.NewMemoryStore()
	tx, err := s.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	acct := func(id string, k ledger.AccountKind) ledger.AccountState {
		return ledger.AccountState{Account: ledger.Account{ID: id, Kind: k, Currency: "points"}}
	}
	err = tx.Apply(ctx, &ledger.Changes{
		NewAccounts: []ledger.AccountState{acct("a", ledger.KindSystem), acct("b", ledger.KindSystem)},
		Transactions: []ledger.TxRecord{{Transaction: ledger.Transaction{Key: "imported", Seq: 500,
			Postings: []ledger.Posting{{From: "a", To: "b", Amount: decimal.NewFromInt(1)}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, err = s.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	first, err := tx.ReserveSeq(ctx, 3)
	if err != nil || first <= 500 {
		t.Errorf("ReserveSeq after importing Seq 500 = %d, %v; want > 500", first, err)
	}
}

// TestMemoryHugeAmounts: amounts beyond int64 coefficients take the
// decimal fallbacks (engine running totals, stored postings and lots) and
// come back exactly, next to ordinary ones.
func TestMemoryHugeAmounts(t *testing.T) {
	ctx := context.Background()
	l, err := ledger.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []ledger.Account{{ID: "issuance", Kind: ledger.KindIssuance}, {ID: "c1", Kind: ledger.KindCustomer}, {ID: "redeemed", Kind: ledger.KindRedeemed}} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	huge := decimal.RequireFromString("123456789012345678901234.5")
	small := decimal.RequireFromString("0.25")
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	txs := []ledger.Transaction{
		{Key: "huge", Metadata: map[string]string{"rule": "r"}, Postings: []ledger.Posting{{From: "issuance", To: "c1", Amount: huge, ExpiresAt: exp}}},
		{Key: "small", Metadata: map[string]string{"rule": "r"}, Postings: []ledger.Posting{{From: "issuance", To: "c1", Amount: small}}},
	}
	if _, err := l.PostBatch(ctx, txs); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Post(ctx, ledger.Transaction{Key: "spend", Postings: []ledger.Posting{{From: "c1", To: "redeemed", Amount: decimal.RequireFromString("100000000000000000000000")}}}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Lookup(ctx, "huge")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(txs[0].Postings, got.Postings); diff != "" {
		t.Errorf("Lookup(huge) postings (-posted +stored):\n%s", diff)
	}
	bal, err := l.Balance(ctx, "c1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := huge.Add(small).Sub(decimal.RequireFromString("100000000000000000000000"))
	if !bal.Posted.Equal(want) || !bal.Available.Equal(want) {
		t.Errorf("c1 posted %s, available %s; want %s", bal.Posted, bal.Available, want)
	}
	if pending := huge.Sub(decimal.RequireFromString("100000000000000000000000")); !bal.PendingExpiry.Equal(pending) {
		t.Errorf("c1 pending expiry %s, want %s (the spend took the expiring lot first)", bal.PendingExpiry, pending)
	}
	sum, err := l.AwardedSum(ctx, ledger.AwardQuery{Account: "c1", TagKey: "rule", TagValue: "r", From: time.Unix(0, 0), To: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Equal(huge.Add(small)) {
		t.Errorf("AwardedSum = %s, want %s", sum, huge.Add(small))
	}
}

// TestMemoryPostedUnitsAcrossEngines: the in-memory store keeps posted
// totals as integers when its engine hands them over that way, and as
// decimals otherwise. Engines over one store that see it each way, or with
// another scale for the currency, must all read and extend the same totals.
func TestMemoryPostedUnitsAcrossEngines(t *testing.T) {
	ctx := context.Background()
	store := ledger.NewMemoryStore()
	fast, err := ledger.New(store) // accountLocker: totals kept in units
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ledger.New(hideOptional{store}) // decimals only
	if err != nil {
		t.Fatal(err)
	}
	fine, err := ledger.New(store, ledger.WithCurrency(ledger.Currency{Code: "points", Scale: 4}))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"issuance", "c1"} {
		kind := ledger.KindIssuance
		if id == "c1" {
			kind = ledger.KindCustomer
		}
		if _, err := fast.CreateAccount(ctx, ledger.Account{ID: id, Kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	award := func(l ledger.Ledger, key, amount string) {
		t.Helper()
		_, err := l.Post(ctx, ledger.Transaction{Key: key, Postings: []ledger.Posting{
			{From: "issuance", To: "c1", Amount: decimal.RequireFromString(amount)}}})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	check := func(step string, want string) {
		t.Helper()
		for name, l := range map[string]ledger.Ledger{"fast": fast, "plain": plain, "fine": fine} {
			b, err := l.Balance(ctx, "c1", time.Time{})
			if err != nil {
				t.Fatalf("%s: %s: %v", step, name, err)
			}
			if !b.Posted.Equal(decimal.RequireFromString(want)) {
				t.Errorf("%s: %s reads Posted %s, want %s", step, name, b.Posted, want)
			}
			i, err := l.Balance(ctx, "issuance", time.Time{})
			if err != nil {
				t.Fatalf("%s: %s: %v", step, name, err)
			}
			if !i.Posted.Neg().Equal(decimal.RequireFromString(want)) {
				t.Errorf("%s: %s reads issuance Posted %s, want -%s", step, name, i.Posted, want)
			}
		}
	}
	award(fast, "a1", "1.25") // stored in units of 0.01
	check("after fast", "1.25")
	award(plain, "a2", "2.50") // stored as a decimal
	check("after plain", "3.75")
	award(fast, "a3", "0.05") // back to units
	check("after fast again", "3.8")
	award(fine, "a4", "0.0001") // units of 0.0001
	check("after fine", "3.8001")
	award(fast, "a5", "1") // the scale-2 engine reads the scale-4 total
	check("after fast on a fine total", "4.8001")
}

// TestMemoryStoreOutOfOrderLots writes records and lots through the Store
// out of Seq order, as an import may, and in separate Changes: the lots'
// links to their records and the open lists must follow the inserts.
func TestMemoryStoreOutOfOrderLots(t *testing.T) {
	ctx := context.Background()
	store := ledger.NewMemoryStore()
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d := decimal.RequireFromString
	rec := func(seq int64, amount string) ledger.TxRecord {
		return ledger.TxRecord{Transaction: ledger.Transaction{Key: fmt.Sprintf("k%d", seq), Seq: seq,
			Postings: []ledger.Posting{{From: "issuance", To: "c1", Amount: d(amount), ExpiresAt: exp}}}}
	}
	lot := func(seq int64, amount, remaining string) ledger.Lot {
		return ledger.Lot{ID: ledger.LotID{Seq: seq}, Account: "c1", ExpiresAt: exp, Amount: d(amount), Remaining: d(remaining)}
	}
	apply := func(c ledger.Changes) {
		t.Helper()
		tx, err := store.Begin(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Apply(ctx, &c); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	apply(ledger.Changes{
		NewAccounts: []ledger.AccountState{
			{Account: ledger.Account{ID: "c1", Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative, Currency: "points"}, Posted: d("5")},
			{Account: ledger.Account{ID: "issuance", Kind: ledger.KindIssuance, Currency: "points"}, Posted: d("-5")},
		},
		Transactions: []ledger.TxRecord{rec(10, "5")},
		NewLots:      []ledger.Lot{lot(10, "5", "5")},
	})
	// An earlier record and its lot: both go before what is stored.
	apply(ledger.Changes{Transactions: []ledger.TxRecord{rec(5, "3")}, NewLots: []ledger.Lot{lot(5, "3", "3")}})
	// A record, then its lot in a later write (found by Seq), then a
	// debit of the first lot and an exhausted lot.
	apply(ledger.Changes{Transactions: []ledger.TxRecord{rec(7, "1")}})
	apply(ledger.Changes{NewLots: []ledger.Lot{lot(7, "1", "0")}, Lots: []ledger.Lot{lot(10, "5", "2")}})

	tx, err := store.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	opts := cmp.Options{cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })}
	sortLots := func(ls []ledger.Lot) []ledger.Lot {
		slices.SortFunc(ls, func(a, b ledger.Lot) int { return int(a.ID.Seq - b.ID.Seq) })
		return ls
	}
	open, err := tx.OpenLots(ctx, []string{"c1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ledger.Lot{lot(5, "3", "3"), lot(10, "5", "2")}, sortLots(open), opts); diff != "" {
		t.Errorf("OpenLots (-want +got):\n%s", diff)
	}
	all, err := tx.ScanLots(ctx, ledger.LotID{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ledger.Lot{lot(5, "3", "3"), lot(7, "1", "0"), lot(10, "5", "2")}, all, opts); diff != "" {
		t.Errorf("ScanLots (-want +got):\n%s", diff)
	}
	got, err := tx.Lots(ctx, []ledger.LotID{{Seq: 10}, {Seq: 7}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ledger.Lot{lot(7, "1", "0"), lot(10, "5", "2")}, sortLots(got), opts); diff != "" {
		t.Errorf("Lots (-want +got):\n%s", diff)
	}
	recs, err := tx.ScanTransactions(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, r := range recs {
		seqs = append(seqs, r.Seq)
	}
	if diff := cmp.Diff([]int64{5, 7, 10}, seqs); diff != "" {
		t.Errorf("ScanTransactions Seqs (-want +got):\n%s", diff)
	}
}

// TestMemoryOpenLotsThroughHistory: the in-memory store keeps a credit's
// lot on its account's open list through the history entry of its
// transaction, and a second lot of the same transaction, a lot reopened
// or one opened after the list was pruned on its own list. Debits, sweeps
// and balances must see every open lot once, whichever way it is held.
// Expected figures are worked by hand from the consumption order
// (earliest expiry first, lots that never expire last).
func TestMemoryOpenLotsThroughHistory(t *testing.T) {
	ctx := context.Background()
	clock := ledgertest.NewClock(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	t0 := clock.Now()
	l, err := ledger.NewMemory(ledger.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []ledger.Account{{ID: "issuance", Kind: ledger.KindIssuance}, {ID: "redeemed", Kind: ledger.KindRedeemed}, {ID: "c1", Kind: ledger.KindCustomer}} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	d := decimal.RequireFromString
	post := func(key string, ps ...ledger.Posting) error {
		_, err := l.Post(ctx, ledger.Transaction{Key: key, Postings: ps})
		return err
	}
	award := func(amount string, exp time.Time) ledger.Posting {
		return ledger.Posting{From: "issuance", To: "c1", Amount: d(amount), ExpiresAt: exp}
	}
	redeem := func(amount string) ledger.Posting {
		return ledger.Posting{From: "c1", To: "redeemed", Amount: d(amount)}
	}
	type bal struct {
		Posted, Available, PendingExpiry string
		Next                             []string // "hours after t0:amount"
	}
	check := func(step string, want bal) {
		t.Helper()
		b, err := l.Balance(ctx, "c1", time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		got := bal{Posted: b.Posted.String(), Available: b.Available.String(), PendingExpiry: b.PendingExpiry.String()}
		for _, e := range b.NextExpiries {
			got.Next = append(got.Next, fmt.Sprintf("%v:%s", e.At.Sub(t0).Hours(), e.Amount))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: c1 balance (-want +got):\n%s", step, diff)
		}
	}
	// Two lots from one transaction, then one that never expires.
	if err := post("a1", award("5", t0.Add(10*time.Hour)), award("3", t0.Add(5*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := post("a2", award("2", time.Time{})); err != nil {
		t.Fatal(err)
	}
	check("awards", bal{"10", "10", "8", []string{"5:3", "10:5"}})
	// Takes the 5-hour lot, then 1 of the 10-hour one.
	if err := post("r1", redeem("4")); err != nil {
		t.Fatal(err)
	}
	check("redeemed 4", bal{"6", "6", "4", []string{"10:4"}})
	// Opened after the redemption pruned the list.
	if err := post("a3", award("1", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	check("award after redeem", bal{"7", "7", "5", []string{"1:1", "10:4"}})
	sweep := func(step string, n int) {
		t.Helper()
		res, err := l.SweepExpired(ctx, clock.Now())
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if len(res.Transactions) != n {
			t.Errorf("%s: swept %d lots, want %d", step, len(res.Transactions), n)
		}
	}
	clock.Advance(2 * time.Hour)
	sweep("sweep at 2h", 1)
	check("after sweep at 2h", bal{"6", "6", "4", []string{"10:4"}})
	clock.Advance(10 * time.Hour)
	sweep("sweep at 12h", 1)
	check("after sweep at 12h", bal{"2", "2", "0", nil})
	if err := post("r2", redeem("2")); err != nil {
		t.Fatal(err)
	}
	if err := post("r3", redeem("0.01")); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Errorf("redeeming from an empty account: %v, want ErrInsufficientFunds", err)
	}
	check("emptied", bal{"0", "0", "0", nil})
	b, err := l.Balance(ctx, "issuance", time.Time{})
	if err != nil || !b.Posted.Equal(d("-11")) {
		t.Errorf("issuance Posted %v, %v; want -11", b.Posted, err)
	}
	ledgertest.CheckInvariants(t, l)
}
