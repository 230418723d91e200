package rewards

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// sameDecimal reports whether a and b have the same coefficient and
// exponent: bit-identical, not only equal in value.
func sameDecimal(a, b decimal.Decimal) bool {
	return a.Exponent() == b.Exponent() && a.Coefficient().Cmp(b.Coefficient()) == 0
}

func reprOf(d decimal.Decimal) string {
	return fmt.Sprintf("%se%d", d.Coefficient(), d.Exponent())
}

// operand draws a number as the fast path holds it and as the exact path
// does: a decimal with a short coefficient, or the quotient of two
// (divPlaces places, so the exact coefficient is long and r < e).
func operand(t *rapid.T, name string) (fixed, decimal.Decimal) {
	dec := func(name string) decimal.Decimal {
		c := rapid.OneOf(
			rapid.Int64Range(-1000, 1000),
			rapid.Int64Range(-999_999_999_999_999_999, 999_999_999_999_999_999),
			rapid.SampledFrom([]int64{0, 1, -1, 5, -5, 25, 999_999_999_999_999_999, -999_999_999_999_999_999}),
		).Draw(t, name+"c")
		return decimal.New(c, int32(rapid.IntRange(-25, 25).Draw(t, name+"e")))
	}
	a := dec(name)
	fa, ok := fixedOf(a)
	if !ok {
		t.Fatalf("fixedOf(%s) failed", reprOf(a))
	}
	if !rapid.Bool().Draw(t, name+"quotient") {
		return fa, a
	}
	b := dec(name + "div")
	if b.IsZero() {
		return fa, a
	}
	fb, _ := fixedOf(b)
	q, ok := divFixed(fa, fb)
	if !ok {
		return fa, a
	}
	return q, a.DivRound(b, divPlaces)
}

// Every fixed-point operation returns, when it returns a value, exactly
// the decimal the exact path computes: same coefficient and exponent
// (after the conversion back to decimal.Decimal), and comparisons agree.
// Small operands must always take the fast path, so the property is not
// met by always falling back.
func TestFixedMatchesDecimal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fa, a := operand(t, "a")
		fb, b := operand(t, "b")
		if got := fa.decimal(); !sameDecimal(got, a) {
			t.Fatalf("decimal(%+v) = %s, want %s", fa, reprOf(got), reprOf(a))
		}
		if got, want := cmpFixed(fa, fb), a.Cmp(b); got != want {
			t.Fatalf("cmp(%s, %s) = %d, want %d", reprOf(a), reprOf(b), got, want)
		}
		small := a.Abs().LessThan(decimal.New(1, 6)) && b.Abs().LessThan(decimal.New(1, 6)) &&
			a.Exponent() >= -6 && b.Exponent() >= -6 && a.NumDigits() <= 6 && b.NumDigits() <= 6
		ops := []struct {
			name  string
			fast  func(x, y fixed) (fixed, bool)
			exact func(x, y decimal.Decimal) decimal.Decimal
		}{
			{"+", addFixed, decimal.Decimal.Add},
			{"-", subFixed, decimal.Decimal.Sub},
			{"*", mulFixed, decimal.Decimal.Mul},
			{"/", divFixed, func(x, y decimal.Decimal) decimal.Decimal { return x.DivRound(y, divPlaces) }},
			{"neg", func(x, _ fixed) (fixed, bool) { return negFixed(x), true }, func(x, _ decimal.Decimal) decimal.Decimal { return x.Neg() }},
		}
		for _, op := range ops {
			got, ok := op.fast(fa, fb)
			if op.name == "/" && b.IsZero() {
				if ok {
					t.Fatalf("%s / 0 took the fast path", reprOf(a))
				}
				continue
			}
			want := op.exact(a, b)
			if !ok {
				if small && op.name != "/" {
					t.Fatalf("%s %s %s fell back", reprOf(a), op.name, reprOf(b))
				}
				continue
			}
			if !got.valid() || got.e < got.r {
				t.Fatalf("%s %s %s = %+v breaks the invariants", reprOf(a), op.name, reprOf(b), got)
			}
			if d := got.decimal(); !sameDecimal(d, want) {
				t.Fatalf("%s %s %s = %s, want %s", reprOf(a), op.name, reprOf(b), reprOf(d), reprOf(want))
			}
			for _, maxDigits := range []int{5, 20, 40, 60} {
				lib := &library{lim: Limits{MaxDigits: maxDigits}}
				if _, err := lib.bound(want); got.within(maxDigits) != (err == nil) {
					t.Fatalf("within(%d) of %s = %v, bound says %v", maxDigits, reprOf(want), got.within(maxDigits), err)
				}
			}
		}
	})
}

