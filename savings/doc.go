// Package savings turns a fitted baseline and reporting-period data into
// savings facts ([Result]) that a rewards program pays on.
//
// It is pure code: no I/O, no clocks, no goroutines.
//
// # Whole-period savings (CalTRACK 2.0, IPMVP Option C)
//
// [Metered] (or [MeteredWindow]) compares a baseline model's counterfactual
// on reporting-period weather with what the meter read, period by period,
// dropping incomplete periods as eemeter 2.10.11 metered_savings does;
// [CounterfactualLoads] splits the counterfactual into base, heating and
// cooling load, and [MeteredResult] turns the totals into a [Result].
//
// [MeteredUncertainty] adds the error bands eemeter reports
// (eemeter/derivatives.py), from ASHRAE Guideline 14-2014 Annex B with
// CalTRACK's corrections. It is built from pure parts that can be used on
// their own:
//
//   - [NewFitStats] / [FitStatsOf] summarise the baseline fit over period
//     totals (n, regressors, adjusted RMSE, mean, variance, lag-1 residual
//     autocorrelation ρ), as eemeter's totals_metrics do;
//   - [NewReportingStats] / [ReportingStatsOf] count the reporting periods
//     as eemeter does (kept days for daily data, 30-day months for billing);
//   - [MeteredErrorBands] gives the OLS band (with its model-error and noise
//     parts) and the fractional savings uncertainty (FSU) band, using the
//     effective sample size n' = n(1−ρ)/(1+ρ), the Student t quantile at the
//     chosen two-sided confidence ([DefaultConfidence] is eemeter's 90 %)
//     and CalTRACK's empirical FSU polynomial for daily or billing data.
//
// # Normal-year savings
//
// [NormalYearSavings] is eemeter modeled_savings: a baseline-period model
// and a reporting-period model both predict a typical weather year (a TMY3
// profile laid on a calendar year with [NormalYearTemperature], daily
// periods from [NormalYearDays]); savings and their base, heating and
// cooling split are free of the reporting year's weather, and the two
// models' FSU bands combine in quadrature ([ModeledSavingsErrorBands]).
//
// # Monthly settlement
//
// [MonthlySettlement] splits a reporting period into calendar months for a
// monthly rewards statement: each month's counterfactual (with its load
// split), observed usage, savings, error band and data-quality flags
// (partial month, missing data, prorated bill, no data), and a [Result]
// with Kind [KindPeriod] and ID "YYYY-MM" via [MonthSavings.Result].
//
// # Event savings (peak-time rebates, demand response)
//
// [EventSavings] computes hourly customer baseline loads around an event
// (X of Y eligible days, optional weather matching, multiplicative or
// additive day-of adjustment) and the savings against them.
package savings
