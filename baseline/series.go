package baseline

import (
	"math"
	"time"
)

// Reading is one value for the interval starting at Start (any time zone;
// the series store UTC). A NaN Value means missing.
type Reading struct {
	Start time.Time
	Value float64
}

// series is the validated, UTC, strictly increasing core shared by Usage
// and Temperature.
type series struct {
	r []Reading
}

func newSeries(readings []Reading) (series, error) {
	if len(readings) == 0 {
		return series{}, ErrEmpty
	}
	out := make([]Reading, len(readings))
	for i, rd := range readings {
		t := rd.Start.UTC()
		if math.IsInf(rd.Value, 0) {
			return series{}, &RowError{Index: i, Time: t, Field: "value", Err: ErrNonFinite}
		}
		if i > 0 {
			prev := out[i-1].Start
			if t.Equal(prev) {
				return series{}, &RowError{Index: i, Time: t, Field: "start", Err: ErrDuplicateTimestamp}
			}
			if t.Before(prev) {
				return series{}, &RowError{Index: i, Time: t, Field: "start", Err: ErrUnsorted}
			}
		}
		out[i] = Reading{Start: t, Value: rd.Value}
	}
	return series{r: out}, nil
}

// Usage is a validated usage series: Start strictly increasing (stored in
// UTC), values finite or NaN (missing).
//
// For period data (daily or billing) each reading covers [Start, next
// Start); the last reading only marks the end of the previous period and
// its value is usually NaN, as in eemeter's sample files. Hourly usage
// (kWh per hour, hour-start timestamps) uses the same type.
type Usage struct{ s series }

// NewUsage validates readings (sorted, no duplicate Start, no ±Inf) and
// returns a Usage holding a copy. Errors are [*RowError]s wrapping
// [ErrUnsorted], [ErrDuplicateTimestamp] or [ErrNonFinite]; an empty
// input returns [ErrEmpty].
func NewUsage(readings []Reading) (*Usage, error) {
	s, err := newSeries(readings)
	if err != nil {
		return nil, err
	}
	return &Usage{s: s}, nil
}

// Len returns the number of readings.
func (u *Usage) Len() int { return len(u.s.r) }

// At returns reading i (Start in UTC).
func (u *Usage) At(i int) Reading { return u.s.r[i] }

// Readings returns a copy of the readings.
func (u *Usage) Readings() []Reading { return append([]Reading(nil), u.s.r...) }

// Temperature is a validated outdoor temperature series in °F: hourly
// readings (hour-start timestamps) or one daily-mean reading per day.
// Start strictly increasing (UTC), values finite or NaN (missing).
type Temperature struct{ s series }

// NewTemperatureF validates readings in °F (see [NewUsage] for the rules).
func NewTemperatureF(readings []Reading) (*Temperature, error) {
	s, err := newSeries(readings)
	if err != nil {
		return nil, err
	}
	return &Temperature{s: s}, nil
}

// NewTemperatureC validates readings in °C and stores them in °F
// (F = C × 9/5 + 32).
func NewTemperatureC(readings []Reading) (*Temperature, error) {
	s, err := newSeries(readings)
	if err != nil {
		return nil, err
	}
	for i := range s.r {
		f := s.r[i].Value*9/5 + 32
		if math.IsInf(f, 0) {
			return nil, &RowError{Index: i, Time: s.r[i].Start, Field: "value", Err: ErrNonFinite}
		}
		s.r[i].Value = f
	}
	return &Temperature{s: s}, nil
}

// Len returns the number of readings.
func (t *Temperature) Len() int { return len(t.s.r) }

// At returns reading i in °F (Start in UTC).
func (t *Temperature) At(i int) Reading { return t.s.r[i] }

// Readings returns a copy of the readings (°F).
func (t *Temperature) Readings() []Reading { return append([]Reading(nil), t.s.r...) }
