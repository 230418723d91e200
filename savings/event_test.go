package savings

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/negawatt/negawatt/baseline"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func date(s string) LocalDate {
	d, err := ParseLocalDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func dates(ss ...string) []LocalDate {
	out := make([]LocalDate, len(ss))
	for i, s := range ss {
		out[i] = date(s)
	}
	return out
}

// hourlyUsage builds hourly readings from local midnight of from to local
// midnight of to (exclusive), stepping by real hours, with value f(t) for
// t in loc.
func hourlyUsage(t testing.TB, loc *time.Location, from, to string, f func(t time.Time) float64) *baseline.Usage {
	t.Helper()
	a, b := date(from), date(to)
	lo := time.Date(a.Year, a.Month, a.Day, 0, 0, 0, 0, loc)
	hi := time.Date(b.Year, b.Month, b.Day, 0, 0, 0, 0, loc)
	var rs []baseline.Reading
	for x := lo; x.Before(hi); x = x.Add(time.Hour) {
		rs = append(rs, baseline.Reading{Start: x, Value: f(x)})
	}
	u, err := baseline.NewUsage(rs)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func localEvent(loc *time.Location, day string, fromHour, toHour int) Event {
	d := date(day)
	return Event{ID: "ev-" + day, Type: "peak-time-rebate", Location: loc,
		Start: time.Date(d.Year, d.Month, d.Day, fromHour, 0, 0, 0, loc),
		End:   time.Date(d.Year, d.Month, d.Day, toHour, 0, 0, 0, loc)}
}

var approx = cmpopts.EquateApprox(0, 1e-9)

// TestEligibleDays: the walk back, day type, holidays, excluded days and
// missing hours (event window always, adjustment window only with an
// adjustment). Event Wednesday 2019-07-24 15:00–19:00 London.
func TestEligibleDays(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	ev := localEvent(loc, "2019-07-24", 15, 19)
	missing := map[string]bool{}
	u := func() *baseline.Usage {
		return hourlyUsage(t, loc, "2019-05-01", "2019-07-25", func(x time.Time) float64 {
			if missing[x.Format("2006-01-02T15")] {
				return math.NaN()
			}
			return 1
		})
	}
	withAdj := func() EventMethod {
		m := CBLHigh4of5()
		m.Adjustment = AdjustMultiplicative
		return m
	}
	tests := []struct {
		name    string
		missing []string
		method  func() EventMethod
		opts    []EventOption
		want    []LocalDate
	}{
		{"ten most recent weekdays", nil, CBL10of10, nil,
			dates("2019-07-23", "2019-07-22", "2019-07-19", "2019-07-18", "2019-07-17", "2019-07-16", "2019-07-15", "2019-07-12", "2019-07-11", "2019-07-10")},
		{"excluded days skipped", nil, CBL10of10, []EventOption{WithExcludedDays(dates("2019-07-23", "2019-07-22")...)},
			dates("2019-07-19", "2019-07-18", "2019-07-17", "2019-07-16", "2019-07-15", "2019-07-12", "2019-07-11", "2019-07-10", "2019-07-09", "2019-07-08")},
		{"holiday is not a weekday", nil, CBL10of10, []EventOption{WithHolidays(date("2019-07-17"))},
			dates("2019-07-23", "2019-07-22", "2019-07-19", "2019-07-18", "2019-07-16", "2019-07-15", "2019-07-12", "2019-07-11", "2019-07-10", "2019-07-09")},
		{"missing event hour makes a day ineligible", []string{"2019-07-18T16"}, CBLHigh4of5, nil,
			dates("2019-07-23", "2019-07-22", "2019-07-19", "2019-07-17", "2019-07-16")},
		{"missing hour outside both windows is fine", []string{"2019-07-18T09"}, withAdj, nil,
			dates("2019-07-23", "2019-07-22", "2019-07-19", "2019-07-18", "2019-07-17")},
		{"missing adjustment hour ignored without adjustment", []string{"2019-07-19T12"}, CBLHigh4of5, nil,
			dates("2019-07-23", "2019-07-22", "2019-07-19", "2019-07-18", "2019-07-17")},
		{"missing adjustment hour matters with adjustment", []string{"2019-07-19T12"}, withAdj, nil,
			dates("2019-07-23", "2019-07-22", "2019-07-18", "2019-07-17", "2019-07-16")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clear(missing)
			for _, h := range tc.missing {
				missing[h] = true
			}
			r, err := EventSavings(u(), ev, tc.method(), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, r.CandidateDays); diff != "" {
				t.Errorf("candidate days (-want +got):\n%s", diff)
			}
			if r.DayType != DayTypeWeekday {
				t.Errorf("day type = %v", r.DayType)
			}
		})
	}
}

