package ledgertally

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards"
	"github.com/shopspring/decimal"
)

// Metadata keys written on every award transaction (see the package doc).
const (
	MetaProgram     = "program"
	MetaRule        = "rule"
	MetaCustomer    = "customer"
	MetaFact        = "fact"
	MetaKey         = "key"
	MetaAdjusts     = "adjusts"
	MetaClaimed     = "claimed"
	MetaProgramRule = "program_rule"
)

// The ledger's AwardedSum needs a bounded window; lifetime limits, budgets
// and the paid-so-far sum use one that covers every instant a store keeps
// (SQLite stores years 0000-9999; the zero time.Time means "unset").
var (
	allFrom = time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)
	allTo   = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// CustomerAccount is the default customer account ID: "customer/<id>".
func CustomerAccount(customer string) string { return "customer/" + customer }

// IssuanceAccount is the default issuance account ID of a program:
// "issuance/<program>".
func IssuanceAccount(program string) string { return "issuance/" + program }

// ScopeTag is the value of the "program_rule" tag: program and rule joined
// so that no two (program, rule) pairs share a value.
func ScopeTag(program, rule string) string {
	return strconv.Quote(program) + "/" + strconv.Quote(rule)
}

// Option configures a Tally.
type Option func(*config)

type config struct {
	customer func(string) string
	issuance func(string) string
	currency string
	expiry   func(*rewards.Claim) time.Time
	// ledgerCreates: the ledger opens unknown accounts itself.
	ledgerCreates bool
}

// WithCustomerAccount names the ledger account of a customer (default
// CustomerAccount).
func WithCustomerAccount(name func(customer string) string) Option {
	return func(c *config) { c.customer = name }
}

// WithIssuanceAccount names the issuance account a program awards from
// (default IssuanceAccount). Several programs may share one: limits are
// told apart by tags, not accounts.
func WithIssuanceAccount(name func(program string) string) Option {
	return func(c *config) { c.issuance = name }
}

// WithCurrency sets the currency code of the accounts Reserve creates
// (default "": the ledger's default currency). The currency's scale must
// hold the rule sets' rounding places, or posting fails with ledger.ErrScale.
func WithCurrency(code string) Option {
	return func(c *config) { c.currency = code }
}

// WithExpiry makes awarded points expire: expires returns the expiry of a
// claim's points (zero: never). Negative adjustments carry no expiry.
func WithExpiry(expires func(c *rewards.Claim) time.Time) Option {
	return func(c *config) { c.expiry = expires }
}

// WithLedgerCreatesAccounts tells the Tally that its ledger opens unknown
// accounts itself, in the unit of work of the posting that needs them
// (ledger.WithAutoCreate with AutoCreate, or a rule of your own for other
// account names or currencies). An award then skips the separate read and
// creation of a new customer's (or program's) account: a customer's first
// award is one durable commit instead of two. The Tally no longer checks
// the kind of an existing account.
func WithLedgerCreatesAccounts() Option {
	return func(c *config) { c.ledgerCreates = true }
}

// AutoCreate is a ledger.WithAutoCreate rule for the default account names:
// "customer/<id>" (CustomerAccount) opens a customer account that may never
// go negative, "issuance/<program>" (IssuanceAccount) an issuance account,
// both in the ledger's default currency; any other ID stays unknown. Pair
// it with WithLedgerCreatesAccounts.
func AutoCreate(id string) (ledger.Account, bool) {
	switch {
	case strings.HasPrefix(id, "customer/") && len(id) > len("customer/"):
		return ledger.Account{ID: id, Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative}, true
	case strings.HasPrefix(id, "issuance/") && len(id) > len("issuance/"):
		return ledger.Account{ID: id, Kind: ledger.KindIssuance}, true
	}
	return ledger.Account{}, false
}

// Tally is a rewards.Tally over a ledger. It is safe for concurrent use; see
// the package doc for what is atomic within and across processes.
type Tally struct {
	ctx   context.Context
	state *state
}

// customerStripes is the number of per-customer locks: claims of customers
// whose (program, customer) hash to the same stripe wait for each other,
// which is rare with this many and never incorrect.
const customerStripes = 1024

