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
// Reserve must not keep c or c.Limits after it returns: the engine reuses
// them for the next rule.
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
	g := Grant{Key: c.Key, Prior: prior, Wanted: c.Points.Sub(prior.Paid)}
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
	for i, l := range c.Limits {
		left := l.Max.Sub(used[i])
		if left.Exponent() < -c.Places {
			left = left.RoundDown(c.Places)
		}
		if left.IsNegative() {
			left = zeroDec
		}
		if left.LessThan(grant) {
			g.Trims = append(g.Trims, Trim{Limit: l, Remaining: left})
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

// MemoryTally is an in-memory Tally guarded by a mutex: the reference
// implementation, used by the CLI and tests. The zero value is ready.
type MemoryTally struct {
	mu     sync.Mutex
	priors map[string]Prior
	sums   map[sumKey]decimal.Decimal
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
		m.sums = map[sumKey]decimal.Decimal{}
	}
	for i := range c.Limits {
		used = append(used, m.sums[keyOfLimit(&c.Limits[i])])
	}
	prior := m.priors[c.Key]
	g := Decide(c, prior, used)
	if g.Status == StatusSettled && (prior.Exists || c.Points.IsZero()) {
		// Nothing changed; a first claim of zero needs no record either
		// (it is what a key without a record means).
		return g, nil
	}
	next := Prior{Exists: true, Claimed: c.Points, Paid: prior.Paid.Add(g.Points), Awards: prior.Awards}
	if !g.Points.IsZero() {
		next.Awards++
		for i := range c.Limits {
			m.sums[keyOfLimit(&c.Limits[i])] = used[i].Add(g.Points)
		}
	}
	m.priors[c.Key] = next
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
	return m.priors[key].Paid
}
