package ledgertest

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// The state-machine test drives random operations against the ledger and
// against model, a deliberately naive re-statement of the rules (lots in a
// flat slice, linear scans), and compares every balance and every history
// after each step. Size it with -rapid.checks and -rapid.steps.

type mlot struct {
	id   int // creation order
	acct string
	exp  time.Time
	rem  decimal.Decimal
}

type muse struct {
	lot *mlot
	amt decimal.Decimal
}

type mhold struct {
	id, acct  string
	amt       decimal.Decimal
	deadline  time.Time
	status    ledger.HoldStatus
	committed decimal.Decimal
	reserved  []muse
}

type mtx struct {
	req      ledger.Transaction // as posted (user transactions)
	seq      int64
	from, to string
	amt      decimal.Decimal
	rule     string
	eff      time.Time
	consumed []muse // what the debit took from lots
	lot      *mlot  // lot the credit opened
	reversed bool
	reversal bool
	user     bool // posted with Post (repostable)
}

type model struct {
	now     time.Time
	nextLot int
	posted  map[string]decimal.Decimal
	lots    []*mlot
	holds   map[string]*mhold
	txs     map[string]*mtx
	keys    []string // transactions in commit order
	hist    map[string][]string
	expired string // the expired account, once a sweep named it
}

var customers = []string{Alice, Bob, Carol}

func isCustomer(id string) bool { return slices.Contains(customers, id) }

func newModel() *model {
	return &model{now: T0, posted: map[string]decimal.Decimal{}, holds: map[string]*mhold{},
		txs: map[string]*mtx{}, hist: map[string][]string{}}
}

// clone deep-copies the model (lots are shared by pointer from holds and
// transactions, so they are remapped).
func (m *model) clone() *model {
	c := *m
	lm := map[*mlot]*mlot{}
	c.lots = make([]*mlot, len(m.lots))
	for i, l := range m.lots {
		cp := *l
		c.lots[i] = &cp
		lm[l] = &cp
	}
	remap := func(us []muse) []muse {
		out := make([]muse, len(us))
		for i, u := range us {
			out[i] = muse{lm[u.lot], u.amt}
		}
		return out
	}
	c.posted = map[string]decimal.Decimal{}
	for k, v := range m.posted {
		c.posted[k] = v
	}
	c.holds = map[string]*mhold{}
	for k, h := range m.holds {
		cp := *h
		cp.reserved = remap(h.reserved)
		c.holds[k] = &cp
	}
	c.txs = map[string]*mtx{}
	for k, x := range m.txs {
		cp := *x
		cp.consumed = remap(x.consumed)
		if x.lot != nil {
			cp.lot = lm[x.lot]
		}
		c.txs[k] = &cp
	}
	c.keys = slices.Clone(m.keys)
	c.hist = map[string][]string{}
	for k, v := range m.hist {
		c.hist[k] = slices.Clone(v)
	}
	return &c
}

func (m *model) expiredAt(l *mlot, at time.Time) bool { return !l.exp.IsZero() && !l.exp.After(at) }

// order sorts lots into consumption order.
func order(ls []*mlot) {
	slices.SortFunc(ls, func(a, b *mlot) int {
		az, bz := a.exp.IsZero(), b.exp.IsZero()
		switch {
		case az && !bz:
			return 1
		case !az && bz:
			return -1
		case !az && !a.exp.Equal(b.exp):
			return a.exp.Compare(b.exp)
		}
		return cmp.Compare(a.id, b.id)
	})
}

// consume takes amt from acct's unexpired lots, prefer first; ok=false
// (and nothing changed) when they hold less.
func (m *model) consume(acct string, amt decimal.Decimal, prefer *mlot) ([]muse, bool) {
	var ls []*mlot
	avail := decimal.Zero
	for _, l := range m.lots {
		if l.acct == acct && l.rem.Sign() > 0 && !m.expiredAt(l, m.now) {
			ls = append(ls, l)
			avail = avail.Add(l.rem)
		}
	}
	if avail.LessThan(amt) {
		return nil, false
	}
	order(ls)
	if prefer != nil {
		if i := slices.Index(ls, prefer); i > 0 {
			ls = append([]*mlot{prefer}, slices.Delete(ls, i, i+1)...)
		}
	}
	need := amt
	var uses []muse
	for _, l := range ls {
		if need.Sign() == 0 {
			break
		}
		t := decimal.Min(need, l.rem)
		l.rem = l.rem.Sub(t)
		need = need.Sub(t)
		uses = append(uses, muse{l, t})
	}
	return uses, true
}

