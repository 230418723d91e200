package baseline

import (
	"errors"
	"fmt"
	"time"
)

// FitResult is the outcome of a CalTRACK fit: the selected [Model],
// candidate counts, and the data-sufficiency verdict. A sufficiency FAIL
// does not stop the fit (eemeter fits and reports it).
type FitResult struct {
	// Model is the selected candidate, ready to predict.
	Model *Model
	// Counts tallies the candidates by status and form.
	Counts CandidateCounts
	// Sufficiency is CalTRACK 2.2's data-sufficiency check of the design.
	Sufficiency Sufficiency

	st   fitStats
	opts Options
}

// Candidates lists every candidate in eemeter's order (recomputed from
// the fit's sufficient statistics, so the fit itself stays
// allocation-light).
func (r *FitResult) Candidates() []Candidate {
	s := searcher{out: make([]Candidate, 0, r.st.numCandidates(&r.opts))}
	r.st.search(&r.opts, &s)
	return s.out
}

// Fit builds the design matrix for a baseline (usage already windowed,
// e.g. by [BaselineWindow]) and fits it. See [Design.Fit].
func Fit(baseline *Usage, temp *Temperature, o Options) (*FitResult, error) {
	d, err := NewDesign(baseline, temp, o)
	if err != nil {
		return nil, err
	}
	return d.Fit(o)
}

// FitBaseline is the whole eemeter baseline flow for one meter: for the
// daily method resample usage to UTC days ([DailyUsage]), select the
// baseline ending at end with maxDays days ([BaselineWindow]), build the
// design matrix, check data sufficiency against the requested window
// [end−maxDays, end], and fit.
func FitBaseline(usage *Usage, temp *Temperature, end time.Time, maxDays int, o Options) (*FitResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Method == Daily {
		var err error
		if usage, err = DailyUsage(usage); err != nil {
			return nil, err
		}
	}
	bu, err := BaselineWindow(usage, end, maxDays)
	if err != nil {
		return nil, fmt.Errorf("baseline ending %s: %w", end.UTC().Format(time.RFC3339), err)
	}
	d, err := NewDesign(bu, temp, o)
	if err != nil {
		return nil, err
	}
	if maxDays > 0 {
		d = d.WithRequestedPeriod(end.Add(-time.Duration(maxDays)*day), end)
	}
	return d.Fit(o)
}

// Fit runs the CalTRACK usage-per-day grid search (eemeter
// fit_caltrack_usage_per_day_model) and the data-sufficiency check
// (caltrack_sufficiency_criteria). See [Design.FitModel]. When no
// candidate qualifies it returns the result (counts, sufficiency, nil
// Model) together with [ErrNoQualifiedModel].
func (d *Design) Fit(o Options) (*FitResult, error) {
	res := &FitResult{opts: o}
	m, err := d.fit(&o, &res.st, &res.Counts)
	if err != nil && !errors.Is(err, ErrNoQualifiedModel) {
		return nil, err
	}
	res.Model = m
	res.Sufficiency = d.sufficiency(&o)
	return res, err
}

// FitModel is eemeter's fit_caltrack_usage_per_day_model: every candidate
// from per-balance-point sufficient statistics (O(1) each, none stored),
// qualification (non-negative coefficients, optional beta p-value
// screen), selection by adjusted R², then the selected model's metrics.
// o.Method must match the design's. It returns [ErrNoData] when no row is
// complete and [ErrNoQualifiedModel] when no candidate qualifies.
func (d *Design) FitModel(o Options) (*Model, error) {
	var st fitStats
	var cc CandidateCounts
	return d.fit(&o, &st, &cc)
}

