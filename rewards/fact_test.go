package rewards

import (
	"errors"
	"math"
	"testing"

	"pgregory.net/rapid"
)

// A fact built in Go can carry NaN or ±Inf amounts, which no decimal
// represents: evaluating it is an error naming the field, never a panic,
// and appends no outcome.
func TestNonFiniteAmounts(t *testing.T) {
	p := mustLoad(t, `
program: p
version: 1
rounding: {places: 1, mode: half-even}
rules:
  - id: all
    when: savings.baseline_kwh + savings.observed_kwh + savings.percent + savings.uncertainty_kwh >= 0
    points: savings.kwh * 10
`)
	set := map[string]func(f *Fact, v float64){
		"savings.baseline_kwh":    func(f *Fact, v float64) { f.Savings.BaselineKWh = v },
		"savings.observed_kwh":    func(f *Fact, v float64) { f.Savings.ObservedKWh = v },
		"savings.kwh":             func(f *Fact, v float64) { f.Savings.SavingsKWh = v },
		"savings.percent":         func(f *Fact, v float64) { f.Savings.PercentSavings = v },
		"savings.uncertainty_kwh": func(f *Fact, v float64) { f.Savings.UncertaintyKWh = v },
	}
	for field, setField := range set {
		for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			t.Run(field, func(t *testing.T) {
				f := periodFact("c1", "gold", "2024-07", "2024-07-01T00:00:00Z", 10)
				setField(&f, v)
				for name, err := range map[string]error{"Validate": f.Validate(), "Evaluate": evalErr(p, &f)} {
					var fe *FactError
					if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, ErrNotFinite) || !errors.Is(err, ErrInvalidFact) {
						t.Errorf("%s with %s = %v: error %v, want a FactError on %s matching ErrNotFinite and ErrInvalidFact", name, field, v, err, field)
					}
				}
			})
		}
	}
}

func evalErr(p *Program, f *Fact) error {
	outs, err := p.AppendEvaluate(nil, new(MemoryTally), f)
	if len(outs) != 0 {
		return errors.New("outcomes appended")
	}
	return err
}

// Any float, finite or not, in any amount: evaluation never panics, and
// it fails exactly when some amount is not finite.
func TestAnyFloatAmountNeverPanics(t *testing.T) {
	p := loadFile(t, "../testdata/rules/bench/ten-rules.yaml")
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.OneOf(rapid.Float64(), rapid.SampledFrom([]float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, 110.5}))
		f := benchFact(1)
		f.Savings.BaselineKWh, f.Savings.ObservedKWh, f.Savings.SavingsKWh = gen.Draw(t, "baseline"), gen.Draw(t, "observed"), gen.Draw(t, "kwh")
		f.Savings.PercentSavings, f.Savings.UncertaintyKWh = gen.Draw(t, "percent"), gen.Draw(t, "uncertainty")
		finite := true
		for _, v := range []float64{f.Savings.BaselineKWh, f.Savings.ObservedKWh, f.Savings.SavingsKWh, f.Savings.PercentSavings, f.Savings.UncertaintyKWh} {
			finite = finite && !math.IsNaN(v) && !math.IsInf(v, 0)
		}
		outs, err := p.AppendEvaluate(nil, new(MemoryTally), &f)
		if finite != (err == nil) {
			t.Fatalf("finite=%v, err=%v", finite, err)
		}
		for _, o := range outs {
			_ = o.Explanation.Inputs()
		}
	})
}
