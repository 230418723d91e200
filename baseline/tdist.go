package baseline

import (
	"math"
	"sync"
)

// RegIncBeta is the regularized incomplete beta function I_x(a, b) for
// a, b > 0 and 0 ≤ x ≤ 1, evaluated with the modified Lentz continued
// fraction (Numerical Recipes §6.4, DLMF 8.17.22), using the symmetry
// I_x(a,b) = 1 − I_{1−x}(b,a) where the fraction converges slowly.
// It returns NaN for arguments out of range.
func RegIncBeta(a, b, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(b) || math.IsNaN(x) || a <= 0 || b <= 0 || x < 0 || x > 1:
		return math.NaN()
	case x == 0:
		return 0
	case x == 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction for I_x(a, b).
func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	const eps = 1e-16
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 10000; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// StudentTCDF is the cumulative distribution function of Student's t with
// df degrees of freedom (df > 0), via I_{df/(df+t²)}(df/2, 1/2).
func StudentTCDF(t, df float64) float64 {
	if math.IsNaN(t) || !(df > 0) {
		return math.NaN()
	}
	if math.IsInf(t, 0) {
		if t > 0 {
			return 1
		}
		return 0
	}
	tail := 0.5 * RegIncBeta(df/2, 0.5, df/(df+t*t))
	if t > 0 {
		return 1 - tail
	}
	return tail
}

// TwoSidedPValue is the two-sided p-value of a t statistic with df
// degrees of freedom, P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2), as
// statsmodels reports for regression coefficients. ±Inf gives 0; NaN gives
// NaN.
func TwoSidedPValue(t, df float64) float64 {
	if math.IsNaN(t) || !(df > 0) {
		return math.NaN()
	}
	if math.IsInf(t, 0) {
		return 0
	}
	return RegIncBeta(df/2, 0.5, df/(df+t*t))
}

// StudentTQuantile returns t with StudentTCDF(t, df) = p, 0 < p < 1, by
// bisection on the CDF (to full float64 precision).
func StudentTQuantile(p, df float64) float64 {
	if !(p > 0 && p < 1) || !(df > 0) {
		return math.NaN()
	}
	if p == 0.5 {
		return 0
	}
	if p < 0.5 {
		return -StudentTQuantile(1-p, df)
	}
	lo, hi := 0.0, 1.0
	for StudentTCDF(hi, df) < p {
		lo, hi = hi, hi*2
		if hi > 1e300 {
			return math.Inf(1)
		}
	}
	for i := 0; i < 2000; i++ {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if StudentTCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2
}

// critT2 caches, per (degrees of freedom, maximum p-value), the squared t
// statistic at which the two-sided p-value equals the maximum: a beta
// fails the screen (p > max) exactly when t² < critical t², so each
// candidate needs one comparison, not an incomplete-beta evaluation.
var critT2 sync.Map // key critKey → float64

type critKey struct {
	df   int
	pmax float64
}

func criticalT2(df int, pmax float64) float64 {
	k := critKey{df, pmax}
	if v, ok := critT2.Load(k); ok {
		return v.(float64)
	}
	t := StudentTQuantile(1-pmax/2, float64(df))
	v := t * t
	critT2.Store(k, v)
	return v
}

// pValueTooHigh reports eemeter's `p_value > maximum_p_value` for a beta
// with t statistic t2 = t² on df degrees of freedom. NaN (a zero standard
// error with a zero beta) compares false, as in Python.
func pValueTooHigh(t2 float64, df int, pmax float64) bool {
	if pmax >= 1 || df <= 0 {
		return false
	}
	return screenT2{df, pmax, criticalT2(df, pmax)}.tooHigh(t2)
}

// screenT2 is a p-value screen for one (df, pmax), looked up once per fit.
type screenT2 struct {
	df   int
	pmax float64
	crit float64
}

func newScreen(df int, pmax float64) screenT2 {
	if pmax >= 1 || df <= 0 {
		return screenT2{df: df, pmax: pmax}
	}
	return screenT2{df, pmax, criticalT2(df, pmax)}
}

// tooHigh reports p > pmax for t² = t2; never for pmax ≥ 1 or NaN.
func (s screenT2) tooHigh(t2 float64) bool {
	if s.pmax >= 1 || math.IsNaN(t2) || s.df <= 0 {
		return false
	}
	c, df, pmax := s.crit, s.df, s.pmax
	if math.Abs(t2-c) > 1e-9*c {
		return t2 < c
	}
	return TwoSidedPValue(math.Sqrt(t2), float64(df)) > pmax
}
