package savings_test

import (
	"fmt"
	"time"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/savings"
)

// A peak-time rebate event, 15:00–19:00 London time on Wednesday
// 2019-07-24, settled on a high-5-of-10 baseline with CAISO's
// multiplicative day-of adjustment (window 3 h, gap 1 h, cap 20 %).
func ExampleEventSavings() {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	// Hourly kWh: 2 kWh an hour, 4 kWh in the 15:00–19:00 peak, 0.1 kWh
	// more on more recent days; on the event day the morning runs 10 %
	// high and the customer cuts the peak to 1.5 kWh an hour.
	var readings []baseline.Reading
	for t := time.Date(2019, 6, 1, 0, 0, 0, 0, london); t.Before(time.Date(2019, 7, 25, 0, 0, 0, 0, london)); t = t.Add(time.Hour) {
		kwh := 2.0
		peak := t.Hour() >= 15 && t.Hour() < 19
		if peak {
			kwh = 4 + 0.1*float64(t.Day()%10)
		}
		if t.Day() == 24 && t.Month() == time.July {
			kwh = 2.2
			if peak {
				kwh = 1.5
			}
		}
		readings = append(readings, baseline.Reading{Start: t, Value: kwh})
	}
	usage, err := baseline.NewUsage(readings)
	if err != nil {
		panic(err)
	}

	method := savings.CBLHigh5of10()
	method.Adjustment = savings.AdjustMultiplicative
	ev := savings.Event{ID: "ptr-2019-07-24", Type: "peak-time-rebate", Location: london,
		Start: time.Date(2019, 7, 24, 15, 0, 0, 0, london),
		End:   time.Date(2019, 7, 24, 19, 0, 0, 0, london)}
	res, err := savings.EventSavings(usage, ev, method,
		savings.WithExcludedDays(savings.LocalDate{Year: 2019, Month: time.July, Day: 23}))
	if err != nil {
		panic(err)
	}
	// Peak levels of the 10 candidates (07-23 excluded): 22→4.2, 19→4.9,
	// 18→4.8, 17→4.7, 16→4.6, 15→4.5, 12→4.2, 11→4.1, 10→4.0, 09→4.9.
	// High 5: mean(4.9, 4.8, 4.7, 4.6, 4.9) = 4.78; factor 2.2/2 = 1.1.
	fmt.Println("selected:", res.SelectedDays)
	fmt.Printf("factor: %.2f\n", res.AdjustmentFactor)
	for _, h := range res.Hours {
		fmt.Printf("%s baseline %.3f actual %.3f savings %.3f\n", h.Start.Format("15:04"), h.BaselineKWh, h.ActualKWh, h.SavingsKWh)
	}
	fact := res.Result()
	fmt.Printf("%s %s: %.3f kWh saved (%.1f %%)\n", fact.Kind, fact.ID, fact.SavingsKWh, fact.PercentSavings)
	// Output:
	// selected: [2019-07-19 2019-07-18 2019-07-17 2019-07-16 2019-07-09]
	// factor: 1.10
	// 15:00 baseline 5.258 actual 1.500 savings 3.758
	// 16:00 baseline 5.258 actual 1.500 savings 3.758
	// 17:00 baseline 5.258 actual 1.500 savings 3.758
	// 18:00 baseline 5.258 actual 1.500 savings 3.758
	// event ptr-2019-07-24: 15.032 kWh saved (71.5 %)
}
