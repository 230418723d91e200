package negawatt_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/rewards/ledgertally"
	"github.com/negawatt/negawatt/savings"
)

// The whole pipeline on a real commercial building (testdata/nmecr): fit
// the CalTRACK daily baseline on March 2012 – February 2013, settle the
// savings of March 2014 – February 2015 month by month, pay 1 point per
// 100 kWh saved (at most 750 a month) and book the points in a ledger.
// README.md shows the same code without the error handling.
func Example() {
	ctx := context.Background()
	eload, tempF := gunzip("testdata/nmecr/eload.csv.gz"), gunzip("testdata/nmecr/temp.csv.gz")
	rulesYAML := []byte(`{program: demo, version: 1, rounding: {places: 0, mode: half-even}, caps: [{per: month, max: 750}],
  rules: [{id: monthly, when: 'savings.kwh > 0', points: 'savings.kwh / 100'}]}`)

	usage, err := baseline.ReadUsageCSVWith(eload, baseline.CSVOptions{TimeColumn: "time", ValueColumn: "eload"})
	check(err)
	temp, err := baseline.ReadTemperatureCSVWith(tempF, baseline.CSVOptions{TimeColumn: "time", ValueColumn: "temp", Unit: baseline.Fahrenheit})
	check(err)
	fit, err := baseline.FitBaseline(usage, temp, time.Date(2013, 3, 1, 0, 0, 0, 0, time.UTC), 365, baseline.DailyOptions())
	check(err)
	metered, err := savings.MeteredWindow(fit.Model, usage, temp, time.Date(2014, 3, 1, 0, 0, 0, 0, time.UTC), 365)
	check(err)
	months, err := savings.MonthlySettlement(metered.Periods, savings.MonthlyOptions{})
	check(err)
	program, err := rewards.Load("rules.yaml", rulesYAML)
	check(err)
	var facts []rewards.Fact
	for _, m := range months {
		facts = append(facts, rewards.Fact{Customer: rewards.Customer{ID: "c1"}, Savings: m.Result()})
	}
	l, err := ledger.NewMemory() // or sqlite.Open(ctx, "ledger.db"), postgres.Open(...)
	check(err)
	tally, err := ledgertally.New(l)
	check(err)
	outcomes, err := program.Evaluate(tally, facts)
	check(err)
	balance, err := l.Balance(ctx, tally.CustomerAccount("c1"), time.Time{})
	check(err)

	fmt.Printf("%s model, %.0f kWh saved (%.1f%%)\n", fit.Model.Type, metered.SavingsKWh, metered.PercentSavings)
	fmt.Printf("%d awards, balance %s points\n", len(rewards.Awards(outcomes)), balance.Available)
	// Output:
	// hdd_only model, 420439 kWh saved (7.6%)
	// 12 awards, balance 4205 points
}

func gunzip(name string) io.Reader {
	f, err := os.Open(name)
	check(err)
	r, err := gzip.NewReader(f)
	check(err)
	return r
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
