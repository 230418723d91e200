package ledgertally_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/rewards/ledgertally"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// limitedRules has a per-customer monthly cap, a per-rule budget, a
// set-wide budget, a restatable rule that takes back what it paid and a
// second rule drawing on the same limits.
const limitedRules = `
program: p
version: 1
rounding: {places: 0, mode: half-even}
budget: 300
caps: [{per: month, max: 60}]
rules:
  - id: saved
    when: savings.kwh > 0
    points: savings.kwh * 2
    allow_negative: true
  - id: bonus
    when: savings.kwh > 10
    points: 7
    budget: 40
`

// TestPropertyBatchMatchesReserve: settling any sequence of facts through
// Batches committed at arbitrary points pays exactly what reserving the
// same claims one by one pays: a batch counts its queued grants in later
// claims' priors, caps and budgets.
func TestPropertyBatchMatchesReserve(t *testing.T) {
	p, err := rewards.Load("r.yaml", []byte(limitedRules))
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(t *rapid.T) {
		facts := genFacts(t)
		commitAfter := rapid.SliceOfN(rapid.Bool(), len(facts), len(facts)).Draw(t, "commit")
		one, tlOne := memoryTally(t)
		many, tlMany := memoryTally(t)
		b := tlMany.Batch()
		defer b.Discard()
		var want, got []paid
		for i := range facts {
			o, err := p.Evaluate(tlOne, facts[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, awardsOf(o)...)
			if o, err = p.Evaluate(b, facts[i:i+1]); err != nil {
				t.Fatal(err)
			}
			got = append(got, awardsOf(o)...)
			if commitAfter[i] {
				if err := b.Commit(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("awards (-one by one +batched):\n%s", d)
		}
		for c := range 3 {
			acct := tlOne.CustomerAccount(fmt.Sprintf("c%d", c))
			b1, err1 := one.Balance(context.Background(), acct, time.Time{})
			b2, err2 := many.Balance(context.Background(), acct, time.Time{})
			if err1 != nil || err2 != nil {
				continue // never settled
			}
			if !b1.Posted.Equal(b2.Posted) {
				t.Fatalf("%s: balance %s one by one, %s batched", acct, b1.Posted, b2.Posted)
			}
		}
	})
}

func memoryTally(t interface{ Fatal(...any) }) (ledger.Ledger, *ledgertally.Tally) {
	l, err := ledger.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	tl, err := ledgertally.New(l)
	if err != nil {
		t.Fatal(err)
	}
	return l, tl
}

// juneCapRules caps every customer at 60 points a month; a test may
// append a budget.
const juneCapRules = `
program: p
version: 1
rounding: {places: 0, mode: half-even}
caps: [{per: month, max: 60}]
rules:
  - id: saved
    when: savings.kwh > 0
    points: savings.kwh
`

// juneClaims is 12 customers' 6 daily facts of 15 kWh each in June 2024:
// 90 kWh a customer against a cap of 60.
func juneClaims() (june time.Time, facts []rewards.Fact) {
	june = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for c := range 12 {
		for d := range 6 {
			facts = append(facts, periodFact(fmt.Sprintf("c%02d", c), fmt.Sprintf("d%02d", d), june.AddDate(0, 0, d), 15))
		}
	}
	return june, facts
}

// mustLoad compiles the rule file src, named name.
func mustLoad(tb testing.TB, name, src string) *rewards.Program {
	tb.Helper()
	p, err := rewards.Load(name, []byte(src))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestConcurrentCustomersBudget: 12 customers each claim 6 × 15 points in
// one month (cap 60 each, budget 400 for all) from 4 goroutines at once, half reserving claim by claim and half in Batches over customers
// in random order (locks taken out of order are tried, then the batch
// commits and starts over). Every fact is claimed by several goroutines.
// The budget must be met exactly, no cap exceeded and no fact paid twice.
func TestConcurrentCustomersBudget(t *testing.T) {
	p := mustLoad(t, "caps.yaml", juneCapRules+"budget: 400\n")
	june, facts := juneClaims()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			l := be.open(t)
			tl := newTally(t, l)
			settleConcurrently(t, p, tl, facts, 4)
			sum := l.(ledger.AwardSummer)
			total := decimal.Zero
			for c := range 12 {
				got, err := sum.AwardedSum(context.Background(), ledger.AwardQuery{
					Account: tl.CustomerAccount(fmt.Sprintf("c%02d", c)), TagKey: ledgertally.MetaProgram, TagValue: "p",
					From: june, To: june.AddDate(0, 1, 0)})
				if _, auto := l.(autoEngine); auto && errors.Is(err, ledger.ErrNotFound) {
					got, err = decimal.Zero, nil // never awarded: its account was never opened
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.GreaterThan(decimal.NewFromInt(60)) {
					t.Errorf("c%02d: awarded %s in June, cap 60", c, got)
				}
				total = total.Add(got)
			}
			if !total.Equal(decimal.NewFromInt(400)) {
				t.Errorf("awarded %s in total, want the budget 400 exactly (demand 1080, caps allow 720)", total)
			}
			checkOncePerFact(t, l, facts)
		})
	}
}

// TestConcurrentCustomersCaps: without a budget, claims of different
// customers take no common exclusive lock; every customer still gets
// exactly the cap.
func TestConcurrentCustomersCaps(t *testing.T) {
	p := mustLoad(t, "caps.yaml", juneCapRules)
	_, facts := juneClaims()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			l := be.open(t)
			tl := newTally(t, l)
			settleConcurrently(t, p, tl, facts, 4)
			for c := range 12 {
				b, err := l.Balance(context.Background(), tl.CustomerAccount(fmt.Sprintf("c%02d", c)), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if !b.Posted.Equal(decimal.NewFromInt(60)) {
					t.Errorf("c%02d: balance %s, want the cap 60", c, b.Posted)
				}
			}
			checkOncePerFact(t, l, facts)
		})
	}
}

