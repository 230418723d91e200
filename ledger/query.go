package ledger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Lookup implements [Ledger].
func (e *Engine) Lookup(ctx context.Context, key string) (Transaction, error) {
	if tr, ok := e.store.(TransactionReader); ok && !e.closed.Load() {
		rec, found, err := tr.Transaction(ctx, key)
		switch {
		case err == nil && !found:
			return Transaction{}, fmt.Errorf("ledger: transaction %q: %w", key, ErrNotFound)
		case err == nil:
			return rec.Transaction, nil
		case !errors.Is(err, ErrRetry):
			return Transaction{}, fmt.Errorf("ledger: look up %q: %w", key, err)
		}
		// A transient failure: the general path below retries.
	}
	var out Transaction
	err := e.run(ctx, false, func(w *work) error {
		recs, err := w.stx.Transactions(w.ctx, []string{key})
		if err != nil {
			return fmt.Errorf("ledger: look up %q: %w", key, err)
		}
		if len(recs) == 0 {
			return fmt.Errorf("ledger: transaction %q: %w", key, ErrNotFound)
		}
		out = recs[0].Transaction
		return nil
	})
	return out, err
}

// Balance implements [Ledger].
//
// For asOf at or after the ledger's current time, the balance is the current
// state projected to asOf: holds whose deadline is at or before asOf are
// released and lots expiring at or before asOf count as Expired, exactly
// what a sweep at asOf would do. For an earlier asOf, the transactions
// recorded after asOf are undone (their postings, and their effect on
// lots), holds created after asOf are ignored and holds open at asOf but
// resolved since are counted as held again. Looking back costs a walk over
// the account's history since asOf (and, on a store without
// [ResolvedHoldLister], over all holds).
func (e *Engine) Balance(ctx context.Context, account string, asOf time.Time) (Balance, error) {
	asOf = normTime(asOf)
	if sn, ok := e.store.(AccountSnapshotter); ok {
		if out, done, err := e.snapshotBalance(ctx, sn, account, asOf); done {
			return out, err
		}
	}
	var out Balance
	err := e.run(ctx, false, func(w *work) error {
		if asOf.IsZero() {
			asOf = w.now
		}
		if err := w.lock([]string{account}, false); err != nil {
			return err
		}
		a := w.get(account)
		if a == nil {
			return fmt.Errorf("ledger: account %q: %w", account, ErrNotFound)
		}
		hs, err := w.stx.OpenHolds(w.ctx, account)
		if err != nil {
			return fmt.Errorf("ledger: open holds: %w", err)
		}
		posted := a.posted()
		lots := map[LotID]*Lot{}
		if a.keeper {
			ls, err := w.stx.OpenLots(w.ctx, []string{account})
			if err != nil {
				return fmt.Errorf("ledger: load lots: %w", err)
			}
			for i := range ls {
				lots[ls[i].ID] = &ls[i]
			}
		}
		// fetch loads lots (even exhausted ones) that are not in the map.
		fetch := func(ids []LotID) error {
			var need []LotID
			for _, id := range ids {
				if lots[id] == nil {
					need = append(need, id)
				}
			}
			if len(need) == 0 {
				return nil
			}
			ls, err := w.stx.Lots(w.ctx, need)
			if err != nil {
				return fmt.Errorf("ledger: load lots: %w", err)
			}
			for i := range ls {
				lots[ls[i].ID] = &ls[i]
			}
			return nil
		}
		// Holds created after asOf did not exist: give their reservations
		// back before rewinding lots. Holds due by asOf are released after.
		held := decimal.Decimal{}
		var unborn, due []LotUse
		for _, h := range hs {
			switch {
			case h.CreatedAt.After(asOf):
				unborn = append(unborn, h.Reserved...)
			case h.Deadline.After(asOf):
				held = held.Add(h.Amount)
			default:
				due = append(due, h.Reserved...)
			}
		}
		giveBack := func(uses []LotUse) error {
			if !a.keeper {
				return nil
			}
			ids := make([]LotID, 0, len(uses))
			for _, u := range uses {
				ids = append(ids, u.Lot)
			}
			if err := fetch(ids); err != nil {
				return err
			}
			for _, u := range uses {
				if l := lots[u.Lot]; l != nil {
					l.Remaining = l.Remaining.Add(u.Amount)
				}
			}
			return nil
		}
		if err := giveBack(unborn); err != nil {
			return err
		}
		if asOf.Before(w.now) {
			p, err := w.undoAfter(a, asOf, lots, fetch)
			if err != nil {
				return err
			}
			posted = p
			// Holds open at asOf but resolved since: their points were
			// reserved (out of the lots) and held at asOf.
			rs, err := w.resolvedHolds(account, asOf)
			if err != nil {
				return err
			}
			var take []LotUse
			for _, h := range rs {
				if !h.CreatedAt.After(asOf) && h.Deadline.After(asOf) {
					held = held.Add(h.Amount)
					take = append(take, h.Reserved...)
				}
			}
			if a.keeper {
				ids := make([]LotID, 0, len(take))
				for _, u := range take {
					ids = append(ids, u.Lot)
				}
				if err := fetch(ids); err != nil {
					return err
				}
				for _, u := range take {
					if l := lots[u.Lot]; l != nil {
						l.Remaining = l.Remaining.Sub(u.Amount)
					}
				}
			}
		}
		if err := giveBack(due); err != nil {
			return err
		}
		out = Balance{Account: account, Currency: a.st.Currency, AsOf: asOf, Posted: posted, Held: held}
		e.addLots(&out, maps.Values(lots))
		return nil
	})
	return out, err
}

