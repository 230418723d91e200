package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
	"github.com/negawatt/negawatt/ledger/sqlite"
)

// openLedger is the conformance suite's opener: a fresh database file per
// ledger, closed when the test ends.
func openLedger(t *testing.T, opts ...ledger.Option) ledger.Ledger {
	t.Helper()
	l, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), sqlite.WithLedgerOptions(opts...))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestConformance(t *testing.T) {
	ledgertest.Run(t, openLedger)
}