// settleConcurrently settles every fact from each of n goroutines, in a
// different random order each; odd goroutines use Batches of 1–8 facts.
func settleConcurrently(t *testing.T, p *rewards.Program, tl *ledgertally.Tally, facts []rewards.Fact, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			order := rng.Perm(len(facts))
			if g%2 == 0 {
				for _, i := range order {
					if _, err := p.Evaluate(tl, facts[i:i+1]); err != nil {
						errs <- err
						return
					}
				}
				return
			}
			b := tl.Batch()
			defer b.Discard()
			for k, i := range order {
				if _, err := p.Evaluate(b, facts[i:i+1]); err != nil {
					errs <- err
					return
				}
				if k%(1+rng.IntN(8)) == 0 {
					if err := b.Commit(); err != nil {
						errs <- err
						return
					}
				}
			}
			if err := b.Commit(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// checkOncePerFact: no fact has an adjustment (they were never restated),
// so none was paid twice.
func checkOncePerFact(t *testing.T, l ledger.Ledger, facts []rewards.Fact) {
	t.Helper()
	for _, f := range facts {
		key := rewards.AwardKey("p", "saved", f.Customer.ID, f.Savings.ID)
		if _, err := l.Lookup(context.Background(), rewards.AdjustmentKey(key, 2)); err == nil {
			t.Errorf("%s/%s was paid more than once", f.Customer.ID, f.Savings.ID)
		}
	}
}

// TestBatchDiscardPostsNothing: a discarded batch leaves no trace, and
// the locks it held are free again.
func TestBatchDiscardPostsNothing(t *testing.T) {
	p, err := rewards.Load("caps.yaml", []byte(capRules))
	if err != nil {
		t.Fatal(err)
	}
	l, tl := memoryTally(t)
	f := periodFact("c1", "f", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), 5)
	b := tl.Batch()
	o, err := p.Evaluate(b, []rewards.Fact{f})
	if err != nil {
		t.Fatal(err)
	}
	if len(rewards.Awards(o)) != 1 || b.Len() != 1 {
		t.Fatalf("batch decided %v, %d queued; want one award", awardsOf(o), b.Len())
	}
	b.Discard()
	if _, err := l.Lookup(context.Background(), rewards.AwardKey("p", "saved", "c1", "f")); err == nil {
		t.Fatal("a discarded batch posted its award")
	}
	// Reserve would wait forever on a lock the batch kept.
	o, err = p.Evaluate(tl, []rewards.Fact{f})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]paid{{"c1", "saved", "f", "5", rewards.AwardKey("p", "saved", "c1", "f"), ""}}, awardsOf(o)); d != "" {
		t.Errorf("after discard (-want +got):\n%s", d)
	}
}
