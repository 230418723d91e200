package savings

import (
	"fmt"
	"math"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// FitStatsOf returns the [FitStats] of a fitted (or JSON-decoded) baseline
// model: its totals metrics (baseline.Model.TotalsMetrics, eemeter's
// totals_metrics over period totals — usage per day × days against
// intercept·days + β_hdd·HDD·days + β_cdd·CDD·days — with 0, 1 or 2
// regressors for intercept_only, hdd_only / cdd_only and cdd_hdd) under
// the names the error bands use.
func FitStatsOf(m *baseline.Model) (FitStats, error) {
	if m == nil {
		return FitStats{}, fmt.Errorf("%w: nil model", ErrInvalidStats)
	}
	if !validMethod(m.Method) {
		return FitStats{}, fmt.Errorf("%w: model method %v", ErrInvalidStats, m.Method)
	}
	tm := m.TotalsMetrics
	if tm.N <= 0 {
		return FitStats{}, fmt.Errorf("%w: the model has no baseline totals metrics (n = %d)", ErrInvalidStats, tm.N)
	}
	return FitStats{
		Method:           m.Method,
		Observations:     tm.N,
		NumParameters:    tm.NumParameters,
		RMSEAdjKWh:       tm.RMSEAdj,
		MeanKWh:          tm.ObservedMean,
		VarianceKWh2:     tm.ObservedVariance,
		ResidualAutocorr: tm.AutocorrResid,
	}, nil
}

// ReportingStatsOf counts the reporting periods of metered savings the
// way eemeter's error bands do for a baseline model of the given method
// (see [NewReportingStats]): every period of s, the end marker included,
// with the incomplete ones dropped.
func ReportingStatsOf(method baseline.Method, s *MeteredSavings) (ReportingStats, error) {
	if s == nil {
		return ReportingStats{}, fmt.Errorf("%w: nil metered savings", ErrInvalidStats)
	}
	starts := make([]time.Time, len(s.Periods))
	obs := make([]float64, len(s.Periods))
	for i, p := range s.Periods {
		starts[i] = p.Start
		obs[i] = p.ObservedKWh
		if !p.Complete {
			obs[i] = math.NaN()
		}
	}
	return NewReportingStats(method, starts, obs)
}

// MeteredUncertainty returns the error bands eemeter 2.10.11
// metered_savings reports for metered savings s computed with baseline
// model m ([Metered] or [MeteredWindow]): the FSU band and the OLS band
// with its model-error and noise parts, at the two-sided confidence level
// (use [DefaultConfidence] for eemeter's 90 %). It returns
// [ErrUncertaintyUndefined] where eemeter returns no bands.
func MeteredUncertainty(m *baseline.Model, s *MeteredSavings, confidence float64) (ErrorBands, error) {
	fit, err := FitStatsOf(m)
	if err != nil {
		return ErrorBands{}, err
	}
	rep, err := ReportingStatsOf(m.Method, s)
	if err != nil {
		return ErrorBands{}, err
	}
	return MeteredErrorBands(fit, rep, confidence)
}

// MeteredResult returns whole-period metered savings as a savings fact for
// rewards: Kind [KindPeriod], the given id (e.g. "2017" or a program
// period), the totals of s, and the FSU band of bands as its uncertainty
// when bands is not nil. It is flagged [FlagMissingData] when a reporting
// period other than the end marker was incomplete, and [FlagNoData] when
// none was complete.
func MeteredResult(id string, s *MeteredSavings, bands *ErrorBands) Result {
	r := Result{Kind: KindPeriod, ID: id, Flags: []Flag{}}
	if s == nil {
		r.Flags = append(r.Flags, FlagNoData)
		return r
	}
	r.Start, r.End = s.Start, s.End
	r.BaselineKWh, r.ObservedKWh, r.SavingsKWh = s.CounterfactualKWh, s.ObservedKWh, s.SavingsKWh
	r.PercentSavings = s.PercentSavings
	for i, p := range s.Periods {
		if !p.Complete && i+1 < len(s.Periods) {
			r.Flags = append(r.Flags, FlagMissingData)
			break
		}
	}
	if s.NPeriods == 0 {
		r.Flags = append(r.Flags, FlagNoData)
	}
	if bands != nil {
		r.UncertaintyKWh, r.Confidence = bands.FSUKWh, bands.Confidence
	}
	return r
}
