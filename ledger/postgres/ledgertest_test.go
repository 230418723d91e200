package postgres

import (
	"context"
	"testing"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
)

// TestConformance runs the shared ledger conformance suite, every ledger on
// its own freshly migrated schema.
func TestConformance(t *testing.T) {
	serverURL(t) // skip (or fail under CI) before the suite starts
	ledgertest.Run(t, func(t *testing.T, opts ...ledger.Option) ledger.Ledger {
		url := migratedSchema(t)
		l, err := Open(context.Background(), url, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() }) // the suite may have closed it already
		return l
	})
}
