package baseline

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Constructors and readers wrap them (usually in a
// [*RowError] that says where), so test them with errors.Is.
var (
	// ErrUnsorted: a reading's Start is before the previous reading's.
	ErrUnsorted = errors.New("timestamps not in increasing order")
	// ErrDuplicateTimestamp: two readings share a Start.
	ErrDuplicateTimestamp = errors.New("duplicate timestamp")
	// ErrNonFinite: a value is ±Inf (NaN is allowed and means missing).
	ErrNonFinite = errors.New("value is not finite")
	// ErrBadTimestamp: a CSV timestamp is not RFC 3339 (or a plain date).
	ErrBadTimestamp = errors.New("bad timestamp")
	// ErrBadValue: a CSV value is not a number.
	ErrBadValue = errors.New("bad value")
	// ErrBadHeader: a CSV header does not name the expected columns.
	ErrBadHeader = errors.New("bad header")
	// ErrBadRow: a CSV row has the wrong number of fields or bad quoting.
	ErrBadRow = errors.New("bad row")
	// ErrEmpty: a series has no readings.
	ErrEmpty = errors.New("no readings")
	// ErrNoData: the requested window holds no usable data.
	ErrNoData = errors.New("no data in window")
	// ErrNoQualifiedModel: no candidate model qualified (cannot happen with
	// eemeter's rules unless the intercept-only fit is negative or all data
	// are missing).
	ErrNoQualifiedModel = errors.New("no qualified candidate model")
	// ErrBadOptions: an [Options] value is out of range.
	ErrBadOptions = errors.New("bad options")
	// ErrSpanTooLong: a series covers more than MaxSpanYears, which would
	// need an unreasonable hourly or daily grid (usually a bad timestamp).
	ErrSpanTooLong = errors.New("series spans too long")
	// ErrBadModel: a serialized [Model] is malformed.
	ErrBadModel = errors.New("bad model")
)

// RowError names the offending row of a series or CSV input.
type RowError struct {
	// Line is the 1-based CSV line, 0 when the row did not come from CSV
	// (then Index says which reading it is).
	Line int
	// Index is the 0-based reading index, -1 when unknown.
	Index int
	// Time is the row's timestamp, zero when it could not be parsed.
	Time time.Time
	// Field is the column or field name ("start", "value", "tempF" ...).
	Field string
	// Err is the cause; it wraps one of the package's sentinels.
	Err error
}

// Error describes where and what: "line 12 (2016-01-01T06:00:00Z) field value: bad value: \"x\"".
func (e *RowError) Error() string {
	where := ""
	switch {
	case e.Line > 0:
		where = fmt.Sprintf("line %d", e.Line)
	case e.Index >= 0:
		where = fmt.Sprintf("reading %d", e.Index)
	default:
		where = "row"
	}
	if !e.Time.IsZero() {
		where += " (" + e.Time.UTC().Format(time.RFC3339) + ")"
	}
	if e.Field != "" {
		where += " field " + e.Field
	}
	return where + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *RowError) Unwrap() error { return e.Err }
