package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
)

// Engine implements [Ledger] and every capability interface over a [Store].
// All ledger semantics live here once; adapters only persist rows. An
// Engine is safe for concurrent use.
type Engine struct {
	store  Store
	cfg    config
	closed atomic.Bool
	works  sync.Pool // *work, reused so a unit's scratch maps and slices are not garbage
}

// Interface checks.
var (
	_ Ledger      = (*Engine)(nil)
	_ BatchPoster = (*Engine)(nil)
	_ Holder      = (*Engine)(nil)
	_ Expirer     = (*Engine)(nil)
	_ Reverser    = (*Engine)(nil)
	_ AwardSummer = (*Engine)(nil)
)

// New builds a ledger over store. It validates the options; it does not
// touch the store.
func New(store Store, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, errors.New("ledger: New: nil store")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if _, ok := cfg.currencies[cfg.defaultCurrency]; !ok {
		return nil, fmt.Errorf("ledger: default currency %q: %w", cfg.defaultCurrency, ErrUnknownCurrency)
	}
	return &Engine{store: store, cfg: cfg}, nil
}

// Store returns the store the engine runs on (for export and tests).
func (e *Engine) Store() Store { return e.store }

// Close implements [Ledger]: it closes the store. Closing again is a no-op.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	return e.store.Close()
}

func (e *Engine) now() time.Time { return normTime(e.cfg.now()) }

// commitThen asks run to commit the unit's changes and then return err
// (used when a hold is found past its deadline: the release is recorded,
// the caller still learns ErrHoldExpired).
type commitThen struct{ err error }

func (c *commitThen) Error() string { return c.err.Error() }

// run executes fn as one storage transaction, retrying from scratch when
// the store reports ErrRetry.
func (e *Engine) run(ctx context.Context, write bool, fn func(w *work) error) error {
	for attempt := 0; ; attempt++ {
		if e.closed.Load() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		err := e.runOnce(ctx, write, fn)
		if err != nil && errors.Is(err, ErrRetry) && attempt < e.cfg.maxRetries {
			continue
		}
		return err
	}
}

func (e *Engine) runOnce(ctx context.Context, write bool, fn func(w *work) error) (err error) {
	stx, err := e.store.Begin(ctx, write)
	if err != nil {
		return fmt.Errorf("ledger: begin: %w", err)
	}
	w := e.getWork(ctx, stx)
	defer e.putWork(w) // deferred first, so it runs after Rollback
	committed := false
	defer func() {
		if !committed {
			// The unit's own error is what the caller needs; a failing
			// rollback (e.g. a dropped connection) adds nothing to it.
			_ = stx.Rollback()
		}
	}()
	ferr := fn(w)
	var ct *commitThen
	if ferr != nil && !errors.As(ferr, &ct) {
		return ferr
	}
	if write && !w.ch.empty() {
		if err := stx.Apply(ctx, &w.ch); err != nil {
			return fmt.Errorf("ledger: store apply: %w", err)
		}
	}
	committed = true // whatever Commit returns, do not roll back after it
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("ledger: commit: %w", err)
	}
	if ct != nil {
		return ct.err
	}
	return nil
}

func (c *Changes) empty() bool {
	return len(c.NewAccounts) == 0 && len(c.Accounts) == 0 && len(c.Transactions) == 0 &&
		len(c.Reversed) == 0 && len(c.NewLots) == 0 && len(c.Lots) == 0 &&
		len(c.NewHolds) == 0 && len(c.Holds) == 0
}

// accountLocker is StoreTx.LockAccounts appending to a slice the engine
// reuses, so locking a batch's accounts allocates nothing. The in-memory
// store implements it.
//
// It also lets the store keep posted totals as integers: for each state
// appended to dst it appends to du the account's Posted in units, and when
// that unitTotal is ok the state's Posted is left zero. A unit of work on
// such a store hands its new totals back the same way (Changes.posted), so
// a batch builds no decimal per touched account; a store that does not
// implement accountLocker only ever sees decimals.
type accountLocker interface {
	appendLockedAccounts(dst []AccountState, du []unitTotal, ids []string) ([]AccountState, []unitTotal)
}

