package baseline

import (
	"errors"
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var propStart = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// dailySeries builds 365 days of usage (plus the end marker) and one
// daily-mean temperature per day.
func dailySeries(t *rapid.T, temps, usage []float64) (*Usage, *Temperature) {
	var ur, tr []Reading
	for i := range temps {
		d := propStart.Add(time.Duration(i) * day)
		ur = append(ur, Reading{Start: d, Value: usage[i]})
		tr = append(tr, Reading{Start: d, Value: temps[i]})
	}
	ur = append(ur, Reading{Start: propStart.Add(time.Duration(len(temps)) * day), Value: math.NaN()})
	tr = append(tr, Reading{Start: propStart.Add(time.Duration(len(temps)) * day), Value: 50})
	u, err := NewUsage(ur)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := NewTemperatureF(tr)
	if err != nil {
		t.Fatal(err)
	}
	return u, tp
}

// spreadTemps returns n temperatures covering lo..hi evenly with a jitter,
// in a random order, so every whole degree has days.
func spreadTemps(t *rapid.T, n int, lo, hi float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(n) + rapid.Float64Range(0, 0.15).Draw(t, "jitter")
	}
	perm := rapid.Permutation(out).Draw(t, "order")
	return perm
}

func truth(a, bh, bc float64, hbp, cbp int, temp float64) float64 {
	return a + bh*math.Max(float64(hbp)-temp, 0) + bc*math.Max(temp-float64(cbp), 0)
}

// Noiseless data from a known cdd_hdd model is recovered exactly.
func TestPropertyRecoversKnownModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hbp := rapid.IntRange(45, 60).Draw(t, "hbp")
		cbp := rapid.IntRange(hbp+2, 72).Draw(t, "cbp")
		a := rapid.Float64Range(1, 1000).Draw(t, "intercept")
		bh := rapid.Float64Range(0.5, 50).Draw(t, "beta_hdd")
		bc := rapid.Float64Range(0.5, 50).Draw(t, "beta_cdd")
		temps := spreadTemps(t, 365, 20, 90)
		usage := make([]float64, len(temps))
		for i, x := range temps {
			usage[i] = truth(a, bh, bc, hbp, cbp, x)
		}
		u, tp := dailySeries(t, temps, usage)
		res, err := Fit(u, tp, DailyOptions())
		if err != nil {
			t.Fatal(err)
		}
		m := res.Model
		if m.Type != CDDHDD || m.HeatingBalancePointF != hbp || m.CoolingBalancePointF != cbp {
			t.Fatalf("got %v %d/%d, want cdd_hdd %d/%d", m.Type, m.HeatingBalancePointF, m.CoolingBalancePointF, hbp, cbp)
		}
		for _, c := range [][3]any{{"intercept", m.Intercept, a}, {"beta_hdd", m.BetaHDD, bh}, {"beta_cdd", m.BetaCDD, bc}} {
			if rd := relDiff(c[1].(float64), c[2].(float64)); rd > 1e-9 {
				t.Fatalf("%s = %v, want %v", c[0], c[1], c[2])
			}
		}
	})
}

// noisyDay returns usage with deterministic pseudo-noise so fits are not exact.
func noisyUsage(t *rapid.T, temps []float64) []float64 {
	hbp := rapid.IntRange(45, 62).Draw(t, "hbp")
	cbp := rapid.IntRange(hbp, 75).Draw(t, "cbp")
	a := rapid.Float64Range(5, 50).Draw(t, "a")
	out := make([]float64, len(temps))
	for i, x := range temps {
		noise := rapid.Float64Range(-3, 3).Draw(t, "noise")
		out[i] = math.Max(truth(a, 1.5, 2, hbp, cbp, x)+noise, 0)
	}
	return out
}

// The fit depends on the set of (temperature, usage) days, not their order.
func TestPropertyPermutationInvariant(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		temps := spreadTemps(t, 365, 15, 95)
		usage := noisyUsage(t, temps)
		idx := make([]int, len(temps))
		for i := range idx {
			idx[i] = i
		}
		perm := rapid.Permutation(idx).Draw(t, "perm")
		t2, u2 := make([]float64, len(temps)), make([]float64, len(temps))
		for i, j := range perm {
			t2[i], u2[i] = temps[j], usage[j]
		}
		o := DailyOptions()
		o.BetaHDDMaxPValue = rapid.SampledFrom([]float64{1, 0.1}).Draw(t, "pmax")
		o.BetaCDDMaxPValue = o.BetaHDDMaxPValue
		ua, ta := dailySeries(t, temps, usage)
		ub, tb := dailySeries(t, t2, u2)
		ra, err := Fit(ua, ta, o)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := Fit(ub, tb, o)
		if err != nil {
			t.Fatal(err)
		}
		ma, mb := ra.Model, rb.Model
		if ma.Type != mb.Type || ma.HeatingBalancePointF != mb.HeatingBalancePointF || ma.CoolingBalancePointF != mb.CoolingBalancePointF ||
			ra.Counts.Qualified != rb.Counts.Qualified || ra.Counts.NotAttempted != rb.Counts.NotAttempted {
			t.Fatalf("permuted fit differs: %v %d/%d vs %v %d/%d", ma.Type, ma.HeatingBalancePointF, ma.CoolingBalancePointF,
				mb.Type, mb.HeatingBalancePointF, mb.CoolingBalancePointF)
		}
		for _, p := range [][2]float64{{ma.Intercept, mb.Intercept}, {ma.BetaHDD, mb.BetaHDD}, {ma.BetaCDD, mb.BetaCDD}, {ma.RSquaredAdj, mb.RSquaredAdj}} {
			if relDiff(p[0], p[1]) > 1e-9 {
				t.Fatalf("permuted coefficients differ: %v vs %v", p[0], p[1])
			}
		}
	})
}

