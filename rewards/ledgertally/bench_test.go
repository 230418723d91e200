package ledgertally_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/negawatt/negawatt/rewards"
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