// TestWeekendEventUsesWeekendsAndHolidays: a Saturday event draws on
// Saturdays, Sundays and holidays only.
func TestWeekendEventUsesWeekendsAndHolidays(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	u := hourlyUsage(t, loc, "2019-05-01", "2019-07-28", func(time.Time) float64 { return 1 })
	r, err := EventSavings(u, localEvent(loc, "2019-07-27", 15, 19), CBLWeekendHoliday4of4(), WithHolidays(date("2019-07-16")))
	if err != nil {
		t.Fatal(err)
	}
	want := dates("2019-07-21", "2019-07-20", "2019-07-16", "2019-07-14")
	if diff := cmp.Diff(want, r.SelectedDays); diff != "" {
		t.Errorf("selected (-want +got):\n%s", diff)
	}
	if r.DayType != DayTypeWeekendHoliday {
		t.Errorf("day type = %v", r.DayType)
	}
}

// TestHighXofY: levels chosen by hand; high 5 of 10 keeps the five highest
// event-window totals, a tie goes to the more recent day, and the baseline
// is the mean of those days at each clock hour.
func TestHighXofY(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	// Level per weekday (kWh in each event hour); event hour h adds
	// (h−15)/10 so each hour differs.
	level := map[string]float64{
		"2019-07-23": 5, "2019-07-22": 9, "2019-07-19": 7, "2019-07-18": 3,
		"2019-07-17": 8, "2019-07-16": 1, "2019-07-15": 7, "2019-07-12": 2,
		"2019-07-11": 6, "2019-07-10": 4,
	}
	mk := func() *baseline.Usage {
		return hourlyUsage(t, loc, "2019-06-01", "2019-07-25", func(x time.Time) float64 {
			l, ok := level[x.Format(time.DateOnly)]
			if !ok {
				l = 100 // older days must never be selected
			}
			if h := x.Hour(); h >= 15 && h < 19 {
				return l + float64(h-15)/10
			}
			return 0
		})
	}
	r, err := EventSavings(mk(), localEvent(loc, "2019-07-24", 15, 19), CBLHigh5of10())
	if err != nil {
		t.Fatal(err)
	}
	// Highest: 9 (07-22), 8 (07-17), 7 (07-19), 7 (07-15), 6 (07-11).
	want := dates("2019-07-22", "2019-07-19", "2019-07-17", "2019-07-15", "2019-07-11")
	if diff := cmp.Diff(want, r.SelectedDays); diff != "" {
		t.Errorf("selected (-want +got):\n%s", diff)
	}
	// Mean level (9+7+8+7+6)/5 = 7.4, plus (h−15)/10.
	var got []float64
	for _, h := range r.Hours {
		got = append(got, h.BaselineKWh)
		if h.UnadjustedBaselineKWh != h.BaselineKWh {
			t.Errorf("unadjusted %v != baseline %v without adjustment", h.UnadjustedBaselineKWh, h.BaselineKWh)
		}
	}
	if diff := cmp.Diff([]float64{7.4, 7.5, 7.6, 7.7}, got, approx); diff != "" {
		t.Errorf("baseline (-want +got):\n%s", diff)
	}

	level["2019-07-11"] = 5 // now 07-23 (5) and 07-11 (5) tie for fifth: the more recent 07-23 wins
	r, err = EventSavings(mk(), localEvent(loc, "2019-07-24", 15, 19), CBLHigh5of10())
	if err != nil {
		t.Fatal(err)
	}
	want = dates("2019-07-23", "2019-07-22", "2019-07-19", "2019-07-17", "2019-07-15")
	if diff := cmp.Diff(want, r.SelectedDays); diff != "" {
		t.Errorf("tie: selected (-want +got):\n%s", diff)
	}
}

