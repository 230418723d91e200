package baseline

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Model is a fitted CalTRACK usage-per-day model. It predicts usage for
// any periods and temperatures ([Model.Predict]) and round-trips through
// JSON ([Model.MarshalJSON] documents the schema), so a utility can store
// it and predict later. Coefficients are per day: usage per day =
// Intercept + BetaHDD·HDD + BetaCDD·CDD.
type Model struct {
	Method Method
	Type   ModelType
	// HeatingBalancePointF / CoolingBalancePointF (°F) are set when Type
	// has the term, 0 otherwise.
	HeatingBalancePointF int
	CoolingBalancePointF int
	// Intercept is usage per day; BetaHDD/BetaCDD usage per degree day
	// (0 when Type lacks the term).
	Intercept, BetaHDD, BetaCDD float64
	// RSquaredAdj is the selection criterion (statsmodels' weighted
	// adjusted R²; 0 for intercept_only, as eemeter).
	RSquaredAdj float64
	// N is the number of complete baseline rows fitted.
	N int
	// Candidates counts the grid search's candidates by status.
	Candidates CandidateCounts
	// AvgsMetrics compare usage per day; TotalsMetrics period totals
	// (eemeter avgs_metrics / totals_metrics). Identical for daily data.
	AvgsMetrics, TotalsMetrics Metrics

	// design is the design matrix the model was fitted on (read-only);
	// rows the baseline rows decoded from JSON. See Baseline.
	design *Design
	rows   []BaselinePeriod
}

// Baseline returns the complete baseline rows the model was fitted on,
// with the model's degree days and predictions (for error bands and
// diagnostics). It builds a new slice on each call; a model decoded from
// JSON returns the rows it was stored with.
func (m *Model) Baseline() []BaselinePeriod {
	if m.design != nil {
		return m.design.baselineRows(m)
	}
	return append([]BaselinePeriod(nil), m.rows...)
}

// PredictedPeriod is the model's prediction for one period.
type PredictedPeriod struct {
	Start time.Time
	// Days is the period length (NaN for the last, end-marker row).
	Days float64
	// TempMeanF, DaysKept and DaysDropped describe the temperature data.
	TempMeanF             float64
	DaysKept, DaysDropped int
	// HDD and CDD are period totals at the model's balance points: the
	// mean over kept days times all days (kept + dropped).
	HDD, CDD float64
	// BaseLoad = Intercept·Days, HeatingLoad = BetaHDD·HDD,
	// CoolingLoad = BetaCDD·CDD, Predicted their sum. All NaN when the
	// period lacks temperature data (or is the end marker), as eemeter.
	BaseLoad, HeatingLoad, CoolingLoad, Predicted float64
}

// Predict returns the counterfactual usage for each period of periods
// (their Starts; each period runs to the next Start, and the last reading
// only marks the end), as eemeter's caltrack_usage_per_day_predict does:
// compute_temperature_features with use_mean_daily_values=False and the
// selected balance points, then intercept×days + βh×HDD + βc×CDD per
// period (CalTRACK 3.5). Daily models match hourly temperatures to a day
// within one day; billing models use every hour of the period. For the
// daily method pass UTC-day periods (see [DailyUsage]).
func (m *Model) Predict(periods *Usage, temp *Temperature) ([]PredictedPeriod, error) {
	if periods == nil || periods.Len() == 0 || temp == nil || temp.Len() == 0 {
		return nil, ErrNoData
	}
	g, err := newHourlyGrid(temp)
	if err != nil {
		return nil, err
	}
	starts := make([]time.Time, periods.Len())
	for i := range starts {
		starts[i] = periods.At(i).Start
	}
	tol := time.Duration(-1)
	if m.Method == Daily {
		tol = day
	}
	f := computeFeatures(starts, &g, tol)
	out := make([]PredictedPeriod, len(f.rows))
	for i := range f.rows {
		r := &f.rows[i]
		p := &out[i]
		*p = PredictedPeriod{Start: r.start, Days: r.days, TempMeanF: r.tMean, DaysKept: r.nKept, DaysDropped: r.nDropped,
			HDD: nan, CDD: nan, BaseLoad: nan, HeatingLoad: nan, CoolingLoad: nan, Predicted: nan}
		// eemeter blanks a row with any NaN feature (the last row always).
		ok := i+1 < len(f.rows) && r.tNotNull+r.tNull > 0 && !math.IsNaN(r.tMean)
		nDays := float64(r.nKept + r.nDropped)
		if ok && m.Type.HasHDD() {
			if r.nKept == 0 {
				ok = false
			} else {
				p.HDD = f.hdd(r, float64(m.HeatingBalancePointF)) * nDays
			}
		}
		if ok && m.Type.HasCDD() {
			if r.nKept == 0 {
				ok = false
			} else {
				p.CDD = f.cdd(r, float64(m.CoolingBalancePointF)) * nDays
			}
		}
		if !ok {
			continue
		}
		p.BaseLoad = m.Intercept * r.days
		p.HeatingLoad, p.CoolingLoad = 0, 0
		if m.Type.HasHDD() {
			p.HeatingLoad = p.HDD * m.BetaHDD
		}
		if m.Type.HasCDD() {
			p.CoolingLoad = p.CDD * m.BetaCDD
		}
		p.Predicted = p.BaseLoad + p.HeatingLoad + p.CoolingLoad
	}
	return out, nil
}

