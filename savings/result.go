package savings

import "time"

// Kind says what a [Result] covers.
type Kind string

const (
	// KindPeriod is a whole-period result: a billing period, a calendar month
	// of a reporting period, or a whole reporting period.
	KindPeriod Kind = "period"
	// KindEvent is a demand-response (peak-time rebate) event result.
	KindEvent Kind = "event"
)

// String returns the kind's name as rules see it ("period" or "event").
func (k Kind) String() string { return string(k) }

// Flag is a machine-readable data-quality flag carried by a [Result].
// A result with no flags was computed from complete data.
type Flag string

// Result is one savings fact: what a rewards program pays on. It is defined
// once here and consumed by package rewards, so its JSON form (snake_case
// keys) is also the "savings" object of a rewards fact.
//
// Energy quantities are in the meter's unit, kWh for electricity (the field
// names say kWh because that is what almost every program settles in).
// Savings are positive when energy was saved.
type Result struct {
	// Kind is KindPeriod or KindEvent.
	Kind Kind `json:"kind"`
	// ID identifies the fact for one customer: a period id such as "2024-07"
	// or an event id. Re-settling the same ID is idempotent in rewards.
	ID string `json:"id"`
	// EventType is the program's name for the event ("peak-time-rebate",
	// "critical-peak", ...); empty for period results.
	EventType string `json:"event_type,omitempty"`
	// Start and End bound the fact, [Start, End), in UTC.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// BaselineKWh is the counterfactual (what would have been used without
	// the program), ObservedKWh what the meter read, SavingsKWh their
	// difference BaselineKWh - ObservedKWh.
	BaselineKWh float64 `json:"baseline_kwh"`
	ObservedKWh float64 `json:"observed_kwh"`
	SavingsKWh  float64 `json:"kwh"`
	// PercentSavings is 100 × SavingsKWh / BaselineKWh (13.6 means 13.6 %);
	// 0 when BaselineKWh is 0.
	PercentSavings float64 `json:"percent"`
	// UncertaintyKWh is the half-width of the savings error band at
	// Confidence (the fractional savings uncertainty band of ASHRAE
	// Guideline 14 for period results); 0 when not computed.
	UncertaintyKWh float64 `json:"uncertainty_kwh"`
	// Confidence is the two-sided confidence level of UncertaintyKWh, e.g. 0.9.
	Confidence float64 `json:"confidence,omitempty"`
	// Flags lists data-quality problems; empty means complete data.
	Flags []Flag `json:"flags,omitempty"`
}
