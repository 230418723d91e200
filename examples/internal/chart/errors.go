package chart

import (
	"errors"
	"fmt"
)

// ErrNoData is returned (wrapped in a *DataError) when a chart has nothing
// to draw.
var ErrNoData = errors.New("chart: no data")

// ErrInvalid is returned (wrapped in a *DataError) for inconsistent input:
// mismatched lengths, infinite values, unordered times, bad sizes.
var ErrInvalid = errors.New("chart: invalid input")

// DataError says which chart field (and element, when Index ≥ 0) was wrong.
type DataError struct {
	Chart  string // "TimeSeries", "TemperatureScatter", "Bars"
	Field  string // e.g. "Series[1].Values"
	Index  int    // element index, or -1 when the whole field is wrong
	Reason string
	Err    error // ErrNoData or ErrInvalid
}

func (e *DataError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("chart: %s.%s[%d]: %s", e.Chart, e.Field, e.Index, e.Reason)
	}
	return fmt.Sprintf("chart: %s.%s: %s", e.Chart, e.Field, e.Reason)
}

func (e *DataError) Unwrap() error { return e.Err }

func invalid(chart, field string, index int, reason string) error {
	return &DataError{Chart: chart, Field: field, Index: index, Reason: reason, Err: ErrInvalid}
}

func noData(chart, field string) error {
	return &DataError{Chart: chart, Field: field, Index: -1, Reason: "no finite values to draw", Err: ErrNoData}
}