type state struct {
	l     ledger.Ledger
	sum   ledger.AwardSummer
	batch ledger.BatchPoster // nil: Batch.Commit posts one at a time
	group *groupCommitter    // nil without a BatchPoster
	cfg   config
	seed  maphash.Seed

	mu       sync.Mutex
	programs map[string]*sync.RWMutex
	stripes  [customerStripes]sync.Mutex
	accounts sync.Map // account ID -> struct{}: created (or found) already
}

// New returns a Tally that reads and posts awards on l, which must also
// implement ledger.AwardSummer (every ledger.Engine does).
func New(l ledger.Ledger, opts ...Option) (*Tally, error) {
	sum, ok := l.(ledger.AwardSummer)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", ErrNoAwardSummer, l)
	}
	s := &state{l: l, sum: sum, seed: maphash.MakeSeed(), programs: map[string]*sync.RWMutex{}}
	s.batch, _ = l.(ledger.BatchPoster)
	if s.batch != nil {
		s.group = &groupCommitter{bp: s.batch}
	}
	s.cfg = config{customer: CustomerAccount, issuance: IssuanceAccount}
	for _, o := range opts {
		o(&s.cfg)
	}
	return &Tally{ctx: context.Background(), state: s}, nil
}

// WithContext returns a Tally sharing t's locks and ledger whose ledger
// calls use ctx (rewards.Tally.Reserve takes no context). Pass it to
// Program.Evaluate to bound a settlement by a request's deadline.
func (t *Tally) WithContext(ctx context.Context) *Tally {
	return &Tally{ctx: ctx, state: t.state}
}

// CustomerAccount returns the ledger account ID of a customer.
func (t *Tally) CustomerAccount(customer string) string { return t.state.cfg.customer(customer) }

// IssuanceAccount returns the ledger account ID a program awards from.
func (t *Tally) IssuanceAccount(program string) string { return t.state.cfg.issuance(program) }

// Reserve implements rewards.Tally: it reads the claim's prior awards and
// each limit's used points from the ledger, decides with rewards.Decide and
// posts the grant, all under the claim's locks (see the package doc).
func (t *Tally) Reserve(c *rewards.Claim) (rewards.Grant, error) {
	b := Batch{state: t.state, ctx: t.ctx}
	g, err := b.Reserve(c)
	if err != nil {
		b.Discard()
		return rewards.Grant{}, err
	}
	if err := b.Commit(); err != nil {
		return rewards.Grant{}, err
	}
	return g, nil
}

// Batch returns an empty Batch on t's ledger and locks, whose ledger calls
// use t's context.
func (t *Tally) Batch() *Batch {
	return &Batch{state: t.state, ctx: t.ctx}
}

// Batch is a rewards.Tally that decides claims like Tally.Reserve but
// queues the paying grants and posts them all in one ledger.PostBatch (one
// durable commit) at Commit. It keeps every lock it took until then, so
// the ledger cannot change under its decisions, and it counts its queued
// grants in the prior awards and limit sums of later claims: a batch
// decides exactly what the same claims reserved one by one would.
//
// A grant returned by a Batch's Reserve is paid only once Commit returns
// nil. Use a Batch from one goroutine, and always end it with Commit or
// Discard (defer Discard: it does nothing after Commit), or the customers
// it settled stay locked. It may be reused after either.
//
// When a claim needs a lock out of the batch's lock order (see the package
// doc) and the lock is not free, Reserve first commits what is queued and
// releases every lock, then takes the locks in order: an error from
// Reserve may therefore come after part of the batch was posted, which is
// safe to retry since awards are idempotent.
type Batch struct {
	state *state
	ctx   context.Context

	held    map[lockID]bool // lock → exclusive
	maxHeld lockID          // greatest lock held, in lock order
	txs     []ledger.Transaction

	// While the locks are held, what this process read from the ledger
	// cannot change under it: priors and sums cache those reads, with the
	// queued grants added.
	priors    map[string]*rewards.Prior
	sums      map[ledger.AwardQuery]*decimal.Decimal
	byAccount map[string][]ledger.AwardQuery // sums' queries by account
}

// lockID names a program lock (stripe < 0) or a customer stripe. Lock
// order: program locks by name, then stripes by index.
type lockID struct {
	program string
	stripe  int
}

