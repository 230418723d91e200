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

func TestStudentTQuantile(t *testing.T) {
	// The error bands take their t quantile from package baseline; check it
	// at the levels they use against independent values: scipy.stats.t.ppf
	// and printed t tables; the closed forms for df 1 and 2 (also just
	// beside them, through the general path); the Cornish-Fisher expansion
	// for large df. scipy's own quantile is accurate to about 1e-12 (the
	// closed-form odd-df CDF, A&S 26.7.3, at scipy's t_{0.95,9} is
	// 0.95 − 2e-13), hence the tolerance.
	tests := []struct {
		p, df, want float64
	}{
		{0.95, 9, 1.8331129326536335},
		{0.975, 10, 2.2281388519649385},
		{0.95, 1 + 1e-13, 6.313751514675043}, // tan(0.45π)
		{0.95, 2 + 1e-13, 2.919985580353726}, // 0.9/sqrt(0.095)
		{0.95, 1, 6.313751514675043},
		{0.95, 2, 2.919985580353726},
		// Large df: Cornish-Fisher expansion about the normal quantile z,
		// z + (z³+z)/(4ν) + (5z⁵+16z³+3z)/(96ν²) (A&S 26.7.5).
		{0.975, 1e4, cornishFisherT(1.959963984540054, 1e4)},
		{0.95, 3000, cornishFisherT(1.6448536269514722, 3000)},
		{0.5, 7, 0},
		{0.05, 9, -1.8331129326536335},
	}
	for _, tt := range tests {
		got := baseline.StudentTQuantile(tt.p, tt.df)
		if e := relErr(got, tt.want); e > 1e-11 {
			t.Errorf("t quantile(%v, df=%v) = %.15g, want %.15g (rel err %.2g)", tt.p, tt.df, got, tt.want, e)
		}
	}
	for _, bad := range [][2]float64{{0, 5}, {1, 5}, {0.9, 0}, {0.9, -1}, {math.NaN(), 3}} {
		if got := baseline.StudentTQuantile(bad[0], bad[1]); !math.IsNaN(got) {
			t.Errorf("t quantile(%v, df=%v) = %v, want NaN", bad[0], bad[1], got)
		}
	}
}

func cornishFisherT(z, nu float64) float64 {
	z3, z5 := z*z*z, z*z*z*z*z
	return z + (z3+z)/(4*nu) + (5*z5+16*z3+3*z)/(96*nu*nu) +
		(3*z5*z*z+19*z5+17*z3-15*z)/(384*nu*nu*nu)
}

func TestStudentTQuantileInvertsCDF(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// The one-sided levels of two-sided confidence 0.5 .. 0.999.
		p := rapid.Float64Range(0.75, 0.9995).Draw(t, "p")
		df := rapid.Float64Range(1, 5000).Draw(t, "df")
		q := baseline.StudentTQuantile(p, df)
		if got := baseline.StudentTCDF(q, df); math.Abs(got-p) > 1e-12 {
			t.Fatalf("CDF(quantile(%v, %v)) = %v", p, df, got)
		}
	})
}

func TestNewFitStatsHandChecked(t *testing.T) {
	// Observed 10, 12, 11, 13 (+ a missing period), predicted 9, 10, 12, 15:
	// residuals (pred - obs) -1, -2, 1, 2.
	nan := math.NaN()
	got, err := NewFitStats(baseline.Daily,
		[]float64{10, 12, nan, 11, 13},
		[]float64{9, 10, nan, 12, 15}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// lag-1 pairs (x[i], x[i-1]): a = -2, 1, 2; b = -1, -2, 1.
	// means 1/3 and -2/3; deviations a: -7/3, 2/3, 5/3; b: -1/3, -4/3, 5/3.
	// Σab = (7 - 8 + 25)/9 = 24/9; Σa² = 78/9; Σb² = 42/9.
	want := FitStats{
		Method:           baseline.Daily,
		Observations:     4,
		NumParameters:    1,
		RMSEAdjKWh:       math.Sqrt(10.0 / 3), // (1+4+1+4)/(4-1)
		MeanKWh:          11.5,
		VarianceKWh2:     1.25, // (2.25+.25+.25+2.25)/4
		ResidualAutocorr: 24 / math.Sqrt(78*42),
	}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(1e-14, 0)); d != "" {
		t.Errorf("FitStats (-want +got):\n%s", d)
	}
}

