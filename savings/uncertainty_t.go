package savings

import "math"

// This file holds the Student t quantile the ASHRAE Guideline 14 error bands
// need. eemeter 2.10.11 (eemeter/derivatives.py) takes it from
// scipy.stats.t.ppf(1 - (1 - confidence)/2, n - p). The baseline package
// does not export a t quantile, so it is computed here from the regularized
// incomplete beta function (Numerical Recipes 3rd ed. §6.4 continued fraction,
// evaluated with the modified Lentz method §5.2) and Newton's method.

// studentTQuantile returns the p-quantile of Student's t distribution with df
// degrees of freedom (df may be fractional), or NaN when p is outside (0, 1)
// or df is not positive, as scipy.stats.t.ppf does.
func studentTQuantile(p, df float64) float64 {
	switch {
	case math.IsNaN(p) || math.IsNaN(df) || df <= 0 || p <= 0 || p >= 1:
		return math.NaN()
	case p == 0.5:
		return 0
	case p < 0.5:
		return -studentTQuantile(1-p, df)
	case df == 1:
		// Cauchy: closed form.
		return math.Tan(math.Pi * (p - 0.5))
	case df == 2:
		// Closed form (Johnson, Kotz & Balakrishnan, Continuous Univariate
		// Distributions vol. 2, ch. 28): t = (2p-1)/sqrt(2p(1-p)).
		return (2*p - 1) / math.Sqrt(2*p*(1-p))
	}
	// Newton's method on the upper tail Q(t) = ½·I_x(df/2, ½), x = df/(df+t²),
	// whose derivative is minus the t density, safeguarded by a bracket
	// [lo, hi] around the root (Q is decreasing in t).
	q := 1 - p
	lo, hi := 0.0, 1.0
	for studentTUpperTail(hi, df) > q {
		lo, hi = hi, 2*hi
		if math.IsInf(hi, 0) {
			return math.Inf(1)
		}
	}
	logNorm := lnGammaHalfRatio(df/2) - 0.5*math.Log(df*math.Pi)
	t := (lo + hi) / 2
	for range 200 {
		f := studentTUpperTail(t, df) - q
		if f == 0 {
			return t
		}
		if f > 0 {
			lo = t
		} else {
			hi = t
		}
		pdf := math.Exp(logNorm - (df+1)/2*math.Log1p(t*t/df))
		next := t + f/pdf
		if pdf == 0 || math.IsNaN(next) || next <= lo || next >= hi {
			next = lo + (hi-lo)/2
		}
		if math.Abs(next-t) <= 4e-16*next || hi-lo <= 4e-16*hi {
			return next
		}
		t = next
	}
	return t
}

// studentTUpperTail returns P(T > t) for t >= 0. Both x = df/(df+t²) and
// 1-x = t²/(df+t²) are formed directly so that neither loses precision.
func studentTUpperTail(t, df float64) float64 {
	den := df + t*t
	return 0.5 * regIncBetaXY(df/den, t*t/den, df/2, 0.5)
}

// studentTCDF returns P(T <= t) for Student's t with df degrees of freedom.
func studentTCDF(t, df float64) float64 {
	tail := studentTUpperTail(math.Abs(t), df)
	if t > 0 {
		return 1 - tail
	}
	return tail
}

// regIncBetaXY returns the regularized incomplete beta function I_x(a, b),
// given both x and y = 1-x (each computed by the caller without
// cancellation).
func regIncBetaXY(x, y, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case y <= 0:
		return 1
	}
	front := math.Exp(-lnBeta(a, b) + a*logOneSide(x, y) + b*logOneSide(y, x))
	// The continued fraction converges fast for x < (a+1)/(a+b+2); use the
	// symmetry I_x(a,b) = 1 - I_{1-x}(b,a) otherwise (NR §6.4).
	if x < (a+1)/(a+b+2) {
		return front * betaContinuedFraction(x, a, b) / a
	}
	return 1 - front*betaContinuedFraction(y, b, a)/b
}

// betaContinuedFraction evaluates the continued fraction for I_x(a, b)
// (NR 3rd ed. eq. 6.4.5) with the modified Lentz method.
func betaContinuedFraction(x, a, b float64) float64 {
	const (
		eps  = 3e-16 // a little over one ulp of 1: |del-1| is 0 or >= 2.2e-16
		tiny = 1e-300
	)
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

// lnBeta returns ln B(a, b) = lnΓ(a) + lnΓ(b) - lnΓ(a+b).
func lnBeta(a, b float64) float64 {
	// The t distribution only needs b = ½ (or a = ½ after the symmetry
	// swap); for large df the three log-gammas are huge and nearly cancel,
	// so that case goes through the ratio Γ(a+½)/Γ(a) directly.
	const lnSqrtPi = 0.5723649429247001 // lnΓ(½) = ln √π
	switch {
	case b == 0.5:
		return lnSqrtPi - lnGammaHalfRatio(a)
	case a == 0.5:
		return lnSqrtPi - lnGammaHalfRatio(b)
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// lnGammaHalfRatio returns lnΓ(a+½) - lnΓ(a). Below a = 30 it subtracts
// log-gammas; above, it differences the Stirling series (Abramowitz &
// Stegun 6.1.41) term by term, which avoids the cancellation:
//
//	(a)·ln(1+1/(2a)) + ½ ln a - ½ + Σ_k B_2k/(2k(2k-1)) ((a+½)^(1-2k) - a^(1-2k))
//
// truncated after k = 4 (error below 1e-16 relative for a >= 30).
func lnGammaHalfRatio(a float64) float64 {
	if a < 30 {
		l1, _ := math.Lgamma(a + 0.5)
		l0, _ := math.Lgamma(a)
		return l1 - l0
	}
	// Σ c_k (z1^(1-2k) − z0^(1-2k)) for k = 1..4, z1 = a+½, z0 = a.
	i1, i0 := 1/(a+0.5), 1/a
	q1, q0 := i1*i1, i0*i0
	series := 0.0
	p1, p0 := i1, i0
	for _, c := range [...]float64{1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680} {
		series += c * (p1 - p0)
		p1 *= q1
		p0 *= q0
	}
	return a*math.Log1p(0.5/a) + 0.5*math.Log(a) - 0.5 + series
}

// logOneSide returns ln x given x and y = 1-x, using log1p(-y) when x is
// near 1 so that no precision is lost (x^a for a huge a, large df).
func logOneSide(x, y float64) float64 {
	if x > 0.5 {
		return math.Log1p(-y)
	}
	return math.Log(x)
}
