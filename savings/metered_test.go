package savings

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

func readGz(t *testing.T, path string) *gzip.Reader {
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

// TestMeteredGolden compares totals with eemeter 2.10.11's
// metered_savings on its two golden samples (both variants).
func TestMeteredGolden(t *testing.T) {
	b, err := os.ReadFile("../baseline/testdata/eemeter-golden/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Samples map[string]struct {
			Method   string `json:"method"`
			Variants map[string]struct {
				FitKwargs map[string]any `json:"fit_kwargs"`
				Savings   struct {
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
	temp, err := baseline.ReadTemperatureCSV(readGz(t, "../testdata/eemeter/il-tempF.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2016, 12, 26, 0, 0, 0, 0, time.UTC)
	start := time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC)
	for name, s := range g.Samples {
		for vname, v := range s.Variants {
			t.Run(name+"/"+vname, func(t *testing.T) {
				usage, err := baseline.ReadUsageCSV(readGz(t, "../testdata/eemeter/"+name+".csv.gz"))
				if err != nil {
					t.Fatal(err)
				}
				m, _ := baseline.ParseMethod(s.Method)
				o := baseline.OptionsFor(m)
				if p, ok := v.FitKwargs["beta_hdd_maximum_p_value"].(float64); ok {
					o.BetaHDDMaxPValue, o.BetaCDDMaxPValue = p, p
				}
				fit, err := baseline.FitBaseline(usage, temp, end, 365, o)
				if err != nil {
					t.Fatal(err)
				}
				ms, err := MeteredWindow(fit.Model, usage, temp, start, 365)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range []struct {
					name      string
					got, want float64
				}{
					{"savings", ms.SavingsKWh, v.Savings.Total},
					{"counterfactual", ms.CounterfactualKWh, v.Savings.Counterfactual},
					{"observed", ms.ObservedKWh, v.Savings.Observed},
					{"percent", ms.PercentSavings, v.Savings.Percent},
				} {
					if rd := math.Abs(c.got-c.want) / math.Abs(c.want); rd > 1e-9 {
						t.Errorf("%s = %.17g, want %.17g (rel %.2g)", c.name, c.got, c.want, rd)
					}
				}
				if ms.NPeriods != v.Savings.NPeriods {
					t.Errorf("n periods %d, want %d", ms.NPeriods, v.Savings.NPeriods)
				}
			})
		}
	}
}

// TestMeteredHandCalculation checks the arithmetic on a model and data
// small enough to compute by hand.
func TestMeteredHandCalculation(t *testing.T) {
	var m baseline.Model
	// intercept 10/day, 2 per HDD at 60 °F.
	if err := json.Unmarshal([]byte(`{"schema":"negawatt.baseline.model/v1","method":"caltrack_daily","model_type":"hdd_only",
		"heating_balance_point_f":60,"cooling_balance_point_f":null,"intercept":10,"beta_hdd":2,"beta_cdd":null,"r_squared_adj":0.5,"n":365}`), &m); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var temps []baseline.Reading
	for h := 0; h < 72; h++ {
		v := 50.0 // day 0: HDD 10
		if h >= 24 {
			v = 70 // day 1, 2: HDD 0
		}
		temps = append(temps, baseline.Reading{Start: t0.Add(time.Duration(h) * time.Hour), Value: v})
	}
	tp, _ := baseline.NewTemperatureF(temps)
	u, _ := baseline.NewUsage([]baseline.Reading{{Start: t0, Value: 25}, {Start: t0.Add(24 * time.Hour), Value: math.NaN()},
		{Start: t0.Add(48 * time.Hour), Value: 8}, {Start: t0.Add(72 * time.Hour), Value: math.NaN()}})
	ms, err := Metered(&m, u, tp)
	if err != nil {
		t.Fatal(err)
	}
	// day 0: cf 10+2·10 = 30, obs 25, saved 5; day 1: usage missing; day 2: cf 10, obs 8, saved 2.
	if ms.NPeriods != 2 || ms.CounterfactualKWh != 40 || ms.ObservedKWh != 33 || ms.SavingsKWh != 7 || ms.PercentSavings != 17.5 {
		t.Errorf("got %+v", ms)
	}
	if ms.Periods[1].Complete || ms.Periods[3].Complete || !ms.Periods[2].Complete {
		t.Errorf("complete flags wrong: %+v", ms.Periods)
	}
	if _, err := MeteredWindow(&m, u, tp, t0.Add(1000*time.Hour), 365); !errors.Is(err, baseline.ErrNoData) {
		t.Errorf("empty window: %v", err)
	}
}

// A stored daily model (10 kWh/day plus 2 kWh per heating degree day below
// 60 °F) predicts two reporting days; the meter read 25 and 8 kWh.
func ExampleMetered() {
	var m baseline.Model
	_ = json.Unmarshal([]byte(`{"schema":"negawatt.baseline.model/v1","method":"caltrack_daily","model_type":"hdd_only",
		"heating_balance_point_f":60,"cooling_balance_point_f":null,"intercept":10,"beta_hdd":2,"beta_cdd":null,"r_squared_adj":0.5,"n":365}`), &m)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var temps []baseline.Reading
	for h := 0; h < 48; h++ {
		temp := 50.0 // day 1: 10 HDD
		if h >= 24 {
			temp = 65 // day 2: no HDD
		}
		temps = append(temps, baseline.Reading{Start: t0.Add(time.Duration(h) * time.Hour), Value: temp})
	}
	tp, _ := baseline.NewTemperatureF(temps)
	usage, _ := baseline.NewUsage([]baseline.Reading{
		{Start: t0, Value: 25}, {Start: t0.Add(24 * time.Hour), Value: 8}, {Start: t0.Add(48 * time.Hour), Value: math.NaN()}})
	ms, err := Metered(&m, usage, tp)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range ms.Periods[:2] {
		fmt.Printf("%s: counterfactual %.0f, observed %.0f, saved %.0f kWh\n", p.Start.Format("2006-01-02"), p.CounterfactualKWh, p.ObservedKWh, p.SavingsKWh)
	}
	fmt.Printf("total saved %.0f of %.0f kWh (%.1f %%)\n", ms.SavingsKWh, ms.CounterfactualKWh, ms.PercentSavings)
	// Output:
	// 2024-01-01: counterfactual 30, observed 25, saved 5 kWh
	// 2024-01-02: counterfactual 10, observed 8, saved 2 kWh
	// total saved 7 of 40 kWh (17.5 %)
}
