package baseline

import (
	"math"
)

// bpStats are the weighted sufficient statistics of one degree-day column
// x (HDD or CDD at one balance point) over the complete rows.
type bpStats struct {
	nz    int     // rows with x > 0
	total float64 // Σ w·x (eemeter's total degree days)
	s     float64 // Σ w·x
	ss    float64 // Σ w·x²
	sy    float64 // Σ w·x·(y − ȳ)
	// allIn: every kept day is on the degree-day side of bp (all above it
	// for heating), so x = bp − T on every row and every such balance
	// point gives the same regression (an exact tie group).
	allIn bool
}

// fitStats hold everything the candidate grid needs.
type fitStats struct {
	n          int     // complete rows (statsmodels nobs)
	w, ybar    float64 // Σ w, weighted mean usage per day
	syy        float64 // Σ w·(y − ȳ)²
	bps        []int
	heat, cool []bpStats
	// cross[ci*len(bps)+hi] = Σ w·cdd·hdd (billing; daily rows never have
	// both, so it is nil and zero).
	cross []float64
}

// newStats computes the statistics. Daily rows (one day each, weight 1)
// drop into whole-degree buckets, and per-balance-point sums come from
// running bucket sums, so the cost is O(days + balance points). Usage is
// centred on its mean and temperature shifted by a whole number to keep
// the sums accurate whatever the load.
func (d *Design) newStats(o *Options, st *fitStats) {
	st.bps = o.balancePoints()
	nb := len(st.bps)
	st.heat = resize(st.heat, nb)
	st.cool = resize(st.cool, nb)
	rows := d.f.rows
	// weighted mean of y
	var w, wy float64
	n := 0
	minT, maxT := math.Inf(1), math.Inf(-1)
	for i := range rows {
		r := &rows[i]
		if !r.ok {
			continue
		}
		n++
		wi := d.weight(r)
		w += wi
		wy += wi * r.y
		for _, t := range d.f.temps[r.c0:r.c1] {
			minT = math.Min(minT, t)
			maxT = math.Max(maxT, t)
		}
	}
	st.n, st.w = n, w
	if n == 0 {
		return
	}
	st.ybar = wy / w
	var syy float64
	for i := range rows {
		r := &rows[i]
		if r.ok {
			yc := r.y - st.ybar
			syy += d.weight(r) * yc * yc
		}
	}
	st.syy = syy
	if d.method == Daily && o.BalancePointStepF > 0 {
		d.dailyStats(o, st, minT, maxT)
	} else {
		d.periodStats(st)
	}
	for i, bp := range st.bps {
		st.heat[i].allIn = maxT < float64(bp)
		st.cool[i].allIn = minT > float64(bp)
	}
}

