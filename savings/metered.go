package savings

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// MeteredPeriod is one reporting period of a metered-savings calculation
// (eemeter metered_savings, derivatives.py). Quantities are period totals
// in the meter's unit.
type MeteredPeriod struct {
	// Start and End bound the period, [Start, End), UTC.
	Start, End time.Time
	// Days is the period length in days.
	Days float64
	// ObservedKWh is the metered usage; CounterfactualKWh the baseline
	// model's prediction (BaseLoadKWh + HeatingLoadKWh + CoolingLoadKWh);
	// SavingsKWh = CounterfactualKWh − ObservedKWh.
	ObservedKWh, CounterfactualKWh, SavingsKWh  float64
	BaseLoadKWh, HeatingLoadKWh, CoolingLoadKWh float64
	// Complete is false when any of these is NaN (missing usage, missing
	// temperature, the end marker); such periods are left out of the
	// totals, as eemeter drops rows with any NaN before summing.
	Complete bool
}

// MeteredSavings is the avoided energy use over a reporting period: the
// baseline model's counterfactual minus what the meter read (CalTRACK 2.0
// §4.3, eemeter metered_savings). Positive means energy was saved.
type MeteredSavings struct {
	// Periods lists every reporting period, complete or not.
	Periods []MeteredPeriod
	// NPeriods counts the complete periods the totals cover.
	NPeriods int
	// Totals over complete periods.
	CounterfactualKWh, ObservedKWh, SavingsKWh float64
	// PercentSavings = 100 × SavingsKWh / CounterfactualKWh (0 when the
	// counterfactual is 0).
	PercentSavings float64
	// Start and End bound the complete periods (zero when there are none).
	Start, End time.Time
}

// Metered computes metered savings for reporting usage that has already
// been selected, e.g. with [baseline.ReportingWindow] (after
// [baseline.DailyUsage] for a daily model): each reading is a period
// running to the next reading, and the last one only marks the end. Use
// [MeteredWindow] to do the selection as eemeter's get_reporting_data.
func Metered(m *baseline.Model, reporting *baseline.Usage, temp *baseline.Temperature) (*MeteredSavings, error) {
	if m == nil {
		return nil, errors.New("savings: nil baseline model")
	}
	if reporting == nil || reporting.Len() == 0 || temp == nil || temp.Len() == 0 {
		return nil, fmt.Errorf("savings: %w", baseline.ErrNoData)
	}
	pred, err := m.Predict(reporting, temp)
	if err != nil {
		return nil, fmt.Errorf("savings: %w", err)
	}
	out := &MeteredSavings{Periods: make([]MeteredPeriod, len(pred))}
	for i, p := range pred {
		obs := reporting.At(i).Value
		mp := MeteredPeriod{Start: p.Start, Days: p.Days, ObservedKWh: obs, CounterfactualKWh: p.Predicted,
			SavingsKWh: p.Predicted - obs, BaseLoadKWh: p.BaseLoad, HeatingLoadKWh: p.HeatingLoad, CoolingLoadKWh: p.CoolingLoad}
		if i+1 < len(pred) {
			mp.End = pred[i+1].Start
		}
		mp.Complete = !math.IsNaN(mp.SavingsKWh) && !math.IsNaN(mp.Days) && !math.IsNaN(mp.BaseLoadKWh) &&
			!math.IsNaN(mp.HeatingLoadKWh) && !math.IsNaN(mp.CoolingLoadKWh)
		out.Periods[i] = mp
		if !mp.Complete {
			continue
		}
		if out.NPeriods == 0 {
			out.Start = mp.Start
		}
		out.End = mp.End
		out.NPeriods++
		out.CounterfactualKWh += mp.CounterfactualKWh
		out.ObservedKWh += mp.ObservedKWh
		out.SavingsKWh += mp.SavingsKWh
	}
	if out.CounterfactualKWh != 0 {
		out.PercentSavings = 100 * out.SavingsKWh / out.CounterfactualKWh
	}
	return out, nil
}

// MeteredWindow selects the reporting period as eemeter's
// get_reporting_data(start=start, max_days=maxDays) does (after resampling
// to UTC days for a daily model) and computes metered savings.
func MeteredWindow(m *baseline.Model, usage *baseline.Usage, temp *baseline.Temperature, start time.Time, maxDays int) (*MeteredSavings, error) {
	if m == nil {
		return nil, errors.New("savings: nil baseline model")
	}
	if usage == nil || usage.Len() == 0 {
		return nil, fmt.Errorf("savings: %w", baseline.ErrNoData)
	}
	if m.Method == baseline.Daily {
		var err error
		if usage, err = baseline.DailyUsage(usage); err != nil {
			return nil, fmt.Errorf("savings: %w", err)
		}
	}
	rep, err := baseline.ReportingWindow(usage, start, maxDays)
	if err != nil {
		return nil, fmt.Errorf("savings: reporting period from %s: %w", start.UTC().Format(time.RFC3339), err)
	}
	return Metered(m, rep, temp)
}
