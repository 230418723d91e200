package baseline

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestPredictGoldenReporting checks the per-period counterfactual,
// base/heating/cooling loads against eemeter's reporting-period output.
func TestPredictGoldenReporting(t *testing.T) {
	for _, sample := range []string{"il-electricity-cdd-hdd-daily", "il-electricity-cdd-hdd-billing_monthly"} {
		t.Run(sample, func(t *testing.T) {
			o := DailyOptions()
			if sample != "il-electricity-cdd-hdd-daily" {
				o = BillingOptions()
			}
			res := fitSample(t, sample, o)
			u, tp := loadSample(t, sample)
			if o.Method == Daily {
				u, _ = DailyUsage(u)
			}
			rep, err := ReportingWindow(u, sampleRepStart, 365)
			if err != nil {
				t.Fatal(err)
			}
			pred, err := res.Model.Predict(rep, tp)
			if err != nil {
				t.Fatal(err)
			}
			hdr, recs := readGoldenCSV(t, sample+"__primary__reporting_savings.csv.gz")
			byStart := map[int64][]string{}
			for _, r := range recs {
				byStart[gt(t, r[hdr["start"]]).Unix()] = r
			}
			matched := 0
			for _, p := range pred {
				rec, ok := byStart[p.Start.Unix()]
				if !ok {
					continue // eemeter dropped the period (end marker or gap)
				}
				matched++
				for _, c := range []struct {
					name string
					got  float64
				}{
					{"counterfactual_usage", p.Predicted},
					{"counterfactual_base_load", p.BaseLoad},
					{"counterfactual_heating_load", p.HeatingLoad},
					{"counterfactual_cooling_load", p.CoolingLoad},
				} {
					if rd := relDiff(c.got, gf(rec[hdr[c.name]])); rd > 1e-9 && math.Abs(c.got-gf(rec[hdr[c.name]])) > 1e-9 {
						t.Errorf("%v %s = %.17g, want %s", p.Start, c.name, c.got, rec[hdr[c.name]])
					}
				}
			}
			if matched != len(recs) {
				t.Errorf("matched %d of %d golden periods", matched, len(recs))
			}
		})
	}
}

func TestModelJSONRoundTrip(t *testing.T) {
	res := fitSample(t, "il-electricity-cdd-hdd-billing_monthly", BillingOptions())
	b, err := json.Marshal(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	b2, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Errorf("JSON not stable:\n%s\n%s", b, b2)
	}
	u, tp := loadSample(t, "il-electricity-cdd-hdd-billing_monthly")
	p1, _ := res.Model.Predict(u, tp)
	p2, _ := m.Predict(u, tp)
	for i := range p1 {
		if p1[i].Predicted != p2[i].Predicted && !(math.IsNaN(p1[i].Predicted) && math.IsNaN(p2[i].Predicted)) {
			t.Fatalf("period %d: decoded model predicts %v, original %v", i, p2[i].Predicted, p1[i].Predicted)
		}
	}
	for _, bad := range []string{`{}`, `{"schema":"negawatt.baseline.model/v1","method":"daily","model_type":"hdd_only","intercept":1}`,
		`{"schema":"x"}`, `[`} {
		var m Model
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
