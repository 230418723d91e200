package savings

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/negawatt/negawatt/baseline"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

func utcDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// dailyPeriods makes one period per UTC day from start for n days, with
// counterfactual cf(i) and observed ob(i).
func dailyPeriods(start time.Time, n int, cf, ob func(i int) float64) []MeteredPeriod {
	ps := make([]MeteredPeriod, n)
	for i := range ps {
		s := start.AddDate(0, 0, i)
		ps[i] = MeteredPeriod{Start: s, End: s.AddDate(0, 0, 1), Days: 1,
			CounterfactualKWh: cf(i), ObservedKWh: ob(i), SavingsKWh: cf(i) - ob(i),
			BaseLoadKWh: math.NaN(), HeatingLoadKWh: math.NaN(), CoolingLoadKWh: math.NaN(),
			Complete: !math.IsNaN(cf(i) - ob(i))}
	}
	return ps
}

func TestMonthlySettlementDailyHandChecked(t *testing.T) {
	// 2017-01-30 .. 2017-03-01 inclusive: 2 January days, 28 February days
	// (one, Feb 10, missing), 1 March day. Counterfactual 10 kWh a day,
	// observed 8, so savings 2 a day.
	ps := dailyPeriods(utcDay(2017, 1, 30), 31,
		func(int) float64 { return 10 }, func(i int) float64 {
			if i == 11 { // 2017-02-10
				return math.NaN()
			}
			return 8
		})
	got, err := MonthlySettlement(ps, MonthlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []MonthSavings{
		{Month: "2017-01", Start: utcDay(2017, 1, 30), End: utcDay(2017, 2, 1),
			CounterfactualKWh: 20, ObservedKWh: 16, SavingsKWh: 4,
			DaysInMonth: 31, DaysCovered: 2, Flags: []Flag{FlagPartialMonth}},
		{Month: "2017-02", Start: utcDay(2017, 2, 1), End: utcDay(2017, 3, 1),
			CounterfactualKWh: 270, ObservedKWh: 216, SavingsKWh: 54,
			DaysInMonth: 28, DaysCovered: 28, DaysMissing: 1, Flags: []Flag{FlagMissingData}},
		{Month: "2017-03", Start: utcDay(2017, 3, 1), End: utcDay(2017, 3, 2),
			CounterfactualKWh: 10, ObservedKWh: 8, SavingsKWh: 2,
			DaysInMonth: 31, DaysCovered: 1, Flags: []Flag{FlagPartialMonth}},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("months (-want +got):\n%s", d)
	}
	r := got[1].Result()
	wantR := Result{Kind: KindPeriod, ID: "2017-02", Start: utcDay(2017, 2, 1), End: utcDay(2017, 3, 1),
		BaselineKWh: 270, ObservedKWh: 216, SavingsKWh: 54, PercentSavings: 20, Flags: []Flag{FlagMissingData}}
	if d := cmp.Diff(wantR, r, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("Result (-want +got):\n%s", d)
	}
}

func TestMonthlySettlementBillingProrated(t *testing.T) {
	// Two bills: Jan 21 – Feb 21 (31 days, cf 310, obs 248, split
	// base 100 / heating 210 / cooling 0) and Feb 21 – Mar 21 (28 days, cf
	// 280, obs 252). January gets 11/31 of the first bill; February 20/31
	// of the first and 8/28 of the second; March 20/28 of the second.
	ps := []MeteredPeriod{
		{Start: utcDay(2017, 1, 21), End: utcDay(2017, 2, 21), CounterfactualKWh: 310, ObservedKWh: 248,
			BaseLoadKWh: 100, HeatingLoadKWh: 210, CoolingLoadKWh: 0, Complete: true},
		{Start: utcDay(2017, 2, 21), End: utcDay(2017, 3, 21), CounterfactualKWh: 280, ObservedKWh: 252,
			BaseLoadKWh: 280, HeatingLoadKWh: 0, CoolingLoadKWh: 0, Complete: true},
		{Start: utcDay(2017, 3, 21)}, // Metered's end marker: ignored
	}
	got, err := MonthlySettlement(ps, MonthlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []MonthSavings{
		{Month: "2017-01", Start: utcDay(2017, 1, 21), End: utcDay(2017, 2, 1),
			CounterfactualKWh: 110, ObservedKWh: 88, SavingsKWh: 22,
			BaseLoadKWh: 100 * 11.0 / 31, HeatingLoadKWh: 210 * 11.0 / 31,
			DaysInMonth: 31, DaysCovered: 11, Flags: []Flag{FlagPartialMonth, FlagProrated}},
		{Month: "2017-02", Start: utcDay(2017, 2, 1), End: utcDay(2017, 3, 1),
			CounterfactualKWh: 200 + 80, ObservedKWh: 160 + 72, SavingsKWh: 40 + 8,
			BaseLoadKWh: 100*20.0/31 + 80, HeatingLoadKWh: 210 * 20.0 / 31,
			DaysInMonth: 28, DaysCovered: 28, Flags: []Flag{FlagProrated}},
		{Month: "2017-03", Start: utcDay(2017, 3, 1), End: utcDay(2017, 3, 21),
			CounterfactualKWh: 200, ObservedKWh: 180, SavingsKWh: 20, BaseLoadKWh: 200,
			DaysInMonth: 31, DaysCovered: 20, Flags: []Flag{FlagPartialMonth, FlagProrated}},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("months (-want +got):\n%s", d)
	}
}

func TestMonthlySettlementGapMonthAndZone(t *testing.T) {
	// A bill in January and one in March leave February untouched: it is
	// listed with no data. In America/Chicago the UTC-midnight bill
	// boundaries fall at 18:00 the previous local day.
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	ps := []MeteredPeriod{
		{Start: utcDay(2017, 1, 2), End: utcDay(2017, 1, 12), CounterfactualKWh: 10, ObservedKWh: 5,
			BaseLoadKWh: math.NaN(), HeatingLoadKWh: math.NaN(), CoolingLoadKWh: math.NaN(), Complete: true},
		{Start: utcDay(2017, 3, 2), End: utcDay(2017, 3, 12), CounterfactualKWh: 10, ObservedKWh: 5,
			BaseLoadKWh: math.NaN(), HeatingLoadKWh: math.NaN(), CoolingLoadKWh: math.NaN(), Complete: true},
	}
	got, err := MonthlySettlement(ps, MonthlyOptions{Location: chicago})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Month != "2017-02" || !cmp.Equal(got[1].Flags, []Flag{FlagPartialMonth, FlagNoData}) {
		t.Fatalf("months %+v", got)
	}
	// March 2017 in Chicago has a 23-hour day (DST starts March 12).
	if got[2].DaysInMonth != 31-1.0/24 {
		t.Errorf("March days = %v", got[2].DaysInMonth)
	}
	if got[1].Start != time.Date(2017, 2, 1, 6, 0, 0, 0, time.UTC) {
		t.Errorf("February start = %v", got[1].Start)
	}
}

func TestMonthlySettlementErrors(t *testing.T) {
	d := func(day int) time.Time { return utcDay(2017, 1, day) }
	tests := map[string][]MeteredPeriod{
		"empty period": {{Start: d(2), End: d(2)}},
		"reversed":     {{Start: d(3), End: d(2)}},
		"overlap":      {{Start: d(1), End: d(3)}, {Start: d(2), End: d(4)}},
		"unsorted":     {{Start: d(5), End: d(6)}, {Start: d(1), End: d(2)}},
		"infinite":     {{Start: d(1), End: d(2), CounterfactualKWh: math.Inf(1), Complete: true}},
		"nan complete": {{Start: d(1), End: d(2), ObservedKWh: math.NaN(), Complete: true}},
		"inf load":     {{Start: d(1), End: d(2), BaseLoadKWh: math.Inf(-1)}},
		"marker early": {{Start: d(1)}, {Start: d(2), End: d(3)}},
	}
	for name, ps := range tests {
		if _, err := MonthlySettlement(ps, MonthlyOptions{}); !errors.Is(err, ErrInvalidPeriods) {
			t.Errorf("%s: err = %v, want ErrInvalidPeriods", name, err)
		}
	}
	fit := FitStats{Method: baseline.Daily, Observations: 30, RMSEAdjKWh: 1, MeanKWh: 1, VarianceKWh2: 1}
	if _, err := MonthlySettlement(nil, MonthlyOptions{Fit: &fit, Confidence: 1.5}); !errors.Is(err, ErrConfidence) {
		t.Errorf("bad confidence: err = %v", err)
	}
}

// TestMonthlySettlementGoldenTotal settles eemeter's daily reporting
// savings by month: the months add up to eemeter's total metered savings.
func TestMonthlySettlementGoldenTotal(t *testing.T) {
	g := readGolden(t)
	for _, sample := range []string{"il-electricity-cdd-hdd-daily", "il-electricity-cdd-hdd-billing_monthly"} {
		t.Run(sample, func(t *testing.T) {
			rs := readCSVGz(t, sample+"__primary__reporting_savings.csv.gz")
			var ps []MeteredPeriod
			for i := 0; i+1 < len(rs.starts); i++ {
				ps = append(ps, MeteredPeriod{Start: rs.starts[i], End: rs.starts[i+1],
					CounterfactualKWh: rs.cols["counterfactual_usage"][i], ObservedKWh: rs.cols["reporting_observed"][i],
					BaseLoadKWh: rs.cols["counterfactual_base_load"][i], HeatingLoadKWh: rs.cols["counterfactual_heating_load"][i],
					CoolingLoadKWh: rs.cols["counterfactual_cooling_load"][i],
					Complete:       !math.IsNaN(rs.cols["counterfactual_usage"][i])})
			}
			fit := goldenFitStats(t, g, sample)
			months, err := MonthlySettlement(ps, MonthlyOptions{Fit: &fit})
			if err != nil {
				t.Fatal(err)
			}
			var sav, cf, load float64
			for _, m := range months {
				sav += m.SavingsKWh
				cf += m.CounterfactualKWh
				load += m.BaseLoadKWh + m.HeatingLoadKWh + m.CoolingLoadKWh
				if m.Bands == nil || !(m.Bands.FSUKWh > 0) {
					t.Errorf("%s: no band: %+v", m.Month, m)
				}
			}
			want := g.Samples[sample].Variants["primary"].Savings
			if relErr(sav, want.TotalMeteredSavings) > 1e-9 || relErr(cf, want.CounterfactualTotal) > 1e-9 ||
				relErr(load, want.CounterfactualTotal) > 1e-9 {
				t.Errorf("monthly sums savings %v counterfactual %v loads %v; eemeter totals %v, %v",
					sav, cf, load, want.TotalMeteredSavings, want.CounterfactualTotal)
			}
		})
	}
}

// TestMonthlySettlementSumsToTotal: for any sorted, non-overlapping periods,
// the months' sums equal the sums over the usable periods.
func TestMonthlySettlementSumsToTotal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 60).Draw(t, "n")
		at := utcDay(2016, time.Month(rapid.IntRange(1, 12).Draw(t, "month")), rapid.IntRange(1, 28).Draw(t, "day"))
		var ps []MeteredPeriod
		var wantCF, wantObs float64
		for range n {
			at = at.Add(time.Duration(rapid.IntRange(0, 5*24).Draw(t, "gapHours")) * time.Hour)
			end := at.Add(time.Duration(rapid.IntRange(1, 70*24).Draw(t, "lenHours")) * time.Hour)
			cf := rapid.Float64Range(0, 1000).Draw(t, "cf")
			ob := rapid.Float64Range(0, 1000).Draw(t, "obs")
			if rapid.IntRange(0, 9).Draw(t, "missing") == 0 {
				ob = math.NaN()
			} else {
				wantCF += cf
				wantObs += ob
			}
			ps = append(ps, MeteredPeriod{Start: at, End: end, CounterfactualKWh: cf, ObservedKWh: ob,
				BaseLoadKWh: cf / 2, HeatingLoadKWh: cf / 4, CoolingLoadKWh: cf / 4, Complete: !math.IsNaN(ob)})
			at = end
		}
		months, err := MonthlySettlement(ps, MonthlyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var cf, obs, sav, covered float64
		for i, m := range months {
			cf += m.CounterfactualKWh
			obs += m.ObservedKWh
			sav += m.SavingsKWh
			covered += m.DaysCovered
			if i > 0 && m.Month <= months[i-1].Month {
				t.Fatalf("months out of order: %s after %s", m.Month, months[i-1].Month)
			}
			if m.DaysCovered > m.DaysInMonth+1e-9 {
				t.Fatalf("%s covers %v of %v days", m.Month, m.DaysCovered, m.DaysInMonth)
			}
		}
		tol := 1e-9 * (1 + wantCF + wantObs)
		if math.Abs(cf-wantCF) > tol || math.Abs(obs-wantObs) > tol || math.Abs(sav-(wantCF-wantObs)) > tol {
			t.Fatalf("monthly sums cf %v obs %v sav %v; periods cf %v obs %v", cf, obs, sav, wantCF, wantObs)
		}
		var wantDays float64
		for _, p := range ps {
			wantDays += p.End.Sub(p.Start).Hours() / 24
		}
		if math.Abs(covered-wantDays) > 1e-9 {
			t.Fatalf("covered %v days, periods span %v", covered, wantDays)
		}
	})
}