func TestNewFitStatsErrors(t *testing.T) {
	tests := []struct {
		name      string
		method    baseline.Method
		obs, pred []float64
		params    int
	}{
		{"method", 0, []float64{1}, []float64{1}, 0},
		{"lengths", baseline.Daily, []float64{1, 2}, []float64{1}, 0},
		{"params", baseline.Billing, []float64{1}, []float64{1}, -1},
		{"inf", baseline.Daily, []float64{1, math.Inf(1)}, []float64{1, 2}, 0},
	}
	for _, tt := range tests {
		if _, err := NewFitStats(tt.method, tt.obs, tt.pred, tt.params); !errors.Is(err, ErrInvalidStats) {
			t.Errorf("%s: err = %v, want ErrInvalidStats", tt.name, err)
		}
	}
}

func TestNewReportingStats(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2017, 1, d, 6, 0, 0, 0, time.UTC) }
	nan := math.NaN()
	tests := []struct {
		name   string
		method baseline.Method
		starts []time.Time
		obs    []float64
		want   ReportingStats
	}{
		{"daily counts kept rows", baseline.Daily,
			[]time.Time{day(1), day(2), day(3), day(4)}, []float64{2, nan, 4, nan},
			ReportingStats{Periods: 2, MeanObservedKWh: 3}},
		// 75 whole days / 30 = 2.5 rounds half to even: 2.
		{"billing half to even", baseline.Billing,
			[]time.Time{day(1), day(1).AddDate(0, 0, 75).Add(23 * time.Hour)}, []float64{10, nan},
			ReportingStats{Periods: 2, MeanObservedKWh: 10}},
		// 105 days / 30 = 3.5 rounds to 4; the partial 23 h are floored away.
		{"billing 3.5", baseline.Billing,
			[]time.Time{day(1), day(1).AddDate(0, 0, 105).Add(23 * time.Hour)}, []float64{10, nan},
			ReportingStats{Periods: 4, MeanObservedKWh: 10}},
		{"billing nothing kept", baseline.Billing,
			[]time.Time{day(1), day(20)}, []float64{nan, nan},
			ReportingStats{Periods: 0, MeanObservedKWh: nan}},
	}
	for _, tt := range tests {
		got, err := NewReportingStats(tt.method, tt.starts, tt.obs)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if d := cmp.Diff(tt.want, got, cmpopts.EquateNaNs()); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
	if _, err := NewReportingStats(baseline.Daily, []time.Time{day(1)}, nil); !errors.Is(err, ErrInvalidStats) {
		t.Errorf("length mismatch: err = %v", err)
	}
}

func TestMeteredErrorBandsUndefined(t *testing.T) {
	good := FitStats{Method: baseline.Daily, Observations: 30, NumParameters: 1,
		RMSEAdjKWh: 2, MeanKWh: 20, VarianceKWh2: 9, ResidualAutocorr: 0.3}
	rep := ReportingStats{Periods: 30, MeanObservedKWh: 18}
	if _, err := MeteredErrorBands(good, rep, DefaultConfidence); err != nil {
		t.Fatalf("good input: %v", err)
	}
	mod := func(f func(*FitStats, *ReportingStats)) (FitStats, ReportingStats) {
		g, r := good, rep
		f(&g, &r)
		return g, r
	}
	for name, f := range map[string]func(*FitStats, *ReportingStats){
		"no reporting":  func(_ *FitStats, r *ReportingStats) { r.Periods = 0 },
		"autocorr nan":  func(g *FitStats, _ *ReportingStats) { g.ResidualAutocorr = math.NaN() },
		"autocorr 1":    func(g *FitStats, _ *ReportingStats) { g.ResidualAutocorr = 1 },
		"autocorr -1":   func(g *FitStats, _ *ReportingStats) { g.ResidualAutocorr = -1 },
		"no obs":        func(g *FitStats, _ *ReportingStats) { g.Observations = 0 },
		"zero mean":     func(g *FitStats, _ *ReportingStats) { g.MeanKWh = 0 },
		"zero variance": func(g *FitStats, _ *ReportingStats) { g.VarianceKWh2 = 0 },
		"no dof":        func(g *FitStats, _ *ReportingStats) { g.Observations = 1 },
	} {
		g, r := mod(f)
		if _, err := MeteredErrorBands(g, r, DefaultConfidence); !errors.Is(err, ErrUncertaintyUndefined) {
			t.Errorf("%s: err = %v, want ErrUncertaintyUndefined", name, err)
		}
	}
	for _, c := range []float64{0, 1, -0.5, 1.5, math.NaN()} {
		if _, err := MeteredErrorBands(good, rep, c); !errors.Is(err, ErrConfidence) {
			t.Errorf("confidence %v: err = %v, want ErrConfidence", c, err)
		}
	}
}

