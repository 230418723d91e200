package app

import (
	"context"
	"errors"
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

// errLead tells a queued caller that it now writes the next group.
var errLead = errors.New("app: lead the next group of settlement rows")

// put writes rows, possibly together with other callers' rows. One caller
// at a time writes (the leader): it takes every queued request, its own
// included, writes them as one group and hands the lead to the first
// caller that queued meanwhile, so no caller writes more than one group
// (ledgertally's group commit works the same way).
func (w *settlementWriter) put(ctx context.Context, rows []store.Settlement) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &rowsReq{rows: rows, done: make(chan error, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, req)
	if w.writing {
		w.mu.Unlock()
		if err := <-req.done; err != errLead {
			return err
		}
		w.mu.Lock()
	}
	w.writing = true
	group := w.queue // req is in it: only a leader empties the queue
	w.queue = nil
	w.mu.Unlock()
	// Not bounded by this caller's deadline (the other members' rows must
	// not fail with it), but by rowsTimeout.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rowsTimeout)
	w.write(wctx, group)
	cancel()
	w.mu.Lock()
	if len(w.queue) > 0 {
		w.queue[0].done <- errLead
	} else {
		w.writing = false
	}
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