func (d *Design) fit(o *Options, st *fitStats, cc *CandidateCounts) (*Model, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Method != d.method {
		return nil, fmt.Errorf("%w: options are for %v but the design is %v", ErrBadOptions, o.Method, d.method)
	}
	d.newStats(o, st)
	if st.n == 0 {
		return nil, fmt.Errorf("%w: no complete baseline rows (usage and temperature)", ErrNoData)
	}
	var s searcher
	st.search(o, &s)
	*cc = s.counts
	if !s.found {
		return nil, ErrNoQualifiedModel
	}
	m := d.modelFor(&s.best)
	m.Candidates = s.counts
	return m, nil
}

// modelFor turns the selected candidate into a Model with eemeter's
// avgs and totals metrics and the baseline rows it was fitted on.
func (d *Design) modelFor(c *Candidate) *Model {
	m := &Model{
		Method: d.method, Type: c.Type,
		HeatingBalancePointF: c.HeatingBalancePointF, CoolingBalancePointF: c.CoolingBalancePointF,
		Intercept: c.Intercept, RSquaredAdj: c.RSquaredAdj,
	}
	if c.Type.HasHDD() {
		m.BetaHDD = c.BetaHDD
	}
	if c.Type.HasCDD() {
		m.BetaCDD = c.BetaCDD
	}
	np := 0
	if c.Type.HasHDD() {
		np++
	}
	if c.Type.HasCDD() {
		np++
	}
	var avg, tot metricSums
	d.eachBaselineRow(m, func(r *row, h, cd, p float64) {
		avg.add(r.y, p)
		// eemeter totals: base = intercept·days, heating = hdd·β·days.
		tot.add(r.y*r.days, m.Intercept*r.days+h*m.BetaHDD*r.days+cd*m.BetaCDD*r.days)
	})
	m.AvgsMetrics = avg.metrics(np)
	m.TotalsMetrics = tot.metrics(np)
	m.N = avg.n
	m.design = d
	return m
}

// eachBaselineRow calls fn for each complete row with its degree days per
// day at the model's balance points and the model's prediction per day.
func (d *Design) eachBaselineRow(m *Model, fn func(r *row, hdd, cdd, pred float64)) {
	hasH, hasC := m.Type.HasHDD(), m.Type.HasCDD()
	hbp, cbp := float64(m.HeatingBalancePointF), float64(m.CoolingBalancePointF)
	for i := range d.f.rows {
		r := &d.f.rows[i]
		if !r.ok {
			continue
		}
		var h, cd float64
		if r.c1-r.c0 == 1 {
			t := d.f.temps[r.c0]
			if hasH {
				h = posPart(hbp - t)
			}
			if hasC {
				cd = posPart(t - cbp)
			}
		} else {
			if hasH {
				h = d.f.hdd(r, hbp)
			}
			if hasC {
				cd = d.f.cdd(r, cbp)
			}
		}
		fn(r, h, cd, m.Intercept+m.BetaHDD*h+m.BetaCDD*cd)
	}
}

// baselineRows lists the complete rows for m.
func (d *Design) baselineRows(m *Model) []BaselinePeriod {
	out := make([]BaselinePeriod, 0, m.N)
	d.eachBaselineRow(m, func(r *row, h, cd, p float64) {
		out = append(out, BaselinePeriod{Start: r.start, Days: r.days, UsagePerDay: r.y,
			HDDPerDay: h, CDDPerDay: cd, Weight: d.weight(r), PredictedPerDay: p})
	})
	return out
}

// BaselinePeriod is one complete baseline row the model was fitted on.
type BaselinePeriod struct {
	Start time.Time `json:"start"`
	// Days is the period length in days.
	Days float64 `json:"days"`
	// UsagePerDay is observed usage per day; PredictedPerDay the fit.
	UsagePerDay     float64 `json:"usage_per_day"`
	PredictedPerDay float64 `json:"predicted_per_day"`
	// HDDPerDay / CDDPerDay at the model's balance points (0 when absent).
	HDDPerDay float64 `json:"hdd_per_day"`
	CDDPerDay float64 `json:"cdd_per_day"`
	// Weight is the regression weight (1 daily, n_days_kept billing).
	Weight float64 `json:"weight"`
}
