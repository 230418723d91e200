package ledger

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"maps"
	"math"
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

// NewMemoryStore returns a [Store] that keeps everything in memory. Writers
// are serialised by one mutex (the whole unit of work runs under it, which
// trivially gives the isolation LockAccounts asks for); readers share it.
// A write transaction's Apply takes effect at Commit, so Rollback discards
// it.
//
// Layout, chosen for the engine's write path: each account carries its own
// history, whose entries also hold the lots its credits opened, and an
// open-lot list (no per-posting map of maps); lots live in one list ordered
// by ID (binary search, no map entry per lot); records live by value in one
// list and are referred to by index, so histories, lots and the key index
// hold no pointers for the collector to trace; postings, metadata and lot
// uses are copied into large slabs, so storing a transaction costs a few
// copies rather than a few allocations. A write unit of the engine interns
// account IDs against the store's account index (see accountInterner).
func NewMemoryStore() Store {
	return &memStore{
		accounts:  map[string]*memAccount{},
		txs:       map[uint64]int32{},
		seed:      maphash.MakeSeed(),
		holds:     map[string]*HoldRecord{},
		openHolds: map[string]map[string]*HoldRecord{},
		orphans:   map[string][]int{},
		fullLots:  map[LotID]*Lot{},
	}
}

type memStore struct {
	mu     sync.RWMutex
	closed bool

	accounts    map[string]*memAccount
	accountList []*memAccount // by memAccount.idx
	// recs holds every record by value, in the order stored; a record's
	// index there is its id, which never changes (the list only grows,
	// chunk by chunk, so a *memRec into it stays valid too). Lots and
	// histories refer to records by id: int32s the collector never scans
	// and that need no write barrier, where pointers would need both.
	recs chunked[memRec]
	// txs finds records by a hash of their key (the id of the newest,
	// chained through memRec.nextKey): growing a map rehashes its keys,
	// and a uint64 key is rehashed without reading the key string, which
	// is out of cache. Neither key nor value is a pointer.
	txs   map[uint64]int32
	seed  maphash.Seed
	bySeq chunked[int32] // record ids, ascending Seq
	// lots holds every lot by value, ascending ID. It and the lists that
	// refer to its lots by index hold no pointers, so the collector skips
	// them; only out-of-order writes (imports) shift the indexes.
	lots     chunked[memLot]
	fullLots map[LotID]*Lot // lots not backed by their record's posting
	// orphans holds the open lots of accounts not stored (yet), which only
	// an import could write; they join the account when it arrives.
	orphans   map[string][]int
	holds     map[string]*HoldRecord
	openHolds map[string]map[string]*HoldRecord // account → open holds
	seq       int64
	units     uint64        // write transactions begun: each gets its own generation
	tos       []*memAccount // apply's scratch: credited accounts of a transaction
	accs      []*memAccount // apply's scratch: each posting's From and To

	// Allocation slabs: stored values never move, and one allocation
	// serves many records.
	postSlab []memPosting
	metaSlab []string
	useSlab  []LotUse
}

// memAccount is a stored account with its indexes.
type memAccount struct {
	// st is the account; when inUnits its Posted is zero and the total is
	// units·10^-scale instead, as the engine hands it over (Changes.posted),
	// so a batch's new balances cost no decimal each. state() builds it.
	st      AccountState
	units   int64
	scale   int32
	inUnits bool
	idx     int32       // in memStore.accountList
	hist    []histEntry // the records with a posting from or to it, ascending Seq
	// histSeq is the Seq of hist's last record: appending in order needs
	// no look at a record that is likely out of cache.
	histSeq int64
	// The open list holds (as memStore.lots indexes) the account's lots
	// that had Remaining > 0 when added; exhausted ones are dropped
	// lazily, by writers (pruneOpen). It is open plus the lots of the
	// hist entries from openFrom on: a credit the engine posts joins it
	// by filling in the history entry apply has just written for it,
	// rather than by appending to a second list elsewhere in memory, one
	// cache miss per posting fewer.
	open     []int
	openFrom int
	// slot is the engine's index for this account in the write
	// transaction whose generation is gen (accountInterner); stale for
	// any other. Writers are serialised, so one pair suffices.
	slot int32
	gen  uint64
}

// state returns the stored account with its Posted total.
func (a *memAccount) state() AccountState {
	st := a.st
	if a.inUnits {
		st.Posted = decimal.New(a.units, -a.scale)
	}
	return st
}

