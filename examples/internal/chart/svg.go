package chart

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"strings"
)

// Size is a chart's coordinate system in SVG user units. The rendered
// element always scales to its container's width (viewBox + width="100%");
// Size only sets the aspect ratio and how large text is relative to the
// plot. A narrow Size (e.g. [PhoneSize]) keeps labels legible on a phone.
type Size struct {
	Width, Height float64
}

// DefaultSize suits a desktop column; PhoneSize keeps 13-unit text legible
// on a ~360 px wide phone screen.
var (
	DefaultSize = Size{Width: 720, Height: 360}
	PhoneSize   = Size{Width: 400, Height: 320}
)

const (
	fontSize    = 13.0
	titleSize   = 15.0
	charWidth   = 7.2 // rough advance of a 13-unit sans-serif glyph, for label spacing
	marginTop   = 56.0
	marginLeft  = 60.0
	marginRight = 16.0
	marginBot   = 48.0
)

// Palette used for series, in order. Chosen for contrast on white and
// distinguishable under the common colour-vision deficiencies.
var palette = []string{"#1f6fb2", "#e06c1f", "#2a9d55", "#8a4fbf", "#c23b52"}

func (s Size) orDefault() Size {
	if s.Width == 0 && s.Height == 0 {
		return DefaultSize
	}
	return s
}

func validSize(chart string, s Size) error {
	if !(s.Width >= 200 && s.Height >= 160) || math.IsInf(s.Width, 0) || math.IsInf(s.Height, 0) {
		return invalid(chart, "Size", -1, "width must be ≥ 200 and height ≥ 160")
	}
	return nil
}

// plot is the drawing area inside the margins and the data ranges mapped
// onto it.
type plot struct {
	size           Size
	x0, x1, y0, y1 float64 // pixel box: x0 left, x1 right, y0 top, y1 bottom
	dx0, dx1       float64 // data range on x
	dy0, dy1       float64 // data range on y
}

func newPlot(size Size) plot {
	return plot{size: size, x0: marginLeft, x1: size.Width - marginRight, y0: marginTop, y1: size.Height - marginBot}
}

func (p plot) px(x float64) float64 {
	if p.dx1 == p.dx0 {
		return (p.x0 + p.x1) / 2
	}
	return p.x0 + (x-p.dx0)/(p.dx1-p.dx0)*(p.x1-p.x0)
}

func (p plot) py(y float64) float64 {
	return p.y1 - (y-p.dy0)/(p.dy1-p.dy0)*(p.y1-p.y0)
}

// svg accumulates the document. Every text node and attribute value goes
// through esc.
type svg struct {
	b bytes.Buffer
}

func (s *svg) open(size Size, title string) {
	s.b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `)
	s.b.WriteString(num(size.Width) + " " + num(size.Height))
	s.b.WriteString(`" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="`)
	s.b.WriteString(esc(title))
	s.b.WriteString(`" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="`)
	s.b.WriteString(num(fontSize))
	s.b.WriteString(`" style="max-width:100%;height:auto;display:block">` + "\n")
	s.b.WriteString("<title>" + esc(title) + "</title>\n")
	s.b.WriteString(`<rect x="0" y="0" width="` + num(size.Width) + `" height="` + num(size.Height) + `" fill="#ffffff"/>` + "\n")
	if title != "" {
		s.text(marginLeft, 22, "start", title, `font-size="`+num(titleSize)+`" font-weight="600" fill="#1a1a1a"`)
	}
}

func (s *svg) close() { s.b.WriteString("</svg>\n") }

func (s *svg) raw(str string) { s.b.WriteString(str) }

func (s *svg) text(x, y float64, anchor, str, extra string) {
	s.b.WriteString(`<text x="` + num(x) + `" y="` + num(y) + `" text-anchor="` + anchor + `"`)
	if extra != "" {
		s.b.WriteString(" " + extra)
	}
	s.b.WriteString(">" + esc(str) + "</text>\n")
}

func (s *svg) line(x1, y1, x2, y2 float64, attrs string) {
	s.b.WriteString(`<line x1="` + num(x1) + `" y1="` + num(y1) + `" x2="` + num(x2) + `" y2="` + num(y2) + `" ` + attrs + "/>\n")
}

func (s *svg) writeTo(w io.Writer) error {
	_, err := w.Write(s.b.Bytes())
	return err
}

// legend draws entries left to right on the row under the title.
type legendEntry struct {
	name   string
	color  string
	marker string // "line", "dash", "dot", "box"
}

