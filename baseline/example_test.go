package baseline_test

import (
	"fmt"
	"math"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// A year of daily usage generated from a known model — 20 kWh/day base,
// 1.5 kWh per heating degree day below 55 °F, 2 kWh per cooling degree day
// above 70 °F — is fitted and the model recovered.
func Example() {
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var usage, temps []baseline.Reading
	for d := 0; d <= 365; d++ {
		day := start.AddDate(0, 0, d)
		t := 20 + 70*float64((d*37)%365)/365 // temperatures spread over 20…90 °F
		kwh := 20 + 1.5*math.Max(55-t, 0) + 2*math.Max(t-70, 0)
		if d == 365 {
			kwh = math.NaN() // the last reading only marks the end
		}
		usage = append(usage, baseline.Reading{Start: day, Value: kwh})
		temps = append(temps, baseline.Reading{Start: day, Value: t}) // daily means
	}
	u, _ := baseline.NewUsage(usage)
	tf, _ := baseline.NewTemperatureF(temps)

	res, err := baseline.FitBaseline(u, tf, start.AddDate(0, 0, 365), 365, baseline.DailyOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	m := res.Model
	fmt.Printf("%v: heating %d °F, cooling %d °F\n", m.Type, m.HeatingBalancePointF, m.CoolingBalancePointF)
	fmt.Printf("intercept %.3f, beta_hdd %.3f, beta_cdd %.3f\n", m.Intercept, m.BetaHDD, m.BetaCDD)
	fmt.Println("sufficiency:", res.Sufficiency.Status)
	// Output:
	// cdd_hdd: heating 55 °F, cooling 70 °F
	// intercept 20.000, beta_hdd 1.500, beta_cdd 2.000
	// sufficiency: PASS
}
