package savings

import (
	"fmt"
	"math"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// Data-quality flags of a month in a monthly settlement ([MonthSavings]).
const (
	// FlagPartialMonth: the reporting periods cover only part of the
	// calendar month (the reporting period starts or ends inside it).
	FlagPartialMonth Flag = "partial_month"
	// FlagMissingData: some periods in the month had no observed usage or
	// no counterfactual and were left out of the sums, as eemeter
	// metered_savings drops rows with any missing value.
	FlagMissingData Flag = "missing_data"
	// FlagProrated: a reporting period (a bill) straddles the month's
	// boundary and was split between months in proportion to time.
	FlagProrated Flag = "prorated"
	// FlagNoData: no complete period in the month; its energy figures are 0.
	FlagNoData Flag = "no_data"
	// FlagUncertaintyUndefined: an uncertainty was asked for but cannot be
	// computed for the month (see [ErrUncertaintyUndefined]).
	FlagUncertaintyUndefined Flag = "uncertainty_undefined"
)

// MonthlyOptions configures [MonthlySettlement]. The zero value settles UTC
// calendar months without uncertainty.
type MonthlyOptions struct {
	// Location is the time zone whose calendar months are settled; nil
	// means UTC (eemeter's daily rows are UTC days).
	Location *time.Location
	// Fit, when set, gives every month an ASHRAE error band computed with
	// [MeteredErrorBands] over that month's periods.
	Fit *FitStats
	// Confidence of the bands; 0 means [DefaultConfidence].
	Confidence float64
}

// MonthSavings is the settlement of one calendar month of a reporting
// period: what a monthly rewards statement needs.
type MonthSavings struct {
	// Month is the calendar month, "YYYY-MM", in MonthlyOptions.Location.
	Month string `json:"month"`
	// Start and End bound the part of the month that reporting periods
	// cover, [Start, End), in UTC.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// CounterfactualKWh, ObservedKWh and SavingsKWh (= counterfactual −
	// observed) sum the complete periods, prorated by time when a period
	// straddles the month boundary.
	CounterfactualKWh float64 `json:"counterfactual_kwh"`
	ObservedKWh       float64 `json:"observed_kwh"`
	SavingsKWh        float64 `json:"savings_kwh"`
	// BaseLoadKWh, HeatingLoadKWh and CoolingLoadKWh split
	// CounterfactualKWh (0 when the periods carried no split).
	BaseLoadKWh    float64 `json:"base_load_kwh"`
	HeatingLoadKWh float64 `json:"heating_load_kwh"`
	CoolingLoadKWh float64 `json:"cooling_load_kwh"`
	// DaysInMonth is the calendar month's length in days (23- and 25-hour
	// days count as their hours / 24); DaysCovered the days inside
	// reporting periods; DaysMissing the covered days of periods left out.
	DaysInMonth float64 `json:"days_in_month"`
	DaysCovered float64 `json:"days_covered"`
	DaysMissing float64 `json:"days_missing"`
	// Bands are the month's error bands when MonthlyOptions.Fit was set and
	// they are defined; nil otherwise. The FSU band is scaled to the month's
	// counterfactual (ASHRAE Guideline 14 eq. B-13; see MonthlySettlement).
	Bands *ErrorBands `json:"bands,omitempty"`
	// Flags are the month's data-quality flags; empty means the month was
	// fully covered by complete data.
	Flags []Flag `json:"flags"`
}

// PercentSavings is 100 × SavingsKWh / CounterfactualKWh, 0 when the
// counterfactual is 0.
func (m MonthSavings) PercentSavings() float64 {
	if m.CounterfactualKWh == 0 {
		return 0
	}
	return 100 * m.SavingsKWh / m.CounterfactualKWh
}

// Result returns the month as a savings fact for rewards: Kind
// [KindPeriod], ID "YYYY-MM", the FSU band as its uncertainty.
func (m MonthSavings) Result() Result {
	r := Result{
		Kind:           KindPeriod,
		ID:             m.Month,
		Start:          m.Start,
		End:            m.End,
		BaselineKWh:    m.CounterfactualKWh,
		ObservedKWh:    m.ObservedKWh,
		SavingsKWh:     m.SavingsKWh,
		PercentSavings: m.PercentSavings(),
		Flags:          append([]Flag(nil), m.Flags...),
	}
	if m.Bands != nil {
		r.UncertaintyKWh = m.Bands.FSUKWh
		r.Confidence = m.Bands.Confidence
	}
	return r
}

// monthAcc accumulates one month.
type monthAcc struct {
	MonthSavings
	from, to time.Time // calendar month bounds in the settlement's zone
	kept     int       // complete periods touching the month
	keptDays float64   // days of complete periods inside the month
	prorated bool
}

// MonthlySettlement splits a reporting period's metered savings (the
// Periods of [Metered], or periods built by hand) into calendar months.
// Periods must be in time order and must not overlap; the last may be
// Metered's end marker (zero End, not Complete) and is then ignored. A
// period straddling a month boundary (a bill) is split in proportion to
// its time in each month and the months are flagged [FlagProrated]. Periods that are not
// Complete are left out of the sums, as eemeter drops rows with a missing
// value, and their months flagged [FlagMissingData]. Every month from the
// first period's start to the last period's end is returned, in order.
//
// With MonthlyOptions.Fit, each month gets the error bands of
// [MeteredErrorBands] computed over that month's periods alone, except that
// the FSU band is multiplied by the month's counterfactual instead of the
// baseline's total energy (eemeter's whole-period convention, which
// overstates a single month's band about twelvefold): the month's
// fractional savings uncertainty times the month's baseline energy, as in
// ASHRAE Guideline 14 eq. B-13.
//
// Summed over the months, CounterfactualKWh, ObservedKWh and SavingsKWh
// equal the totals over the complete periods (up to rounding).
func MonthlySettlement(periods []MeteredPeriod, opts MonthlyOptions) ([]MonthSavings, error) {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	conf := opts.Confidence
	if conf == 0 {
		conf = DefaultConfidence
	}
	tq := math.NaN() // the t quantile, the same for every month
	if opts.Fit != nil {
		if err := checkConfidence(conf); err != nil {
			return nil, err
		}
		if t, err := tStat(conf, *opts.Fit); err == nil {
			tq = t
		}
	}
	if n := len(periods); n > 0 && periods[n-1].End.IsZero() && !periods[n-1].Complete {
		periods = periods[:n-1] // the end marker
	}
	if err := checkSettlementPeriods(periods); err != nil {
		return nil, err
	}
	if len(periods) == 0 {
		return nil, nil
	}
	first := monthStart(periods[0].Start.In(loc))
	last := periods[len(periods)-1].End
	var months []*monthAcc
	for ms := first; ms.Before(last); ms = ms.AddDate(0, 1, 0) {
		me := ms.AddDate(0, 1, 0)
		months = append(months, &monthAcc{from: ms, to: me, MonthSavings: MonthSavings{
			Month:       ms.Format("2006-01"),
			DaysInMonth: me.Sub(ms).Hours() / 24,
			Flags:       []Flag{},
		}})
	}
	mi := 0
	for _, p := range periods {
		// Periods are sorted: advance to the month containing p.Start.
		for mi+1 < len(months) && !months[mi].to.After(p.Start) {
			mi++
		}
		dur := p.End.Sub(p.Start).Seconds()
		for j := mi; j < len(months) && p.End.After(months[j].from); j++ {
			from, to := later(p.Start, months[j].from), earlier(p.End, months[j].to)
			if !to.After(from) {
				continue
			}
			m := months[j]
			if m.Start.IsZero() || from.Before(m.Start) {
				m.Start = from.UTC()
			}
			if to.After(m.End) {
				m.End = to.UTC()
			}
			days := to.Sub(from).Hours() / 24
			m.DaysCovered += days
			if !p.Complete {
				m.DaysMissing += days
				continue
			}
			frac := to.Sub(from).Seconds() / dur
			if frac < 1 {
				m.prorated = true
			}
			m.kept++
			m.keptDays += days
			m.CounterfactualKWh += frac * p.CounterfactualKWh
			m.ObservedKWh += frac * p.ObservedKWh
			m.SavingsKWh += frac * (p.CounterfactualKWh - p.ObservedKWh)
			if !math.IsNaN(p.BaseLoadKWh) && !math.IsNaN(p.HeatingLoadKWh) && !math.IsNaN(p.CoolingLoadKWh) {
				m.BaseLoadKWh += frac * p.BaseLoadKWh
				m.HeatingLoadKWh += frac * p.HeatingLoadKWh
				m.CoolingLoadKWh += frac * p.CoolingLoadKWh
			}
		}
	}
	out := make([]MonthSavings, len(months))
	for i, m := range months {
		if m.DaysCovered < m.DaysInMonth-1e-9 {
			m.Flags = append(m.Flags, FlagPartialMonth)
		}
		if m.DaysMissing > 0 {
			m.Flags = append(m.Flags, FlagMissingData)
		}
		if m.prorated {
			m.Flags = append(m.Flags, FlagProrated)
		}
		if m.kept == 0 {
			m.Flags = append(m.Flags, FlagNoData)
		}
		if opts.Fit != nil && m.kept > 0 {
			m.Bands = monthBands(*opts.Fit, m, conf, tq)
			if m.Bands == nil {
				m.Flags = append(m.Flags, FlagUncertaintyUndefined)
			}
		}
		if m.Start.IsZero() {
			// A month inside the span that no period touches: bound it by
			// the calendar month itself.
			m.Start, m.End = m.from.UTC(), m.to.UTC()
		}
		out[i] = m.MonthSavings
	}
	return out, nil
}

// monthBands applies [MeteredErrorBands] to one month. Reporting periods
// are counted as eemeter counts them for a whole reporting period: daily
// data counts the complete days; billing data counts months, here the
// complete days / 30 (a prorated month is a fraction of a bill, not rounded).
//
// The FSU band is then rescaled to the month. eemeter's FSU multiplies the
// fractional uncertainty by the baseline's total energy (ȳ·n), which is
// the counterfactual energy only when the reporting period is as long as
// the baseline; ASHRAE Guideline 14 eq. B-13 multiplies by the baseline
// energy of the reporting period itself, here the month's counterfactual.
// The OLS bands already scale with the month's periods and are kept as is.
func monthBands(fit FitStats, m *monthAcc, conf, t float64) *ErrorBands {
	rep := ReportingStats{Periods: float64(m.kept), MeanObservedKWh: m.ObservedKWh / float64(m.kept)}
	if fit.Method == baseline.Billing {
		rep.Periods = m.keptDays / 30
		rep.MeanObservedKWh = m.ObservedKWh / rep.Periods
	}
	if math.IsNaN(t) || checkMeteredInputs(fit, rep) != nil {
		return nil
	}
	b := meteredBands(fit, rep, conf, t)
	b.FSUKWh *= m.CounterfactualKWh / (fit.MeanKWh * float64(fit.Observations))
	return &b
}

func checkSettlementPeriods(periods []MeteredPeriod) error {
	for i, p := range periods {
		switch {
		case !p.End.After(p.Start):
			return fmt.Errorf("%w: period %d (%s): end %s is not after start",
				ErrInvalidPeriods, i, p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339))
		case i > 0 && p.Start.Before(periods[i-1].End):
			return fmt.Errorf("%w: period %d (%s) starts before period %d ends (%s): unsorted or overlapping",
				ErrInvalidPeriods, i, p.Start.Format(time.RFC3339), i-1, periods[i-1].End.Format(time.RFC3339))
		case p.Complete && !(finite(p.CounterfactualKWh) && finite(p.ObservedKWh)):
			return fmt.Errorf("%w: period %d (%s): complete but counterfactual %v, observed %v",
				ErrInvalidPeriods, i, p.Start.Format(time.RFC3339), p.CounterfactualKWh, p.ObservedKWh)
		case math.IsInf(p.BaseLoadKWh, 0) || math.IsInf(p.HeatingLoadKWh, 0) || math.IsInf(p.CoolingLoadKWh, 0):
			return fmt.Errorf("%w: period %d (%s): infinite load",
				ErrInvalidPeriods, i, p.Start.Format(time.RFC3339))
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
