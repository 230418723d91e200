package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// view is the hold as callers see it: an open hold past its deadline is
// expired even before a sweep records it.
func (r *HoldRecord) view(now time.Time) Hold {
	h := r.Hold
	h.Metadata = copyMeta(h.Metadata)
	if h.Status == HoldOpen && !h.Deadline.After(now) {
		h.Status = HoldExpired
		h.ResolvedAt = h.Deadline
	}
	return h
}

func commitKey(holdID string) string { return reservedKey + "hold/" + holdID + "/commit" }

// Hold implements [Holder].
func (e *Engine) Hold(ctx context.Context, req HoldRequest) (Hold, error) {
	if err := checkID(req.ID, "ID", req.ID); err != nil {
		return Hold{}, err
	}
	if err := checkID(req.ID, "Account", req.Account); err != nil {
		return Hold{}, err
	}
	if err := checkID(req.ID, "To", req.To); err != nil {
		return Hold{}, err
	}
	if req.Account == req.To {
		return Hold{}, &FieldError{Key: req.ID, Field: "To", Reason: "same account as Account"}
	}
	if err := checkAmount(req.ID, "Amount", req.Amount); err != nil {
		return Hold{}, err
	}
	if req.Deadline.IsZero() {
		return Hold{}, &FieldError{Key: req.ID, Field: "Deadline", Reason: "required"}
	}
	if err := checkTime(req.ID, "Deadline", req.Deadline); err != nil {
		return Hold{}, err
	}
	if err := checkMeta(req.ID, req.Metadata, false); err != nil {
		return Hold{}, err
	}
	req.Deadline = normTime(req.Deadline)
	req.Metadata = copyMeta(req.Metadata)
	hash := hashHold(&req)
	var out Hold
	err := e.run(ctx, true, func(w *work) error {
		if err := w.lock([]string{req.Account, req.To}, true); err != nil {
			return err
		}
		old, err := w.stx.Holds(w.ctx, []string{req.ID})
		if err != nil {
			return fmt.Errorf("ledger: look up hold: %w", err)
		}
		if len(old) > 0 {
			if old[0].Hash != hash {
				return fmt.Errorf("ledger: hold %q: %w", req.ID, ErrIdempotencyConflict)
			}
			out = old[0].view(w.now)
			return nil
		}
		a, err := w.account(req.ID, "Account", req.Account)
		if err != nil {
			return err
		}
		to, err := w.account(req.ID, "To", req.To)
		if err != nil {
			return err
		}
		if a.st.Currency != to.st.Currency {
			return &FieldError{Key: req.ID, Field: "To", Err: ErrUnbalanced,
				Reason: fmt.Sprintf("%q is in %s but %q is in %s", req.Account, a.st.Currency, req.To, to.st.Currency)}
		}
		if err := checkScale(req.ID, "Amount", req.Amount, a.cur); err != nil {
			return err
		}
		if !req.Deadline.After(w.now) {
			return &FieldError{Key: req.ID, Field: "Deadline",
				Reason: fmt.Sprintf("%s is not after the ledger time %s", req.Deadline.Format(timeFmt), w.now.Format(timeFmt))}
		}
		rec := HoldRecord{Hold: Hold{HoldRequest: req, Status: HoldOpen, CreatedAt: w.now}, Hash: hash}
		if a.keeper {
			if err := w.loadBooks([]string{a.st.ID}); err != nil {
				return err
			}
			uses, err := w.consume(a, req.Amount, req.ID, nil)
			if err != nil {
				return err
			}
			rec.Reserved = uses
		}
		a.st.Held = a.st.Held.Add(req.Amount)
		a.dirty = true
		w.ch.NewHolds = append(w.ch.NewHolds, rec)
		w.flush()
		out = rec.view(w.now)
		return nil
	})
	if err != nil {
		return Hold{}, err
	}
	return out, nil
}

