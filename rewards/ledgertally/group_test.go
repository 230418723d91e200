package ledgertally

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
)

// fakePoster records PostBatch calls by their keys; the first call waits
// for release, and a batch holding the key "bad" fails.
type fakePoster struct {
	release chan struct{}
	mu      sync.Mutex
	calls   [][]string
}

var errBad = errors.New("bad transaction")

func (f *fakePoster) PostBatch(_ context.Context, txs []ledger.Transaction) ([]ledger.Transaction, error) {
	f.mu.Lock()
	first := len(f.calls) == 0
	var keys []string
	for _, tx := range txs {
		keys = append(keys, tx.Key)
	}
	f.calls = append(f.calls, keys)
	f.mu.Unlock()
	if first {
		<-f.release
	}
	for _, tx := range txs {
		if tx.Key == "bad" {
			return nil, errBad
		}
	}
	return txs, nil
}

// TestGroupCommit: commits that arrive while a PostBatch is in flight go
// out together in the next one; when that combined batch fails, each
// member is posted on its own, so only the member with the refused
// transaction gets the error.
func TestGroupCommit(t *testing.T) {
	f := &fakePoster{release: make(chan struct{})}
	g := &groupCommitter{bp: f}
	ctx := context.Background()
	txs := func(keys ...string) []ledger.Transaction {
		var out []ledger.Transaction
		for _, k := range keys {
			out = append(out, ledger.Transaction{Key: k})
		}
		return out
	}
	errs := make(map[string]error)
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(name string, t []ledger.Transaction) {
		wg.Go(func() {
			err := g.commit(ctx, t)
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		})
	}
	run("first", txs("a"))
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.calls) == 1 })
	run("second", txs("b1", "b2"))
	run("third", txs("bad"))
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queue) == 2 })
	close(f.release)
	wg.Wait()

	if errs["first"] != nil || errs["second"] != nil || !errors.Is(errs["third"], errBad) {
		t.Fatalf("errors: %v", errs)
	}
	// The queued members were tried together (in either order), then
	// each on its own.
	if len(f.calls) != 4 {
		t.Fatalf("PostBatch calls %v, want 4", f.calls)
	}
	combined := slices.Clone(f.calls[1])
	slices.Sort(combined)
	if d := cmp.Diff([]string{"b1", "b2", "bad"}, combined); d != "" {
		t.Errorf("combined batch (-want +got):\n%s", d)
	}
	own := [][]string{f.calls[2], f.calls[3]}
	slices.SortFunc(own, func(a, b []string) int { return len(a) - len(b) })
	if d := cmp.Diff([][]string{{"bad"}, {"b1", "b2"}}, own); d != "" {
		t.Errorf("fallback batches (-want +got):\n%s", d)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 10_000_000 { // bounded: fails rather than hangs
		if cond() {
			return
		}
		runtime.Gosched()
	}
	t.Fatal("condition never held")
}
