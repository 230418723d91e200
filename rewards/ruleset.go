package rewards

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// RuleSet is a parsed, not yet compiled, rule file. Every field remembers
// where it was written so that compile errors can point at it.
type RuleSet struct {
	// File is the name used in error messages.
	File string
	// Program identifies the rewards program; caps, budgets and idempotency
	// keys are scoped by it (not by Version), so a new version continues
	// the state of the one it replaces.
	Program string
	// Version is the rule set's integer version.
	Version int
	// EffectiveFrom and EffectiveTo bound the facts the set applies to:
	// EffectiveFrom <= savings.start < EffectiveTo. A zero value is unbounded.
	EffectiveFrom, EffectiveTo time.Time
	// Currency names the unit of points ("points" by default).
	Currency string
	// Rounding is applied once to each award.
	Rounding Rounding
	// Budget, when HasBudget, bounds the points of all customers and rules.
	Budget    decimal.Decimal
	HasBudget bool
	// Caps bound each customer's points over all rules of the set.
	Caps []Cap
	// Multipliers are named lookup tables for multiplier(table, key).
	Multipliers map[string]map[string]decimal.Decimal
	// Rules in file order.
	Rules []Rule

	pos      map[string]Position // key path -> position of the value
	src      []byte              // the file, for error positions inside expressions
	fromFile bool                // parsed by Parse (structure already checked)
}

// Rule is one reward rule.
type Rule struct {
	ID          string
	Description string
	// When is a boolean expression; "" means always.
	When string
	// Points is a decimal expression.
	Points string
	// Priority orders rules within a group (largest wins) and the order in
	// which rules of one fact draw on caps and budgets.
	Priority int
	// Group, when set, makes the rule pay only if no matching rule of the
	// same group has a larger priority (ties: earlier in the file).
	Group string
	// ValidFrom <= savings.start < ValidTo; zero values are unbounded.
	ValidFrom, ValidTo time.Time
	// Caps bound each customer's points from this rule.
	Caps []Cap
	// Budget, when HasBudget, bounds this rule's points over all customers.
	Budget    decimal.Decimal
	HasBudget bool
	// AllowNegative lets the rule pay negative points and negative
	// adjustments of restated facts.
	AllowNegative bool

	pos      Position            // of the rule's "id" value (or its item)
	exprSpan map[string]exprSpan // "when"/"points" -> where the text is in the file
}

// Period is the calendar period of a cap, in UTC; weeks start on Monday.
type Period int

// Periods of a cap.
const (
	PerDay Period = iota + 1
	PerWeek
	PerMonth
	PerYear
	PerLifetime
)

var periodNames = map[Period]string{PerDay: "day", PerWeek: "week", PerMonth: "month", PerYear: "year", PerLifetime: "lifetime"}

// String returns the period as written in rule files.
func (p Period) String() string {
	if s, ok := periodNames[p]; ok {
		return s
	}
	return fmt.Sprintf("Period(%d)", int(p))
}

// ParsePeriod parses day, week, month, year or lifetime.
func ParsePeriod(s string) (Period, error) {
	for p, n := range periodNames {
		if n == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown period %q (want day, week, month, year or lifetime)", s)
}

// Window returns the calendar period containing t, [from, to), in UTC.
// PerLifetime returns two zero times (unbounded).
func (p Period) Window(t time.Time) (from, to time.Time) {
	t = t.UTC()
	y, m, d := t.Date()
	// The ends are from.AddDate(...) written out: AddDate(y, m, d) is
	// time.Date with the fields added, which normalizes overflow.
	switch p {
	case PerDay:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	case PerWeek:
		// ISO 8601 weeks start on Monday.
		back := (int(t.Weekday()) + 6) % 7
		return time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC), time.Date(y, m, d-back+7, 0, 0, 0, 0, time.UTC)
	case PerMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC), time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
	case PerYear:
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}, time.Time{}
}

// Cap bounds the points of one customer per calendar period.
type Cap struct {
	Per Period
	Max decimal.Decimal
}

// RoundingMode says how an award is rounded to Rounding.Places.
type RoundingMode int

// Rounding modes.
const (
	// HalfEven rounds to nearest, ties to even (banker's rounding).
	HalfEven RoundingMode = iota
	// HalfUp rounds to nearest, ties away from zero.
	HalfUp
	// Floor rounds toward negative infinity.
	Floor
	// Ceil rounds toward positive infinity.
	Ceil
	// Down rounds toward zero (truncates).
	Down
)

var modeNames = []string{"half-even", "half-up", "floor", "ceil", "down"}

// String returns the mode as written in rule files.
func (m RoundingMode) String() string {
	if int(m) >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("RoundingMode(%d)", int(m))
}

// ParseRoundingMode parses half-even, half-up, floor, ceil or down.
func ParseRoundingMode(s string) (RoundingMode, error) {
	for i, n := range modeNames {
		if n == s {
			return RoundingMode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown rounding mode %q (want half-even, half-up, floor, ceil or down)", s)
}

// Rounding is the rounding of awards: a number of decimal places (may be
// negative: -1 rounds to tens) and a mode.
type Rounding struct {
	Places int32
	Mode   RoundingMode
}

// Round rounds d with explicit decimal methods (no package globals).
func (r Rounding) Round(d decimal.Decimal) decimal.Decimal {
	if d.Exponent() >= -r.Places {
		return d // already on the grid: every mode leaves it unchanged
	}
	if v, ok := r.roundSmall(d); ok {
		return v
	}
	switch r.Mode {
	case HalfUp:
		return d.Round(r.Places) // shopspring: half away from zero
	case Floor:
		return d.RoundFloor(r.Places)
	case Ceil:
		return d.RoundCeil(r.Places)
	case Down:
		return d.RoundDown(r.Places)
	}
	return d.RoundBank(r.Places)
}

// roundSmall is Round on int64 coefficients (at most 18 digits), which
// allocates once instead of rescaling through big.Int; ok is false when d
// is too large. It returns exactly what shopspring's methods return,
// including the exponent (checked by a property test).
func (r Rounding) roundSmall(d decimal.Decimal) (decimal.Decimal, bool) {
	k := -r.Places - d.Exponent() // digits to drop, > 0
	if k > 18 || d.NumDigits() > 18 {
		return zeroDec, false
	}
	c, m := d.CoefficientInt64(), pow10i64[k]
	q, rem := c/m, c%m
	sign := int64(1)
	if c < 0 {
		sign = -1
	}
	half := 2 * rem * sign // 2|rem|, compared with m
	switch r.Mode {
	case Floor:
		if rem < 0 {
			q--
		}
	case Ceil:
		if rem > 0 {
			q++
		}
	case Down:
	case HalfUp:
		if half >= m {
			q += sign
		}
	default: // HalfEven
		if half > m || (half == m && q%2 != 0) {
			q += sign
		}
	}
	return decimal.New(q, -r.Places), true
}

// String renders "places N, MODE".
func (r Rounding) String() string { return fmt.Sprintf("%d places, %s", r.Places, r.Mode) }