// adjustmentUsage: every past hour 2 kWh, event hours (15–18) 4 kWh on past
// days; on the event day the window hours 11–13 read windowKWh and the
// event hours 1 kWh.
func adjustmentUsage(t *testing.T, loc *time.Location, windowKWh float64) *baseline.Usage {
	return hourlyUsage(t, loc, "2019-06-01", "2019-07-25", func(x time.Time) float64 {
		h := x.Hour()
		if x.Format(time.DateOnly) == "2019-07-24" {
			switch {
			case h >= 11 && h < 14:
				return windowKWh
			case h >= 15 && h < 19:
				return 1
			}
			return 2
		}
		if h >= 15 && h < 19 {
			return 4
		}
		return 2
	})
}

// TestAdjustments: hand-computed day-of adjustments and their caps.
// Window 3 gap 1 for a 15:00 start is [11:00, 14:00); its unadjusted
// baseline is 2 kWh an hour; the event hours' is 4.
func TestAdjustments(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	ev := localEvent(loc, "2019-07-24", 15, 19)
	tests := []struct {
		name      string
		adj       Adjustment
		capFrac   float64
		windowKWh float64
		rawFactor float64
		factor    float64
		offset    float64
		hourBase  float64 // each event hour's adjusted baseline
	}{
		{"none", AdjustNone, 0.2, 2.5, 1, 1, 0, 4},
		{"multiplicative within cap", AdjustMultiplicative, 0.2, 2.2, 1.1, 1.1, 0, 4.4},
		{"multiplicative capped high", AdjustMultiplicative, 0.2, 2.5, 1.25, 1.2, 0, 4.8},
		{"multiplicative capped low", AdjustMultiplicative, 0.2, 1, 0.5, 0.8, 0, 3.2},
		{"multiplicative wider cap", AdjustMultiplicative, 0.3, 2.5, 1.25, 1.25, 0, 5},
		{"multiplicative uncapped", AdjustMultiplicative, math.Inf(1), 6, 3, 3, 0, 12},
		{"additive within cap", AdjustAdditive, 0.2, 2.3, 1, 1, 0.3, 4.3},
		{"additive capped high", AdjustAdditive, 0.2, 3.5, 1, 1, 1.5, 4.8},
		{"additive capped low", AdjustAdditive, 0.2, 0, 1, 1, -2, 3.2},
		{"additive zero cap", AdjustAdditive, 0, 3, 1, 1, 1, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := CBL10of10()
			m.Adjustment, m.AdjustCap = tc.adj, tc.capFrac
			r, err := EventSavings(adjustmentUsage(t, loc, tc.windowKWh), ev, m)
			if err != nil {
				t.Fatal(err)
			}
			got := []float64{r.RawAdjustmentFactor, r.AdjustmentFactor, r.AdjustmentOffsetKWh}
			if diff := cmp.Diff([]float64{tc.rawFactor, tc.factor, tc.offset}, got, approx); diff != "" {
				t.Errorf("raw factor, factor, offset (-want +got):\n%s", diff)
			}
			for _, h := range r.Hours {
				if math.Abs(h.BaselineKWh-tc.hourBase) > 1e-9 || h.UnadjustedBaselineKWh != 4 || h.ActualKWh != 1 {
					t.Errorf("hour %s: %+v, want baseline %v", h.Start, h, tc.hourBase)
				}
			}
			want := 4 * tc.hourBase
			if diff := cmp.Diff([]float64{want, 4, want - 4}, []float64{r.BaselineKWh, r.ActualKWh, r.SavingsKWh}, approx); diff != "" {
				t.Errorf("totals baseline, actual, savings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAdjustmentWindowGap: window 2, gap 0 is [13:00, 15:00); only those
// hours of the event day count.
func TestAdjustmentWindowGap(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	u := hourlyUsage(t, loc, "2019-06-01", "2019-07-25", func(x time.Time) float64 {
		if x.Format(time.DateOnly) == "2019-07-24" {
			switch x.Hour() {
			case 13:
				return 2.2
			case 14:
				return 2.4
			case 12:
				return 100 // outside the window
			}
		}
		return 2
	})
	m := CBL10of10()
	m.Adjustment, m.AdjustWindowHours, m.AdjustGapHours, m.AdjustCap = AdjustMultiplicative, 2, 0, 0.5
	r, err := EventSavings(u, localEvent(loc, "2019-07-24", 15, 17), m)
	if err != nil {
		t.Fatal(err)
	}
	if want := 4.6 / 4; math.Abs(r.AdjustmentFactor-want) > 1e-12 {
		t.Errorf("factor = %v, want %v", r.AdjustmentFactor, want)
	}
}

// TestZeroBaselineWindow: Σ baseline = 0 over the window gives the capped
// factor (raw +Inf), or 1 when the actual is also 0.
func TestZeroBaselineWindow(t *testing.T) {
	if raw, f := multiplicativeFactor([]float64{1, 0}, []float64{0, 0}, 0.2); !math.IsInf(raw, 1) || f != 1.2 {
		t.Errorf("got %v %v, want +Inf 1.2", raw, f)
	}
	if raw, f := multiplicativeFactor([]float64{0}, []float64{0}, 0.2); raw != 1 || f != 1 {
		t.Errorf("got %v %v, want 1 1", raw, f)
	}
	// Uncapped and a zero window baseline: no finite factor, so none is
	// applied, with a warning.
	loc := mustLoc(t, "Europe/London")
	u := hourlyUsage(t, loc, "2019-06-01", "2019-07-25", func(x time.Time) float64 {
		if h := x.Hour(); h >= 11 && h < 14 && x.Format(time.DateOnly) != "2019-07-24" {
			return 0
		}
		return 3
	})
	m := CBL10of10()
	m.Adjustment, m.AdjustCap = AdjustMultiplicative, math.Inf(1)
	r, err := EventSavings(u, localEvent(loc, "2019-07-24", 15, 19), m)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(r.RawAdjustmentFactor, 1) || r.AdjustmentFactor != 1 || r.BaselineKWh != 12 || len(r.Warnings) != 1 {
		t.Errorf("raw %v factor %v baseline %v warnings %q", r.RawAdjustmentFactor, r.AdjustmentFactor, r.BaselineKWh, r.Warnings)
	}
	// Negative baseline (net export): bounds are ordered.
	if got := additiveHour(-10, 5, 0.2); got != -8 {
		t.Errorf("additive on -10 +5 = %v, want -8", got)
	}
}

// clockHourUsage: each hour's usage equals its local clock hour, so a
// baseline that shifted across a DST change would show it.
func clockHourUsage(x time.Time) float64 { return float64(x.Hour()) }

type hourWant struct {
	Start string
	Base  float64
}

func checkHours(t *testing.T, r *EventResult, want []hourWant) {
	t.Helper()
	var got []hourWant
	for _, h := range r.Hours {
		got = append(got, hourWant{h.Start.Format(time.RFC3339), h.BaselineKWh})
	}
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("hours (-want +got):\n%s", diff)
	}
}

// TestDSTSpringForward: 23-hour days, London 2019-03-31 and New York
// 2019-03-10 (both Sundays).
func TestDSTSpringForward(t *testing.T) {
	london := mustLoc(t, "Europe/London")
	u := hourlyUsage(t, london, "2019-02-01", "2019-04-10", clockHourUsage)

	// The event on the 23-hour day: afternoon clock hours line up with
	// the GMT weeks before.
	r, err := EventSavings(u, localEvent(london, "2019-03-31", 15, 19), CBLWeekendHoliday4of4())
	if err != nil {
		t.Fatal(err)
	}
	checkHours(t, r, []hourWant{{"2019-03-31T15:00:00+01:00", 15}, {"2019-03-31T16:00:00+01:00", 16}, {"2019-03-31T17:00:00+01:00", 17}, {"2019-03-31T18:00:00+01:00", 18}})

	// An event over the skipped hour: 00:00–03:00 local is two real hours.
	r, err = EventSavings(u, localEvent(london, "2019-03-31", 0, 3), CBLWeekendHoliday4of4())
	if err != nil {
		t.Fatal(err)
	}
	checkHours(t, r, []hourWant{{"2019-03-31T00:00:00Z", 0}, {"2019-03-31T02:00:00+01:00", 2}})

	// The 23-hour day as a baseline day: usable for afternoon hours, not
	// for an event that needs its missing 01:00.
	r, err = EventSavings(u, localEvent(london, "2019-04-07", 15, 19), CBLWeekendHoliday4of4())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dates("2019-04-06", "2019-03-31", "2019-03-30", "2019-03-24"), r.SelectedDays); diff != "" {
		t.Errorf("afternoon selected (-want +got):\n%s", diff)
	}
	checkHours(t, r, []hourWant{{"2019-04-07T15:00:00+01:00", 15}, {"2019-04-07T16:00:00+01:00", 16}, {"2019-04-07T17:00:00+01:00", 17}, {"2019-04-07T18:00:00+01:00", 18}})
	r, err = EventSavings(u, localEvent(london, "2019-04-07", 0, 3), CBLWeekendHoliday4of4())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dates("2019-04-06", "2019-03-30", "2019-03-24", "2019-03-23"), r.SelectedDays); diff != "" {
		t.Errorf("night selected (-want +got):\n%s", diff)
	}
	checkHours(t, r, []hourWant{{"2019-04-07T00:00:00+01:00", 0}, {"2019-04-07T01:00:00+01:00", 1}, {"2019-04-07T02:00:00+01:00", 2}})

	ny := mustLoc(t, "America/New_York")
	u = hourlyUsage(t, ny, "2019-02-01", "2019-03-20", clockHourUsage)
	r, err = EventSavings(u, localEvent(ny, "2019-03-10", 0, 4), CBLWeekendHoliday4of4())
	if err != nil {
		t.Fatal(err)
	}
	checkHours(t, r, []hourWant{{"2019-03-10T00:00:00-05:00", 0}, {"2019-03-10T01:00:00-05:00", 1}, {"2019-03-10T03:00:00-04:00", 3}})
	// A Monday event after the change, with a multiplicative adjustment:
	// baseline hours and the window stay on local clock hours.
	m := CBL10of10()
	m.Adjustment = AdjustMultiplicative
	r, err = EventSavings(u, localEvent(ny, "2019-03-11", 14, 18), m)
	if err != nil {
		t.Fatal(err)
	}
	if r.AdjustmentFactor != 1 {
		t.Errorf("factor = %v, want 1", r.AdjustmentFactor)
	}
	checkHours(t, r, []hourWant{{"2019-03-11T14:00:00-04:00", 14}, {"2019-03-11T15:00:00-04:00", 15}, {"2019-03-11T16:00:00-04:00", 16}, {"2019-03-11T17:00:00-04:00", 17}})
}

// TestDSTFallBack: 25-hour days, London 2019-10-27 and New York 2019-11-03.
// The repeated clock hour: both instances are event hours on the event
// day; on a baseline day its value is the mean of both instances.
func TestDSTFallBack(t *testing.T) {
	london := mustLoc(t, "Europe/London")
	u := hourlyUsage(t, london, "2019-09-01", "2019-11-10", clockHourUsage)
	r, err := EventSavings(u, localEvent(london, "2019-10-27", 0, 3), CBLWeekendHoliday4of4())
	if err != nil {
		t.Fatal(err)
	}
	checkHours(t, r, []hourWant{{"2019-10-27T00:00:00+01:00", 0}, {"2019-10-27T01:00:00+01:00", 1}, {"2019-10-27T01:00:00Z", 1}, {"2019-10-27T02:00:00Z", 2}})
	if r.ActualKWh != 4 { // 0 + 1 + 1 + 2
		t.Errorf("actual = %v, want 4", r.ActualKWh)
	}

	// The 25-hour day as a baseline day, its two 01:00s reading 10 and 20:
	// clock hour 1 there is 15, so the 4-of-4 mean is (1+15+1+1)/4.
	u = hourlyUsage(t, london, "2019-09-01", "2019-11-10", func(x time.Time) float64 {
		switch x.UTC().Format(time.RFC3339) {
		case "2019-10-27T00:00:00Z":
			return 10
		case "2019-10-27T01:00:00Z":
			return 20
		}
		return clockHourUsage(x)
	})
	r, err = EventSavings(u, localEvent(london, "2019-11-03", 0, 3), CBLWeekendHoliday4of4())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dates("2019-11-02", "2019-10-27", "2019-10-26", "2019-10-20"), r.SelectedDays); diff != "" {
		t.Errorf("selected (-want +got):\n%s", diff)
	}
	checkHours(t, r, []hourWant{{"2019-11-03T00:00:00Z", 0}, {"2019-11-03T01:00:00Z", 4.5}, {"2019-11-03T02:00:00Z", 2}})

	ny := mustLoc(t, "America/New_York")
	u = hourlyUsage(t, ny, "2019-09-01", "2019-11-10", clockHourUsage)
	r, err = EventSavings(u, localEvent(ny, "2019-11-03", 0, 3), CBLWeekendHoliday4of4())
	if err != nil {
		t.Fatal(err)
	}
	checkHours(t, r, []hourWant{{"2019-11-03T00:00:00-04:00", 0}, {"2019-11-03T01:00:00-04:00", 1}, {"2019-11-03T01:00:00-05:00", 1}, {"2019-11-03T02:00:00-05:00", 2}})
	// An evening event on the 25-hour day with an adjustment window.
	m := CBLWeekendHoliday4of4()
	m.Adjustment = AdjustAdditive
	r, err = EventSavings(u, localEvent(ny, "2019-11-03", 16, 20), m)
	if err != nil {
		t.Fatal(err)
	}
	if r.AdjustmentOffsetKWh != 0 {
		t.Errorf("offset = %v, want 0", r.AdjustmentOffsetKWh)
	}
	checkHours(t, r, []hourWant{{"2019-11-03T16:00:00-05:00", 16}, {"2019-11-03T17:00:00-05:00", 17}, {"2019-11-03T18:00:00-05:00", 18}, {"2019-11-03T19:00:00-05:00", 19}})
}

// TestEventAcrossMidnight: a 22:00–02:00 event takes each baseline day's
// 22:00, 23:00 and the next morning's 00:00 and 01:00.
func TestEventAcrossMidnight(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	u := hourlyUsage(t, loc, "2019-06-01", "2019-07-26", clockHourUsage)
	ev := Event{Location: loc, Start: time.Date(2019, 7, 24, 22, 0, 0, 0, loc), End: time.Date(2019, 7, 25, 2, 0, 0, 0, loc)}
	r, err := EventSavings(u, ev, CBL10of10())
	if err != nil {
		t.Fatal(err)
	}
	checkHours(t, r, []hourWant{{"2019-07-24T22:00:00+01:00", 22}, {"2019-07-24T23:00:00+01:00", 23}, {"2019-07-25T00:00:00+01:00", 0}, {"2019-07-25T01:00:00+01:00", 1}})
}

// TestInsufficientHistory: fewer than X eligible days is an error with
// the counts; between X and Y a warning and a flag.
func TestInsufficientHistory(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	// Data from Monday 2019-07-15: 7 weekdays before Wednesday 07-24.
	u := hourlyUsage(t, loc, "2019-07-15", "2019-07-25", func(time.Time) float64 { return 1 })
	ev := localEvent(loc, "2019-07-24", 15, 19)
	_, err := EventSavings(u, ev, CBL10of10(), WithExcludedDays(date("2019-07-23")))
	var ih *InsufficientHistoryError
	if !errors.As(err, &ih) || !errors.Is(err, ErrInsufficientHistory) {
		t.Fatalf("err = %v, want InsufficientHistoryError", err)
	}
	// 45 days back: 32 weekdays, 1 excluded, 6 with data, 25 without.
	want := InsufficientHistoryError{EventDay: date("2019-07-24"), DayType: DayTypeWeekday, Eligible: 6, X: 10, Y: 10, LookbackDays: 45, Excluded: 1, Incomplete: 25}
	if diff := cmp.Diff(want, *ih); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}

	r, err := EventSavings(u, ev, CBLHigh5of10())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.CandidateDays) != 7 || len(r.SelectedDays) != 5 || len(r.Warnings) != 1 || !cmp.Equal(r.Flags, []Flag{FlagFewerThanYDays}) {
		t.Errorf("candidates %v selected %v warnings %q flags %v", r.CandidateDays, r.SelectedDays, r.Warnings, r.Flags)
	}
	if fact := r.Result(); !cmp.Equal(fact.Flags, []Flag{FlagFewerThanYDays}) {
		t.Errorf("fact flags %v", fact.Flags)
	}

	// The lookback bounds the walk: 5 days back reaches 07-19 (07-23, 22,
	// 19: three weekdays).
	m := CBLHigh4of5()
	m.LookbackDays = 5
	_, err = EventSavings(u, ev, m)
	if !errors.As(err, &ih) || ih.Eligible != 3 {
		t.Errorf("err = %v, want 3 eligible", err)
	}
}

