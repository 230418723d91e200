package ledgertally

import (
	"fmt"
	"testing"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/savings"
)

func fact(customer string) rewards.Fact {
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	return rewards.Fact{
		Customer: rewards.Customer{ID: customer, Tier: "silver"},
		Savings: savings.Result{Kind: savings.KindPeriod, ID: "2024-06", Start: start, End: start.AddDate(0, 1, 0),
			BaselineKWh: 110, ObservedKWh: 100, SavingsKWh: 10},
	}
}

// stripeOf is the stripe lock's index of a customer of program p.
func stripeOf(t *testing.T, tl *Tally, customer string) int {
	t.Helper()
	b := tl.Batch()
	defer b.Discard()
	if err := b.lock(&rewards.Claim{Program: "p", Customer: customer}); err != nil {
		t.Fatal(err)
	}
	for id := range b.held {
		if id.stripe >= 0 {
			return id.stripe
		}
	}
	t.Fatal("no stripe held")
	return -1
}

// TestLockGranularity: a claim without a budget holds its program's lock
// shared and its own customer's stripe, so another customer of the same
// program settles meanwhile; a claim with a budget holds the program lock
// exclusively, so no other claim of the program can run beside it.
func TestLockGranularity(t *testing.T) {
	for _, tc := range []struct {
		name, rules string
		exclusive   bool
	}{
		{"caps only", "caps: [{per: month, max: 100}]", false},
		{"budget", "budget: 1000", true},
		{"rule budget", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule := "  - {id: saved, when: 'savings.kwh > 0', points: savings.kwh}\n"
			if tc.name == "rule budget" {
				rule = "  - {id: saved, when: 'savings.kwh > 0', points: savings.kwh, budget: 50}\n"
			}
			p, err := rewards.Load("r.yaml", []byte("program: p\nversion: 1\nrounding: {places: 0, mode: half-even}\n"+tc.rules+"\nrules:\n"+rule))
			if err != nil {
				t.Fatal(err)
			}
			l, err := ledger.NewMemory()
			if err != nil {
				t.Fatal(err)
			}
			tl, err := New(l)
			if err != nil {
				t.Fatal(err)
			}
			a, other := "a", ""
			for i := range 100 {
				if c := fmt.Sprintf("b%d", i); stripeOf(t, tl, c) != stripeOf(t, tl, a) {
					other = c
					break
				}
			}
			b := tl.Batch()
			defer b.Discard()
			if _, err := p.Evaluate(b, []rewards.Fact{fact(a)}); err != nil {
				t.Fatal(err)
			}
			mu := tl.state.programLock("p")
			if got := !mu.TryRLock(); got != tc.exclusive {
				t.Fatalf("program lock exclusive = %v while a batch holds a claim, want %v", got, tc.exclusive)
			} else if !got {
				mu.RUnlock()
			}
			if !tc.exclusive {
				// Runs to completion in this goroutine only because the
				// batch holds neither the program lock exclusively nor
				// the other customer's stripe.
				o, err := p.Evaluate(tl, []rewards.Fact{fact(other)})
				if err != nil || len(rewards.Awards(o)) != 1 {
					t.Fatalf("other customer during the batch: %v, %v", rewards.Awards(o), err)
				}
			}
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			if !mu.TryLock() {
				t.Fatal("program lock still held after Commit")
			}
			mu.Unlock()
		})
	}
}