// fixedFromFloat reads a float64 exactly as decimal.NewFromFloat does.
func TestFixedFromFloatMatchesDecimal(t *testing.T) {
	check := func(t interface{ Fatalf(string, ...any) }, v float64) {
		got, want := fixedFromFloat(v), decimal.NewFromFloat(v)
		if !got.valid() || !sameDecimal(got.decimal(), want) {
			t.Fatalf("fixedFromFloat(%v) = %+v, NewFromFloat = %s", v, got, reprOf(want))
		}
	}
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 110.5, 0.1, 0.30000000000000004, 100, 1e15, 1e23,
		-2.5, 13.6, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324, 1 << 62, 123456789012345678,
		999999999999999, 99999999999999.9, 0.1 + 0.2, 1.0 / 3, 2.0 / 3, 1e-8, 1.5e-8, 12345.678, 9007199254740993,
		math.Nextafter(110.5, 111), math.Nextafter(110.5, 110), math.Nextafter(0.1, 1), 1e-300, 4.35, 0.07, 1e14 + 0.5} {
		check(t, v)
	}
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.OneOf(rapid.Float64(), rapid.Float64Range(-1e6, 1e6),
			rapid.Map(rapid.Int64Range(-1e9, 1e9), func(c int64) float64 { return float64(c) / 10 }),
			// Meter readings: a few decimal places, the short-float path.
			rapid.Custom(func(t *rapid.T) float64 {
				c := rapid.OneOf(rapid.Int64Range(-1e6, 1e6), rapid.Int64Range(-1e16, 1e16)).Draw(t, "c")
				return float64(c) / pow10f[rapid.IntRange(0, 12).Draw(t, "k")]
			}),
			rapid.Map(rapid.Float64Range(-1e5, 1e5), func(f float64) float64 { return math.Round(f*1000) / 1000 })).Draw(t, "v")
		check(t, -v)
		check(t, v)
	})
}

// exactOnly returns p with every fast-path closure removed: expr's VM on
// decimals evaluates everything, as before the fast path existed.
func exactOnly(p *Program) *Program {
	q := *p
	q.rules = make([]*compiledRule, len(p.rules))
	for i, r := range p.rules {
		c := *r
		c.fastWhen, c.fastPoints = nil, nil
		q.rules[i] = &c
	}
	return &q
}

