package savings

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/negawatt/negawatt/baseline"
)

var update = flag.Bool("update", false, "rewrite testdata/period.golden.json from the current code")

// periodSnapshot is what the snapshot keeps per sample: the whole-period
// bands and the monthly statement.
type periodSnapshot struct {
	Model  string         `json:"model"`
	Bands  ErrorBands     `json:"bands"`
	Loads  LoadSplit      `json:"counterfactual_loads"`
	Months []MonthSavings `json:"months"`
}

// TestPeriodSnapshot guards the whole-period results on all twelve daily
// and billing eemeter samples against unintended change. The two samples
// with eemeter goldens are checked against eemeter itself elsewhere; this
// file is the code's own output (regenerate with -update after a
// deliberate change and review the diff).
func TestPeriodSnapshot(t *testing.T) {
	path := filepath.Join("testdata", "period.golden.json")
	start := time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC)
	got := map[string]periodSnapshot{}
	for _, kind := range []string{"electricity-cdd-hdd", "electricity-cdd-only", "gas-hdd-only", "gas-intercept-only"} {
		for _, freq := range []string{"daily", "billing_monthly", "billing_bimonthly"} {
			sample := "il-" + kind + "-" + freq
			method := baseline.Billing
			if freq == "daily" {
				method = baseline.Daily
			}
			m, u, temp := sampleModel(t, sample, method)
			ms, err := MeteredWindow(m, u, temp, start, 365)
			if err != nil {
				t.Fatal(sample, err)
			}
			bands, err := MeteredUncertainty(m, ms, DefaultConfidence)
			if err != nil {
				t.Fatal(sample, err)
			}
			fit, err := FitStatsOf(m)
			if err != nil {
				t.Fatal(sample, err)
			}
			months, err := MonthlySettlement(ms.Periods, MonthlyOptions{Fit: &fit})
			if err != nil {
				t.Fatal(sample, err)
			}
			got[sample] = periodSnapshot{Model: m.Type.String(), Bands: bands, Loads: CounterfactualLoads(ms), Months: months}
		}
	}
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
		t.Fatalf("%v (run go test -run TestPeriodSnapshot -update)", err)
	}
	var want map[string]periodSnapshot
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	// JSON keeps every float64 exactly; allow for floating-point
	// reassociation across platforms only.
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(1e-12, 1e-9)); d != "" {
		t.Errorf("period results changed (-snapshot +now):\n%s", d)
	}
}
