package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestSavingsErrorBandsGolden checks the issue-4 contract: `savings --json`
// carries eemeter 2.10.11's "FSU Error Band" and "OLS Error Band" at 90 %
// confidence, within 1e-6 relative, on the two golden samples (a copy of
// the golden file lives with package savings' tests).
func TestSavingsErrorBandsGolden(t *testing.T) {
	b, err := os.ReadFile("../../savings/testdata/eemeter-golden/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Samples map[string]struct {
			Variants map[string]struct {
				Savings struct {
					ErrorBands map[string]float64 `json:"error_bands"`
				} `json:"savings"`
			} `json:"variants"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for _, sample := range []string{"il-electricity-cdd-hdd-daily", "il-electricity-cdd-hdd-billing_monthly"} {
		t.Run(sample, func(t *testing.T) {
			code, out, errs := runCLI(t, "savings", "--usage", sampleDir+sample+".csv.gz", "--temperature", tempFile,
				"--method", methodOf(sample), "--baseline-end", "2016-12-26T00:00:00Z", "--reporting-start", "2017-01-04T00:00:00Z", "--json")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var raw map[string]any
			if err := json.Unmarshal([]byte(out), &raw); err != nil {
				t.Fatal(err)
			}
			want := g.Samples[sample].Variants["primary"].Savings.ErrorBands
			for key, name := range map[string]string{"fsu_error_band": "FSU Error Band", "ols_error_band": "OLS Error Band"} {
				v, ok := raw[key].(float64)
				if !ok || rel(v, want[name]) > 1e-6 {
					t.Errorf("%s = %v, eemeter %v", key, raw[key], want[name])
				}
			}
		})
	}
}

func TestSavingsErrorBandsConfidence(t *testing.T) {
	args := []string{"savings", "--usage", sampleDir + "il-gas-hdd-only-daily.csv.gz", "--temperature", tempFile, "--method", "daily",
		"--fit-cdd=false", "--baseline-end", "2016-12-26T00:00:00Z", "--reporting-start", "2017-01-04T00:00:00Z", "--json"}
	band := func(extra ...string) savingsJSON {
		t.Helper()
		code, out, errs := runCLI(t, append(append([]string{}, args...), extra...)...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var sv savingsJSON
		if err := json.Unmarshal([]byte(out), &sv); err != nil {
			t.Fatal(err)
		}
		if sv.FSUErrorBand == nil || sv.OLSErrorBand == nil {
			t.Fatalf("no bands: %s", out)
		}
		return sv
	}
	def, c90, c95 := band(), band("--confidence", "0.9"), band("--confidence", "0.95")
	if *def.FSUErrorBand != *c90.FSUErrorBand || !(*c95.FSUErrorBand > *c90.FSUErrorBand && *c95.OLSErrorBand > *c90.OLSErrorBand) {
		t.Errorf("default %v/%v, 90 %% %v/%v, 95 %% %v/%v", *def.FSUErrorBand, *def.OLSErrorBand,
			*c90.FSUErrorBand, *c90.OLSErrorBand, *c95.FSUErrorBand, *c95.OLSErrorBand)
	}
	for _, bad := range []string{"1", "0", "-0.5", "ninety"} {
		code, out, errs := runCLI(t, append(append([]string{}, args...), "--confidence", bad)...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "confidence") {
			t.Errorf("--confidence %s: exit %d, stdout %q, stderr %q", bad, code, out, errs)
		}
	}
	// The table output shows the bands too.
	code, out, _ := runCLI(t, args[:len(args)-1]...)
	if code != exitOK || !strings.Contains(out, "error bands") {
		t.Errorf("table output: exit %d\n%s", code, out)
	}
}