func TestMeteredErrorBandsHandChecked(t *testing.T) {
	// Billing, 11 baseline bills, 2 regressors: t = t_{0.95, 9}
	// = 1.8331129326536335. ρ = 0.2 → n' = 11·0.8/1.2 = 22/3.
	fit := FitStats{Method: baseline.Billing, Observations: 11, NumParameters: 2,
		RMSEAdjKWh: 30, MeanKWh: 800, VarianceKWh2: 40000, ResidualAutocorr: 0.2}
	rep := ReportingStats{Periods: 12, MeanObservedKWh: 700}
	got, err := MeteredErrorBands(fit, rep, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	const tq = 1.8331129326562368 // exact to 1 ulp by A&S 26.7.3
	nPrime := 22.0 / 3
	model := tq * 30 * 12 / math.Sqrt(11) * math.Sqrt(1+100.0*100/40000)
	noise := tq * 30 * math.Sqrt(12*11/nPrime)
	poly := -0.00022*144 + 0.03306*12 + 0.94054
	fsu := 800 * 11 * tq * poly * (30.0 / 800) * math.Sqrt(11/nPrime*(1+2/nPrime)/12)
	want := ErrorBands{Confidence: 0.9, TStat: tq, FSUKWh: fsu,
		OLSKWh: math.Hypot(model, noise), OLSModelKWh: model, OLSNoiseKWh: noise}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(1e-12, 0)); d != "" {
		t.Errorf("bands (-want +got):\n%s", d)
	}
}

// drawFit draws plausible fit statistics from synthetic residuals.
func drawFit(t *rapid.T) (FitStats, ReportingStats) {
	fit, rep, _ := drawFitScaled(t, 1)
	return fit, rep
}

// drawFitScaled draws baseline totals and a reporting period and returns
// their statistics with every energy value multiplied by k, plus the
// method drawn.
func drawFitScaled(t *rapid.T, k float64) (FitStats, ReportingStats, baseline.Method) {
	method := rapid.SampledFrom([]baseline.Method{baseline.Daily, baseline.Billing}).Draw(t, "method")
	n := rapid.IntRange(8, 400).Draw(t, "n")
	obs := rapid.SliceOfN(rapid.Float64Range(1, 100), n, n).Draw(t, "obs")
	res := rapid.SliceOfN(rapid.Float64Range(-10, 10), n, n).Draw(t, "res")
	pred := make([]float64, n)
	for i := range n {
		pred[i] = k * (obs[i] + res[i])
		obs[i] *= k
	}
	fit, err := NewFitStats(method, obs, pred, rapid.IntRange(0, 2).Draw(t, "params"))
	if err != nil {
		t.Fatal(err)
	}
	// Up to two years of reporting: the CalTRACK FSU polynomial is fitted
	// for that range (its quadratic term turns it negative near 160
	// billing months, as it does in eemeter).
	maxPost := 730
	if method == baseline.Billing {
		maxPost = 24
	}
	rep := ReportingStats{
		Periods:         float64(rapid.IntRange(1, maxPost).Draw(t, "post")),
		MeanObservedKWh: k * rapid.Float64Range(1, 100).Draw(t, "postAvg"),
	}
	return fit, rep, method
}