// histEntry is one record of an account's history.
type histEntry struct {
	rec int32 // record id
	// lot, at or after memAccount.openFrom, is the memStore.lots index of
	// a lot the record opened on the account, on the open list through
	// this entry; −1: none. Ignored before openFrom.
	lot int32
}

// eachOpen calls fn with each lot index on a's open list.
func (a *memAccount) eachOpen(fn func(int)) {
	for _, i := range a.open {
		fn(i)
	}
	for _, e := range a.hist[a.openFrom:] {
		if e.lot >= 0 {
			fn(int(e.lot))
		}
	}
}

// foldOpen moves the open lots held by hist entries to a.open.
func (a *memAccount) foldOpen() {
	for _, e := range a.hist[a.openFrom:] {
		if e.lot >= 0 {
			a.open = append(a.open, int(e.lot))
		}
	}
	a.openFrom = len(a.hist)
}

// attachLot puts lot idx, opened by record id, on a's open list through
// a's last history entry, if that entry is id's and can hold it.
func (a *memAccount) attachLot(id int32, idx int) bool {
	n := len(a.hist)
	if n == 0 || idx >= math.MaxInt32 || a.hist[n-1].rec != id {
		return false
	}
	e := &a.hist[n-1]
	switch {
	case a.openFrom == n:
		// addHist keeps openFrom past entries that hold no lot, so that
		// accounts without lots (a program's issuance) have nothing to
		// scan; this one now holds one.
		a.openFrom = n - 1
	case a.openFrom > n || e.lot >= 0:
		return false
	}
	e.lot = int32(idx)
	return true
}

// pruneOpen drops the exhausted lots from a's open list.
func (s *memStore) pruneOpen(a *memAccount) {
	a.foldOpen()
	a.open = s.keepRemaining(a.open)
}

// memRec is a stored transaction. Metadata is kept as sorted key/value
// pairs (rec.Metadata is nil) and turned back into a map when read.
//
// Postings are kept compact and pointer-free in posts (rec.Postings is nil):
// accounts by index, amounts as int64 coefficient and exponent, expiries in
// Unix microseconds. The collector never scans them and storing them needs
// no write barriers. A record with a posting that does not fit (a
// coefficient over 18 digits, an expiry not in UTC microseconds, an unknown
// account) keeps its Postings as they are instead.
type memRec struct {
	rec     TxRecord
	meta    []string
	posts   []memPosting
	nextKey int32 // 1 + the id of an older record whose key hashes alike; 0: none
}

// memPosting is a Posting without pointers.
type memPosting struct {
	from, to  int32 // memStore.accountList indexes
	exp       int32 // amount = coef·10^exp
	coef      int64
	expiresAt int64 // Unix µs; noExpiry for the zero time
}

const noExpiry = math.MinInt64

// compact returns p without pointers, if it round-trips exactly; from and
// to are the stored accounts p.From and p.To (nil: not stored), as apply
// found them.
func compact(p *Posting, from, to *memAccount) (memPosting, bool) {
	if from == nil || to == nil || p.Amount.NumDigits() > 18 {
		return memPosting{}, false
	}
	m := memPosting{from: from.idx, to: to.idx, exp: p.Amount.Exponent(), coef: p.Amount.CoefficientInt64(), expiresAt: noExpiry}
	if !p.ExpiresAt.IsZero() {
		m.expiresAt = p.ExpiresAt.UnixMicro()
		if unixMicroUTC(m.expiresAt) != p.ExpiresAt {
			return memPosting{}, false
		}
	}
	return m, true
}