// accountInterner is an accountLocker whose write transactions need no
// lock order (the in-memory store serialises writers) and let a unit of
// work intern account IDs: each ID costs one lookup in the store's own
// index, and the unit then reaches its account through a small integer the
// store keeps beside the account for the rest of that storage transaction,
// with no per-unit map keyed by ID and no sorting of IDs.
type accountInterner interface {
	accountLocker
	// interning reports whether the transaction supports the methods below
	// (write transactions only).
	interning() bool
	// internAccount returns the store's account with this ID (nil: none)
	// and the slot given to it by setSlot in this storage transaction (−1:
	// none yet).
	internAccount(id string) (h *memAccount, slot int32)
	// lockedState returns h's state as appendLockedAccounts would.
	lockedState(h *memAccount) (AccountState, unitTotal)
	// setSlot remembers slot for h until the storage transaction ends.
	setSlot(h *memAccount, slot int32)
}

// unitTotal is a posted total of units·10^-scale, valid when ok.
type unitTotal struct {
	units int64
	scale int32
	ok    bool
	// h is the in-memory store's own account, handed out by
	// appendLockedAccounts and back in Changes.posted so that apply
	// finds it without hashing its ID again (nil: look it up).
	h *memAccount
}

// getWork returns an empty unit of work over stx.
func (e *Engine) getWork(ctx context.Context, stx StoreTx) *work {
	w, _ := e.works.Get().(*work)
	if w == nil {
		w = &work{}
	}
	w.e, w.ctx, w.stx, w.now = e, ctx, stx, e.now()
	if in, ok := stx.(accountInterner); ok && in.interning() {
		w.in, w.units = in, true
	}
	return w
}

// poolMax bounds the scratch a pooled unit keeps: the memory of a huge
// batch is left to the collector rather than held for small units.
const poolMax = 1 << 14

// putWork empties w and pools it. Nothing a unit returns to its caller
// points into w's scratch: results copy values out of it, and stores copy
// what they keep (see StoreTx).
func (e *Engine) putWork(w *work) {
	if len(w.accts) > poolMax || cap(w.acctSlab) > poolMax || cap(w.ch.NewLots) > poolMax ||
		cap(w.ch.Transactions) > poolMax || cap(w.scratch) > 2*poolMax || cap(w.paccs) > 2*poolMax {
		return
	}
	clear(w.accts)
	clear(w.lots)
	clear(w.first)
	// Slices are truncated, not cleared: the next unit overwrites each
	// element before reading it, and clearing half a megabyte of pointers
	// per batch (under write barriers while the collector runs) cost more
	// than the stale values it would let go, which poolMax bounds and the
	// pool drops at the next collections anyway.
	w.order, w.newLots = w.order[:0], w.newLots[:0]
	w.acctSlab, w.lotSlab = w.acctSlab[:0], w.lotSlab[:0]
	w.scratch, w.paccs, w.lids, w.states = w.scratch[:0], w.paccs[:0], w.lids[:0], w.states[:0]
	w.dunits, w.units = w.dunits[:0], false
	w.ch.Reset()
	w.seqNext, w.seqEnd = 0, 0
	w.e, w.ctx, w.stx, w.in = nil, nil, nil, nil
	e.works.Put(w)
}