func (a lockID) less(b lockID) bool {
	if (a.stripe < 0) != (b.stripe < 0) {
		return a.stripe < 0
	}
	if a.stripe < 0 {
		return a.program < b.program
	}
	return a.stripe < b.stripe
}

// Reserve implements rewards.Tally: like Tally.Reserve, but a paying grant
// is queued until Commit.
func (b *Batch) Reserve(c *rewards.Claim) (rewards.Grant, error) {
	s, ctx := b.state, b.ctx
	if err := b.lock(c); err != nil {
		return rewards.Grant{}, err
	}
	cust, iss := s.cfg.customer(c.Customer), s.cfg.issuance(c.Program)
	if !s.cfg.ledgerCreates {
		if err := s.ensureAccounts(ctx, cust, iss); err != nil {
			return rewards.Grant{}, err
		}
	}
	prior, err := b.prior(c, cust)
	if err != nil {
		return rewards.Grant{}, err
	}
	var buf [8]decimal.Decimal
	used := buf[:0]
	for i := range c.Limits {
		u, err := b.used(&c.Limits[i], cust, iss)
		if err != nil {
			return rewards.Grant{}, err
		}
		used = append(used, u)
	}
	g := rewards.Decide(c, *prior, used)
	if g.Points.IsZero() {
		return g, nil
	}
	tx := ledger.Transaction{
		Key:         g.Key,
		EffectiveAt: c.At,
		Metadata: map[string]string{
			MetaProgram:     c.Program,
			MetaRule:        c.Rule,
			MetaCustomer:    c.Customer,
			MetaFact:        c.Fact,
			MetaKey:         c.Key,
			MetaClaimed:     c.Points.String(),
			MetaProgramRule: ScopeTag(c.Program, c.Rule),
		},
	}
	if g.Adjusts != "" {
		tx.Metadata[MetaAdjusts] = g.Adjusts
	}
	if g.Points.IsPositive() {
		p := ledger.Posting{From: iss, To: cust, Amount: g.Points}
		if s.cfg.expiry != nil {
			p.ExpiresAt = s.cfg.expiry(c)
		}
		tx.Postings = []ledger.Posting{p}
	} else {
		tx.Postings = []ledger.Posting{{From: cust, To: iss, Amount: g.Points.Neg()}}
	}
	b.queue(tx, c.Points, g.Points)
	return g, nil
}

// Commit posts the queued grants (one ledger.PostBatch: all or none,
// shared with other goroutines' concurrent commits, see groupCommitter)
// and releases the batch's locks, whatever the outcome.
func (b *Batch) Commit() error {
	defer b.release()
	s, ctx := b.state, b.ctx
	switch {
	case len(b.txs) == 0:
		return nil
	case s.group != nil:
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.group.commit(ctx, b.txs)
	}
	for i := range b.txs {
		if _, err := s.l.Post(ctx, b.txs[i]); err != nil {
			return fmt.Errorf("ledgertally: post award %q: %w", b.txs[i].Key, err)
		}
	}
	return nil
}

// Discard drops the queued grants (nothing is posted) and releases the
// batch's locks.
func (b *Batch) Discard() { b.release() }

// Len is the number of grants queued.
func (b *Batch) Len() int { return len(b.txs) }

func (b *Batch) release() {
	s := b.state
	for id, excl := range b.held {
		switch {
		case id.stripe >= 0:
			s.stripes[id.stripe].Unlock()
		case excl:
			s.programLock(id.program).Unlock()
		default:
			s.programLock(id.program).RUnlock()
		}
	}
	clear(b.held)
	clear(b.priors)
	clear(b.sums)
	clear(b.byAccount)
	b.txs = b.txs[:0]
}

// lock takes the claim's locks: its program's lock, exclusive when the
// claim draws on a budget (every customer's awards count toward it) and
// shared otherwise, then its (program, customer) stripe. Locks are taken
// in lock order; one that would break the order is only tried (TryLock
// never waits, so it cannot deadlock), and when it is taken the batch
// commits, releases everything and starts over in order.
func (b *Batch) lock(c *rewards.Claim) error {
	s := b.state
	excl := false
	for i := range c.Limits {
		if c.Limits[i].Customer == "" {
			excl = true
			break
		}
	}
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(c.Program)
	h.WriteByte(0)
	h.WriteString(c.Customer)
	prog := lockID{program: c.Program, stripe: -1}
	stripe := lockID{stripe: int(h.Sum64() % customerStripes)}
	if b.held == nil {
		b.held = map[lockID]bool{}
	}
	for {
		if b.take(prog, excl) && b.take(stripe, false) {
			return nil
		}
		if err := b.Commit(); err != nil {
			return err
		}
	}
}

