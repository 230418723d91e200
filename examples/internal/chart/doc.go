// Package chart renders the few charts negawatt's examples need as
// self-contained, dependency-free SVG:
//
//   - [TimeSeries]: baseline vs actual usage over time (daily or monthly),
//   - [TemperatureScatter]: the classic CalTRACK picture, usage per day
//     against outdoor temperature with the fitted piecewise-linear model
//     (CalTRACK 2.0 §3.4: intercept + heating slope × max(0, HBP − T) +
//     cooling slope × max(0, T − CBP)),
//   - [Bars]: one value per month (kWh saved, points), negative values
//     drawn below the zero line.
//
// Output is deterministic (same input, same bytes; golden-file tested) and
// responsive: the root element carries a viewBox and width="100%", so the
// chart scales to its container on a phone or a desktop. Every piece of
// text (titles, units, legend names, labels) is XML-escaped, so the SVG may
// be inlined in an HTML page as trusted markup.
//
// Values are float64 because a chart is a picture, not an account: never
// feed a rendered number back into a balance. NaN in a series means "no
// data" and leaves a gap; ±Inf is an error.
package chart

import (
	"bytes"
	"io"
)

// Chart is any chart this package renders.
type Chart interface {
	WriteSVG(w io.Writer) error
}

// SVG renders c into a byte slice.
func SVG(c Chart) ([]byte, error) {
	var b bytes.Buffer
	if err := c.WriteSVG(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
