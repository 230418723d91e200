package rewards

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// genSet draws a small rule set: one or two kWh rules, optional per-rule
// and set caps of random periods, optional budgets.
func genSet(t *rapid.T, withBudget bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "program: prop\nversion: 1\nrounding: {places: %d, mode: %s}\n",
		rapid.IntRange(0, 2).Draw(t, "places"), rapid.SampledFrom(modeNames).Draw(t, "mode"))
	periods := []string{"day", "week", "month", "year", "lifetime"}
	if withBudget && rapid.Bool().Draw(t, "setBudget") {
		fmt.Fprintf(&b, "budget: %d\n", rapid.IntRange(0, 500).Draw(t, "budget"))
	}
	if rapid.Bool().Draw(t, "setCap") {
		fmt.Fprintf(&b, "caps: [{per: %s, max: %d}]\n", rapid.SampledFrom(periods).Draw(t, "setPer"), rapid.IntRange(0, 300).Draw(t, "setMax"))
	}
	b.WriteString("rules:\n")
	for i := range rapid.IntRange(1, 3).Draw(t, "rules") {
		fmt.Fprintf(&b, "  - id: r%d\n    priority: %d\n    when: savings.kwh > 0\n    points: savings.kwh * %s\n",
			i, rapid.IntRange(0, 2).Draw(t, "prio"), rapid.SampledFrom([]string{"1", "2.5", "0.37", "10"}).Draw(t, "rate"))
		if rapid.Bool().Draw(t, "ruleCap") {
			fmt.Fprintf(&b, "    caps: [{per: %s, max: %d}]\n", rapid.SampledFrom(periods).Draw(t, "per"), rapid.IntRange(0, 200).Draw(t, "max"))
		}
		if withBudget && rapid.Bool().Draw(t, "ruleBudget") {
			fmt.Fprintf(&b, "    budget: %d\n", rapid.IntRange(0, 400).Draw(t, "rbudget"))
		}
	}
	return b.String()
}

func genFacts(t *rapid.T) []Fact {
	n := rapid.IntRange(1, 25).Draw(t, "facts")
	out := make([]Fact, n)
	for i := range out {
		cust := fmt.Sprintf("c%d", rapid.IntRange(0, 3).Draw(t, "cust"))
		day := rapid.IntRange(0, 400).Draw(t, "day")
		start := mustTime("2024-01-01T00:00:00Z").AddDate(0, 0, day).Format("2006-01-02T15:04:05Z")
		kwh := float64(rapid.IntRange(-500, 5000).Draw(t, "centikwh")) / 100
		out[i] = periodFact(cust, "", fmt.Sprintf("f%d", i), start, kwh)
	}
	return out
}

func settle(t *rapid.T, p *Program, tally Tally, facts []Fact) []Outcome {
	outs, err := p.Evaluate(tally, facts)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

type awardSummary struct{ Rule, Fact, Points, Key string }

func byCustomer(outs []Outcome) map[string][]awardSummary {
	m := map[string][]awardSummary{}
	for _, o := range outs {
		if a := o.Award; a != nil {
			m[a.Customer] = append(m[a.Customer], awardSummary{a.Rule, a.Fact, a.Points.String(), a.Key})
		}
	}
	return m
}

// Same facts, same awards; and without budgets (which couple customers)
// any interleaving of customers that keeps each customer's order pays
// each customer the same awards.
func TestPropDeterministic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, err := Load("p.yaml", []byte(genSet(t, false)))
		if err != nil {
			t.Fatal(err)
		}
		facts := genFacts(t)
		a := byCustomer(settle(t, p, &MemoryTally{}, facts))
		if diff := cmp.Diff(a, byCustomer(settle(t, p, &MemoryTally{}, facts))); diff != "" {
			t.Fatalf("not deterministic:\n%s", diff)
		}
		// Stable-sort facts by a random customer order.
		rank := map[string]int{}
		for i, c := range rapid.Permutation([]string{"c0", "c1", "c2", "c3"}).Draw(t, "order") {
			rank[c] = i
		}
		shuffled := append([]Fact(nil), facts...)
		for i := 1; i < len(shuffled); i++ {
			for j := i; j > 0 && rank[shuffled[j].Customer.ID] < rank[shuffled[j-1].Customer.ID]; j-- {
				shuffled[j], shuffled[j-1] = shuffled[j-1], shuffled[j]
			}
		}
		if diff := cmp.Diff(a, byCustomer(settle(t, p, &MemoryTally{}, shuffled))); diff != "" {
			t.Fatalf("customer order changed awards:\n%s", diff)
		}
	})
}

