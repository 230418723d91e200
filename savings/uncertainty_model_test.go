package savings

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/negawatt/negawatt/baseline"
)

func openGz(t testing.TB, path string) *gzip.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

// sampleModel fits an eemeter sample the way the golden was produced
// (baseline ending 2016-12-26, 365 days, eemeter defaults; fit_cdd=False
// for gas, CalTRACK 3.4.3.1).
func sampleModel(t testing.TB, sample string, method baseline.Method) (*baseline.Model, *baseline.Usage, *baseline.Temperature) {
	t.Helper()
	u, err := baseline.ReadUsageCSV(openGz(t, "../testdata/eemeter/"+sample+".csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	temp, err := baseline.ReadTemperatureCSV(openGz(t, "../testdata/eemeter/il-tempF.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2016, 12, 26, 0, 0, 0, 0, time.UTC)
	o := baseline.OptionsFor(method)
	o.FitCDD = !strings.Contains(sample, "-gas-")
	res, err := baseline.FitBaseline(u, temp, end, 365, o)
	if err != nil {
		t.Fatal(err)
	}
	return res.Model, u, temp
}

// TestFitStatsOfModelGolden fits the golden samples with package baseline
// and checks the fit statistics against those derived from eemeter's own
// design matrix and coefficients, and against the model's totals metrics.
func TestFitStatsOfModelGolden(t *testing.T) {
	g := readGolden(t)
	for _, tc := range []struct {
		sample string
		method baseline.Method
	}{
		{"il-electricity-cdd-hdd-daily", baseline.Daily},
		{"il-electricity-cdd-hdd-billing_monthly", baseline.Billing},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			m, _, _ := sampleModel(t, tc.sample, tc.method)
			got, err := FitStatsOf(m)
			if err != nil {
				t.Fatal(err)
			}
			want := goldenFitStats(t, g, tc.sample)
			if d := cmp.Diff(want, got, cmpopts.EquateApprox(1e-9, 0)); d != "" {
				t.Errorf("FitStats (-golden +model):\n%s", d)
			}
			// The same statistics recomputed from the model's baseline rows.
			rows := m.Baseline()
			obs := make([]float64, len(rows))
			pred := make([]float64, len(rows))
			for i, r := range rows {
				obs[i] = r.UsagePerDay * r.Days
				pred[i] = m.Intercept*r.Days + r.HDDPerDay*m.BetaHDD*r.Days + r.CDDPerDay*m.BetaCDD*r.Days
			}
			fromRows, err := NewFitStats(m.Method, obs, pred, got.NumParameters)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(fromRows, got, cmpopts.EquateApprox(1e-9, 0)); d != "" {
				t.Errorf("FitStats (-from rows +model):\n%s", d)
			}
			// A model decoded from JSON gives the same statistics.
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var m2 baseline.Model
			if err := json.Unmarshal(b, &m2); err != nil {
				t.Fatal(err)
			}
			got2, err := FitStatsOf(&m2)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(got, got2); d != "" {
				t.Errorf("after JSON round trip (-before +after):\n%s", d)
			}
		})
	}
	if _, err := FitStatsOf(nil); !errors.Is(err, ErrInvalidStats) {
		t.Errorf("nil model: err = %v", err)
	}
	if _, err := FitStatsOf(&baseline.Model{Method: baseline.Daily}); !errors.Is(err, ErrInvalidStats) {
		t.Errorf("no metrics: err = %v", err)
	}
	if _, err := FitStatsOf(&baseline.Model{TotalsMetrics: baseline.Metrics{N: 10}}); !errors.Is(err, ErrInvalidStats) {
		t.Errorf("no method: err = %v", err)
	}
}

// TestMeteredUncertaintyGolden runs the whole pipeline on the golden
// samples — package baseline's fit, Metered over eemeter's reporting
// window, MeteredUncertainty — and compares the four bands with eemeter's.
func TestMeteredUncertaintyGolden(t *testing.T) {
	g := readGolden(t)
	start := time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		sample string
		method baseline.Method
	}{
		{"il-electricity-cdd-hdd-daily", baseline.Daily},
		{"il-electricity-cdd-hdd-billing_monthly", baseline.Billing},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			m, u, temp := sampleModel(t, tc.sample, tc.method)
			ms, err := MeteredWindow(m, u, temp, start, 365)
			if err != nil {
				t.Fatal(err)
			}
			got, err := MeteredUncertainty(m, ms, DefaultConfidence)
			if err != nil {
				t.Fatal(err)
			}
			want := g.Samples[tc.sample].Variants["primary"].Savings.ErrorBands
			for name, v := range map[string]float64{
				"FSU Error Band": got.FSUKWh, "OLS Error Band": got.OLSKWh,
				"OLS Error Band: Model Error": got.OLSModelKWh, "OLS Error Band: Noise": got.OLSNoiseKWh,
			} {
				if e := relErr(v, want[name]); e > 1e-6 {
					t.Errorf("%s = %.12g, eemeter %.12g (rel err %.2g)", name, v, want[name], e)
				}
			}
		})
	}
	if _, err := ReportingStatsOf(baseline.Daily, nil); !errors.Is(err, ErrInvalidStats) {
		t.Errorf("nil savings: err = %v", err)
	}
}

