package baseline

import (
	"fmt"
	"math"
	"time"
)

// DailyUsage resamples usage into UTC days the way eemeter's loader does
// (pandas resample("D").sum(min_count=1) in UTC): each reading goes to the
// UTC day containing its Start, values in a day are summed, a day with no
// non-missing value is NaN, and every day from the first to the last is
// present. eemeter's sample files start days at local midnight (06:00Z),
// so local day D lands on the row labelled D 00:00Z.
//
// The daily method applies this before choosing the baseline window, so
// [BaselineWindow] and [ReportingWindow] see UTC-day rows.
//
// It returns [ErrSpanTooLong] when the readings span more than
// [MaxSpanYears].
func DailyUsage(u *Usage) (*Usage, error) {
	if u.Len() == 0 {
		return u, nil
	}
	first := u.At(0).Start.Truncate(day)
	last := u.At(u.Len() - 1).Start.Truncate(day)
	if err := checkSpan("usage", first, last); err != nil {
		return nil, err
	}
	n := int(last.Sub(first)/day) + 1
	out := make([]Reading, n)
	for i := range out {
		out[i] = Reading{Start: first.Add(time.Duration(i) * day), Value: math.NaN()}
	}
	for _, r := range u.s.r {
		i := int(r.Start.Truncate(day).Sub(first) / day)
		if math.IsNaN(r.Value) {
			continue
		}
		if math.IsNaN(out[i].Value) {
			out[i].Value = r.Value
		} else {
			out[i].Value += r.Value
		}
	}
	return &Usage{s: series{r: out}}, nil
}

// MaxSpanYears bounds the time a usage or temperature series may cover
// (the fit works on continuous daily and hourly grids).
const MaxSpanYears = 100

func checkSpan(what string, first, last time.Time) error {
	if last.Sub(first) > MaxSpanYears*365*day || last.Year()-first.Year() > MaxSpanYears {
		return fmt.Errorf("%w: %s runs from %s to %s (more than %d years)", ErrSpanTooLong, what,
			first.Format(time.RFC3339), last.Format(time.RFC3339), MaxSpanYears)
	}
	return nil
}

// BaselineWindow selects a baseline period as eemeter
// get_baseline_data(end=end, max_days=maxDays) does (transform.py): the
// readings with end−maxDays ≤ Start ≤ end (both inclusive), with the last
// kept reading's value set to NaN because it only marks the end of the
// previous period. maxDays ≤ 0 means no start limit. Billing data is cut
// hard (allow_billing_period_overshoot=False): a bill that starts before
// end−maxDays is dropped and the bill that straddles end becomes the end
// marker. It returns [ErrNoData] when no reading is in the window.
func BaselineWindow(u *Usage, end time.Time, maxDays int) (*Usage, error) {
	start := time.Time{}
	if maxDays > 0 {
		start = end.Add(-time.Duration(maxDays) * day)
	}
	return window(u, start, end, maxDays > 0, true)
}

// ReportingWindow selects a reporting period as eemeter
// get_reporting_data(start=start, max_days=maxDays) does: readings with
// start ≤ Start ≤ start+maxDays, the last one set to NaN (end marker).
// maxDays ≤ 0 means no end limit.
func ReportingWindow(u *Usage, start time.Time, maxDays int) (*Usage, error) {
	end := time.Time{}
	if maxDays > 0 {
		end = start.Add(time.Duration(maxDays) * day)
	}
	return window(u, start, end, true, maxDays > 0)
}

func window(u *Usage, start, end time.Time, useStart, useEnd bool) (*Usage, error) {
	var out []Reading
	for _, r := range u.s.r {
		if useStart && r.Start.Before(start) {
			continue
		}
		if useEnd && r.Start.After(end) {
			break
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, ErrNoData
	}
	out[len(out)-1].Value = math.NaN()
	return &Usage{s: series{r: out}}, nil
}