func (m *model) giveBack(us []muse) {
	for _, u := range us {
		u.lot.rem = u.lot.rem.Add(u.amt)
	}
}

func (m *model) newLot(acct string, amt decimal.Decimal, exp time.Time) *mlot {
	m.nextLot++
	l := &mlot{id: m.nextLot, acct: acct, exp: exp, rem: amt}
	m.lots = append(m.lots, l)
	return l
}

func (m *model) record(key string, x *mtx) {
	m.txs[key] = x
	m.keys = append(m.keys, key)
	m.hist[x.from] = append(m.hist[x.from], key)
	m.hist[x.to] = append(m.hist[x.to], key)
}

// transfer applies a one-posting user transaction; ok=false on insufficient funds.
func (m *model) transfer(x *mtx, exp time.Time) bool {
	if isCustomer(x.from) {
		uses, ok := m.consume(x.from, x.amt, nil)
		if !ok {
			return false
		}
		x.consumed = uses
	}
	m.posted[x.from] = m.posted[x.from].Sub(x.amt)
	m.posted[x.to] = m.posted[x.to].Add(x.amt)
	if isCustomer(x.to) {
		x.lot = m.newLot(x.to, x.amt, exp)
	}
	return true
}

func (m *model) release(h *mhold, status ledger.HoldStatus, back []muse) {
	m.giveBack(back)
	h.status = status
}

// balance is the model's view of an account at now.
func (m *model) balance(acct string) bal {
	held, expired, pending := decimal.Zero, decimal.Zero, decimal.Zero
	rem := map[*mlot]decimal.Decimal{}
	for _, l := range m.lots {
		if l.acct == acct {
			rem[l] = l.rem
		}
	}
	for _, h := range m.holds {
		if h.acct != acct || h.status != ledger.HoldOpen {
			continue
		}
		if h.deadline.After(m.now) {
			held = held.Add(h.amt)
			continue
		}
		for _, u := range h.reserved {
			rem[u.lot] = rem[u.lot].Add(u.amt)
		}
	}
	for l, r := range rem {
		switch {
		case l.exp.IsZero():
		case m.expiredAt(l, m.now):
			expired = expired.Add(r)
		default:
			pending = pending.Add(r)
		}
	}
	p := m.posted[acct]
	return toBal(ledger.Balance{Posted: p, Held: held, Expired: expired, PendingExpiry: pending, Available: p.Sub(held).Sub(expired)})
}

type machine struct {
	e   *env
	m   *model
	n   int // key counter
	win [2]time.Time
}

// withRapidChecks sets rapid's -rapid.checks to n for the duration of the
// returned restore func, unless the user set the flag on the command line.
func withRapidChecks(n int) (restore func()) {
	f := flag.Lookup("rapid.checks")
	if f == nil || n <= 0 {
		return func() {}
	}
	explicit := false
	flag.Visit(func(v *flag.Flag) { explicit = explicit || v.Name == "rapid.checks" })
	if explicit {
		return func() {}
	}
	old := f.Value.String()
	_ = f.Value.Set(strconv.Itoa(n))
	return func() { _ = f.Value.Set(old) }
}