// TestWeatherSelection: the X days whose event-window mean temperature is
// closest to the event day's (25 °C here), ties to the more recent day.
func TestWeatherSelection(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	u := hourlyUsage(t, loc, "2019-06-01", "2019-07-25", func(time.Time) float64 { return 1 })
	tempC := map[string]float64{
		"2019-07-24": 25, "2019-07-23": 18, "2019-07-22": 24, "2019-07-19": 27,
		"2019-07-18": 25.5, "2019-07-17": 20, "2019-07-16": 23, "2019-07-15": 26,
	}
	var rs []baseline.Reading
	for x := time.Date(2019, 6, 1, 0, 0, 0, 0, loc); x.Before(time.Date(2019, 7, 25, 0, 0, 0, 0, loc)); x = x.Add(time.Hour) {
		v, ok := tempC[x.Format(time.DateOnly)]
		if !ok {
			v = 10
		}
		if h := x.Hour(); h < 15 || h >= 19 {
			v = -5 // outside the event window: must not matter
		}
		rs = append(rs, baseline.Reading{Start: x, Value: v})
	}
	temp, err := baseline.NewTemperatureC(rs)
	if err != nil {
		t.Fatal(err)
	}
	m := CBL10of10()
	m.X, m.Selection = 3, SelectWeather
	r, err := EventSavings(u, localEvent(loc, "2019-07-24", 15, 19), m, WithTemperature(temp))
	if err != nil {
		t.Fatal(err)
	}
	// |Δ| °C: 07-18 0.5, 07-22 1, 07-15 1, 07-19 2, 07-16 2 → 07-18, 07-22, 07-15.
	if diff := cmp.Diff(dates("2019-07-22", "2019-07-18", "2019-07-15"), r.SelectedDays); diff != "" {
		t.Errorf("selected (-want +got):\n%s", diff)
	}
	if _, err := EventSavings(u, localEvent(loc, "2019-07-24", 15, 19), m); !errors.Is(err, ErrNoTemperature) {
		t.Errorf("without temperature: err = %v", err)
	}
}

