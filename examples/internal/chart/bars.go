package chart

import (
	"io"
	"math"
	"strconv"
)

// Bars is one value per labelled category, e.g. kWh saved per month or
// points earned per month. Negative values (a month that used more than
// its baseline) are drawn below the zero line in a different colour.
type Bars struct {
	Title string
	// Unit labels the y axis, e.g. "kWh saved" or "points".
	Unit   string
	Labels []string
	Values []float64
	Size   Size
}

const (
	barPositive = "#2a9d55"
	barNegative = "#c23b52"
)

// WriteSVG renders the chart to w.
func (c Bars) WriteSVG(w io.Writer) error {
	const name = "Bars"
	size := c.Size.orDefault()
	if err := validSize(name, size); err != nil {
		return err
	}
	if len(c.Values) == 0 {
		return noData(name, "Values")
	}
	if len(c.Labels) != len(c.Values) {
		return invalid(name, "Labels", -1, "has "+strconv.Itoa(len(c.Labels))+" labels for "+strconv.Itoa(len(c.Values))+" values")
	}
	for i, v := range c.Values {
		if math.IsInf(v, 0) {
			return invalid(name, "Values", i, "value is infinite")
		}
	}
	lo, hi, found := finiteRange(0, 0, false, c.Values...)
	if !found {
		return noData(name, "Values")
	}
	p := newPlot(size)
	ticks, step, ylo, yhi := niceTicks(math.Min(0, lo), math.Max(0, hi), maxYTicks(p))
	p.dy0, p.dy1 = ylo, yhi

	var s svg
	s.open(size, c.Title)
	s.yAxis(p, ticks, step, c.Unit)
	s.xAxisLine(p)

	n := len(c.Values)
	slot := (p.x1 - p.x0) / float64(n)
	barW := slot * 0.7
	// Label every k-th bar so labels never overlap.
	longest := 1
	for _, l := range c.Labels {
		longest = max(longest, len([]rune(l)))
	}
	every := max(1, int(math.Ceil((float64(longest)*charWidth*1.1+10)/slot)))
	showValues := slot >= 34
	zero := p.py(0)
	for i, v := range c.Values {
		cx := p.x0 + slot*(float64(i)+0.5)
		if i%every == 0 {
			s.text(cx, p.y1+18, "middle", c.Labels[i], `fill="#555555"`)
		}
		if math.IsNaN(v) {
			continue
		}
		y := p.py(v)
		top, h, color := y, zero-y, barPositive
		if v < 0 {
			top, h, color = zero, y-zero, barNegative
		}
		s.raw(`<rect x="` + num(cx-barW/2) + `" y="` + num(top) + `" width="` + num(barW) + `" height="` + num(h) +
			`" fill="` + color + `"><title>` + esc(c.Labels[i]+": "+formatValue(v)+" "+c.Unit) + "</title></rect>\n")
		if showValues {
			ly := top - 4
			if v < 0 {
				ly = top + h + 13
			}
			s.text(cx, ly, "middle", formatValue(v), `font-size="11" fill="#333333"`)
		}
	}
	s.line(p.x0, zero, p.x1, zero, `stroke="#9a9a9a" stroke-width="1"`)
	s.close()
	return s.writeTo(w)
}

// formatValue prints a bar's value with at most one decimal.
func formatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return formatTick(v, 1)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
