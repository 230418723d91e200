package ledgertest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
)

var cmpDecimal = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

// testConcurrentRedeem: many goroutines redeem from one account holding
// less than they ask for in total; exactly the balance is redeemed, never
// more, and every failure is ErrInsufficientFunds.
func testConcurrentRedeem(t *testing.T, e *env) {
	const workers, each, balance = 10, 8, 50
	e.post(award("fund", Alice, fmt.Sprint(balance), time.Time{}))
	var mu sync.Mutex
	ok, short := 0, 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := e.l.Post(e.ctx, redeem(fmt.Sprintf("r-%d-%d", w, i), Alice, "1"))
				mu.Lock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ledger.ErrInsufficientFunds):
					short++
				default:
					t.Errorf("redeem: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != balance || short != workers*each-balance {
		t.Errorf("%d redemptions succeeded and %d were refused, want %d and %d", ok, short, balance, workers*each-balance)
	}
	e.wantBal(Alice, avail("0"))
	e.wantBal(Redeemed, avail(fmt.Sprint(balance)))
}

// testConcurrentMixed: awards, transfers in both directions, holds and the
// same idempotency key from many goroutines at once.
func testConcurrentMixed(t *testing.T, e *env) {
	h, hasHolds := e.l.(ledger.Holder)
	e.post(award("fund-a", Alice, "100", time.Time{}))
	e.post(award("fund-b", Bob, "100", time.Time{}))
	var wg sync.WaitGroup
	seqs := make([]int64, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The same key from every goroutine: credited once.
			tx, err := e.l.Post(e.ctx, award("same", Carol, "7", time.Time{}))
			if err != nil {
				t.Errorf("same key: %v", err)
				return
			}
			seqs[g] = tx.Seq
			for i := range 5 {
				from, to := Alice, Bob
				if (g+i)%2 == 1 {
					from, to = Bob, Alice // opposite lock order: must not deadlock
				}
				if _, err := e.l.Post(e.ctx, ledger.Transaction{Key: fmt.Sprintf("x-%d-%d", g, i),
					Postings: []ledger.Posting{{From: from, To: to, Amount: D("1")}}}); err != nil {
					t.Errorf("transfer: %v", err)
				}
			}
			if hasHolds {
				id := fmt.Sprintf("h-%d", g)
				if _, err := h.Hold(e.ctx, ledger.HoldRequest{ID: id, Account: Carol, To: Redeemed, Amount: D("0.5"), Deadline: T0.Add(time.Hour)}); err != nil {
					t.Errorf("hold: %v", err)
					return
				}
				if _, err := h.CommitHold(e.ctx, id, D("0.25")); err != nil {
					t.Errorf("commit: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	for _, s := range seqs {
		if s != seqs[0] {
			t.Errorf("same key got different transactions: %v", seqs)
			break
		}
	}
	e.wantBal(Alice, avail("100"))
	e.wantBal(Bob, avail("100"))
	if hasHolds {
		e.wantBal(Carol, avail("5"))
		e.wantBal(Redeemed, avail("2"))
	} else {
		e.wantBal(Carol, avail("7"))
	}
}
