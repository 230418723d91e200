package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const (
	sampleDir = "../../testdata/eemeter/"
	tempFile  = sampleDir + "il-tempF.csv.gz"
	goldenDir = "../../baseline/testdata/eemeter-golden/"
)

var allSamples = []string{
	"il-electricity-cdd-hdd-daily", "il-electricity-cdd-hdd-billing_monthly", "il-electricity-cdd-hdd-billing_bimonthly",
	"il-electricity-cdd-only-daily", "il-electricity-cdd-only-billing_monthly", "il-electricity-cdd-only-billing_bimonthly",
	"il-gas-hdd-only-daily", "il-gas-hdd-only-billing_monthly", "il-gas-hdd-only-billing_bimonthly",
	"il-gas-intercept-only-daily", "il-gas-intercept-only-billing_monthly", "il-gas-intercept-only-billing_bimonthly",
}

func methodOf(sample string) string {
	if strings.HasSuffix(sample, "daily") {
		return "daily"
	}
	return "billing"
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func rel(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// TestBaselineFitGolden runs the CLI on the two samples with eemeter
// golden outputs, both variants, and compares within 1e-6 relative.
func TestBaselineFitGolden(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(goldenDir + "golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Samples map[string]struct {
			Variants map[string]struct {
				FitKwargs   map[string]any `json:"fit_kwargs"`
				ModelType   string         `json:"model_type"`
				HBP         *int           `json:"heating_balance_point"`
				CBP         *int           `json:"cooling_balance_point"`
				Intercept   float64        `json:"intercept"`
				BetaHDD     *float64       `json:"beta_hdd"`
				BetaCDD     *float64       `json:"beta_cdd"`
				RSquaredAdj float64        `json:"r_squared_adj"`
				CVRMSEAdj   float64        `json:"cvrmse_adj"`
				Savings     struct {
					Total          float64 `json:"total_metered_savings"`
					Counterfactual float64 `json:"counterfactual_total"`
					Observed       float64 `json:"reporting_observed_total"`
					NPeriods       int     `json:"n_periods_used"`
					Percent        float64 `json:"percent_savings"`
				} `json:"savings"`
			} `json:"variants"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for sample, s := range g.Samples {
		for vname, v := range s.Variants {
			t.Run(sample+"/"+vname, func(t *testing.T) {
				t.Parallel()
				args := []string{"--usage", sampleDir + sample + ".csv.gz", "--temperature", tempFile, "--method", methodOf(sample),
					"--baseline-end", "2016-12-26T00:00:00Z", "--json"}
				if p, ok := v.FitKwargs["beta_hdd_maximum_p_value"].(float64); ok {
					args = append(args, "--max-p-value", strconv.FormatFloat(p, 'g', -1, 64))
				}
				code, out, errs := runCLI(t, append([]string{"baseline", "fit"}, args...)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				var got fitJSON
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatal(err)
				}
				if got.ModelType != v.ModelType || !eqIntPtr(got.HeatingBalancePoint, v.HBP) || !eqIntPtr(got.CoolingBalancePoint, v.CBP) {
					t.Fatalf("model %s %v/%v, want %s %v/%v", got.ModelType, got.HeatingBalancePoint, got.CoolingBalancePoint, v.ModelType, v.HBP, v.CBP)
				}
				checks := [][3]any{{"intercept", *got.Intercept, v.Intercept}, {"r_squared_adj", *got.RSquaredAdj, v.RSquaredAdj},
					{"cvrmse_adj", *got.CVRMSEAdj, v.CVRMSEAdj}}
				if v.BetaHDD != nil {
					checks = append(checks, [3]any{"beta_hdd", *got.BetaHDD, *v.BetaHDD})
				}
				if v.BetaCDD != nil {
					checks = append(checks, [3]any{"beta_cdd", *got.BetaCDD, *v.BetaCDD})
				}
				code, out, errs = runCLI(t, append([]string{"savings", "--reporting-start", "2017-01-04T00:00:00Z"}, args...)...)
				if code != 0 {
					t.Fatalf("savings exit %d: %s", code, errs)
				}
				var sv savingsJSON
				if err := json.Unmarshal([]byte(out), &sv); err != nil {
					t.Fatal(err)
				}
				checks = append(checks, [3]any{"savings", *sv.Savings, v.Savings.Total}, [3]any{"counterfactual", *sv.Counterfactual, v.Savings.Counterfactual},
					[3]any{"observed", *sv.Observed, v.Savings.Observed}, [3]any{"percent_savings", *sv.PercentSavings, v.Savings.Percent})
				for _, c := range checks {
					if r := rel(c[1].(float64), c[2].(float64)); r > 1e-6 {
						t.Errorf("%s = %.17g, want %.17g (rel %.2g)", c[0], c[1], c[2], r)
					}
				}
				if sv.NPeriods != v.Savings.NPeriods {
					t.Errorf("n_periods %d, want %d", sv.NPeriods, v.Savings.NPeriods)
				}
			})
		}
	}
}

func eqIntPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// TestBaselineFitAllSamples runs every eemeter sample through both
// commands with default options and the 0.1 screen and checks the JSON
// contract's keys.
func TestBaselineFitAllSamples(t *testing.T) {
	wantKeys := []string{"method", "model_type", "heating_balance_point", "cooling_balance_point", "intercept", "beta_hdd",
		"beta_cdd", "r_squared_adj", "cvrmse_adj", "nmbe", "n", "candidates", "sufficiency"}
	t.Parallel()
	for _, s := range allSamples {
		for _, extra := range [][]string{nil, {"--max-p-value", "0.1"}} {
			t.Run(s+strings.Join(extra, ""), func(t *testing.T) {
				t.Parallel()
				fitCDD := "--fit-cdd=" + map[bool]string{true: "false", false: "true"}[strings.Contains(s, "gas")]
				args := append([]string{"--usage", sampleDir + s + ".csv.gz", "--temperature", tempFile, "--method", methodOf(s),
					"--baseline-end", "2016-12-26T00:00:00Z", fitCDD, "--json"}, extra...)
				code, out, errs := runCLI(t, append([]string{"baseline", "fit"}, args...)...)
				if code != 0 {
					t.Fatalf("%s %v: exit %d: %s", s, extra, code, errs)
				}
				var m map[string]json.RawMessage
				if err := json.Unmarshal([]byte(out), &m); err != nil {
					t.Fatal(err)
				}
				if len(m) != len(wantKeys) {
					t.Errorf("%s: keys %v", s, m)
				}
				for _, k := range wantKeys {
					if _, ok := m[k]; !ok {
						t.Errorf("%s: missing key %q", s, k)
					}
				}
				var c map[string]int
				_ = json.Unmarshal(m["candidates"], &c)
				if len(c) != 3 {
					t.Errorf("%s: candidates %s", s, m["candidates"])
				}
				if extra != nil {
					return // savings does not depend on the screen beyond the model
				}
				code, out, errs = runCLI(t, append([]string{"savings", "--reporting-start", "2017-01-04T00:00:00Z"}, args...)...)
				if code != 0 {
					t.Fatalf("%s savings: exit %d: %s", s, code, errs)
				}
				var sv map[string]json.RawMessage
				if err := json.Unmarshal([]byte(out), &sv); err != nil || len(sv) != 7 {
					t.Errorf("%s savings: %s %v", s, out, err)
				}
				// issue 4: eemeter's error bands at 90 % confidence, defined
				// on every sample.
				for _, k := range []string{"fsu_error_band", "ols_error_band"} {
					var v float64
					if err := json.Unmarshal(sv[k], &v); err != nil || !(v > 0) {
						t.Errorf("%s savings: %s = %s", s, k, sv[k])
					}
				}
			})
		}
	}
}

func TestBaselineFitBadInput(t *testing.T) {
	dir := t.TempDir()
	badTS := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(badTS, []byte("start,value\n2016-01-01T00:00:00Z,1\nyesterday,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	okU := sampleDir + "il-electricity-cdd-hdd-daily.csv.gz"
	base := []string{"baseline", "fit", "--temperature", tempFile, "--method", "daily", "--baseline-end", "2016-12-26T00:00:00Z", "--json"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing file", append(base, "--usage", filepath.Join(dir, "nope.csv")), "nope.csv"},
		{"bad timestamp", append(base, "--usage", badTS), "line 3"},
		{"unknown flag", append(base, "--usage", okU, "--frobnicate"), "frobnicate"},
		{"bad method", []string{"baseline", "fit", "--usage", okU, "--temperature", tempFile, "--method", "hourly", "--baseline-end", "2016-12-26T00:00:00Z"}, "method"},
		{"bad end", []string{"baseline", "fit", "--usage", okU, "--temperature", tempFile, "--method", "daily", "--baseline-end", "2016-12-26"}, "baseline-end"},
		{"no data in window", []string{"baseline", "fit", "--usage", okU, "--temperature", tempFile, "--method", "daily", "--baseline-end", "2001-01-01T00:00:00Z"}, "no usable data"},
		{"no subcommand", []string{"baseline"}, "subcommand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) {
				t.Errorf("stderr %q, want one line mentioning %q", errs, tc.want)
			}
		})
	}
}

func TestBaselineFitNmecrAndPlainCSV(t *testing.T) {
	t.Parallel()
	// nmecr's commercial building: daily kWh and daily-mean °F, "time","eload" files.
	code, out, errs := runCLI(t, "baseline", "fit", "--usage", "../../testdata/nmecr/eload.csv.gz", "--temperature", "../../testdata/nmecr/temp.csv.gz",
		"--method", "daily", "--baseline-end", "2013-03-01T00:00:00Z", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got fitJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.N != 365 || got.Sufficiency.Status != "PASS" {
		t.Errorf("nmecr fit: n=%d sufficiency %s %v", got.N, got.Sufficiency.Status, got.Sufficiency.Warnings)
	}
	// The table output names the model.
	code, out, _ = runCLI(t, "baseline", "fit", "--usage", sampleDir+"il-gas-hdd-only-daily.csv.gz", "--temperature", tempFile,
		"--method", "daily", "--baseline-end", "2016-12-26T00:00:00Z", "--fit-cdd=false")
	if code != 0 || !strings.Contains(out, "hdd_only") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}