func unixMicroUTC(us int64) time.Time {
	if us == noExpiry {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// posting returns posting k of r.
func (s *memStore) posting(r *memRec, k int) Posting {
	if r.posts == nil {
		return r.rec.Postings[k]
	}
	m := &r.posts[k]
	return Posting{From: s.accountList[m.from].st.ID, To: s.accountList[m.to].st.ID,
		Amount: decimal.New(m.coef, m.exp), ExpiresAt: unixMicroUTC(m.expiresAt)}
}

// postings returns how many postings r has.
func (r *memRec) postings() int {
	if r.posts == nil {
		return len(r.rec.Postings)
	}
	return len(r.posts)
}

// tx returns the record with this key, or nil.
func (s *memStore) tx(key string) *memRec {
	id, ok := s.txs[maphash.String(s.seed, key)]
	for ok {
		r := s.recs.ptr(int(id))
		if r.rec.Key == key {
			return r
		}
		id, ok = r.nextKey-1, r.nextKey != 0
	}
	return nil
}

// addTx indexes record id, whose key is not stored yet.
func (s *memStore) addTx(id int32) {
	r := s.recs.ptr(int(id))
	h := maphash.String(s.seed, r.rec.Key)
	if old, ok := s.txs[h]; ok {
		r.nextKey = old + 1
	}
	s.txs[h] = id
}

// rec returns the record with this id.
func (s *memStore) rec(id int32) *memRec { return s.recs.ptr(int(id)) }

// slab returns a slice of n fresh elements carved from *s, refilled with
// chunk elements (or n) when it runs out.
func slab[T any](s *[]T, n, chunk int) []T {
	if n > len(*s) {
		*s = make([]T, max(chunk, n))
	}
	out := (*s)[:n:n]
	*s = (*s)[n:]
	return out
}

// keep copies r into store-owned memory and returns its id; accs holds
// each posting's From and To accounts (nil if unknown).
func (s *memStore) keep(r *TxRecord, accs []*memAccount) (int32, *memRec) {
	id := s.recs.len() // < memMaxRecords: Commit checked the room
	s.recs.append(memRec{})
	p := s.recs.ptr(id)
	p.rec = *r
	p.rec.Metadata = nil
	p.rec.Postings = nil
	p.posts = slab(&s.postSlab, len(r.Postings), 4096)
	for k := range r.Postings {
		m, ok := compact(&r.Postings[k], accs[2*k], accs[2*k+1])
		if !ok {
			p.posts = nil
			p.rec.Postings = slices.Clone(r.Postings)
			break
		}
		p.posts[k] = m
	}
	if len(r.Consumed) > 0 {
		p.rec.Consumed = slab(&s.useSlab, len(r.Consumed), 1024)
		copy(p.rec.Consumed, r.Consumed)
	} else {
		p.rec.Consumed = nil
	}
	if len(r.Metadata) > 0 {
		p.meta = slab(&s.metaSlab, 2*len(r.Metadata), 4096)[:0]
		for k, v := range r.Metadata {
			p.meta = append(p.meta, k, v)
		}
		sortPairs(p.meta)
	}
	return int32(id), p
}

// sortPairs sorts key/value pairs by key (insertion sort: metadata is small).
func sortPairs(kv []string) {
	for i := 2; i < len(kv); i += 2 {
		for j := i; j >= 2 && kv[j] < kv[j-2]; j -= 2 {
			kv[j], kv[j-2] = kv[j-2], kv[j]
			kv[j+1], kv[j-1] = kv[j-1], kv[j+1]
		}
	}
}

// metaValue looks key up in the record's metadata.
func (r *memRec) metaValue(key string) (string, bool) {
	for i := 0; i < len(r.meta); i += 2 {
		if r.meta[i] == key {
			return r.meta[i+1], true
		}
	}
	return "", false
}

// out returns a copy of record r the caller owns.
func (s *memStore) out(r *memRec) TxRecord {
	c := r.rec
	c.Postings = make([]Posting, r.postings())
	for k := range c.Postings {
		c.Postings[k] = s.posting(r, k)
	}
	c.Consumed = slices.Clone(r.rec.Consumed)
	if len(r.meta) > 0 {
		c.Metadata = make(map[string]string, len(r.meta)/2)
		for i := 0; i < len(r.meta); i += 2 {
			c.Metadata[r.meta[i]] = r.meta[i+1]
		}
	}
	return c
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
	t := &memTx{s: s, write: write}
	if write {
		s.units++
		t.gen = s.units
	}
	t.pending = t.pend[:0]
	return t, nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// memLot is a stored lot. A lot is the credit of one posting, so its
// account, expiry and amount are read from that posting of its stored
// record (rec); only a lot written without a matching record (an import's
// odd one) keeps a full copy. That halves what each lot holds, and the lot
// holds no pointer for the collector to follow. Remaining and Expired are kept as int64 coefficient and
// exponent (one pointer word per lot for the collector, not three); a lot
// whose amounts do not fit keeps a full copy too.
type memLot struct {
	id LotID
	// Remaining = rem·10^remExp, Expired = expd·10^expdExp (ri ≥ 0).
	rem, expd int64
	// ri is the id of the record whose posting opened the lot, or -1 when
	// the lot is kept whole in memStore.fullLots.
	ri              int32
	remExp, expdExp int32
	inOpen          bool // on its account's open list
}

// lotOpen reports whether the lot has points remaining.
func (s *memStore) lotOpen(m *memLot) bool {
	if m.ri < 0 {
		return s.fullLots[m.id].Remaining.Sign() > 0
	}
	return m.rem > 0
}

// decParts splits d into an int64 coefficient and exponent, if it fits.
func decParts(d decimal.Decimal) (int64, int32, bool) {
	if d == (decimal.Decimal{}) {
		return 0, 0, true // the usual Expired: no big.Int to look at
	}
	if d.NumDigits() > 18 {
		return 0, 0, false
	}
	return d.CoefficientInt64(), d.Exponent(), true
}

// mkDec is decPart's inverse; the common zero needs no allocation.
func mkDec(c int64, e int32) decimal.Decimal {
	if c == 0 && e == 0 {
		return decimal.Decimal{}
	}
	return decimal.New(c, e)
}

// lot returns the stored lot.
func (s *memStore) lot(m *memLot) Lot {
	if m.ri < 0 {
		return *s.fullLots[m.id]
	}
	r := s.rec(m.ri)
	rem, expd := mkDec(m.rem, m.remExp), mkDec(m.expd, m.expdExp)
	if r.posts == nil {
		p := &r.rec.Postings[m.id.Posting]
		return Lot{ID: m.id, Account: p.To, ExpiresAt: p.ExpiresAt, Amount: p.Amount, Remaining: rem, Expired: expd}
	}
	mp := &r.posts[m.id.Posting]
	// An untouched lot's Remaining is its amount, the same value: share it
	// rather than build a second decimal.
	amt := rem
	if m.rem != mp.coef || m.remExp != mp.exp {
		amt = decimal.New(mp.coef, mp.exp)
	}
	return Lot{ID: m.id, Account: s.accountList[mp.to].st.ID, ExpiresAt: unixMicroUTC(mp.expiresAt),
		Amount: amt, Remaining: rem, Expired: expd}
}

func (s *memStore) expiresAt(m *memLot) time.Time {
	if m.ri < 0 {
		return s.fullLots[m.id].ExpiresAt
	}
	r := s.rec(m.ri)
	if r.posts == nil {
		return r.rec.Postings[m.id.Posting].ExpiresAt
	}
	return unixMicroUTC(r.posts[m.id.Posting].expiresAt)
}

// backs reports whether r's posting l.ID.Posting is the credit that opened
// l, field for field (amounts with the same exponent, so they print alike).
func (s *memStore) backs(r *memRec, l *Lot) bool {
	k := int(l.ID.Posting)
	if r == nil || r.rec.Seq != l.ID.Seq || k < 0 || k >= r.postings() {
		return false
	}
	if r.posts != nil {
		// Compared in compact form: no decimal to build.
		m := &r.posts[k]
		if s.accountList[m.to].st.ID != l.Account || l.Amount.NumDigits() > 18 ||
			l.Amount.Exponent() != m.exp || l.Amount.CoefficientInt64() != m.coef {
			return false
		}
		if l.ExpiresAt.IsZero() {
			return m.expiresAt == noExpiry
		}
		return m.expiresAt != noExpiry && unixMicroUTC(m.expiresAt) == l.ExpiresAt
	}
	p := &r.rec.Postings[k]
	return p.To == l.Account && p.ExpiresAt == l.ExpiresAt &&
		p.Amount.Exponent() == l.Amount.Exponent() && p.Amount.Equal(l.Amount)
}

// recBySeq returns the stored record with this Seq and its id, or nil
// and -1.
func (s *memStore) recBySeq(seq int64) (*memRec, int32) {
	i, ok := s.bySeq.search(func(id int32) int { return cmp.Compare(s.rec(id).rec.Seq, seq) })
	if !ok {
		return nil, -1
	}
	id := s.bySeq.at(i)
	return s.rec(id), id
}

// memMaxRecords is how many transaction records a memory store holds: their
// ids are int32. A variable so that a test can lower it.
var memMaxRecords = math.MaxInt32

type memTx struct {
	s       *memStore
	write   bool
	done    bool
	gen     uint64 // write transactions: the generation of memAccount.slot
	pending []*Changes
	pend    [1]*Changes // pending's usual one element, without an allocation
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
	n := 0
	for _, c := range t.pending {
		n += len(c.Transactions)
	}
	if t.s.recs.len()+n > memMaxRecords {
		// Record ids are int32: refuse the whole commit, applying nothing.
		return fmt.Errorf("%w: memory store holds %d transactions, at most %d fit", ErrStoreFull, t.s.recs.len(), memMaxRecords)
	}
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
			out = append(out, a.state())
		}
	}
	return out, nil
}

// appendLockedAccounts is LockAccounts appending to dst, with each
// account's posted total in du when it is kept in units (accountLocker).
func (t *memTx) appendLockedAccounts(dst []AccountState, du []unitTotal, ids []string) ([]AccountState, []unitTotal) {
	for _, id := range ids {
		if a := t.s.accounts[id]; a != nil {
			dst = append(dst, a.st)
			du = append(du, unitTotal{units: a.units, scale: a.scale, ok: a.inUnits, h: a})
		}
	}
	return dst, du
}

// interning implements accountInterner: only a write transaction holds
// the store exclusively, so only it may write memAccount.slot.
func (t *memTx) interning() bool { return t.write && !t.done }

// internAccount implements accountInterner.
func (t *memTx) internAccount(id string) (*memAccount, int32) {
	a := t.s.accounts[id]
	switch {
	case a == nil:
		return nil, -1
	case a.gen == t.gen:
		return a, a.slot
	}
	return a, -1
}

// lockedState implements accountInterner.
func (t *memTx) lockedState(a *memAccount) (AccountState, unitTotal) {
	return a.st, unitTotal{units: a.units, scale: a.scale, ok: a.inUnits, h: a}
}

// setSlot implements accountInterner.
func (t *memTx) setSlot(a *memAccount, slot int32) { a.slot, a.gen = slot, t.gen }

func copyHold(h *HoldRecord) HoldRecord {
	c := *h
	c.Metadata = copyMeta(h.Metadata)
	c.Reserved = slices.Clone(h.Reserved)
	return c
}

func (t *memTx) Transactions(_ context.Context, keys []string) ([]TxRecord, error) {
	var out []TxRecord
	for _, k := range keys {
		if r := t.s.tx(k); r != nil {
			out = append(out, t.s.out(r))
		}
	}
	return out, nil
}

func (t *memTx) OpenLots(_ context.Context, accounts []string) ([]Lot, error) {
	var out []Lot
	for _, id := range accounts {
		a := t.s.accounts[id]
		if a == nil {
			for _, i := range t.s.orphans[id] {
				if l := t.s.lots.ptr(i); t.s.lotOpen(l) {
					out = append(out, t.s.lot(l))
				}
			}
			continue
		}
		a.eachOpen(func(i int) {
			if l := t.s.lots.ptr(i); t.s.lotOpen(l) {
				out = append(out, t.s.lot(l))
			}
		})
		if t.write {
			t.s.pruneOpen(a)
		}
	}
	return out, nil
}

// findLot returns the index of the lot with this ID in s.lots, or where it
// would be inserted.
func (s *memStore) findLot(id LotID) (int, bool) {
	return s.lots.search(func(l memLot) int { return cmpLotID(l.id, id) })
}

func (t *memTx) Lots(_ context.Context, ids []LotID) ([]Lot, error) {
	var out []Lot
	for _, id := range ids {
		if i, ok := t.s.findLot(id); ok {
			out = append(out, t.s.lot(t.s.lots.ptr(i)))
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
	// Every open lot is on its account's open list (or an orphan list);
	// scanning them is what an expiring list would cost in a points
	// ledger, where most open lots expire.
	var out []Lot
	due := func(i int) {
		if l := t.s.lots.ptr(i); t.s.lotOpen(l) {
			if exp := t.s.expiresAt(l); !exp.IsZero() && !exp.After(at) {
				out = append(out, t.s.lot(l))
			}
		}
	}
	for _, a := range t.s.accounts {
		a.eachOpen(due)
		if t.write {
			t.s.pruneOpen(a)
		}
	}
	for _, ls := range t.s.orphans {
		for _, i := range ls {
			due(i)
		}
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
	var h []histEntry
	if a := t.s.accounts[account]; a != nil {
		h = a.hist
	}
	s := t.s
	var out []TxRecord
	if !desc {
		i := sort.Search(len(h), func(i int) bool { return s.rec(h[i].rec).rec.Seq > cursor })
		for ; i < len(h) && len(out) < limit; i++ {
			out = append(out, s.out(s.rec(h[i].rec)))
		}
		return out, nil
	}
	i := len(h) - 1
	if cursor > 0 {
		i = sort.Search(len(h), func(i int) bool { return s.rec(h[i].rec).rec.Seq >= cursor }) - 1
	}
	for ; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.out(s.rec(h[i].rec)))
	}
	return out, nil
}

func (t *memTx) SumTagged(_ context.Context, account, key, value string, from, to time.Time) (credits, debits decimal.Decimal, err error) {
	a := t.s.accounts[account]
	if a == nil {
		return credits, debits, nil
	}
	for _, e := range a.hist {
		m := t.s.rec(e.rec)
		r := &m.rec
		v, ok := m.metaValue(key)
		if !ok || v != value || r.EffectiveAt.Before(from) || !r.EffectiveAt.Before(to) {
			continue
		}
		for k := range m.postings() {
			p := t.s.posting(m, k)
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
		if t.s.tx(c.Transactions[i].Key) != nil {
			return fmt.Errorf("ledger: memory store: transaction %q exists: %w", c.Transactions[i].Key, ErrRetry)
		}
	}
	t.pending = append(t.pending, c)
	return nil
}

// setLot stores l, opened by posting l.ID.Posting of rec, whose id is ri
// (nil, -1: look it up). A lot joins its account's open list
// whenever it has Remaining > 0 and is not on it; exhausted lots leave
// lazily.
func (s *memStore) setLot(l *Lot, rec *memRec, ri int32, owner *memAccount, cache *accountCache) {
	idx, isNew := s.lots.len(), true
	if idx == 0 || s.lots.ptr(idx-1).id.Less(l.ID) {
		// New lots come in ID order: append.
		s.lots.append(memLot{id: l.ID, ri: -1})
	} else if i, ok := s.findLot(l.ID); ok {
		idx, isNew = i, false
	} else {
		idx = i
		s.lots.insert(i, memLot{id: l.ID, ri: -1})
		s.shiftLots(i)
	}
	p := s.lots.ptr(idx)
	// A lot is backed by its record's posting, or kept whole; a whole
	// copy stays one.
	back := int32(-1)
	switch {
	case isNew:
		if rec == nil {
			rec, ri = s.recBySeq(l.ID.Seq)
		}
		if s.backs(rec, l) {
			back = ri
		}
	case p.ri >= 0 && s.backs(s.rec(p.ri), l):
		back = p.ri
	}
	rc, re, rok := decParts(l.Remaining)
	xc, xe, xok := decParts(l.Expired)
	if back >= 0 && rok && xok {
		p.ri, p.rem, p.remExp, p.expd, p.expdExp = back, rc, re, xc, xe
	} else {
		c := *l
		p.ri = -1
		s.fullLots[l.ID] = &c
	}
	if l.Remaining.Sign() > 0 && !p.inOpen {
		p.inOpen = true
		if owner == nil {
			owner = cache.get(s, l.Account)
		}
		switch {
		case owner == nil:
			s.orphans[l.Account] = append(s.orphans[l.Account], idx)
		case ri >= 0 && owner.attachLot(ri, idx):
		default:
			owner.open = append(owner.open, idx)
		}
	}
}

// opens reports whether l, whose account the caller has found to be po.To,
// is the untouched lot posting po opens: the same Decimal values
// (coefficient pointer and exponent, so the same numbers without comparing
// them) and expiry.
func opens(l *Lot, po *Posting) bool {
	return l.Amount == po.Amount && l.Remaining == po.Amount && l.Expired == (decimal.Decimal{}) &&
		l.ExpiresAt == po.ExpiresAt
}

// addLot is setLot for the lot the engine opened with a posting of record
// ri (m is that posting, compact; see opens), when it goes after every
// stored lot: its amounts are the posting's, so it needs no decimal looked
// at. It reports false, doing nothing, when the lot does not go last.
func (s *memStore) addLot(l *Lot, ri int32, owner *memAccount, m *memPosting) bool {
	idx := s.lots.len()
	if idx > 0 && !s.lots.ptr(idx-1).id.Less(l.ID) {
		return false
	}
	open := m.coef > 0 // Remaining is the amount
	s.lots.append(memLot{id: l.ID, ri: ri, rem: m.coef, remExp: m.exp, inOpen: open})
	if open && !owner.attachLot(ri, idx) {
		owner.open = append(owner.open, idx)
	}
	return true
}

// shiftLots renumbers the lot indexes the open lists hold after a lot was
// inserted at index i (an import's out-of-order write; O(lots), like the
// insert itself).
func (s *memStore) shiftLots(i int) {
	shift := func(ls []int) {
		for k := range ls {
			if ls[k] >= i {
				ls[k]++
			}
		}
	}
	for _, a := range s.accountList {
		if s.lots.len() >= math.MaxInt32 {
			a.foldOpen() // an int32 entry could overflow
		}
		shift(a.open)
		for k := a.openFrom; k < len(a.hist); k++ {
			if e := &a.hist[k]; e.lot >= int32(i) {
				e.lot++
			}
		}
	}
	for _, ls := range s.orphans {
		shift(ls)
	}
}

// accountCache remembers the last two accounts apply looked up: a batch
// touches the same program account posting after posting.
type accountCache struct{ a, b *memAccount }

func (c *accountCache) get(s *memStore, id string) *memAccount {
	if c.a != nil && c.a.st.ID == id {
		return c.a
	}
	if c.b != nil && c.b.st.ID == id {
		c.a, c.b = c.b, c.a
		return c.a
	}
	p := s.accounts[id]
	if p != nil {
		c.a, c.b = p, c.a
	}
	return p
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
		m := &memAccount{st: a, idx: int32(len(s.accountList))}
		s.accountList = append(s.accountList, m)
		if o, ok := s.orphans[a.ID]; ok {
			m.open = o
			delete(s.orphans, a.ID)
		}
		s.accounts[a.ID] = m
	}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		var p *memAccount
		if i < len(c.posted) && c.posted[i].h != nil && c.posted[i].h.st.ID == a.ID {
			p = c.posted[i].h // as locked: no need to hash a.ID again
		} else {
			p = s.accounts[a.ID]
		}
		if p != nil {
			p.st.Posted, p.st.Held = a.Posted, a.Held
			p.inUnits = false
			if i < len(c.posted) && c.posted[i].ok {
				u := c.posted[i]
				p.units, p.scale, p.inUnits = u.units, u.scale, true
				p.st.Posted = decimal.Decimal{}
			}
		}
	}
	var cache accountCache
	// The engine's new lots come in ID order, like their transactions: each
	// is stored with its transaction, whose credited account is at hand.
	// Lots left over (e.g. an import's, in their own Changes) follow.
	lots := c.NewLots
	tos, accs := s.tos[:0], s.accs[:0]
	for i := range c.Transactions {
		r := &c.Transactions[i]
		accs = accs[:0]
		off := -1
		if i < len(c.phOff) {
			off = c.phOff[i]
		}
		for k, po := range r.Postings {
			var f, t *memAccount
			if off >= 0 && off+2*k+1 < len(c.ph) {
				f, t = c.ph[off+2*k], c.ph[off+2*k+1]
			}
			if f == nil || f.st.ID != po.From {
				f = cache.get(s, po.From)
			}
			if t == nil || t.st.ID != po.To {
				t = cache.get(s, po.To)
			}
			accs = append(accs, f, t)
		}
		ri, p := s.keep(r, accs)
		// Imported records bring their own Seq; never reserve below them.
		s.seq = max(s.seq, p.rec.Seq)
		s.addTx(ri)
		if n := s.bySeq.len(); n == 0 || s.rec(s.bySeq.at(n-1)).rec.Seq < p.rec.Seq {
			s.bySeq.append(ri)
		} else {
			// After any record with the same Seq, as appendBySeq.
			i := sort.Search(n, func(i int) bool { return s.rec(s.bySeq.at(i)).rec.Seq > p.rec.Seq })
			s.bySeq.insert(i, ri)
		}
		tos = tos[:0]
		for k := range r.Postings {
			if a := accs[2*k]; a != nil {
				s.addHist(a, ri, p.rec.Seq)
			}
			a := accs[2*k+1]
			if a != nil {
				s.addHist(a, ri, p.rec.Seq)
			}
			tos = append(tos, a)
		}
		for len(lots) > 0 && lots[0].ID.Seq == p.rec.Seq {
			l := &lots[0]
			var owner *memAccount
			k := int(l.ID.Posting)
			if k >= 0 && k < len(tos) && tos[k] != nil && tos[k].st.ID == l.Account {
				owner = tos[k]
			}
			if owner == nil || p.posts == nil || !opens(l, &r.Postings[k]) || !s.addLot(l, ri, owner, &p.posts[k]) {
				s.setLot(l, p, ri, owner, &cache)
			}
			lots = lots[1:]
		}
	}
	clear(tos)
	clear(accs)
	s.tos, s.accs = tos[:0], accs[:0]
	for _, rv := range c.Reversed {
		if p := s.tx(rv.Key); p != nil {
			p.rec.ReversedBy = rv.By
		}
	}
	for i := range lots {
		s.setLot(&lots[i], nil, -1, nil, &cache)
	}
	for i := range c.Lots {
		s.setLot(&c.Lots[i], nil, -1, nil, &cache)
	}
	for _, h := range c.NewHolds {
		s.setHold(h)
	}
	for _, h := range c.Holds {
		s.setHold(h)
	}
}

// addHist adds record id, with this Seq, to a's history once.
func (s *memStore) addHist(a *memAccount, id int32, seq int64) {
	switch {
	case seq > a.histSeq || len(a.hist) == 0:
		tail := a.openFrom == len(a.hist) // no entry holds an open lot
		a.hist = append(a.hist, histEntry{rec: id, lot: -1})
		a.histSeq = seq
		if tail {
			a.openFrom = len(a.hist)
		}
	case seq == a.histSeq && a.hist[len(a.hist)-1].rec == id:
		// A second posting of the record on this account.
	default:
		var at int
		a.hist, at = s.appendBySeq(a.hist, id, seq)
		if at >= 0 && at < a.openFrom {
			a.openFrom++ // the entries it holds moved up one
		}
	}
}

// appendBySeq adds record id, with this Seq, to h, kept ordered by Seq,
// unless it is there already (a transaction with several postings on one
// account), and returns where it went (−1: already there). The engine's
// records arrive in order, so it almost always goes last; only imports may
// not.
func (s *memStore) appendBySeq(h []histEntry, id int32, seq int64) ([]histEntry, int) {
	i := len(h)
	for i > 0 && s.rec(h[i-1].rec).rec.Seq > seq {
		i--
	}
	if i > 0 && h[i-1].rec == id {
		return h, -1
	}
	return slices.Insert(h, i, histEntry{rec: id, lot: -1}), i
}

func (t *memTx) ScanAccounts(_ context.Context, after string, limit int) ([]AccountState, error) {
	ids := slices.Sorted(maps.Keys(t.s.accounts))
	i, _ := slices.BinarySearch(ids, after)
	if i < len(ids) && ids[i] == after {
		i++
	}
	var out []AccountState
	for ; i < len(ids) && len(out) < limit; i++ {
		out = append(out, t.s.accounts[ids[i]].state())
	}
	return out, nil
}

func (t *memTx) ScanTransactions(_ context.Context, after int64, limit int) ([]TxRecord, error) {
	b := &t.s.bySeq
	i := sort.Search(b.len(), func(i int) bool { return t.s.rec(b.at(i)).rec.Seq > after })
	var out []TxRecord
	for ; i < b.len() && len(out) < limit; i++ {
		out = append(out, t.s.out(t.s.rec(b.at(i))))
	}
	return out, nil
}

func (t *memTx) ScanLots(_ context.Context, after LotID, limit int) ([]Lot, error) {
	i, ok := t.s.findLot(after)
	if ok {
		i++
	}
	var out []Lot
	for ; i < t.s.lots.len() && len(out) < limit; i++ {
		out = append(out, t.s.lot(t.s.lots.ptr(i)))
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
// the open lists this way as they read them.
func (s *memStore) keepRemaining(ls []int) []int {
	j := 0
	for _, i := range ls {
		if l := s.lots.ptr(i); s.lotOpen(l) {
			ls[j] = i
			j++
		} else {
			l.inOpen = false
		}
	}
	return ls[:j]
}

// chunked is an append-mostly list kept in fixed-size chunks, so growing it
// never copies what it holds: the store's lists of every lot and record
// reach millions of pointers, and doubling a slice that size (fresh pages,
// write barriers) cost more than the rest of storing a lot.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkBits = 12 // 4096 elements per chunk

func (c *chunked[T]) len() int { return c.n }

func (c *chunked[T]) at(i int) T { return c.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

// ptr returns the address of element i, valid until the next insert.
func (c *chunked[T]) ptr(i int) *T { return &c.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

func (c *chunked[T]) append(v T) {
	if c.n&(1<<chunkBits-1) == 0 {
		c.chunks = append(c.chunks, make([]T, 0, 1<<chunkBits))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
}

// insert puts v at index i. Only out-of-order writes (imports) insert
// before the end; they rebuild the chunks, as inserting into a slice would.
func (c *chunked[T]) insert(i int, v T) {
	if i == c.n {
		c.append(v)
		return
	}
	all := make([]T, 0, c.n+1)
	for _, ch := range c.chunks {
		all = append(all, ch...)
	}
	all = slices.Insert(all, i, v)
	*c = chunked[T]{}
	for _, x := range all {
		c.append(x)
	}
}

// search is slices.BinarySearchFunc over the list: cmp(x) compares an
// element with the target.
func (c *chunked[T]) search(cmp func(T) int) (int, bool) {
	i := sort.Search(c.n, func(i int) bool { return cmp(c.at(i)) >= 0 })
	return i, i < c.n && cmp(c.at(i)) == 0
}
