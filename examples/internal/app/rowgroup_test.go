package app

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/negawatt/negawatt/examples/internal/store"
)

// blockingStore records PutSettlements calls (by customer); the first
// waits for release, and a call with customer "bad" fails.
type blockingStore struct {
	store.Store
	release chan struct{}
	mu      sync.Mutex
	calls   [][]string
}

func (b *blockingStore) PutSettlements(_ context.Context, rows []store.Settlement) error {
	b.mu.Lock()
	first := len(b.calls) == 0
	var cs []string
	for _, r := range rows {
		cs = append(cs, r.Customer)
	}
	b.calls = append(b.calls, cs)
	b.mu.Unlock()
	if first {
		<-b.release
	}
	for _, r := range rows {
		if r.Customer == "bad" {
			return store.ErrInvalid
		}
	}
	return nil
}

// TestSettlementWriterGroups: rows that arrive during a write go out in
// one combined write; when it fails, each member is written alone and
// only the member with the bad row gets the error.
func TestSettlementWriterGroups(t *testing.T) {
	bs := &blockingStore{release: make(chan struct{})}
	w := &settlementWriter{st: bs}
	ctx := context.Background()
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	put := func(c string) {
		wg.Go(func() {
			err := w.put(ctx, []store.Settlement{{Customer: c, FactID: "f"}})
			mu.Lock()
			errs[c] = err
			mu.Unlock()
		})
	}
	wait := func(cond func() bool) {
		for range 10_000_000 { // bounded: fails rather than hangs
			if cond() {
				return
			}
			runtime.Gosched()
		}
		t.Fatal("condition never held")
	}
	put("a")
	wait(func() bool { bs.mu.Lock(); defer bs.mu.Unlock(); return len(bs.calls) == 1 })
	put("b")
	put("bad")
	wait(func() bool { w.mu.Lock(); defer w.mu.Unlock(); return len(w.queue) == 2 })
	close(bs.release)
	wg.Wait()
	if errs["a"] != nil || errs["b"] != nil || !errors.Is(errs["bad"], store.ErrInvalid) {
		t.Fatalf("errors %v", errs)
	}
	if len(bs.calls) != 4 || len(bs.calls[1]) != 2 || len(bs.calls[2]) != 1 || len(bs.calls[3]) != 1 {
		t.Fatalf("writes %v, want [a] [b bad] then [b] and [bad] alone", bs.calls)
	}
}