// work is the state of one unit of work: the locked accounts, the lots
// loaded for them, and the changes to apply. Units are pooled (getWork,
// putWork): nothing in here outlives its unit.
type work struct {
	e   *Engine
	ctx context.Context
	stx StoreTx
	now time.Time

	accts map[string]*acct // nil value: looked up, does not exist
	order []*acct          // the accounts of accts, in the order loaded
	// in is set when stx interns accounts (accountInterner): then accts
	// holds only the IDs the store does not know, and the accounts it
	// knows are reached through their slot, an index into order.
	in   accountInterner
	lots map[LotID]*lotRef // every lot loaded or created in this unit

	seqNext, seqEnd int64
	ch              Changes

	newLots  []*lotRef // lots opened in this unit into a loaded book (not in lots)
	acctSlab []acct    // backing store for accts, one allocation per unit
	lotSlab  []lotRef

	scratch []string       // IDs and keys a unit gathers for store calls
	states  []AccountState // accountLocker's reused result
	dunits  []unitTotal    // accountLocker's reused unit totals
	units   bool           // stx is an accountLocker: flush may hand it unitTotals
	paccs   []*acct        // postAll: each posting's From and To accounts
	lids    []LotID        // flush: dirty lots
	first   map[string]int // postAll: index of each key's first use in the batch
}

func (w *work) newAcct(a acct) *acct {
	if len(w.acctSlab) == cap(w.acctSlab) {
		w.acctSlab = make([]acct, 0, max(16, 2*cap(w.acctSlab)))
	}
	w.acctSlab = append(w.acctSlab, a)
	p := &w.acctSlab[len(w.acctSlab)-1]
	w.order = append(w.order, p)
	return p
}

func (w *work) newLotRef(r lotRef) *lotRef {
	if len(w.lotSlab) == cap(w.lotSlab) {
		w.lotSlab = make([]lotRef, 0, max(4, 2*cap(w.lotSlab)))
	}
	w.lotSlab = append(w.lotSlab, r)
	return &w.lotSlab[len(w.lotSlab)-1]
}

type acct struct {
	st     AccountState
	cur    Currency
	isNew  bool
	dirty  bool
	keeper bool // keeps lots (FlagNoNegative)
	// delta is what this unit's postings add to st.Posted and have not
	// yet added, in units of 10^-cur.Scale (see addPosted).
	delta int64
	// inUnits: the posted total is base units of 10^-cur.Scale and
	// st.Posted is not set (see accountLocker); posted() builds it.
	inUnits bool
	base    int64
	h       *memAccount // the in-memory store's account (unitTotal.h), or nil
	// book holds its open lots in consumption order once loaded
	// (loadBooks); nil until then.
	book *lotBook
}

// maxUnits bounds acct.delta and the amounts folded into it, so adding two
// of them never overflows an int64.
const maxUnits = 1_000_000_000_000_000_000

var pow10 = [...]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// toUnits returns d as an integer count of 10^-scale units when that is
// exact and at most maxUnits in magnitude.
func toUnits(d decimal.Decimal, scale int32) (int64, bool) {
	if d.NumDigits() > 18 {
		return 0, false
	}
	c, shift := d.CoefficientInt64(), d.Exponent()+scale // d = c·10^(shift−scale)
	switch {
	case shift == 0 || c == 0:
		return c, true
	case shift > 0:
		if shift > 18 || c > maxUnits/pow10[shift] || c < -maxUnits/pow10[shift] {
			return 0, false
		}
		return c * pow10[shift], true
	case shift >= -18 && c%pow10[-shift] == 0:
		return c / pow10[-shift], true
	}
	return 0, false
}

// addPosted adds d (or −d when neg) to the account's posted total, given
// u, ok = toUnits(d, a.cur.Scale) (a posting's two accounts share a
// currency, so it converts its amount once). Decimal arithmetic allocates
// a big.Int per operation, so amounts that are exact in the currency's
// scale (all that pass the scale check, short of 10^16 points) accumulate
// in an int64 instead and reach st.Posted once, in settle.
func (a *acct) addPosted(d decimal.Decimal, u int64, ok, neg bool) {
	if ok {
		if neg {
			u = -u
		}
		a.delta += u
		if a.delta > maxUnits || a.delta < -maxUnits {
			a.settle()
		}
		return
	}
	a.materialise()
	if neg {
		a.st.Posted = a.st.Posted.Sub(d)
	} else {
		a.st.Posted = a.st.Posted.Add(d)
	}
}

