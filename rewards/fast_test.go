package rewards

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
	"github.com/negawatt/negawatt/savings"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// sameAsVM checks that every fast-path closure of p agrees with expr's VM
// on f: when the closure decides, the VM returns the same value without an
// error (decimals compared by their exact string form, which explanations
// print).
func sameAsVM(t interface {
	Helper()
	Fatalf(string, ...any)
}, p *Program, f *Fact) (fast int) {
	t.Helper()
	var env Env
	p.env(f, &env)
	m := new(vm.VM)
	for _, r := range p.rules {
		if r.fastWhen != nil {
			if got, ok := runFastBool(r.fastWhen, &env); ok {
				fast++
				v, err, _ := p.runOn(m, r.when, &env)
				if err != nil || v != got {
					t.Fatalf("rule %s when %q: fast %v, VM %v (%v)", r.ID, r.When, got, v, err)
				}
			}
		}
		if r.fastPoints != nil {
			if got, ok := runFastDec(r.fastPoints, &env); ok {
				fast++
				v, err, _ := p.runOn(m, r.points, &env)
				if err != nil || fmt.Sprint(v) != got.String() {
					t.Fatalf("rule %s points %q: fast %s, VM %v (%v)", r.ID, r.Points, got, v, err)
				}
			}
		}
	}
	return fast
}

// The fast path agrees with the VM on every example rule set and its facts.
func TestFastPathExamples(t *testing.T) {
	files, _ := filepath.Glob("../testdata/rules/*.yaml")
	files = append(files, "../testdata/rules/bench/ten-rules.yaml")
	fast := 0
	for _, path := range files {
		p := loadFile(t, path)
		facts := []Fact{benchFact(1)}
		if fh, err := os.Open(strings.TrimSuffix(path, ".yaml") + ".facts.jsonl"); err == nil {
			more, err := DecodeFacts(fh)
			fh.Close()
			if err != nil {
				t.Fatal(err)
			}
			facts = append(facts, more...)
		}
		for i := range facts {
			fast += sameAsVM(t, p, &facts[i])
		}
	}
	if fast == 0 {
		t.Fatal("no expression took the fast path")
	}
}

// genExpr draws a random expression of type typ ("bool", "dec" or "str")
// from the fast subset and a little outside it.
func genExpr(t *rapid.T, typ string, depth int) string {
	leaf := depth <= 0
	switch typ {
	case "str":
		return rapid.SampledFrom([]string{`customer.tier`, `customer.id`, `savings.kind`, `savings.id`, `event.type`,
			`event.id`, `customer.attributes["region"]`, `"gold"`, `"period"`, `"north"`, `""`}).Draw(t, "str")
	case "bool":
		if leaf {
			return rapid.SampledFrom([]string{"true", "false"}).Draw(t, "bool")
		}
		switch rapid.IntRange(0, 5).Draw(t, "boolop") {
		case 0:
			return genExpr(t, "bool", depth-1) + rapid.SampledFrom([]string{" && ", " || ", " and ", " or "}).Draw(t, "and") + genExpr(t, "bool", depth-1)
		case 1:
			return "!(" + genExpr(t, "bool", depth-1) + ")"
		case 2:
			return genExpr(t, "str", 0) + rapid.SampledFrom([]string{" == ", " != "}).Draw(t, "eq") + genExpr(t, "str", 0)
		case 3:
			return "(" + genExpr(t, "str", 0) + " + \"x\") == \"goldx\""
		default:
			return genExpr(t, "dec", depth-1) + rapid.SampledFrom([]string{" < ", " <= ", " > ", " >= ", " == ", " != "}).Draw(t, "cmp") + genExpr(t, "dec", depth-1)
		}
	}
	if leaf || rapid.IntRange(0, 3).Draw(t, "decleaf") == 0 {
		return rapid.SampledFrom([]string{"savings.kwh", "savings.percent", "savings.baseline_kwh", "savings.observed_kwh",
			"savings.uncertainty_kwh", "history.event_streak", "history.events_total", "0", "2", "10", "0.5", "1.25", "-3",
			"100000000000000000000.0", "0.0000001"}).Draw(t, "decleaf")
	}
	switch rapid.IntRange(0, 5).Draw(t, "decop") {
	case 0, 1:
		return "(" + genExpr(t, "dec", depth-1) + rapid.SampledFrom([]string{" + ", " - ", " * ", " / ", " % "}).Draw(t, "arith") + genExpr(t, "dec", depth-1) + ")"
	case 2:
		return rapid.SampledFrom([]string{"min", "max"}).Draw(t, "minmax") + "(" + genExpr(t, "dec", depth-1) + ", " + genExpr(t, "dec", depth-1) + ")"
	case 3:
		return rapid.SampledFrom([]string{"abs", "-", "floor", "ceil"}).Draw(t, "unary") + "(" + genExpr(t, "dec", depth-1) + ")"
	default:
		return fmt.Sprintf("multiplier(%q, %s)", rapid.SampledFrom([]string{"tiers", "nodefault"}).Draw(t, "table"), genExpr(t, "str", 0))
	}
}

