package ledgertally_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/rewards/ledgertally"
)

// BenchmarkSettle settles one new monthly fact per iteration (new customer
// each time, so every Reserve reads its prior and cap and posts an award).
func BenchmarkSettle(b *testing.B) {
	p, err := rewards.Load("caps.yaml", []byte(capRules))
	if err != nil {
		b.Fatal(err)
	}
	june := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			tl := newTally(b, be.open(b))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f := periodFact(fmt.Sprintf("c%d", i), "2024-06", june, 42)
				i++
				if _, err := p.Evaluate(tl, []rewards.Fact{f}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSettleExisting settles a new daily fact of one of 100 existing
// customers per iteration: the steady state of a settlement run.
func BenchmarkSettleExisting(b *testing.B) {
	p := mustLoad(b, "r.yaml", steadyRules)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			tl := warmTally(b, p, be.open(b))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f := periodFact(fmt.Sprintf("c%d", i%100), fmt.Sprintf("d%d", i), day0.AddDate(0, 0, i/100), 3)
				i++
				if _, err := p.Evaluate(tl, []rewards.Fact{f}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSettleBatch100 settles a new daily fact of each of 100
// existing customers per iteration through one Batch (one PostBatch
// instead of 100 Posts); ns/op is per 100 facts.
func BenchmarkSettleBatch100(b *testing.B) {
	p := mustLoad(b, "r.yaml", steadyRules)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			tl := warmTally(b, p, be.open(b))
			b.ReportAllocs()
			d := 0
			for b.Loop() {
				bt := tl.Batch()
				for c := range 100 {
					f := periodFact(fmt.Sprintf("c%d", c), fmt.Sprintf("d%d", d), day0.AddDate(0, 0, d%300), 3)
					if _, err := p.Evaluate(bt, []rewards.Fact{f}); err != nil {
						b.Fatal(err)
					}
				}
				d++
				if err := bt.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// steadyRules pays every kWh saved, under a cap that never binds.
const steadyRules = `
program: p
version: 1
rounding: {places: 0, mode: half-even}
caps: [{per: month, max: 1000000000}]
rules:
  - id: saved
    when: savings.kwh > 0
    points: savings.kwh
`

// day0 is the first day of the steady-state benchmarks' daily facts.
var day0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// warmTally is a Tally over l whose 100 customers c0…c99 each have an
// award already: the steady state of a settlement run.
func warmTally(b *testing.B, p *rewards.Program, l ledger.Ledger) *ledgertally.Tally {
	b.Helper()
	tl := newTally(b, l)
	for c := range 100 {
		if _, err := p.Evaluate(tl, []rewards.Fact{periodFact(fmt.Sprintf("c%d", c), "warm", day0, 1)}); err != nil {
			b.Fatal(err)
		}
	}
	return tl
}