func BenchmarkMonthlySettlementCustomerYear(b *testing.B) {
	// One customer-year of daily reporting data with per-month bands.
	ps := dailyPeriods(utcDay(2017, 1, 4), 365,
		func(i int) float64 { return 30 + float64(i%7) }, func(i int) float64 { return 27 + float64(i%5) })
	fit := FitStats{Method: baseline.Daily, Observations: 365, NumParameters: 2,
		RMSEAdjKWh: 7, MeanKWh: 28, VarianceKWh2: 100, ResidualAutocorr: 0.5}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MonthlySettlement(ps, MonthlyOptions{Fit: &fit}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMonthlySettlementBands(t *testing.T) {
	// One full February of daily data: the month's OLS bands are
	// MeteredErrorBands over its 28 days; its FSU band is eemeter's scaled
	// from the baseline's total energy (30 × 365) to the month's
	// counterfactual (28 × 10).
	ps := dailyPeriods(utcDay(2017, 2, 1), 28, func(int) float64 { return 10 }, func(int) float64 { return 8 })
	fit := FitStats{Method: baseline.Daily, Observations: 365, NumParameters: 2,
		RMSEAdjKWh: 3, MeanKWh: 30, VarianceKWh2: 50, ResidualAutocorr: 0.4}
	months, err := MonthlySettlement(ps, MonthlyOptions{Fit: &fit, Confidence: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	want, err := MeteredErrorBands(fit, ReportingStats{Periods: 28, MeanObservedKWh: 8}, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	want.FSUKWh *= 280.0 / (30 * 365)
	if len(months) != 1 || months[0].Bands == nil {
		t.Fatalf("months %+v", months)
	}
	if d := cmp.Diff(want, *months[0].Bands, cmpopts.EquateApprox(1e-12, 0)); d != "" {
		t.Errorf("bands (-want +got):\n%s", d)
	}
	if r := months[0].Result(); r.UncertaintyKWh != months[0].Bands.FSUKWh || r.Confidence != 0.8 {
		t.Errorf("Result uncertainty %v at %v", r.UncertaintyKWh, r.Confidence)
	}
	// An undefined band is flagged, not an error.
	fit.ResidualAutocorr = math.NaN()
	months, err = MonthlySettlement(ps, MonthlyOptions{Fit: &fit})
	if err != nil {
		t.Fatal(err)
	}
	if months[0].Bands != nil || !cmp.Equal(months[0].Flags, []Flag{FlagUncertaintyUndefined}) {
		t.Errorf("undefined band: %+v", months[0])
	}
}

// BenchmarkMonthlyStatementCustomerYear is the whole monthly statement of
// one customer-year from a fitted daily baseline: metered savings over the
// reporting year (prediction from hourly temperature), the whole-period
// error bands, and the twelve settled months with their bands.
func BenchmarkMonthlyStatementCustomerYear(b *testing.B) {
	m, u, temp := sampleModel(b, "il-electricity-cdd-hdd-daily", baseline.Daily)
	start := time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC)
	du, err := baseline.DailyUsage(u)
	if err != nil {
		b.Fatal(err)
	}
	rep, err := baseline.ReportingWindow(du, start, 365)
	if err != nil {
		b.Fatal(err)
	}
	fit, err := FitStatsOf(m)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ms, err := Metered(m, rep, temp)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := MeteredUncertainty(m, ms, DefaultConfidence); err != nil {
			b.Fatal(err)
		}
		months, err := MonthlySettlement(ms.Periods, MonthlyOptions{Fit: &fit})
		if err != nil || len(months) != 13 {
			b.Fatal(err, len(months))
		}
	}
}

// FuzzMonthlySettlement: whatever periods a caller builds, settlement
// either returns a typed error or months whose sums match the complete
// periods; it never panics.
func FuzzMonthlySettlement(f *testing.F) {
	f.Add(int64(1483228800), []byte{24, 10, 8, 48, 20, 15, 0, 5, 5})
	f.Add(int64(-62135596800), []byte{255, 1, 2, 0, 0, 0})
	f.Add(int64(1710000000), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Fuzz(func(t *testing.T, startUnix int64, data []byte) {
		at := time.Unix(startUnix%(1<<36), 0).UTC()
		var ps []MeteredPeriod
		var wantSav float64
		for i := 0; i+2 < len(data) && len(ps) < 200; i += 3 {
			// Hours may be 0 (an empty period: an error) and the start may
			// step back (overlap: an error).
			end := at.Add(time.Duration(data[i]) * 6 * time.Hour)
			cf, obs := float64(data[i+1]), float64(data[i+2])
			complete := data[i+2] != 0
			ps = append(ps, MeteredPeriod{Start: at, End: end, CounterfactualKWh: cf, ObservedKWh: obs,
				BaseLoadKWh: cf, HeatingLoadKWh: 0, CoolingLoadKWh: 0, Complete: complete})
			if complete {
				wantSav += cf - obs
			}
			at = end
			if data[i]%7 == 3 {
				at = at.Add(-time.Hour)
			}
		}
		months, err := MonthlySettlement(ps, MonthlyOptions{})
		if err != nil {
			if !errors.Is(err, ErrInvalidPeriods) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		var sav float64
		for _, m := range months {
			sav += m.SavingsKWh
		}
		if math.Abs(sav-wantSav) > 1e-6*(1+math.Abs(wantSav)) {
			t.Fatalf("months save %v, periods %v", sav, wantSav)
		}
	})
}