func TestEventErrors(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	u := hourlyUsage(t, loc, "2019-06-01", "2019-07-25", func(x time.Time) float64 {
		if h := x.Format("2006-01-02T15"); h == "2019-07-24T17" || h == "2019-07-23T12" {
			return math.NaN()
		}
		return 1
	})
	ev := localEvent(loc, "2019-07-24", 15, 19)
	var rs []baseline.Reading
	for x := time.Date(2019, 7, 1, 0, 0, 0, 0, loc); x.Before(time.Date(2019, 7, 25, 0, 0, 0, 0, loc)); x = x.Add(30 * time.Minute) {
		rs = append(rs, baseline.Reading{Start: x, Value: 1})
	}
	halfHourly, err := baseline.NewUsage(rs)
	if err != nil {
		t.Fatal(err)
	}
	withAdj := CBL10of10()
	withAdj.Adjustment = AdjustAdditive
	modified := func(f func(*EventMethod)) EventMethod {
		m := withAdj
		f(&m)
		return m
	}
	tests := []struct {
		name  string
		usage *baseline.Usage
		ev    Event
		m     EventMethod
		want  error
	}{
		{"no location", u, Event{Start: ev.Start, End: ev.End}, CBL10of10(), ErrInvalidEvent},
		{"end before start", u, Event{Location: loc, Start: ev.End, End: ev.Start}, CBL10of10(), ErrInvalidEvent},
		{"end equals start", u, Event{Location: loc, Start: ev.Start, End: ev.Start}, CBL10of10(), ErrInvalidEvent},
		{"not whole hour", u, Event{Location: loc, Start: ev.Start.Add(30 * time.Minute), End: ev.End}, CBL10of10(), ErrInvalidEvent},
		{"longer than a day", u, Event{Location: loc, Start: ev.Start.Add(-48 * time.Hour), End: ev.End}, CBL10of10(), ErrInvalidEvent},
		{"no usage", nil, ev, CBL10of10(), ErrNoUsage},
		{"event before data", u, localEvent(loc, "2019-05-01", 15, 19), CBL10of10(), ErrEventBeforeData},
		{"event after data", u, localEvent(loc, "2019-08-01", 15, 19), CBL10of10(), ErrMissingEventUsage},
		{"missing event hour", u, ev, CBL10of10(), ErrMissingEventUsage},
		{"missing adjustment hour", u, localEvent(loc, "2019-07-23", 15, 19), withAdj, ErrMissingEventUsage},
		{"half-hourly usage", halfHourly, ev, CBL10of10(), ErrNotHourly},
		{"x zero", u, ev, EventMethod{}, ErrInvalidEventMethod},
		{"y < x", u, ev, EventMethod{X: 5, Y: 4, LookbackDays: 45}, ErrInvalidEventMethod},
		{"lookback zero", u, ev, EventMethod{X: 5, Y: 5}, ErrInvalidEventMethod},
		{"lookback huge", u, ev, EventMethod{X: 5, Y: 5, LookbackDays: 1 << 30}, ErrInvalidEventMethod},
		{"negative cap", u, ev, modified(func(m *EventMethod) { m.AdjustCap = -0.1 }), ErrInvalidEventMethod},
		{"NaN cap", u, ev, modified(func(m *EventMethod) { m.AdjustCap = math.NaN() }), ErrInvalidEventMethod},
		{"zero window", u, ev, modified(func(m *EventMethod) { m.AdjustWindowHours = 0 }), ErrInvalidEventMethod},
		{"negative gap", u, ev, modified(func(m *EventMethod) { m.AdjustGapHours = -1 }), ErrInvalidEventMethod},
		{"unknown adjustment", u, ev, modified(func(m *EventMethod) { m.Adjustment = 7 }), ErrInvalidEventMethod},
		{"unknown selection", u, ev, modified(func(m *EventMethod) { m.Selection = 7 }), ErrInvalidEventMethod},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := EventSavings(tc.usage, tc.ev, tc.m)
			if !errors.Is(err, tc.want) || r != nil {
				t.Fatalf("err = %v, want %v (result %v)", err, tc.want, r)
			}
		})
	}
	_, err = EventSavings(u, ev, CBL10of10())
	var mu *MissingUsageError
	if !errors.As(err, &mu) || mu.Window != "event" || mu.Time.Format(time.RFC3339) != "2019-07-24T17:00:00+01:00" {
		t.Errorf("err = %v, want the 17:00 event hour named", err)
	}
}

