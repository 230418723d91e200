package baseline

import (
	"fmt"
	"math"
)

// ModelType is a CalTRACK usage-per-day model form (CalTRACK 3.4.3).
type ModelType int

const (
	// InterceptOnly: usage per day = intercept.
	InterceptOnly ModelType = iota + 1
	// HDDOnly: intercept + βh·HDD.
	HDDOnly
	// CDDOnly: intercept + βc·CDD.
	CDDOnly
	// CDDHDD: intercept + βh·HDD + βc·CDD, heating bp ≤ cooling bp.
	CDDHDD
)

var modelTypeNames = [...]string{"", "intercept_only", "hdd_only", "cdd_only", "cdd_hdd"}

// String returns eemeter's name: "intercept_only", "hdd_only", "cdd_only" or "cdd_hdd".
func (t ModelType) String() string {
	if t >= InterceptOnly && t <= CDDHDD {
		return modelTypeNames[t]
	}
	return fmt.Sprintf("ModelType(%d)", int(t))
}

// ParseModelType is the inverse of String.
func ParseModelType(s string) (ModelType, error) {
	for i, n := range modelTypeNames {
		if i > 0 && n == s {
			return ModelType(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown model type %q", ErrBadModel, s)
}

// MarshalText implements encoding.TextMarshaler.
func (t ModelType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *ModelType) UnmarshalText(b []byte) error {
	v, err := ParseModelType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// HasHDD reports whether the form has a heating term.
func (t ModelType) HasHDD() bool { return t == HDDOnly || t == CDDHDD }

// HasCDD reports whether the form has a cooling term.
func (t ModelType) HasCDD() bool { return t == CDDOnly || t == CDDHDD }

// Status is a candidate's outcome (eemeter's status strings).
type Status int

const (
	// Qualified: fitted and eligible for selection.
	Qualified Status = iota + 1
	// Disqualified: fitted, but a coefficient is negative or a beta's
	// p-value is above the maximum (CalTRACK 3.4.3.2).
	Disqualified
	// NotAttempted: too few non-zero or too few total degree days
	// (CalTRACK 3.2.2.2), so eemeter does not fit it.
	NotAttempted
)

// String returns "QUALIFIED", "DISQUALIFIED" or "NOT ATTEMPTED".
func (s Status) String() string {
	switch s {
	case Qualified:
		return "QUALIFIED"
	case Disqualified:
		return "DISQUALIFIED"
	case NotAttempted:
		return "NOT ATTEMPTED"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Reason is a bit set of why a candidate was not attempted or was
// disqualified; see [Reason.Names].
type Reason uint16

// Reasons, named after eemeter's warning qualified names.
const (
	ReasonTooFewNonZeroHDD Reason = 1 << iota
	ReasonTotalHDDTooLow
	ReasonTooFewNonZeroCDD
	ReasonTotalCDDTooLow
	ReasonInterceptNegative
	ReasonBetaHDDNegative
	ReasonBetaCDDNegative
	ReasonBetaHDDPValueTooHigh
	ReasonBetaCDDPValueTooHigh
)

var reasonNames = [...]string{"too_few_non_zero_hdd", "total_hdd_too_low", "too_few_non_zero_cdd", "total_cdd_too_low",
	"intercept_negative", "beta_hdd_negative", "beta_cdd_negative", "beta_hdd_p_value_too_high", "beta_cdd_p_value_too_high"}

// Names returns eemeter's warning suffixes for the set bits, e.g.
// ["total_cdd_too_low"] (eemeter: "eemeter.caltrack_daily.cdd_hdd.total_cdd_too_low").
func (r Reason) Names() []string {
	var out []string
	for i, n := range reasonNames {
		if r&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Candidate is one candidate model of the CalTRACK grid search.
type Candidate struct {
	Type   ModelType
	Status Status
	// Reason says why a candidate is NotAttempted or Disqualified.
	Reason Reason
	// HeatingBalancePointF / CoolingBalancePointF are set when the form has
	// the term (0 otherwise).
	HeatingBalancePointF int
	CoolingBalancePointF int
	// Coefficients (usage per day); NaN when not attempted; a beta the form
	// lacks is 0.
	Intercept, BetaHDD, BetaCDD float64
	// RSquaredAdj is statsmodels' weighted adjusted R²; eemeter fixes it at
	// 0 for intercept_only.
	RSquaredAdj float64
	// VarBetaHDD and VarBetaCDD are the betas' squared standard errors
	// (NaN when absent); DF the residual degrees of freedom.
	VarBetaHDD, VarBetaCDD float64
	DF                     int
}

// TStatHDD is BetaHDD's t statistic (NaN when absent).
func (c *Candidate) TStatHDD() float64 { return c.BetaHDD / math.Sqrt(c.VarBetaHDD) }

// TStatCDD is BetaCDD's t statistic (NaN when absent).
func (c *Candidate) TStatCDD() float64 { return c.BetaCDD / math.Sqrt(c.VarBetaCDD) }

// PValueHDD is the two-sided t-test p-value of BetaHDD, as statsmodels
// reports it (NaN when absent).
func (c *Candidate) PValueHDD() float64 { return TwoSidedPValue(c.TStatHDD(), float64(c.DF)) }

// PValueCDD is the two-sided t-test p-value of BetaCDD (NaN when absent).
func (c *Candidate) PValueCDD() float64 { return TwoSidedPValue(c.TStatCDD(), float64(c.DF)) }

// CandidateCounts counts candidates by form and status.
type CandidateCounts struct {
	Qualified, Disqualified, NotAttempted int
	// ByType[t][s] counts form t with status s.
	ByType [CDDHDD + 1][NotAttempted + 1]int
}

func (cc *CandidateCounts) add(c *Candidate) {
	cc.ByType[c.Type][c.Status]++
	switch c.Status {
	case Qualified:
		cc.Qualified++
	case Disqualified:
		cc.Disqualified++
	case NotAttempted:
		cc.NotAttempted++
	}
}

var nan = math.NaN()
