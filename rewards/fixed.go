package rewards

import (
	"math"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/shopspring/decimal"
)

// fixed is the fast path's number: the value c × 10^e with an int64
// coefficient, computed without allocating. It also carries r, the exponent
// that shopspring's decimal.Decimal has after the same operations, so that
// the fast path returns the exact path's decimal bit for bit (the same
// coefficient and exponent, not only an equal value): the exact result is
// c × 10^(e−r) with exponent r. The two differ after a division, which
// shopspring returns with divPlaces places (55.25 as 5525 followed by 18
// zeros, exponent −20): the fast path holds it as 5525e-2 with r = −20.
//
// Invariants: r <= e, and c is never math.MinInt64 (so −c and |c| fit an
// int64); c == math.MinInt64 marks "no fixed value" (noFixed).
//
// Every operation reports ok=false when its result does not fit (an int64
// overflow, an exponent beyond int32, a quotient that is not a short
// decimal) or is an error (division by zero): the caller then falls back
// to the exact decimal path, which either computes the value with big
// integers or reports the error. The fast path never rounds except where
// the exact path does (division, at divPlaces places, half away from zero,
// as shopspring's DivRound), so a result it returns is exact.
type fixed struct {
	c    int64
	e, r int32
}

// noFixed is the marker of a value that has no fixed form.
var noFixed = fixed{c: math.MinInt64}

func (x fixed) valid() bool { return x.c != math.MinInt64 }

// pow10u[n] is 10^n (10^19 is the largest power of ten in a uint64).
var pow10u = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// fixedOf converts a decimal whose coefficient has at most 18 digits.
func fixedOf(d decimal.Decimal) (fixed, bool) {
	if d.NumDigits() > 18 {
		return noFixed, false
	}
	return fixed{c: d.CoefficientInt64(), e: d.Exponent(), r: d.Exponent()}, true
}

// fixedFromFloat is decimal.NewFromFloat(v) as a fixed: the shortest
// decimal that converts back to v (strconv's 'e' format with precision −1,
// at most 17 significant digits), with the same coefficient and exponent
// as shopspring v1.6.0, which reads the same strconv output (checked by
// TestFixedFromFloatMatchesDecimal). NaN and ±Inf have no fixed form
// (AppendEvaluate rejects facts holding them before any rule reads them).
func fixedFromFloat(v float64) fixed {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return noFixed
	}
	if v == 0 {
		return fixed{}
	}
	if x, ok := fixedFromShortFloat(v); ok {
		return x
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], v, 'e', -1, 64)
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var mant int64
	nd, i := 0, 0
	for ; b[i] != 'e'; i++ {
		if b[i] != '.' {
			mant = mant*10 + int64(b[i]-'0')
			nd++
		}
	}
	i++ // 'e'
	esign := int32(1)
	switch b[i] {
	case '-':
		esign = -1
		i++
	case '+':
		i++
	}
	var exp int32
	for ; i < len(b); i++ {
		exp = exp*10 + int32(b[i]-'0')
	}
	if neg {
		mant = -mant
	}
	// The digits are d.ddd: the coefficient scaled by 10^(nd−1).
	e := esign*exp - int32(nd) + 1
	return fixed{c: mant, e: e, r: e}
}

// pow10f[k] is 10^k, exact in a float64 for k <= 22.
var pow10f = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
	1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fixedFromShortFloat is fixedFromFloat without formatting, for the
// floats meter data is made of (a few decimal places): it finds an integer
// m of at most 15 digits with float64(m)/10^k == v for some k <= 8. That
// division is exact in both operands and correctly rounded (Clinger's fast
// path), so m×10^−k parses to v: it lies in v's rounding interval. That
// interval is narrower than 2^−52·|v|, while two different decimals of at
// most 15 significant digits near v are more than 10^−15·|v| apart, so
// m×10^−k is the only such decimal in it: it is the shortest decimal that
// parses to v, which is what strconv (and so NewFromFloat) returns, once
// the trailing zeros of m are dropped. Whatever k finds it first, the
// value, and so the result, is the same. ok is false otherwise.
func fixedFromShortFloat(v float64) (fixed, bool) {
	for k := 0; k <= 8; k++ {
		x := v * pow10f[k]
		if x >= 1e15 || x <= -1e15 {
			return noFixed, false
		}
		m := math.Round(x)
		if m == 0 || m/pow10f[k] != v {
			continue
		}
		c, e := int64(m), int32(-k)
		for c%10 == 0 {
			c /= 10
			e++
		}
		return fixed{c: c, e: e, r: e}, true
	}
	return noFixed, false
}

