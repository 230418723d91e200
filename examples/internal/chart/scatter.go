package chart

import (
	"io"
	"math"
	"sort"
	"strconv"
)

// TempUsage is one observation: the period's mean outdoor temperature and
// its usage per day.
type TempUsage struct {
	TempF       float64
	UsagePerDay float64
}

// PiecewiseModel is a fitted CalTRACK 2.0 temperature model given as plain
// numbers (§3.4.3): usage/day = InterceptPerDay
// + HeatingSlope·max(0, HeatingBalancePointF − T)
// + CoolingSlope·max(0, T − CoolingBalancePointF).
// A zero slope means the model has no such term (intercept-only, heating
// only, cooling only or heating+cooling).
type PiecewiseModel struct {
	InterceptPerDay      float64
	HeatingBalancePointF float64
	HeatingSlope         float64 // usage/day per °F below the heating balance point
	CoolingBalancePointF float64
	CoolingSlope         float64 // usage/day per °F above the cooling balance point
}

// At evaluates the model at tempF.
func (m PiecewiseModel) At(tempF float64) float64 {
	u := m.InterceptPerDay
	if m.HeatingSlope != 0 {
		u += m.HeatingSlope * math.Max(0, m.HeatingBalancePointF-tempF)
	}
	if m.CoolingSlope != 0 {
		u += m.CoolingSlope * math.Max(0, tempF-m.CoolingBalancePointF)
	}
	return u
}

// TemperatureScatter is the classic CalTRACK picture: one dot per period
// (usage per day against mean outdoor temperature) and, when Model is set,
// the fitted piecewise-linear line with its balance points marked.
type TemperatureScatter struct {
	Title string
	// Unit labels the y axis, e.g. "kWh/day". The x axis is always °F.
	Unit   string
	Points []TempUsage
	Model  *PiecewiseModel
	Size   Size
}

// WriteSVG renders the chart to w.
func (c TemperatureScatter) WriteSVG(w io.Writer) error {
	const name = "TemperatureScatter"
	size := c.Size.orDefault()
	if err := validSize(name, size); err != nil {
		return err
	}
	if len(c.Points) == 0 {
		return noData(name, "Points")
	}
	var xlo, xhi, ylo, yhi float64
	fx, fy := false, false
	for i, pt := range c.Points {
		if math.IsInf(pt.TempF, 0) || math.IsInf(pt.UsagePerDay, 0) {
			return invalid(name, "Points", i, "value is infinite")
		}
		if math.IsNaN(pt.TempF) || math.IsNaN(pt.UsagePerDay) {
			continue // missing observation
		}
		xlo, xhi, fx = finiteRange(xlo, xhi, fx, pt.TempF)
		ylo, yhi, fy = finiteRange(ylo, yhi, fy, pt.UsagePerDay)
	}
	if !fx || !fy {
		return noData(name, "Points")
	}
	if m := c.Model; m != nil {
		for field, v := range map[string]float64{
			"InterceptPerDay": m.InterceptPerDay, "HeatingBalancePointF": m.HeatingBalancePointF,
			"HeatingSlope": m.HeatingSlope, "CoolingBalancePointF": m.CoolingBalancePointF, "CoolingSlope": m.CoolingSlope,
		} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return invalid(name, "Model."+field, -1, "must be finite")
			}
		}
		if m.HeatingSlope != 0 && m.CoolingSlope != 0 && m.HeatingBalancePointF > m.CoolingBalancePointF {
			return invalid(name, "Model", -1, "heating balance point "+formatTick(m.HeatingBalancePointF, 0.1)+
				"°F is above cooling balance point "+formatTick(m.CoolingBalancePointF, 0.1)+"°F")
		}
	}

	p := newPlot(size)
	xt, xstep, xl, xh := niceTicks(xlo, xhi, max(2, int((p.x1-p.x0)/56)))
	p.dx0, p.dx1 = xl, xh
	// The model line spans the whole x axis; include its ends in the y range.
	if c.Model != nil {
		ylo, yhi, _ = finiteRange(ylo, yhi, true, c.Model.At(xl), c.Model.At(xh), c.Model.InterceptPerDay)
	}
	yt, ystep, yl, yh := niceTicks(math.Min(0, ylo), yhi, maxYTicks(p))
	p.dy0, p.dy1 = yl, yh

	var s svg
	s.open(size, c.Title)
	entries := []legendEntry{{name: "Observed", color: palette[0], marker: "dot"}}
	if c.Model != nil {
		entries = append(entries, legendEntry{name: "Fitted model", color: palette[1], marker: "line"})
	}
	s.legend(entries)
	s.yAxis(p, yt, ystep, c.Unit)
	s.xAxisLine(p)
	for _, t := range xt {
		x := p.px(t)
		s.line(x, p.y1, x, p.y1+4, `stroke="#9a9a9a" stroke-width="1"`)
		s.text(x, p.y1+18, "middle", formatTick(t, xstep), `fill="#555555"`)
	}
	s.text((p.x0+p.x1)/2, p.y1+38, "middle", "Outdoor temperature (°F)", `fill="#555555"`)

	s.raw(`<g fill="` + palette[0] + `" fill-opacity="0.55">` + "\n")
	for _, pt := range c.Points {
		if math.IsNaN(pt.TempF) || math.IsNaN(pt.UsagePerDay) {
			continue
		}
		s.raw(`<circle cx="` + num(p.px(pt.TempF)) + `" cy="` + num(p.py(pt.UsagePerDay)) + `" r="3"/>` + "\n")
	}
	s.raw("</g>\n")

	if m := c.Model; m != nil {
		// The model is linear between its balance points, so evaluating
		// it at the axis ends and at each balance point inside the axis
		// draws it exactly.
		xs := []float64{xl, xh}
		var marks []struct {
			x     float64
			label string
		}
		if m.HeatingSlope != 0 && m.HeatingBalancePointF > xl && m.HeatingBalancePointF < xh {
			xs = append(xs, m.HeatingBalancePointF)
			marks = append(marks, struct {
				x     float64
				label string
			}{m.HeatingBalancePointF, "HBP " + strconv.FormatFloat(m.HeatingBalancePointF, 'f', -1, 64) + "°F"})
		}
		if m.CoolingSlope != 0 && m.CoolingBalancePointF > xl && m.CoolingBalancePointF < xh {
			xs = append(xs, m.CoolingBalancePointF)
			marks = append(marks, struct {
				x     float64
				label string
			}{m.CoolingBalancePointF, "CBP " + strconv.FormatFloat(m.CoolingBalancePointF, 'f', -1, 64) + "°F"})
		}
		sort.Float64s(xs)
		for i, mk := range marks {
			x := p.px(mk.x)
			s.line(x, p.y0, x, p.y1, `stroke="#777777" stroke-width="1" stroke-dasharray="2 3"`)
			anchor := "start"
			dx := 4.0
			if i == 0 && len(marks) == 2 {
				anchor, dx = "end", -4
			}
			s.text(x+dx, p.y0+12, anchor, mk.label, `fill="#555555"`)
		}
		var d []byte
		for i, x := range xs {
			if i == 0 {
				d = append(d, 'M')
			} else {
				d = append(d, 'L')
			}
			d = append(d, num(p.px(x))+" "+num(p.py(m.At(x)))...)
		}
		s.raw(`<path d="` + string(d) + `" fill="none" stroke="` + palette[1] + `" stroke-width="2.5" stroke-linejoin="round"/>` + "\n")
	}
	s.close()
	return s.writeTo(w)
}