// lockHold reads a hold, locks its accounts, and reads it again under the
// locks (every change to a hold locks its account first, so the second
// read is current). It also loads what releasing it needs.
func (w *work) lockHold(id string) (*HoldRecord, error) {
	hs, err := w.stx.Holds(w.ctx, []string{id})
	if err != nil {
		return nil, fmt.Errorf("ledger: look up hold: %w", err)
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("ledger: hold %q: %w", id, ErrNotFound)
	}
	if err := w.lock([]string{hs[0].Account, hs[0].To}, false); err != nil {
		return nil, err
	}
	hs, err = w.stx.Holds(w.ctx, []string{id})
	if err != nil {
		return nil, fmt.Errorf("ledger: look up hold: %w", err)
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("ledger: hold %q: %w", id, ErrNotFound)
	}
	h := &hs[0]
	if h.Status == HoldOpen {
		if err := w.prepRelease([]*HoldRecord{h}); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// prepRelease loads the lots and books that releasing these holds touches.
func (w *work) prepRelease(hs []*HoldRecord) error {
	var accts []string
	var lots []LotID
	for _, h := range hs {
		accts = append(accts, h.Account, h.To)
		for _, u := range h.Reserved {
			lots = append(lots, u.Lot)
		}
	}
	if err := w.loadBooks(accts); err != nil {
		return err
	}
	return w.loadLots(lots)
}

// release gives a hold's reservation back (all of it, or what a commit of
// committed did not use) and records its final status.
// expireIfDue resolves an open hold whose deadline has passed as expired,
// so a late commit or void records the expiry and reports ErrHoldExpired
// (after the expiry itself is committed); it returns nil while the hold is
// still live.
func (w *work) expireIfDue(h *HoldRecord, id string) error {
	if h.Deadline.After(w.now) {
		return nil
	}
	w.release(h, HoldExpired, h.Deadline, h.Reserved)
	w.flush()
	return &commitThen{fmt.Errorf("ledger: hold %q expired at %s: %w", id, h.Deadline.Format(timeFmt), ErrHoldExpired)}
}

func (w *work) release(h *HoldRecord, status HoldStatus, at time.Time, giveBack []LotUse) {
	a := w.get(h.Account)
	a.st.Held = a.st.Held.Sub(h.Amount)
	a.dirty = true
	if a.keeper {
		w.giveBack(giveBack)
	}
	h.Status = status
	h.ResolvedAt = at
	w.ch.Holds = append(w.ch.Holds, *h)
}

// CommitHold implements [Holder].
func (e *Engine) CommitHold(ctx context.Context, id string, amount decimal.Decimal) (Transaction, error) {
	if err := checkAmount(id, "amount", amount); err != nil {
		return Transaction{}, err
	}
	var out Transaction
	err := e.run(ctx, true, func(w *work) error {
		h, err := w.lockHold(id)
		if err != nil {
			return err
		}
		switch h.Status {
		case HoldCommitted:
			if !h.Committed.Equal(amount) {
				return fmt.Errorf("ledger: hold %q already committed %s: %w", id, h.Committed, ErrHoldResolved)
			}
			txs, err := w.stx.Transactions(w.ctx, []string{h.CommitKey})
			if err != nil {
				return fmt.Errorf("ledger: look up commit: %w", err)
			}
			if len(txs) == 0 {
				return fmt.Errorf("ledger: hold %q: commit transaction %q missing: %w", id, h.CommitKey, ErrNotFound)
			}
			out = txs[0].Transaction
			return nil
		case HoldVoided:
			return fmt.Errorf("ledger: hold %q was voided: %w", id, ErrHoldResolved)
		case HoldExpired:
			return fmt.Errorf("ledger: hold %q expired at %s: %w", id, h.Deadline.Format(timeFmt), ErrHoldExpired)
		}
		if err := w.expireIfDue(h, id); err != nil {
			return err
		}
		a := w.get(h.Account)
		if err := checkScale(id, "amount", amount, a.cur); err != nil {
			return err
		}
		if amount.GreaterThan(h.Amount) {
			return &FieldError{Key: id, Field: "amount", Reason: fmt.Sprintf("%s exceeds the hold's %s", amount, h.Amount)}
		}
		key := commitKey(id)
		txs, err := w.stx.Transactions(w.ctx, []string{key})
		if err != nil {
			return fmt.Errorf("ledger: look up commit key: %w", err)
		}
		if len(txs) > 0 {
			return fmt.Errorf("ledger: hold %q: key %q already used: %w", id, key, ErrIdempotencyConflict)
		}
		// The commit takes the earliest-expiring part of the reservation;
		// the rest goes back to its lots.
		used, rest := splitUses(h.Reserved, amount)
		meta := copyMeta(h.Metadata)
		if meta == nil {
			meta = make(map[string]string, 2)
		}
		meta[MetaReason] = "hold-commit"
		meta[MetaHold] = id
		tx := Transaction{Key: key, Metadata: meta,
			Postings: []Posting{{From: h.Account, To: h.To, Amount: amount}}}
		if err := w.reserveSeq(1); err != nil {
			return err
		}
		w.release(h, HoldCommitted, w.now, rest)
		rec, err := w.applyTx(&tx, hashCommit(id, amount), &txPlan{consumed: used, useConsumed: true}, nil)
		if err != nil {
			return err
		}
		out = rec.Transaction
		hh := &w.ch.Holds[len(w.ch.Holds)-1]
		hh.Committed = amount
		hh.CommitKey = key
		w.flush()
		return nil
	})
	if err != nil {
		return Transaction{}, err
	}
	return out, nil
}

// splitUses splits reserved lot uses into the first amount and the rest.
func splitUses(uses []LotUse, amount decimal.Decimal) (used, rest []LotUse) {
	need := amount
	for _, u := range uses {
		switch {
		case need.Sign() == 0:
			rest = append(rest, u)
		case u.Amount.LessThanOrEqual(need):
			used = append(used, u)
			need = need.Sub(u.Amount)
		default:
			used = append(used, LotUse{Lot: u.Lot, Amount: need})
			rest = append(rest, LotUse{Lot: u.Lot, Amount: u.Amount.Sub(need)})
			need = decimal.Decimal{}
		}
	}
	return used, rest
}

// VoidHold implements [Holder].
func (e *Engine) VoidHold(ctx context.Context, id string) (Hold, error) {
	var out Hold
	err := e.run(ctx, true, func(w *work) error {
		h, err := w.lockHold(id)
		if err != nil {
			return err
		}
		switch h.Status {
		case HoldVoided:
			out = h.view(w.now)
			return nil
		case HoldCommitted:
			return fmt.Errorf("ledger: hold %q was committed: %w", id, ErrHoldResolved)
		case HoldExpired:
			return fmt.Errorf("ledger: hold %q expired at %s: %w", id, h.Deadline.Format(timeFmt), ErrHoldExpired)
		}
		if err := w.expireIfDue(h, id); err != nil {
			return err
		}
		w.release(h, HoldVoided, w.now, h.Reserved)
		w.flush()
		out = h.view(w.now)
		return nil
	})
	if err != nil {
		return Hold{}, err
	}
	return out, nil
}

// GetHold implements [Holder].
func (e *Engine) GetHold(ctx context.Context, id string) (Hold, error) {
	var out Hold
	err := e.run(ctx, false, func(w *work) error {
		hs, err := w.stx.Holds(w.ctx, []string{id})
		if err != nil {
			return fmt.Errorf("ledger: look up hold: %w", err)
		}
		if len(hs) == 0 {
			return fmt.Errorf("ledger: hold %q: %w", id, ErrNotFound)
		}
		out = hs[0].view(w.now)
		return nil
	})
	return out, err
}
