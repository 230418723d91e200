package ledger

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/shopspring/decimal"
)

// CreateAccount implements [Ledger].
func (e *Engine) CreateAccount(ctx context.Context, a Account) (Account, error) {
	a, _, err := e.normAccount(a)
	if err != nil {
		return Account{}, err
	}
	var out Account
	err = e.run(ctx, true, func(w *work) error {
		if err := w.lock([]string{a.ID}, false); err != nil {
			return err
		}
		if ex := w.get(a.ID); ex != nil {
			if ex.st.Kind != a.Kind || ex.st.Flags != a.Flags || ex.st.Currency != a.Currency {
				return fmt.Errorf("ledger: account %q is %s/%s/%s, not %s/%s/%s: %w", a.ID,
					ex.st.Kind, ex.st.Flags, ex.st.Currency, a.Kind, a.Flags, a.Currency, ErrAccountConflict)
			}
			out = ex.st.Account
			return nil
		}
		if err := w.addAccount(a); err != nil {
			return err
		}
		out = w.get(a.ID).st.Account
		w.flush()
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	return out, nil
}

// Account implements [Ledger].
func (e *Engine) Account(ctx context.Context, id string) (Account, error) {
	var out Account
	err := e.run(ctx, false, func(w *work) error {
		if err := w.lock([]string{id}, false); err != nil {
			return err
		}
		a := w.get(id)
		if a == nil {
			return fmt.Errorf("ledger: account %q: %w", id, ErrNotFound)
		}
		out = a.st.Account
		return nil
	})
	return out, err
}

// Post implements [Ledger].
func (e *Engine) Post(ctx context.Context, tx Transaction) (Transaction, error) {
	res, err := e.PostBatch(ctx, []Transaction{tx})
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) {
			return Transaction{}, be.Err
		}
		return Transaction{}, err
	}
	return res[0], nil
}

