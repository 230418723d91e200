package postgres

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
	"github.com/negawatt/negawatt/ledger/sqlite"
)

// Export → import between PostgreSQL and the other adapters (issue 3,
// acceptance 4): the target reproduces every balance and every history
// exactly, and exporting the target again yields the same bytes.

type adapter struct {
	name string
	open func(t *testing.T, opts ...ledger.Option) *ledger.Engine
}

var adapters = []adapter{
	{"memory", func(t *testing.T, opts ...ledger.Option) *ledger.Engine {
		l, err := ledger.NewMemory(opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}},
	{"sqlite", func(t *testing.T, opts ...ledger.Option) *ledger.Engine {
		l, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), sqlite.WithLedgerOptions(opts...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}},
	{"postgres", func(t *testing.T, opts ...ledger.Option) *ledger.Engine {
		l, err := Open(context.Background(), migratedSchema(t), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}},
}

// populate writes a ledger that uses every feature an export must carry:
// expiring and permanent lots, redemptions, a transfer, committed, voided
// and open holds, a reversal, an expiry sweep and a batch.
func populate(t *testing.T, l *ledger.Engine, clock *ledgertest.Clock) {
	t.Helper()
	ctx := context.Background()
	d := decimal.RequireFromString
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []ledger.Account{
		{ID: "program/issuance", Kind: ledger.KindIssuance},
		{ID: "program/redeemed", Kind: ledger.KindRedeemed},
		{ID: "customer/a", Kind: ledger.KindCustomer},
		{ID: "customer/b", Kind: ledger.KindCustomer},
		{ID: "customer/c", Kind: ledger.KindCustomer},
	} {
		must(l.CreateAccount(ctx, a))
	}
	award := func(key, to, amt string, expires time.Duration, rule string) {
		t.Helper()
		p := ledger.Posting{From: "program/issuance", To: to, Amount: d(amt)}
		if expires > 0 {
			p.ExpiresAt = clock.Now().Add(expires)
		}
		must(l.Post(ctx, ledger.Transaction{Key: key, Postings: []ledger.Posting{p},
			Metadata: map[string]string{"rule": rule}, EffectiveAt: clock.Now().Add(-24 * time.Hour)}))
	}
	award("award/1", "customer/a", "100", 24*time.Hour, "r1")
	award("award/2", "customer/a", "50.50", 0, "r2")
	award("award/3", "customer/b", "30.25", 48*time.Hour, "r1")
	clock.Advance(time.Minute)
	must(l.Post(ctx, ledger.Transaction{Key: "redeem/1", Postings: []ledger.Posting{{From: "customer/a", To: "program/redeemed", Amount: d("70")}}}))
	must(l.Post(ctx, ledger.Transaction{Key: "transfer/1", Postings: []ledger.Posting{{From: "customer/b", To: "customer/c", Amount: d("10")}}}))
	must(l.Hold(ctx, ledger.HoldRequest{ID: "hold/1", Account: "customer/a", To: "program/redeemed", Amount: d("20"), Deadline: clock.Now().Add(2 * time.Hour)}))
	must(l.CommitHold(ctx, "hold/1", d("15")))
	must(l.Hold(ctx, ledger.HoldRequest{ID: "hold/2", Account: "customer/b", To: "program/redeemed", Amount: d("5"), Deadline: clock.Now().Add(72 * time.Hour)}))
	must(l.Hold(ctx, ledger.HoldRequest{ID: "hold/3", Account: "customer/a", To: "program/redeemed", Amount: d("1"), Deadline: clock.Now().Add(time.Hour)}))
	must(l.VoidHold(ctx, "hold/3"))
	must(l.Reverse(ctx, "reverse/1", "redeem/1"))
	clock.Advance(25 * time.Hour)
	must(l.SweepExpired(ctx, clock.Now()))
	batch := make([]ledger.Transaction, 10)
	for i := range batch {
		batch[i] = ledger.Transaction{Key: fmt.Sprintf("batch/%d", i),
			Postings: []ledger.Posting{{From: "program/issuance", To: "customer/c", Amount: d("1.01")}}}
	}
	must(l.PostBatch(ctx, batch))
}

// snapshot is everything a caller can see of the test accounts.
type snapshot struct {
	Balances  map[string]ledger.Balance
	Histories map[string][]ledger.Transaction
}

func snap(t *testing.T, l *ledger.Engine, now time.Time) snapshot {
	t.Helper()
	ctx := context.Background()
	s := snapshot{Balances: map[string]ledger.Balance{}, Histories: map[string][]ledger.Transaction{}}
	for _, a := range []string{"program/issuance", "program/redeemed", "customer/a", "customer/b", "customer/c", "expired/points"} {
		b, err := l.Balance(ctx, a, now)
		if err != nil {
			t.Fatalf("Balance(%s): %v", a, err)
		}
		s.Balances[a] = b
		for cursor := ""; ; {
			p, err := l.History(ctx, ledger.HistoryQuery{Account: a, Cursor: cursor, Limit: 7})
			if err != nil {
				t.Fatalf("History(%s): %v", a, err)
			}
			s.Histories[a] = append(s.Histories[a], p.Transactions...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
	}
	return s
}

func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	serverURL(t)
	for _, from := range adapters {
		for _, to := range adapters {
			if from.name != "postgres" && to.name != "postgres" {
				continue // pairs without PostgreSQL are the other adapters' tests
			}
			t.Run(from.name+"→"+to.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				clock := ledgertest.NewClock(ledgertest.T0)
				src := from.open(t, ledger.WithClock(clock.Now))
				populate(t, src, clock)
				var file bytes.Buffer
				sum, err := src.Export(ctx, &file)
				if err != nil {
					t.Fatalf("export from %s: %v", from.name, err)
				}
				dst := to.open(t, ledger.WithClock(clock.Now))
				got, err := dst.Import(ctx, bytes.NewReader(file.Bytes()))
				if err != nil {
					t.Fatalf("import into %s: %v", to.name, err)
				}
				if d := cmp.Diff(sum, got); d != "" {
					t.Errorf("import summary differs from export summary (-export +import):\n%s", d)
				}
				opts := cmp.Options{
					cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
					cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
				}
				for _, at := range []time.Time{clock.Now(), ledgertest.T0.Add(30 * time.Minute)} {
					if d := cmp.Diff(snap(t, src, at), snap(t, dst, at), opts); d != "" {
						t.Errorf("at %s, %s and %s differ (-source +target):\n%s", at, from.name, to.name, d)
					}
				}
				var again bytes.Buffer
				if _, err := dst.Export(ctx, &again); err != nil {
					t.Fatalf("export from %s: %v", to.name, err)
				}
				if !bytes.Equal(file.Bytes(), again.Bytes()) {
					t.Errorf("re-export from %s differs from the %s export (%d vs %d bytes)", to.name, from.name, again.Len(), file.Len())
				}
				ledgertest.CheckInvariants(t, dst)
				// Idempotency keys carried over: re-posting an imported
				// transaction returns it instead of paying twice.
				tx, err := dst.Post(ctx, ledger.Transaction{Key: "transfer/1", Postings: []ledger.Posting{{From: "customer/b", To: "customer/c", Amount: decimal.RequireFromString("10")}}})
				if err != nil {
					t.Fatalf("re-posting an imported key: %v", err)
				}
				orig, _ := src.Lookup(ctx, "transfer/1")
				if tx.Seq != orig.Seq {
					t.Errorf("re-posted imported key got Seq %d, want the original %d", tx.Seq, orig.Seq)
				}
				// New transactions are numbered after everything imported.
				last, _ := src.Lookup(ctx, "batch/9")
				fresh, err := dst.Post(ctx, ledger.Transaction{Key: "after-import", Postings: []ledger.Posting{{From: "program/issuance", To: "customer/c", Amount: decimal.RequireFromString("1")}}})
				if err != nil {
					t.Fatalf("posting after import: %v", err)
				}
				if fresh.Seq <= last.Seq {
					t.Errorf("first Seq after import = %d, want > %d (the last imported)", fresh.Seq, last.Seq)
				}
			})
		}
	}
}
