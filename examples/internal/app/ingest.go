package app

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/negawatt/negawatt/examples/internal/store"
)

// MaxRows bounds one upload (a year of hourly readings is 8,784).
const MaxRows = 100_000

// RowError is one bad row of an upload: the 1-based line (CSV) or the
// 1-based index in the readings array (JSON), the field and what is wrong.
type RowError struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// RowErrors is every bad row of an upload (at most maxRowErrors are
// kept); nothing of the upload is written.
type RowErrors []RowError

func (e RowErrors) Error() string {
	if len(e) == 0 {
		return "no row errors"
	}
	return fmt.Sprintf("%d bad row(s); first: line %d field %s: %s", len(e), e[0].Line, e[0].Field, e[0].Message)
}

const maxRowErrors = 100

type rowCollector struct {
	errs RowErrors
	seen map[int64]int
}

func (c *rowCollector) add(line int, field, format string, args ...any) {
	if len(c.errs) < maxRowErrors {
		c.errs = append(c.errs, RowError{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
	}
}

// value parses a finite number; empty means a missing reading (skipped,
// like the empty end-marker row of eemeter's sample files).
func (c *rowCollector) value(line int, field, v string, min float64) (float64, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		c.add(line, field, "%q is not a finite number", v)
		return 0, false
	}
	if f < min {
		c.add(line, field, "%g is below %g", f, min)
		return 0, false
	}
	return f, true
}

func (c *rowCollector) start(line int, field, v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		c.add(line, field, "%q is not an RFC 3339 timestamp", v)
		return time.Time{}, false
	}
	if t.Year() < 1900 || t.Year() > 2200 {
		c.add(line, field, "%s is outside 1900..2200", v)
		return time.Time{}, false
	}
	k := t.UnixMicro()
	if prev, dup := c.seen[k]; dup {
		c.add(line, field, "duplicate timestamp %s (also line %d)", v, prev)
		return time.Time{}, false
	}
	c.seen[k] = line
	return t.UTC(), true
}

// readCSV hands the lower-cased header to setup, then calls row for each
// record with its 1-based line (rec nil when the field count is wrong).
func readCSV(body []byte, setup func(header []string) error, row func(line int, rec []string)) error {
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return RowErrors{{Line: 1, Field: "header", Message: "missing or unreadable CSV header"}}
	}
	header = append([]string(nil), header...)
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")))
	}
	if err := setup(header); err != nil {
		return err
	}
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return RowErrors{{Line: line, Field: "csv", Message: err.Error()}}
		}
		line, _ := r.FieldPos(0)
		if n++; n > MaxRows {
			return RowErrors{{Line: line, Field: "csv", Message: fmt.Sprintf("more than %d rows", MaxRows)}}
		}
		if len(rec) != len(header) {
			row(line, nil)
			continue
		}
		row(line, rec)
	}
	return nil
}

func col(header []string, names ...string) int {
	for i, h := range header {
		for _, n := range names {
			if h == n {
				return i
			}
		}
	}
	return -1
}

// ParseUsageCSV reads `start,value` CSV (eemeter's sample layout; kWh per
// period, RFC 3339 period starts). Every bad row is reported.
func ParseUsageCSV(body []byte) ([]store.UsageReading, error) {
	c := rowCollector{seen: map[int64]int{}}
	var out []store.UsageReading
	var ti, vi int
	setup := func(header []string) error {
		ti, vi = col(header, "start"), col(header, "value", "kwh")
		if ti < 0 || vi < 0 {
			return RowErrors{{Line: 1, Field: "header", Message: "want columns start,value"}}
		}
		return nil
	}
	err := readCSV(body, setup, func(line int, rec []string) {
		if rec == nil {
			c.add(line, "csv", "wrong number of fields")
			return
		}
		t, okT := c.start(line, "start", rec[ti])
		v, okV := c.value(line, "value", rec[vi], 0)
		if okT && okV {
			out = append(out, store.UsageReading{Start: t, KWh: v})
		}
	})
	if err != nil {
		return nil, err
	}
	return done(out, &c)
}

func (c *rowCollector) result() error {
	if len(c.errs) > 0 {
		return c.errs
	}
	return nil
}

