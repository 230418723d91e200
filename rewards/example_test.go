package rewards_test

import (
	"errors"
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

// Every problem in a rule file is reported with its position and, inside
// expressions, a caret.
func ExampleLoad_errors() {
	_, err := rewards.Load("bad.yaml", []byte(`program: p
version: 1
rules:
  - id: monthly
    when: savings.kwh > 0 && customer.teir == "gold"
    points: savings.kwh * 10
    prority: 2
`))
	var errs rewards.RuleErrors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Println(e.Detail())
		}
	}
	// Output:
	// bad.yaml:5:39: rule "monthly": when: type rewards.CustomerEnv has no field teir
	//     |     when: savings.kwh > 0 && customer.teir == "gold"
	//     |                                       ^
	// bad.yaml:7:5: rule "monthly": prority: unknown key "prority"
}

// A candidate rule set is compared with the live one on the same facts
// without paying; promotion switches the live program atomically.
func ExampleDiff() {
	live, _ := rewards.Load("v1.yaml", []byte("program: p\nversion: 1\nrules:\n  - {id: base, points: savings.kwh * 10}\n"))
	candidate, _ := rewards.Load("v2.yaml", []byte("program: p\nversion: 2\nrules:\n  - {id: base, points: savings.kwh * 12}\n"))
	start := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	facts := []rewards.Fact{
		{Customer: rewards.Customer{ID: "c1"}, Savings: savings.Result{Kind: savings.KindPeriod, ID: "2024-07", Start: start, SavingsKWh: 5}},
		{Customer: rewards.Customer{ID: "c2"}, Savings: savings.Result{Kind: savings.KindPeriod, ID: "2024-07", Start: start, SavingsKWh: 0}},
	}
	report, err := rewards.Diff(live, candidate, facts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("customers changed %d, points %s -> %s\n", report.Total.CustomersChanged, report.Total.LivePoints, report.Total.CandidatePoints)

	var registry rewards.Registry
	registry.Promote(live)
	registry.Promote(candidate)
	fmt.Println("live version", registry.Live().Version())
	registry.Rollback()
	fmt.Println("after rollback", registry.Live().Version())
	// Output:
	// customers changed 1, points 50 -> 60
	// live version 2
	// after rollback 1
}
