package rewards

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/negawatt/negawatt/savings"
)

// Fact is what rules pay on: a savings fact with the customer, the event
// (for event facts) and history around it. Its JSON form is one line of
// the CLI's facts file (snake_case keys).
type Fact struct {
	Customer Customer       `json:"customer"`
	Savings  savings.Result `json:"savings"`
	// Event is nil for period facts.
	Event   *Event  `json:"event"`
	History History `json:"history"`
	// Now is the settlement time, visible to rules as now.
	Now time.Time `json:"now"`
}

// Customer is the enrolled customer a fact belongs to.
type Customer struct {
	ID         string            `json:"id"`
	Tier       string            `json:"tier"`
	EnrolledAt time.Time         `json:"enrolled_at"`
	Attributes map[string]string `json:"attributes"`
}

// Event identifies a demand-response event.
type Event struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// History counts the customer's earlier events.
type History struct {
	EventStreak int `json:"event_streak"`
	EventsTotal int `json:"events_total"`
}

// Validate checks what the engine relies on: a customer id, a fact id, a
// known kind and a start time.
func (f *Fact) Validate() error {
	switch {
	case f.Customer.ID == "":
		return &FactError{Field: "customer.id", Err: errors.New("missing")}
	case f.Savings.ID == "":
		return &FactError{Field: "savings.id", Err: errors.New("missing")}
	case f.Savings.Kind != savings.KindPeriod && f.Savings.Kind != savings.KindEvent:
		return &FactError{Field: "savings.kind", Err: fmt.Errorf("%q is neither \"period\" nor \"event\"", f.Savings.Kind)}
	case f.Savings.Start.IsZero():
		return &FactError{Field: "savings.start", Err: errors.New("missing")}
	case !f.Savings.End.IsZero() && f.Savings.End.Before(f.Savings.Start):
		return &FactError{Field: "savings.end", Err: errors.New("before savings.start")}
	case f.History.EventStreak < 0 || f.History.EventsTotal < 0:
		return &FactError{Field: "history", Err: errors.New("negative count")}
	}
	return f.finite()
}

// finite reports the first of the fact's amounts that is NaN or ±Inf (a
// Fact built in Go can hold them; JSON cannot): no decimal represents
// them, so a rule cannot read them.
func (f *Fact) finite() error {
	s := &f.Savings
	// x−x is 0 for every finite x and NaN for NaN and ±Inf: one test
	// covers the five amounts in the common case.
	if s.BaselineKWh-s.BaselineKWh+s.ObservedKWh-s.ObservedKWh+s.SavingsKWh-s.SavingsKWh+
		s.PercentSavings-s.PercentSavings+s.UncertaintyKWh-s.UncertaintyKWh == 0 {
		return nil
	}
	for _, a := range [...]struct {
		field string
		v     float64
	}{
		{"savings.baseline_kwh", s.BaselineKWh}, {"savings.observed_kwh", s.ObservedKWh}, {"savings.kwh", s.SavingsKWh},
		{"savings.percent", s.PercentSavings}, {"savings.uncertainty_kwh", s.UncertaintyKWh},
	} {
		if math.IsNaN(a.v) || math.IsInf(a.v, 0) {
			return &FactError{Field: a.field, Err: fmt.Errorf("%w: %v", ErrNotFinite, a.v)}
		}
	}
	return nil
}

// DecodeFact decodes and validates one JSON fact.
func DecodeFact(data []byte) (Fact, error) {
	var f Fact
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return Fact{}, &FactError{Err: jsonProblem(err)}
	}
	if dec.More() {
		return Fact{}, &FactError{Err: errors.New("more than one JSON value")}
	}
	if err := f.Validate(); err != nil {
		return Fact{}, err
	}
	return f, nil
}

func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: cannot use JSON %s as %s", te.Field, te.Value, te.Type)
	}
	return err
}