// Caps and budgets are never exceeded, and every award is on the rounding grid.
func TestPropLimitsHold(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, err := Load("p.yaml", []byte(genSet(t, true)))
		if err != nil {
			t.Fatal(err)
		}
		facts := genFacts(t)
		tally := &MemoryTally{}
		outs := settle(t, p, tally, facts)
		fi := map[string]*Fact{}
		for i := range facts {
			fi[facts[i].Customer.ID+"/"+facts[i].Savings.ID] = &facts[i]
		}
		sums := map[string]Limit{}
		paid := map[string]float64{}
		for _, o := range outs {
			if o.Award == nil {
				continue
			}
			if !o.Award.Points.Equal(p.set.Rounding.Round(o.Award.Points)) {
				t.Fatalf("award %s not rounded to %v", o.Award.Points, p.set.Rounding)
			}
			var r *compiledRule
			for _, cr := range p.rules {
				if cr.ID == o.Rule {
					r = cr
				}
			}
			for _, l := range p.limits(nil, r, fi[o.Customer+"/"+o.Fact]) {
				sums[l.Key()] = l
				pts, _ := o.Award.Points.Float64()
				paid[l.Key()] += pts
			}
		}
		for k, l := range sums {
			if !tally.Used(l).LessThanOrEqual(l.Max) {
				t.Fatalf("%v used %s", l, tally.Used(l))
			}
			max, _ := l.Max.Float64()
			if paid[k] > max+1e-9 {
				t.Fatalf("%v: awards sum to %v", l, paid[k])
			}
		}
	})
}

// Re-settling the same facts pays nothing more.
func TestPropResettlePaysNothing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, err := Load("p.yaml", []byte(genSet(t, true)))
		if err != nil {
			t.Fatal(err)
		}
		facts := genFacts(t)
		tally := &MemoryTally{}
		settle(t, p, tally, facts)
		if again := Awards(settle(t, p, tally, facts)); len(again) != 0 {
			t.Fatalf("re-settling paid %d awards, first %+v", len(again), again[0])
		}
	})
}

// A fact restated any number of times has paid exactly round(last) in total
// with allow_negative, and the largest rounded value seen without it.
func TestPropRestatementPaysDifference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		neg := rapid.Bool().Draw(t, "allowNegative")
		mode := rapid.SampledFrom(modeNames).Draw(t, "mode")
		p, err := Load("p.yaml", []byte(fmt.Sprintf(
			"program: p\nversion: 1\nrounding: {places: 1, mode: %s}\nrules:\n  - id: r\n    points: savings.kwh * 3\n    allow_negative: %v\n", mode, neg)))
		if err != nil {
			t.Fatal(err)
		}
		tally := &MemoryTally{}
		best, last, sum := -1e18, 0.0, 0.0
		for i := range rapid.IntRange(1, 8).Draw(t, "restatements") {
			kwh := float64(rapid.IntRange(-1000, 1000).Draw(t, "centikwh")) / 100
			f := periodFact("c1", "", "2024-07", "2024-07-01T00:00:00Z", kwh)
			outs := settle(t, p, tally, []Fact{f})
			o := outs[0]
			if o.Status == StatusError {
				if neg || !o.Explanation.RoundedPoints.IsNegative() {
					t.Fatalf("unexpected error %v", o.Err)
				}
				continue
			}
			r, _ := o.Explanation.RoundedPoints.Float64()
			last = r
			best = max(best, r)
			if o.Award != nil {
				pts, _ := o.Award.Points.Float64()
				sum += pts
				if i == 0 && o.Award.Adjusts != "" {
					t.Fatalf("adjusts %q on restatement %d", o.Award.Adjusts, i)
				}
			}
		}
		got := tally.Paid(AwardKey("p", "r", "c1", "2024-07"))
		g, _ := got.Float64()
		if best == -1e18 {
			return // every statement was a negative-points error
		}
		want := best
		if neg {
			want = last
		} else if best < 0 {
			want = 0
		}
		if diff := g - want; diff > 1e-9 || diff < -1e-9 || sum-g > 1e-9 || g-sum > 1e-9 {
			t.Fatalf("paid %v (awards sum %v), want %v", g, sum, want)
		}
	})
}
