package savings

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// This file implements the savings uncertainty that eemeter 2.10.11 reports
// with metered and modeled savings (eemeter/derivatives.py,
// _compute_error_bands_metered_savings, _compute_ols_error,
// _compute_fsu_error, _compute_error_bands_modeled_savings): ASHRAE
// Guideline 14-2014 Annex B with the autocorrelation correction and the
// CalTRACK 2.0 empirical FSU coefficients for daily and billing data.
//
// Every input is named after the eemeter quantity it reproduces, so the
// formulas below can be checked line by line against derivatives.py.

// DefaultConfidence is the two-sided confidence level eemeter uses for its
// error bands (metered_savings and modeled_savings, confidence_level=0.90).
const DefaultConfidence = 0.90

// validMethod reports whether m is a CalTRACK method the error bands know:
// it picks the FSU polynomial coefficients and how reporting periods are
// counted.
func validMethod(m baseline.Method) bool { return m == baseline.Daily || m == baseline.Billing }

// FitStats are the statistics of a fitted baseline over its own baseline
// period that the error bands need: eemeter's ModelMetrics computed on
// period totals (CalTRACKUsagePerDayModelResults.totals_metrics). Energy is
// in the meter's unit (kWh for electricity) per baseline period (per day for
// daily data, per bill for billing data).
//
// Build it with [NewFitStats] from the observed and predicted baseline
// totals, or with [FitStatsOf] from a fitted (or JSON-decoded) model.
type FitStats struct {
	// Method is the CalTRACK method (daily or billing data) of the
	// baseline: it picks the FSU coefficients.
	Method baseline.Method
	// Observations is the number of baseline periods with an observed
	// value (eemeter observed_length, the "n" of ASHRAE Guideline 14).
	Observations int
	// NumParameters counts the model's regressors excluding the intercept:
	// 2 for cdd_hdd, 1 for hdd_only and cdd_only, 0 for intercept_only
	// (eemeter fit_caltrack_usage_per_day_model). The error bands use
	// Observations - NumParameters degrees of freedom.
	NumParameters int
	// RMSEAdjKWh is sqrt(Σ residual² / (merged length - NumParameters))
	// over baseline period totals (eemeter _compute_rmse_adj).
	RMSEAdjKWh float64
	// MeanKWh is the mean observed baseline period total (observed_mean).
	MeanKWh float64
	// VarianceKWh2 is the population variance (ddof=0) of the observed
	// baseline period totals (observed_variance).
	VarianceKWh2 float64
	// ResidualAutocorr is the lag-1 autocorrelation of the residuals
	// (predicted - observed) taken in period order over the periods with
	// both values (pandas Series.autocorr(lag=1), eemeter
	// _compute_autocorr_resid). NaN when undefined.
	ResidualAutocorr float64
}

// NewFitStats computes [FitStats] from aligned baseline period totals,
// reproducing eemeter's ModelMetrics(observed, predicted, num_parameters)
// with autocorr_lags=1. A NaN in either slice marks a missing period:
// Observations counts observed values that are not NaN, and every other
// statistic uses the periods where both values are present, in order, as
// eemeter's inner join does.
func NewFitStats(method baseline.Method, observedKWh, predictedKWh []float64, numParameters int) (FitStats, error) {
	if !validMethod(method) {
		return FitStats{}, fmt.Errorf("%w: method %v", ErrInvalidStats, method)
	}
	if len(observedKWh) != len(predictedKWh) {
		return FitStats{}, fmt.Errorf("%w: %d observed totals but %d predicted totals",
			ErrInvalidStats, len(observedKWh), len(predictedKWh))
	}
	if numParameters < 0 {
		return FitStats{}, fmt.Errorf("%w: num parameters %d < 0", ErrInvalidStats, numParameters)
	}
	s := FitStats{Method: method, NumParameters: numParameters}
	obs := make([]float64, 0, len(observedKWh))
	res := make([]float64, 0, len(observedKWh))
	for i, o := range observedKWh {
		if math.IsInf(o, 0) || math.IsInf(predictedKWh[i], 0) {
			return FitStats{}, fmt.Errorf("%w: infinite baseline total at period %d", ErrInvalidStats, i)
		}
		if math.IsNaN(o) {
			continue
		}
		s.Observations++
		if math.IsNaN(predictedKWh[i]) {
			continue
		}
		obs = append(obs, o)
		res = append(res, predictedKWh[i]-o)
	}
	n := float64(len(obs))
	s.MeanKWh = mean(obs)
	var ss, sr float64
	for i, o := range obs {
		d := o - s.MeanKWh
		ss += d * d
		sr += res[i] * res[i]
	}
	s.VarianceKWh2 = ss / n
	s.RMSEAdjKWh = math.Sqrt(sr / (n - float64(numParameters)))
	s.ResidualAutocorr = lag1Autocorr(res)
	return s, nil
}