// take acquires one lock unless held (in a mode at least as strong); it
// reports false when the lock is out of order and not free.
func (b *Batch) take(id lockID, excl bool) bool {
	s := b.state
	if was, ok := b.held[id]; ok {
		return was || !excl // holding it shared cannot become exclusive in place
	}
	inOrder := len(b.held) == 0 || b.maxHeld.less(id)
	switch {
	case id.stripe >= 0 && inOrder:
		s.stripes[id.stripe].Lock()
	case id.stripe >= 0:
		if !s.stripes[id.stripe].TryLock() {
			return false
		}
	case excl && inOrder:
		s.programLock(id.program).Lock()
	case excl:
		if !s.programLock(id.program).TryLock() {
			return false
		}
	case inOrder:
		s.programLock(id.program).RLock()
	default:
		if !s.programLock(id.program).TryRLock() {
			return false
		}
	}
	b.held[id] = excl
	if inOrder {
		b.maxHeld = id
	}
	return true
}

func (s *state) programLock(program string) *sync.RWMutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	mu := s.programs[program]
	if mu == nil {
		mu = &sync.RWMutex{}
		s.programs[program] = mu
	}
	return mu
}

// queue appends a grant's transaction and adds it to the cached prior of
// its key and to every cached sum it falls in.
func (b *Batch) queue(tx ledger.Transaction, claimed, points decimal.Decimal) {
	b.txs = append(b.txs, tx)
	p := b.priors[tx.Metadata[MetaKey]] // read by this claim's Reserve
	p.Exists, p.Claimed, p.Paid, p.Awards = true, claimed, p.Paid.Add(points), p.Awards+1
	for _, a := range [...]string{tx.Postings[0].From, tx.Postings[0].To} {
		for _, q := range b.byAccount[a] {
			if v, ok := awardedIn(&tx, q); ok {
				*b.sums[q] = b.sums[q].Add(v)
			}
		}
	}
}

// awardedIn is what tx adds to AwardedSum(q), with the ledger's
// semantics: credits minus debits to q.Account, if its tag matches and its
// EffectiveAt (at the ledger's microsecond resolution) is in [From, To).
func awardedIn(tx *ledger.Transaction, q ledger.AwardQuery) (decimal.Decimal, bool) {
	if v, ok := tx.Metadata[q.TagKey]; !ok || v != q.TagValue {
		return decimal.Decimal{}, false
	}
	at := micro(tx.EffectiveAt)
	if at.Before(micro(q.From)) || !at.Before(micro(q.To)) {
		return decimal.Decimal{}, false
	}
	var sum decimal.Decimal
	hit := false
	for _, p := range tx.Postings {
		if p.To == q.Account {
			sum, hit = sum.Add(p.Amount), true
		}
		if p.From == q.Account {
			sum, hit = sum.Sub(p.Amount), true
		}
	}
	return sum, hit
}

func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (s *state) ensureAccounts(ctx context.Context, cust, iss string) error {
	for _, a := range [...]ledger.Account{
		{ID: cust, Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative, Currency: s.cfg.currency},
		{ID: iss, Kind: ledger.KindIssuance, Currency: s.cfg.currency},
	} {
		if _, ok := s.accounts.Load(a.ID); ok {
			continue
		}
		// A read first: on SQLite and PostgreSQL it does not queue behind
		// the writer, and most customers exist already.
		got, err := s.l.Account(ctx, a.ID)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			if _, err := s.l.CreateAccount(ctx, a); err != nil {
				return fmt.Errorf("ledgertally: account %q: %w", a.ID, err)
			}
		case err != nil:
			return fmt.Errorf("ledgertally: account %q: %w", a.ID, err)
		case got.Kind != a.Kind:
			return fmt.Errorf("ledgertally: account %q is a %s account, want %s: %w", a.ID, got.Kind, a.Kind, ledger.ErrAccountConflict)
		}
		s.accounts.Store(a.ID, struct{}{})
	}
	return nil
}