// Evaluating with the fast path gives the outcomes of the exact path, bit
// for bit: statuses, errors, raw and rounded points (coefficient and
// exponent), awards and keys, on random rules and facts, including
// division, overflow beyond MaxDigits, missing multiplier keys and
// negative points.
func TestFastEvaluateMatchesExact(t *testing.T) {
	fast := 0
	rapid.Check(t, func(t *rapid.T) {
		var b strings.Builder
		mode := rapid.SampledFrom([]string{"half-even", "half-up", "floor", "ceil", "down"}).Draw(t, "mode")
		fmt.Fprintf(&b, "program: p\nversion: 1\nrounding: {places: %d, mode: %s}\nmultipliers:\n  tiers: {gold: 1.5, silver: 1.2, default: 1}\n  nodefault: {gold: 2}\nrules:\n",
			rapid.IntRange(-1, 3).Draw(t, "places"), mode)
		for i := range rapid.IntRange(1, 4).Draw(t, "rules") {
			fmt.Fprintf(&b, "  - id: r%d\n    when: %q\n    points: %q\n    allow_negative: %v\n", i,
				genExpr(t, "bool", 3), genExpr(t, "dec", 3), rapid.Bool().Draw(t, "neg"))
		}
		maxDigits := rapid.SampledFrom([]int{20, 40, 60}).Draw(t, "maxDigits")
		p, err := Load("gen.yaml", []byte(b.String()), WithLimits(Limits{MaxDigits: maxDigits}))
		if err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		f := drawFact(t, rapid.OneOf(rapid.SampledFrom([]float64{0, 1, -2.5, 110.5, 13.6, 0.1, 1e15, 0.30000000000000004}),
			rapid.Float64Range(-1e4, 1e4)))
		got, err1 := p.AppendEvaluate(nil, &MemoryTally{}, &f)
		want, err2 := exactOnly(p).AppendEvaluate(nil, &MemoryTally{}, &f)
		if err1 != nil || err2 != nil || len(got) != len(want) {
			t.Fatalf("errors %v, %v; %d and %d outcomes", err1, err2, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			ge, we := g.Explanation, w.Explanation
			if g.Status != w.Status || fmt.Sprint(g.Err) != fmt.Sprint(w.Err) || ge.Reason != we.Reason ||
				!sameDecimal(ge.RawPoints, we.RawPoints) || !sameDecimal(ge.RoundedPoints, we.RoundedPoints) ||
				(g.Award == nil) != (w.Award == nil) {
				t.Fatalf("rule %s:\nfast  %v %v raw %s rounded %s (%s)\nexact %v %v raw %s rounded %s (%s)\n%s", g.Rule,
					g.Status, g.Err, reprOf(ge.RawPoints), reprOf(ge.RoundedPoints), ge.Reason,
					w.Status, w.Err, reprOf(we.RawPoints), reprOf(we.RoundedPoints), we.Reason, b.String())
			}
			if g.Award != nil && (!sameDecimal(g.Award.Points, w.Award.Points) || g.Award.Key != w.Award.Key) {
				t.Fatalf("rule %s: award %+v, want %+v", g.Rule, *g.Award, *w.Award)
			}
			if fmt.Sprint(ge.Inputs()) != fmt.Sprint(we.Inputs()) {
				t.Fatalf("rule %s: inputs %v, want %v", g.Rule, ge.Inputs(), we.Inputs())
			}
			if g.Status == StatusPaid {
				fast++
			}
		}
	})
	if fast == 0 {
		t.Fatal("no rule paid")
	}
}

// Division at the rounding boundary: quotients that end in exactly half a
// unit of the divPlaces-th place round away from zero, as DivRound does.
func TestFixedDivTies(t *testing.T) {
	tested := 0
	for c := int64(-27); c <= 27; c++ {
		for e := int32(-24); e <= -16; e++ {
			a := decimal.New(c, e)
			for _, ds := range []string{"2", "-2", "4", "8", "16", "5", "0.2", "20", "40", "0.08", "3", "6", "7", "1.6", "-0.4", "1"} {
				b := decimal.RequireFromString(ds)
				fa, _ := fixedOf(a)
				fb, _ := fixedOf(b)
				got, ok := divFixed(fa, fb)
				want := a.DivRound(b, divPlaces)
				if !ok {
					t.Fatalf("%s / %s fell back", a, b)
				}
				if d := got.decimal(); !sameDecimal(d, want) {
					t.Fatalf("%s / %s = %s, want %s", reprOf(a), ds, reprOf(d), reprOf(want))
				}
				tested++
			}
		}
	}
	if tested == 0 {
		t.Fatal("nothing tested")
	}
}
