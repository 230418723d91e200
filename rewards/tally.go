package rewards

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// LimitKind says whether a Limit is a per-customer cap or a budget.
type LimitKind int

// Limit kinds.
const (
	LimitCap LimitKind = iota + 1
	LimitBudget
)

// String returns "cap" or "budget".
func (k LimitKind) String() string {
	switch k {
	case LimitCap:
		return "cap"
	case LimitBudget:
		return "budget"
	}
	return fmt.Sprintf("LimitKind(%d)", int(k))
}

// Limit is one cap or budget an award draws on: the points already awarded
// in Scope within [From, To) plus the new award must not exceed Max.
type Limit struct {
	Kind LimitKind
	// Program always; Rule is "" for limits over all rules of the set;
	// Customer is "" for budgets (all customers).
	Program, Rule, Customer string
	// Per is the cap's period (PerLifetime for budgets).
	Per Period
	// From and To bound the calendar window containing savings.start; both
	// zero for lifetime caps and budgets.
	From, To time.Time
	Max      decimal.Decimal
}

// Key identifies the limit's running sum: scope and window.
func (l Limit) Key() string {
	return fmt.Sprintf("%d\x00%s\x00%s\x00%s\x00%d", l.Kind, l.Program, l.Rule, l.Customer, l.From.Unix())
}

// String describes the limit for explanations: "cap 400/month (set)".
func (l Limit) String() string {
	scope := "set"
	if l.Rule != "" {
		scope = "rule"
	}
	if l.Kind == LimitBudget {
		return fmt.Sprintf("budget %s (%s)", l.Max, scope)
	}
	return fmt.Sprintf("cap %s/%s (%s)", l.Max, l.Per, scope)
}

// Claim is what one rule is entitled to for one fact, handed to a Tally to
// be checked against what was paid before and reserved atomically.
type Claim struct {
	// Key is the award's idempotency key, stable for (program, rule,
	// customer, fact); see AwardKey.
	Key                     string
	Program, Rule, Customer string
	Fact                    string
	// At is savings.start: it places the award in cap windows (and is the
	// EffectiveAt of the ledger transaction).
	At time.Time
	// Points is the rounded entitlement for the fact.
	Points decimal.Decimal
	// AllowNegative permits negative awards and negative adjustments.
	AllowNegative bool
	// Places is the set's rounding places: what is left under a limit is
	// truncated to it, so a trimmed award stays on the rounding grid.
	Places int32
	// Limits are every cap and budget the award draws on.
	Limits []Limit
}

// Prior is what a Tally remembers about one Claim.Key.
type Prior struct {
	// Exists is false before the first claim.
	Exists bool
	// Claimed is the entitlement of the last claim (the fact's points as
	// last settled); re-settling the same entitlement pays nothing.
	Claimed decimal.Decimal
	// Paid is the sum of every award made for the key (original and
	// adjustments).
	Paid decimal.Decimal
	// Awards counts the awards made for the key.
	Awards int
}

// Trim records a limit that cut an award.
type Trim struct {
	Limit Limit
	// Remaining is what the limit had left before this award.
	Remaining decimal.Decimal
}

// MarshalJSON writes {"limit": Limit.String(), "remaining": "..."}.
func (t Trim) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Limit     string          `json:"limit"`
		Remaining decimal.Decimal `json:"remaining"`
	}{t.Limit.String(), t.Remaining})
}

// Grant is a Tally's decision on a Claim.
type Grant struct {
	// Points is what is paid now (zero: nothing).
	Points decimal.Decimal
	// Key is the key of the award paid now: Claim.Key for the first award,
	// an adjustment key otherwise.
	Key string
	// Adjusts is Claim.Key when this award adjusts an earlier one.
	Adjusts string
	// Wanted is what would have been paid without caps and budgets.
	Wanted decimal.Decimal
	// Prior is the state before this claim.
	Prior  Prior
	Trims  []Trim
	Status Status
}

// Tally is the state caps, budgets and restatements need: points already
// awarded per limit window and per award key. Reserve must be atomic: it
// decides with [Decide] and records the result in one step, so concurrent
// settlements for one customer can never exceed a cap or budget or pay a
// fact twice.
//
// A ledger-backed Tally implements Reserve in one database transaction
// (serializable, or with the customer's and program's rows locked): read
// the Prior for Claim.Key from the transactions whose metadata carries that
// key (and "adjusts" of it); for each Limit read AwardedSum(account, tag,
// [From, To)) over transactions tagged with the limit's program, rule and
// customer whose EffectiveAt is savings.start (a zero From/To is the whole
// history); call Decide; post the grant's transaction with Grant.Key as its
// idempotency key; commit. MemoryTally is the in-process equivalent.
//
// Reserve must not modify c or c.Limits, nor keep them after it returns:
// the engine reuses them for the next rule.
type Tally interface {
	Reserve(c *Claim) (Grant, error)
}

