package postgres

import (
	"context"
	"sync"
	"time"
)

// grouper pipelines concurrent reads of one kind: while one group is on
// the wire, the requests that arrive queue, and the next group carries all
// of them (up to max) in one round trip — one network exchange and one
// server wake-up for many callers instead of one each. A request joins
// only a group that has not been sent yet, so its statement runs after its
// caller asked and before the caller returns: grouping changes no answer.
//
// The zero grouper is not usable: max and run must be set.
type grouper[R groupReq] struct {
	max int                                  // requests one group carries
	run func(ctx context.Context, group []R) // sends one group, records each answer

	mu    sync.Mutex
	queue []R
	busy  bool // drain is running
}

// groupReq is one queued request: finish tells its caller the answer is
// recorded.
type groupReq interface{ finish() }

// groupTimeout bounds one group: its members' own deadlines do not apply to
// the others (a caller whose context ends stops waiting; the group goes on
// without it, since a read has no effect to wait for).
const groupTimeout = time.Minute

// add queues r; r.finish is called once its group has run.
func (g *grouper[R]) add(r R) {
	g.mu.Lock()
	g.queue = append(g.queue, r)
	if !g.busy {
		g.busy = true
		go g.drain()
	}
	g.mu.Unlock()
}

// drain sends the queued requests, a group at a time, until the queue is
// empty.
func (g *grouper[R]) drain() {
	for {
		g.mu.Lock()
		n := min(len(g.queue), g.max)
		if n == 0 {
			g.busy = false
			g.mu.Unlock()
			return
		}
		group := g.queue[:n:n]
		g.queue = g.queue[n:]
		if len(g.queue) == 0 {
			g.queue = nil
		}
		g.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
		g.run(ctx, group)
		cancel()
		for _, r := range group {
			r.finish()
		}
	}
}
