package baseline

import (
	"math"
	"time"
)

// hourlyGrid is temperature on a continuous hourly UTC grid, as eemeter
// gets from resample("H").sum(min_count=1): readings in the same hour are
// summed (eemeter's behaviour; feed hourly data), missing hours are NaN.
type hourlyGrid struct {
	start time.Time
	v     []float64
}

// isDailyMeans reports whether every gap between readings is a whole
// number of days, i.e. the series holds one daily-mean reading per day
// (nmecr's temp.csv).
func isDailyMeans(t *Temperature) bool {
	if t.Len() < 2 {
		return false
	}
	for i := 1; i < t.Len(); i++ {
		if t.At(i).Start.Sub(t.At(i-1).Start)%day != 0 {
			return false
		}
	}
	return true
}

// newHourlyGrid builds the grid. Daily-mean input (see isDailyMeans) is
// spread over the 24 hours starting at each reading, so the daily route
// sees the day's mean and full temperature coverage; eemeter itself only
// accepts hourly temperature.
func newHourlyGrid(t *Temperature) (hourlyGrid, error) {
	r := t.s.r
	first := r[0].Start.Truncate(time.Hour)
	lastT := r[len(r)-1].Start.Truncate(time.Hour)
	if err := checkSpan("temperature", first, lastT); err != nil {
		return hourlyGrid{}, err
	}
	daily := isDailyMeans(t)
	if daily {
		lastT = lastT.Add(23 * time.Hour)
	}
	n := int(lastT.Sub(first)/time.Hour) + 1
	g := hourlyGrid{start: first, v: make([]float64, n)}
	for i := range g.v {
		g.v[i] = math.NaN()
	}
	for _, rd := range r {
		i := int(rd.Start.Truncate(time.Hour).Sub(first) / time.Hour)
		if math.IsNaN(rd.Value) {
			continue
		}
		if daily {
			for h := 0; h < 24; h++ {
				g.v[i+h] = rd.Value
			}
			continue
		}
		if math.IsNaN(g.v[i]) {
			g.v[i] = rd.Value
		} else {
			g.v[i] += rd.Value
		}
	}
	return g, nil
}

// index returns the first grid position at or after t (clamped to 0..len).
func (g *hourlyGrid) index(t time.Time) int {
	d := t.Sub(g.start)
	if d <= 0 {
		return 0
	}
	i := int((d + time.Hour - 1) / time.Hour)
	return min(i, len(g.v))
}

// row is one design-matrix row (one usage period).
type row struct {
	start time.Time
	// days is eemeter's day_counts: the period length in days (fraction
	// allowed); NaN for the last row.
	days float64
	// value is the period's usage; y the usage per day (value/days).
	value, y float64
	// Temperature data quality for the period (hourly readings matched).
	tNotNull, tNull int
	tMean           float64
	// nKept/nDropped: days (24-reading chunks) kept and dropped.
	nKept, nDropped int
	// chunk means of the kept days are temps[c0:c1].
	c0, c1 int
	// ok: no NaN anywhere in the row (eemeter overwrite_partial_rows_with_nan).
	ok bool
}

// features holds eemeter's temperature features for a period index.
type features struct {
	rows  []row
	temps []float64
}