// The fast path agrees with the VM on random expressions and facts,
// including errors (division by zero, missing multiplier keys, overflow),
// which the fast path must leave to the VM.
func TestFastPathMatchesVM(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var b strings.Builder
		b.WriteString("program: p\nversion: 1\nmultipliers:\n  tiers: {gold: 1.5, silver: 1.2, default: 1}\n  nodefault: {gold: 2}\nrules:\n")
		for i := range rapid.IntRange(1, 4).Draw(t, "rules") {
			fmt.Fprintf(&b, "  - id: r%d\n    when: %q\n    points: %q\n    allow_negative: true\n", i,
				genExpr(t, "bool", 3), genExpr(t, "dec", 3))
		}
		p, err := Load("gen.yaml", []byte(b.String()), WithLimits(Limits{MaxDigits: 40}))
		if err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		f := drawFact(t, rapid.SampledFrom([]float64{0, 1, -2.5, 110.5, 13.6, 0.1, 1e15}))
		sameAsVM(t, p, &f)
	})
}

// cmpDec agrees with decimal.Cmp, also where it takes its int64 path.
func TestCmpDecMatchesCmp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dec := func(name string) decimal.Decimal {
			c := rapid.OneOf(rapid.Int64Range(-1000, 1000), rapid.Int64(), rapid.SampledFrom([]int64{0, 1, -1, math.MaxInt64, math.MinInt64 + 1})).Draw(t, name+"c")
			return decimal.New(c, int32(rapid.IntRange(-25, 25).Draw(t, name+"e")))
		}
		a, b := dec("a"), dec("b")
		if got, want := cmpDec(a, b), a.Cmp(b); got != want {
			t.Fatalf("cmpDec(%s, %s) = %d, want %d", a, b, got, want)
		}
	})
}

// Rounding.roundSmall returns exactly what shopspring's rounding returns,
// exponent included.
func TestRoundSmallMatchesDecimal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := rapid.OneOf(rapid.Int64Range(-100000, 100000), rapid.Int64(), rapid.SampledFrom([]int64{0, 5, -5, 15, -25, 999999999999999999, -999999999999999999})).Draw(t, "c")
		d := decimal.New(c, int32(rapid.IntRange(-22, 3).Draw(t, "e")))
		r := Rounding{Places: int32(rapid.IntRange(-3, 4).Draw(t, "places")), Mode: rapid.SampledFrom([]RoundingMode{HalfEven, HalfUp, Floor, Ceil, Down}).Draw(t, "mode")}
		if d.Exponent() >= -r.Places {
			return
		}
		got, ok := r.roundSmall(d)
		if !ok {
			return
		}
		var want decimal.Decimal
		switch r.Mode {
		case HalfUp:
			want = d.Round(r.Places)
		case Floor:
			want = d.RoundFloor(r.Places)
		case Ceil:
			want = d.RoundCeil(r.Places)
		case Down:
			want = d.RoundDown(r.Places)
		default:
			want = d.RoundBank(r.Places)
		}
		if got.String() != want.String() || got.Exponent() != want.Exponent() || !got.Equal(want) {
			t.Fatalf("%v of %s (exp %d): got %s (exp %d), want %s (exp %d)", r, d, d.Exponent(), got, got.Exponent(), want, want.Exponent())
		}
	})
}

// leftUnder, addDec and subDec agree with the plain decimal arithmetic
// they shortcut (the String form, which explanations print).
func TestLimitArithmeticMatchesDecimal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dec := func(name string) decimal.Decimal {
			c := rapid.OneOf(rapid.Int64Range(-1000, 1000), rapid.Int64(), rapid.Just(int64(0))).Draw(t, name+"c")
			return decimal.New(c, int32(rapid.IntRange(-22, 3).Draw(t, name+"e")))
		}
		max, used, grant := dec("max"), dec("used"), dec("grant")
		places := int32(rapid.IntRange(-2, 4).Draw(t, "places"))
		left := max.Sub(used)
		if left.Exponent() < -places {
			left = left.RoundDown(places)
		}
		if left.IsNegative() {
			left = decimal.Decimal{}
		}
		wantTrim := left.LessThan(grant)
		got, trims := leftUnder(max, used, places, grant)
		if trims != wantTrim || (trims && (got.String() != left.String() || !got.Equal(left))) {
			t.Fatalf("leftUnder(%s, %s, %d, %s) = %s, %v; want %s, %v", max, used, places, grant, got, trims, left, wantTrim)
		}
		if got, want := addDec(used, grant), used.Add(grant); got.String() != want.String() {
			t.Fatalf("addDec(%s, %s) = %s, want %s", used, grant, got, want)
		}
		if got, want := subDec(grant, used), grant.Sub(used); got.String() != want.String() {
			t.Fatalf("subDec(%s, %s) = %s, want %s", grant, used, got, want)
		}
	})
}