// snapshotBalance answers Balance from one AccountSnapshot read when asOf
// is now or later and no open hold is due by asOf (the common case: a
// customer looking at their points). done is false when the general path
// must answer instead (a past instant, a due or unborn hold, or a
// transient store error, which the general path retries).
func (e *Engine) snapshotBalance(ctx context.Context, sn AccountSnapshotter, account string, asOf time.Time) (out Balance, done bool, err error) {
	if e.closed.Load() {
		return out, true, ErrClosed
	}
	now := e.now()
	if asOf.IsZero() {
		asOf = now
	}
	if asOf.Before(now) {
		return out, false, nil
	}
	st, holds, lots, found, err := sn.AccountSnapshot(ctx, account)
	switch {
	case errors.Is(err, ErrRetry):
		return out, false, nil
	case err != nil:
		return out, true, fmt.Errorf("ledger: account snapshot: %w", err)
	case !found:
		return out, true, fmt.Errorf("ledger: account %q: %w", account, ErrNotFound)
	}
	var held decimal.Decimal
	for i := range holds {
		h := &holds[i]
		if h.CreatedAt.After(asOf) || !h.Deadline.After(asOf) {
			return out, false, nil
		}
		held = held.Add(h.Amount)
	}
	out = Balance{Account: account, Currency: st.Currency, AsOf: asOf, Posted: st.Posted, Held: held}
	keeper := st.Flags&FlagNoNegative != 0 // only lot keepers' lots count, as in the general path
	e.addLots(&out, func(yield func(*Lot) bool) {
		for i := range lots {
			if !keeper || !yield(&lots[i]) {
				return
			}
		}
	})
	return out, true, nil
}