// computeFeatures mirrors eemeter compute_temperature_features with
// degree_day_method="daily" (features.py): hourly readings go to the
// latest period start at or before them (merge_asof backward) within tol
// (tol < 0: no limit). A group of ≤ 24 readings takes the daily route
// (kept when the group has more than 12 rows, NaN included; T = mean); a
// longer group takes the billing route (24-reading chunks by position;
// the period is dropped when fewer than 90 % of readings are non-null;
// chunks with more than 12 non-null readings are kept). The last row is
// always NaN.
func computeFeatures(starts []time.Time, g *hourlyGrid, tol time.Duration) features {
	f := features{rows: make([]row, len(starts))}
	for i, s := range starts {
		r := &f.rows[i]
		r.start = s
		r.days = math.NaN()
		r.tMean = math.NaN()
		r.c0, r.c1 = len(f.temps), len(f.temps)
		if i+1 < len(starts) {
			r.days = starts[i+1].Sub(s).Hours() / 24
		}
		lo := g.index(s)
		var hi int
		if i+1 < len(starts) {
			hi = g.index(starts[i+1])
		} else {
			hi = len(g.v)
		}
		if tol >= 0 {
			// merge_asof tolerance is inclusive: t - s <= tol.
			hi = min(hi, g.index(s.Add(tol+time.Nanosecond)))
		}
		if hi <= lo {
			continue // no readings: the group does not exist, the row is NaN
		}
		v := g.v[lo:hi]
		nn := 0
		for _, x := range v {
			if !math.IsNaN(x) {
				nn++
			}
		}
		r.tNotNull, r.tNull = nn, len(v)-nn
		r.tMean = kahanMean(v)
		if len(v) <= 24 {
			// Daily route (features.py "faster route for daily case").
			if float64(len(v)) > 24*0.5 {
				r.nKept = 1
				f.temps = append(f.temps, dayMean(v))
			} else {
				r.nDropped = 1
			}
		} else {
			nChunks := (len(v) + 23) / 24
			if float64(nn) < 0.9*float64(len(v)) {
				r.nDropped = nChunks
			} else {
				for c := 0; c < nChunks; c++ {
					ch := v[c*24 : min(c*24+24, len(v))]
					cnt := 0
					for _, x := range ch {
						if !math.IsNaN(x) {
							cnt++
						}
					}
					if float64(cnt) > 24*0.5 {
						f.temps = append(f.temps, chunkMean(ch))
						r.nKept++
					} else {
						r.nDropped++
					}
				}
			}
		}
		r.c1 = len(f.temps)
	}
	return f
}

// kahanMean is the mean of the non-NaN values with pandas' compensated
// (Kahan-Babuška / Neumaier) summation; NaN when there are none.
func kahanMean(v []float64) float64 {
	var sum, comp float64
	n := 0
	for _, x := range v {
		if math.IsNaN(x) {
			continue
		}
		n++
		t := sum + x
		if math.Abs(sum) >= math.Abs(x) {
			comp += (sum - t) + x
		} else {
			comp += (x - t) + sum
		}
		sum = t
	}
	if n == 0 {
		return math.NaN()
	}
	return (sum + comp) / float64(n)
}