// done returns the rows, or nothing with every row error: an upload with
// one bad row is refused whole.
func done[T any](rows []T, c *rowCollector) ([]T, error) {
	if err := c.result(); err != nil {
		return nil, err
	}
	return rows, nil
}

// UsageJSON is the JSON form of a usage upload.
type UsageJSON struct {
	Readings []struct {
		Start string   `json:"start"`
		KWh   *float64 `json:"kwh"`
	} `json:"readings"`
}

// ParseUsageJSON validates a decoded JSON upload; Line is the 1-based
// index in readings.
func ParseUsageJSON(in UsageJSON) ([]store.UsageReading, error) {
	if len(in.Readings) > MaxRows {
		return nil, RowErrors{{Line: MaxRows + 1, Field: "readings", Message: fmt.Sprintf("more than %d readings", MaxRows)}}
	}
	c := rowCollector{seen: map[int64]int{}}
	var out []store.UsageReading
	for i, r := range in.Readings {
		t, okT := c.start(i+1, "start", r.Start)
		if r.KWh == nil {
			c.add(i+1, "kwh", "required")
			continue
		}
		if *r.KWh < 0 {
			c.add(i+1, "kwh", "%g is below 0", *r.KWh)
			continue
		}
		if okT {
			out = append(out, store.UsageReading{Start: t, KWh: *r.KWh})
		}
	}
	return done(out, &c)
}

// ParseTemperatureCSV reads `dt,tempF` or `dt,tempC` (converted to °F).
func ParseTemperatureCSV(body []byte) ([]store.TempReading, error) {
	c := rowCollector{seen: map[int64]int{}}
	var out []store.TempReading
	var ti, vi int
	celsius := false
	setup := func(header []string) error {
		ti, vi = col(header, "dt", "start"), col(header, "tempf")
		if vi < 0 {
			vi, celsius = col(header, "tempc"), true
		}
		if ti < 0 || vi < 0 {
			return RowErrors{{Line: 1, Field: "header", Message: "want columns dt,tempF or dt,tempC"}}
		}
		return nil
	}
	err := readCSV(body, setup, func(line int, rec []string) {
		if rec == nil {
			c.add(line, "csv", "wrong number of fields")
			return
		}
		t, okT := c.start(line, "dt", rec[ti])
		v, okV := c.value(line, "temp", rec[vi], -200)
		if okT && okV {
			if celsius {
				v = v*9/5 + 32
			}
			out = append(out, store.TempReading{Start: t, TempF: v})
		}
	})
	if err != nil {
		return nil, err
	}
	return done(out, &c)
}

// TemperatureJSON is the JSON form of a temperature upload: Unit "F"
// (default) or "C".
type TemperatureJSON struct {
	Unit     string `json:"unit,omitempty"`
	Readings []struct {
		Start string   `json:"start"`
		Temp  *float64 `json:"temp"`
	} `json:"readings"`
}

// ParseTemperatureJSON validates a decoded JSON upload (°F out).
func ParseTemperatureJSON(in TemperatureJSON) ([]store.TempReading, error) {
	if len(in.Readings) > MaxRows {
		return nil, RowErrors{{Line: MaxRows + 1, Field: "readings", Message: fmt.Sprintf("more than %d readings", MaxRows)}}
	}
	var celsius bool
	switch in.Unit {
	case "", "F":
	case "C":
		celsius = true
	default:
		return nil, RowErrors{{Line: 0, Field: "unit", Message: fmt.Sprintf("%q is not F or C", in.Unit)}}
	}
	c := rowCollector{seen: map[int64]int{}}
	var out []store.TempReading
	for i, r := range in.Readings {
		t, okT := c.start(i+1, "start", r.Start)
		if r.Temp == nil || math.IsNaN(*r.Temp) || *r.Temp < -200 || *r.Temp > 200 {
			c.add(i+1, "temp", "required, between -200 and 200")
			continue
		}
		v := *r.Temp
		if celsius {
			v = v*9/5 + 32
		}
		if okT {
			out = append(out, store.TempReading{Start: t, TempF: v})
		}
	}
	return done(out, &c)
}