// Scaling usage by k scales intercept and betas by k and leaves balance
// points and adjusted R² unchanged (daily and billing).
func TestPropertyScaleInvariant(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		temps := spreadTemps(t, 365, 15, 95)
		usage := noisyUsage(t, temps)
		k := rapid.SampledFrom([]float64{1e-3, 0.37, 3, 1000, 1e6}).Draw(t, "k")
		scaled := make([]float64, len(usage))
		for i, v := range usage {
			scaled[i] = v * k
		}
		ua, ta := dailySeries(t, temps, usage)
		ub, tb := dailySeries(t, temps, scaled)
		ra, err := Fit(ua, ta, DailyOptions())
		if err != nil {
			t.Fatal(err)
		}
		rb, err := Fit(ub, tb, DailyOptions())
		if err != nil {
			t.Fatal(err)
		}
		ma, mb := ra.Model, rb.Model
		if ma.Type != mb.Type || ma.HeatingBalancePointF != mb.HeatingBalancePointF || ma.CoolingBalancePointF != mb.CoolingBalancePointF {
			t.Fatalf("scaled by %v: %v %d/%d vs %v %d/%d", k, ma.Type, ma.HeatingBalancePointF, ma.CoolingBalancePointF,
				mb.Type, mb.HeatingBalancePointF, mb.CoolingBalancePointF)
		}
		for _, p := range [][2]float64{{ma.Intercept * k, mb.Intercept}, {ma.BetaHDD * k, mb.BetaHDD}, {ma.BetaCDD * k, mb.BetaCDD}, {ma.RSquaredAdj, mb.RSquaredAdj}} {
			if relDiff(p[0], p[1]) > 1e-9 {
				t.Fatalf("scaled by %v: %v vs %v", k, p[0], p[1])
			}
		}
	})
}

// Sufficiency fails when more than 10 % of days are missing and passes a
// complete year.
func TestPropertySufficiencyMissingDays(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		temps := spreadTemps(t, 365, 15, 95)
		usage := noisyUsage(t, temps)
		nMissing := rapid.IntRange(0, 120).Draw(t, "missing")
		idx := make([]int, len(usage))
		for i := range idx {
			idx[i] = i
		}
		for _, i := range rapid.Permutation(idx).Draw(t, "which")[:nMissing] {
			usage[i] = math.NaN()
		}
		u, tp := dailySeries(t, temps, usage)
		end := propStart.Add(365 * day)
		res, err := FitBaseline(u, tp, end, 365, DailyOptions())
		if err != nil {
			if nMissing > 300 && errors.Is(err, ErrNoQualifiedModel) {
				return
			}
			t.Fatal(err)
		}
		s := res.Sufficiency
		missingWarn := false
		for _, w := range s.WarningNames() {
			if w == sufName+"too_many_days_with_missing_data" {
				missingWarn = true
			}
		}
		tooMany := float64(365-nMissing)/365 < 0.9
		if tooMany != missingWarn || (tooMany && s.Status != Fail) {
			t.Fatalf("%d of 365 days missing: status %s warnings %v", nMissing, s.Status, s.WarningNames())
		}
		if nMissing == 0 && s.Status != Pass {
			t.Fatalf("complete year: %s %v", s.Status, s.WarningNames())
		}
	})
}

// The bucket route (O(days + balance points)) gives the same candidates
// as summing every degree-day column directly.
func TestPropertyBucketRouteMatchesColumns(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(30, 400).Draw(t, "days")
		temps := make([]float64, n)
		for i := range temps {
			// whole and half degrees included, to exercise the strict inequalities
			temps[i] = float64(rapid.IntRange(20*4, 95*4).Draw(t, "t4")) / 4
		}
		usage := noisyUsage(t, temps)
		u, tp := dailySeries(t, temps, usage)
		o := DailyOptions()
		o.BetaHDDMaxPValue = rapid.SampledFrom([]float64{1, 0.1}).Draw(t, "pmax")
		o.BetaCDDMaxPValue = o.BetaHDDMaxPValue
		d, err := NewDesign(u, tp, o)
		if err != nil {
			t.Fatal(err)
		}
		var fast, slow fitStats
		d.newStats(&o, &fast)
		slow = fast
		slow.heat = make([]bpStats, len(fast.heat))
		slow.cool = make([]bpStats, len(fast.cool))
		slow.cross = nil
		d.periodStats(&slow)
		for i := range slow.heat {
			slow.heat[i].allIn, slow.cool[i].allIn = fast.heat[i].allIn, fast.cool[i].allIn
		}
		a := searcher{out: []Candidate{}}
		b := searcher{out: []Candidate{}}
		fast.search(&o, &a)
		slow.search(&o, &b)
		for i := range a.out {
			x, y := a.out[i], b.out[i]
			if x.Status != y.Status || x.HeatingBalancePointF != y.HeatingBalancePointF || x.CoolingBalancePointF != y.CoolingBalancePointF {
				t.Fatalf("candidate %d: %+v vs %+v", i, x, y)
			}
			for _, p := range [][2]float64{{x.Intercept, y.Intercept}, {x.BetaHDD, y.BetaHDD}, {x.BetaCDD, y.BetaCDD}, {x.RSquaredAdj, y.RSquaredAdj}} {
				if relDiff(p[0], p[1]) > 1e-8 && math.Abs(p[0]-p[1]) > 1e-9 {
					t.Fatalf("candidate %d (%v %d/%d): %v vs %v", i, x.Type, x.HeatingBalancePointF, x.CoolingBalancePointF, p[0], p[1])
				}
			}
		}
	})
}
