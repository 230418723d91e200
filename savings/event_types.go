package savings

import (
	"fmt"
	"math"
	"time"
)

// LocalDate is a calendar date in the program's time zone: no clock time,
// no zone. Holidays, excluded days and the selected baseline days are
// LocalDates. The zero value is not a valid date.
type LocalDate struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's own location; call
// DateOf(t.In(loc)) for the date in another zone.
func DateOf(t time.Time) LocalDate {
	y, m, d := t.Date()
	return LocalDate{y, m, d}
}

// ParseLocalDate parses "2006-01-02".
func ParseLocalDate(s string) (LocalDate, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return LocalDate{}, fmt.Errorf("bad date %q (want YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// String formats the date as "2006-01-02".
func (d LocalDate) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText formats the date as "2006-01-02" (JSON-friendly).
func (d LocalDate) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "2006-01-02".
func (d *LocalDate) UnmarshalText(b []byte) error {
	v, err := ParseLocalDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// AddDays returns the date n calendar days later (earlier when n < 0).
// It counts calendar days, not 24-hour periods, so daylight-saving days
// are one day like any other.
func (d LocalDate) AddDays(n int) LocalDate {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday returns the day of the week.
func (d LocalDate) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// daysSinceEpoch numbers dates consecutively (1970-01-01 is 0).
func (d LocalDate) daysSinceEpoch() int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// DayType is the class of day a customer baseline compares like with like.
type DayType int

const (
	// DayTypeWeekday is Monday to Friday, not a holiday.
	DayTypeWeekday DayType = iota + 1
	// DayTypeWeekendHoliday is Saturday, Sunday or a holiday.
	DayTypeWeekendHoliday
)

// String returns "weekday" or "weekend/holiday".
func (t DayType) String() string {
	switch t {
	case DayTypeWeekday:
		return "weekday"
	case DayTypeWeekendHoliday:
		return "weekend/holiday"
	}
	return fmt.Sprintf("DayType(%d)", int(t))
}

// Adjustment is the day-of (same-day) adjustment of a customer baseline.
type Adjustment int

const (
	// AdjustNone leaves the X-of-Y baseline as it is.
	AdjustNone Adjustment = iota
	// AdjustMultiplicative scales the baseline by Σ actual / Σ baseline over
	// the adjustment window, clamped to [1−cap, 1+cap] (CAISO 10-in-10
	// "load point adjustment").
	AdjustMultiplicative
	// AdjustAdditive shifts each baseline hour by the mean of (actual −
	// baseline) over the adjustment window, each adjusted hour clamped into
	// [(1−cap)·baseline, (1+cap)·baseline] (PJM "symmetric additive
	// adjustment").
	AdjustAdditive
)

// String returns "none", "multiplicative" or "additive".
func (a Adjustment) String() string {
	switch a {
	case AdjustNone:
		return "none"
	case AdjustMultiplicative:
		return "multiplicative"
	case AdjustAdditive:
		return "additive"
	}
	return fmt.Sprintf("Adjustment(%d)", int(a))
}

// ParseAdjustment parses "none", "multiplicative" or "additive".
func ParseAdjustment(s string) (Adjustment, error) {
	for _, a := range []Adjustment{AdjustNone, AdjustMultiplicative, AdjustAdditive} {
		if s == a.String() {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown adjustment %q (want none, multiplicative or additive)", ErrInvalidEventMethod, s)
}

// MarshalText returns the adjustment's name.
func (a Adjustment) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Selection says how the X baseline days are chosen from the Y candidates.
type Selection int

const (
	// SelectHighest keeps the X candidates with the highest usage over the
	// event window ("high X of Y"); ties go to the more recent day. With
	// X == Y it keeps them all ("X of X").
	SelectHighest Selection = iota
	// SelectWeather keeps the X candidates whose mean temperature over the
	// event window is closest to the event day's; ties go to the more
	// recent day. It needs [WithTemperature].
	SelectWeather
)

// String returns "highest" or "weather".
func (s Selection) String() string {
	switch s {
	case SelectHighest:
		return "highest"
	case SelectWeather:
		return "weather"
	}
	return fmt.Sprintf("Selection(%d)", int(s))
}

// MarshalText returns the selection's name.
func (s Selection) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Defaults of the customer-baseline-load family (issue #4).
const (
	DefaultLookbackDays      = 45
	DefaultAdjustWindowHours = 3
	DefaultAdjustGapHours    = 1
	DefaultAdjustCap         = 0.2
	// MaxLookbackDays bounds EventMethod.LookbackDays (ten years), which
	// sizes the work and memory of one event.
	MaxLookbackDays = 3660
)

// EventMethod configures a customer baseline load (CBL): which past days
// stand in for the event day and how the result is adjusted on the day.
// Start from a preset ([CBL10of10], [CBLHigh5of10], [CBLHigh4of5],
// [CBLWeekendHoliday4of4]) and change fields; [EventSavings] validates it.
type EventMethod struct {
	// X is how many days the baseline averages, Y how many of the most
	// recent eligible days are candidates (1 ≤ X ≤ Y).
	X, Y int
	// LookbackDays bounds the walk back from the day before the event
	// (calendar days, ≥ 1).
	LookbackDays int
	// Selection picks X of the Y candidates.
	Selection Selection
	// Adjustment is the day-of adjustment; AdjustWindowHours (1–24) long,
	// ending AdjustGapHours (0–24) before the event start, so 3 and 1 mean
	// the hours [start−4h, start−1h).
	Adjustment        Adjustment
	AdjustWindowHours int
	AdjustGapHours    int
	// AdjustCap bounds the adjustment: the factor stays in [1−cap, 1+cap]
	// (≥ 0; +Inf means uncapped).
	AdjustCap float64
}

func presetMethod(x, y int) EventMethod {
	return EventMethod{
		X: x, Y: y, LookbackDays: DefaultLookbackDays, Selection: SelectHighest,
		Adjustment: AdjustNone, AdjustWindowHours: DefaultAdjustWindowHours,
		AdjustGapHours: DefaultAdjustGapHours, AdjustCap: DefaultAdjustCap,
	}
}

// CBL10of10 is the mean of the 10 most recent eligible days (CAISO
// "10-in-10" weekday baseline for proxy demand resources). Presets set no
// adjustment; the window 3 h, gap 1 h and cap 0.2 are ready for one
// (CAISO pairs 10-in-10 with a multiplicative adjustment capped at 20 %).
func CBL10of10() EventMethod { return presetMethod(10, 10) }

// CBLHigh5of10 keeps the 5 highest of the 10 most recent eligible days
// (NYISO average-day CBL, weekdays).
func CBLHigh5of10() EventMethod { return presetMethod(5, 10) }

// CBLHigh4of5 keeps the 4 highest of the 5 most recent eligible days
// (PJM economic load response CBL, weekdays; PJM pairs it with the
// additive adjustment).
func CBLHigh4of5() EventMethod { return presetMethod(4, 5) }

// CBLWeekendHoliday4of4 is the weekend/holiday variant: the mean of the
// 4 most recent eligible weekend/holiday days, as in CAISO's customer
// load baseline ("10-in-10" on weekdays, "4-in-4" on weekends and
// holidays). Day type is decided by the event day, so this preset is for
// events that fall on a weekend or holiday.
func CBLWeekendHoliday4of4() EventMethod { return presetMethod(4, 4) }

// Validate reports the first out-of-range field, wrapping
// [ErrInvalidEventMethod].
func (m EventMethod) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEventMethod, fmt.Sprintf(format, a...))
	}
	switch {
	case m.X < 1:
		return bad("x = %d, want at least 1", m.X)
	case m.Y < m.X:
		return bad("y = %d is less than x = %d", m.Y, m.X)
	case m.LookbackDays < 1 || m.LookbackDays > MaxLookbackDays:
		return bad("lookback = %d days, want 1 to %d", m.LookbackDays, MaxLookbackDays)
	case m.Selection != SelectHighest && m.Selection != SelectWeather:
		return bad("unknown selection %v", m.Selection)
	case m.Adjustment != AdjustNone && m.Adjustment != AdjustMultiplicative && m.Adjustment != AdjustAdditive:
		return bad("unknown adjustment %v", m.Adjustment)
	}
	if m.Adjustment == AdjustNone {
		return nil
	}
	switch {
	case m.AdjustWindowHours < 1 || m.AdjustWindowHours > 24:
		return bad("adjustment window = %d hours, want 1 to 24", m.AdjustWindowHours)
	case m.AdjustGapHours < 0 || m.AdjustGapHours > 24:
		return bad("adjustment gap = %d hours, want 0 to 24", m.AdjustGapHours)
	case math.IsNaN(m.AdjustCap) || m.AdjustCap < 0:
		return bad("adjustment cap = %v, want at least 0", m.AdjustCap)
	}
	return nil
}
