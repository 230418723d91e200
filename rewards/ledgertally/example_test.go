package ledgertally_test

import (
	"context"
	"fmt"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/rewards/ledgertally"
	"github.com/negawatt/negawatt/savings"
)

// Settling a month against a ledger: the award is posted as a transaction
// from the program's issuance account to the customer's account; settling
// it again pays nothing, and a restated month pays the difference, trimmed
// by the monthly cap (450 wanted, 205 paid, 400 allowed).
func Example() {
	program, err := rewards.Load("peak-saver.yaml", []byte(`
program: peak-saver
version: 1
rounding: {places: 0, mode: half-even}
caps: [{per: month, max: 400}]
rules:
  - id: monthly-savings
    when: savings.kind == "period" && savings.kwh > 0
    points: savings.kwh * 10
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	l, err := ledger.NewMemory()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	tally, err := ledgertally.New(l)
	if err != nil {
		fmt.Println(err)
		return
	}
	july := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	fact := rewards.Fact{
		Customer: rewards.Customer{ID: "c1"},
		Savings: savings.Result{Kind: savings.KindPeriod, ID: "2024-07", Start: july, End: july.AddDate(0, 1, 0),
			BaselineKWh: 812.4, ObservedKWh: 791.9, SavingsKWh: 20.5},
	}
	for _, kwh := range []float64{20.5, 20.5, 45} {
		fact.Savings.SavingsKWh = kwh
		outcomes, err := program.Evaluate(tally, []rewards.Fact{fact})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, o := range outcomes {
			if o.Award == nil {
				fmt.Printf("%v kWh: nothing (%s)\n", kwh, o.Explanation.Reason)
				continue
			}
			fmt.Printf("%v kWh: %s points\n", kwh, o.Award.Points)
		}
	}
	b, err := l.Balance(context.Background(), tally.CustomerAccount("c1"), time.Time{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("balance:", b.Available, "(cap 400/month)")
	// Output:
	// 20.5 kWh: 205 points
	// 20.5 kWh: nothing (already settled)
	// 45 kWh: 195 points
	// balance: 400 (cap 400/month)
}