// settle folds delta into the posted total (base or st.Posted).
func (a *acct) settle() {
	if a.delta == 0 {
		return
	}
	if a.inUnits {
		// |base|, |delta| ≤ maxUnits: the sum cannot overflow.
		if b := a.base + a.delta; b <= maxUnits && b >= -maxUnits {
			a.base, a.delta = b, 0
			return
		}
		a.materialise()
		return
	}
	if u, ok := toUnits(a.st.Posted, a.cur.Scale); ok {
		a.st.Posted = decimal.New(u+a.delta, -a.cur.Scale)
	} else {
		a.st.Posted = a.st.Posted.Add(decimal.New(a.delta, -a.cur.Scale))
	}
	a.delta = 0
}

// materialise settles the account and makes st.Posted hold its posted total.
func (a *acct) materialise() {
	if a.inUnits {
		a.st.Posted, a.inUnits, a.base = decimal.New(a.base, -a.cur.Scale), false, 0
	}
	a.settle()
}

// posted returns the posted total, this unit's postings included.
func (a *acct) posted() decimal.Decimal {
	a.materialise()
	return a.st.Posted
}

type lotRef struct {
	l      Lot
	isNew  bool
	dirty  bool
	inBook bool
	newIdx int // isNew: its index in the unit's Changes.NewLots
}

// lotBook holds an account's lots with Remaining > 0 in consumption order.
type lotBook struct{ lots []*lotRef }

// lotBefore is the consumption order: earliest expiry first, lots that
// never expire last, ties by creation.
func lotBefore(a, b *Lot) bool {
	az, bz := a.ExpiresAt.IsZero(), b.ExpiresAt.IsZero()
	if az != bz {
		return bz
	}
	if !az && !a.ExpiresAt.Equal(b.ExpiresAt) {
		return a.ExpiresAt.Before(b.ExpiresAt)
	}
	return a.ID.Less(b.ID)
}

func (b *lotBook) insert(r *lotRef) {
	i, _ := slices.BinarySearchFunc(b.lots, r, func(x, y *lotRef) int {
		if lotBefore(&x.l, &y.l) {
			return -1
		}
		if lotBefore(&y.l, &x.l) {
			return 1
		}
		return 0
	})
	b.lots = slices.Insert(b.lots, i, r)
	r.inBook = true
}

// lock loads and locks the accounts (any order, duplicates allowed) in
// sorted order with one store call, creating unknown ones through the
// auto-create rule when create is set. Accounts already loaded in this unit
// are skipped, so call it once per unit with every ID.
func (w *work) lock(ids []string, create bool) error {
	if w.accts == nil {
		w.accts = make(map[string]*acct)
	}
	if w.in != nil {
		_, err := w.intern(ids, create, nil)
		return err
	}
	// Deduplicate through the map before sorting: a batch names the same
	// program account in every posting.
	// ids may live in w.scratch: appending never overwrites them.
	start := len(w.scratch)
	prev := ""
	for _, id := range ids {
		if id == prev {
			continue
		}
		prev = id
		if _, seen := w.accts[id]; !seen {
			w.accts[id] = nil
			w.scratch = append(w.scratch, id)
		}
	}
	if len(w.scratch) == start {
		return nil
	}
	ids = w.scratch[start:]
	slices.Sort(ids)
	var got []AccountState
	var du []unitTotal
	if al, ok := w.stx.(accountLocker); ok {
		got, du = al.appendLockedAccounts(w.states[len(w.states):], w.dunits[len(w.dunits):], ids)
		w.states, w.dunits, w.units = got[:0], du[:0], true
	} else {
		var err error
		if got, err = w.stx.LockAccounts(w.ctx, ids); err != nil {
			return fmt.Errorf("ledger: lock accounts: %w", err)
		}
	}
	if cap(w.acctSlab)-len(w.acctSlab) < len(ids) {
		w.acctSlab = make([]acct, 0, len(ids))
	}
	var cur Currency
	for i := range got {
		var d *unitTotal
		if du != nil {
			d = &du[i]
		}
		a, err := w.load(&got[i], d, &cur)
		if err != nil {
			return err
		}
		w.accts[a.st.ID] = a
	}
	if !create || w.e.cfg.autoCreate == nil || len(got) == len(ids) {
		return nil
	}
	for _, id := range ids {
		if w.accts[id] != nil {
			continue
		}
		if err := w.autoCreate(id); err != nil {
			return err
		}
	}
	return nil
}

