package baseline

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// TempUnit is the unit of a temperature column.
type TempUnit int

const (
	// Fahrenheit: °F (the unit the package works in).
	Fahrenheit TempUnit = iota
	// Celsius: °C, converted to °F on reading.
	Celsius
)

// String returns "F" or "C".
func (u TempUnit) String() string {
	if u == Celsius {
		return "C"
	}
	return "F"
}

// CSVOptions names the columns of a CSV file that is not in eemeter's
// sample layout, e.g. nmecr's `"time","eload"` and `"time","temp"` files:
//
//	u, err := baseline.ReadUsageCSVWith(r, baseline.CSVOptions{TimeColumn: "time", ValueColumn: "eload"})
//	t, err := baseline.ReadTemperatureCSVWith(r, baseline.CSVOptions{TimeColumn: "time", ValueColumn: "temp", Unit: baseline.Fahrenheit})
//
// Column names match case-insensitively; other columns are ignored.
type CSVOptions struct {
	// TimeColumn is the timestamp column ("start" for usage, "dt" for
	// temperature when empty).
	TimeColumn string
	// ValueColumn is the value column ("value" for usage; for temperature,
	// when empty, whichever of "tempF" / "tempC" is present).
	ValueColumn string
	// Unit is the temperature unit of ValueColumn when it is set
	// (ignored for usage).
	Unit TempUnit
}

// ReadUsageCSV reads eemeter's usage sample format: a header `start,value`,
// then one row per reading. Timestamps are RFC 3339 (any offset; stored in
// UTC), or a plain date `2006-01-02` / `2006-01-02 15:04:05`, read as UTC.
// An empty value, "nan", "NaN" or "NA" is a missing reading.
// Errors are [*RowError]s naming the CSV line.
func ReadUsageCSV(r io.Reader) (*Usage, error) {
	return ReadUsageCSVWith(r, CSVOptions{})
}

// ReadUsageCSVWith reads usage from the columns named in o.
func ReadUsageCSVWith(r io.Reader, o CSVOptions) (*Usage, error) {
	tc, vc := o.TimeColumn, o.ValueColumn
	if tc == "" {
		tc = "start"
	}
	if vc == "" {
		vc = "value"
	}
	rows, err := readCSV(r, tc, []string{vc})
	if err != nil {
		return nil, err
	}
	s, err := newSeries(rows.readings)
	if err != nil {
		return nil, rows.locate(err)
	}
	return &Usage{s: s}, nil
}

// ReadTemperatureCSV reads eemeter's temperature format: a header
// `dt,tempF` (or `dt,tempC`, converted to °F), then one row per reading,
// with the timestamp and missing-value rules of [ReadUsageCSV].
func ReadTemperatureCSV(r io.Reader) (*Temperature, error) {
	return ReadTemperatureCSVWith(r, CSVOptions{})
}

// ReadTemperatureCSVWith reads temperature from the columns named in o.
func ReadTemperatureCSVWith(r io.Reader, o CSVOptions) (*Temperature, error) {
	tc := o.TimeColumn
	if tc == "" {
		tc = "dt"
	}
	var cands []string
	if o.ValueColumn != "" {
		cands = []string{o.ValueColumn}
	} else {
		cands = []string{"tempF", "tempC"}
	}
	rows, err := readCSV(r, tc, cands)
	if err != nil {
		return nil, err
	}
	unit := o.Unit
	if o.ValueColumn == "" && strings.EqualFold(rows.valueName, "tempC") {
		unit = Celsius
	}
	var t *Temperature
	if unit == Celsius {
		t, err = NewTemperatureC(rows.readings)
	} else {
		t, err = NewTemperatureF(rows.readings)
	}
	if err != nil {
		return nil, rows.locate(err)
	}
	return t, nil
}

type csvRows struct {
	readings  []Reading
	lines     []int
	valueName string
}

// locate turns a series validation error (which knows the reading index)
// into one that names the CSV line.
func (c *csvRows) locate(err error) error {
	var re *RowError
	if errors.As(err, &re) && re.Index >= 0 && re.Index < len(c.lines) {
		cp := *re
		cp.Line = c.lines[re.Index]
		return &cp
	}
	if errors.Is(err, ErrEmpty) {
		return fmt.Errorf("%w: no data rows after the header", ErrEmpty)
	}
	return err
}

func readCSV(r io.Reader, timeCol string, valueCols []string) (*csvRows, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	hdr, err := cr.Read()
	if err == io.EOF {
		return nil, &RowError{Line: 1, Field: "header", Err: fmt.Errorf("%w: empty input", ErrBadHeader)}
	}
	if err != nil {
		return nil, csvErr(err, 1)
	}
	ti, vi := -1, -1
	out := &csvRows{}
	for i, h := range hdr {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if ti < 0 && strings.EqualFold(h, timeCol) {
			ti = i
			continue
		}
		for _, v := range valueCols {
			if vi < 0 && strings.EqualFold(h, v) {
				vi = i
				out.valueName = v
			}
		}
	}
	if ti < 0 || vi < 0 {
		return nil, &RowError{Line: 1, Field: "header", Err: fmt.Errorf("%w: want columns %q and %s, got %q",
			ErrBadHeader, timeCol, strings.Join(quoteAll(valueCols), " or "), strings.Join(hdr, ","))}
	}
	need := max(ti, vi) + 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(err, 0)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < need {
			return nil, &RowError{Line: line, Err: fmt.Errorf("%w: %d fields, want at least %d", ErrBadRow, len(rec), need)}
		}
		t, err := parseTime(rec[ti])
		if err != nil {
			return nil, &RowError{Line: line, Field: hdr[ti], Err: err}
		}
		v, err := parseValue(rec[vi])
		if err != nil {
			return nil, &RowError{Line: line, Time: t, Field: out.valueName, Err: err}
		}
		out.readings = append(out.readings, Reading{Start: t, Value: v})
		out.lines = append(out.lines, line)
	}
	return out, nil
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return q
}

func csvErr(err error, line int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &RowError{Line: pe.Line, Err: fmt.Errorf("%w: %v", ErrBadRow, pe.Err)}
	}
	return &RowError{Line: line, Err: fmt.Errorf("%w: %v", ErrBadRow, err)}
}

// parseTime accepts RFC 3339 (with or without fractional seconds), and
// plain dates or date-times without an offset, which are read as UTC
// (nmecr's files).
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q is not RFC 3339 (e.g. 2016-12-26T00:00:00Z)", ErrBadTimestamp, s)
}

func parseValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "nan", "na", "null":
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%w: %q", ErrNonFinite, s)
		}
		return 0, fmt.Errorf("%w: %q is not a number", ErrBadValue, s)
	}
	if math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w: %q", ErrNonFinite, s)
	}
	if math.IsNaN(v) {
		return math.NaN(), nil
	}
	return v, nil
}
