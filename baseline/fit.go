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
	st.bps = st.bps[:0]
	for bp := o.MinBalancePointF; bp <= o.MaxBalancePointF; bp += o.BalancePointStepF {
		st.bps = append(st.bps, bp)
	}
	nb := len(st.bps)
	st.heat = resize(st.heat, nb)
	st.cool = resize(st.cool, nb)
	rows := d.f.rows
	// weighted mean of y
	var w, wy float64
	n := 0
	minT, maxT := math.Inf(1), math.Inf(-1)
	oneDay := true // every complete row is one day: the bucket route applies
	for i := range rows {
		r := &rows[i]
		if !r.ok {
			continue
		}
		n++
		if r.c1-r.c0 != 1 || d.weight(r) != 1 {
			oneDay = false
		}
		wi := d.weight(r)
		w += wi
		wy += wi * r.y
		for _, t := range d.f.temps[r.c0:r.c1] {
			if t < minT {
				minT = t
			}
			if t > maxT {
				maxT = t
			}
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
	if d.method == Daily && oneDay {
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
		uu, uyc := u*u, u*yc
		hb, cb := &hbs[jh], &cbs[jc]
		hb.n++
		hb.su += u
		hb.suu += uu
		hb.syc += yc
		hb.suyc += uyc
		cb.n++
		cb.su += u
		cb.suu += uu
		cb.syc += yc
		cb.suyc += uyc
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

// searcher walks eemeter's candidate grid in its order (intercept_only;
// hdd_only by bp; cdd_only by bp if FitCDD; cdd_hdd for each cooling bp,
// each heating bp ≤ it), counting statuses and keeping the selected
// candidate: the highest adjusted R² among qualified candidates, strict >
// so the first wins a tie (CalTRACK 3.4.3.3). When out is non-nil every
// candidate is also written there.
type searcher struct {
	out    []Candidate
	counts CandidateCounts
	best   Candidate
	found  bool
}

func (s *searcher) emit(c *Candidate) {
	s.counts.add(c)
	// strict > against −Inf at first, as eemeter: NaN never wins.
	if c.Status == Qualified && c.RSquaredAdj > s.bestR2() {
		s.best, s.found = *c, true
	}
	if s.out != nil {
		s.out = append(s.out, *c)
	}
}

func (s *searcher) bestR2() float64 {
	if !s.found {
		return math.Inf(-1)
	}
	return s.best.RSquaredAdj
}

func (st *fitStats) numCandidates(o *Options) int {
	nb := len(st.bps)
	total := 1 + nb
	if o.FitCDD {
		total += nb + nb*(nb+1)/2
	}
	return total
}

func (st *fitStats) search(o *Options, s *searcher) {
	nb := len(st.bps)
	n := float64(st.n)
	invSyy := 1 / st.syy
	invW := 1 / st.w
	// intercept_only (eemeter hard-codes its adjusted R² to 0).
	c := Candidate{Type: InterceptOnly, Intercept: st.ybar, VarBetaHDD: nan, VarBetaCDD: nan, DF: st.n - 1, Status: Qualified}
	if c.Intercept < 0 {
		c.Status, c.Reason = Disqualified, ReasonInterceptNegative
	}
	s.emit(&c)
	// single-term forms
	single := func(heat bool, xs []bpStats, minNZ int, minTotal, pmax float64) {
		adjF := (n - 1) / (n - 2) * invSyy
		scr := newScreen(st.n-2, pmax)
		var tie Candidate
		haveTie := false
		for j, bp := range st.bps {
			c := Candidate{Type: pick(heat, HDDOnly, CDDOnly), Intercept: nan, BetaHDD: nan, BetaCDD: nan, RSquaredAdj: nan,
				VarBetaHDD: nan, VarBetaCDD: nan, DF: st.n - 2}
			if heat {
				c.HeatingBalancePointF, c.BetaCDD = bp, 0
			} else {
				c.CoolingBalancePointF, c.BetaHDD = bp, 0
			}
			x := &xs[j]
			var r Reason
			if x.total < minTotal {
				r |= pick(heat, ReasonTotalHDDTooLow, ReasonTotalCDDTooLow)
			}
			if x.nz < minNZ {
				r |= pick(heat, ReasonTooFewNonZeroHDD, ReasonTooFewNonZeroCDD)
			}
			if r != 0 {
				c.Status, c.Reason = NotAttempted, r
				s.emit(&c)
				continue
			}
			var beta, v, r2adj float64
			if x.allIn && haveTie {
				// Exact tie group: the same regression as the first such
				// balance point; reuse its figures so the lowest bp wins.
				beta, v, r2adj = pick(heat, tie.BetaHDD, tie.BetaCDD), pick(heat, tie.VarBetaHDD, tie.VarBetaCDD), tie.RSquaredAdj
			} else {
				sxx := x.ss - x.s*x.s*invW
				ssr := st.syy
				if sxx > 0 {
					beta = x.sy / sxx
					ssr = math.Max(st.syy-beta*x.sy, 0)
				}
				r2adj = 1 - adjF*ssr
				v = ssr / (n - 2) / sxx
			}
			c.Intercept = st.ybar - beta*x.s*invW
			c.RSquaredAdj = r2adj
			if heat {
				c.BetaHDD, c.VarBetaHDD = beta, v
			} else {
				c.BetaCDD, c.VarBetaCDD = beta, v
			}
			if x.allIn && !haveTie {
				tie, haveTie = c, true
			}
			if c.Intercept < 0 {
				r |= ReasonInterceptNegative
			}
			if beta < 0 {
				r |= pick(heat, ReasonBetaHDDNegative, ReasonBetaCDDNegative)
			}
			if pmax < 1 && scr.tooHigh(beta*beta/v) {
				r |= pick(heat, ReasonBetaHDDPValueTooHigh, ReasonBetaCDDPValueTooHigh)
			}
			c.Status, c.Reason = Qualified, r
			if r != 0 {
				c.Status = Disqualified
			}
			s.emit(&c)
		}
	}
	single(true, st.heat, o.MinNonZeroHDD, o.MinTotalHDD, o.BetaHDDMaxPValue)
	if !o.FitCDD {
		return
	}
	single(false, st.cool, o.MinNonZeroCDD, o.MinTotalCDD, o.BetaCDDMaxPValue)
	// cdd_hdd: solve the centred 2×2 normal equations per pair. This is the
	// hot loop (1,891 pairs on the default grid): it works on scalars and
	// builds a Candidate only to keep or list one.
	df := st.n - 3
	adjF := (n - 1) / (n - 3) * invSyy
	invDF := 1 / (n - 3)
	screen := o.BetaCDDMaxPValue < 1 || o.BetaHDDMaxPValue < 1
	scrC, scrH := newScreen(df, o.BetaCDDMaxPValue), newScreen(df, o.BetaHDDMaxPValue)
	nQual, nDisq, nNA := 0, 0, 0
	bestR2 := s.bestR2()
	syy, ybar := st.syy, st.ybar
	defer func() {
		s.counts.ByType[CDDHDD][Qualified] += nQual
		s.counts.ByType[CDDHDD][Disqualified] += nDisq
		s.counts.ByType[CDDHDD][NotAttempted] += nNA
		s.counts.Qualified += nQual
		s.counts.Disqualified += nDisq
		s.counts.NotAttempted += nNA
	}()
	for ci, cbp := range st.bps {
		cs := &st.cool[ci]
		var cr Reason
		if cs.total < o.MinTotalCDD {
			cr |= ReasonTotalCDDTooLow
		}
		if cs.nz < o.MinNonZeroCDD {
			cr |= ReasonTooFewNonZeroCDD
		}
		scc := cs.ss - cs.s*cs.s*invW
		for hi := 0; hi <= ci; hi++ {
			hs := &st.heat[hi]
			r := cr
			if hs.total < o.MinTotalHDD {
				r |= ReasonTotalHDDTooLow
			}
			if hs.nz < o.MinNonZeroHDD {
				r |= ReasonTooFewNonZeroHDD
			}
			if r != 0 {
				nNA++
				if s.out != nil {
					s.out = append(s.out, Candidate{Type: CDDHDD, Status: NotAttempted, Reason: r, HeatingBalancePointF: st.bps[hi],
						CoolingBalancePointF: cbp, Intercept: nan, BetaHDD: nan, BetaCDD: nan, RSquaredAdj: nan,
						VarBetaHDD: nan, VarBetaCDD: nan, DF: df})
				}
				continue
			}
			shh := hs.ss - hs.s*hs.s*invW
			var raw float64
			if len(st.cross) > 0 {
				raw = st.cross[ci*nb+hi]
			}
			shc := raw - hs.s*cs.s*invW
			det := shh*scc - shc*shc
			var bh, bc, id float64
			ssr := syy
			if det > 0 {
				id = 1 / det
				bh = (scc*hs.sy - shc*cs.sy) * id
				bc = (shh*cs.sy - shc*hs.sy) * id
				ssr = syy - bh*hs.sy - bc*cs.sy
				if ssr < 0 {
					ssr = 0
				}
			}
			intercept := ybar - (bh*hs.s+bc*cs.s)*invW
			r2adj := 1 - adjF*ssr
			if intercept < 0 {
				r |= ReasonInterceptNegative
			}
			if bc < 0 {
				r |= ReasonBetaCDDNegative
			}
			if bh < 0 {
				r |= ReasonBetaHDDNegative
			}
			vh, vc := nan, nan
			if det > 0 {
				sigma2 := ssr * invDF
				vh, vc = sigma2*scc*id, sigma2*shh*id
			}
			if screen {
				if scrC.tooHigh(bc * bc / vc) {
					r |= ReasonBetaCDDPValueTooHigh
				}
				if scrH.tooHigh(bh * bh / vh) {
					r |= ReasonBetaHDDPValueTooHigh
				}
			}
			status := Qualified
			if r != 0 {
				status = Disqualified
				nDisq++
			} else {
				nQual++
			}
			// strict >: the first candidate wins a tie; NaN never wins.
			better := status == Qualified && r2adj > bestR2
			if better || s.out != nil {
				c := Candidate{Type: CDDHDD, Status: status, Reason: r, HeatingBalancePointF: st.bps[hi], CoolingBalancePointF: cbp,
					Intercept: intercept, BetaHDD: bh, BetaCDD: bc, RSquaredAdj: r2adj, VarBetaHDD: vh, VarBetaCDD: vc, DF: df}
				if better {
					s.best, s.found = c, true
					bestR2 = r2adj
				}
				if s.out != nil {
					s.out = append(s.out, c)
				}
			}
		}
	}
}

func pick[T any](heat bool, h, c T) T {
	if heat {
		return h
	}
	return c
}
