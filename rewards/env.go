package rewards

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Env is the expression environment of a rule: every name a rule may use.
// It is a typed struct so rules are type-checked when they are compiled.
// Amounts are decimal.Decimal, and numeric literals in rules are exact
// decimals, so arithmetic on points and kWh never goes through float64.
type Env struct {
	Customer CustomerEnv `expr:"customer"`
	Savings  SavingsEnv  `expr:"savings"`
	Event    EventEnv    `expr:"event"`
	History  HistoryEnv  `expr:"history"`
	// Now is the settlement time given with the fact (never a clock read).
	Now time.Time `expr:"now"`

	// amounts feed the fast path; the decimal amounts above are filled
	// from them only when the exact path needs them (see decimals).
	amounts envAmounts
}

// envAmounts are the amounts some rule reads as fixed-point values
// (noFixed when one has no fixed form), and the fact's numbers they come
// from.
type envAmounts struct {
	baseline, observed, kwh, percent, uncertainty, streak, total fixed

	src    factAmounts
	uses   int  // use* bits of the amounts set
	filled bool // the decimal fields of Env hold the amounts
}

// factAmounts are a fact's numbers as the fact holds them.
type factAmounts struct {
	baseline, observed, kwh, percent, uncertainty float64
	streak, total                                 int
}

// decimals fills the decimal amounts of e for the exact path (expr's VM
// and the decimal closures of fast.go), once: converting a float to a
// decimal allocates, and the fixed-point fast path usually needs none.
func (e *Env) decimals() {
	a := &e.amounts
	if a.filled {
		return
	}
	a.filled = true
	s, u := &a.src, a.uses
	if u&useBaseline != 0 {
		e.Savings.BaselineKWh = decimal.NewFromFloat(s.baseline)
	}
	if u&useObserved != 0 {
		e.Savings.ObservedKWh = decimal.NewFromFloat(s.observed)
	}
	if u&useKWh != 0 {
		e.Savings.KWh = decimal.NewFromFloat(s.kwh)
	}
	if u&usePercent != 0 {
		e.Savings.Percent = decimal.NewFromFloat(s.percent)
	}
	if u&useUncertainty != 0 {
		e.Savings.UncertaintyKWh = decimal.NewFromFloat(s.uncertainty)
	}
	if u&useHistory != 0 {
		e.History = HistoryEnv{EventStreak: decimal.NewFromInt(int64(s.streak)), EventsTotal: decimal.NewFromInt(int64(s.total))}
	}
}

// CustomerEnv is customer.* in rules.
type CustomerEnv struct {
	ID         string    `expr:"id"`
	Tier       string    `expr:"tier"`
	EnrolledAt time.Time `expr:"enrolled_at"`
	// Attributes are free-form; a missing key reads as "".
	Attributes map[string]string `expr:"attributes"`
}

// SavingsEnv is savings.* in rules: the savings fact with its quantities
// as decimals (converted from the fact's float64 by shortest
// representation, so 110.5 stays exactly 110.5).
type SavingsEnv struct {
	Kind           string          `expr:"kind"`
	ID             string          `expr:"id"`
	Start          time.Time       `expr:"start"`
	End            time.Time       `expr:"end"`
	BaselineKWh    decimal.Decimal `expr:"baseline_kwh"`
	ObservedKWh    decimal.Decimal `expr:"observed_kwh"`
	KWh            decimal.Decimal `expr:"kwh"`
	Percent        decimal.Decimal `expr:"percent"`
	UncertaintyKWh decimal.Decimal `expr:"uncertainty_kwh"`
}

// EventEnv is event.* in rules; zero values on period facts.
type EventEnv struct {
	ID   string `expr:"id"`
	Type string `expr:"type"`
}

// HistoryEnv is history.* in rules. The counts are decimals so they mix
// with other numbers in expressions.
type HistoryEnv struct {
	// EventStreak is the number of consecutive successful events before
	// this one.
	EventStreak decimal.Decimal `expr:"event_streak"`
	// EventsTotal is the number of events before this one.
	EventsTotal decimal.Decimal `expr:"events_total"`
}

// factView is what explanations keep of a fact to render the inputs of
// rules on demand (Explanation.Inputs): the fact's own values, without the
// evaluation's decimal and fixed-point amounts, so that the per-fact
// allocation stays small.
type factView struct {
	customer        CustomerEnv
	kind, id        string
	start, end, now time.Time
	event           EventEnv
	amounts         factAmounts
	uses            int
}

// of records the fact of e.
func (v *factView) of(e *Env) {
	*v = factView{customer: e.Customer, kind: e.Savings.Kind, id: e.Savings.ID, start: e.Savings.Start, end: e.Savings.End,
		now: e.Now, event: e.Event, amounts: e.amounts.src, uses: e.amounts.uses}
}

// env rebuilds the fact's environment, decimal amounts included.
func (v *factView) env() *Env {
	e := &Env{Customer: v.customer, Savings: SavingsEnv{Kind: v.kind, ID: v.id, Start: v.start, End: v.end}, Event: v.event, Now: v.now}
	e.amounts.src, e.amounts.uses = v.amounts, v.uses
	e.decimals()
	return e
}

// input is one referenced name of a rule's expressions, for explanations.
type input struct {
	name string // as written: savings.kwh, customer.attributes["region"]
	attr string // attribute key for customer.attributes[...]
}

// value renders the input's value in env.
func (in input) value(e *Env) string {
	switch in.name {
	case "customer.id":
		return e.Customer.ID
	case "customer.tier":
		return e.Customer.Tier
	case "customer.enrolled_at":
		return fmtTime(e.Customer.EnrolledAt)
	case "customer.attributes":
		return fmt.Sprint(e.Customer.Attributes)
	case "savings.kind":
		return e.Savings.Kind
	case "savings.id":
		return e.Savings.ID
	case "savings.start":
		return fmtTime(e.Savings.Start)
	case "savings.end":
		return fmtTime(e.Savings.End)
	case "savings.baseline_kwh":
		return e.Savings.BaselineKWh.String()
	case "savings.observed_kwh":
		return e.Savings.ObservedKWh.String()
	case "savings.kwh":
		return e.Savings.KWh.String()
	case "savings.percent":
		return e.Savings.Percent.String()
	case "savings.uncertainty_kwh":
		return e.Savings.UncertaintyKWh.String()
	case "event.id":
		return e.Event.ID
	case "event.type":
		return e.Event.Type
	case "history.event_streak":
		return e.History.EventStreak.String()
	case "history.events_total":
		return e.History.EventsTotal.String()
	case "now":
		return fmtTime(e.Now)
	}
	if in.attr != "" || len(in.name) > len("customer.attributes[") {
		return e.Customer.Attributes[in.attr]
	}
	return ""
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