// load adds the stored account st (with its total in units, du, when the
// store keeps them) to the unit; cur caches the last currency looked up.
func (w *work) load(st *AccountState, du *unitTotal, cur *Currency) (*acct, error) {
	if st.Currency != cur.Code || cur.Code == "" {
		c, ok := w.e.cfg.currencies[st.Currency]
		if !ok {
			return nil, fmt.Errorf("ledger: account %q: currency %q: %w", st.ID, st.Currency, ErrUnknownCurrency)
		}
		*cur = c
	}
	a := w.newAcct(acct{st: *st, cur: *cur, keeper: st.Flags&FlagNoNegative != 0})
	if du != nil {
		a.h = du.h
		switch {
		case du.ok && du.scale == cur.Scale:
			a.inUnits, a.base = true, du.units
		case du.ok:
			a.st.Posted = decimal.New(du.units, -du.scale)
		}
		if !a.inUnits {
			// Hand it back in units from now on, if it fits.
			if u, ok := toUnits(a.st.Posted, cur.Scale); ok {
				a.inUnits, a.base, a.st.Posted = true, u, decimal.Decimal{}
			}
		}
	}
	return a, nil
}

// autoCreate creates the unknown account id through the auto-create rule,
// if there is one and it accepts the ID.
func (w *work) autoCreate(id string) error {
	if w.e.cfg.autoCreate == nil {
		return nil
	}
	a, ok := w.e.cfg.autoCreate(id)
	if !ok {
		return nil
	}
	a.ID = id
	return w.addAccount(a)
}

// intern is lock on an accountInterner store, and also appends each ID's
// account (nil: none) to out. Writers are serialised there, so IDs need no
// sorting; each distinct ID in a run costs one lookup in the store's index.
// Accounts the store does not know go through accts (and the auto-create
// rule), as lock does.
func (w *work) intern(ids []string, create bool, out []*acct) ([]*acct, error) {
	start := len(out)
	// The last two IDs seen: a batch alternates a program account with
	// customers, or repeats one.
	var id1, id2 string
	var a1, a2 *acct
	seen := 0 // how many of id1, id2 are set
	var cur Currency
	missing := false
	for _, id := range ids {
		switch {
		case seen > 0 && id == id1:
		case seen > 1 && id == id2:
			id1, id2, a1, a2 = id2, id1, a2, a1
		default:
			a, err := w.internOne(id, &cur)
			if err != nil {
				return out, err
			}
			if a == nil {
				missing = true
			}
			id1, id2, a1, a2 = id, id1, a, a1
			seen++
		}
		out = append(out, a1)
	}
	if !missing {
		return out, nil
	}
	if w.accts == nil {
		w.accts = make(map[string]*acct)
	}
	for i := start; i < len(out); i++ {
		if out[i] != nil {
			continue
		}
		id := ids[i-start]
		if _, seen := w.accts[id]; !seen {
			w.accts[id] = nil
			if create {
				if err := w.autoCreate(id); err != nil {
					return out, err
				}
			}
		}
		out[i] = w.accts[id]
	}
	return out, nil
}

