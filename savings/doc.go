// Package savings turns a fitted baseline and reporting-period data into
// savings facts ([Result]) that a rewards program pays on.
//
// It is pure code: no I/O, no clocks, no goroutines.
//
// # Whole-period savings (CalTRACK 2.0, IPMVP Option C)
//
// Metered (avoided-energy) savings compare the baseline's counterfactual on
// reporting-period weather with what the meter read. Their uncertainty is
// the one eemeter 2.10.11 reports (eemeter/derivatives.py), from ASHRAE
// Guideline 14-2014 Annex B with CalTRACK's corrections:
//
//   - [NewFitStats] summarises the baseline fit over period totals (n,
//     regressors, adjusted RMSE, mean, variance, lag-1 residual
//     autocorrelation ρ), as eemeter's totals_metrics does;
//   - [NewReportingStats] counts the reporting periods as eemeter does
//     (kept days for daily data, 30-day months for billing data);
//   - [MeteredErrorBands] gives the OLS error band (with its model-error and
//     noise parts) and the fractional savings uncertainty (FSU) band, using
//     the effective sample size n' = n(1−ρ)/(1+ρ), a Student t quantile at
//     the chosen confidence ([DefaultConfidence] 90 %) and CalTRACK's
//     empirical FSU polynomial for daily or billing data.
//
// Normal-year savings ([ModeledSavingsErrorBands] for their uncertainty)
// predict both a baseline-period model and a reporting-period model on a
// typical-year temperature profile such as TMY3, as eemeter modeled_savings
// does; their FSU bands combine in quadrature.
//
// [MonthlySettlement] splits a reporting period into calendar months for a
// monthly rewards statement: each month's counterfactual (with its base,
// heating and cooling load split), observed usage, savings, optional error
// band and data-quality flags, and a [Result] with Kind [KindPeriod] and ID
// "YYYY-MM" via [MonthSavings.Result].
//
// # Event savings (peak-time rebates, demand response)
//
// [EventSavings] computes hourly customer baseline loads around an event
// (X of Y eligible days, optional weather matching, multiplicative or
// additive day-of adjustment) and the savings against them.
package savings