// prior is rewards.Prior for c.Key: read from the ledger once while the
// batch holds the claim's locks, then kept current by queue.
func (b *Batch) prior(c *rewards.Claim, cust string) (*rewards.Prior, error) {
	if p, ok := b.priors[c.Key]; ok {
		return p, nil
	}
	p, err := b.state.prior(b.ctx, c, cust)
	if err != nil {
		return nil, err
	}
	if b.priors == nil {
		b.priors = map[string]*rewards.Prior{}
	}
	b.priors[c.Key] = &p
	return &p, nil
}

// prior rebuilds rewards.Prior for c.Key from the ledger.
func (s *state) prior(ctx context.Context, c *rewards.Claim, cust string) (rewards.Prior, error) {
	var p rewards.Prior
	var last ledger.Transaction
	// The n-th award of a fact (n >= 1) has key AdjustmentKey(c.Key, n) for
	// n >= 2: rewards.Decide numbers adjustments by the awards made before.
	for n := 0; ; n++ {
		key := c.Key
		if n > 0 {
			key = rewards.AdjustmentKey(c.Key, n+1)
		}
		tx, err := s.l.Lookup(ctx, key)
		if errors.Is(err, ledger.ErrNotFound) {
			break
		}
		if err != nil {
			return p, fmt.Errorf("ledgertally: look up award %q: %w", key, err)
		}
		last, p.Awards = tx, n+1
	}
	if p.Awards == 0 {
		return p, nil
	}
	p.Exists = true
	claimed, err := decimal.NewFromString(last.Metadata[MetaClaimed])
	if err != nil {
		return p, fmt.Errorf("ledgertally: award %q: metadata %q: %w", last.Key, MetaClaimed, err)
	}
	p.Claimed = claimed
	p.Paid, err = s.sum.AwardedSum(ctx, ledger.AwardQuery{Account: cust, TagKey: MetaKey, TagValue: c.Key, From: allFrom, To: allTo})
	if err != nil {
		return p, fmt.Errorf("ledgertally: paid for %q: %w", c.Key, err)
	}
	return p, nil
}

// used returns the points already awarded under a limit's scope and
// window, queued grants included.
func (b *Batch) used(l *rewards.Limit, cust, iss string) (decimal.Decimal, error) {
	q := ledger.AwardQuery{TagKey: MetaProgram, TagValue: l.Program, From: l.From, To: l.To}
	if l.Rule != "" {
		q.TagKey, q.TagValue = MetaProgramRule, ScopeTag(l.Program, l.Rule)
	}
	if q.From.IsZero() && q.To.IsZero() {
		q.From, q.To = allFrom, allTo
	}
	budget := l.Customer == ""
	q.Account = cust
	if budget {
		q.Account = iss
	}
	sum, err := b.sum(q)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("ledgertally: %s: %w", l, err)
	}
	if budget {
		// The issuance account is debited by awards: its tagged sum is
		// minus what was awarded.
		sum = sum.Neg()
	}
	return sum, nil
}

// sum is AwardedSum(q) as of the queued grants: read once from the ledger
// while the locks are held, plus the queued grants that fall in q.
func (b *Batch) sum(q ledger.AwardQuery) (decimal.Decimal, error) {
	if v, ok := b.sums[q]; ok {
		return *v, nil
	}
	v, err := b.state.sum.AwardedSum(b.ctx, q)
	if errors.Is(err, ledger.ErrNotFound) && b.state.cfg.ledgerCreates {
		// Not opened yet (the ledger opens it with its first award):
		// nothing was awarded to it.
		v, err = decimal.Decimal{}, nil
	}
	if err != nil {
		return decimal.Decimal{}, err
	}
	for i := range b.txs {
		if d, ok := awardedIn(&b.txs[i], q); ok {
			v = v.Add(d)
		}
	}
	if b.sums == nil {
		b.sums = map[ledger.AwardQuery]*decimal.Decimal{}
		b.byAccount = map[string][]ledger.AwardQuery{}
	}
	b.sums[q] = &v
	b.byAccount[q.Account] = append(b.byAccount[q.Account], q)
	return v, nil
}
