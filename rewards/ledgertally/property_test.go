package ledgertally_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/rewards/ledgertally"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// genFacts draws settlements of a few facts of a few customers, with
// repeats and restatements (the same fact id with new kWh).
func genFacts(t *rapid.T) []rewards.Fact {
	jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	n := rapid.IntRange(1, 40).Draw(t, "n")
	facts := make([]rewards.Fact, n)
	for i := range facts {
		c := rapid.IntRange(0, 2).Draw(t, "customer")
		day := rapid.IntRange(0, 59).Draw(t, "day") // January and February
		kwh := float64(rapid.IntRange(-20, 80).Draw(t, "kwh")) / 2
		facts[i] = periodFact(fmt.Sprintf("c%d", c), fmt.Sprintf("d%02d", day), jan.AddDate(0, 0, day), kwh)
	}
	return facts
}

// TestPropertyMatchesMemoryTally: without caps (so no claim is trimmed to
// zero, the one documented difference) a ledger-backed Tally pays exactly
// what MemoryTally pays, restatements and negative adjustments included.
func TestPropertyMatchesMemoryTally(t *testing.T) {
	p, err := rewards.Load("r.yaml", []byte(`
program: p
version: 1
rounding: {places: 1, mode: half-even}
rules:
  - id: saved
    when: savings.kwh != 0
    points: savings.kwh * 3
    allow_negative: true
  - id: flat
    when: savings.kwh > 10
    points: 5
`))
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(t *rapid.T) {
		facts := genFacts(t)
		l, err := ledger.NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		tl, err := ledgertally.New(l)
		if err != nil {
			t.Fatal(err)
		}
		mem := &rewards.MemoryTally{}
		for i := range facts {
			want, err := p.Evaluate(mem, facts[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Evaluate(tl, facts[i:i+1])
			if err != nil {
				// A negative adjustment larger than the customer's
				// balance is refused by the never-negative customer
				// account; MemoryTally has no balances.
				t.Skipf("ledger refused: %v", err)
			}
			if d := cmp.Diff(awardsOf(want), awardsOf(got)); d != "" {
				t.Fatalf("settlement %d: awards (-memory +ledger):\n%s", i, d)
			}
		}
	})
}

// TestPropertyCapsAndBalances: with a monthly cap and a budget, in any
// sequence of settlements no customer's month exceeds the cap, the program
// never exceeds its budget, re-settling pays nothing, and every customer's
// ledger balance is the sum of their awards.
func TestPropertyCapsAndBalances(t *testing.T) {
	p, err := rewards.Load("r.yaml", []byte(`
program: p
version: 1
rounding: {places: 0, mode: half-up}
budget: 120
caps: [{per: month, max: 40}]
rules:
  - id: saved
    when: savings.kwh > 0
    points: savings.kwh * 2
`))
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(t *rapid.T) {
		facts := genFacts(t)
		l, err := ledger.NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		tl, err := ledgertally.New(l)
		if err != nil {
			t.Fatal(err)
		}
		perMonth := map[string]decimal.Decimal{}
		perCustomer := map[string]decimal.Decimal{}
		var total decimal.Decimal
		for i := range facts {
			o, err := p.Evaluate(tl, facts[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range rewards.Awards(o) {
				k := a.Customer + a.EffectiveAt.Format("2006-01")
				perMonth[k] = perMonth[k].Add(a.Points)
				perCustomer[a.Customer] = perCustomer[a.Customer].Add(a.Points)
				total = total.Add(a.Points)
				if perMonth[k].GreaterThan(decimal.NewFromInt(40)) {
					t.Fatalf("%s: %s points in a month, cap 40", k, perMonth[k])
				}
			}
			if total.GreaterThan(decimal.NewFromInt(120)) {
				t.Fatalf("%s points paid, budget 120", total)
			}
			again, err := p.Evaluate(tl, facts[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			if a := rewards.Awards(again); len(a) != 0 {
				t.Fatalf("re-settling paid %v", a)
			}
		}
		for c, want := range perCustomer {
			b, err := l.Balance(context.Background(), tl.CustomerAccount(c), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if !b.Posted.Equal(want) {
				t.Fatalf("%s: balance %s, awards %s", c, b.Posted, want)
			}
		}
	})
}
