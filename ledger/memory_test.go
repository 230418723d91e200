package ledger_test

import (
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
