package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// The in-memory store lets a write unit intern account IDs (one index
// lookup per distinct ID, then a slot kept beside the stored account);
// every other store, and the same store behind hideOptional, goes through
// the engine's per-unit map of IDs. These tests hold the two paths to the
// same results.

var internIDs = []string{"issuance", "redeemed", "c0", "c1", "c2", "c3", "n0", "n1", "x0"}

// internPair returns the in-memory ledger (interning) and one over the same
// kind of store reached only through the Store interface (map path), each
// with the same clock, accounts and auto-create rule: "n…" IDs become
// customer accounts on first use, "x…" IDs stay unknown.
func internPair(t fataler) (fast, plain *ledger.Engine, clock *ledgertest.Clock) {
	t.Helper()
	clock = ledgertest.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	opts := []ledger.Option{ledger.WithClock(clock.Now), ledger.WithAutoCreate(func(id string) (ledger.Account, bool) {
		return ledger.Account{Kind: ledger.KindCustomer}, strings.HasPrefix(id, "n")
	})}
	f, err := ledger.NewMemory(opts...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ledger.New(hideOptional{ledger.NewMemoryStore()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, l := range []*ledger.Engine{f, p} {
		for _, a := range []ledger.Account{
			{ID: "issuance", Kind: ledger.KindIssuance}, {ID: "redeemed", Kind: ledger.KindRedeemed},
			{ID: "c0", Kind: ledger.KindCustomer}, {ID: "c1", Kind: ledger.KindCustomer},
			{ID: "c2", Kind: ledger.KindCustomer}, {ID: "c3", Kind: ledger.KindCustomer},
		} {
			if _, err := l.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f, p, clock
}

// fataler is what these helpers need of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// internOK counts the random batches that succeeded, to show the
// property is not only exercising failures.
var internOK int

var decimalEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

// ledgerState is every account's balance and history, as a caller sees them.
type ledgerState struct {
	Balances map[string]ledger.Balance
	Missing  map[string]bool // IDs with no account
	History  map[string][]ledger.Transaction
}

func stateOf(t fataler, l *ledger.Engine) ledgerState {
	t.Helper()
	ctx := context.Background()
	s := ledgerState{Balances: map[string]ledger.Balance{}, Missing: map[string]bool{}, History: map[string][]ledger.Transaction{}}
	for _, id := range internIDs {
		b, err := l.Balance(ctx, id, time.Time{})
		if errors.Is(err, ledger.ErrNotFound) {
			s.Missing[id] = true
			continue
		}
		if err != nil {
			t.Fatalf("balance %s: %v", id, err)
		}
		s.Balances[id] = b
		p, err := l.History(ctx, ledger.HistoryQuery{Account: id, Limit: 1000})
		if err != nil {
			t.Fatalf("history %s: %v", id, err)
		}
		s.History[id] = p.Transactions
	}
	return s
}

func postBoth(t fataler, fast, plain *ledger.Engine, batch []ledger.Transaction) ([]ledger.Transaction, error) {
	t.Helper()
	ctx := context.Background()
	got, err := fast.PostBatch(ctx, batch)
	want, werr := plain.PostBatch(ctx, batch)
	if fmt.Sprint(err) != fmt.Sprint(werr) {
		t.Fatalf("interning path error %v, map path %v", err, werr)
	}
	if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
		t.Fatalf("results differ (-map +interning):\n%s", diff)
	}
	if diff := cmp.Diff(stateOf(t, plain), stateOf(t, fast), decimalEqual); diff != "" {
		t.Fatalf("ledgers differ (-map +interning):\n%s", diff)
	}
	return got, err
}

func pay(key string, ps ...ledger.Posting) ledger.Transaction {
	return ledger.Transaction{Key: key, Postings: ps, Metadata: map[string]string{"rule": "r1"}}
}

func pp(from, to, amount string) ledger.Posting {
	return ledger.Posting{From: from, To: to, Amount: decimal.RequireFromString(amount)}
}

// TestInternRepeatedAndNewAccounts: one batch names known accounts again
// and again, alternating and in runs, and creates an account that later
// transactions of the same batch credit and debit.
func TestInternRepeatedAndNewAccounts(t *testing.T) {
	fast, plain, _ := internPair(t)
	batch := []ledger.Transaction{
		pay("t1", pp("issuance", "c0", "10"), pp("issuance", "c1", "5"), pp("issuance", "c0", "1")),
		pay("t2", pp("issuance", "n0", "7"), pp("issuance", "c1", "2")), // n0 is auto-created here
		pay("t3", pp("c0", "redeemed", "3"), pp("n0", "c2", "4"), pp("c1", "n0", "6")),
		pay("t4", pp("n0", "redeemed", "9"), pp("issuance", "c0", "0.5")),
	}
	if _, err := postBoth(t, fast, plain, batch); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"issuance": "-25.5", "redeemed": "12", "c0": "8.5", "c1": "1", "c2": "4", "n0": "0"}
	s := stateOf(t, fast)
	got := map[string]string{}
	for id, b := range s.Balances {
		if b.Posted.Sign() != 0 || id == "n0" {
			got[id] = b.Posted.String()
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("posted balances (-want +got):\n%s", diff)
	}
	if n := len(s.History["n0"]); n != 3 {
		t.Errorf("n0 has %d transactions in its history, want 3 (t2, t3, t4)", n)
	}
	// A second batch, in a new unit, reuses no slot of the first.
	if _, err := postBoth(t, fast, plain, []ledger.Transaction{
		pay("u1", pp("issuance", "c3", "1"), pp("issuance", "n1", "2"), pp("issuance", "c0", "3")),
	}); err != nil {
		t.Fatal(err)
	}
}

// TestInternFailureMidBatch: a transaction that fails after earlier ones of
// its batch touched interned accounts and auto-created one leaves nothing
// behind; the same accounts then take a batch that succeeds.
func TestInternFailureMidBatch(t *testing.T) {
	fast, plain, _ := internPair(t)
	if _, err := postBoth(t, fast, plain, []ledger.Transaction{pay("seed", pp("issuance", "c0", "5"))}); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, fast)
	for _, tc := range []struct {
		name  string
		bad   ledger.Transaction
		index int
		want  error
	}{
		{"overdraft", pay("bad", pp("c0", "redeemed", "100")), 2, ledger.ErrInsufficientFunds},
		{"unknown account", pay("bad", pp("issuance", "x0", "1")), 2, ledger.ErrNotFound},
		{"overdraft of the new account", pay("bad", pp("n1", "c3", "8")), 2, ledger.ErrInsufficientFunds},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := []ledger.Transaction{
				pay("ok1", pp("issuance", "c0", "1"), pp("issuance", "n1", "2"), pp("issuance", "c1", "3")),
				pay("ok2", pp("c0", "c1", "4"), pp("n1", "c0", "1")),
				tc.bad,
				pay("ok3", pp("issuance", "c2", "1")),
			}
			_, err := postBoth(t, fast, plain, batch)
			var be *ledger.BatchError
			if !errors.As(err, &be) || be.Index != tc.index || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want a BatchError at %d wrapping %v", err, tc.index, tc.want)
			}
			if diff := cmp.Diff(before, stateOf(t, fast), decimalEqual); diff != "" {
				t.Errorf("failed batch left changes (-before +after):\n%s", diff)
			}
			for _, k := range []string{"ok1", "ok2", "bad", "ok3"} {
				if _, err := fast.Lookup(context.Background(), k); !errors.Is(err, ledger.ErrNotFound) {
					t.Errorf("Lookup(%s) after the failed batch: %v, want ErrNotFound", k, err)
				}
			}
		})
	}
	if _, err := postBoth(t, fast, plain, []ledger.Transaction{
		pay("ok1", pp("issuance", "c0", "1"), pp("issuance", "n1", "2"), pp("issuance", "c1", "3")),
		pay("ok2", pp("c0", "c1", "4"), pp("n1", "c0", "1")),
	}); err != nil {
		t.Fatal(err)
	}
}