// MemoryTally keeps records that do not fit its compact form (long keys,
// amounts beyond 18 digits) with the same behaviour.
func TestMemoryTallyCompactAndFallback(t *testing.T) {
	for _, tc := range []struct{ key, points string }{
		{"short", "12.5"},
		{strings.Repeat("k", 60), "12.5"},
		{"short-big", "1234567890123456789012.5"},
		{"short-small", "0.000000000000000000001"},
	} {
		tally := &MemoryTally{}
		c := Claim{Key: tc.key, Program: "p", Rule: "r", Customer: "c", Fact: "f", Points: decimal.RequireFromString(tc.points), Places: 30}
		g, err := tally.Reserve(&c)
		if err != nil || g.Status != StatusPaid || !g.Points.Equal(c.Points) {
			t.Fatalf("%s: first claim %+v, %v", tc.key, g, err)
		}
		if got := tally.Paid(tc.key); got.String() != c.Points.String() {
			t.Errorf("%s: Paid = %s, want %s", tc.key, got, c.Points)
		}
		if g, _ := tally.Reserve(&c); g.Status != StatusSettled || !g.Points.IsZero() {
			t.Errorf("%s: re-settle %+v, want settled", tc.key, g)
		}
		c.Points = c.Points.Add(decimal.New(1, 0))
		if g, _ := tally.Reserve(&c); g.Status != StatusPaid || g.Points.String() != "1" || g.Adjusts != tc.key {
			t.Errorf("%s: restated %+v, want an adjustment of 1", tc.key, g)
		}
		if got, want := tally.Paid(tc.key), c.Points; !got.Equal(want) {
			t.Errorf("%s: Paid = %s, want %s", tc.key, got, want)
		}
	}
}

// runFastBool runs a fast-path condition; ok is false when there is none,
// or it cannot decide (an error or a panic the VM must report).
func runFastBool(f fastBool, e *Env) (v, ok bool) {
	if f == nil {
		return false, false
	}
	defer func() {
		if recover() != nil {
			v, ok = false, false
		}
	}()
	return f(e)
}

// runFastDec is runFastBool for points.
func runFastDec(f fastDec, e *Env) (v decimal.Decimal, ok bool) {
	if f == nil {
		return zeroDec, false
	}
	defer func() {
		if recover() != nil {
			v, ok = zeroDec, false
		}
	}()
	return f(e)
}

// A fast-path closure that panics (none should) is undone and its rule
// decided again on the exact path: the outcomes, awards and keys are those
// of the program without the fast path, for a panic in any rule's
// condition or points, grouped rules included.
func TestFastPathPanicFallsBack(t *testing.T) {
	const path = "../testdata/rules/bench/ten-rules.yaml"
	facts := []Fact{benchFact(1), benchFact(2)}
	facts[1].Savings.SavingsKWh, facts[1].Customer.Tier = 3.25, "silver"
	render := func(p *Program) string {
		outs, err := p.Evaluate(new(MemoryTally), facts)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, o := range outs {
			fmt.Fprintf(&b, "%s %s %s %v %v %s %v\n", o.Customer, o.Rule, o.Fact, o.Status, o.Err, o.Explanation.Reason, o.Explanation.Inputs())
			if o.Award != nil {
				fmt.Fprintf(&b, "  %s %s %s\n", o.Award.Points, o.Award.Key, o.Award.Explanation.Reason)
			}
		}
		return b.String()
	}
	want := render(loadFile(t, path))
	n := 0
	for i := range loadFile(t, path).rules {
		for _, field := range []string{"when", "points"} {
			p := loadFile(t, path)
			r := p.rules[i]
			switch {
			case field == "when" && r.fastWhen != nil:
				r.fastWhen = func(*Env) (bool, bool) { panic("fast when") }
			case field == "points" && r.fastPoints != nil:
				r.fastPoints = func(*Env) (decimal.Decimal, bool) { panic("fast points") }
			default:
				continue
			}
			n++
			if got := render(p); got != want {
				t.Errorf("rule %s: fast %s panics: outcomes\n%s\nwant\n%s", r.ID, field, got, want)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d fast closures replaced", n)
	}
}

// drawFact draws a fact for the generated rule sets: a tier, kWh figures
// from num, a small history, optional attributes, a period or an event.
func drawFact(t *rapid.T, num *rapid.Generator[float64]) Fact {
	f := Fact{
		Customer: Customer{ID: "c1", Tier: rapid.SampledFrom([]string{"gold", "silver", "bronze", ""}).Draw(t, "tier")},
		Savings: savings.Result{Kind: savings.KindPeriod, ID: "f1", Start: mustTime("2024-07-01T00:00:00Z"),
			BaselineKWh: num.Draw(t, "baseline"), ObservedKWh: num.Draw(t, "observed"), SavingsKWh: num.Draw(t, "kwh"),
			PercentSavings: num.Draw(t, "percent"), UncertaintyKWh: num.Draw(t, "uncertainty")},
		History: History{EventStreak: rapid.IntRange(0, 5).Draw(t, "streak"), EventsTotal: rapid.IntRange(0, 5).Draw(t, "total")},
	}
	if rapid.Bool().Draw(t, "attrs") {
		f.Customer.Attributes = map[string]string{"region": "north"}
	}
	if rapid.Bool().Draw(t, "event") {
		f.Savings.Kind, f.Event = savings.KindEvent, &Event{ID: "e1", Type: "critical-peak"}
	}
	return f
}
