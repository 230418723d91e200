package savings_test

import (
	"fmt"
	"math"
	"time"

	"github.com/negawatt/negawatt/savings"
)

// A baseline fitted on a year of daily data, a two-month reporting period,
// its error bands at the default 90 % confidence and its monthly statement.
func Example() {
	// Baseline period totals and the fitted model's predictions for them
	// (usually from package baseline; a short synthetic series here).
	observed := make([]float64, 365)
	predicted := make([]float64, 365)
	for i := range observed {
		observed[i] = 30 + 10*math.Sin(float64(i)/58)
		predicted[i] = observed[i] + 3*math.Sin(float64(i)*1.3)
	}
	fit, err := savings.NewFitStats(savings.IntervalDaily, observed, predicted, 2)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Reporting days: counterfactual from the baseline, observed from the meter.
	var periods []savings.SettlementPeriod
	var starts []time.Time
	var reported []float64
	day0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range 61 {
		start := day0.AddDate(0, 0, i)
		p := savings.SettlementPeriod{
			Start: start, End: start.AddDate(0, 0, 1),
			CounterfactualKWh: 32, ObservedKWh: 29,
			BaseLoadKWh: 20, HeatingLoadKWh: 0, CoolingLoadKWh: 12,
		}
		periods = append(periods, p)
		starts = append(starts, p.Start)
		reported = append(reported, p.ObservedKWh)
	}

	rep, err := savings.NewReportingStats(savings.IntervalDaily, starts, reported)
	if err != nil {
		fmt.Println(err)
		return
	}
	bands, err := savings.MeteredErrorBands(fit, rep, savings.DefaultConfidence)
	if err != nil {
		fmt.Println(err)
		return
	}
	// eemeter's whole-period FSU band is the fractional uncertainty times
	// the baseline year's energy, so on a two-month period it is wide; the
	// monthly statement below scales it to each month's counterfactual.
	fmt.Printf("savings 183.0 kWh ± %.1f kWh (FSU, 90 %%), OLS ± %.1f kWh\n", bands.FSUKWh, bands.OLSKWh)

	months, err := savings.MonthlySettlement(periods, savings.MonthlyOptions{Fit: &fit})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range months {
		r := m.Result()
		fmt.Printf("%s %s: %.1f kWh saved (%.1f %%) ± %.1f, cooling %.0f kWh, flags %v\n",
			r.Kind, r.ID, r.SavingsKWh, r.PercentSavings, r.UncertaintyKWh, m.CoolingLoadKWh, r.Flags)
	}
	// Output:
	// savings 183.0 kWh ± 232.9 kWh (FSU, 90 %), OLS ± 37.8 kWh
	// period 2024-06: 90.0 kWh saved (9.4 %) ± 28.1, cooling 360 kWh, flags []
	// period 2024-07: 93.0 kWh saved (9.4 %) ± 28.6, cooling 372 kWh, flags []
}