// TestCounterfactualLoadsGolden compares the load split of Metered's
// counterfactual with eemeter's disaggregated reporting rows.
func TestCounterfactualLoadsGolden(t *testing.T) {
	start := time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		sample string
		method baseline.Method
	}{
		{"il-electricity-cdd-hdd-daily", baseline.Daily},
		{"il-electricity-cdd-hdd-billing_monthly", baseline.Billing},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			m, u, temp := sampleModel(t, tc.sample, tc.method)
			ms, err := MeteredWindow(m, u, temp, start, 365)
			if err != nil {
				t.Fatal(err)
			}
			rs := readCSVGz(t, tc.sample+"__primary__reporting_savings.csv.gz")
			var want LoadSplit
			for i := range rs.starts {
				if b := rs.cols["counterfactual_base_load"][i]; !math.IsNaN(b) {
					want.add(LoadSplit{b, rs.cols["counterfactual_heating_load"][i], rs.cols["counterfactual_cooling_load"][i]})
				}
			}
			got := CounterfactualLoads(ms)
			if d := cmp.Diff(want, got, cmpopts.EquateApprox(1e-9, 0)); d != "" {
				t.Errorf("loads (-eemeter +got):\n%s", d)
			}
			if relErr(got.BaseKWh+got.HeatingKWh+got.CoolingKWh, ms.CounterfactualKWh) > 1e-12 {
				t.Errorf("loads %+v do not add up to %v", got, ms.CounterfactualKWh)
			}
		})
	}
	if (CounterfactualLoads(nil) != LoadSplit{}) {
		t.Error("nil savings has loads")
	}
}

// TestMeteredUncertaintyAllSamples: every eemeter daily and billing sample
// gets defined, consistent bands (eemeter's numbers for the samples other
// than the two goldens are checked outside this repository).
func TestMeteredUncertaintyAllSamples(t *testing.T) {
	start := time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC)
	for _, kind := range []string{"electricity-cdd-hdd", "electricity-cdd-only", "gas-hdd-only", "gas-intercept-only"} {
		for _, freq := range []string{"daily", "billing_monthly", "billing_bimonthly"} {
			sample := "il-" + kind + "-" + freq
			t.Run(sample, func(t *testing.T) {
				method := baseline.Billing
				if freq == "daily" {
					method = baseline.Daily
				}
				m, u, temp := sampleModel(t, sample, method)
				ms, err := MeteredWindow(m, u, temp, start, 365)
				if err != nil {
					t.Fatal(err)
				}
				b, err := MeteredUncertainty(m, ms, DefaultConfidence)
				if err != nil {
					t.Fatal(err)
				}
				if !(b.FSUKWh > 0 && b.OLSModelKWh > 0 && b.OLSNoiseKWh > 0) ||
					relErr(b.OLSKWh, math.Hypot(b.OLSModelKWh, b.OLSNoiseKWh)) > 1e-15 {
					t.Errorf("bands %+v", b)
				}
				wider, err := MeteredUncertainty(m, ms, 0.95)
				if err != nil || !(wider.FSUKWh > b.FSUKWh && wider.OLSKWh > b.OLSKWh) {
					t.Errorf("95 %% bands %+v (err %v) not wider than 90 %% %+v", wider, err, b)
				}
				t.Logf("%v %v: savings %.1f, FSU ± %.2f, OLS ± %.2f", m.Method, m.Type, ms.SavingsKWh, b.FSUKWh, b.OLSKWh)
			})
		}
	}
}

func TestMeteredResult(t *testing.T) {
	d := func(day int) time.Time { return time.Date(2017, 1, day, 0, 0, 0, 0, time.UTC) }
	nan := math.NaN()
	s := &MeteredSavings{
		Periods: []MeteredPeriod{
			{Start: d(1), End: d(2), CounterfactualKWh: 10, ObservedKWh: 8, SavingsKWh: 2, Complete: true},
			{Start: d(2), End: d(3), CounterfactualKWh: 10, ObservedKWh: nan, SavingsKWh: nan},
			{Start: d(3), End: d(4), CounterfactualKWh: 10, ObservedKWh: 7, SavingsKWh: 3, Complete: true},
			{Start: d(4), CounterfactualKWh: nan, ObservedKWh: nan, SavingsKWh: nan},
		},
		NPeriods: 2, CounterfactualKWh: 20, ObservedKWh: 15, SavingsKWh: 5, PercentSavings: 25,
		Start: d(1), End: d(4),
	}
	bands := &ErrorBands{Confidence: 0.9, FSUKWh: 1.5, OLSKWh: 2}
	want := Result{Kind: KindPeriod, ID: "2017-q1", Start: d(1), End: d(4), BaselineKWh: 20, ObservedKWh: 15,
		SavingsKWh: 5, PercentSavings: 25, UncertaintyKWh: 1.5, Confidence: 0.9, Flags: []Flag{FlagMissingData}}
	if diff := cmp.Diff(want, MeteredResult("2017-q1", s, bands)); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	// Only the end marker incomplete: no flag; no bands: no uncertainty.
	s.Periods[1] = MeteredPeriod{Start: d(2), End: d(3), Complete: true}
	if r := MeteredResult("x", s, nil); len(r.Flags) != 0 || r.UncertaintyKWh != 0 || r.Confidence != 0 {
		t.Errorf("complete periods: %+v", r)
	}
	if r := MeteredResult("x", nil, nil); !cmp.Equal(r.Flags, []Flag{FlagNoData}) {
		t.Errorf("nil savings: %+v", r)
	}
}