// ModelSchema identifies the JSON schema written by [Model.MarshalJSON].
const ModelSchema = "negawatt.baseline.model/v1"

// modelJSON is the stable JSON schema of a Model (v1). NaN numbers are
// written as null.
type modelJSON struct {
	Schema               string           `json:"schema"`
	Method               string           `json:"method"`
	ModelType            ModelType        `json:"model_type"`
	HeatingBalancePointF *int             `json:"heating_balance_point_f"`
	CoolingBalancePointF *int             `json:"cooling_balance_point_f"`
	Intercept            *float64         `json:"intercept"`
	BetaHDD              *float64         `json:"beta_hdd"`
	BetaCDD              *float64         `json:"beta_cdd"`
	RSquaredAdj          *float64         `json:"r_squared_adj"`
	N                    int              `json:"n"`
	Candidates           countsJSON       `json:"candidates"`
	AvgsMetrics          metricsJSON      `json:"avgs_metrics"`
	TotalsMetrics        metricsJSON      `json:"totals_metrics"`
	Baseline             []BaselinePeriod `json:"baseline"`
}

type countsJSON struct {
	Qualified    int `json:"qualified"`
	Disqualified int `json:"disqualified"`
	NotAttempted int `json:"not_attempted"`
}

type metricsJSON struct {
	N             int      `json:"n"`
	NumParameters int      `json:"num_parameters"`
	ObservedMean  *float64 `json:"observed_mean"`
	PredictedMean *float64 `json:"predicted_mean"`
	RSquared      *float64 `json:"r_squared"`
	RSquaredAdj   *float64 `json:"r_squared_adj"`
	RMSE          *float64 `json:"rmse"`
	RMSEAdj       *float64 `json:"rmse_adj"`
	CVRMSE        *float64 `json:"cvrmse"`
	CVRMSEAdj     *float64 `json:"cvrmse_adj"`
	NMBE          *float64 `json:"nmbe"`
	NMAE          *float64 `json:"nmae"`
	AutocorrResid *float64 `json:"autocorr_resid"`
	ObsVariance   *float64 `json:"observed_variance"`
	PredVariance  *float64 `json:"predicted_variance"`
	NPrime        *float64 `json:"n_prime"`
	DF            *float64 `json:"degrees_of_freedom"`
	TStat         *float64 `json:"t_stat"`
	CVRMSEACC     *float64 `json:"cvrmse_auto_corr_correction"`
	ApproxACC     *float64 `json:"approx_factor_auto_corr_correction"`
	FSUBaseTerm   *float64 `json:"fsu_base_term"`
}

func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func (m Metrics) toJSON() metricsJSON {
	return metricsJSON{m.N, m.NumParameters, num(m.ObservedMean), num(m.PredictedMean), num(m.RSquared), num(m.RSquaredAdj),
		num(m.RMSE), num(m.RMSEAdj), num(m.CVRMSE), num(m.CVRMSEAdj), num(m.NMBE), num(m.NMAE), num(m.AutocorrResid),
		num(m.ObservedVariance), num(m.PredictedVariance), num(m.NPrime), num(m.DegreesOfFreedom), num(m.TStat),
		num(m.CVRMSEAutoCorrCorrection), num(m.ApproxFactorAutoCorrCorrection), num(m.FSUBaseTerm)}
}