func testStateMachine(t *testing.T, open Opener, checks int) {
	defer withRapidChecks(checks)()
	probe := newEnv(t, open)
	if !probe.clocked {
		t.Skip("implementation ignores ledger.WithClock; the state machine needs to move time")
	}
	_, hasHolds := probe.l.(ledger.Holder)
	_, hasSweep := probe.l.(ledger.Expirer)
	_, hasReverse := probe.l.(ledger.Reverser)
	_, hasBatch := probe.l.(ledger.BatchPoster)
	_, hasSum := probe.l.(ledger.AwardSummer)
	_ = probe.l.Close()
	rapid.Check(t, func(rt *rapid.T) {
		clock := NewClock(T0)
		l := open(t, ledger.WithClock(clock.Now), ledger.WithCurrency(Credits))
		defer func() { _ = l.Close() }()
		e := &env{t: rt, ctx: context.Background(), l: l, clock: clock}
		e.setup()
		s := &machine{e: e, m: newModel(), win: [2]time.Time{T0.Add(-3 * 24 * time.Hour), T0.Add(2 * 24 * time.Hour)}}
		actions := map[string]func(*rapid.T){
			"":         s.check,
			"award":    s.award,
			"redeem":   s.redeem,
			"transfer": s.transfer,
			"repost":   s.repost,
			"conflict": s.conflict,
			"advance":  s.advance,
		}
		if hasHolds {
			actions["hold"] = s.hold
			actions["commit"] = s.commit
			actions["void"] = s.void
		}
		if hasSweep {
			actions["sweep"] = s.sweep
		}
		if hasReverse {
			actions["reverse"] = s.reverse
		}
		if hasBatch {
			actions["batch"] = s.batch
		}
		if hasSum {
			actions["awardedSum"] = s.awardedSum
		}
		rt.Repeat(actions)
	})
}

func (s *machine) key(prefix string) string {
	s.n++
	return fmt.Sprintf("%s%d", prefix, s.n)
}

func genAmount(t *rapid.T, label string) decimal.Decimal {
	return decimal.New(int64(rapid.IntRange(1, 4000).Draw(t, label)), -2)
}

// genTx draws a user transaction: an award (maybe expiring, tagged with a
// rule), a redemption or a transfer between customers.
func (s *machine) genTx(t *rapid.T) (ledger.Transaction, *mtx) {
	kind := rapid.SampledFrom([]string{"award", "redeem", "transfer"}).Draw(t, "kind")
	amt := genAmount(t, "amount")
	x := &mtx{amt: amt, user: true}
	var exp time.Time
	switch kind {
	case "award":
		x.from, x.to = Issuance, rapid.SampledFrom(customers).Draw(t, "to")
		if rapid.Bool().Draw(t, "expiring") {
			exp = s.m.now.Add(time.Duration(rapid.IntRange(1, 96).Draw(t, "expiresInHours")) * time.Hour)
		}
		x.rule = rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "rule")
		x.eff = T0.Add(time.Duration(rapid.IntRange(-96, 96).Draw(t, "effectiveHours")) * time.Hour)
	case "redeem":
		x.from, x.to = rapid.SampledFrom(customers).Draw(t, "from"), Redeemed
	default:
		x.from = rapid.SampledFrom(customers).Draw(t, "from")
		x.to = rapid.SampledFrom(customers).Filter(func(c string) bool { return c != x.from }).Draw(t, "to")
	}
	tx := ledger.Transaction{Key: s.key("t"), Postings: []ledger.Posting{{From: x.from, To: x.to, Amount: amt, ExpiresAt: exp}}, EffectiveAt: x.eff}
	if x.rule != "" {
		tx.Metadata = map[string]string{"rule": x.rule}
	}
	x.req = tx
	return tx, x
}

// apply runs tx on model m; false means the ledger must refuse it.
func (m *model) apply(tx ledger.Transaction, x *mtx) bool {
	if !m.transfer(x, tx.Postings[0].ExpiresAt) {
		return false
	}
	if x.eff.IsZero() {
		x.eff = m.now
	}
	m.record(tx.Key, x)
	return true
}

func (s *machine) mustBeAbsent(t *rapid.T, key string) {
	if _, err := s.e.l.Lookup(s.e.ctx, key); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("refused key %q is visible: %v", key, err)
	}
}

func (s *machine) postOne(t *rapid.T, tx ledger.Transaction, x *mtx) {
	ok := s.m.apply(tx, x)
	got, err := s.e.l.Post(s.e.ctx, tx)
	if !ok {
		if !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("Post(%s %s→%s %s): %v, model says ErrInsufficientFunds", tx.Key, x.from, x.to, x.amt, err)
		}
		s.mustBeAbsent(t, tx.Key)
		return
	}
	if err != nil {
		t.Fatalf("Post(%s %s→%s %s): %v, model says ok", tx.Key, x.from, x.to, x.amt, err)
	}
	x.seq = got.Seq
}

func (s *machine) award(t *rapid.T) {
	tx, x := s.genTx(t)
	for x.from != Issuance {
		tx, x = s.genTx(t)
	}
	s.postOne(t, tx, x)
}