// decimal returns the exact path's decimal for x: coefficient c × 10^(e−r),
// exponent r.
func (x fixed) decimal() decimal.Decimal {
	shift := int64(x.e) - int64(x.r)
	if shift == 0 {
		return decimal.New(x.c, x.r)
	}
	if c, ok := scaleUp(x.c, shift); ok {
		return decimal.New(c, x.r)
	}
	// A quotient's 20 places rarely fit an int64 coefficient.
	c := new(big.Int).Exp(big.NewInt(10), big.NewInt(shift), nil)
	return decimal.NewFromBigInt(c.Mul(c, big.NewInt(x.c)), x.r)
}

// within reports whether the exact path's decimal for x passes
// library.bound: at most maxDigits significant digits and an exponent in
// [−2·maxDigits, maxDigits].
func (x fixed) within(maxDigits int) bool {
	if int(x.r) > maxDigits || int(x.r) < -2*maxDigits {
		return false
	}
	if x.c == 0 {
		return 1 <= maxDigits // NumDigits of a zero coefficient is 1
	}
	return int64(digits(uabs(x.c)))+int64(x.e)-int64(x.r) <= int64(maxDigits)
}

// digits returns the number of decimal digits of u > 0.
func digits(u uint64) int {
	// bits.Len64(u)*1233>>12 is floor(log10(2^bits)): the digit count or
	// one less.
	n := bits.Len64(u) * 1233 >> 12
	if n < len(pow10u) && u >= pow10u[n] {
		n++
	}
	return n
}

func uabs(c int64) uint64 {
	if c < 0 {
		return uint64(-c)
	}
	return uint64(c)
}

