package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSavingsBadInput(t *testing.T) {
	okU := sampleDir + "il-electricity-cdd-hdd-daily.csv.gz"
	base := []string{"savings", "--usage", okU, "--temperature", tempFile, "--method", "daily", "--baseline-end", "2016-12-26T00:00:00Z"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing reporting start", base, "reporting-start"},
		{"bad reporting start", append(base, "--reporting-start", "soon"), "reporting-start"},
		{"empty reporting window", append(base, "--reporting-start", "2030-01-01T00:00:00Z"), "reporting window"},
		{"bad reporting days", append(base, "--reporting-start", "2017-01-04T00:00:00Z", "--reporting-days", "0"), "reporting-days"},
		{"unknown flag", append(base, "--reporting-start", "2017-01-04T00:00:00Z", "--nope"), "nope"},
		{"missing temperature file", []string{"savings", "--usage", okU, "--temperature", "missing.csv", "--method", "daily",
			"--baseline-end", "2016-12-26T00:00:00Z", "--reporting-start", "2017-01-04T00:00:00Z"}, "missing.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != exitUsage || out != "" {
				t.Errorf("exit %d, stdout %q", code, out)
			}
			if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) {
				t.Errorf("stderr %q, want one line mentioning %q", errs, tc.want)
			}
		})
	}
}

func TestSavingsTableAndNmecr(t *testing.T) {
	t.Parallel()
	code, out, errs := runCLI(t, "savings", "--usage", sampleDir+"il-gas-hdd-only-billing_monthly.csv.gz", "--temperature", tempFile,
		"--method", "billing", "--baseline-end", "2016-12-26T00:00:00Z", "--reporting-start", "2017-01-04T00:00:00Z", "--fit-cdd=false")
	if code != 0 || !strings.Contains(out, "savings") || !strings.Contains(out, "counterfactual") {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	// nmecr's commercial building: baseline 2012-03-01..2013-02-28, reporting
	// 2014-03-01.. (the upstream vignette's periods), energy measures in between.
	code, out, errs = runCLI(t, "savings", "--usage", "../../testdata/nmecr/eload.csv.gz", "--temperature", "../../testdata/nmecr/temp.csv.gz",
		"--method", "daily", "--baseline-end", "2013-03-01T00:00:00Z", "--reporting-start", "2014-03-01T00:00:00Z", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var sv savingsJSON
	if err := json.Unmarshal([]byte(out), &sv); err != nil {
		t.Fatal(err)
	}
	// 2014-03-01 .. 2015-02-28 is 365 complete days (the data end there).
	if sv.NPeriods != 364 && sv.NPeriods != 365 {
		t.Errorf("n_periods %d", sv.NPeriods)
	}
	if rel(*sv.Savings, *sv.Counterfactual-*sv.Observed) > 1e-9 {
		t.Errorf("savings %v != counterfactual %v - observed %v", *sv.Savings, *sv.Counterfactual, *sv.Observed)
	}
}