func (s *machine) redeem(t *rapid.T) {
	c := rapid.SampledFrom(customers).Draw(t, "from")
	amt := genAmount(t, "amount")
	tx := ledger.Transaction{Key: s.key("r"), Postings: []ledger.Posting{{From: c, To: Redeemed, Amount: amt}}}
	s.postOne(t, tx, &mtx{req: tx, from: c, to: Redeemed, amt: amt, user: true})
}

func (s *machine) transfer(t *rapid.T) {
	tx, x := s.genTx(t)
	s.postOne(t, tx, x)
}

func (s *machine) batch(t *rapid.T) {
	n := rapid.IntRange(1, 4).Draw(t, "batchSize")
	var txs []ledger.Transaction
	var xs []*mtx
	trial := s.m.clone()
	ok := true
	for range n {
		tx, x := s.genTx(t)
		txs = append(txs, tx)
		xs = append(xs, x)
		if ok && !trial.apply(tx, x) {
			ok = false
		}
	}
	got, err := s.e.l.(ledger.BatchPoster).PostBatch(s.e.ctx, txs)
	if !ok {
		if !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("PostBatch: %v, model says ErrInsufficientFunds", err)
		}
		for _, tx := range txs {
			s.mustBeAbsent(t, tx.Key)
		}
		return
	}
	if err != nil {
		t.Fatalf("PostBatch: %v, model says ok", err)
	}
	for i, x := range xs {
		x.seq = got[i].Seq
	}
	// xs point into the trial model's transactions; adopt it.
	for i, tx := range txs {
		trial.txs[tx.Key].seq = got[i].Seq
	}
	s.m = trial
}

func (s *machine) userKeys() []string {
	var ks []string
	for _, k := range s.m.keys {
		if s.m.txs[k].user {
			ks = append(ks, k)
		}
	}
	return ks
}

func (s *machine) repost(t *rapid.T) {
	ks := s.userKeys()
	if len(ks) == 0 {
		t.Skip("nothing posted yet")
	}
	x := s.m.txs[rapid.SampledFrom(ks).Draw(t, "key")]
	got, err := s.e.l.Post(s.e.ctx, x.req)
	if err != nil || got.Seq != x.seq {
		t.Fatalf("repost %s: seq %d, %v; want the original seq %d", x.req.Key, got.Seq, err, x.seq)
	}
}

func (s *machine) conflict(t *rapid.T) {
	ks := s.userKeys()
	if len(ks) == 0 {
		t.Skip("nothing posted yet")
	}
	x := s.m.txs[rapid.SampledFrom(ks).Draw(t, "key")]
	req := x.req
	req.Postings = []ledger.Posting{req.Postings[0]}
	req.Postings[0].Amount = req.Postings[0].Amount.Add(decimal.New(1, -2))
	if _, err := s.e.l.Post(s.e.ctx, req); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("conflicting repost of %s: %v", req.Key, err)
	}
}

func (s *machine) advance(t *rapid.T) {
	d := time.Duration(rapid.IntRange(1, 36).Draw(t, "hours")) * time.Hour
	s.e.clock.Advance(d)
	s.m.now = s.m.now.Add(d)
}