// withSign returns ±u as an int64 when u <= MaxInt64.
func withSign(u uint64, neg bool) (int64, bool) {
	if u > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// scaleUp returns c × 10^by, by >= 0, when it fits.
func scaleUp(c int64, by int64) (int64, bool) {
	if by == 0 || c == 0 {
		return c, true
	}
	if by >= int64(len(pow10u)) {
		return 0, false
	}
	hi, lo := bits.Mul64(uabs(c), pow10u[by])
	if hi != 0 {
		return 0, false
	}
	return withSign(lo, c < 0)
}

func exp32(e int64) (int32, bool) {
	return int32(e), e >= math.MinInt32 && e <= math.MaxInt32
}

func sign64(c int64) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// cmpFixed compares the values of a and b; it always decides.
func cmpFixed(a, b fixed) int {
	sa, sb := sign64(a.c), sign64(b.c)
	switch {
	case sa != sb:
		if sa > sb {
			return 1
		}
		return -1
	case sa == 0:
		return 0
	}
	x, y := uabs(a.c), uabs(b.c)
	var m int
	switch {
	case a.e == b.e:
		m = cmpUint(x, y)
	case a.e > b.e:
		m = cmpScaled(x, int64(a.e)-int64(b.e), y)
	default:
		m = -cmpScaled(y, int64(b.e)-int64(a.e), x)
	}
	return m * sa
}

// cmpScaled compares x × 10^d with y, for 0 < x, y < 2^63 and d > 0.
func cmpScaled(x uint64, d int64, y uint64) int {
	if d >= int64(len(pow10u)) {
		return 1 // x × 10^d >= 10^20 > y
	}
	hi, lo := bits.Mul64(x, pow10u[d])
	if hi != 0 {
		return 1
	}
	return cmpUint(lo, y)
}

func cmpUint(x, y uint64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// addFixed is decimal.Add: the exact sum, at the smaller exponent.
func addFixed(a, b fixed) (fixed, bool) {
	r := min(a.r, b.r)
	switch {
	case b.c == 0:
		return fixed{c: a.c, e: a.e, r: r}, true
	case a.c == 0:
		return fixed{c: b.c, e: b.e, r: r}, true
	}
	e := min(a.e, b.e)
	ca, ok1 := scaleUp(a.c, int64(a.e)-int64(e))
	cb, ok2 := scaleUp(b.c, int64(b.e)-int64(e))
	if !ok1 || !ok2 {
		return noFixed, false
	}
	s := ca + cb
	if (ca^s)&(cb^s) < 0 || s == math.MinInt64 {
		return noFixed, false
	}
	return fixed{c: s, e: e, r: r}, true
}

// negFixed is decimal.Neg.
func negFixed(a fixed) fixed { return fixed{c: -a.c, e: a.e, r: a.r} }

// subFixed is decimal.Sub.
func subFixed(a, b fixed) (fixed, bool) { return addFixed(a, negFixed(b)) }

// mulFixed is decimal.Mul: the product of the coefficients, exponents
// added.
func mulFixed(a, b fixed) (fixed, bool) {
	e, ok1 := exp32(int64(a.e) + int64(b.e))
	r, ok2 := exp32(int64(a.r) + int64(b.r))
	hi, lo := bits.Mul64(uabs(a.c), uabs(b.c))
	c, ok3 := withSign(lo, (a.c < 0) != (b.c < 0))
	if !ok1 || !ok2 || !ok3 || hi != 0 {
		return noFixed, false
	}
	return fixed{c: c, e: e, r: r}, true
}

// divFixed is a.DivRound(b, divPlaces), the "/" of rules: the quotient
// rounded to divPlaces places, half away from zero, with exponent
// −divPlaces. shopspring computes q, r = QuoRem of a_c·10^k by b_c (or of
// a_c by b_c·10^−k when k < 0), k = a_e − b_e + divPlaces, truncating, and
// adds one unit away from zero when 2|r| >= the divisor; so does this, on
// 128-bit magnitudes. ok is false on division by zero (the exact path
// reports it) and when the quotient does not fit.
func divFixed(a, b fixed) (fixed, bool) {
	const r = -divPlaces
	if b.c == 0 {
		return noFixed, false
	}
	if a.c == 0 {
		return fixed{c: 0, e: r, r: r}, true
	}
	k := int64(a.e) - int64(b.e) + divPlaces
	n, d := uabs(a.c), uabs(b.c)
	var qhi, qlo uint64
	if k >= 0 {
		nhi, nlo, ok := mulPow10(n, k)
		if !ok {
			return noFixed, false
		}
		var rem uint64
		qhi, rem = nhi/d, nhi%d
		qlo, rem = bits.Div64(rem, nlo, d)
		if rem >= d-rem { // 2·rem >= d
			qlo++
			if qlo == 0 {
				qhi++
			}
		}
	} else if -k < int64(len(pow10u)) {
		dhi, dlo := bits.Mul64(d, pow10u[-k])
		if dhi == 0 { // else the divisor is >= 2^64 > 2n: the quotient is 0
			var rem uint64
			qlo, rem = n/dlo, n%dlo
			if rem >= dlo-rem {
				qlo++
			}
		}
	} // else the divisor is >= 10^20 > 2n: the quotient is 0
	// The quotient is q × 10^−divPlaces; drop trailing zeros of q until it
	// fits an int64 (the value is unchanged, r keeps the exponent).
	e := int32(r)
	for qhi != 0 || qlo > math.MaxInt64 {
		var rem uint64
		h := qhi / 10
		qlo, rem = bits.Div64(qhi%10, qlo, 10)
		if rem != 0 {
			return noFixed, false
		}
		qhi = h
		e++
	}
	c, _ := withSign(qlo, (a.c < 0) != (b.c < 0))
	return fixed{c: c, e: e, r: r}, true
}

// mulPow10 returns n × 10^k as a 128-bit number (hi, lo), for n < 2^63.
func mulPow10(n uint64, k int64) (hi, lo uint64, ok bool) {
	if k < int64(len(pow10u)) {
		hi, lo = bits.Mul64(n, pow10u[k])
		return hi, lo, true
	}
	if k > 2*int64(len(pow10u)-1) {
		return 0, 0, false
	}
	h, l := bits.Mul64(n, pow10u[len(pow10u)-1])
	m := pow10u[k-int64(len(pow10u)-1)]
	carry, lo := bits.Mul64(l, m)
	over, mid := bits.Mul64(h, m)
	hi, c := bits.Add64(mid, carry, 0)
	if over != 0 || c != 0 {
		return 0, 0, false
	}
	return hi, lo, true
}
