package chart

import (
	"io"
	"math"
	"strconv"
	"time"
)

// LineStyle is how a [Series] is stroked.
type LineStyle int

const (
	// Solid is a continuous line (measured data).
	Solid LineStyle = iota
	// Dashed is a dashed line (modelled data such as a baseline).
	Dashed
)

// Series is one named line of a [TimeSeries]. Values[i] belongs to
// TimeSeries.Times[i]; NaN leaves a gap.
type Series struct {
	Name   string
	Values []float64
	Style  LineStyle
}

// TimeSeries is usage over time, typically the baseline (Dashed) against
// the actual meter reads (Solid), one point per day or per month.
type TimeSeries struct {
	Title string
	// Unit labels the y axis, e.g. "kWh/day" or "kWh/month".
	Unit string
	// Times are the period starts, strictly increasing. Only their UTC
	// calendar date is used for tick labels.
	Times  []time.Time
	Series []Series
	// Size of the coordinate system; zero means DefaultSize.
	Size Size
}

// WriteSVG renders the chart to w.
func (c TimeSeries) WriteSVG(w io.Writer) error {
	const name = "TimeSeries"
	size := c.Size.orDefault()
	if err := validSize(name, size); err != nil {
		return err
	}
	if len(c.Times) == 0 {
		return noData(name, "Times")
	}
	if len(c.Series) == 0 {
		return noData(name, "Series")
	}
	for i := 1; i < len(c.Times); i++ {
		if !c.Times[i].After(c.Times[i-1]) {
			return invalid(name, "Times", i, "times must be strictly increasing")
		}
	}
	var lo, hi float64
	found := false
	for si, s := range c.Series {
		if len(s.Values) != len(c.Times) {
			return invalid(name, "Series["+strconv.Itoa(si)+"].Values", -1,
				"has "+strconv.Itoa(len(s.Values))+" values for "+strconv.Itoa(len(c.Times))+" times")
		}
		for i, v := range s.Values {
			if math.IsInf(v, 0) {
				return invalid(name, "Series["+strconv.Itoa(si)+"].Values", i, "value is infinite")
			}
		}
		lo, hi, found = finiteRange(lo, hi, found, s.Values...)
	}
	if !found {
		return noData(name, "Series")
	}

	p := newPlot(size)
	// Usage charts start at zero so the eye reads magnitudes honestly.
	ticks, step, ylo, yhi := niceTicks(math.Min(0, lo), hi, maxYTicks(p))
	p.dy0, p.dy1 = ylo, yhi
	p.dx0 = float64(c.Times[0].Unix())
	p.dx1 = float64(c.Times[len(c.Times)-1].Unix())

	var s svg
	s.open(size, c.Title)
	entries := make([]legendEntry, len(c.Series))
	for i, ser := range c.Series {
		m := "line"
		if ser.Style == Dashed {
			m = "dash"
		}
		entries[i] = legendEntry{name: ser.Name, color: palette[i%len(palette)], marker: m}
	}
	s.legend(entries)
	s.yAxis(p, ticks, step, c.Unit)
	s.xAxisLine(p)
	for _, t := range timeTicks(c.Times[0], c.Times[len(c.Times)-1], max(2, int((p.x1-p.x0)/64))) {
		x := p.px(float64(t.at.Unix()))
		s.line(x, p.y1, x, p.y1+4, `stroke="#9a9a9a" stroke-width="1"`)
		// Keep the last label inside the canvas instead of clipping it.
		anchor, lx := "middle", x
		if half := float64(len([]rune(t.label))) * charWidth / 2; x+half > size.Width-2 {
			anchor, lx = "end", size.Width-2
		}
		s.text(lx, p.y1+18, anchor, t.label, `fill="#555555"`)
	}
	for i, ser := range c.Series {
		dash := ""
		if ser.Style == Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		color := palette[i%len(palette)]
		s.raw(`<g fill="none" stroke="` + color + `" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"` + dash + ">\n")
		path, singles := linePath(p, c.Times, ser.Values)
		if path != "" {
			s.raw(`<path d="` + path + `"/>` + "\n")
		}
		s.raw("</g>\n")
		for _, pt := range singles {
			s.raw(`<circle cx="` + num(pt[0]) + `" cy="` + num(pt[1]) + `" r="2.5" fill="` + color + `"/>` + "\n")
		}
	}
	s.close()
	return s.writeTo(w)
}

// linePath builds one path with a sub-path per run of finite values;
// isolated points (a run of one) are returned separately to be drawn as
// dots, since a one-point path is invisible.
func linePath(p plot, times []time.Time, vs []float64) (string, [][2]float64) {
	var d []byte
	var singles [][2]float64
	run := 0
	var first [2]float64
	for i, v := range vs {
		if math.IsNaN(v) {
			if run == 1 {
				singles = append(singles, first)
			}
			run = 0
			continue
		}
		x, y := p.px(float64(times[i].Unix())), p.py(v)
		if run == 0 {
			first = [2]float64{x, y}
			d = append(d, 'M')
		} else {
			d = append(d, 'L')
		}
		d = append(d, num(x)...)
		d = append(d, ' ')
		d = append(d, num(y)...)
		run++
	}
	if run == 1 {
		singles = append(singles, first)
	}
	return string(d), singles
}

type timeTick struct {
	at    time.Time
	label string
}

// timeTicks places ticks on calendar boundaries: month starts (every 1, 2,
// 3, 6 or 12 months) for spans over ~2 months, otherwise every 1, 2 or 7
// days. At most maxTicks are returned.
func timeTicks(from, to time.Time, maxTicks int) []timeTick {
	from, to = from.UTC(), to.UTC()
	span := to.Sub(from)
	var out []timeTick
	if span > 62*24*time.Hour {
		months := (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
		stepM := 12
		for _, m := range []int{1, 2, 3, 6, 12} {
			if months/m+1 <= maxTicks {
				stepM = m
				break
			}
		}
		t := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
		if t.Before(from) {
			t = t.AddDate(0, 1, 0)
		}
		// Align to multiples of the step from January so labels repeat
		// in a calendar-friendly rhythm (Jan, Apr, Jul, Oct).
		for (int(t.Month())-1)%stepM != 0 {
			t = t.AddDate(0, 1, 0)
		}
		for ; !t.After(to); t = t.AddDate(0, stepM, 0) {
			label := t.Format("Jan")
			if t.Month() == time.January || len(out) == 0 || stepM == 12 {
				label = t.Format("Jan 2006")
			}
			out = append(out, timeTick{at: t, label: label})
		}
		return out
	}
	days := int(span.Hours()/24) + 1
	stepD := 7
	for _, d := range []int{1, 2, 7, 14} {
		if days/d+1 <= maxTicks {
			stepD = d
			break
		}
	}
	t := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	if t.Before(from) {
		t = t.AddDate(0, 0, 1)
	}
	for ; !t.After(to); t = t.AddDate(0, 0, stepD) {
		out = append(out, timeTick{at: t, label: t.Format("Jan 2")})
	}
	return out
}