func (s *machine) hold(t *rapid.T) {
	c := rapid.SampledFrom(customers).Draw(t, "account")
	amt := genAmount(t, "amount")
	deadline := s.m.now.Add(time.Duration(rapid.IntRange(1, 48).Draw(t, "deadlineHours")) * time.Hour)
	id := s.key("h")
	uses, ok := s.m.consume(c, amt, nil)
	_, err := s.e.l.(ledger.Holder).Hold(s.e.ctx, ledger.HoldRequest{ID: id, Account: c, To: Redeemed, Amount: amt, Deadline: deadline})
	if !ok {
		if !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("Hold(%s %s %s): %v, model says ErrInsufficientFunds", id, c, amt, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Hold(%s %s %s): %v", id, c, amt, err)
	}
	s.m.holds[id] = &mhold{id: id, acct: c, amt: amt, deadline: deadline, status: ledger.HoldOpen, reserved: uses}
}

func (s *machine) pickHold(t *rapid.T) *mhold {
	ids := make([]string, 0, len(s.m.holds))
	for id := range s.m.holds {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		t.Skip("no holds")
	}
	slices.Sort(ids)
	return s.m.holds[rapid.SampledFrom(ids).Draw(t, "hold")]
}

func (s *machine) commit(t *rapid.T) {
	h := s.pickHold(t)
	amt := decimal.New(int64(rapid.IntRange(1, int(h.amt.Shift(2).IntPart())+50).Draw(t, "commitCents")), -2)
	tx, err := s.e.l.(ledger.Holder).CommitHold(s.e.ctx, h.id, amt)
	want := error(nil)
	switch {
	case h.status == ledger.HoldCommitted && h.committed.Equal(amt):
	case h.status == ledger.HoldCommitted, h.status == ledger.HoldVoided:
		want = ledger.ErrHoldResolved
	case h.status == ledger.HoldExpired:
		want = ledger.ErrHoldExpired
	case !h.deadline.After(s.m.now):
		s.m.release(h, ledger.HoldExpired, h.reserved)
		want = ledger.ErrHoldExpired
	case amt.GreaterThan(h.amt):
		want = ledger.ErrInvalidTransaction
	default:
		var used, rest []muse
		need := amt
		for _, u := range h.reserved {
			t := decimal.Min(need, u.amt)
			if t.Sign() > 0 {
				used = append(used, muse{u.lot, t})
			}
			if r := u.amt.Sub(t); r.Sign() > 0 {
				rest = append(rest, muse{u.lot, r})
			}
			need = need.Sub(t)
		}
		s.m.release(h, ledger.HoldCommitted, rest)
		h.committed = amt
		s.m.posted[h.acct] = s.m.posted[h.acct].Sub(amt)
		s.m.posted[Redeemed] = s.m.posted[Redeemed].Add(amt)
		if err != nil {
			t.Fatalf("CommitHold(%s, %s): %v, model says ok", h.id, amt, err)
		}
		s.m.record(tx.Key, &mtx{seq: tx.Seq, from: h.acct, to: Redeemed, amt: amt, eff: tx.EffectiveAt, consumed: used})
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("CommitHold(%s, %s) on %s hold (deadline %v, now %v): %v, want %v", h.id, amt, h.status, h.deadline, s.m.now, err, want)
	}
}

func (s *machine) void(t *rapid.T) {
	h := s.pickHold(t)
	_, err := s.e.l.(ledger.Holder).VoidHold(s.e.ctx, h.id)
	want := error(nil)
	switch {
	case h.status == ledger.HoldVoided:
	case h.status == ledger.HoldCommitted:
		want = ledger.ErrHoldResolved
	case h.status == ledger.HoldExpired:
		want = ledger.ErrHoldExpired
	case !h.deadline.After(s.m.now):
		s.m.release(h, ledger.HoldExpired, h.reserved)
		want = ledger.ErrHoldExpired
	default:
		s.m.release(h, ledger.HoldVoided, h.reserved)
	}
	if !errors.Is(err, want) {
		t.Fatalf("VoidHold(%s) on %s hold: %v, want %v", h.id, h.status, err, want)
	}
}

func (s *machine) sweep(t *rapid.T) {
	for _, h := range s.m.holds {
		if h.status == ledger.HoldOpen && !h.deadline.After(s.m.now) {
			s.m.release(h, ledger.HoldExpired, h.reserved)
		}
	}
	var due []*mlot
	for _, l := range s.m.lots {
		if l.rem.Sign() > 0 && s.m.expiredAt(l, s.m.now) {
			due = append(due, l)
		}
	}
	order(due)
	res, err := s.e.l.(ledger.Expirer).SweepExpired(s.e.ctx, time.Time{})
	if err != nil {
		t.Fatalf("SweepExpired: %v", err)
	}
	if len(res.Transactions) != len(due) {
		t.Fatalf("sweep made %d expiry transactions, model expects %d", len(res.Transactions), len(due))
	}
	for i, l := range due {
		tx := res.Transactions[i]
		p := tx.Postings[0]
		if p.From != l.acct || !p.Amount.Equal(l.rem) {
			t.Fatalf("expiry %d: %s %s, model expects %s %s", i, p.From, p.Amount, l.acct, l.rem)
		}
		s.m.expired = p.To
		s.m.posted[l.acct] = s.m.posted[l.acct].Sub(l.rem)
		s.m.posted[p.To] = s.m.posted[p.To].Add(l.rem)
		s.m.record(tx.Key, &mtx{seq: tx.Seq, from: l.acct, to: p.To, amt: l.rem, eff: l.exp, consumed: []muse{{l, l.rem}}})
		l.rem = decimal.Zero
	}
}

func (s *machine) reverse(t *rapid.T) {
	var ks []string
	for _, k := range s.m.keys {
		if x := s.m.txs[k]; x.user || x.from != Issuance && !x.reversal && x.lot == nil && x.to == Redeemed {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		t.Skip("nothing to reverse")
	}
	orig := rapid.SampledFrom(ks).Draw(t, "original")
	x := s.m.txs[orig]
	key := s.key("v")
	got, err := s.e.l.(ledger.Reverser).Reverse(s.e.ctx, key, orig)
	if x.reversed {
		if !errors.Is(err, ledger.ErrAlreadyReversed) {
			t.Fatalf("Reverse(%s) twice: %v", orig, err)
		}
		return
	}
	// The mirror: debit x.to (its own lot first), credit x.from (refill the
	// lots x consumed).
	var uses []muse
	if isCustomer(x.to) {
		var ok bool
		uses, ok = s.m.consume(x.to, x.amt, x.lot)
		if !ok {
			if !errors.Is(err, ledger.ErrInsufficientFunds) {
				t.Fatalf("Reverse(%s): %v, model says ErrInsufficientFunds", orig, err)
			}
			s.mustBeAbsent(t, key)
			return
		}
	}
	if err != nil {
		t.Fatalf("Reverse(%s): %v, model says ok", orig, err)
	}
	s.m.posted[x.to] = s.m.posted[x.to].Sub(x.amt)
	s.m.posted[x.from] = s.m.posted[x.from].Add(x.amt)
	s.m.giveBack(x.consumed)
	x.reversed = true
	s.m.record(key, &mtx{seq: got.Seq, from: x.to, to: x.from, amt: x.amt, rule: x.rule, eff: x.eff, consumed: uses, reversal: true})
}

func (s *machine) awardedSum(t *rapid.T) {
	c := rapid.SampledFrom(customers).Draw(t, "account")
	want := decimal.Zero
	for _, x := range s.m.txs {
		if x.rule != "r1" || x.eff.Before(s.win[0]) || !x.eff.Before(s.win[1]) {
			continue
		}
		if x.to == c {
			want = want.Add(x.amt)
		}
		if x.from == c {
			want = want.Sub(x.amt)
		}
	}
	got, err := s.e.l.(ledger.AwardSummer).AwardedSum(s.e.ctx, ledger.AwardQuery{Account: c, TagKey: "rule", TagValue: "r1", From: s.win[0], To: s.win[1]})
	if err != nil || !got.Equal(want) {
		t.Fatalf("AwardedSum(%s, r1) = %s, %v; model says %s", c, got, err, want)
	}
}

// check compares every balance and every history with the model and checks
// the stored invariants.
func (s *machine) check(t *rapid.T) {
	accts := []string{Issuance, Redeemed, Alice, Bob, Carol}
	if s.m.expired != "" {
		accts = append(accts, s.m.expired)
	}
	for _, a := range accts {
		b, err := s.e.l.Balance(s.e.ctx, a, time.Time{})
		if err != nil {
			t.Fatalf("Balance(%s): %v", a, err)
		}
		if got, want := toBal(b), s.m.balance(a); got != want {
			t.Fatalf("Balance(%s) = %+v, model says %+v", a, got, want)
		}
		var keys []string
		for cursor := ""; ; {
			p, err := s.e.l.History(s.e.ctx, ledger.HistoryQuery{Account: a, Cursor: cursor, Limit: 50})
			if err != nil {
				t.Fatalf("History(%s): %v", a, err)
			}
			for _, tx := range p.Transactions {
				keys = append(keys, tx.Key)
			}
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if !slices.Equal(keys, s.m.hist[a]) {
			t.Fatalf("History(%s) = %v, model says %v", a, keys, s.m.hist[a])
		}
	}
	if sp, ok := s.e.l.(StoreProvider); ok {
		if err := checkInvariants(s.e.ctx, sp.Store()); err != nil {
			t.Fatalf("invariant: %v", err)
		}
	}
}
