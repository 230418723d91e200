package ledger

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// sweepPage bounds the work of one storage transaction in a sweep.
const sweepPage = 200

// SweepExpired implements [Expirer].
func (e *Engine) SweepExpired(ctx context.Context, now time.Time) (SweepResult, error) {
	now = normTime(now)
	if now.IsZero() {
		now = e.now()
	}
	var res SweepResult
	for {
		n := 0
		err := e.run(ctx, true, func(w *work) error {
			expired := []string(nil)
			var err error
			n, expired, err = w.sweepHolds(now)
			if err == nil {
				res.HoldsExpired = append(res.HoldsExpired, expired...)
			}
			return err
		})
		if err != nil {
			return res, err
		}
		if n < sweepPage {
			break
		}
	}
	for {
		n := 0
		err := e.run(ctx, true, func(w *work) error {
			var txs []Transaction
			var err error
			n, txs, err = w.sweepLots(now)
			if err == nil {
				res.Transactions = append(res.Transactions, txs...)
			}
			return err
		})
		if err != nil {
			return res, err
		}
		if n < sweepPage {
			break
		}
	}
	return res, nil
}

func (w *work) sweepHolds(now time.Time) (int, []string, error) {
	hs, err := w.stx.ExpiredHolds(w.ctx, now, sweepPage)
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: find expired holds: %w", err)
	}
	if len(hs) == 0 {
		return 0, nil, nil
	}
	var accts, ids []string
	for _, h := range hs {
		accts = append(accts, h.Account, h.To)
		ids = append(ids, h.ID)
	}
	if err := w.lock(accts, false); err != nil {
		return 0, nil, err
	}
	hs, err = w.stx.Holds(w.ctx, ids)
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: look up holds: %w", err)
	}
	slices.SortFunc(hs, func(a, b HoldRecord) int { return compareStrings(a.ID, b.ID) })
	var open []*HoldRecord
	for i := range hs {
		if hs[i].Status == HoldOpen && !hs[i].Deadline.After(now) {
			open = append(open, &hs[i])
		}
	}
	if err := w.prepRelease(open); err != nil {
		return 0, nil, err
	}
	var done []string
	for _, h := range open {
		w.release(h, HoldExpired, h.Deadline, h.Reserved)
		done = append(done, h.ID)
	}
	w.flush()
	return len(ids), done, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (w *work) sweepLots(now time.Time) (int, []Transaction, error) {
	ls, err := w.stx.ExpiredLots(w.ctx, now, sweepPage)
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: find expired lots: %w", err)
	}
	if len(ls) == 0 {
		return 0, nil, nil
	}
	var accts []string
	ids := make([]LotID, 0, len(ls))
	for _, l := range ls {
		accts = append(accts, l.Account)
		ids = append(ids, l.ID)
	}
	// Lock the expired accounts of every currency in the same sorted call.
	for code := range w.e.cfg.currencies {
		accts = append(accts, w.e.cfg.expiredAccount(code))
	}
	if err := w.lock(accts, false); err != nil {
		return 0, nil, err
	}
	if err := w.loadLots(ids); err != nil {
		return 0, nil, err
	}
	slices.SortFunc(ids, func(a, b LotID) int {
		ra, rb := w.lots[a], w.lots[b]
		if ra == nil || rb == nil {
			return 0
		}
		if lotBefore(&ra.l, &rb.l) {
			return -1
		}
		if lotBefore(&rb.l, &ra.l) {
			return 1
		}
		return 0
	})
	type due struct {
		r  *lotRef
		to string
	}
	var todo []due
	for _, id := range ids {
		r := w.lots[id]
		if r == nil || r.l.Remaining.Sign() <= 0 || r.l.ExpiresAt.IsZero() || r.l.ExpiresAt.After(now) {
			continue
		}
		a := w.get(r.l.Account)
		if a == nil {
			return 0, nil, fmt.Errorf("ledger: lot %d.%d: account %q: %w", id.Seq, id.Posting, r.l.Account, ErrNotFound)
		}
		to := w.e.cfg.expiredAccount(a.st.Currency)
		if w.get(to) == nil {
			if err := w.addAccount(Account{ID: to, Kind: KindExpired, Currency: a.st.Currency}); err != nil {
				return 0, nil, err
			}
		}
		todo = append(todo, due{r, to})
	}
	if err := w.reserveSeq(len(todo)); err != nil {
		return 0, nil, err
	}
	txs := make([]Transaction, 0, len(todo))
	for _, d := range todo {
		l := &d.r.l
		amt := l.Remaining
		cum := l.Expired.Add(amt)
		l.Remaining = l.Remaining.Sub(amt)
		l.Expired = cum
		d.r.dirty = true
		lot := fmt.Sprintf("%d.%d", l.ID.Seq, l.ID.Posting)
		tx := Transaction{
			Key:         fmt.Sprintf("%sexpire/%s/%s", reservedKey, lot, cum),
			Postings:    []Posting{{From: l.Account, To: d.to, Amount: amt}},
			Metadata:    map[string]string{MetaReason: "expiry", MetaLot: lot},
			EffectiveAt: l.ExpiresAt,
		}
		rec, err := w.applyTx(&tx, hashExpiry(l.ID, cum), &txPlan{
			consumed: []LotUse{{Lot: l.ID, Amount: amt}}, useConsumed: true}, nil)
		if err != nil {
			return 0, nil, err
		}
		txs = append(txs, rec.Transaction)
	}
	w.flush()
	return len(ls), txs, nil
}
