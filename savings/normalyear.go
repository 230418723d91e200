package savings

import (
	"fmt"
	"math"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// This file implements normal-year (weather-normalized) savings, eemeter
// 2.10.11 modeled_savings (eemeter/derivatives.py): a model fitted on the
// baseline period and a model fitted on the reporting period both predict
// usage on the same normal-year weather (e.g. TMY3), and savings are the
// difference, free of the reporting year's weather (CalTRACK 2.0 §4.3,
// IPMVP "normalized savings").

// NormalYearPeriod is one period of the normal year with both models'
// predictions. Energy in the meter's unit (kWh). A period either model
// cannot predict (no temperature, or the final end-marker row) has every
// energy value NaN and is left out of the totals, as eemeter drops it.
type NormalYearPeriod struct {
	// Start begins the period; it runs to the next period's Start.
	Start time.Time
	// Days is the period length in days.
	Days float64
	// BaselineKWh is the baseline model's prediction ("modeled baseline
	// usage"), ReportingKWh the reporting model's, SavingsKWh their
	// difference.
	BaselineKWh, ReportingKWh, SavingsKWh float64
	// Baseline and Reporting split each prediction into base, heating and
	// cooling load; Savings is their difference, load by load.
	Baseline, Reporting, Savings LoadSplit
}

// LoadSplit divides usage into base load (the intercept), heating load
// (β_hdd·HDD) and cooling load (β_cdd·CDD), as eemeter's
// with_disaggregated predictions do.
type LoadSplit struct {
	BaseKWh    float64 `json:"base_kwh"`
	HeatingKWh float64 `json:"heating_kwh"`
	CoolingKWh float64 `json:"cooling_kwh"`
}

func (l LoadSplit) minus(o LoadSplit) LoadSplit {
	return LoadSplit{l.BaseKWh - o.BaseKWh, l.HeatingKWh - o.HeatingKWh, l.CoolingKWh - o.CoolingKWh}
}

func (l *LoadSplit) add(o LoadSplit) {
	l.BaseKWh += o.BaseKWh
	l.HeatingKWh += o.HeatingKWh
	l.CoolingKWh += o.CoolingKWh
}

// NormalYearResult is normal-year savings over a normal-year profile.
type NormalYearResult struct {
	// Periods lists every prediction period in order, including dropped
	// ones (NaN energy) and the final end marker.
	Periods []NormalYearPeriod
	// PeriodsUsed counts the periods both models predicted.
	PeriodsUsed int
	// BaselineKWh, ReportingKWh and SavingsKWh total the used periods.
	BaselineKWh, ReportingKWh, SavingsKWh float64
	// Baseline, Reporting and Savings total the load splits.
	Baseline, Reporting, Savings LoadSplit
	// Bands is the combined FSU uncertainty of eemeter modeled_savings;
	// nil when it is undefined (flagged FlagUncertaintyUndefined).
	Bands *ModeledErrorBands
	// Flags are data-quality flags: FlagMissingData when a period other
	// than the end marker was dropped, FlagNoData when none was predicted,
	// FlagUncertaintyUndefined.
	Flags []Flag
}

// PercentSavings is 100 × SavingsKWh / BaselineKWh, 0 when BaselineKWh is 0.
func (r *NormalYearResult) PercentSavings() float64 {
	if r.BaselineKWh == 0 {
		return 0
	}
	return 100 * r.SavingsKWh / r.BaselineKWh
}

// Result returns the normal-year savings as a savings fact (Kind
// [KindPeriod]) with the given id, e.g. "normal-year-2024". ObservedKWh is
// the reporting model's normal-year usage; Start and End bound the used
// periods.
func (r *NormalYearResult) Result(id string) Result {
	out := Result{Kind: KindPeriod, ID: id, BaselineKWh: r.BaselineKWh, ObservedKWh: r.ReportingKWh,
		SavingsKWh: r.SavingsKWh, PercentSavings: r.PercentSavings(), Flags: append([]Flag(nil), r.Flags...)}
	for i, p := range r.Periods {
		if math.IsNaN(p.BaselineKWh) || i+1 >= len(r.Periods) {
			continue
		}
		if out.Start.IsZero() {
			out.Start = p.Start.UTC()
		}
		out.End = r.Periods[i+1].Start.UTC()
	}
	if r.Bands != nil {
		out.UncertaintyKWh, out.Confidence = r.Bands.FSUKWh, r.Bands.Confidence
	}
	return out
}

// NormalYearSavings computes normal-year savings as eemeter 2.10.11
// modeled_savings does. periods gives the prediction periods' starts
// (values ignored; the last start only ends the previous period: see
// [NormalYearDays] for a daily year), normalTemp the normal-year hourly
// temperature. Both models predict with [baseline.Model.Predict]; savings
// are baseline − reporting. confidence is the two-sided level of the
// combined FSU band ([DefaultConfidence] for eemeter's 90 %).
//
// Reporting periods for the bands are counted per model as eemeter does:
// a daily model counts the used periods, a billing model the whole days
// from the first to the last period start / 30, rounded half to even.
func NormalYearSavings(baselineModel, reportingModel *baseline.Model, periods *baseline.Usage,
	normalTemp *baseline.Temperature, confidence float64) (*NormalYearResult, error) {
	if baselineModel == nil || reportingModel == nil {
		return nil, fmt.Errorf("%w: nil model", ErrInvalidStats)
	}
	if err := checkConfidence(confidence); err != nil {
		return nil, err
	}
	bp, err := baselineModel.Predict(periods, normalTemp)
	if err != nil {
		return nil, fmt.Errorf("normal-year prediction of the baseline model: %w", err)
	}
	rp, err := reportingModel.Predict(periods, normalTemp)
	if err != nil {
		return nil, fmt.Errorf("normal-year prediction of the reporting model: %w", err)
	}
	res := &NormalYearResult{Periods: make([]NormalYearPeriod, len(bp)), Flags: []Flag{}}
	starts := make([]time.Time, len(bp))
	used := make([]float64, len(bp)) // NaN marks a dropped row, for the period count
	for i := range bp {
		b, r := bp[i], rp[i]
		starts[i] = b.Start
		p := NormalYearPeriod{Start: b.Start, Days: b.Days}
		bl := LoadSplit{b.BaseLoad, b.HeatingLoad, b.CoolingLoad}
		rl := LoadSplit{r.BaseLoad, r.HeatingLoad, r.CoolingLoad}
		if math.IsNaN(b.Predicted) || math.IsNaN(r.Predicted) {
			// eemeter carries NaN in every column of a dropped row.
			nan := math.NaN()
			p.BaselineKWh, p.ReportingKWh, p.SavingsKWh = nan, nan, nan
			p.Baseline, p.Reporting, p.Savings = LoadSplit{nan, nan, nan}, LoadSplit{nan, nan, nan}, LoadSplit{nan, nan, nan}
			used[i] = nan
			if i+1 < len(bp) && !containsFlag(res.Flags, FlagMissingData) {
				res.Flags = append(res.Flags, FlagMissingData)
			}
			res.Periods[i] = p
			continue
		}
		p.BaselineKWh, p.ReportingKWh = b.Predicted, r.Predicted
		p.SavingsKWh = b.Predicted - r.Predicted
		p.Baseline, p.Reporting, p.Savings = bl, rl, bl.minus(rl)
		res.Periods[i] = p
		res.PeriodsUsed++
		res.BaselineKWh += p.BaselineKWh
		res.ReportingKWh += p.ReportingKWh
		res.SavingsKWh += p.SavingsKWh
		res.Baseline.add(bl)
		res.Reporting.add(rl)
		res.Savings.add(p.Savings)
	}
	if res.PeriodsUsed == 0 {
		res.Flags = append(res.Flags, FlagNoData)
	}
	bands, err := normalYearBands(baselineModel, reportingModel, starts, used, confidence)
	if err != nil {
		res.Flags = append(res.Flags, FlagUncertaintyUndefined)
	} else {
		res.Bands = &bands
	}
	return res, nil
}

func normalYearBands(bm, rm *baseline.Model, starts []time.Time, used []float64, confidence float64) (ModeledErrorBands, error) {
	bf, err := FitStatsOf(bm)
	if err != nil {
		return ModeledErrorBands{}, err
	}
	rf, err := FitStatsOf(rm)
	if err != nil {
		return ModeledErrorBands{}, err
	}
	bpost, err := NewReportingStats(bm.Method, starts, used)
	if err != nil {
		return ModeledErrorBands{}, err
	}
	rpost, err := NewReportingStats(rm.Method, starts, used)
	if err != nil {
		return ModeledErrorBands{}, err
	}
	return ModeledSavingsErrorBands(bf, rf, bpost.Periods, rpost.Periods, confidence)
}

// NormalYearDays returns n consecutive days starting at start (with the
// start's clock time and zone kept, so pass UTC midnight for eemeter's
// UTC days) plus the end marker n days later: the prediction periods of a
// daily normal year for [NormalYearSavings]. Values are NaN (unused).
func NormalYearDays(start time.Time, n int) (*baseline.Usage, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: %d normal-year days", ErrInvalidPeriods, n)
	}
	rs := make([]baseline.Reading, n+1)
	for i := range rs {
		rs[i] = baseline.Reading{Start: start.AddDate(0, 0, i), Value: math.NaN()}
	}
	return baseline.NewUsage(rs)
}