// lag1Autocorr is the Pearson correlation of x[1:] with x[:len-1], each with
// its own mean, as pandas Series.autocorr(lag=1) computes it
// (Series.corr(Series.shift(1))). NaN with fewer than two pairs or a
// constant series.
func lag1Autocorr(x []float64) float64 {
	if len(x) < 3 {
		return math.NaN()
	}
	a, b := x[1:], x[:len(x)-1]
	ma, mb := mean(a), mean(b)
	var sab, saa, sbb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// ReportingStats describe the reporting period of a metered savings
// computation as the error bands see it.
type ReportingStats struct {
	// Periods is eemeter's post_obs: for daily data the number of
	// reporting days kept (with observed usage and a counterfactual); for
	// billing data the length of the reporting period in 30-day months,
	// round(whole days from the first to the last period start / 30),
	// rounding half to even as Python's round does.
	Periods float64
	// MeanObservedKWh is post_avg, the mean observed usage of the kept
	// reporting periods (per period, like FitStats.MeanKWh).
	MeanObservedKWh float64
}

// NewReportingStats computes [ReportingStats] the way
// _compute_error_bands_metered_savings does from eemeter's metered savings
// table. starts are the start times of every reporting row in order,
// including rows that were dropped and the final row that only marks the end
// of the last period; observedKWh holds the observed usage of each row, NaN
// for rows dropped because any value was missing (eemeter's
// results.dropna().reindex(results.index)).
func NewReportingStats(method baseline.Method, starts []time.Time, observedKWh []float64) (ReportingStats, error) {
	if !validMethod(method) {
		return ReportingStats{}, fmt.Errorf("%w: method %v", ErrInvalidStats, method)
	}
	if len(starts) != len(observedKWh) {
		return ReportingStats{}, fmt.Errorf("%w: %d reporting starts but %d observed values",
			ErrInvalidStats, len(starts), len(observedKWh))
	}
	kept := make([]float64, 0, len(observedKWh))
	for _, o := range observedKWh {
		if !math.IsNaN(o) {
			kept = append(kept, o)
		}
	}
	r := ReportingStats{Periods: float64(len(kept)), MeanObservedKWh: mean(kept)}
	if method == baseline.Billing && len(kept) > 0 {
		r.Periods = billingMonths(starts[0], starts[len(starts)-1])
	}
	return r, nil
}

// billingMonths is round((last - first).days / 30.0) as eemeter computes the
// number of billing reporting months: pandas Timedelta.days is the floor of
// the whole days, and Python's round() rounds half to even.
func billingMonths(first, last time.Time) float64 {
	d := last.Sub(first)
	days := math.Floor(d.Hours() / 24)
	return math.RoundToEven(days / 30.0)
}

// ErrorBands are the savings error bands of a metered savings computation,
// as eemeter 2.10.11 metered_savings returns them. Each is the half-width
// of a two-sided interval around total savings at Confidence, in the meter's
// unit (kWh).
type ErrorBands struct {
	// Confidence is the two-sided confidence level, e.g. 0.9.
	Confidence float64 `json:"confidence"`
	// TStat is the Student t quantile at 1-(1-Confidence)/2 with
	// Observations - NumParameters degrees of freedom.
	TStat float64 `json:"t_stat"`
	// FSUKWh is the fractional savings uncertainty band ("FSU Error Band").
	FSUKWh float64 `json:"fsu_kwh"`
	// OLSKWh is the OLS band ("OLS Error Band"), the root sum of squares of
	// OLSModelKWh and OLSNoiseKWh.
	OLSKWh float64 `json:"ols_kwh"`
	// OLSModelKWh is the model-error part ("OLS Error Band: Model Error").
	OLSModelKWh float64 `json:"ols_model_kwh"`
	// OLSNoiseKWh is the noise part ("OLS Error Band: Noise").
	OLSNoiseKWh float64 `json:"ols_noise_kwh"`
}

// MeteredErrorBands computes the FSU and OLS error bands of metered savings
// from the baseline's fit statistics and the reporting period, exactly as
// eemeter 2.10.11 _compute_error_bands_metered_savings does. confidence is
// the two-sided level in (0, 1); use [DefaultConfidence] for eemeter's 90 %.
//
// It returns [ErrUncertaintyUndefined] in the cases where eemeter returns no
// error bands (no reporting periods, residual autocorrelation undefined or
// ±1, no baseline observations, zero baseline mean or variance) and when the
// degrees of freedom are not positive (where eemeter's t quantile is NaN).
func MeteredErrorBands(fit FitStats, rep ReportingStats, confidence float64) (ErrorBands, error) {
	if err := checkConfidence(confidence); err != nil {
		return ErrorBands{}, err
	}
	if err := checkMeteredInputs(fit, rep); err != nil {
		return ErrorBands{}, err
	}
	t, err := tStat(confidence, fit)
	if err != nil {
		return ErrorBands{}, err
	}
	return meteredBands(fit, rep, confidence, t), nil
}

// checkMeteredInputs returns the error for the cases where eemeter's
// _compute_error_bands_metered_savings returns None.
func checkMeteredInputs(fit FitStats, rep ReportingStats) error {
	if !validMethod(fit.Method) {
		return fmt.Errorf("%w: method %v", ErrInvalidStats, fit.Method)
	}
	rho := fit.ResidualAutocorr
	switch {
	case rep.Periods == 0 || math.IsNaN(rep.Periods):
		return fmt.Errorf("%w: no reporting periods", ErrUncertaintyUndefined)
	case math.IsNaN(rho) || math.Abs(rho) == 1:
		return fmt.Errorf("%w: residual autocorrelation is %v", ErrUncertaintyUndefined, rho)
	case fit.Observations == 0:
		return fmt.Errorf("%w: no baseline observations", ErrUncertaintyUndefined)
	case fit.MeanKWh == 0 || math.IsNaN(fit.MeanKWh):
		return fmt.Errorf("%w: baseline mean usage is %v", ErrUncertaintyUndefined, fit.MeanKWh)
	case fit.VarianceKWh2 == 0 || math.IsNaN(fit.VarianceKWh2):
		return fmt.Errorf("%w: baseline usage variance is %v", ErrUncertaintyUndefined, fit.VarianceKWh2)
	}
	return nil
}

// meteredBands assembles the bands from checked inputs and the t quantile.
func meteredBands(fit FitStats, rep ReportingStats, confidence, t float64) ErrorBands {
	baseObs := float64(fit.Observations)
	nPrime := effectiveObservations(baseObs, fit.ResidualAutocorr)
	model, noise, total := olsError(t, fit.RMSEAdjKWh, rep.Periods, baseObs, fit.MeanKWh,
		rep.MeanObservedKWh, fit.VarianceKWh2, nPrime)
	fsu := fsuError(t, fit.Method, rep.Periods, fit.MeanKWh*baseObs, fit.RMSEAdjKWh,
		fit.MeanKWh, baseObs, nPrime)
	return ErrorBands{
		Confidence:  confidence,
		TStat:       t,
		FSUKWh:      fsu,
		OLSKWh:      total,
		OLSModelKWh: model,
		OLSNoiseKWh: noise,
	}
}

// ModeledErrorBands are the error bands of modeled (normal-year) savings,
// as eemeter 2.10.11 modeled_savings returns them: one FSU band per model,
// combined in quadrature. Half-widths in the meter's unit at Confidence.
type ModeledErrorBands struct {
	// Confidence is the two-sided confidence level, e.g. 0.9.
	Confidence float64 `json:"confidence"`
	// FSUBaselineKWh is the FSU band of the baseline model's prediction
	// ("FSU Error Band: Baseline").
	FSUBaselineKWh float64 `json:"fsu_baseline_kwh"`
	// FSUReportingKWh is the FSU band of the reporting model's prediction
	// ("FSU Error Band: Reporting").
	FSUReportingKWh float64 `json:"fsu_reporting_kwh"`
	// FSUKWh is sqrt(FSUBaselineKWh² + FSUReportingKWh²) ("FSU Error Band").
	FSUKWh float64 `json:"fsu_kwh"`
}

// ModeledSavingsErrorBands computes the FSU error bands of modeled savings
// exactly as eemeter 2.10.11 _compute_error_bands_modeled_savings does:
// each model's band uses its own fit statistics and t quantile and the
// number of normal-year periods predicted (post_obs, counted per each
// model's method, as [NormalYearSavings] does).
func ModeledSavingsErrorBands(baselineFit, reportingFit FitStats, baselinePeriods, reportingPeriods, confidence float64) (ModeledErrorBands, error) {
	if err := checkConfidence(confidence); err != nil {
		return ModeledErrorBands{}, err
	}
	band := func(name string, fit FitStats, postObs float64) (float64, error) {
		if !validMethod(fit.Method) {
			return 0, fmt.Errorf("%w: %s method %v", ErrInvalidStats, name, fit.Method)
		}
		baseObs := float64(fit.Observations)
		rho := fit.ResidualAutocorr
		switch {
		case postObs == 0 || math.IsNaN(postObs):
			return 0, fmt.Errorf("%w: no %s periods predicted", ErrUncertaintyUndefined, name)
		case math.IsNaN(rho) || math.Abs(rho) == 1:
			return 0, fmt.Errorf("%w: %s residual autocorrelation is %v", ErrUncertaintyUndefined, name, rho)
		case baseObs == 0:
			return 0, fmt.Errorf("%w: no %s observations", ErrUncertaintyUndefined, name)
		case fit.MeanKWh == 0 || math.IsNaN(fit.MeanKWh):
			return 0, fmt.Errorf("%w: %s mean usage is %v", ErrUncertaintyUndefined, name, fit.MeanKWh)
		}
		t, err := tStat(confidence, fit)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return fsuError(t, fit.Method, postObs, fit.MeanKWh*baseObs, fit.RMSEAdjKWh,
			fit.MeanKWh, baseObs, effectiveObservations(baseObs, rho)), nil
	}
	b, err := band("baseline", baselineFit, baselinePeriods)
	if err != nil {
		return ModeledErrorBands{}, err
	}
	r, err := band("reporting", reportingFit, reportingPeriods)
	if err != nil {
		return ModeledErrorBands{}, err
	}
	return ModeledErrorBands{
		Confidence:      confidence,
		FSUBaselineKWh:  b,
		FSUReportingKWh: r,
		FSUKWh:          math.Sqrt(b*b + r*r),
	}, nil
}

func checkConfidence(c float64) error {
	if !(c > 0 && c < 1) {
		return fmt.Errorf("%w: %v is not in (0, 1)", ErrConfidence, c)
	}
	return nil
}

// tStat is scipy.stats.t.ppf(1 - (1-confidence)/2, n - p) as in
// derivatives.py: the two-sided critical value with the baseline's degrees
// of freedom (observations minus regressors, intercept not counted).
func tStat(confidence float64, fit FitStats) (float64, error) {
	df := fit.Observations - fit.NumParameters
	if df <= 0 {
		return 0, fmt.Errorf("%w: %d degrees of freedom (%d observations, %d parameters)",
			ErrUncertaintyUndefined, df, fit.Observations, fit.NumParameters)
	}
	p := 1 - (1-confidence)/2
	k := tKey{df, p}
	if v, ok := tCache.Load(k); ok {
		return v.(float64), nil
	}
	t := baseline.StudentTQuantile(p, float64(df))
	if tCacheSize.Add(1) <= tCacheMax {
		tCache.Store(k, t)
	}
	return t, nil
}

// tCache memoizes t quantiles: a utility settles many customers with the
// same baseline length and confidence, and the quantile (a root search on
// the incomplete beta function) costs far more than the bands. At most
// tCacheMax entries are kept, so odd inputs cannot grow it without bound.
var (
	tCache     sync.Map // tKey → float64
	tCacheSize atomic.Int64
)

const tCacheMax = 4096

type tKey struct {
	df int
	p  float64
}

// effectiveObservations is ASHRAE Guideline 14-2014 eq. B-14 as eemeter
// applies it: n' = n (1 - ρ) / (1 + ρ), ρ the lag-1 residual
// autocorrelation.
func effectiveObservations(n, rho float64) float64 {
	return n * (1 - rho) / (1 + rho)
}

// olsError is eemeter _compute_ols_error (ASHRAE Guideline 14 Annex B,
// prediction interval of a mean response aggregated over m reporting
// periods):
//
//	model = t · RMSE · m / sqrt(n) · sqrt(1 + (ȳ_base - ȳ_post)² / var_base)
//	noise = t · RMSE · sqrt(m · n / n')
//	total = sqrt(model² + noise²)
func olsError(t, rmse, postObs, baseObs, baseAvg, postAvg, baseVar, nPrime float64) (model, noise, total float64) {
	d := baseAvg - postAvg
	model = t * rmse * postObs / math.Sqrt(baseObs) * math.Sqrt(1+d*d/baseVar)
	noise = t * rmse * math.Sqrt(postObs*baseObs/nPrime)
	return model, noise, math.Sqrt(model*model + noise*noise)
}

// FSU polynomial coefficients in months of reporting, a·M² + b·M + c,
// CalTRACK 2.0 (as in eemeter _compute_fsu_error): they correct ASHRAE
// Guideline 14's fractional savings uncertainty (eq. B-13, the 1.26 factor)
// for daily and for billing data.
const (
	fsuBillingA, fsuBillingB, fsuBillingC = -0.00022, 0.03306, 0.94054
	fsuDailyA, fsuDailyB, fsuDailyC       = -0.00024, 0.03535, 1.00286
)

// fsuError is eemeter _compute_fsu_error:
//
//	M   = post_obs (billing) or post_obs/30 (daily)
//	FSU = E_base · t · (a M² + b M + c) · (RMSE / ȳ_base)
//	      · sqrt((n / n') · (1 + 2/n') · (1 / post_obs))
//
// with E_base = ȳ_base · n the total baseline energy.
func fsuError(t float64, method baseline.Method, postObs, totalBase, rmse, baseAvg, baseObs, nPrime float64) float64 {
	a, b, c := fsuDailyA, fsuDailyB, fsuDailyC
	months := postObs / 30.0
	if method == baseline.Billing {
		a, b, c = fsuBillingA, fsuBillingB, fsuBillingC
		months = postObs
	}
	return totalBase * (t * (a*months*months + b*months + c) * (rmse / baseAvg) *
		math.Sqrt((baseObs/nPrime)*(1+2/nPrime)*(1/postObs)))
}
