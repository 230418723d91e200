package baseline

import (
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"
)

type goldenVariant struct {
	ModelType           string                    `json:"model_type"`
	HeatingBalancePoint *int                      `json:"heating_balance_point"`
	CoolingBalancePoint *int                      `json:"cooling_balance_point"`
	Intercept           float64                   `json:"intercept"`
	BetaHDD             *float64                  `json:"beta_hdd"`
	BetaCDD             *float64                  `json:"beta_cdd"`
	RSquaredAdj         float64                   `json:"r_squared_adj"`
	CVRMSEAdj           float64                   `json:"cvrmse_adj"`
	NMBE                float64                   `json:"nmbe"`
	CandidateCounts     map[string]map[string]int `json:"candidate_counts"`
	FitKwargs           map[string]any            `json:"fit_kwargs"`
	Savings             struct {
		Total          float64 `json:"total_metered_savings"`
		Counterfactual float64 `json:"counterfactual_total"`
		Observed       float64 `json:"reporting_observed_total"`
		NPeriods       int     `json:"n_periods_used"`
		Percent        float64 `json:"percent_savings"`
	} `json:"savings"`
}

type goldenSample struct {
	Method      string `json:"method"`
	Sufficiency struct {
		Status   string   `json:"status"`
		Warnings []string `json:"warnings"`
	} `json:"sufficiency"`
	Variants map[string]goldenVariant `json:"variants"`
}