func (s *svg) legend(entries []legendEntry) {
	x := marginLeft
	const y = 42.0
	for _, e := range entries {
		switch e.marker {
		case "dot":
			s.raw(`<circle cx="` + num(x+8) + `" cy="` + num(y-4) + `" r="3.5" fill="` + e.color + `" fill-opacity="0.55"/>` + "\n")
		case "box":
			s.raw(`<rect x="` + num(x) + `" y="` + num(y-10) + `" width="16" height="10" fill="` + e.color + `"/>` + "\n")
		case "dash":
			s.line(x, y-4, x+16, y-4, `stroke="`+e.color+`" stroke-width="2.5" stroke-dasharray="5 3"`)
		default:
			s.line(x, y-4, x+16, y-4, `stroke="`+e.color+`" stroke-width="2.5"`)
		}
		s.text(x+22, y, "start", e.name, `fill="#333333"`)
		x += 22 + float64(len([]rune(e.name)))*charWidth + 18
	}
}

// yAxis draws horizontal grid lines, tick labels and the rotated unit label.
func (s *svg) yAxis(p plot, ticks []float64, step float64, unit string) {
	for _, t := range ticks {
		y := p.py(t)
		stroke := `stroke="#e3e3e3" stroke-width="1"`
		if t == 0 {
			stroke = `stroke="#9a9a9a" stroke-width="1"`
		}
		s.line(p.x0, y, p.x1, y, stroke)
		s.text(p.x0-6, y+4, "end", formatTick(t, step), `fill="#555555"`)
	}
	if unit != "" {
		cy := (p.y0 + p.y1) / 2
		s.raw(`<text x="14" y="` + num(cy) + `" text-anchor="middle" transform="rotate(-90 14 ` + num(cy) + `)" fill="#555555">` + esc(unit) + "</text>\n")
	}
}

// xAxisLine draws the baseline of the plot box.
func (s *svg) xAxisLine(p plot) {
	s.line(p.x0, p.y1, p.x1, p.y1, `stroke="#9a9a9a" stroke-width="1"`)
}

// esc escapes s for use as XML text or a double-quoted attribute value,
// and drops characters XML 1.0 forbids, so no input can break out of the
// markup or make the document ill-formed.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteRune(' ')
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF:
			// Not allowed in XML 1.0: drop.
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// num formats a coordinate with at most two decimals and no trailing
// zeros, so output is compact and byte-for-byte deterministic.
func num(v float64) string {
	v = math.Round(v*100) / 100
	if v == 0 {
		return "0" // also turns -0 into 0
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// niceTicks returns tick values covering [lo, hi] with a step of 1, 2 or
// 5 × 10^k, giving at most maxTicks+1 ticks (Heckbert, "Nice numbers for
// graph labels", Graphics Gems, 1990). The returned range is widened to
// whole steps.
func niceTicks(lo, hi float64, maxTicks int) (ticks []float64, step, nlo, nhi float64) {
	if hi < lo {
		lo, hi = hi, lo
	}
	if hi == lo {
		if lo == 0 {
			hi = 1
		} else {
			d := math.Abs(lo) * 0.1
			lo, hi = lo-d, hi+d
		}
	}
	if maxTicks < 2 {
		maxTicks = 2
	}
	raw := (hi - lo) / float64(maxTicks)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		step = mag
	case f <= 2:
		step = 2 * mag
	case f <= 5:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	nlo = math.Floor(lo/step) * step
	nhi = math.Ceil(hi/step) * step
	n := int(math.Round((nhi - nlo) / step))
	for i := 0; i <= n; i++ {
		// Computing each tick from its index avoids accumulating
		// floating-point error across the loop.
		t := nlo + float64(i)*step
		if math.Abs(t) < step*1e-9 {
			t = 0
		}
		ticks = append(ticks, t)
	}
	return ticks, step, nlo, nhi
}

// formatTick prints v with as many decimals as the step needs.
func formatTick(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if s == "-0" {
		s = "0"
	}
	if dec == 0 && math.Abs(v) >= 1000 {
		s = groupThousands(s)
	}
	return s
}

// groupThousands inserts thin commas into an integer string: 12500 → 12,500.
func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// finiteRange returns the min and max of the finite values in vs, and
// whether any was found.
func finiteRange(lo, hi float64, found bool, vs ...float64) (float64, float64, bool) {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if !found {
			lo, hi, found = v, v, true
			continue
		}
		lo = math.Min(lo, v)
		hi = math.Max(hi, v)
	}
	return lo, hi, found
}

// maxYTicks picks a tick count that leaves ~36 units between labels.
func maxYTicks(p plot) int {
	return max(2, int((p.y1-p.y0)/36))
}
