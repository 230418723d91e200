package rewards_test

import (
	"fmt"
	"time"

	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/savings"
)

func Example() {
	rules := []byte(`
program: peak-saver
version: 3
rounding: {places: 1, mode: half-even}
caps:
  - {per: month, max: 400}
multipliers:
  tiers: {gold: 1.5, default: 1}
rules:
  - id: monthly-savings
    when: savings.kind == "period" && savings.kwh > 0
    points: savings.kwh * 10 * multiplier("tiers", customer.tier)
`)
	program, err := rewards.Load("peak-saver.yaml", rules)
	if err != nil {
		fmt.Println(err)
		return
	}
	july := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	fact := rewards.Fact{
		Customer: rewards.Customer{ID: "c1", Tier: "gold"},
		Savings: savings.Result{Kind: savings.KindPeriod, ID: "2024-07", Start: july, End: july.AddDate(0, 1, 0),
			BaselineKWh: 812.4, ObservedKWh: 791.85, SavingsKWh: 20.55},
	}
	tally := &rewards.MemoryTally{}
	for _, settlement := range []string{"first", "again"} {
		outcomes, err := program.Evaluate(tally, []rewards.Fact{fact})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, o := range outcomes {
			if o.Award != nil {
				fmt.Printf("%s: %s pays %s points (raw %s)\n", settlement, o.Rule, o.Award.Points, o.Explanation.RawPoints)
			} else {
				fmt.Printf("%s: %s pays nothing: %s\n", settlement, o.Rule, o.Explanation.Reason)
			}
		}
	}
	// Output:
	// first: monthly-savings pays 308.2 points (raw 308.25)
	// again: monthly-savings pays nothing: already settled
}
