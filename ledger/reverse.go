package ledger

import (
	"context"
	"fmt"
)

// Reverse implements [Reverser].
func (e *Engine) Reverse(ctx context.Context, key, originalKey string) (Transaction, error) {
	if err := checkID(key, "Key", key); err != nil {
		return Transaction{}, err
	}
	if len(key) >= len(reservedKey) && key[:len(reservedKey)] == reservedKey {
		return Transaction{}, &FieldError{Key: key, Field: "Key", Reason: "keys starting \"ledger/\" are reserved for the ledger's own transactions"}
	}
	if err := checkID(key, "originalKey", originalKey); err != nil {
		return Transaction{}, err
	}
	hash := hashReverse(key, originalKey)
	var out Transaction
	err := e.run(ctx, true, func(w *work) error {
		recs, err := w.stx.Transactions(w.ctx, []string{originalKey})
		if err != nil {
			return fmt.Errorf("ledger: look up %q: %w", originalKey, err)
		}
		if len(recs) == 0 {
			return fmt.Errorf("ledger: reverse %q: transaction %q: %w", key, originalKey, ErrNotFound)
		}
		var ids []string
		for _, p := range recs[0].Postings {
			ids = append(ids, p.From, p.To)
		}
		if err := w.lock(ids, false); err != nil {
			return err
		}
		// Read again under the locks: ReversedBy changes only under them.
		recs, err = w.stx.Transactions(w.ctx, []string{key, originalKey})
		if err != nil {
			return fmt.Errorf("ledger: look up %q: %w", originalKey, err)
		}
		var o *TxRecord
		for i := range recs {
			switch recs[i].Key {
			case key:
				if recs[i].Hash != hash {
					return fmt.Errorf("ledger: key %q: %w", key, ErrIdempotencyConflict)
				}
				out = recs[i].Transaction
				return nil
			case originalKey:
				o = &recs[i]
			}
		}
		if o == nil {
			return fmt.Errorf("ledger: reverse %q: transaction %q: %w", key, originalKey, ErrNotFound)
		}
		if o.Reverses != "" {
			return &FieldError{Key: key, Field: "originalKey", Reason: fmt.Sprintf("%q is itself a reversal (of %q); post a new transaction instead", originalKey, o.Reverses)}
		}
		if o.ReversedBy != "" {
			return fmt.Errorf("ledger: %q was reversed by %q: %w", originalKey, o.ReversedBy, ErrAlreadyReversed)
		}
		meta := copyMeta(o.Metadata)
		if meta == nil {
			meta = make(map[string]string, 1)
		}
		meta[MetaReason] = "reversal"
		tx := Transaction{Key: key, Metadata: meta, EffectiveAt: o.EffectiveAt, Reverses: originalKey,
			Postings: make([]Posting, len(o.Postings))}
		plan := &txPlan{prefer: map[int][]LotID{}, restore: map[int][]LotUse{}}
		var lots []LotID
		for i, p := range o.Postings {
			tx.Postings[i] = Posting{From: p.To, To: p.From, Amount: p.Amount}
			own := LotID{Seq: o.Seq, Posting: int32(i)}
			plan.prefer[i] = []LotID{own}
			lots = append(lots, own)
		}
		for _, u := range o.Consumed {
			plan.restore[int(u.Posting)] = append(plan.restore[int(u.Posting)], u)
			lots = append(lots, u.Lot)
		}
		if err := w.loadBooks(ids); err != nil {
			return err
		}
		if err := w.loadLots(lots); err != nil {
			return err
		}
		if err := w.reserveSeq(1); err != nil {
			return err
		}
		rec, err := w.applyTx(&tx, hash, plan, nil)
		if err != nil {
			return err
		}
		out = rec.Transaction
		w.ch.Reversed = append(w.ch.Reversed, Reversal{Key: originalKey, By: key})
		w.flush()
		return nil
	})
	if err != nil {
		return Transaction{}, err
	}
	return out, nil
}
