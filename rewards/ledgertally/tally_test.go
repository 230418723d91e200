package ledgertally_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/sqlite"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/rewards/ledgertally"
	"github.com/negawatt/negawatt/savings"
	"github.com/shopspring/decimal"
)

// backends are the ledgers every scenario runs on, beside rewards.MemoryTally.
var backends = []struct {
	name string
	open func(t testing.TB) ledger.Ledger
}{
	{"memory", func(t testing.TB) ledger.Ledger {
		l, err := ledger.NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}},
	{"sqlite", func(t testing.TB) ledger.Ledger {
		// SyncNormal: durability is not under test and fsync dominates.
		l, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), sqlite.WithSynchronous(sqlite.SyncNormal))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}},
	// The same two with ledgertally.AutoCreate: the ledger opens a new
	// customer's account in the unit of work of their first award.
	{"memory-autocreate", func(t testing.TB) ledger.Ledger {
		l, err := ledger.NewMemory(ledger.WithAutoCreate(ledgertally.AutoCreate))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return autoEngine{l}
	}},
	{"sqlite-autocreate", func(t testing.TB) ledger.Ledger {
		l, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), sqlite.WithSynchronous(sqlite.SyncNormal),
			sqlite.WithLedgerOptions(ledger.WithAutoCreate(ledgertally.AutoCreate)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return autoEngine{l}
	}},
}

// autoEngine marks a ledger opened with ledgertally.AutoCreate, for which
// newTally passes WithLedgerCreatesAccounts.
type autoEngine struct{ *ledger.Engine }

