package baseline

import (
	"math"
	"testing"
)

func TestStudentTClosedForms(t *testing.T) {
	// df = 1 is the Cauchy distribution, df = 2 has F(t) = 1/2 + t/(2√(2+t²)).
	for _, x := range []float64{-50, -3.5, -1, -0.25, 0, 0.1, 0.5, 1, 2, 7.5, 100, 1e4} {
		if got, want := StudentTCDF(x, 1), 0.5+math.Atan(x)/math.Pi; math.Abs(got-want) > 1e-14 {
			t.Errorf("CDF(%v, 1) = %.17g, want %.17g", x, got, want)
		}
		if got, want := StudentTCDF(x, 2), 0.5+x/(2*math.Sqrt(2+x*x)); math.Abs(got-want) > 1e-14 {
			t.Errorf("CDF(%v, 2) = %.17g, want %.17g", x, got, want)
		}
	}
}

func TestStudentTQuantiles(t *testing.T) {
	// Published critical values (e.g. NIST/SEMATECH e-Handbook table 1.3.6.7.2, extended precision).
	for _, tc := range []struct{ p, df, want float64 }{
		{0.975, 1, 12.706204736174698},
		{0.95, 1, 6.313751514675041},
		{0.975, 2, 4.302652729749464},
		{0.995, 5, 4.032142983557536},
		{0.975, 10, 2.2281388519862735},
		{0.95, 30, 1.6972608865939587},
		{0.975, 100, 1.9839715184496334},
	} {
		got := StudentTQuantile(tc.p, tc.df)
		if math.Abs(got-tc.want)/tc.want > 1e-9 {
			t.Errorf("quantile(%v, %v) = %.16g, want %.16g", tc.p, tc.df, got, tc.want)
		}
		// and back: the two-sided p-value at the (1−α/2) quantile is α.
		if p := TwoSidedPValue(got, tc.df); math.Abs(p-2*(1-tc.p)) > 1e-12 {
			t.Errorf("p-value at quantile(%v, %v) = %.16g, want %.16g", tc.p, tc.df, p, 2*(1-tc.p))
		}
	}
}

func TestRegIncBetaIdentities(t *testing.T) {
	for _, x := range []float64{0.001, 0.1, 0.37, 0.5, 0.8, 0.999} {
		for _, a := range []float64{0.5, 1, 2.5, 10, 180} {
			if got, want := RegIncBeta(a, 1, x), math.Pow(x, a); math.Abs(got-want) > 1e-13*math.Max(want, 1e-300)+1e-300 && math.Abs(got-want) > 1e-15 {
				t.Errorf("I_%v(%v,1) = %.17g, want %.17g", x, a, got, want)
			}
			if got, want := RegIncBeta(1, a, x), -math.Expm1(a*math.Log1p(-x)); math.Abs(got-want) > 1e-13 {
				t.Errorf("I_%v(1,%v) = %.17g, want %.17g", x, a, got, want)
			}
		}
	}
	for _, a := range []float64{0.5, 3, 17.5, 400} {
		if got := RegIncBeta(a, a, 0.5); math.Abs(got-0.5) > 1e-11 {
			t.Errorf("I_0.5(%v,%v) = %.17g, want 0.5", a, a, got)
		}
	}
	for _, bad := range [][3]float64{{0, 1, 0.5}, {1, -1, 0.5}, {1, 1, 1.5}, {1, 1, math.NaN()}} {
		if got := RegIncBeta(bad[0], bad[1], bad[2]); !math.IsNaN(got) {
			t.Errorf("RegIncBeta%v = %v, want NaN", bad, got)
		}
	}
}

func TestPValueScreenMatchesDirect(t *testing.T) {
	for _, df := range []int{3, 8, 9, 10, 362, 363} {
		for _, pmax := range []float64{0.05, 0.1} {
			c := criticalT2(df, pmax)
			for _, f := range []float64{0.5, 0.99, 1 - 1e-12, 1, 1 + 1e-12, 1.01, 2} {
				t2 := c * f
				want := TwoSidedPValue(math.Sqrt(t2), float64(df)) > pmax
				if got := pValueTooHigh(t2, df, pmax); got != want {
					t.Errorf("df %d pmax %v t²=%v×crit: %v, want %v", df, pmax, f, got, want)
				}
			}
		}
	}
	if pValueTooHigh(math.NaN(), 10, 0.1) || pValueTooHigh(0, 10, 1) {
		t.Error("NaN or pmax=1 must never disqualify")
	}
}

// The FSU t statistic of the daily golden model: eemeter's
// ModelMetrics uses t.ppf(0.95, round(n' − p)).
func TestMetricsTStatIsQuantile(t *testing.T) {
	res := fitSample(t, "il-electricity-cdd-hdd-daily", DailyOptions())
	m := res.Model.TotalsMetrics
	want := StudentTQuantile(0.95, m.DegreesOfFreedom)
	if math.Abs(m.TStat-want) > 1e-12*want {
		t.Errorf("TStat %v, want %v (df %v)", m.TStat, want, m.DegreesOfFreedom)
	}
	if !(m.FSUBaseTerm > 0) || !(m.NPrime > 0) {
		t.Errorf("FSU terms: %+v", m)
	}
}