// addLots completes b from the account's lots as of b.AsOf: expired and
// pending-expiry points, the next expiries, and the available balance
// (b.Posted and b.Held must be set).
func (e *Engine) addLots(b *Balance, lots iter.Seq[*Lot]) {
	byAt := map[time.Time]decimal.Decimal{}
	for l := range lots {
		if l.Remaining.Sign() <= 0 || l.ExpiresAt.IsZero() {
			continue
		}
		if !l.ExpiresAt.After(b.AsOf) {
			b.Expired = b.Expired.Add(l.Remaining)
		} else {
			b.PendingExpiry = b.PendingExpiry.Add(l.Remaining)
			at := l.ExpiresAt.UTC() // group equal instants whatever zone a store returns
			byAt[at] = byAt[at].Add(l.Remaining)
		}
	}
	b.Available = b.Posted.Sub(b.Held).Sub(b.Expired)
	for at, amt := range byAt {
		b.NextExpiries = append(b.NextExpiries, Expiry{At: at, Amount: amt})
	}
	slices.SortFunc(b.NextExpiries, func(x, y Expiry) int { return x.At.Compare(y.At) })
	if len(b.NextExpiries) > e.cfg.expiryPreview {
		b.NextExpiries = b.NextExpiries[:e.cfg.expiryPreview]
	}
	if len(b.NextExpiries) == 0 {
		b.NextExpiries = nil
	}
}

// resolvedHolds lists the account's holds resolved after the instant, with
// the store's index when it has one.
func (w *work) resolvedHolds(account string, after time.Time) ([]HoldRecord, error) {
	if rl, ok := w.stx.(ResolvedHoldLister); ok {
		hs, err := rl.ResolvedHolds(w.ctx, account, after)
		if err != nil {
			return nil, fmt.Errorf("ledger: resolved holds: %w", err)
		}
		return hs, nil
	}
	var out []HoldRecord
	for cursor := ""; ; {
		hs, err := w.stx.ScanHolds(w.ctx, cursor, 500)
		if err != nil {
			return nil, fmt.Errorf("ledger: scan holds: %w", err)
		}
		for _, h := range hs {
			if h.Account == account && h.Status != HoldOpen && h.ResolvedAt.After(after) {
				out = append(out, h)
			}
			cursor = h.ID
		}
		if len(hs) < 500 {
			return out, nil
		}
	}
}

// undoAfter walks the account's history newest first and undoes every
// transaction recorded after asOf: it returns the posted total at asOf and
// rewinds the lots in place.
func (w *work) undoAfter(a *acct, asOf time.Time, lots map[LotID]*Lot, fetch func([]LotID) error) (decimal.Decimal, error) {
	posted := a.posted()
	cursor := int64(0)
	for {
		page, err := w.stx.History(w.ctx, a.st.ID, cursor, true, 256)
		if err != nil {
			return posted, fmt.Errorf("ledger: history: %w", err)
		}
		for _, rec := range page {
			if !rec.PostedAt.After(asOf) {
				return posted, nil
			}
			var need []LotID
			for _, u := range rec.Consumed {
				need = append(need, u.Lot)
			}
			for i := range rec.Postings {
				need = append(need, LotID{Seq: rec.Seq, Posting: int32(i)})
			}
			if a.keeper {
				if err := fetch(need); err != nil {
					return posted, err
				}
			}
			for i, p := range rec.Postings {
				if p.To == a.st.ID {
					posted = posted.Sub(p.Amount)
					if l := lots[LotID{Seq: rec.Seq, Posting: int32(i)}]; l != nil {
						l.Remaining = decimal.Decimal{} // did not exist yet
					}
				}
				if p.From == a.st.ID {
					posted = posted.Add(p.Amount)
				}
			}
			for _, u := range rec.Consumed {
				if l := lots[u.Lot]; l != nil && l.Account == a.st.ID {
					l.Remaining = l.Remaining.Add(u.Amount)
				}
			}
			// A reversal refilled the lots its original consumed.
			if rec.Reverses != "" && a.keeper {
				orig, err := w.stx.Transactions(w.ctx, []string{rec.Reverses})
				if err != nil {
					return posted, fmt.Errorf("ledger: look up %q: %w", rec.Reverses, err)
				}
				for _, o := range orig {
					var ids []LotID
					for _, u := range o.Consumed {
						ids = append(ids, u.Lot)
					}
					if err := fetch(ids); err != nil {
						return posted, err
					}
					for _, u := range o.Consumed {
						if l := lots[u.Lot]; l != nil && l.Account == a.st.ID {
							l.Remaining = l.Remaining.Sub(u.Amount)
						}
					}
				}
			}
			cursor = rec.Seq
		}
		if len(page) < 256 {
			return posted, nil
		}
	}
}