// internOne returns the account with this ID on an accountInterner store,
// loading it into the unit on first use; nil when the store does not know
// it.
func (w *work) internOne(id string, cur *Currency) (*acct, error) {
	h, slot := w.in.internAccount(id)
	switch {
	case h == nil:
		return nil, nil
	case slot >= 0:
		return w.order[slot], nil
	}
	st, du := w.in.lockedState(h)
	a, err := w.load(&st, &du, cur)
	if err != nil {
		return nil, err
	}
	w.in.setSlot(h, int32(len(w.order)-1))
	return a, nil
}

// get returns the account with this ID if this unit has locked it (or
// created it), or nil.
func (w *work) get(id string) *acct {
	if w.in != nil {
		if h, slot := w.in.internAccount(id); h != nil {
			if slot >= 0 {
				return w.order[slot]
			}
			return nil
		}
	}
	return w.accts[id]
}

// addAccount validates a and records it as new in this unit.
func (w *work) addAccount(a Account) error {
	a, cur, err := w.e.normAccount(a)
	if err != nil {
		return err
	}
	a.CreatedAt = w.now
	st := AccountState{Account: a}
	if w.accts == nil {
		w.accts = make(map[string]*acct)
	}
	w.accts[a.ID] = w.newAcct(acct{st: st, cur: cur, isNew: true, keeper: a.Flags&FlagNoNegative != 0})
	return nil
}

func (e *Engine) normAccount(a Account) (Account, Currency, error) {
	if err := checkID("", "Account.ID", a.ID); err != nil {
		return a, Currency{}, err
	}
	if !a.Kind.Valid() {
		return a, Currency{}, &FieldError{Field: "Account.Kind", Reason: fmt.Sprintf("invalid kind %d for account %q", a.Kind, a.ID)}
	}
	if a.Flags&^FlagNoNegative != 0 {
		return a, Currency{}, &FieldError{Field: "Account.Flags", Reason: fmt.Sprintf("unknown flags %#x for account %q", uint32(a.Flags), a.ID)}
	}
	if a.Kind == KindCustomer {
		a.Flags |= FlagNoNegative
	}
	if a.Currency == "" {
		a.Currency = e.cfg.defaultCurrency
	}
	cur, ok := e.cfg.currencies[a.Currency]
	if !ok {
		return a, Currency{}, fmt.Errorf("ledger: account %q: currency %q: %w", a.ID, a.Currency, ErrUnknownCurrency)
	}
	a.CreatedAt = time.Time{}
	return a, cur, nil
}

func (w *work) account(key, field, id string) (*acct, error) {
	a := w.get(id)
	if a == nil {
		return nil, fmt.Errorf("ledger: key %q: %s: account %q: %w", key, field, id, ErrNotFound)
	}
	return a, nil
}

// loadBooks loads the open lots of the given lot-keeping accounts that are
// not loaded yet, with one store call.
func (w *work) loadBooks(ids []string) error {
	var as []*acct
	for _, id := range ids {
		as = append(as, w.get(id))
	}
	return w.loadBooksOf(as)
}

// loadBooksOf is loadBooks for accounts this unit holds (nil ones are
// skipped).
func (w *work) loadBooksOf(as []*acct) error {
	if w.lots == nil {
		w.lots = make(map[LotID]*lotRef)
	}
	var need []string
	for _, a := range as {
		if a == nil || !a.keeper || a.book != nil {
			continue
		}
		a.book = &lotBook{}
		if !a.isNew {
			need = append(need, a.st.ID)
		}
	}
	if len(need) == 0 {
		return nil
	}
	slices.Sort(need)
	need = slices.Compact(need)
	lots, err := w.stx.OpenLots(w.ctx, need)
	if err != nil {
		return fmt.Errorf("ledger: load lots: %w", err)
	}
	for _, l := range lots {
		r := w.lots[l.ID]
		if r == nil {
			r = w.newLotRef(lotRef{l: l})
			w.lots[l.ID] = r
		}
		if b := w.bookOf(r.l.Account); b != nil && !r.inBook && r.l.Remaining.Sign() > 0 {
			b.lots = append(b.lots, r)
			r.inBook = true
		}
	}
	for _, id := range need {
		b := w.bookOf(id)
		slices.SortFunc(b.lots, func(x, y *lotRef) int {
			if lotBefore(&x.l, &y.l) {
				return -1
			}
			if lotBefore(&y.l, &x.l) {
				return 1
			}
			return 0
		})
	}
	return nil
}

