package ledgertally

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// Tally is a rewards.Tally over a ledger. It is safe for concurrent use; see
// the package doc for what is atomic within and across processes.
type Tally struct {
	ctx   context.Context
	state *state
}

type state struct {
	l   ledger.Ledger
	sum ledger.AwardSummer
	cfg config

	mu       sync.Mutex
	programs map[string]*sync.Mutex
	accounts sync.Map // account ID -> struct{}: created (or found) already
}

// New returns a Tally that reads and posts awards on l, which must also
// implement ledger.AwardSummer (every ledger.Engine does).
func New(l ledger.Ledger, opts ...Option) (*Tally, error) {
	sum, ok := l.(ledger.AwardSummer)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", ErrNoAwardSummer, l)
	}
	s := &state{l: l, sum: sum, programs: map[string]*sync.Mutex{}}
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
// posts the grant, all under the program's lock.
func (t *Tally) Reserve(c *rewards.Claim) (rewards.Grant, error) {
	s, ctx := t.state, t.ctx
	mu := s.programLock(c.Program)
	mu.Lock()
	defer mu.Unlock()

	cust, iss := s.cfg.customer(c.Customer), s.cfg.issuance(c.Program)
	if err := s.ensureAccounts(ctx, cust, iss); err != nil {
		return rewards.Grant{}, err
	}
	prior, err := s.prior(ctx, c, cust)
	if err != nil {
		return rewards.Grant{}, err
	}
	var buf [8]decimal.Decimal
	used := buf[:0]
	for i := range c.Limits {
		u, err := s.used(ctx, &c.Limits[i], cust, iss)
		if err != nil {
			return rewards.Grant{}, err
		}
		used = append(used, u)
	}
	g := rewards.Decide(c, prior, used)
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
	if _, err := s.l.Post(ctx, tx); err != nil {
		return rewards.Grant{}, fmt.Errorf("ledgertally: post award %q: %w", g.Key, err)
	}
	return g, nil
}

func (s *state) programLock(program string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	mu := s.programs[program]
	if mu == nil {
		mu = &sync.Mutex{}
		s.programs[program] = mu
	}
	return mu
}

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

// used returns the points already awarded under a limit's scope and window.
func (s *state) used(ctx context.Context, l *rewards.Limit, cust, iss string) (decimal.Decimal, error) {
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
	sum, err := s.sum.AwardedSum(ctx, q)
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