func newTally(t testing.TB, l ledger.Ledger) *ledgertally.Tally {
	t.Helper()
	var opts []ledgertally.Option
	if _, ok := l.(autoEngine); ok {
		opts = append(opts, ledgertally.WithLedgerCreatesAccounts())
	}
	tl, err := ledgertally.New(l, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// paid is the comparable part of an award.
type paid struct {
	Customer, Rule, Fact, Points, Key, Adjusts string
}

func awardsOf(outcomes []rewards.Outcome) []paid {
	var out []paid
	for _, a := range rewards.Awards(outcomes) {
		out = append(out, paid{a.Customer, a.Rule, a.Fact, a.Points.String(), a.Key, a.Adjusts})
	}
	return out
}

func load(t *testing.T, rules, facts string) (*rewards.Program, []rewards.Fact) {
	t.Helper()
	src, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rewards.Load(rules, src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(facts)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs, err := rewards.DecodeFacts(f)
	if err != nil {
		t.Fatal(err)
	}
	return p, fs
}

// TestSameAwardsAsMemoryTally settles every example rule set of
// testdata/rules (caps, budgets, groups, restatements, rounding, events)
// twice, fact by fact, with rewards.MemoryTally and with a ledger-backed
// Tally, and requires the same awards; then checks the ledger balances equal
// the awards.
func TestSameAwardsAsMemoryTally(t *testing.T) {
	files, err := filepath.Glob("../../testdata/rules/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule sets: %v", err)
	}
	for _, rules := range files {
		facts := strings.TrimSuffix(rules, ".yaml") + ".facts.jsonl"
		if _, err := os.Stat(facts); err != nil {
			continue
		}
		p, fs := load(t, rules, facts)
		want := settle(t, p, &rewards.MemoryTally{}, fs)
		for _, b := range backends {
			t.Run(filepath.Base(rules)+"/"+b.name, func(t *testing.T) {
				t.Parallel() // SQLite waits on fsync; overlap the files
				l := b.open(t)
				tl := newTally(t, l)
				got := settle(t, p, tl, fs)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("awards differ from MemoryTally (-memory +ledger):\n%s", d)
				}
				checkBalances(t, l, tl, got)
			})
		}
	}
}

// settle evaluates the facts one at a time (as a service settles them as
// they arrive), each one twice: the second settlement must pay nothing.
func settle(t *testing.T, p *rewards.Program, tl rewards.Tally, fs []rewards.Fact) []paid {
	t.Helper()
	var out []paid
	for i := range fs {
		o, err := p.Evaluate(tl, fs[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, awardsOf(o)...)
		if o, err = p.Evaluate(tl, fs[i:i+1]); err != nil {
			t.Fatal(err)
		}
		if again := awardsOf(o); len(again) != 0 {
			t.Errorf("fact %d settled again paid: %v", i, again)
		}
	}
	return out
}

func checkBalances(t *testing.T, l ledger.Ledger, tl *ledgertally.Tally, awards []paid) {
	t.Helper()
	want := map[string]decimal.Decimal{}
	for _, a := range awards {
		want[a.Customer] = want[a.Customer].Add(decimal.RequireFromString(a.Points))
	}
	for c, w := range want {
		b, err := l.Balance(context.Background(), tl.CustomerAccount(c), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !b.Posted.Equal(w) {
			t.Errorf("customer %s: ledger balance %s, awards sum to %s", c, b.Posted, w)
		}
	}
}

const capRules = `
program: p
version: 1
rounding: {places: 0, mode: half-even}
caps:
  - {per: month, max: 100}
budget: 1000
rules:
  - id: saved
    when: savings.kwh > 0
    points: savings.kwh
`

func periodFact(customer, id string, start time.Time, kwh float64) rewards.Fact {
	return rewards.Fact{
		Customer: rewards.Customer{ID: customer, Tier: "silver"},
		Savings: savings.Result{Kind: savings.KindPeriod, ID: id, Start: start, End: start.Add(24 * time.Hour),
			BaselineKWh: 100 + kwh, ObservedKWh: 100, SavingsKWh: kwh},
		Now: start.AddDate(0, 1, 0),
	}
}

// TestConcurrentCap settles 40 daily facts of 7 points each for one customer
// from 4 goroutines each (every fact several times): the monthly cap of 100
// must hold exactly, and no fact may be paid twice.
func TestConcurrentCap(t *testing.T) {
	p, err := rewards.Load("caps.yaml", []byte(capRules))
	if err != nil {
		t.Fatal(err)
	}
	june := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	var facts []rewards.Fact
	for d := range 40 {
		// Days 0..29 are June, 30..39 July: both months hit the cap of 100 or 70.
		facts = append(facts, periodFact("c1", fmt.Sprintf("d%02d", d), june.AddDate(0, 0, d), 7))
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			l := b.open(t)
			tl := newTally(t, l)
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for g := range 4 {
				wg.Go(func() {
					for i := range facts {
						f := facts[(i+g*11)%len(facts)]
						if _, err := p.Evaluate(tl, []rewards.Fact{f}); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			sum := l.(ledger.AwardSummer)
			for _, m := range []struct {
				from time.Time
				want string
			}{{june, "100"}, {june.AddDate(0, 1, 0), "70"}} {
				got, err := sum.AwardedSum(context.Background(), ledger.AwardQuery{
					Account: tl.CustomerAccount("c1"), TagKey: ledgertally.MetaProgram, TagValue: "p",
					From: m.from, To: m.from.AddDate(0, 1, 0)})
				if err != nil {
					t.Fatal(err)
				}
				if !got.Equal(decimal.RequireFromString(m.want)) {
					t.Errorf("month %s: awarded %s, want %s (the cap, or 10 facts × 7)", m.from.Format("2006-01"), got, m.want)
				}
			}
			b, err := l.Balance(context.Background(), tl.CustomerAccount("c1"), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if !b.Posted.Equal(decimal.NewFromInt(170)) {
				t.Errorf("balance %s, want 170", b.Posted)
			}
		})
	}
}

// TestRestatement: a restated fact pays the difference as an adjustment
// referencing the original, the ledger holds both transactions with their
// tags, and re-settling the restated fact pays nothing.
func TestRestatement(t *testing.T) {
	p, err := rewards.Load("caps.yaml", []byte(capRules))
	if err != nil {
		t.Fatal(err)
	}
	june := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			l := b.open(t)
			tl := newTally(t, l)
			steps := []struct {
				kwh  float64
				want []paid
			}{
				{30, []paid{{"c1", "saved", "2024-06", "30", rewards.AwardKey("p", "saved", "c1", "2024-06"), ""}}},
				{30, nil},
				{42, []paid{{"c1", "saved", "2024-06", "12", rewards.AdjustmentKey(rewards.AwardKey("p", "saved", "c1", "2024-06"), 2), rewards.AwardKey("p", "saved", "c1", "2024-06")}}},
				{42, nil},
			}
			for i, s := range steps {
				o, err := p.Evaluate(tl, []rewards.Fact{periodFact("c1", "2024-06", june, s.kwh)})
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(s.want, awardsOf(o)); d != "" {
					t.Errorf("step %d (%v kWh): awards (-want +got):\n%s", i, s.kwh, d)
				}
			}
			adj, err := l.Lookup(context.Background(), rewards.AdjustmentKey(rewards.AwardKey("p", "saved", "c1", "2024-06"), 2))
			if err != nil {
				t.Fatal(err)
			}
			wantMeta := map[string]string{
				"program": "p", "rule": "saved", "customer": "c1", "fact": "2024-06",
				"key": rewards.AwardKey("p", "saved", "c1", "2024-06"), "adjusts": rewards.AwardKey("p", "saved", "c1", "2024-06"),
				"claimed": "42", "program_rule": ledgertally.ScopeTag("p", "saved"),
			}
			if d := cmp.Diff(wantMeta, adj.Metadata); d != "" {
				t.Errorf("adjustment metadata (-want +got):\n%s", d)
			}
			if !adj.EffectiveAt.Equal(june) {
				t.Errorf("EffectiveAt %v, want savings.start %v", adj.EffectiveAt, june)
			}
			if want := (ledger.Posting{From: "issuance/p", To: "customer/c1", Amount: decimal.NewFromInt(12)}); len(adj.Postings) != 1 ||
				adj.Postings[0].From != want.From || adj.Postings[0].To != want.To || !adj.Postings[0].Amount.Equal(want.Amount) {
				t.Errorf("postings %+v, want %+v", adj.Postings, want)
			}
		})
	}
}

// TestReversedAwardIsUnpaid: an operator reversal of an award removes it
// from what the fact was paid and from the cap, so settling again pays it
// once more (under a new adjustment key).
func TestReversedAwardIsUnpaid(t *testing.T) {
	p, err := rewards.Load("caps.yaml", []byte(capRules))
	if err != nil {
		t.Fatal(err)
	}
	june := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	l, err := ledger.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	tl := newTally(t, l)
	f := periodFact("c1", "2024-06", june, 30)
	if _, err := p.Evaluate(tl, []rewards.Fact{f}); err != nil {
		t.Fatal(err)
	}
	key := rewards.AwardKey("p", "saved", "c1", "2024-06")
	if _, err := l.Reverse(context.Background(), "rev-1", key); err != nil {
		t.Fatal(err)
	}
	// Same numbers: the claim is still the one settled, so nothing is paid;
	// a restatement pays the full new amount since nothing remains paid.
	f.Savings.SavingsKWh = 31
	o, err := p.Evaluate(tl, []rewards.Fact{f})
	if err != nil {
		t.Fatal(err)
	}
	want := []paid{{"c1", "saved", "2024-06", "31", rewards.AdjustmentKey(key, 2), key}}
	if d := cmp.Diff(want, awardsOf(o)); d != "" {
		t.Errorf("awards (-want +got):\n%s", d)
	}
}

type notSummer struct{ ledger.Ledger }

func TestNewNeedsAwardSummer(t *testing.T) {
	l, err := ledger.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledgertally.New(notSummer{l}); !errors.Is(err, ledgertally.ErrNoAwardSummer) {
		t.Fatalf("New: %v, want ErrNoAwardSummer", err)
	}
}

// TestPostErrorIsReported: an award the ledger refuses (more decimal places
// than the currency's scale) fails the settlement with the ledger's error
// and posts nothing.
func TestPostErrorIsReported(t *testing.T) {
	p, err := rewards.Load("r.yaml", []byte(`
program: p
version: 1
rounding: {places: 3, mode: half-even}
rules:
  - id: saved
    when: savings.kwh > 0
    points: savings.kwh
`))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	tl := newTally(t, l)
	_, err = p.Evaluate(tl, []rewards.Fact{periodFact("c1", "f", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), 1.234)})
	if !errors.Is(err, ledger.ErrScale) {
		t.Fatalf("Evaluate: %v, want ledger.ErrScale", err)
	}
	if _, err := l.Lookup(context.Background(), rewards.AwardKey("p", "saved", "c1", "f")); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Lookup after refused award: %v, want ErrNotFound", err)
	}
}

func TestWithContextCancelled(t *testing.T) {
	p, err := rewards.Load("caps.yaml", []byte(capRules))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tl := newTally(t, l).WithContext(ctx)
	_, err = p.Evaluate(tl, []rewards.Fact{periodFact("c1", "f", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), 5)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Evaluate with cancelled context: %v, want context.Canceled", err)
	}
}

// TestAccountKindConflict: an existing account under the customer's name
// that is not a customer account is refused, not paid into.
func TestAccountKindConflict(t *testing.T) {
	p, err := rewards.Load("caps.yaml", []byte(capRules))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateAccount(context.Background(), ledger.Account{ID: "customer/c1", Kind: ledger.KindSystem}); err != nil {
		t.Fatal(err)
	}
	_, err = p.Evaluate(newTally(t, l), []rewards.Fact{periodFact("c1", "f", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), 5)})
	if !errors.Is(err, ledger.ErrAccountConflict) {
		t.Fatalf("Evaluate: %v, want ledger.ErrAccountConflict", err)
	}
}

