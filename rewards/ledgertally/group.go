package ledgertally

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/negawatt/negawatt/ledger"
)

// groupCommitter posts the grants of concurrent Batch commits (and single
// Reserves) together: while one PostBatch is in flight, the commits that
// arrive queue up, and the next PostBatch carries all of them, so
// concurrent settlements share one durable commit instead of each paying
// its own (the same idea as a database's group commit).
//
// Every caller still returns only after its own transactions are durably
// posted or refused, and before its Batch releases any lock, so the
// decisions stay exact. When a combined PostBatch fails, each member's
// transactions are posted again on their own, so one member's refused
// grant (say, a scale error) never fails another member.
type groupCommitter struct {
	bp ledger.BatchPoster

	mu      sync.Mutex
	queue   []*commitReq
	posting bool
}

// groupTimeout bounds one grouped post (its members' own deadlines do not
// apply to the others' grants).
const groupTimeout = time.Minute

type commitReq struct {
	txs  []ledger.Transaction
	done chan error
}

// errLead tells a queued caller that it now posts the next group.
var errLead = errors.New("ledgertally: lead the next group")

// commit posts txs, possibly together with other callers' transactions.
// One caller at a time posts (the leader): it takes every queued request,
// its own included, posts them as one group, and then hands the lead to
// the first caller that queued meanwhile, so no caller posts more than one
// group and a leader's own latency stays bounded under sustained load.
func (g *groupCommitter) commit(ctx context.Context, txs []ledger.Transaction) error {
	req := &commitReq{txs: txs, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, req)
	if g.posting {
		// Wait whatever ctx says: the locks of the caller's batch must be
		// held until its grants are posted or refused.
		g.mu.Unlock()
		if err := <-req.done; err != errLead {
			return err
		}
		g.mu.Lock()
	}
	g.posting = true
	group := g.queue // req is in it: only a leader empties the queue
	g.queue = nil
	g.mu.Unlock()
	// Other members' requests do not share this caller's deadline;
	// groupTimeout still bounds a ledger that stops answering.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupTimeout)
	g.post(pctx, group)
	cancel()
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].done <- errLead
	} else {
		g.posting = false
	}
	g.mu.Unlock()
	return <-req.done
}

func (g *groupCommitter) post(ctx context.Context, group []*commitReq) {
	if len(group) > 1 {
		var all []ledger.Transaction
		for _, r := range group {
			all = append(all, r.txs...)
		}
		if _, err := g.bp.PostBatch(ctx, all); err == nil {
			for _, r := range group {
				r.done <- nil
			}
			return
		}
		// Someone's grant was refused: find out whose.
	}
	for _, r := range group {
		r.done <- postOwn(ctx, g.bp, r.txs)
	}
}

func postOwn(ctx context.Context, bp ledger.BatchPoster, txs []ledger.Transaction) error {
	if _, err := bp.PostBatch(ctx, txs); err != nil {
		if len(txs) == 1 {
			return fmt.Errorf("ledgertally: post award %q: %w", txs[0].Key, err)
		}
		return fmt.Errorf("ledgertally: post %d awards: %w", len(txs), err)
	}
	return nil
}
