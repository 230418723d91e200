package baseline

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestDesignMatchesEemeter(t *testing.T) {
	for _, tc := range []struct {
		sample string
		o      Options
	}{
		{"il-electricity-cdd-hdd-daily", DailyOptions()},
		{"il-electricity-cdd-hdd-billing_monthly", BillingOptions()},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			u, tp := loadSample(t, tc.sample)
			if tc.o.Method == Daily {
				u, _ = DailyUsage(u)
			}
			bu, err := BaselineWindow(u, sampleEnd, 365)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDesign(bu, tp, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			hdr, recs := readGoldenCSV(t, tc.sample+"__baseline_design_matrix.csv.gz")
			if d.Len() != len(recs) {
				t.Fatalf("rows = %d, want %d", d.Len(), len(recs))
			}
			worst, exact, total := 0.0, 0, 0
			for i, rec := range recs {
				r := d.Row(i)
				if !r.Start.Equal(gt(t, rec[hdr["start"]])) {
					t.Fatalf("row %d start %v, want %s", i, r.Start, rec[hdr["start"]])
				}
				y := gf(rec[hdr["meter_value"]])
				if math.IsNaN(y) != !r.Complete {
					t.Errorf("row %d complete=%v, golden meter_value %v", i, r.Complete, y)
					continue
				}
				if !r.Complete {
					continue
				}
				for _, c := range []struct {
					name string
					got  float64
				}{
					{"meter_value", r.UsagePerDay},
					{"n_days_kept", float64(r.DaysKept)},
					{"n_days_dropped", float64(r.DaysDropped)},
					{"temperature_not_null", float64(r.TempNotNull)},
					{"temperature_mean", r.TempMeanF},
				} {
					if rd := relDiff(c.got, gf(rec[hdr[c.name]])); rd > 1e-12 {
						t.Errorf("row %d %s = %v, want %s", i, c.name, c.got, rec[hdr[c.name]])
					}
				}
				for bp := 30; bp <= 90; bp++ {
					for _, kind := range []string{"hdd", "cdd"} {
						want := gf(rec[hdr[fmt.Sprintf("%s_%d", kind, bp)]])
						got := d.HDD(i, float64(bp))
						if kind == "cdd" {
							got = d.CDD(i, float64(bp))
						}
						total++
						if got == want {
							exact++
						}
						if (got > 0) != (want > 0) {
							t.Errorf("row %d %s_%d = %v, want %v (zero/non-zero differs)", i, kind, bp, got, want)
						}
						worst = math.Max(worst, math.Abs(got-want))
					}
				}
			}
			t.Logf("degree days: %d/%d bit-identical, worst abs diff %g", exact, total, worst)
			if worst > 1e-12 {
				t.Errorf("worst degree-day difference %g > 1e-12", worst)
			}
		})
	}
}

// The bimonthly quirk (reference §3): with eemeter's 35-day tolerance a
// ~61-day baseline bill sees its first 841 hourly readings, so 35 days are
// kept and 1 (a one-reading chunk) dropped; FullPeriodBillingTemperature
// uses every hour instead.
func TestBimonthlyToleranceQuirk(t *testing.T) {
	u, tp := loadSample(t, "il-electricity-cdd-hdd-billing_bimonthly")
	bu, err := BaselineWindow(u, sampleEnd, 365)
	if err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{false, true} {
		o := BillingOptions()
		o.FullPeriodBillingTemperature = full
		d, err := NewDesign(bu, tp, o)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := 0; i < d.Len(); i++ {
			r := d.Row(i)
			if !r.Complete {
				continue
			}
			n++
			want := [3]int{35, 1, 841}
			if full {
				want = [3]int{int(math.Round(r.Days)), 0, int(math.Round(r.Days * 24))}
			}
			if got := [3]int{r.DaysKept, r.DaysDropped, r.TempNotNull}; got != want {
				t.Errorf("full=%v row %v (%.0f days): kept/dropped/readings %v, want %v", full, r.Start, r.Days, got, want)
			}
		}
		if n != 5 {
			t.Errorf("full=%v: %d complete bimonthly bills, want 5 (reference §1)", full, n)
		}
	}
}

// Reference §6: the daily samples pass data sufficiency; every billing
// sample fails, at least on incorrect_number_of_total_days.
func TestSufficiencyOfSamples(t *testing.T) {
	for _, s := range allSampleNames {
		o := DailyOptions()
		if !strings.HasSuffix(s, "daily") {
			o = BillingOptions()
		}
		res := fitSample(t, s, o)
		names := res.Sufficiency.WarningNames()
		if o.Method == Daily {
			if res.Sufficiency.Status != Pass {
				t.Errorf("%s: %s %v, want PASS", s, res.Sufficiency.Status, names)
			}
			continue
		}
		if res.Sufficiency.Status != Fail || len(names) == 0 || names[0] != sufName+"incorrect_number_of_total_days" {
			t.Errorf("%s: %s %v, want FAIL on incorrect_number_of_total_days", s, res.Sufficiency.Status, names)
		}
	}
}
