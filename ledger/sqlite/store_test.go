package sqlite_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/sqlite"
	"github.com/shopspring/decimal"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// decEqual compares decimals by value (1.5 == 1.50).
var decEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

func openStore(t *testing.T, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "ledger.db")
	}
	s, err := sqlite.OpenStore(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func begin(t *testing.T, s ledger.Store, write bool) ledger.StoreTx {
	t.Helper()
	tx, err := s.Begin(context.Background(), write)
	if err != nil {
		t.Fatalf("Begin(%v): %v", write, err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx
}

// sampleChanges is a unit of work a reward award produces: two accounts,
// one transaction with metadata and an expiring lot, and a hold.
func sampleChanges(seq int64) *ledger.Changes {
	acct := func(id string, kind ledger.AccountKind, flags ledger.AccountFlags, posted string) ledger.AccountState {
		return ledger.AccountState{
			Account: ledger.Account{ID: id, Kind: kind, Flags: flags, Currency: "points", CreatedAt: t0},
			Posted:  dec(posted), Held: dec("0"),
		}
	}
	tx := ledger.TxRecord{
		Transaction: ledger.Transaction{
			Key: "award/1",
			Postings: []ledger.Posting{
				{From: "issuance", To: "cust/1", Amount: dec("10.25"), ExpiresAt: t0.AddDate(1, 0, 0)},
				{From: "issuance", To: "cust/1", Amount: dec("1")},
			},
			Metadata:    map[string]string{"rule": "r1", "customer": "1"},
			EffectiveAt: t0.Add(-time.Hour),
			Seq:         seq,
			PostedAt:    t0,
		},
		Hash: sha256.Sum256([]byte("award/1")),
	}
	return &ledger.Changes{
		NewAccounts: []ledger.AccountState{
			acct("cust/1", ledger.KindCustomer, ledger.FlagNoNegative, "11.25"),
			acct("issuance", ledger.KindIssuance, 0, "-11.25"),
		},
		Transactions: []ledger.TxRecord{tx},
		NewLots: []ledger.Lot{
			{ID: ledger.LotID{Seq: seq, Posting: 0}, Account: "cust/1", ExpiresAt: t0.AddDate(1, 0, 0), Amount: dec("10.25"), Remaining: dec("10.25"), Expired: dec("0")},
			{ID: ledger.LotID{Seq: seq, Posting: 1}, Account: "cust/1", Amount: dec("1"), Remaining: dec("1"), Expired: dec("0")},
		},
		NewHolds: []ledger.HoldRecord{{
			Hold: ledger.Hold{
				HoldRequest: ledger.HoldRequest{ID: "h1", Account: "cust/1", To: "redeemed", Amount: dec("2"), Deadline: t0.Add(time.Hour), Metadata: map[string]string{"order": "9"}},
				Status:      ledger.HoldOpen, Committed: dec("0"), CreatedAt: t0,
			},
			Hash:     sha256.Sum256([]byte("h1")),
			Reserved: []ledger.LotUse{{Lot: ledger.LotID{Seq: seq, Posting: 0}, Amount: dec("2")}},
		}},
	}
}

func TestApplyAndReadBack(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	w := begin(t, s, true)
	seq, err := w.ReserveSeq(ctx, 1)
	if err != nil || seq != 1 {
		t.Fatalf("ReserveSeq = %d, %v; want 1", seq, err)
	}
	ch := sampleChanges(seq)
	if err := w.Apply(ctx, ch); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	r := begin(t, s, false)
	accts, err := r.LockAccounts(ctx, []string{"cust/1", "issuance", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ch.NewAccounts, accts, decEqual); d != "" {
		t.Errorf("accounts (-want +got):\n%s", d)
	}
	txs, err := r.Transactions(ctx, []string{"award/1", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ch.Transactions, txs, decEqual); d != "" {
		t.Errorf("transactions (-want +got):\n%s", d)
	}
	lots, err := r.OpenLots(ctx, []string{"cust/1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ch.NewLots, lots, decEqual); d != "" {
		t.Errorf("open lots (-want +got):\n%s", d)
	}
	holds, err := r.Holds(ctx, []string{"h1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ch.NewHolds, holds, decEqual); d != "" {
		t.Errorf("holds (-want +got):\n%s", d)
	}
	for _, acct := range []string{"cust/1", "issuance"} {
		for _, desc := range []bool{false, true} {
			h, err := r.History(ctx, acct, 0, desc, 10)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(ch.Transactions, h, decEqual); d != "" {
				t.Errorf("History(%s, desc=%v) (-want +got):\n%s", acct, desc, d)
			}
		}
	}
	cr, db, err := r.SumTagged(ctx, "cust/1", "rule", "r1", t0.Add(-2*time.Hour), t0)
	if err != nil {
		t.Fatal(err)
	}
	if !cr.Equal(dec("11.25")) || !db.IsZero() {
		t.Errorf("SumTagged(cust/1) = %v, %v; want 11.25, 0", cr, db)
	}
	cr, db, _ = r.SumTagged(ctx, "issuance", "rule", "r1", t0.Add(-2*time.Hour), t0)
	if !cr.IsZero() || !db.Equal(dec("11.25")) {
		t.Errorf("SumTagged(issuance) = %v, %v; want 0, 11.25", cr, db)
	}
	// [from, to) excludes a transaction effective exactly at to.
	cr, _, _ = r.SumTagged(ctx, "cust/1", "rule", "r1", t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	if !cr.IsZero() {
		t.Errorf("SumTagged with to = EffectiveAt = %v; want 0", cr)
	}
	cr, _, _ = r.SumTagged(ctx, "cust/1", "rule", "r2", t0.Add(-2*time.Hour), t0)
	if !cr.IsZero() {
		t.Errorf("SumTagged(other rule) = %v; want 0", cr)
	}
}

func TestUpdatesAndQueries(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	w := begin(t, s, true)
	ch := sampleChanges(1)
	if err := w.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	// A second unit of work in the same storage transaction updates rows.
	lot := ch.NewLots[0]
	lot.Remaining, lot.Expired = dec("0"), dec("10.25")
	hold := ch.NewHolds[0]
	hold.Status, hold.Committed, hold.CommitKey, hold.ResolvedAt, hold.Reserved = ledger.HoldCommitted, dec("2"), "hold/h1/commit", t0.Add(time.Minute), nil
	acct := ch.NewAccounts[0]
	acct.Posted, acct.Held = dec("5"), dec("0")
	if err := w.Apply(ctx, &ledger.Changes{
		Accounts: []ledger.AccountState{acct},
		Reversed: []ledger.Reversal{{Key: "award/1", By: "rev/1"}},
		Lots:     []ledger.Lot{lot},
		Holds:    []ledger.HoldRecord{hold},
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r := begin(t, s, false)
	got, _ := r.Lots(ctx, []ledger.LotID{{Seq: 1, Posting: 0}, {Seq: 9}})
	if d := cmp.Diff([]ledger.Lot{lot}, got, decEqual); d != "" {
		t.Errorf("Lots (-want +got):\n%s", d)
	}
	open, _ := r.OpenLots(ctx, []string{"cust/1"})
	if d := cmp.Diff(ch.NewLots[1:], open, decEqual); d != "" {
		t.Errorf("OpenLots after consuming lot 0 (-want +got):\n%s", d)
	}
	if ex, _ := r.ExpiredLots(ctx, t0.AddDate(2, 0, 0), 10); len(ex) != 0 {
		t.Errorf("ExpiredLots = %v; want none (the expiring lot is closed)", ex)
	}
	if hs, _ := r.OpenHolds(ctx, "cust/1"); len(hs) != 0 {
		t.Errorf("OpenHolds = %v; want none", hs)
	}
	hs, _ := r.Holds(ctx, []string{"h1"})
	if d := cmp.Diff([]ledger.HoldRecord{hold}, hs, decEqual); d != "" {
		t.Errorf("Holds (-want +got):\n%s", d)
	}
	txs, _ := r.Transactions(ctx, []string{"award/1"})
	if len(txs) != 1 || txs[0].ReversedBy != "rev/1" {
		t.Errorf("ReversedBy = %+v; want rev/1", txs)
	}
	as, _ := r.ScanAccounts(ctx, "", 10)
	if d := cmp.Diff([]ledger.AccountState{acct, ch.NewAccounts[1]}, as, decEqual); d != "" {
		t.Errorf("ScanAccounts (-want +got):\n%s", d)
	}
}

func TestExpiryQueriesOrder(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	w := begin(t, s, true)
	ch := sampleChanges(1)
	ch.NewLots = append(ch.NewLots,
		ledger.Lot{ID: ledger.LotID{Seq: 1, Posting: 2}, Account: "cust/1", ExpiresAt: t0.Add(time.Minute), Amount: dec("1"), Remaining: dec("1"), Expired: dec("0")},
		ledger.Lot{ID: ledger.LotID{Seq: 1, Posting: 3}, Account: "cust/1", ExpiresAt: t0.Add(time.Minute), Amount: dec("1"), Remaining: dec("1"), Expired: dec("0")},
	)
	h2 := ch.NewHolds[0]
	h2.ID, h2.Deadline = "h0", t0.Add(time.Minute)
	ch.NewHolds = append(ch.NewHolds, h2)
	if err := w.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	lots, err := w.ExpiredLots(ctx, t0.AddDate(1, 0, 0), 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []ledger.LotID
	for _, l := range lots {
		ids = append(ids, l.ID)
	}
	want := []ledger.LotID{{Seq: 1, Posting: 2}, {Seq: 1, Posting: 3}, {Seq: 1, Posting: 0}}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("ExpiredLots order (-want +got):\n%s", d)
	}
	if lots, _ := w.ExpiredLots(ctx, t0.AddDate(1, 0, 0), 1); len(lots) != 1 {
		t.Errorf("ExpiredLots limit 1 returned %d", len(lots))
	}
	holds, _ := w.ExpiredHolds(ctx, t0.Add(time.Hour), 10)
	if len(holds) != 2 || holds[0].ID != "h0" || holds[1].ID != "h1" {
		t.Errorf("ExpiredHolds = %v; want h0, h1", holds)
	}
	if holds, _ := w.ExpiredHolds(ctx, t0.Add(time.Hour-1), 10); len(holds) != 1 {
		t.Errorf("ExpiredHolds before h1's deadline = %d holds; want 1", len(holds))
	}
	scanned, _ := w.ScanLots(ctx, ledger.LotID{Seq: 1, Posting: 1}, 10)
	if len(scanned) != 2 || scanned[0].ID.Posting != 2 {
		t.Errorf("ScanLots after 1.1 = %v", scanned)
	}
	open, _ := w.OpenHolds(ctx, "cust/1")
	if len(open) != 2 {
		t.Errorf("OpenHolds = %d; want 2", len(open))
	}
	sh, _ := w.ScanHolds(ctx, "h0", 10)
	if len(sh) != 1 || sh[0].ID != "h1" {
		t.Errorf("ScanHolds after h0 = %v", sh)
	}
}

func TestDuplicateInsertIsRetry(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	w := begin(t, s, true)
	if err := w.Apply(ctx, sampleChanges(1)); err != nil {
		t.Fatal(err)
	}
	w.Commit()
	w = begin(t, s, true)
	err := w.Apply(ctx, &ledger.Changes{NewAccounts: sampleChanges(1).NewAccounts})
	if !errors.Is(err, ledger.ErrRetry) {
		t.Errorf("duplicate account insert: err = %v; want ErrRetry", err)
	}
}

// TestFailedApplyNeverCommits: Apply's statements are OR FAIL, so a unit
// that fails part way has rows on the connection; committing anyway must
// fail and leave nothing, whatever the caller does.
func TestFailedApplyNeverCommits(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	w := begin(t, s, true)
	c := sampleChanges(1)
	dup := c.Transactions[0]
	dup.Seq = 2 // same key, fresh seq: the accounts and first row go in, then the key is refused
	c.Transactions = append(c.Transactions, dup)
	if err := w.Apply(ctx, c); !errors.Is(err, ledger.ErrRetry) {
		t.Fatalf("Apply with a duplicate key: err = %v; want ErrRetry", err)
	}
	if err := w.Apply(ctx, &ledger.Changes{NewAccounts: sampleChanges(9).NewAccounts[:1]}); err == nil {
		t.Error("Apply after a failed Apply succeeded")
	}
	if err := w.Commit(); !errors.Is(err, ledger.ErrRetry) {
		t.Errorf("Commit after a failed Apply: err = %v; want the Apply's error", err)
	}
	w.Rollback()
	assertEmpty(t, s)
}

func TestRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	w := begin(t, s, true)
	if err := w.Apply(ctx, sampleChanges(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil { // after Rollback: no-op
		t.Errorf("Commit after Rollback = %v; want nil", err)
	}
	assertEmpty(t, s)
}

func TestCancelledContextLeavesNothing(t *testing.T) {
	s := openStore(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	w, err := s.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Apply(ctx, sampleChanges(1)); err != nil {
		t.Fatal(err)
	}
	cancel()
	// The unit of work is half done from the engine's point of view: the
	// next statement fails, and so does the commit.
	if err := w.Apply(ctx, &ledger.Changes{Reversed: []ledger.Reversal{{Key: "award/1", By: "x"}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply after cancel: %v; want context.Canceled", err)
	}
	if err := w.Commit(); err == nil {
		t.Error("Commit after cancel succeeded")
	}
	w.Rollback()
	assertEmpty(t, s)
}

func assertEmpty(t *testing.T, s ledger.Store) {
	t.Helper()
	ctx := context.Background()
	r := begin(t, s, false)
	if a, err := r.ScanAccounts(ctx, "", 10); err != nil || len(a) != 0 {
		t.Errorf("ScanAccounts = %v, %v; want none", a, err)
	}
	if x, err := r.ScanTransactions(ctx, 0, 10); err != nil || len(x) != 0 {
		t.Errorf("ScanTransactions = %v, %v; want none", x, err)
	}
	if l, err := r.ScanLots(ctx, ledger.LotID{}, 10); err != nil || len(l) != 0 {
		t.Errorf("ScanLots = %v, %v; want none", l, err)
	}
	if h, err := r.ScanHolds(ctx, "", 10); err != nil || len(h) != 0 {
		t.Errorf("ScanHolds = %v, %v; want none", h, err)
	}
	r.Rollback()
}

func TestReserveSeq(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	s := openStore(t, path)
	w := begin(t, s, true)
	a, _ := w.ReserveSeq(ctx, 10)
	b, _ := w.ReserveSeq(ctx, 1)
	if a != 1 || b != 11 {
		t.Errorf("ReserveSeq = %d, %d; want 1, 11", a, b)
	}
	w.Rollback()
	// Numbers reserved by a rolled-back transaction may be reused (gaps are
	// allowed, but numbers never go backwards once committed).
	w = begin(t, s, true)
	if err := w.Apply(ctx, sampleChanges(40)); err != nil { // as an import would
		t.Fatal(err)
	}
	w.Commit()
	w = begin(t, s, true)
	if c, _ := w.ReserveSeq(ctx, 1); c != 41 {
		t.Errorf("ReserveSeq after importing seq 40 = %d; want 41", c)
	}
	w.Commit()
	w = begin(t, s, true)
	if c, _ := w.ReserveSeq(ctx, 1); c != 42 {
		t.Errorf("ReserveSeq after a committed reservation = %d; want 42", c)
	}
	w.Rollback()
	s.Close()
	// Reopened: the stored maximum still bounds new numbers.
	s2 := openStore(t, path)
	w = begin(t, s2, true)
	if c, _ := w.ReserveSeq(ctx, 1); c != 41 {
		t.Errorf("ReserveSeq after reopen = %d; want 41", c)
	}
	r := begin(t, s2, false)
	if _, err := r.ReserveSeq(ctx, 1); err == nil {
		t.Error("ReserveSeq in a read transaction succeeded")
	}
	if err := r.Apply(ctx, &ledger.Changes{}); err == nil {
		t.Error("Apply in a read transaction succeeded")
	}
}

func TestReadersDoNotBlockWriter(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	r := begin(t, s, false)
	if _, err := r.ScanAccounts(ctx, "", 1); err != nil { // start the read snapshot
		t.Fatal(err)
	}
	w := begin(t, s, true)
	if err := w.Apply(ctx, sampleChanges(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("Commit with an open reader: %v", err)
	}
	// The reader keeps its snapshot; a new reader sees the commit.
	if a, _ := r.ScanAccounts(ctx, "", 10); len(a) != 0 {
		t.Errorf("old snapshot sees %d accounts; want 0", len(a))
	}
	r2 := begin(t, s, false)
	if a, _ := r2.ScanAccounts(ctx, "", 10); len(a) != 2 {
		t.Errorf("new snapshot sees %d accounts; want 2", len(a))
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, p := range []string{"", ":memory:", "file:x.db"} {
		if _, err := sqlite.OpenStore(ctx, p); err == nil {
			t.Errorf("OpenStore(%q) succeeded", p)
		}
	}
	if _, err := sqlite.OpenStore(ctx, filepath.Join(t.TempDir(), "no", "such", "dir", "l.db")); err == nil {
		t.Error("OpenStore in a missing directory succeeded")
	}
	if _, err := sqlite.OpenStore(ctx, filepath.Join(t.TempDir(), "l.db"), sqlite.WithReadConns(0)); err == nil {
		t.Error("WithReadConns(0) accepted")
	}
	if _, err := sqlite.OpenStore(ctx, filepath.Join(t.TempDir(), "l.db"), sqlite.WithSynchronous(7)); err == nil {
		t.Error("WithSynchronous(7) accepted")
	}
}

func TestPathWithSpecialCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?#%", "l edger.db")
	if err := mkdirAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path)
	if !fileExists(path) {
		t.Errorf("database not created at %q", path)
	}
	s.Close()
}

func TestStoreClosed(t *testing.T) {
	s := openStore(t, "")
	s.Close()
	if _, err := s.Begin(context.Background(), true); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Begin after Close: %v; want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