func (j metricsJSON) metrics() Metrics {
	return Metrics{j.N, j.NumParameters, val(j.ObservedMean), val(j.PredictedMean), val(j.RSquared), val(j.RSquaredAdj),
		val(j.RMSE), val(j.RMSEAdj), val(j.CVRMSE), val(j.CVRMSEAdj), val(j.NMBE), val(j.NMAE), val(j.AutocorrResid),
		val(j.ObsVariance), val(j.PredVariance), val(j.NPrime), val(j.DF), val(j.TStat),
		val(j.CVRMSEACC), val(j.ApproxACC), val(j.FSUBaseTerm)}
}

// MarshalJSON writes the v1 schema:
//
//	{"schema":"negawatt.baseline.model/v1","method":"caltrack_daily",
//	 "model_type":"cdd_hdd","heating_balance_point_f":53,"cooling_balance_point_f":68,
//	 "intercept":13.47,"beta_hdd":1.11,"beta_cdd":2.52,"r_squared_adj":0.768,"n":365,
//	 "candidates":{"qualified":..,"disqualified":..,"not_attempted":..},
//	 "avgs_metrics":{...},"totals_metrics":{...},
//	 "baseline":[{"start":..,"days":1,"usage_per_day":..,"predicted_per_day":..,
//	              "hdd_per_day":..,"cdd_per_day":..,"weight":1},...]}
//
// A balance point or beta the model type lacks is null; NaN is null.
// Floats are written in Go's shortest round-trip form, so a decoded model
// predicts bit-identically.
func (m Model) MarshalJSON() ([]byte, error) {
	j := modelJSON{Schema: ModelSchema, Method: m.Method.String(), ModelType: m.Type,
		Intercept: num(m.Intercept), RSquaredAdj: num(m.RSquaredAdj), N: m.N,
		Candidates:  countsJSON{m.Candidates.Qualified, m.Candidates.Disqualified, m.Candidates.NotAttempted},
		AvgsMetrics: m.AvgsMetrics.toJSON(), TotalsMetrics: m.TotalsMetrics.toJSON(), Baseline: m.Baseline()}
	if m.Type.HasHDD() {
		h := m.HeatingBalancePointF
		j.HeatingBalancePointF, j.BetaHDD = &h, num(m.BetaHDD)
	}
	if m.Type.HasCDD() {
		c := m.CoolingBalancePointF
		j.CoolingBalancePointF, j.BetaCDD = &c, num(m.BetaCDD)
	}
	if j.Baseline == nil {
		j.Baseline = []BaselinePeriod{}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the v1 schema and validates it ([ErrBadModel]).
func (m *Model) UnmarshalJSON(b []byte) error {
	var j modelJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	if j.Schema != ModelSchema {
		return fmt.Errorf("%w: schema %q, want %q", ErrBadModel, j.Schema, ModelSchema)
	}
	meth, err := ParseMethod(j.Method)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	if j.ModelType < InterceptOnly || j.ModelType > CDDHDD {
		return fmt.Errorf("%w: missing model_type", ErrBadModel)
	}
	if j.Intercept == nil {
		return fmt.Errorf("%w: missing intercept", ErrBadModel)
	}
	out := Model{Method: meth, Type: j.ModelType, Intercept: *j.Intercept, RSquaredAdj: val(j.RSquaredAdj), N: j.N,
		AvgsMetrics: j.AvgsMetrics.metrics(), TotalsMetrics: j.TotalsMetrics.metrics(), rows: j.Baseline}
	out.Candidates.Qualified, out.Candidates.Disqualified, out.Candidates.NotAttempted =
		j.Candidates.Qualified, j.Candidates.Disqualified, j.Candidates.NotAttempted
	if j.ModelType.HasHDD() {
		if j.HeatingBalancePointF == nil || j.BetaHDD == nil {
			return fmt.Errorf("%w: %v needs heating_balance_point_f and beta_hdd", ErrBadModel, j.ModelType)
		}
		out.HeatingBalancePointF, out.BetaHDD = *j.HeatingBalancePointF, *j.BetaHDD
	}
	if j.ModelType.HasCDD() {
		if j.CoolingBalancePointF == nil || j.BetaCDD == nil {
			return fmt.Errorf("%w: %v needs cooling_balance_point_f and beta_cdd", ErrBadModel, j.ModelType)
		}
		out.CoolingBalancePointF, out.BetaCDD = *j.CoolingBalancePointF, *j.BetaCDD
	}
	*m = out
	return nil
}