// AwardKey is the idempotency key of an award: stable for (program, rule,
// customer, fact), independent of the rule set's version.
func AwardKey(program, rule, customer, fact string) string {
	return keyOf4(program, rule, customer, fact)
}

// AdjustmentKey is the key of the n-th adjustment (n >= 1) of the award
// with key original.
func AdjustmentKey(original string, n int) string {
	return fmt.Sprintf("%s~adj%d", original, n)
}

// Decide is the pure decision behind every Tally: given the claim, what
// was recorded for its key and the points already used under each of its
// limits (used[i] for c.Limits[i]), it returns what to pay now.
//
//   - First claim: pay Points, trimmed by every limit (never below zero).
//   - Same entitlement again: pay nothing (already settled).
//   - Restated entitlement: pay Points - Prior.Paid as an adjustment;
//     a negative difference pays only with AllowNegative.
func Decide(c *Claim, prior Prior, used []decimal.Decimal) Grant {
	g := Grant{Key: c.Key, Prior: prior, Wanted: subDec(c.Points, prior.Paid)}
	if prior.Exists {
		if prior.Claimed.Equal(c.Points) {
			g.Status = StatusSettled
			return g
		}
		g.Key, g.Adjusts = AdjustmentKey(c.Key, prior.Awards+1), c.Key
	}
	want := g.Wanted
	switch {
	case want.IsZero():
		g.Status = StatusSettled
		return g
	case want.IsNegative():
		if !c.AllowNegative {
			g.Status = StatusNegativeAdjustment
			return g
		}
		g.Points, g.Status = want, StatusPaid
		return g
	}
	grant := want
	for i := range c.Limits {
		l := &c.Limits[i]
		left, trims := leftUnder(l.Max, used[i], c.Places, grant)
		if trims {
			g.Trims = append(g.Trims, Trim{Limit: *l, Remaining: left})
			grant = left
		}
	}
	g.Points = grant
	switch {
	case !grant.IsZero():
		g.Status = StatusPaid
	case g.Trims[len(g.Trims)-1].Limit.Kind == LimitBudget:
		g.Status = StatusBudgetReached
	default:
		g.Status = StatusCapReached
	}
	return g
}

// leftUnder returns what a limit of max with used already drawn has left,
// truncated to places and never below zero, and whether that is less than
// grant (the limit trims the award). It is max.Sub(used) followed by
// RoundDown(places) when finer, computed on int64 coefficients when they
// fit: the decimal is only built when the limit trims.
func leftUnder(max, used decimal.Decimal, places int32, grant decimal.Decimal) (decimal.Decimal, bool) {
	cm, cu, ok := aligned(max, used)
	if !ok {
		left := max.Sub(used)
		if left.Exponent() < -places {
			left = left.RoundDown(places)
		}
		if left.IsNegative() {
			left = zeroDec
		}
		return left, left.LessThan(grant)
	}
	c, exp := cm-cu, min(max.Exponent(), used.Exponent())
	if exp < -places {
		k := -places - exp
		if k > 18 {
			c = 0
		} else {
			c /= pow10i64[k] // truncation toward zero, as RoundDown
		}
		exp = -places
	}
	if c <= 0 {
		if c < 0 || !grant.IsPositive() {
			return zeroDec, grant.IsPositive()
		}
		return decimal.New(0, exp), grant.IsPositive()
	}
	if cl, cg, ok := alignedCoef(c, exp, grant); ok && cl >= cg {
		return zeroDec, false // not trimming: the caller ignores left
	}
	left := max
	if !used.IsZero() || max.Exponent() != exp {
		left = decimal.New(c, exp)
	}
	return left, cmpDec(left, grant) < 0
}

// addDec is a.Add(b) without an allocation when a is zero and b's
// exponent is not above a's (the sum is then b exactly).
func addDec(a, b decimal.Decimal) decimal.Decimal {
	if a.IsZero() && b.Exponent() <= a.Exponent() {
		return b
	}
	return a.Add(b)
}