// numpySum is numpy's pairwise summation (8-way unrolled blocks, split
// above 128), which pandas' Series.mean uses.
func numpySum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, x := range a {
			s += x
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := 0; j < 8; j++ {
				r[j] += a[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return numpySum(a[:n2]) + numpySum(a[n2:])
	}
}

// hdd is the row's heating degree days per day at bp: the mean over kept
// days of max(bp − T, 0) (CalTRACK 3.3.5.1.1; use_mean_daily_values).
func (f *features) hdd(r *row, bp float64) float64 {
	t := f.temps[r.c0:r.c1]
	if len(t) == 1 {
		return posPart(bp - t[0])
	}
	var buf [128]float64
	d := buf[:0]
	for _, x := range t {
		d = append(d, posPart(bp-x))
	}
	return numpySum(d) / float64(len(d))
}

// cdd is the cooling counterpart: mean over kept days of max(T − bp, 0).
func (f *features) cdd(r *row, bp float64) float64 {
	t := f.temps[r.c0:r.c1]
	if len(t) == 1 {
		return posPart(t[0] - bp)
	}
	var buf [128]float64
	d := buf[:0]
	for _, x := range t {
		d = append(d, posPart(x-bp))
	}
	return numpySum(d) / float64(len(d))
}

// Design is a CalTRACK design matrix: usage per day and temperature
// features for each usage period of a baseline (eemeter
// create_caltrack_daily_design_matrix / create_caltrack_billing_design_matrix).
// Build it once with [NewDesign] and fit it with [Design.Fit].
type Design struct {
	method Method
	f      features
	// req is the requested baseline window for data sufficiency.
	reqStart, reqEnd time.Time
	hasReq           bool
}

// NewDesign builds the design matrix for usage (already windowed, e.g. by
// [BaselineWindow]; its last reading is the end marker) and temperature.
// For the Daily method usage is first resampled to UTC days
// ([DailyUsage]; a no-op for UTC-day data). For Billing, hourly
// temperatures are matched to a period only up to
// o.BillingToleranceDays after its start (eemeter's 35 days) unless
// o.FullPeriodBillingTemperature is set.
func NewDesign(u *Usage, t *Temperature, o Options) (*Design, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if u == nil || u.Len() == 0 || t == nil || t.Len() == 0 {
		return nil, ErrNoData
	}
	tol := day
	if o.Method == Daily {
		var err error
		if u, err = DailyUsage(u); err != nil {
			return nil, err
		}
	} else {
		tol = time.Duration(o.BillingToleranceDays) * day
		if o.FullPeriodBillingTemperature {
			tol = -1
		}
	}
	g, err := newHourlyGrid(t)
	if err != nil {
		return nil, err
	}
	starts := make([]time.Time, u.Len())
	for i := range starts {
		starts[i] = u.At(i).Start
	}
	d := &Design{method: o.Method, f: computeFeatures(starts, &g, tol)}
	for i := range d.f.rows {
		r := &d.f.rows[i]
		r.value = u.At(i).Value
		r.y = r.value / r.days
		r.ok = i+1 < len(d.f.rows) && !math.IsNaN(r.y) && r.nKept > 0 && !math.IsNaN(r.tMean) &&
			!math.IsNaN(d.f.temps[r.c0])
	}
	return d, nil
}

// WithRequestedPeriod returns a copy of d whose data-sufficiency check
// measures gaps against [start, end] (eemeter caltrack_sufficiency_criteria
// requested_start/requested_end) instead of the data's own extent.
func (d *Design) WithRequestedPeriod(start, end time.Time) *Design {
	c := *d
	c.reqStart, c.reqEnd, c.hasReq = start.UTC(), end.UTC(), true
	return &c
}

// Method returns the design's method.
func (d *Design) Method() Method { return d.method }

// Len returns the number of rows (periods, end marker included).
func (d *Design) Len() int { return len(d.f.rows) }

// DesignRow is one row of a design matrix, for inspection and export.
type DesignRow struct {
	Start time.Time
	// Days is the period length (NaN for the last row); UsagePerDay is
	// the meter value divided by Days (eemeter meter_value).
	Days, UsagePerDay float64
	// TempNotNull/TempNull count the hourly readings matched to the period;
	// TempMeanF is their mean.
	TempNotNull, TempNull int
	TempMeanF             float64
	// DaysKept/DaysDropped: days with enough temperature (eemeter
	// n_days_kept / n_days_dropped). DaysKept is the billing WLS weight.
	DaysKept, DaysDropped int
	// Complete is false when eemeter would blank the row (any NaN).
	Complete bool
}

// Row returns row i.
func (d *Design) Row(i int) DesignRow {
	r := &d.f.rows[i]
	return DesignRow{Start: r.start, Days: r.days, UsagePerDay: r.y, TempNotNull: r.tNotNull, TempNull: r.tNull,
		TempMeanF: r.tMean, DaysKept: r.nKept, DaysDropped: r.nDropped, Complete: r.ok}
}

// HDD returns row i's heating degree days per day at balance point bp
// (NaN for an incomplete row).
func (d *Design) HDD(i int, bpF float64) float64 {
	r := &d.f.rows[i]
	if !r.ok {
		return math.NaN()
	}
	return d.f.hdd(r, bpF)
}

// CDD returns row i's cooling degree days per day at bp.
func (d *Design) CDD(i int, bpF float64) float64 {
	r := &d.f.rows[i]
	if !r.ok {
		return math.NaN()
	}
	return d.f.cdd(r, bpF)
}

// dayMean is pandas Series.mean (nanops.nanmean): NaN counted as 0 in a
// numpy pairwise sum, divided by the non-null count. It reproduces
// eemeter's daily mean temperatures bit for bit, which matters when a mean
// lands on a whole-degree balance point.
func dayMean(v []float64) float64 {
	var buf [32]float64
	b := buf[:0]
	n := 0
	for _, x := range v {
		if math.IsNaN(x) {
			x = 0
		} else {
			n++
		}
		b = append(b, x)
	}
	if n == 0 {
		return math.NaN()
	}
	return numpySum(b) / float64(n)
}

// chunkMean is the per-day mean inside a billing period (pandas groupby
// mean, which compensates its sums).
func chunkMean(v []float64) float64 { return kahanMean(v) }

// posPart is max(x, 0) for finite x (NaN stays NaN, as numpy.maximum).
func posPart(x float64) float64 {
	if x < 0 {
		return 0
	}
	return x
}
