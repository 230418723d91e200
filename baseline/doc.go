// Package baseline fits CalTRACK 2.0 daily and billing-period baseline
// models that reproduce OpenEEmeter eemeter 2.10.11, the reference
// implementation utilities and regulators use, quirks included, about
// 100,000 times faster.
//
// # Pipeline
//
//	usage, _ := baseline.ReadUsageCSV(r)             // start,value (RFC 3339)
//	temp, _ := baseline.ReadTemperatureCSV(t)        // dt,tempF (hourly)
//	res, _ := baseline.FitBaseline(usage, temp, end, 365, baseline.DailyOptions())
//	res.Model                                        // selected model, metrics
//	res.Sufficiency                                  // PASS/FAIL + warnings
//	preds, _ := res.Model.Predict(reporting, temp)   // counterfactual per period
//
// [FitBaseline] is eemeter's whole flow: for the daily method usage is
// summed into UTC days ([DailyUsage], as eemeter's loader resamples); the
// baseline is chosen as get_baseline_data(end, max_days) does
// ([BaselineWindow]: start in [end−max_days, end], last row kept only as
// the NaN end marker; billing periods are cut hard); the design matrix is
// built ([NewDesign]); data sufficiency is checked; and the candidate grid
// is fitted ([Design.Fit]).
//
// # Method (CalTRACK 2.0, eemeter 2.10.11)
//
//   - Temperature is put on an hourly UTC grid (pandas resample("H")
//     .sum(min_count=1)). Each hour goes to the latest period start at or
//     before it, within one day for daily data and 35 days for billing
//     baselines (so a ~61-day bimonthly bill only sees its first 35 days of
//     temperature; [Options.FullPeriodBillingTemperature] departs from this,
//     off by default). A period of ≤ 24 readings is kept when it has more
//     than 12 rows (missing hours included) and its temperature is their
//     mean (computed as pandas does, bit for bit); a longer period is cut
//     into 24-hour chunks and dropped unless 90 % of its readings are
//     present; chunks with more than 12 readings are kept (n_days_kept).
//     CalTRACK 2.2.2.3, 2.2.3.2, 3.3.1.
//   - Degree days per day: HDD_bp = mean over kept days of max(bp − T, 0),
//     CDD_bp likewise, for whole-degree balance points 30…90 °F
//     (CalTRACK 3.2.2.1, 3.3.4.1.1, 3.3.5.1.1). Usage per day = period
//     usage / period days.
//   - Candidates in eemeter's order: intercept_only; hdd_only for each bp;
//     cdd_only for each bp (if FitCDD); cdd_hdd for each cooling bp × each
//     heating bp ≤ it. A candidate is not attempted when fewer than
//     MinNonZero rows have non-zero degree days or the degree days
//     (× n_days_kept for billing) total less than MinTotal (daily 10/20,
//     billing 0/20; CalTRACK 3.2.2.2). Fits are least squares, weighted by
//     n_days_kept for billing (CalTRACK 3.4.2).
//   - A fitted candidate is disqualified when the intercept or a beta is
//     negative, or a beta's two-sided t-test p-value exceeds
//     BetaHDDMaxPValue/BetaCDDMaxPValue (default 1: no screen, as eemeter;
//     0.1 is the CalTRACK 1.0 screen). CalTRACK 3.4.3.2.
//   - The qualified candidate with the highest adjusted R² wins, strict >,
//     so the first in order wins a tie; intercept_only's adjusted R² is 0
//     (CalTRACK 3.4.3.3).
//   - Reported metrics are eemeter's ModelMetrics on usage per day
//     ([Model.AvgsMetrics]) and on period totals ([Model.TotalsMetrics]).
//   - Data sufficiency is caltrack_sufficiency_criteria (CalTRACK 2.2): the
//     span must be exactly 365 days and 90 % of days valid. Every eemeter
//     billing sample fails on the span because of the hard-cut window; the
//     model is fitted and reported anyway.
//   - Prediction ([Model.Predict], CalTRACK 3.5): per period,
//     intercept × days + βh × HDD_total + βc × CDD_total, where a total is
//     the mean over kept days × all days; billing periods use all their
//     hours.
//
// # Speed
//
// Candidates are never refitted from their columns. Daily rows drop into
// whole-degree temperature buckets; running sums over the buckets give
// every balance point's Σx, Σx², Σxy in O(days + balance points), usage
// centred on its mean and temperature shifted by a whole number for
// accuracy. A day is heating (T < bp) or cooling (T > cbp ≥ bp) but never
// both, so each cdd_hdd candidate is a 2×2 solve from those sums: O(1).
// The p-value screen compares t² with a critical value computed once per
// degrees of freedom. A full 2,014-candidate daily fit takes tens of
// microseconds with a handful of allocations, against about 6.1 s for
// eemeter (see BENCHMARKS.md).
//
// # Deliberate choices
//
//   - Exact ties: every hdd_only model whose balance point is above the
//     hottest kept day (and every cdd_only model below the coldest) is the
//     same regression; eemeter chooses among them by rounding noise. This
//     package gives them identical figures, so the lowest such balance
//     point wins.
//   - Temperature given as one reading per day (every gap a whole number of
//     days, e.g. nmecr's daily means) is spread over the 24 hours from each
//     reading, so the daily route sees that mean and full coverage. eemeter
//     itself requires hourly data.
//   - Readings within one hour are summed, as eemeter's resample does:
//     supply hourly temperature.
//
// # Other file layouts
//
// [ReadUsageCSVWith] and [ReadTemperatureCSVWith] read files with other
// column names; plain dates (2012-03-01) are read as UTC midnight. nmecr's
// commercial building (testdata/nmecr/eload.csv.gz, temp.csv.gz, daily kWh
// and daily-mean °F):
//
//	u, _ := baseline.ReadUsageCSVWith(r, baseline.CSVOptions{TimeColumn: "time", ValueColumn: "eload"})
//	t, _ := baseline.ReadTemperatureCSVWith(tr, baseline.CSVOptions{TimeColumn: "time", ValueColumn: "temp", Unit: baseline.Fahrenheit})
//
// Values are in the meter's unit (kWh, therms); temperatures are °F
// ([NewTemperatureC] converts). The package does no I/O beyond reading
// the io.Readers it is given and keeps no global state except a cache of
// critical t values.
package baseline