func resize(s []bpStats, n int) []bpStats {
	if cap(s) < n {
		return make([]bpStats, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func (d *Design) weight(r *row) float64 {
	if d.method == Billing {
		return float64(r.nKept)
	}
	return 1
}

type bucket struct {
	n                  int
	su, suu, syc, suyc float64
}

// dailyStats: heating days for bp are those with T < bp, i.e. floor(T) < bp;
// cooling days those with T > bp, i.e. ceil(T)−1 ≥ bp (strict inequalities,
// as max(bp−T, 0) > 0 requires).
func (d *Design) dailyStats(o *Options, st *fitStats, minT, maxT float64) {
	lo, hi := o.MinBalancePointF, o.MaxBalancePointF
	nbk := hi - lo + 2
	var hb, cb [256]bucket
	var hbs, cbs []bucket
	if nbk <= len(hb) {
		hbs, cbs = hb[:nbk], cb[:nbk]
	} else {
		hbs, cbs = make([]bucket, nbk), make([]bucket, nbk)
	}
	shift := math.Round((minT + maxT) / 2)
	for i := range d.f.rows {
		r := &d.f.rows[i]
		if !r.ok {
			continue
		}
		t := d.f.temps[r.c0]
		u := t - shift
		yc := r.y - st.ybar
		jh := clampInt(int(math.Floor(t))-(lo-1), 0, nbk-1)
		jc := clampInt(int(math.Ceil(t))-1-(lo-1), 0, nbk-1)
		for _, b := range [2]*bucket{&hbs[jh], &cbs[jc]} {
			b.n++
			b.su += u
			b.suu += u * u
			b.syc += yc
			b.suyc += u * yc
		}
	}
	// heating: prefix over buckets 0..bp−lo; cooling: suffix over bp−lo+1..
	var acc bucket
	next := 0
	for i, bp := range st.bps {
		for ; next <= bp-lo; next++ {
			addBucket(&acc, &hbs[next])
		}
		dd := float64(bp) - shift
		nn := float64(acc.n)
		h := &st.heat[i]
		h.nz = acc.n
		h.s = nn*dd - acc.su
		h.total = h.s
		h.ss = nn*dd*dd - 2*dd*acc.su + acc.suu
		h.sy = dd*acc.syc - acc.suyc
	}
	acc = bucket{}
	next = nbk - 1
	for i := len(st.bps) - 1; i >= 0; i-- {
		bp := st.bps[i]
		for ; next >= bp-lo+1; next-- {
			addBucket(&acc, &cbs[next])
		}
		dd := float64(bp) - shift
		nn := float64(acc.n)
		c := &st.cool[i]
		c.nz = acc.n
		c.s = acc.su - nn*dd
		c.total = c.s
		c.ss = acc.suu - 2*dd*acc.su + nn*dd*dd
		c.sy = acc.suyc - dd*acc.syc
	}
	st.cross = st.cross[:0]
}

func addBucket(a, b *bucket) {
	a.n += b.n
	a.su += b.su
	a.suu += b.suu
	a.syc += b.syc
	a.suyc += b.suyc
}

func clampInt(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// periodStats computes the sums column by column (billing: few periods,
// degree days averaged over each period's kept days, WLS weights
// n_days_kept), including the HDD×CDD cross sums, which are not zero
// for periods that span both seasons.
func (d *Design) periodStats(st *fitStats) {
	nb := len(st.bps)
	var hv, cv []float64
	type obs struct{ w, yc float64 }
	var os []obs
	for i := range d.f.rows {
		r := &d.f.rows[i]
		if !r.ok {
			continue
		}
		os = append(os, obs{d.weight(r), r.y - st.ybar})
		for _, bp := range st.bps {
			hv = append(hv, d.f.hdd(r, float64(bp)))
			cv = append(cv, d.f.cdd(r, float64(bp)))
		}
	}
	for k, ob := range os {
		for j := 0; j < nb; j++ {
			for _, p := range [2]struct {
				s *bpStats
				x float64
			}{{&st.heat[j], hv[k*nb+j]}, {&st.cool[j], cv[k*nb+j]}} {
				if p.x > 0 {
					p.s.nz++
				}
				p.s.total += p.x * ob.w
				p.s.s += ob.w * p.x
				p.s.ss += ob.w * p.x * p.x
				p.s.sy += ob.w * p.x * ob.yc
			}
		}
	}
	if cap(st.cross) < nb*nb {
		st.cross = make([]float64, nb*nb)
	}
	st.cross = st.cross[:nb*nb]
	clear(st.cross)
	for k, ob := range os {
		for ci := 0; ci < nb; ci++ {
			c := cv[k*nb+ci]
			if c == 0 {
				continue
			}
			for hi := 0; hi <= ci; hi++ {
				st.cross[ci*nb+hi] += ob.w * c * hv[k*nb+hi]
			}
		}
	}
}

// candidates evaluates eemeter's grid in its order (intercept_only;
// hdd_only by bp; cdd_only by bp if FitCDD; cdd_hdd for each cooling bp,
// each heating bp ≤ it) into out, and returns it with the index of the
// selected candidate (−1 if none qualified): the highest adjusted R² among
// qualified candidates, strict > so the first wins a tie (CalTRACK 3.4.3.3).
func (st *fitStats) candidates(o *Options, out []Candidate) ([]Candidate, int) {
	nb := len(st.bps)
	total := 1 + nb
	if o.FitCDD {
		total += nb + nb*(nb+1)/2
	}
	if cap(out) < total {
		out = make([]Candidate, total)
	}
	out = out[:total]
	best, bestR2 := -1, math.Inf(-1)
	consider := func(i int) {
		c := &out[i]
		if c.Status == Qualified && c.RSquaredAdj > bestR2 {
			best, bestR2 = i, c.RSquaredAdj
		}
	}
	n := float64(st.n)
	k := 0
	// intercept_only (eemeter hard-codes its adjusted R² to 0).
	c := &out[k]
	*c = Candidate{Type: InterceptOnly, Intercept: st.ybar, TStatHDD: nan, TStatCDD: nan, DF: st.n - 1, Status: Qualified}
	if st.n == 0 {
		c.Intercept = nan
		c.Status = NotAttempted
	} else if c.Intercept < 0 {
		c.Status, c.Reason = Disqualified, ReasonInterceptNegative
	}
	consider(k)
	k++
	// single-term forms
	single := func(typ ModelType, s []bpStats, minNZ int, minTotal, pmax float64, first *int) {
		for j, bp := range st.bps {
			c := &out[k]
			*c = Candidate{Type: typ, Intercept: nan, BetaHDD: nan, BetaCDD: nan, RSquaredAdj: nan, TStatHDD: nan, TStatCDD: nan, DF: st.n - 2}
			heat := typ == HDDOnly
			if heat {
				c.HeatingBalancePointF, c.BetaCDD = bp, 0
			} else {
				c.CoolingBalancePointF, c.BetaHDD = bp, 0
			}
			x := &s[j]
			var r Reason
			if x.total < minTotal {
				r |= pick(heat, ReasonTotalHDDTooLow, ReasonTotalCDDTooLow)
			}
			if x.nz < minNZ {
				r |= pick(heat, ReasonTooFewNonZeroHDD, ReasonTooFewNonZeroCDD)
			}
			if r != 0 || st.n == 0 {
				c.Status, c.Reason = NotAttempted, r
				k++
				continue
			}
			sxx := x.ss - x.s*x.s/st.w
			beta, ssr := 0.0, st.syy
			if sxx > 0 {
				beta = x.sy / sxx
				ssr = math.Max(st.syy-beta*x.sy, 0)
			}
			r2adj := 1 - (n-1)/(n-2)*(ssr/st.syy)
			t2 := beta * beta * sxx / (ssr / (n - 2))
			if x.allIn {
				// Exact tie group: the same regression as the first such
				// balance point; reuse its figures so the lowest wins.
				if *first < 0 {
					*first = k
				} else {
					f := &out[*first]
					r2adj = f.RSquaredAdj
					beta = pick(heat, f.BetaHDD, f.BetaCDD)
					t2 = pick(heat, f.TStatHDD, f.TStatCDD)
					t2 *= t2
				}
			}
			c.Intercept = st.ybar - beta*x.s/st.w
			c.RSquaredAdj = r2adj
			t := math.Copysign(math.Sqrt(t2), beta)
			if heat {
				c.BetaHDD, c.TStatHDD = beta, t
			} else {
				c.BetaCDD, c.TStatCDD = beta, t
			}
			if c.Intercept < 0 {
				r |= ReasonInterceptNegative
			}
			if beta < 0 {
				r |= pick(heat, ReasonBetaHDDNegative, ReasonBetaCDDNegative)
			}
			if pValueTooHigh(t2, c.DF, pmax) {
				r |= pick(heat, ReasonBetaHDDPValueTooHigh, ReasonBetaCDDPValueTooHigh)
			}
			c.Status, c.Reason = Qualified, r
			if r != 0 {
				c.Status = Disqualified
			}
			consider(k)
			k++
		}
	}
	firstH, firstC := -1, -1
	single(HDDOnly, st.heat, o.MinNonZeroHDD, o.MinTotalHDD, o.BetaHDDMaxPValue, &firstH)
	if !o.FitCDD {
		return out, best
	}
	single(CDDOnly, st.cool, o.MinNonZeroCDD, o.MinTotalCDD, o.BetaCDDMaxPValue, &firstC)
	// cdd_hdd
	df := st.n - 3
	for ci, cbp := range st.bps {
		cs := &st.cool[ci]
		var cr Reason
		if cs.total < o.MinTotalCDD {
			cr |= ReasonTotalCDDTooLow
		}
		if cs.nz < o.MinNonZeroCDD {
			cr |= ReasonTooFewNonZeroCDD
		}
		scc := cs.ss - cs.s*cs.s/st.w
		for hi := 0; hi <= ci; hi++ {
			hs := &st.heat[hi]
			c := &out[k]
			k++
			*c = Candidate{Type: CDDHDD, HeatingBalancePointF: st.bps[hi], CoolingBalancePointF: cbp,
				Intercept: nan, BetaHDD: nan, BetaCDD: nan, RSquaredAdj: nan, TStatHDD: nan, TStatCDD: nan, DF: df}
			r := cr
			if hs.total < o.MinTotalHDD {
				r |= ReasonTotalHDDTooLow
			}
			if hs.nz < o.MinNonZeroHDD {
				r |= ReasonTooFewNonZeroHDD
			}
			if r != 0 || st.n == 0 {
				c.Status, c.Reason = NotAttempted, r
				continue
			}
			shh := hs.ss - hs.s*hs.s/st.w
			var raw float64
			if len(st.cross) > 0 {
				raw = st.cross[ci*nb+hi]
			}
			shc := raw - hs.s*cs.s/st.w
			det := shh*scc - shc*shc
			var bh, bc float64
			ssr := st.syy
			if det > 0 {
				bh = (scc*hs.sy - shc*cs.sy) / det
				bc = (shh*cs.sy - shc*hs.sy) / det
				ssr = math.Max(st.syy-bh*hs.sy-bc*cs.sy, 0)
			}
			sigma2 := ssr / (n - 3)
			th2 := bh * bh * det / (sigma2 * scc)
			tc2 := bc * bc * det / (sigma2 * shh)
			c.BetaHDD, c.BetaCDD = bh, bc
			c.TStatHDD = math.Copysign(math.Sqrt(th2), bh)
			c.TStatCDD = math.Copysign(math.Sqrt(tc2), bc)
			c.Intercept = st.ybar - bh*hs.s/st.w - bc*cs.s/st.w
			c.RSquaredAdj = 1 - (n-1)/(n-3)*(ssr/st.syy)
			if c.Intercept < 0 {
				r |= ReasonInterceptNegative
			}
			if bc < 0 {
				r |= ReasonBetaCDDNegative
			}
			if bh < 0 {
				r |= ReasonBetaHDDNegative
			}
			if pValueTooHigh(tc2, df, o.BetaCDDMaxPValue) {
				r |= ReasonBetaCDDPValueTooHigh
			}
			if pValueTooHigh(th2, df, o.BetaHDDMaxPValue) {
				r |= ReasonBetaHDDPValueTooHigh
			}
			c.Status, c.Reason = Qualified, r
			if r != 0 {
				c.Status = Disqualified
			}
			consider(k - 1)
		}
	}
	return out, best
}

func pick[T any](heat bool, h, c T) T {
	if heat {
		return h
	}
	return c
}
