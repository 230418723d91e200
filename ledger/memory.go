package ledger

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// NewMemory returns the in-memory reference ledger: the engine over
// [NewMemoryStore]. Nothing survives the process; use it in tests, the CLI
// and as the executable specification the adapters are checked against.
func NewMemory(opts ...Option) (*Engine, error) {
	return New(NewMemoryStore(), opts...)
}

// NewMemoryStore returns a [Store] that keeps everything in maps. Writers
// are serialised by one mutex (the whole unit of work runs under it, which
// trivially gives the isolation LockAccounts asks for); readers share it.
// A write transaction's Apply takes effect at Commit, so Rollback discards
// it.
func NewMemoryStore() Store {
	return &memStore{
		accounts:  map[string]*AccountState{},
		txs:       map[string]*TxRecord{},
		hist:      map[string][]*TxRecord{},
		lots:      map[LotID]*memLot{},
		open:      map[string][]*memLot{},
		holds:     map[string]*HoldRecord{},
		openHolds: map[string]map[string]*HoldRecord{},
	}
}

type memStore struct {
	mu     sync.RWMutex
	closed bool

	accounts map[string]*AccountState
	txs      map[string]*TxRecord   // by key
	bySeq    []*TxRecord            // ascending Seq
	hist     map[string][]*TxRecord // account → its transactions, ascending Seq
	lots     map[LotID]*memLot
	// open lists each account's lots that had Remaining > 0 when added;
	// exhausted ones are dropped lazily, by write transactions.
	open map[string][]*memLot
	// expiring lists lots with an expiry, pruned lazily like open.
	expiring  []*memLot
	holds     map[string]*HoldRecord
	openHolds map[string]map[string]*HoldRecord // account → open holds
	seq       int64

	txSlab  []TxRecord // allocation slabs: stored records never move
	lotSlab []memLot
}