func TestEventResultAsFact(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	m := CBL10of10()
	m.Adjustment = AdjustMultiplicative
	r, err := EventSavings(adjustmentUsage(t, loc, 2.2), localEvent(loc, "2019-07-24", 15, 19), m)
	if err != nil {
		t.Fatal(err)
	}
	// Factor 1.1: baseline 4 × 4.4 = 17.6, actual 4, savings 13.6.
	want := Result{
		Kind: KindEvent, ID: "ev-2019-07-24", EventType: "peak-time-rebate",
		Start: time.Date(2019, 7, 24, 14, 0, 0, 0, time.UTC), End: time.Date(2019, 7, 24, 18, 0, 0, 0, time.UTC),
		BaselineKWh: 17.6, ObservedKWh: 4, SavingsKWh: 13.6, PercentSavings: 100 * 13.6 / 17.6,
	}
	if diff := cmp.Diff(want, r.Result(), approx, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("fact (-want +got):\n%s", diff)
	}
}

func TestLocalDateAndEnums(t *testing.T) {
	d := date("2019-12-31")
	if got := d.AddDays(1).String(); got != "2020-01-01" {
		t.Errorf("AddDays = %s", got)
	}
	if d.Weekday() != time.Tuesday {
		t.Errorf("weekday = %v", d.Weekday())
	}
	var back LocalDate
	if b, _ := d.MarshalText(); back.UnmarshalText(b) != nil || back != d {
		t.Errorf("round trip %v", back)
	}
	if _, err := ParseLocalDate("2019-13-01"); err == nil {
		t.Error("month 13 parsed")
	}
	for _, s := range []string{"none", "multiplicative", "additive"} {
		a, err := ParseAdjustment(s)
		if err != nil || a.String() != s {
			t.Errorf("ParseAdjustment(%q) = %v, %v", s, a, err)
		}
	}
	if _, err := ParseAdjustment("ratio"); !errors.Is(err, ErrInvalidEventMethod) {
		t.Errorf("err = %v", err)
	}
}
