package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
)

// TestConcurrentLookups: lookups from many goroutines at once (which the
// Store sends in groups, one round trip per group) each get their own
// key's transaction, or ErrNotFound, exactly as lookups one at a time do;
// a lookup whose context is already cancelled fails with the context's
// error and leaves the others' answers intact.
func TestConcurrentLookups(t *testing.T) {
	t.Parallel()
	_, url := testPool(t)
	ctx := context.Background()
	l := openLedger(t, url)
	customer(t, l, "alice")
	want := map[string]ledger.Transaction{}
	for i := range 20 {
		tx, err := l.Post(ctx, ledger.Transaction{Key: fmt.Sprintf("award/%d", i),
			Metadata: map[string]string{"n": fmt.Sprint(i)},
			Postings: []ledger.Posting{{From: issuance, To: "alice", Amount: decimal.New(int64(i+1), 0)}}})
		if err != nil {
			t.Fatal(err)
		}
		want[tx.Key] = tx
	}
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 40 {
			key := fmt.Sprintf("award/%d", (i*7+round)%40) // half of them absent
			wg.Go(func() {
				got, err := l.Lookup(ctx, key)
				w, ok := want[key]
				switch {
				case !ok && !errors.Is(err, ledger.ErrNotFound):
					errs <- fmt.Errorf("Lookup(%s) = %v, want ErrNotFound", key, err)
				case ok && err != nil:
					errs <- fmt.Errorf("Lookup(%s): %v", key, err)
				case ok:
					if d := cmp.Diff(w, got); d != "" {
						errs <- fmt.Errorf("Lookup(%s) (-posted +looked up):\n%s", key, d)
					}
				}
			})
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		wg.Go(func() {
			if _, err := l.Lookup(cancelled, "award/1"); !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("Lookup with a cancelled context = %v, want context.Canceled", err)
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}