// TestInternMatchesMapPath drives both paths with the same random batches
// (repeated, new, unknown and auto-created accounts; overdrafts; reused
// keys) and requires the same results, errors, balances and histories.
func TestInternMatchesMapPath(t *testing.T) {
	internOK = 0
	defer func() {
		t.Logf("%d batches succeeded", internOK)
		if internOK == 0 {
			t.Error("no batch succeeded: the generator only exercises failures")
		}
	}()
	rapid.Check(t, func(rt *rapid.T) {
		fast, plain, clock := internPair(rt)
		amounts := []string{"1", "2.5", "7", "0.01"}
		known := internIDs[1 : len(internIDs)-1] // all but issuance and x0
		var sent []ledger.Transaction
		for b := range rapid.IntRange(1, 6).Draw(rt, "batches") {
			n := rapid.IntRange(1, 8).Draw(rt, "txs")
			batch := make([]ledger.Transaction, n)
			for i := range batch {
				if len(sent) > 0 && rapid.IntRange(0, 9).Draw(rt, "replay") == 0 {
					// The same key again: a retry, or (with a new clock)
					// still the same content.
					batch[i] = rapid.SampledFrom(sent).Draw(rt, "again")
					continue
				}
				m := rapid.IntRange(1, 4).Draw(rt, "postings")
				ps := make([]ledger.Posting, m)
				for j := range ps {
					// Mostly awards, so that batches often succeed
					// and later ones have points to move.
					from := "issuance"
					if rapid.IntRange(0, 5).Draw(rt, "any") == 0 {
						from = rapid.SampledFrom(internIDs).Draw(rt, "from")
					}
					to := rapid.SampledFrom(known).Draw(rt, "to")
					if rapid.IntRange(0, 19).Draw(rt, "unknown") == 0 {
						to = "x0"
					}
					if to == from {
						to = "redeemed"
					}
					ps[j] = ledger.Posting{From: from, To: to,
						Amount: decimal.RequireFromString(rapid.SampledFrom(amounts).Draw(rt, "amount"))}
					if to != "redeemed" && rapid.Bool().Draw(rt, "expires") {
						ps[j].ExpiresAt = clock.Now().Add(time.Duration(rapid.IntRange(1, 48).Draw(rt, "hours")) * time.Hour)
					}
				}
				batch[i] = pay(fmt.Sprintf("b%d-%d", b, i), ps...)
			}
			sent = append(sent, batch...)
			if _, err := postBoth(rt, fast, plain, batch); err == nil {
				internOK++
			}
			clock.Advance(time.Duration(rapid.IntRange(0, 30).Draw(rt, "advance")) * time.Hour)
		}
	})
}
