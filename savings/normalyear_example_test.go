package savings_test

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"time"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/savings"
)

// Normal-year savings of nmecr's commercial building: a model of the year
// before the energy measures and a model of the year after, both predicted
// on a typical meteorological year (TMY3), so the reporting year's weather
// drops out.
func ExampleNormalYearSavings() {
	uf, err := gzipFile("../testdata/nmecr/eload.csv.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer uf.Close()
	usage, err := baseline.ReadUsageCSVWith(uf, baseline.CSVOptions{TimeColumn: "time", ValueColumn: "eload"})
	if err != nil {
		fmt.Println(err)
		return
	}
	tf, err := gzipFile("../testdata/nmecr/temp.csv.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tf.Close()
	daily, err := baseline.ReadTemperatureCSVWith(tf, baseline.CSVOptions{TimeColumn: "time", ValueColumn: "temp"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// nmecr ships daily mean temperatures; CalTRACK works from hourly ones.
	var hourly []baseline.Reading
	for _, r := range daily.Readings() {
		for h := range 24 {
			hourly = append(hourly, baseline.Reading{Start: r.Start.Add(time.Duration(h) * time.Hour), Value: r.Value})
		}
	}
	temp, err := baseline.NewTemperatureF(hourly)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The year before the measures, and the year after (its last day is
	// the data's last, which eemeter's window keeps as the end marker).
	before, err := baseline.FitBaseline(usage, temp, time.Date(2013, 3, 1, 0, 0, 0, 0, time.UTC), 365, baseline.DailyOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	after, err := baseline.FitBaseline(usage, temp, time.Date(2015, 2, 28, 0, 0, 0, 0, time.UTC), 365, baseline.DailyOptions())
	if err != nil {
		fmt.Println(err)
		return
	}

	// The TMY3 profile: 8,760 hourly °F in row order, laid on 2023.
	yf, err := gzipFile("../testdata/nmecr/TMY3.csv.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer yf.Close()
	rows, err := csv.NewReader(yf).ReadAll()
	if err != nil {
		fmt.Println(err)
		return
	}
	var tmy []float64
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			fmt.Println(err)
			return
		}
		tmy = append(tmy, v)
	}
	normal, err := savings.NormalYearTemperature(tmy, 2023)
	if err != nil {
		fmt.Println(err)
		return
	}
	days, err := savings.NormalYearDays(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), 365)
	if err != nil {
		fmt.Println(err)
		return
	}
	ny, err := savings.NormalYearSavings(before.Model, after.Model, days, normal, savings.DefaultConfidence)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("normal-year usage %.0f MWh before, %.0f MWh after: %.0f MWh saved (%.1f %%) ± %.0f MWh at 90 %%\n",
		ny.BaselineKWh/1000, ny.ReportingKWh/1000, ny.SavingsKWh/1000, ny.PercentSavings(), ny.Bands.FSUKWh/1000)
	fmt.Printf("models: before %v, after %v\n", before.Model.Type, after.Model.Type)
	fmt.Printf("saved: base load %.0f MWh, heating %.0f MWh, cooling %.0f MWh\n",
		ny.Savings.BaseKWh/1000, ny.Savings.HeatingKWh/1000, ny.Savings.CoolingKWh/1000)
	// Output:
	// normal-year usage 5970 MWh before, 5446 MWh after: 524 MWh saved (8.8 %) ± 184 MWh at 90 %
	// models: before hdd_only, after hdd_only
	// saved: base load 369 MWh, heating 155 MWh, cooling 0 MWh
}
