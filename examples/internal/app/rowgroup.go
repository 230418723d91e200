package app

import (
	"context"
	"sync"
	"time"

	"github.com/negawatt/negawatt/examples/internal/store"
)

// settlementWriter writes the settlement rows of concurrent settlements
// together: while one store.PutSettlements is in flight, the rows that
// arrive queue and go out in the next one, one transaction and one
// durable commit for many requests (like ledgertally's grouping of award
// commits). Every caller returns only once its rows are committed or
// refused; when a combined write fails, each member's rows are written
// alone, so one member's bad row never fails another member.
type settlementWriter struct {
	st store.Store

	mu      sync.Mutex
	queue   []*rowsReq
	writing bool
}

// rowsTimeout bounds one grouped write of settlement rows.
const rowsTimeout = time.Minute

type rowsReq struct {
	rows []store.Settlement
	done chan error
}

func (w *settlementWriter) put(ctx context.Context, rows []store.Settlement) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &rowsReq{rows: rows, done: make(chan error, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, req)
	if w.writing {
		w.mu.Unlock()
		return <-req.done
	}
	w.writing = true
	for len(w.queue) > 0 {
		group := w.queue
		w.queue = nil
		w.mu.Unlock()
		// Not bounded by this caller's deadline (the other members'
		// rows must not fail with it), but by rowsTimeout.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rowsTimeout)
		w.write(wctx, group)
		cancel()
		w.mu.Lock()
	}
	w.writing = false
	w.mu.Unlock()
	return <-req.done
}

func (w *settlementWriter) write(ctx context.Context, group []*rowsReq) {
	if len(group) > 1 {
		var all []store.Settlement
		for _, r := range group {
			all = append(all, r.rows...)
		}
		// Two members may carry the same (customer, fact): the upserts
		// apply in order, the last one winning, as separate writes would.
		if err := w.st.PutSettlements(ctx, all); err == nil {
			for _, r := range group {
				r.done <- nil
			}
			return
		}
	}
	for _, r := range group {
		r.done <- w.st.PutSettlements(ctx, r.rows)
	}
}
