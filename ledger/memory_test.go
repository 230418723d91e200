package ledger_test

import (
	"context"
	"testing"

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
