package baseline

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/samples.golden.json from the current code")

// snapshot is negawatt's result on one sample and variant.
type snapshot struct {
	Sample, Variant                          string
	ModelType                                string
	HeatingBP, CoolingBP                     int
	Intercept, BetaHDD, BetaCDD, RSquaredAdj float64
	CVRMSEAdj, NMBE                          float64
	N                                        int
	Qualified, Disqualified, NotAttempted    int
	Sufficiency                              string
	Warnings                                 []string
	ReportingCounterfactual                  float64
	ReportingPeriods                         int
}

var allSampleNames = []string{
	"il-electricity-cdd-hdd-daily", "il-electricity-cdd-hdd-billing_monthly", "il-electricity-cdd-hdd-billing_bimonthly",
	"il-electricity-cdd-only-daily", "il-electricity-cdd-only-billing_monthly", "il-electricity-cdd-only-billing_bimonthly",
	"il-gas-hdd-only-daily", "il-gas-hdd-only-billing_monthly", "il-gas-hdd-only-billing_bimonthly",
	"il-gas-intercept-only-daily", "il-gas-intercept-only-billing_monthly", "il-gas-intercept-only-billing_bimonthly",
}

func takeSnapshots(t *testing.T) []snapshot {
	var out []snapshot
	for _, s := range allSampleNames {
		for _, v := range []string{"primary", "pmax_0.1"} {
			o := DailyOptions()
			if !strings.HasSuffix(s, "daily") {
				o = BillingOptions()
			}
			o.FitCDD = !strings.Contains(s, "-gas-") // CalTRACK 3.4.3.1, as eemeter's golden runs
			if v == "pmax_0.1" {
				o.BetaHDDMaxPValue, o.BetaCDDMaxPValue = 0.1, 0.1
			}
			res := fitSample(t, s, o)
			m := res.Model
			u, tp := loadSample(t, s)
			if o.Method == Daily {
				u, _ = DailyUsage(u)
			}
			rep, err := ReportingWindow(u, sampleRepStart, 365)
			if err != nil {
				t.Fatal(err)
			}
			pred, err := m.Predict(rep, tp)
			if err != nil {
				t.Fatal(err)
			}
			var cf float64
			np := 0
			for i, p := range pred {
				if !math.IsNaN(p.Predicted) && !math.IsNaN(rep.At(i).Value) {
					cf += p.Predicted
					np++
				}
			}
			out = append(out, snapshot{s, v, m.Type.String(), m.HeatingBalancePointF, m.CoolingBalancePointF,
				m.Intercept, m.BetaHDD, m.BetaCDD, m.RSquaredAdj, m.AvgsMetrics.CVRMSEAdj, m.AvgsMetrics.NMBE, m.N,
				res.Counts.Qualified, res.Counts.Disqualified, res.Counts.NotAttempted,
				string(res.Sufficiency.Status), res.Sufficiency.WarningNames(), cf, np})
		}
	}
	return out
}

// TestSamplesSnapshot guards against regressions on all 12 eemeter
// samples. Unlike the eemeter goldens this file holds negawatt's own
// results (checked against eemeter where eemeter's outputs exist); rewrite
// it with -update after an intended change and review the diff.
func TestSamplesSnapshot(t *testing.T) {
	got := takeSnapshots(t)
	const path = "testdata/samples.golden.json"
	if *update {
		b, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	var want []snapshot
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d snapshots, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		id := w.Sample + "/" + w.Variant
		if w.ModelType != g.ModelType || w.HeatingBP != g.HeatingBP || w.CoolingBP != g.CoolingBP || w.N != g.N ||
			w.Qualified != g.Qualified || w.Disqualified != g.Disqualified || w.NotAttempted != g.NotAttempted ||
			w.Sufficiency != g.Sufficiency || !equalStrings(w.Warnings, g.Warnings) || w.ReportingPeriods != g.ReportingPeriods {
			t.Errorf("%s changed:\n got %+v\nwant %+v", id, g, w)
			continue
		}
		for _, f := range [][3]any{{"intercept", g.Intercept, w.Intercept}, {"beta_hdd", g.BetaHDD, w.BetaHDD},
			{"beta_cdd", g.BetaCDD, w.BetaCDD}, {"r_squared_adj", g.RSquaredAdj, w.RSquaredAdj},
			{"cvrmse_adj", g.CVRMSEAdj, w.CVRMSEAdj}, {"counterfactual", g.ReportingCounterfactual, w.ReportingCounterfactual}} {
			if relDiff(f[1].(float64), f[2].(float64)) > 1e-9 {
				t.Errorf("%s %s = %.17g, want %.17g", id, f[0], f[1], f[2])
			}
		}
	}
}