// DecodeFacts reads JSON lines (one fact per line, blank lines skipped).
// An error names the line.
func DecodeFacts(r io.Reader) ([]Fact, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []Fact
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		f, err := DecodeFact(b)
		if err != nil {
			var fe *FactError
			if errors.As(err, &fe) {
				fe.Line = line
			}
			return nil, err
		}
		out = append(out, f)
	}
	if err := sc.Err(); err != nil {
		return nil, &FactError{Err: err}
	}
	return out, nil
}

// env builds the complete expression environment of f, decimal amounts
// included.
func (p *Program) env(f *Fact, e *Env) {
	p.envFast(f, e)
	e.decimals()
}

// envFast builds the expression environment of f with the amounts some
// rule reads in fixed point only (converting a float to a decimal
// allocates; to a fixed it does not): Env.decimals fills the decimal
// amounts when the exact path needs them.
func (p *Program) envFast(f *Fact, e *Env) {
	s, u := &f.Savings, p.uses
	// e is reused from fact to fact (pooled): write what the fact sets and
	// reset the decimal amounts only if the exact path filled them, rather
	// than writing the whole struct (each pointer written pays a write
	// barrier while the collector marks).
	a := &e.amounts
	if a.filled {
		e.Savings.BaselineKWh, e.Savings.ObservedKWh, e.Savings.KWh = zeroDec, zeroDec, zeroDec
		e.Savings.Percent, e.Savings.UncertaintyKWh = zeroDec, zeroDec
		e.History = HistoryEnv{}
	}
	e.Customer = CustomerEnv{ID: f.Customer.ID, Tier: f.Customer.Tier, EnrolledAt: f.Customer.EnrolledAt, Attributes: f.Customer.Attributes}
	e.Savings.Kind, e.Savings.ID, e.Savings.Start, e.Savings.End = string(s.Kind), s.ID, s.Start, s.End
	e.Now = f.Now
	*a = envAmounts{uses: u, src: factAmounts{baseline: s.BaselineKWh, observed: s.ObservedKWh, kwh: s.SavingsKWh, percent: s.PercentSavings,
		uncertainty: s.UncertaintyKWh, streak: f.History.EventStreak, total: f.History.EventsTotal}}
	if u&useBaseline != 0 {
		a.baseline = fixedFromFloat(s.BaselineKWh)
	}
	if u&useObserved != 0 {
		a.observed = fixedFromFloat(s.ObservedKWh)
	}
	if u&useKWh != 0 {
		a.kwh = fixedFromFloat(s.SavingsKWh)
	}
	if u&usePercent != 0 {
		a.percent = fixedFromFloat(s.PercentSavings)
	}
	if u&useUncertainty != 0 {
		a.uncertainty = fixedFromFloat(s.UncertaintyKWh)
	}
	if u&useHistory != 0 {
		a.streak, a.total = fixedFromInt(f.History.EventStreak), fixedFromInt(f.History.EventsTotal)
	}
	switch {
	case f.Event != nil:
		e.Event = EventEnv{ID: f.Event.ID, Type: f.Event.Type}
	case s.Kind == savings.KindEvent:
		e.Event = EventEnv{ID: s.ID, Type: s.EventType}
	case e.Event != EventEnv{}:
		e.Event = EventEnv{}
	}
}

// fixedFromInt is decimal.NewFromInt(n) as a fixed.
func fixedFromInt(n int) fixed {
	if int64(n) == math.MinInt64 {
		return noFixed
	}
	return fixed{c: int64(n)}
}

const (
	useBaseline = 1 << iota
	useObserved
	useKWh
	usePercent
	useUncertainty
	useHistory
)

func usesOf(name string) int {
	switch name {
	case "savings.baseline_kwh":
		return useBaseline
	case "savings.observed_kwh":
		return useObserved
	case "savings.kwh":
		return useKWh
	case "savings.percent":
		return usePercent
	case "savings.uncertainty_kwh":
		return useUncertainty
	case "history.event_streak", "history.events_total":
		return useHistory
	}
	return 0
}