// TestErrorBandsScaleWithUsage: multiplying every baseline and reporting
// usage by k multiplies every band by k (ρ, n and t are unchanged).
func TestErrorBandsScaleWithUsage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.Float64Range(0.01, 1000).Draw(t, "k")
		seed := rapid.Int64().Draw(t, "seed")
		// The same draws twice: once as drawn, once scaled by k.
		draw := func(scale float64) (FitStats, ReportingStats) {
			var fit FitStats
			var rep ReportingStats
			rapid.Custom(func(t *rapid.T) int {
				fit, rep, _ = drawFitScaled(t, scale)
				return 0
			}).Example(int(seed % 1000))
			return fit, rep
		}
		fit1, rep1 := draw(1)
		fitK, repK := draw(k)
		if fitK.Observations != fit1.Observations || relErr(fitK.MeanKWh, k*fit1.MeanKWh) > 1e-12 ||
			relErr(fitK.VarianceKWh2, k*k*fit1.VarianceKWh2) > 1e-9 || relErr(fitK.RMSEAdjKWh, k*fit1.RMSEAdjKWh) > 1e-9 {
			t.Fatalf("statistics did not scale: %+v → %+v", fit1, fitK)
		}
		b1, err := MeteredErrorBands(fit1, rep1, DefaultConfidence)
		if errors.Is(err, ErrUncertaintyUndefined) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		b2, err := MeteredErrorBands(fitK, repK, DefaultConfidence)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range [][2]float64{{b1.FSUKWh, b2.FSUKWh}, {b1.OLSKWh, b2.OLSKWh},
			{b1.OLSModelKWh, b2.OLSModelKWh}, {b1.OLSNoiseKWh, b2.OLSNoiseKWh}} {
			if relErr(p[1], k*p[0]) > 1e-9 {
				t.Fatalf("band %v scaled by %v became %v", p[0], k, p[1])
			}
		}
	})
}

func TestErrorBandsWidenWithConfidence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fit, rep := drawFit(t)
		c1 := rapid.Float64Range(0.5, 0.98).Draw(t, "c1")
		c2 := rapid.Float64Range(c1+0.001, 0.999).Draw(t, "c2")
		b1, err := MeteredErrorBands(fit, rep, c1)
		if errors.Is(err, ErrUncertaintyUndefined) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		b2, err := MeteredErrorBands(fit, rep, c2)
		if err != nil {
			t.Fatal(err)
		}
		if !(b2.FSUKWh > b1.FSUKWh && b2.OLSKWh > b1.OLSKWh) {
			t.Fatalf("confidence %v → %v shrank bands: %+v → %+v", c1, c2, b1, b2)
		}
		if b1.OLSKWh < b1.OLSModelKWh || b1.OLSKWh < b1.OLSNoiseKWh {
			t.Fatalf("total OLS band below a part: %+v", b1)
		}
	})
}

func TestModeledSavingsErrorBands(t *testing.T) {
	base := FitStats{Method: baseline.Daily, Observations: 365, NumParameters: 2,
		RMSEAdjKWh: 5, MeanKWh: 30, VarianceKWh2: 60, ResidualAutocorr: 0.4}
	rep := FitStats{Method: baseline.Billing, Observations: 12, NumParameters: 1,
		RMSEAdjKWh: 40, MeanKWh: 800, VarianceKWh2: 9000, ResidualAutocorr: -0.1}
	got, err := ModeledSavingsErrorBands(base, rep, 365, 12, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	// Each part equals the metered FSU band of that model over the same
	// number of periods (the FSU band does not use the reporting mean).
	mb, err := MeteredErrorBands(base, ReportingStats{Periods: 365, MeanObservedKWh: 1}, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	mr, err := MeteredErrorBands(rep, ReportingStats{Periods: 12, MeanObservedKWh: 1}, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	want := ModeledErrorBands{Confidence: 0.9, FSUBaselineKWh: mb.FSUKWh, FSUReportingKWh: mr.FSUKWh,
		FSUKWh: math.Hypot(mb.FSUKWh, mr.FSUKWh)}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(1e-14, 0)); d != "" {
		t.Errorf("modeled bands (-want +got):\n%s", d)
	}
	rep.ResidualAutocorr = math.NaN()
	if _, err := ModeledSavingsErrorBands(base, rep, 365, 12, 0.9); !errors.Is(err, ErrUncertaintyUndefined) {
		t.Errorf("undefined reporting autocorr: err = %v", err)
	}
}

func BenchmarkMeteredErrorBands(b *testing.B) {
	g := readGolden(b)
	fit := goldenFitStats(b, g, "il-electricity-cdd-hdd-daily")
	rep := goldenReportingStats(b, fit.Method, "il-electricity-cdd-hdd-daily")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MeteredErrorBands(fit, rep, DefaultConfidence); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewFitStatsDaily(b *testing.B) {
	obs := make([]float64, 365)
	pred := make([]float64, 365)
	for i := range obs {
		obs[i] = 20 + float64(i%17)
		pred[i] = 21 + float64(i%13)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewFitStats(baseline.Daily, obs, pred, 2); err != nil {
			b.Fatal(err)
		}
	}
}