func containsFlag(fs []Flag, f Flag) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// NormalYearTemperature lays a typical-year hourly temperature profile
// (°F, one value per hour of the year in order, e.g. the 8,760 rows of a
// TMY3 file) onto calendar year `year`: value k is the temperature of the
// hour starting k hours after year-01-01 00:00 UTC. TMY files label their
// months with the different source years they were taken from and stamp
// each hour by its end, so their timestamps cannot be used as they are;
// their row order can. len(hourlyF) must equal the hours of `year` (8,760,
// or 8,784 in a leap year); NaN is a missing hour.
func NormalYearTemperature(hourlyF []float64, year int) (*baseline.Temperature, error) {
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	hours := int(start.AddDate(1, 0, 0).Sub(start) / time.Hour)
	if len(hourlyF) != hours {
		return nil, fmt.Errorf("%w: %d hourly temperatures for %d, which has %d hours",
			ErrInvalidPeriods, len(hourlyF), year, hours)
	}
	rs := make([]baseline.Reading, hours)
	for k, v := range hourlyF {
		rs[k] = baseline.Reading{Start: start.Add(time.Duration(k) * time.Hour), Value: v}
	}
	return baseline.NewTemperatureF(rs)
}

// CounterfactualLoads splits the counterfactual of metered savings into
// base, heating and cooling load, summed over the complete periods (eemeter
// metered_savings with_disaggregated: counterfactual_base_load,
// counterfactual_heating_load, counterfactual_cooling_load). The three add
// up to s.CounterfactualKWh. Metered savings themselves cannot be split
// (the meter reads one number); normal-year savings can, see
// [NormalYearResult].Savings.
func CounterfactualLoads(s *MeteredSavings) LoadSplit {
	var l LoadSplit
	if s == nil {
		return l
	}
	for _, p := range s.Periods {
		if p.Complete {
			l.add(LoadSplit{p.BaseLoadKWh, p.HeatingLoadKWh, p.CoolingLoadKWh})
		}
	}
	return l
}