// bookOf returns the loaded book of the account with this ID, or nil.
func (w *work) bookOf(id string) *lotBook {
	if a := w.get(id); a != nil {
		return a.book
	}
	return nil
}

// loadLots makes sure the lots with these IDs are loaded (even when
// exhausted), for giving points back to them.
func (w *work) loadLots(ids []LotID) error {
	if w.lots == nil {
		w.lots = make(map[LotID]*lotRef)
	}
	var need []LotID
	for _, id := range ids {
		if w.lots[id] == nil {
			need = append(need, id)
		}
	}
	if len(need) == 0 {
		return nil
	}
	lots, err := w.stx.Lots(w.ctx, need)
	if err != nil {
		return fmt.Errorf("ledger: load lots: %w", err)
	}
	for _, l := range lots {
		if w.lots[l.ID] == nil {
			w.lots[l.ID] = w.newLotRef(lotRef{l: l})
		}
	}
	return nil
}

// reserveSeq reserves n sequence numbers for this unit.
func (w *work) reserveSeq(n int) error {
	if n == 0 {
		return nil
	}
	first, err := w.stx.ReserveSeq(w.ctx, n)
	if err != nil {
		return fmt.Errorf("ledger: reserve sequence: %w", err)
	}
	w.seqNext, w.seqEnd = first, first+int64(n)
	return nil
}

func (w *work) nextSeq() int64 {
	if w.seqNext >= w.seqEnd {
		// The engine reserves exactly what it uses; running out is a bug.
		panic("ledger: internal error: sequence reservation exhausted")
	}
	s := w.seqNext
	w.seqNext++
	return s
}

// flush turns the unit's dirty accounts and lots into Changes, in
// deterministic order.
func (w *work) flush() {
	// Accounts load in sorted order, but auto-created ones come after
	// those found. An interning store needs no order.
	if w.in == nil && !slices.IsSortedFunc(w.order, cmpAcct) {
		slices.SortFunc(w.order, cmpAcct)
	}
	if w.ch.Accounts == nil {
		w.ch.Accounts = make([]AccountState, 0, len(w.order))
	}
	for _, a := range w.order {
		a.settle()
		switch {
		case a.isNew:
			a.materialise()
			w.ch.NewAccounts = append(w.ch.NewAccounts, a.st)
		case a.dirty:
			// On an accountLocker store the total stays in units, with
			// one unitTotal per updated account (Changes.posted).
			if a.inUnits && !w.units {
				a.materialise() // cannot happen: only accountLockers give units
			}
			w.ch.Accounts = append(w.ch.Accounts, a.st)
			if w.units {
				w.ch.posted = append(w.ch.posted, unitTotal{units: a.base, scale: a.cur.Scale, ok: a.inUnits, h: a.h})
			}
		}
	}
	lids := w.lids[:0]
	for id, r := range w.lots {
		if r.dirty {
			lids = append(lids, id)
		}
	}
	slices.SortFunc(lids, func(a, b LotID) int {
		if a.Less(b) {
			return -1
		}
		if b.Less(a) {
			return 1
		}
		return 0
	})
	for _, id := range lids {
		w.ch.Lots = append(w.ch.Lots, w.lots[id].l)
	}
	w.lids = lids
	for _, r := range w.newLots {
		w.ch.NewLots[r.newIdx] = r.l
	}
}

func cmpAcct(a, b *acct) int { return compareStrings(a.st.ID, b.st.ID) }
