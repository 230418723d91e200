package ledger_test

import (
	"context"
	"testing"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
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