func readGolden(t testing.TB) map[string]goldenSample {
	t.Helper()
	b, err := os.ReadFile(goldenPath(t, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Samples map[string]goldenSample `json:"samples"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g.Samples
}

func variantOptions(method string, v goldenVariant) Options {
	o := DailyOptions()
	if method == "caltrack_billing" {
		o = BillingOptions()
	}
	if fc, ok := v.FitKwargs["fit_cdd"].(bool); ok {
		o.FitCDD = fc
	}
	if p, ok := v.FitKwargs["beta_hdd_maximum_p_value"].(float64); ok {
		o.BetaHDDMaxPValue = p
	}
	if p, ok := v.FitKwargs["beta_cdd_maximum_p_value"].(float64); ok {
		o.BetaCDDMaxPValue = p
	}
	return o
}

func fitSample(t testing.TB, sample string, o Options) *FitResult {
	t.Helper()
	u, tp := loadSample(t, sample)
	res, err := FitBaseline(u, tp, sampleEnd, 365, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func checkRel(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if rd := relDiff(got, want); rd > tol || math.IsNaN(got) != math.IsNaN(want) {
		t.Errorf("%s = %.17g, want %.17g (rel diff %.3g)", what, got, want, rd)
	}
}

// TestGoldenModels compares the selected model, metrics, candidate counts
// and sufficiency with eemeter 2.10.11's outputs (golden.json), for both
// variants (primary: eemeter defaults; pmax_0.1: beta p-value screen).
func TestGoldenModels(t *testing.T) {
	for sample, gs := range readGolden(t) {
		for vname, gv := range gs.Variants {
			t.Run(sample+"/"+vname, func(t *testing.T) {
				o := variantOptions(gs.Method, gv)
				if o.Method.String() != gs.Method {
					t.Fatalf("method %v, want %s", o.Method, gs.Method)
				}
				res := fitSample(t, sample, o)
				m := res.Model
				if m.Type.String() != gv.ModelType {
					t.Fatalf("model type %v, want %s", m.Type, gv.ModelType)
				}
				if gv.HeatingBalancePoint != nil && m.HeatingBalancePointF != *gv.HeatingBalancePoint {
					t.Errorf("heating bp %d, want %d", m.HeatingBalancePointF, *gv.HeatingBalancePoint)
				}
				if gv.CoolingBalancePoint != nil && m.CoolingBalancePointF != *gv.CoolingBalancePoint {
					t.Errorf("cooling bp %d, want %d", m.CoolingBalancePointF, *gv.CoolingBalancePoint)
				}
				checkRel(t, "intercept", m.Intercept, gv.Intercept, 1e-9)
				if gv.BetaHDD != nil {
					checkRel(t, "beta_hdd", m.BetaHDD, *gv.BetaHDD, 1e-9)
				}
				if gv.BetaCDD != nil {
					checkRel(t, "beta_cdd", m.BetaCDD, *gv.BetaCDD, 1e-9)
				}
				checkRel(t, "r_squared_adj", m.RSquaredAdj, gv.RSquaredAdj, 1e-9)
				checkRel(t, "cvrmse_adj", m.AvgsMetrics.CVRMSEAdj, gv.CVRMSEAdj, 1e-9)
				if math.Abs(gv.NMBE) > 1e-12 {
					checkRel(t, "nmbe", m.AvgsMetrics.NMBE, gv.NMBE, 1e-9)
				} else if math.Abs(m.AvgsMetrics.NMBE) > 1e-12 {
					t.Errorf("nmbe = %g, want ~%g", m.AvgsMetrics.NMBE, gv.NMBE)
				}
				for typ, counts := range gv.CandidateCounts {
					mt, _ := ParseModelType(typ)
					for st, want := range counts {
						var s Status
						switch st {
						case "QUALIFIED":
							s = Qualified
						case "DISQUALIFIED":
							s = Disqualified
						case "NOT ATTEMPTED":
							s = NotAttempted
						}
						if got := res.Counts.ByType[mt][s]; got != want {
							t.Errorf("%s %s: %d candidates, want %d", typ, st, got, want)
						}
					}
				}
				if string(res.Sufficiency.Status) != gs.Sufficiency.Status {
					t.Errorf("sufficiency %s, want %s (%v)", res.Sufficiency.Status, gs.Sufficiency.Status, res.Sufficiency.WarningNames())
				}
				if got := res.Sufficiency.WarningNames(); !equalStrings(got, gs.Sufficiency.Warnings) {
					t.Errorf("sufficiency warnings %v, want %v", got, gs.Sufficiency.Warnings)
				}
			})
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGoldenCandidates compares every candidate eemeter tried (status,
// balance points, coefficients, adjusted R², beta p-values) with ours, for
// eemeter's defaults and, deriving eemeter's statuses from its p-values,
// for the 0.1 p-value screen.
func TestGoldenCandidates(t *testing.T) {
	for _, sample := range []string{"il-electricity-cdd-hdd-daily", "il-electricity-cdd-hdd-billing_monthly"} {
		for _, pmax := range []float64{1, 0.1} {
			t.Run(sample+"/pmax"+fmtF(pmax), func(t *testing.T) {
				o := DailyOptions()
				if sample != "il-electricity-cdd-hdd-daily" {
					o = BillingOptions()
				}
				o.BetaCDDMaxPValue, o.BetaHDDMaxPValue = pmax, pmax
				res := fitSample(t, sample, o)
				hdr, recs := readGoldenCSV(t, sample+"__primary__candidates.csv.gz")
				cands := res.Candidates()
				if len(recs) != len(cands) {
					t.Fatalf("%d candidates, want %d", len(cands), len(recs))
				}
				worst := 0.0
				for i, rec := range recs {
					c := &cands[i]
					col := func(n string) float64 { return gf(rec[hdr[n]]) }
					status := rec[hdr["status"]]
					if pmax < 1 && status == "QUALIFIED" && (col("p_beta_hdd") > pmax || col("p_beta_cdd") > pmax) {
						status = "DISQUALIFIED"
					}
					if c.Type.String() != rec[hdr["model_type"]] || c.Status.String() != status {
						t.Errorf("candidate %d: %v %v, want %s %s", i, c.Type, c.Status, rec[hdr["model_type"]], status)
						continue
					}
					if c.Status == NotAttempted {
						continue
					}
					if c.Type.HasHDD() && float64(c.HeatingBalancePointF) != col("heating_balance_point") ||
						c.Type.HasCDD() && float64(c.CoolingBalancePointF) != col("cooling_balance_point") {
						t.Errorf("candidate %d: bps %d/%d, want %s/%s", i, c.HeatingBalancePointF, c.CoolingBalancePointF,
							rec[hdr["heating_balance_point"]], rec[hdr["cooling_balance_point"]])
					}
					if c.Status == NotAttempted {
						continue
					}
					for _, f := range []struct {
						name      string
						got, want float64
					}{
						{"intercept", c.Intercept, col("intercept")},
						{"beta_hdd", c.BetaHDD, col("beta_hdd")},
						{"beta_cdd", c.BetaCDD, col("beta_cdd")},
						{"r_squared_adj", c.RSquaredAdj, col("r_squared_adj")},
						{"p_beta_hdd", c.PValueHDD(), col("p_beta_hdd")},
						{"p_beta_cdd", c.PValueCDD(), col("p_beta_cdd")},
					} {
						if math.IsNaN(f.want) {
							continue
						}
						rd := relDiff(f.got, f.want)
						if f.name == "r_squared_adj" || f.name == "intercept" || f.name[:4] == "beta" {
							worst = math.Max(worst, rd)
						}
						if rd > 1e-6 {
							t.Errorf("candidate %d (%v %d/%d) %s = %.17g, want %.17g", i, c.Type,
								c.HeatingBalancePointF, c.CoolingBalancePointF, f.name, f.got, f.want)
						}
					}
				}
				t.Logf("worst relative difference in coefficients and adjusted R²: %.3g", worst)
			})
		}
	}
}

func fmtF(f float64) string { b, _ := json.Marshal(f); return string(b) }

var _ = time.Now

// TestGoldenMetricsReproduceErrorBands checks the totals metrics the
// savings error bands are built from (rmse_adj, observed mean and
// variance, residual autocorrelation, n) by recomputing eemeter's OLS and
// FSU error bands (derivatives.py, 90 % confidence) and comparing them with
// golden.json.
func TestGoldenMetricsReproduceErrorBands(t *testing.T) {
	var bands map[string]map[string]float64
	b, err := os.ReadFile(goldenPath(t, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Samples map[string]struct {
			Variants map[string]struct {
				Savings struct {
					Observed float64            `json:"reporting_observed_total"`
					Bands    map[string]float64 `json:"error_bands"`
				} `json:"savings"`
			} `json:"variants"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	bands = map[string]map[string]float64{}
	for s, v := range g.Samples {
		bands[s] = v.Variants["primary"].Savings.Bands
		bands[s]["observed"] = v.Variants["primary"].Savings.Observed
	}
	for _, s := range []string{"il-electricity-cdd-hdd-daily", "il-electricity-cdd-hdd-billing_monthly"} {
		t.Run(s, func(t *testing.T) {
			daily := s == "il-electricity-cdd-hdd-daily"
			o := DailyOptions()
			if !daily {
				o = BillingOptions()
			}
			m := fitSample(t, s, o).Model.TotalsMetrics
			hdr, all := readGoldenCSV(t, s+"__primary__reporting_savings.csv.gz")
			var recs [][]string // eemeter drops rows with any NaN
			for _, r := range all {
				if !math.IsNaN(gf(r[hdr["reporting_observed"]])) && !math.IsNaN(gf(r[hdr["counterfactual_usage"]])) {
					recs = append(recs, r)
				}
			}
			nPost := float64(len(recs))
			postObs, months := nPost, nPost/30
			a, bb, c := -0.00024, 0.03535, 1.00286
			if !daily {
				// eemeter: round((results.index[-1] - results.index[0]).days / 30)
				// over all reporting rows, end marker included
				span := gt(t, all[len(all)-1][hdr["start"]]).Sub(gt(t, all[0][hdr["start"]]))
				postObs = math.RoundToEven(float64(pyDays(span)) / 30)
				months = postObs
				a, bb, c = -0.00022, 0.03306, 0.94054
			}
			postAvg := bands[s]["observed"] / nPost
			baseObs := float64(m.N)
			ts := StudentTQuantile(0.95, baseObs-float64(m.NumParameters))
			rho := m.AutocorrResid
			np := baseObs * (1 - rho) / (1 + rho)
			model := ts * m.RMSEAdj * postObs / math.Sqrt(baseObs) * math.Sqrt(1+math.Pow(m.ObservedMean-postAvg, 2)/m.ObservedVariance)
			noise := ts * m.RMSEAdj * math.Sqrt(postObs*baseObs/np)
			fsu := m.ObservedMean * baseObs * ts * (a*months*months + bb*months + c) * (m.RMSEAdj / m.ObservedMean) *
				math.Sqrt(baseObs/np*(1+2/np)/postObs)
			checkRel(t, "OLS Error Band", math.Hypot(model, noise), bands[s]["OLS Error Band"], 1e-9)
			checkRel(t, "OLS Error Band: Model Error", model, bands[s]["OLS Error Band: Model Error"], 1e-9)
			checkRel(t, "OLS Error Band: Noise", noise, bands[s]["OLS Error Band: Noise"], 1e-9)
			checkRel(t, "FSU Error Band", fsu, bands[s]["FSU Error Band"], 1e-9)
		})
	}
}
