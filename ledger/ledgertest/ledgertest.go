package ledgertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
)

// Opener returns a new, empty ledger built with opts. Ledgers built on
// [ledger.New] pass opts through; the suite uses them to install a fake
// clock ([ledger.WithClock]) and a second currency. The suite closes the
// ledgers it opens inside rapid checks itself; any cleanup the opener
// registers must tolerate a ledger that is already closed.
type Opener func(t *testing.T, opts ...ledger.Option) ledger.Ledger

// Clock is a settable clock for [ledger.WithClock], safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start.UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// T0 is the suite's starting instant.
var T0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// Credits is the second currency the suite registers (scale 0), to check
// that postings across currencies are refused.
var Credits = ledger.Currency{Code: "credits", Scale: 0}

// Well-known accounts the suite creates in every fresh ledger.
const (
	Issuance = "program/issuance"
	Redeemed = "program/redeemed"
	Alice    = "customer/alice"
	Bob      = "customer/bob"
	Carol    = "customer/carol"
)

// tb is what the suite needs of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// env is one fresh ledger with its clock.
type env struct {
	t     tb
	ctx   context.Context
	l     ledger.Ledger
	clock *Clock
	// clocked is false when the implementation ignored WithClock; tests
	// that move time are skipped then.
	clocked bool
}

func newEnv(t *testing.T, open Opener, extra ...ledger.Option) *env {
	t.Helper()
	clock := NewClock(T0)
	l := open(t, append([]ledger.Option{ledger.WithClock(clock.Now), ledger.WithCurrency(Credits)}, extra...)...)
	e := &env{t: t, ctx: context.Background(), l: l, clock: clock}
	e.setup()
	return e
}

func (e *env) setup() {
	e.t.Helper()
	for _, a := range []ledger.Account{
		{ID: Issuance, Kind: ledger.KindIssuance},
		{ID: Redeemed, Kind: ledger.KindRedeemed},
		{ID: Alice, Kind: ledger.KindCustomer},
		{ID: Bob, Kind: ledger.KindCustomer},
		{ID: Carol, Kind: ledger.KindCustomer},
	} {
		if _, err := e.l.CreateAccount(e.ctx, a); err != nil {
			e.t.Fatalf("CreateAccount(%s): %v", a.ID, err)
		}
	}
	// Probe whether the clock option is honoured.
	a, err := e.l.Account(e.ctx, Issuance)
	if err != nil {
		e.t.Fatalf("Account(%s): %v", Issuance, err)
	}
	e.clocked = a.CreatedAt.Equal(T0)
}

func (e *env) needClock(t *testing.T) {
	t.Helper()
	if !e.clocked {
		t.Skip("implementation ignores ledger.WithClock; skipping a test that moves time")
	}
}

// D parses a decimal literal (test helper; panics on a typo in the test).
func D(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func award(key, to string, amount string, expires time.Time) ledger.Transaction {
	return ledger.Transaction{Key: key, Postings: []ledger.Posting{{From: Issuance, To: to, Amount: D(amount), ExpiresAt: expires}}}
}

func redeem(key, from, amount string) ledger.Transaction {
	return ledger.Transaction{Key: key, Postings: []ledger.Posting{{From: from, To: Redeemed, Amount: D(amount)}}}
}

func (e *env) post(tx ledger.Transaction) ledger.Transaction {
	e.t.Helper()
	got, err := e.l.Post(e.ctx, tx)
	if err != nil {
		e.t.Fatalf("Post(%s): %v", tx.Key, err)
	}
	return got
}

func (e *env) postErr(tx ledger.Transaction, want error) {
	e.t.Helper()
	_, err := e.l.Post(e.ctx, tx)
	if !errors.Is(err, want) {
		e.t.Fatalf("Post(%s) error = %v, want %v", tx.Key, err, want)
	}
}

// bal is the comparable part of a balance.
type bal struct {
	Posted, Available, Held, Expired, Pending string
}

func (e *env) balanceAt(id string, asOf time.Time) ledger.Balance {
	e.t.Helper()
	b, err := e.l.Balance(e.ctx, id, asOf)
	if err != nil {
		e.t.Fatalf("Balance(%s): %v", id, err)
	}
	return b
}

func toBal(b ledger.Balance) bal {
	s := func(d decimal.Decimal) string { return d.StringFixed(2) }
	return bal{s(b.Posted), s(b.Available), s(b.Held), s(b.Expired), s(b.PendingExpiry)}
}

// wantBal checks posted, available, held, expired, pending expiry at now.
func (e *env) wantBal(id string, want bal) {
	e.t.Helper()
	if diff := cmp.Diff(want, toBal(e.balanceAt(id, time.Time{}))); diff != "" {
		e.t.Errorf("Balance(%s) mismatch (-want +got):\n%s", id, diff)
	}
}

// avail is shorthand for an account without holds, expiry or expired points.
func avail(amount string) bal {
	s := D(amount).StringFixed(2)
	return bal{Posted: s, Available: s, Held: "0.00", Expired: "0.00", Pending: "0.00"}
}