// PostBatch implements [BatchPoster].
func (e *Engine) PostBatch(ctx context.Context, txs []Transaction) ([]Transaction, error) {
	if len(txs) > maxBatch {
		return nil, &FieldError{Field: "batch", Reason: fmt.Sprintf("%d transactions, at most %d per batch", len(txs), maxBatch)}
	}
	if len(txs) == 0 {
		return []Transaction{}, nil
	}
	norm := make([]Transaction, len(txs))
	hashes := make([][32]byte, len(txs))
	if err := normalizeBatch(txs, norm, hashes); err != nil {
		return nil, err
	}
	res := make([]Transaction, len(txs))
	err := e.run(ctx, true, func(w *work) error {
		if cap(w.ch.Transactions) < len(txs) {
			w.ch.Transactions = make([]TxRecord, 0, len(txs))
		}
		return w.postAll(norm, hashes, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// parallelPostings is the batch size (in postings) from which
// normalizeBatch uses a second goroutine.
const parallelPostings = 256

// normalizeBatch validates and hashes txs into norm and hashes, or returns
// the error of the first invalid transaction. Each transaction is
// independent and no lock is held yet, so on a multi-core machine a large
// batch is split in two halves normalized side by side.
func normalizeBatch(txs, norm []Transaction, hashes [][32]byte) error {
	total := 0
	for i := range txs {
		total += min(len(txs[i].Postings), maxPostings)
	}
	split, half := len(txs), 0
	if total >= parallelPostings && runtime.GOMAXPROCS(0) > 1 {
		for split = 0; split < len(txs) && 2*half < total; split++ {
			half += min(len(txs[split].Postings), maxPostings)
		}
	} else {
		half = total
	}
	if split == len(txs) {
		return normalizeRange(txs, norm, hashes, 0, len(txs), total)
	}
	return normalizeSplit(txs, norm, hashes, split, half, total)
}

// normalizeSplit normalizes txs[split:] in a second goroutine and txs[:split]
// in this one.
func normalizeSplit(txs, norm []Transaction, hashes [][32]byte, split, half, total int) error {
	var errHi error
	var wg sync.WaitGroup
	wg.Go(func() { errHi = normalizeRange(txs, norm, hashes, split, len(txs), total-half) })
	errLo := normalizeRange(txs, norm, hashes, 0, split, half)
	wg.Wait()
	if errLo != nil {
		return errLo // the lower index, as a sequential pass would report
	}
	return errHi
}

// normalizeRange normalizes txs[from:to], which hold the given number of
// postings.
func normalizeRange(txs, norm []Transaction, hashes [][32]byte, from, to, postings int) error {
	var nz normalizer
	nz.buf = make([]byte, 0, 512) // reused for every transaction
	nz.reserve(postings)
	for i := from; i < to; i++ {
		n, h, err := nz.tx(txs[i], false)
		if err != nil {
			return &BatchError{Index: i, Key: txs[i].Key, Err: err}
		}
		norm[i], hashes[i] = n, h
	}
	return nil
}

func (w *work) postAll(txs []Transaction, hashes [][32]byte, res []Transaction) error {
	n := 0
	for i := range txs {
		n += len(txs[i].Postings)
	}
	// The keys, then every account ID: one scratch slice.
	if cap(w.scratch) < len(txs)+2*n {
		w.scratch = make([]string, 0, len(txs)+4*n) // room for lock's sorted IDs
	}
	for i := range txs {
		w.scratch = append(w.scratch, txs[i].Key)
	}
	// At most one new lot per posting.
	if cap(w.ch.NewLots) < n {
		w.ch.NewLots = make([]Lot, 0, n)
	}
	// pacc: each posting's From and To accounts, looked up once.
	pacc := w.paccs[:0]
	if w.in != nil {
		// Interned in posting order: each ID is looked up once in the
		// store's index, and a program account repeated posting after
		// posting not even that.
		for i := range txs {
			for _, p := range txs[i].Postings {
				w.scratch = append(w.scratch, p.From, p.To)
			}
		}
		var err error
		if pacc, err = w.intern(w.scratch[len(txs):], true, pacc); err != nil {
			return err
		}
	} else {
		// Debited accounts first, then credited ones: a batch usually
		// repeats a program account posting after posting, which lock
		// skips cheaply.
		for i := range txs {
			for _, p := range txs[i].Postings {
				w.scratch = append(w.scratch, p.From)
			}
		}
		for i := range txs {
			for _, p := range txs[i].Postings {
				w.scratch = append(w.scratch, p.To)
			}
		}
		if err := w.lock(w.scratch[len(txs):], true); err != nil {
			return err
		}
		// Consecutive postings often share an account.
		var fromID, toID string
		var fromA, toA *acct
		for i := range txs {
			for _, p := range txs[i].Postings {
				if fromA == nil || p.From != fromID {
					fromA, fromID = w.accts[p.From], p.From
				}
				if toA == nil || p.To != toID {
					toA, toID = w.accts[p.To], p.To
				}
				pacc = append(pacc, fromA, toA)
			}
		}
	}
	w.paccs = pacc
	keys := w.scratch[:len(txs)]
	stored, err := w.stx.Transactions(w.ctx, keys)
	if err != nil {
		return fmt.Errorf("ledger: look up keys: %w", err)
	}
	var old map[string]*TxRecord
	if len(stored) > 0 {
		old = make(map[string]*TxRecord, len(stored))
		for i := range stored {
			old[stored[i].Key] = &stored[i]
		}
	}
	if w.first == nil {
		w.first = make(map[string]int, len(txs))
	}
	first := w.first
	fresh := 0
	var debited []*acct
	for i, off := 0, 0; i < len(txs); off, i = off+2*len(txs[i].Postings), i+1 {
		k := txs[i].Key
		if old[k] != nil {
			continue
		}
		if _, dup := first[k]; dup {
			continue
		}
		first[k] = i
		fresh++
		for j := range txs[i].Postings {
			// Only lot-keeping accounts have books to load.
			if a := pacc[off+2*j]; a != nil && a.keeper && a.book == nil && (len(debited) == 0 || debited[len(debited)-1] != a) {
				debited = append(debited, a)
			}
		}
	}
	if err := w.loadBooksOf(debited); err != nil {
		return err
	}
	if err := w.reserveSeq(fresh); err != nil {
		return err
	}
	for i, off := 0, 0; i < len(txs); off, i = off+2*len(txs[i].Postings), i+1 {
		k := txs[i].Key
		if o := old[k]; o != nil {
			if o.Hash != hashes[i] {
				return &BatchError{Index: i, Key: k, Err: fmt.Errorf("ledger: key %q: %w", k, ErrIdempotencyConflict)}
			}
			res[i] = o.Transaction
			continue
		}
		if j := first[k]; j != i {
			if hashes[j] != hashes[i] {
				return &BatchError{Index: i, Key: k, Err: fmt.Errorf("ledger: key %q used twice in the batch: %w", k, ErrIdempotencyConflict)}
			}
			res[i] = res[j]
			continue
		}
		rec, err := w.applyTx(&txs[i], hashes[i], nil, pacc[off:off+2*len(txs[i].Postings)])
		if err != nil {
			return &BatchError{Index: i, Key: k, Err: err}
		}
		res[i] = rec.Transaction
	}
	w.flush()
	return nil
}

// txPlan adjusts how applyTx moves lots, for the transactions the engine
// builds itself.
type txPlan struct {
	prefer  map[int][]LotID  // posting → lots its debit consumes first (reversal of a credit)
	restore map[int][]LotUse // posting → lots its credit refills instead of opening a lot (reversal of a debit)
	// When useConsumed is set, posting 0's debit takes no lots itself: the
	// caller already took these (a hold commit's reservation, an expiring lot).
	consumed    []LotUse
	useConsumed bool
}

// applyTx validates tx against the locked accounts and applies it: totals,
// lots, and the record appended to the unit's changes. The unit is
// abandoned on error, so partial effects never persist.
//
// accs, if not nil, holds each posting's From and To accounts, already
// looked up (nil for unknown ones).
func (w *work) applyTx(tx *Transaction, hash [32]byte, plan *txPlan, accs []*acct) (*TxRecord, error) {
	w.ch.Transactions = append(w.ch.Transactions, TxRecord{Transaction: *tx, Hash: hash})
	rec := &w.ch.Transactions[len(w.ch.Transactions)-1]
	rec.Seq = w.nextSeq()
	rec.PostedAt = w.now
	// One phOff per record keeps it aligned with Transactions.
	if off := -1; w.units {
		w.ch.phOff = append(w.ch.phOff, len(w.ch.ph))
	} else {
		w.ch.phOff = append(w.ch.phOff, off)
	}
	if rec.EffectiveAt.IsZero() {
		rec.EffectiveAt = w.now
	}
	k := tx.Key
	for i, p := range tx.Postings {
		var from, to *acct
		if accs != nil {
			from, to = accs[2*i], accs[2*i+1]
		} else {
			from, to = w.get(p.From), w.get(p.To)
		}
		if from == nil {
			return nil, fmt.Errorf("ledger: key %q: Postings[%d].From: account %q: %w", k, i, p.From, ErrNotFound)
		}
		if to == nil {
			return nil, fmt.Errorf("ledger: key %q: Postings[%d].To: account %q: %w", k, i, p.To, ErrNotFound)
		}
		if w.units {
			w.ch.ph = append(w.ch.ph, from.h, to.h)
		}
		if from.st.Currency != to.st.Currency {
			return nil, &FieldError{Key: k, Field: fmt.Sprintf("Postings[%d]", i), Err: ErrUnbalanced,
				Reason: fmt.Sprintf("%q is in %s but %q is in %s", p.From, from.st.Currency, p.To, to.st.Currency)}
		}
		if !inScale(p.Amount, from.cur) {
			return nil, checkScale(k, fmt.Sprintf("Postings[%d].Amount", i), p.Amount, from.cur)
		}
		if !p.ExpiresAt.IsZero() {
			if !to.keeper {
				return nil, &FieldError{Key: k, Field: fmt.Sprintf("Postings[%d].ExpiresAt", i), Err: ErrAccountKind,
					Reason: fmt.Sprintf("account %q (%s) keeps no lots; only FlagNoNegative accounts take expiring credits", p.To, to.st.Kind)}
			}
			if !p.ExpiresAt.After(w.now) {
				return nil, &FieldError{Key: k, Field: fmt.Sprintf("Postings[%d].ExpiresAt", i),
					Reason: fmt.Sprintf("%s is not after the ledger time %s", p.ExpiresAt.Format(timeFmt), w.now.Format(timeFmt))}
			}
		}
		amt := p.Amount
		// One currency (checked above), so one scale for both accounts.
		u, uok := toUnits(amt, from.cur.Scale)
		// Debit.
		from.addPosted(amt, u, uok, true)
		from.dirty = true
		if from.keeper {
			if plan != nil && plan.useConsumed && i == 0 {
				rec.Consumed = append(rec.Consumed, plan.consumed...)
			} else {
				var prefer []LotID
				if plan != nil {
					prefer = plan.prefer[i]
				}
				uses, err := w.consume(from, amt, k, prefer)
				if err != nil {
					return nil, err
				}
				for _, u := range uses {
					u.Posting = int32(i)
					rec.Consumed = append(rec.Consumed, u)
				}
			}
		}
		// Credit.
		to.addPosted(amt, u, uok, false)
		to.dirty = true
		if to.keeper {
			if plan != nil && plan.restore[i] != nil {
				w.giveBack(plan.restore[i])
			} else {
				w.openLot(to, Lot{ID: LotID{Seq: rec.Seq, Posting: int32(i)}, Account: to.st.ID,
					ExpiresAt: p.ExpiresAt, Amount: amt, Remaining: amt})
			}
		}
	}
	return rec, nil
}

const timeFmt = "2006-01-02T15:04:05.999999Z07:00"

// openLot records a new lot. Only a lot whose account's book is loaded can
// change again in this unit; it gets a lotRef, copied back at flush.
func (w *work) openLot(a *acct, l Lot) {
	w.ch.NewLots = append(w.ch.NewLots, l)
	b := a.book
	if b == nil {
		return
	}
	r := w.newLotRef(lotRef{l: l, isNew: true, newIdx: len(w.ch.NewLots) - 1})
	w.newLots = append(w.newLots, r)
	// New lots have the highest ID so far; most often they go last.
	if n := len(b.lots); n == 0 || lotBefore(&b.lots[n-1].l, &r.l) {
		b.lots = append(b.lots, r)
		r.inBook = true
	} else {
		b.insert(r)
	}
}

func (w *work) expiredAt(l *Lot) bool {
	return !l.ExpiresAt.IsZero() && !l.ExpiresAt.After(w.now)
}

// consume takes amt from a's unexpired lots: the preferred ones first,
// then in consumption order. Its book must be loaded.
func (w *work) consume(a *acct, amt decimal.Decimal, key string, prefer []LotID) ([]LotUse, error) {
	need := amt
	var uses []LotUse
	take := func(r *lotRef) {
		if r.l.Remaining.Sign() <= 0 || w.expiredAt(&r.l) {
			return
		}
		t := need
		if r.l.Remaining.LessThan(t) {
			t = r.l.Remaining
		}
		r.l.Remaining = r.l.Remaining.Sub(t)
		r.dirty = true
		need = need.Sub(t)
		uses = append(uses, LotUse{Lot: r.l.ID, Amount: t})
	}
	for _, id := range prefer {
		if need.Sign() == 0 {
			break
		}
		if r := w.lots[id]; r != nil && r.l.Account == a.st.ID {
			take(r)
		}
	}
	b := a.book
	if b == nil {
		panic("ledger: internal error: lots of " + a.st.ID + " not loaded")
	}
	for _, r := range b.lots {
		if need.Sign() == 0 {
			break
		}
		take(r)
	}
	// Drop exhausted lots from the front half of the book.
	j := 0
	for _, r := range b.lots {
		if r.l.Remaining.Sign() > 0 {
			b.lots[j] = r
			j++
		} else {
			r.inBook = false
		}
	}
	clear(b.lots[j:])
	b.lots = b.lots[:j]
	if need.Sign() > 0 {
		return nil, fmt.Errorf("ledger: key %q: account %q has %s available, needs %s: %w",
			key, a.st.ID, amt.Sub(need), amt, ErrInsufficientFunds)
	}
	return uses, nil
}

// giveBack returns amounts to the lots they were taken from. Their lots
// must be loaded (loadLots) and their accounts' books too (loadBooks).
func (w *work) giveBack(uses []LotUse) {
	for _, u := range uses {
		r := w.lots[u.Lot]
		if r == nil {
			panic(fmt.Sprintf("ledger: internal error: lot %v not loaded", u.Lot))
		}
		r.l.Remaining = r.l.Remaining.Add(u.Amount)
		r.dirty = true
		if b := w.bookOf(r.l.Account); b != nil && !r.inBook {
			b.insert(r)
		}
	}
}