// subDec is a.Sub(b), without an allocation when b is zero and a's
// exponent is not above b's.
func subDec(a, b decimal.Decimal) decimal.Decimal {
	if b.IsZero() && a.Exponent() <= b.Exponent() {
		return a
	}
	return a.Sub(b)
}

// MemoryTally is an in-memory Tally guarded by a mutex: the reference
// implementation, used by the CLI and tests. The zero value is ready.
//
// It keeps one record per award key for ever (that is what makes
// re-settling pay nothing), so records are stored without pointers when
// they fit (keys up to 47 bytes, amounts of at most 18 digits): a map of
// millions of such records costs the garbage collector nothing to scan.
type MemoryTally struct {
	mu      sync.Mutex
	compact map[compactKey]compactPrior
	priors  map[string]Prior // records that do not fit compactPrior
	sums    map[sumKey]decimal.Decimal
}

// compactKey is an award key held inline.
type compactKey struct {
	n uint8
	b [47]byte
}

func toCompactKey(s string) (k compactKey, ok bool) {
	if len(s) > len(k.b) {
		return k, false
	}
	k.n = uint8(len(s))
	copy(k.b[:], s)
	return k, true
}

// compactDec is a decimal of at most 18 digits as coefficient and
// exponent; decimal.New(coef, exp) restores it exactly.
type compactDec struct {
	coef int64
	exp  int32
}

func toCompactDec(d decimal.Decimal) (compactDec, bool) {
	if d.NumDigits() > 18 {
		return compactDec{}, false
	}
	return compactDec{d.CoefficientInt64(), d.Exponent()}, true
}

func (c compactDec) dec() decimal.Decimal {
	if c.coef == 0 && c.exp == 0 {
		return zeroDec
	}
	return decimal.New(c.coef, c.exp)
}

// compactPrior is a Prior that exists, without pointers.
type compactPrior struct {
	claimed, paid compactDec
	awards        int
}

func (m *MemoryTally) prior(key string) Prior {
	if k, ok := toCompactKey(key); ok {
		if cp, ok := m.compact[k]; ok {
			return Prior{Exists: true, Claimed: cp.claimed.dec(), Paid: cp.paid.dec(), Awards: cp.awards}
		}
	}
	return m.priors[key]
}

func (m *MemoryTally) setPrior(key string, p Prior) {
	k, okKey := toCompactKey(key)
	claimed, ok1 := toCompactDec(p.Claimed)
	paid, ok2 := toCompactDec(p.Paid)
	if okKey && ok1 && ok2 && p.Exists {
		m.compact[k] = compactPrior{claimed: claimed, paid: paid, awards: p.Awards}
		delete(m.priors, key)
		return
	}
	if okKey {
		delete(m.compact, k)
	}
	m.priors[key] = p
}

// sumKey is Limit.Key as a comparable struct: no allocation per lookup.
type sumKey struct {
	kind                    LimitKind
	program, rule, customer string
	from                    int64
}

func keyOfLimit(l *Limit) sumKey {
	return sumKey{l.Kind, l.Program, l.Rule, l.Customer, l.From.Unix()}
}

// Reserve implements Tally.
func (m *MemoryTally) Reserve(c *Claim) (Grant, error) {
	var buf [8]decimal.Decimal
	used := buf[:0]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.priors == nil {
		m.priors = map[string]Prior{}
		m.compact = map[compactKey]compactPrior{}
		m.sums = map[sumKey]decimal.Decimal{}
	}
	for i := range c.Limits {
		used = append(used, m.sums[keyOfLimit(&c.Limits[i])])
	}
	prior := m.prior(c.Key)
	g := Decide(c, prior, used)
	if g.Status == StatusSettled && (prior.Exists || c.Points.IsZero()) {
		// Nothing changed; a first claim of zero needs no record either
		// (it is what a key without a record means).
		return g, nil
	}
	next := Prior{Exists: true, Claimed: c.Points, Paid: addDec(prior.Paid, g.Points), Awards: prior.Awards}
	if !g.Points.IsZero() {
		next.Awards++
		for i := range c.Limits {
			m.sums[keyOfLimit(&c.Limits[i])] = addDec(used[i], g.Points)
		}
	}
	m.setPrior(c.Key, next)
	return g, nil
}

// Used returns the points recorded under a limit's scope and window.
func (m *MemoryTally) Used(l Limit) decimal.Decimal {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sums[keyOfLimit(&l)]
}

// Paid returns the points paid so far for an award key.
func (m *MemoryTally) Paid(key string) decimal.Decimal {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.prior(key).Paid
}