func TestAutoCreate(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want ledger.Account
		ok   bool
	}{
		{"customer/c1", ledger.Account{ID: "customer/c1", Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative}, true},
		{"issuance/p", ledger.Account{ID: "issuance/p", Kind: ledger.KindIssuance}, true},
		{"customer/", ledger.Account{}, false},
		{"issuance/", ledger.Account{}, false},
		{"redeemed", ledger.Account{}, false},
		{"c1", ledger.Account{}, false},
	} {
		got, ok := ledgertally.AutoCreate(tc.id)
		if ok != tc.ok || got != tc.want {
			t.Errorf("AutoCreate(%q) = %+v, %v; want %+v, %v", tc.id, got, ok, tc.want, tc.ok)
		}
	}
	// A customer's first award opens the account the rule describes.
	l := backends[2].open(t)
	tl := newTally(t, l)
	p, _ := load(t, "../../testdata/rules/caps.yaml", "../../testdata/rules/caps.facts.jsonl")
	if _, err := p.Evaluate(tl, []rewards.Fact{periodFact("c9", "2024-06", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), 50)}); err != nil {
		t.Fatal(err)
	}
	a, err := l.Account(context.Background(), tl.CustomerAccount("c9"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != ledger.KindCustomer || a.Flags&ledger.FlagNoNegative == 0 {
		t.Errorf("opened %+v, want a customer account that may not go negative", a)
	}
}