// History implements [Ledger].
func (e *Engine) History(ctx context.Context, q HistoryQuery) (HistoryPage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	if limit < 0 || limit > 1000 {
		return HistoryPage{}, &FieldError{Field: "HistoryQuery.Limit", Reason: fmt.Sprintf("%d outside 1..1000", q.Limit)}
	}
	cursor, err := decodeCursor(q.Cursor, q.NewestFirst)
	if err != nil {
		return HistoryPage{}, err
	}
	var out HistoryPage
	err = e.run(ctx, false, func(w *work) error {
		if err := w.lock([]string{q.Account}, false); err != nil {
			return err
		}
		if w.get(q.Account) == nil {
			return fmt.Errorf("ledger: account %q: %w", q.Account, ErrNotFound)
		}
		recs, err := w.stx.History(w.ctx, q.Account, cursor, q.NewestFirst, limit+1)
		if err != nil {
			return fmt.Errorf("ledger: history: %w", err)
		}
		more := len(recs) > limit
		if more {
			recs = recs[:limit]
		}
		out.Transactions = make([]Transaction, len(recs))
		for i := range recs {
			out.Transactions[i] = recs[i].Transaction
		}
		if more {
			out.Next = encodeCursor(recs[len(recs)-1].Seq, q.NewestFirst)
		}
		return nil
	})
	return out, err
}

// Cursors are opaque to callers: "v1", the direction and the last Seq seen,
// base64url-encoded.
func encodeCursor(seq int64, desc bool) string {
	dir := "a"
	if desc {
		dir = "d"
	}
	return base64.RawURLEncoding.EncodeToString([]byte("v1." + dir + "." + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string, desc bool) (int64, error) {
	if c == "" {
		return 0, nil
	}
	bad := func(why string) (int64, error) {
		return 0, &FieldError{Field: "HistoryQuery.Cursor", Reason: why}
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return bad("not a cursor returned by History")
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 || parts[0] != "v1" || (parts[1] != "a" && parts[1] != "d") {
		return bad("not a cursor returned by History")
	}
	if (parts[1] == "d") != desc {
		return bad("cursor was made for the other order (NewestFirst)")
	}
	seq, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || seq <= 0 {
		return bad("not a cursor returned by History")
	}
	return seq, nil
}

// AwardedSum implements [AwardSummer].
func (e *Engine) AwardedSum(ctx context.Context, q AwardQuery) (decimal.Decimal, error) {
	if q.TagKey == "" {
		return decimal.Decimal{}, &FieldError{Field: "AwardQuery.TagKey", Reason: "required"}
	}
	if q.From.IsZero() || q.To.IsZero() || q.To.Before(q.From) {
		return decimal.Decimal{}, &FieldError{Field: "AwardQuery.From/To", Reason: "need a window From ≤ To, both set"}
	}
	from, to := normTime(q.From), normTime(q.To)
	var out decimal.Decimal
	err := e.run(ctx, false, func(w *work) error {
		if err := w.lock([]string{q.Account}, false); err != nil {
			return err
		}
		if w.get(q.Account) == nil {
			return fmt.Errorf("ledger: account %q: %w", q.Account, ErrNotFound)
		}
		cr, dr, err := w.stx.SumTagged(w.ctx, q.Account, q.TagKey, q.TagValue, from, to)
		if err != nil {
			return fmt.Errorf("ledger: award sum: %w", err)
		}
		out = cr.Sub(dr)
		return nil
	})
	return out, err
}