func (s *memStore) Begin(ctx context.Context, write bool) (StoreTx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if write {
		s.mu.Lock()
	} else {
		s.mu.RLock()
	}
	if s.closed {
		if write {
			s.mu.Unlock()
		} else {
			s.mu.RUnlock()
		}
		return nil, ErrClosed
	}
	return &memTx{s: s, write: write}, nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// memLot is a stored lot and whether it is on the open and expiring lists.
type memLot struct {
	Lot
	inOpen, inExpiring bool
}

type memTx struct {
	s       *memStore
	write   bool
	done    bool
	pending []*Changes
}

func (t *memTx) unlock() {
	t.done = true
	if t.write {
		t.s.mu.Unlock()
	} else {
		t.s.mu.RUnlock()
	}
}

func (t *memTx) Commit() error {
	if t.done {
		return fmt.Errorf("ledger: memory store: transaction already finished")
	}
	defer t.unlock()
	for _, c := range t.pending {
		t.s.apply(c)
	}
	return nil
}

func (t *memTx) Rollback() error {
	if !t.done {
		t.unlock()
	}
	return nil
}

func (t *memTx) LockAccounts(_ context.Context, ids []string) ([]AccountState, error) {
	out := make([]AccountState, 0, len(ids))
	for _, id := range ids {
		if a := t.s.accounts[id]; a != nil {
			out = append(out, *a)
		}
	}
	return out, nil
}

func copyTx(r *TxRecord) TxRecord {
	c := *r
	c.Postings = slices.Clone(r.Postings)
	c.Metadata = copyMeta(r.Metadata)
	c.Consumed = slices.Clone(r.Consumed)
	return c
}

func copyHold(h *HoldRecord) HoldRecord {
	c := *h
	c.Metadata = copyMeta(h.Metadata)
	c.Reserved = slices.Clone(h.Reserved)
	return c
}

func (t *memTx) Transactions(_ context.Context, keys []string) ([]TxRecord, error) {
	var out []TxRecord
	for _, k := range keys {
		if r := t.s.txs[k]; r != nil {
			out = append(out, copyTx(r))
		}
	}
	return out, nil
}

func (t *memTx) OpenLots(_ context.Context, accounts []string) ([]Lot, error) {
	var out []Lot
	for _, a := range accounts {
		ls := t.s.open[a]
		for _, l := range ls {
			if l.Remaining.Sign() > 0 {
				out = append(out, l.Lot)
			}
		}
		if t.write {
			t.s.open[a] = keepRemaining(ls, func(l *memLot) { l.inOpen = false })
		}
	}
	return out, nil
}

func (t *memTx) Lots(_ context.Context, ids []LotID) ([]Lot, error) {
	var out []Lot
	for _, id := range ids {
		if l := t.s.lots[id]; l != nil {
			out = append(out, l.Lot)
		}
	}
	return out, nil
}

func (t *memTx) Holds(_ context.Context, ids []string) ([]HoldRecord, error) {
	var out []HoldRecord
	for _, id := range ids {
		if h := t.s.holds[id]; h != nil {
			out = append(out, copyHold(h))
		}
	}
	return out, nil
}

func (t *memTx) OpenHolds(_ context.Context, account string) ([]HoldRecord, error) {
	var out []HoldRecord
	for _, h := range t.s.openHolds[account] {
		out = append(out, copyHold(h))
	}
	return out, nil
}

// ResolvedHolds implements [ResolvedHoldLister] by a scan; the in-memory
// store keeps no per-account index of resolved holds.
func (t *memTx) ResolvedHolds(_ context.Context, account string, after time.Time) ([]HoldRecord, error) {
	var out []HoldRecord
	for _, h := range t.s.holds {
		if h.Account == account && h.Status != HoldOpen && h.ResolvedAt.After(after) {
			out = append(out, copyHold(h))
		}
	}
	return out, nil
}

func (t *memTx) ExpiredLots(_ context.Context, at time.Time, limit int) ([]Lot, error) {
	var out []Lot
	for _, l := range t.s.expiring {
		if l.Remaining.Sign() > 0 && !l.ExpiresAt.After(at) {
			out = append(out, l.Lot)
		}
	}
	if t.write {
		t.s.expiring = keepRemaining(t.s.expiring, func(l *memLot) { l.inExpiring = false })
	}
	slices.SortFunc(out, func(a, b Lot) int {
		if c := a.ExpiresAt.Compare(b.ExpiresAt); c != 0 {
			return c
		}
		return cmpLotID(a.ID, b.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func cmpLotID(a, b LotID) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}

func (t *memTx) ExpiredHolds(_ context.Context, at time.Time, limit int) ([]HoldRecord, error) {
	var out []HoldRecord
	for _, m := range t.s.openHolds {
		for _, h := range m {
			if !h.Deadline.After(at) {
				out = append(out, copyHold(h))
			}
		}
	}
	slices.SortFunc(out, func(a, b HoldRecord) int {
		if c := a.Deadline.Compare(b.Deadline); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (t *memTx) History(_ context.Context, account string, cursor int64, desc bool, limit int) ([]TxRecord, error) {
	h := t.s.hist[account]
	var out []TxRecord
	if !desc {
		i := sort.Search(len(h), func(i int) bool { return h[i].Seq > cursor })
		for ; i < len(h) && len(out) < limit; i++ {
			out = append(out, copyTx(h[i]))
		}
		return out, nil
	}
	i := len(h) - 1
	if cursor > 0 {
		i = sort.Search(len(h), func(i int) bool { return h[i].Seq >= cursor }) - 1
	}
	for ; i >= 0 && len(out) < limit; i-- {
		out = append(out, copyTx(h[i]))
	}
	return out, nil
}

func (t *memTx) SumTagged(_ context.Context, account, key, value string, from, to time.Time) (credits, debits decimal.Decimal, err error) {
	for _, r := range t.s.hist[account] {
		v, ok := r.Metadata[key]
		if !ok || v != value || r.EffectiveAt.Before(from) || !r.EffectiveAt.Before(to) {
			continue
		}
		for _, p := range r.Postings {
			if p.To == account {
				credits = credits.Add(p.Amount)
			}
			if p.From == account {
				debits = debits.Add(p.Amount)
			}
		}
	}
	return credits, debits, nil
}

func (t *memTx) ReserveSeq(_ context.Context, n int) (int64, error) {
	if !t.write {
		return 0, fmt.Errorf("ledger: memory store: ReserveSeq in a read-only transaction")
	}
	first := t.s.seq + 1
	t.s.seq += int64(n)
	return first, nil
}

// Apply checks for duplicates now and applies at Commit. The engine does not
// read after Apply in the same transaction.
func (t *memTx) Apply(_ context.Context, c *Changes) error {
	if !t.write {
		return fmt.Errorf("ledger: memory store: Apply in a read-only transaction")
	}
	for i := range c.NewAccounts {
		if t.s.accounts[c.NewAccounts[i].ID] != nil {
			return fmt.Errorf("ledger: memory store: account %q exists: %w", c.NewAccounts[i].ID, ErrRetry)
		}
	}
	for i := range c.Transactions {
		if t.s.txs[c.Transactions[i].Key] != nil {
			return fmt.Errorf("ledger: memory store: transaction %q exists: %w", c.Transactions[i].Key, ErrRetry)
		}
	}
	t.pending = append(t.pending, c)
	return nil
}

// setLot stores l. A lot joins the open (and expiring) lists whenever it
// has Remaining > 0 and is not on them; exhausted lots leave lazily.
func (s *memStore) setLot(l Lot) {
	p := s.lots[l.ID]
	if p == nil {
		if len(s.lotSlab) == 0 {
			s.lotSlab = make([]memLot, 256)
		}
		p = &s.lotSlab[0]
		s.lotSlab = s.lotSlab[1:]
		s.lots[l.ID] = p
	}
	p.Lot = l
	if l.Remaining.Sign() > 0 {
		if !p.inOpen {
			p.inOpen = true
			s.open[l.Account] = append(s.open[l.Account], p)
		}
		if !p.inExpiring && !l.ExpiresAt.IsZero() {
			p.inExpiring = true
			s.expiring = append(s.expiring, p)
		}
	}
}

func (s *memStore) setHold(h HoldRecord) {
	h = copyHold(&h)
	p := &h
	s.holds[h.ID] = p
	if h.Status == HoldOpen {
		m := s.openHolds[h.Account]
		if m == nil {
			m = map[string]*HoldRecord{}
			s.openHolds[h.Account] = m
		}
		m[h.ID] = p
	} else {
		delete(s.openHolds[h.Account], h.ID)
	}
}

func (s *memStore) apply(c *Changes) {
	for _, a := range c.NewAccounts {
		s.accounts[a.ID] = &a
	}
	for _, a := range c.Accounts {
		if p := s.accounts[a.ID]; p != nil {
			p.Posted, p.Held = a.Posted, a.Held
		}
	}
	for i := range c.Transactions {
		if len(s.txSlab) == 0 {
			s.txSlab = make([]TxRecord, 256)
		}
		p := &s.txSlab[0]
		s.txSlab = s.txSlab[1:]
		*p = copyTx(&c.Transactions[i])
		// Imported records bring their own Seq; never reserve below them.
		s.seq = max(s.seq, p.Seq)
		s.txs[p.Key] = p
		s.bySeq = appendBySeq(s.bySeq, p)
		for j, po := range p.Postings {
			s.addHist(po.From, p, j, true)
			s.addHist(po.To, p, j, false)
		}
	}
	for _, rv := range c.Reversed {
		if p := s.txs[rv.Key]; p != nil {
			p.ReversedBy = rv.By
		}
	}
	for _, l := range c.NewLots {
		s.setLot(l)
	}
	for _, l := range c.Lots {
		s.setLot(l)
	}
	for _, h := range c.NewHolds {
		s.setHold(h)
	}
	for _, h := range c.Holds {
		s.setHold(h)
	}
}

// addHist appends r to the account's history once, however many of its
// postings touch the account.
func (s *memStore) addHist(account string, r *TxRecord, posting int, from bool) {
	for k := 0; k < posting; k++ {
		if p := r.Postings[k]; p.From == account || p.To == account {
			return
		}
	}
	if !from && r.Postings[posting].From == account {
		return
	}
	s.hist[account] = appendBySeq(s.hist[account], r)
}

// appendBySeq appends r keeping rs ordered by Seq. The engine's records
// arrive in order; only imports may not.
func appendBySeq(rs []*TxRecord, r *TxRecord) []*TxRecord {
	i := len(rs)
	for i > 0 && rs[i-1].Seq > r.Seq {
		i--
	}
	return slices.Insert(rs, i, r)
}

func (t *memTx) ScanAccounts(_ context.Context, after string, limit int) ([]AccountState, error) {
	ids := slices.Sorted(maps.Keys(t.s.accounts))
	i, _ := slices.BinarySearch(ids, after)
	if i < len(ids) && ids[i] == after {
		i++
	}
	var out []AccountState
	for ; i < len(ids) && len(out) < limit; i++ {
		out = append(out, *t.s.accounts[ids[i]])
	}
	return out, nil
}

func (t *memTx) ScanTransactions(_ context.Context, after int64, limit int) ([]TxRecord, error) {
	b := t.s.bySeq
	i := sort.Search(len(b), func(i int) bool { return b[i].Seq > after })
	var out []TxRecord
	for ; i < len(b) && len(out) < limit; i++ {
		out = append(out, copyTx(b[i]))
	}
	return out, nil
}

func (t *memTx) ScanLots(_ context.Context, after LotID, limit int) ([]Lot, error) {
	ids := slices.SortedFunc(maps.Keys(t.s.lots), cmpLotID)
	var out []Lot
	for _, id := range ids {
		if after.Less(id) {
			out = append(out, t.s.lots[id].Lot)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

func (t *memTx) ScanHolds(_ context.Context, after string, limit int) ([]HoldRecord, error) {
	ids := slices.Sorted(maps.Keys(t.s.holds))
	var out []HoldRecord
	for _, id := range ids {
		if id > after {
			out = append(out, copyHold(t.s.holds[id]))
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// keepRemaining compacts a lot list in place to the lots with points left,
// keeping their order, and calls drop on each lot it removes. Writers prune
// the open and expiring lists this way as they read them.
func keepRemaining(ls []*memLot, drop func(*memLot)) []*memLot {
	j := 0
	for _, l := range ls {
		if l.Remaining.Sign() > 0 {
			ls[j] = l
			j++
		} else {
			drop(l)
		}
	}
	clear(ls[j:])
	return ls[:j]
}
