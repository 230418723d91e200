package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"

	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ErrUnsupportedSVG is returned by SVGToPNG for SVG that uses more than the
// small subset this package writes.
var ErrUnsupportedSVG = errors.New("chart: unsupported SVG")

// PNG renders c as a PNG image, one pixel per SVG user unit (a chart of
// DefaultSize is 720×360 pixels). It is SVG followed by SVGToPNG.
func PNG(c Chart) ([]byte, error) {
	doc, err := SVG(c)
	if err != nil {
		return nil, err
	}
	return SVGToPNG(doc)
}

// maxPNGPixels bounds the output image (width × height) so a hostile
// viewBox cannot exhaust memory: the supersampled canvas takes
// 12·supersample² bytes per output pixel.
const maxPNGPixels = 2_000_000

// maxCoord bounds coordinates and minDash dash lengths (user units), so
// that no input makes the dash walk or a shape loop run for long.
const (
	maxCoord = 1e5
	minDash  = 0.5
)

// supersample is the anti-aliasing factor: shapes are drawn on a grid
// supersample times finer and box-filtered down.
const supersample = 2

// SVGToPNG rasterizes an SVG document written by this package (or several
// of them nested in one root <svg>, each placed with x, y, width, height
// and viewBox) to PNG, one pixel per user unit of the root viewBox.
//
// It understands exactly the subset the charts use: <svg>, <g>, <title>,
// <rect>, <line>, <circle>, <path> with M/L commands (stroked), and <text>
// with text-anchor and rotate(-90 cx cy); fill, fill-opacity, stroke,
// stroke-width and stroke-dasharray are inherited from enclosing elements.
// Text is drawn with the 7×13 X11 "fixed" bitmap font
// (golang.org/x/image/font/basicfont), so it is legible but not the
// sans-serif of the SVG. Anything else returns ErrUnsupportedSVG.
func SVGToPNG(doc []byte) ([]byte, error) {
	img, err := rasterize(doc)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	// BestSpeed: chart images are mostly flat colour, so they compress
	// well anyway, and encoding dominated the run time at the default.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// canvas is an opaque RGB image at supersample resolution, in floats.
type canvas struct {
	w, h int // device pixels (supersampled)
	pix  []float32
}

func newCanvas(w, h int) *canvas {
	c := &canvas{w: w, h: h, pix: make([]float32, 3*w*h)}
	c.pix[0] = 1
	// Doubling copies: a few bulk copies instead of one store per
	// element (much cheaper under the race detector).
	for n := 1; n < len(c.pix); n *= 2 {
		copy(c.pix[n:], c.pix[:n])
	}
	return c
}

// rgb is a colour with components in [0, 1].
type rgb [3]float32

func (c *canvas) blend(x, y int, col rgb, a float32) {
	if x < 0 || y < 0 || x >= c.w || y >= c.h {
		return
	}
	i := 3 * (y*c.w + x)
	if a >= 1 {
		c.pix[i], c.pix[i+1], c.pix[i+2] = col[0], col[1], col[2]
		return
	}
	for k := 0; k < 3; k++ {
		c.pix[i+k] = c.pix[i+k]*(1-a) + col[k]*a
	}
}

// fillRect fills [x0,x1)×[y0,y1) in device pixels, sampling pixel centres.
func (c *canvas) fillRect(x0, y0, x1, y1 float64, col rgb, a float32) {
	xa, xb := max(0, int(math.Ceil(x0-0.5))), min(c.w, int(math.Ceil(x1-0.5)))
	ya, yb := max(0, int(math.Ceil(y0-0.5))), min(c.h, int(math.Ceil(y1-0.5)))
	if xa >= xb || ya >= yb {
		return
	}
	if a >= 1 && xb-xa > 8 {
		// Opaque and wide: paint one row, copy it to the others.
		first := c.pix[3*(ya*c.w+xa) : 3*(ya*c.w+xb)]
		first[0], first[1], first[2] = col[0], col[1], col[2]
		for n := 3; n < len(first); n *= 2 {
			copy(first[n:], first[:n])
		}
		for y := ya + 1; y < yb; y++ {
			copy(c.pix[3*(y*c.w+xa):3*(y*c.w+xb)], first)
		}
		return
	}
	for y := ya; y < yb; y++ {
		for x := xa; x < xb; x++ {
			c.blend(x, y, col, a)
		}
	}
}

func (c *canvas) fillCircle(cx, cy, r float64, col rgb, a float32) {
	for y := max(0, int(cy-r-1)); y <= min(c.h-1, int(cy+r+1)); y++ {
		for x := max(0, int(cx-r-1)); x <= min(c.w-1, int(cx+r+1)); x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			if dx*dx+dy*dy <= r*r {
				c.blend(x, y, col, a)
			}
		}
	}
}

// strokeSegment draws a segment of width w with round ends (a capsule).
// Strokes are opaque, so overlapping capsules of a polyline do not darken.
func (c *canvas) strokeSegment(x0, y0, x1, y1, w float64, col rgb) {
	r := w / 2
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	for y := max(0, int(math.Min(y0, y1)-r-1)); y <= min(c.h-1, int(math.Max(y0, y1)+r+1)); y++ {
		for x := max(0, int(math.Min(x0, x1)-r-1)); x <= min(c.w-1, int(math.Max(x0, x1)+r+1)); x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := 0.0
			if l2 > 0 {
				t = math.Max(0, math.Min(1, ((px-x0)*dx+(py-y0)*dy)/l2))
			}
			ex, ey := px-(x0+t*dx), py-(y0+t*dy)
			if ex*ex+ey*ey <= r*r {
				c.blend(x, y, col, 1)
			}
		}
	}
}

// strokePolyline strokes pts with an optional dash pattern (device
// lengths) that continues across vertices, as SVG dashes do.
func (c *canvas) strokePolyline(pts [][2]float64, w float64, col rgb, dash []float64) {
	if len(pts) == 1 {
		return
	}
	di, left, on := 0, 0.0, true
	if len(dash) > 0 {
		left = dash[0]
	}
	for i := 1; i < len(pts); i++ {
		x0, y0, x1, y1 := pts[i-1][0], pts[i-1][1], pts[i][0], pts[i][1]
		if len(dash) == 0 {
			c.strokeSegment(x0, y0, x1, y1, w, col)
			continue
		}
		seg := math.Hypot(x1-x0, y1-y0)
		pos := 0.0
		for pos < seg {
			step := math.Min(left, seg-pos)
			if on {
				a, b := pos/seg, (pos+step)/seg
				c.strokeSegment(x0+a*(x1-x0), y0+a*(y1-y0), x0+b*(x1-x0), y0+b*(y1-y0), w, col)
			}
			pos += step
			left -= step
			if left <= 1e-9 {
				di = (di + 1) % len(dash)
				left, on = dash[di], !on
			}
		}
	}
}

// image box-filters the supersampled canvas down to output pixels.
func (c *canvas) image() *image.NRGBA {
	w, h := c.w/supersample, c.h/supersample
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	const n = supersample * supersample
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s [3]float32
			for sy := 0; sy < supersample; sy++ {
				for sx := 0; sx < supersample; sx++ {
					i := 3 * ((y*supersample+sy)*c.w + x*supersample + sx)
					s[0], s[1], s[2] = s[0]+c.pix[i], s[1]+c.pix[i+1], s[2]+c.pix[i+2]
				}
			}
			o := img.PixOffset(x, y)
			for k := 0; k < 3; k++ {
				img.Pix[o+k] = uint8(math.Round(float64(s[k]) / n * 255))
			}
			img.Pix[o+3] = 255
		}
	}
	return img
}

// frame is the drawing state of one element: inherited presentation
// attributes and the user-to-device transform (uniform scale + offset).
type frame struct {
	attrs  map[string]string
	tx, ty float64 // device offset
	s      float64 // device pixels per user unit
}

func (f frame) with(se xml.StartElement) frame {
	n := frame{attrs: make(map[string]string, len(f.attrs)+len(se.Attr)), tx: f.tx, ty: f.ty, s: f.s}
	for k, v := range f.attrs {
		n.attrs[k] = v
	}
	for _, a := range se.Attr {
		n.attrs[a.Name.Local] = a.Value
	}
	return n
}

func (f frame) num(name string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(f.attrs[name]), 64)
	if err != nil || !(math.Abs(v) <= maxCoord) {
		return 0, fmt.Errorf("%w: attribute %s=%q", ErrUnsupportedSVG, name, f.attrs[name])
	}
	return v, nil
}

func (f frame) nums(names ...string) ([]float64, error) {
	out := make([]float64, len(names))
	for i, n := range names {
		v, err := f.num(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (f frame) dev(x, y float64) (float64, float64) { return f.tx + f.s*x, f.ty + f.s*y }

// paint returns the colour and opacity of a fill or stroke attribute;
// ok is false for "none" or absent.
func (f frame) paint(name string) (col rgb, a float32, ok bool, err error) {
	v := strings.TrimSpace(f.attrs[name])
	if v == "" || v == "none" {
		return col, 0, false, nil
	}
	if len(v) != 7 || v[0] != '#' {
		return col, 0, false, fmt.Errorf("%w: colour %q", ErrUnsupportedSVG, v)
	}
	for k := 0; k < 3; k++ {
		n, err := strconv.ParseUint(v[1+2*k:3+2*k], 16, 8)
		if err != nil {
			return col, 0, false, fmt.Errorf("%w: colour %q", ErrUnsupportedSVG, v)
		}
		col[k] = float32(n) / 255
	}
	a = 1
	if op, has := f.attrs[name+"-opacity"]; has {
		o, err := strconv.ParseFloat(op, 64)
		if err != nil || o < 0 || o > 1 {
			return col, 0, false, fmt.Errorf("%w: %s-opacity %q", ErrUnsupportedSVG, name, op)
		}
		a = float32(o)
	}
	return col, a, true, nil
}

func (f frame) strokeWidth() float64 {
	w, err := strconv.ParseFloat(f.attrs["stroke-width"], 64)
	if err != nil || w <= 0 {
		w = 1
	}
	return w * f.s
}

func (f frame) dash() ([]float64, error) {
	v := strings.TrimSpace(f.attrs["stroke-dasharray"])
	if v == "" || v == "none" {
		return nil, nil
	}
	var out []float64
	for _, p := range strings.Fields(strings.ReplaceAll(v, ",", " ")) {
		d, err := strconv.ParseFloat(p, 64)
		if err != nil || !(d >= minDash && d <= maxCoord) {
			return nil, fmt.Errorf("%w: stroke-dasharray %q", ErrUnsupportedSVG, v)
		}
		out = append(out, d*f.s)
	}
	if len(out)%2 == 1 {
		out = append(out, out...)
	}
	return out, nil
}

func rasterize(doc []byte) (*image.NRGBA, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var c *canvas
	var stack []frame
	var text *strings.Builder // collecting a <text> element's characters
	skip := 0                 // depth inside <title>
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupportedSVG, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if skip > 0 || t.Name.Local == "title" {
				skip++
				continue
			}
			var parent frame
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			} else if t.Name.Local != "svg" {
				return nil, fmt.Errorf("%w: root element <%s>", ErrUnsupportedSVG, t.Name.Local)
			}
			f := parent.with(t)
			if t.Name.Local == "svg" {
				if f, err = svgFrame(f, t, len(stack) == 0, &c); err != nil {
					return nil, err
				}
			} else if err := drawElement(c, f, t.Name.Local); err != nil {
				return nil, err
			}
			if t.Name.Local == "text" {
				text = &strings.Builder{}
			}
			stack = append(stack, f)
		case xml.CharData:
			if text != nil && skip == 0 {
				text.Write(t)
			}
		case xml.EndElement:
			if skip > 0 {
				skip--
				continue
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if t.Name.Local == "text" && text != nil {
				if err := drawText(c, f, text.String()); err != nil {
					return nil, err
				}
				text = nil
			}
		}
	}
	if c == nil {
		return nil, fmt.Errorf("%w: no <svg> root", ErrUnsupportedSVG)
	}
	return c.image(), nil
}

// svgFrame sets up the root canvas or a nested <svg>'s placement.
func svgFrame(f frame, t xml.StartElement, root bool, c **canvas) (frame, error) {
	vb := strings.Fields(f.attrs["viewBox"])
	if len(vb) != 4 {
		return f, fmt.Errorf("%w: <svg> without a 4-number viewBox", ErrUnsupportedSVG)
	}
	var v [4]float64
	for i, s := range vb {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || !(math.Abs(x) <= maxCoord) {
			return f, fmt.Errorf("%w: viewBox %q", ErrUnsupportedSVG, f.attrs["viewBox"])
		}
		v[i] = x
	}
	if root {
		w, h := int(math.Round(v[2])), int(math.Round(v[3]))
		if v[0] != 0 || v[1] != 0 || w < 1 || h < 1 || w*h > maxPNGPixels {
			return f, fmt.Errorf("%w: root viewBox %q", ErrUnsupportedSVG, f.attrs["viewBox"])
		}
		*c = newCanvas(w*supersample, h*supersample)
		f.tx, f.ty, f.s = 0, 0, supersample
		delete(f.attrs, "width") // the root's width="100%" is not a length
		return f, nil
	}
	p, err := f.nums("x", "y", "width")
	if err != nil {
		return f, err
	}
	if v[2] <= 0 {
		return f, fmt.Errorf("%w: viewBox %q", ErrUnsupportedSVG, f.attrs["viewBox"])
	}
	s := p[2] / v[2]
	f.tx, f.ty = f.tx+f.s*(p[0]-s*v[0]), f.ty+f.s*(p[1]-s*v[1])
	f.s *= s
	return f, nil
}

func drawElement(c *canvas, f frame, name string) error {
	switch name {
	case "g", "text":
		return nil
	case "rect":
		p, err := f.nums("x", "y", "width", "height")
		if err != nil {
			return err
		}
		col, a, ok, err := f.paint("fill")
		if err != nil || !ok {
			return err
		}
		x0, y0 := f.dev(p[0], p[1])
		x1, y1 := f.dev(p[0]+p[2], p[1]+p[3])
		c.fillRect(x0, y0, x1, y1, col, a)
	case "circle":
		p, err := f.nums("cx", "cy", "r")
		if err != nil {
			return err
		}
		col, a, ok, err := f.paint("fill")
		if err != nil || !ok {
			return err
		}
		x, y := f.dev(p[0], p[1])
		c.fillCircle(x, y, p[2]*f.s, col, a)
	case "line":
		p, err := f.nums("x1", "y1", "x2", "y2")
		if err != nil {
			return err
		}
		return strokePath(c, f, [][][2]float64{{{p[0], p[1]}, {p[2], p[3]}}})
	case "path":
		if fill := f.attrs["fill"]; fill != "none" {
			return fmt.Errorf("%w: filled <path>", ErrUnsupportedSVG)
		}
		subs, err := parsePath(f.attrs["d"])
		if err != nil {
			return err
		}
		return strokePath(c, f, subs)
	default:
		return fmt.Errorf("%w: element <%s>", ErrUnsupportedSVG, name)
	}
	return nil
}

func strokePath(c *canvas, f frame, subs [][][2]float64) error {
	col, _, ok, err := f.paint("stroke")
	if err != nil || !ok {
		return err
	}
	dash, err := f.dash()
	if err != nil {
		return err
	}
	for _, sub := range subs {
		pts := make([][2]float64, len(sub))
		for i, p := range sub {
			pts[i][0], pts[i][1] = f.dev(p[0], p[1])
		}
		c.strokePolyline(pts, f.strokeWidth(), col, dash)
	}
	return nil
}

// parsePath reads absolute M and L commands ("M1 2L3 4M5 6L7 8") into
// sub-paths.
func parsePath(d string) ([][][2]float64, error) {
	var subs [][][2]float64
	i := 0
	for i < len(d) {
		cmd := d[i]
		if cmd == ' ' {
			i++
			continue
		}
		if cmd != 'M' && cmd != 'L' {
			return nil, fmt.Errorf("%w: path command %q", ErrUnsupportedSVG, cmd)
		}
		j := i + 1
		for j < len(d) && d[j] != 'M' && d[j] != 'L' {
			j++
		}
		xy := strings.Fields(strings.ReplaceAll(d[i+1:j], ",", " "))
		if len(xy) != 2 {
			return nil, fmt.Errorf("%w: path %q", ErrUnsupportedSVG, d)
		}
		x, err1 := strconv.ParseFloat(xy[0], 64)
		y, err2 := strconv.ParseFloat(xy[1], 64)
		if err1 != nil || err2 != nil || !(math.Abs(x) <= maxCoord && math.Abs(y) <= maxCoord) {
			return nil, fmt.Errorf("%w: path %q", ErrUnsupportedSVG, d)
		}
		if cmd == 'M' || len(subs) == 0 {
			subs = append(subs, nil)
		}
		subs[len(subs)-1] = append(subs[len(subs)-1], [2]float64{x, y})
		i = j
	}
	return subs, nil
}

var face = basicfont.Face7x13

// drawText draws s with its baseline at (x, y), honouring text-anchor and
// a rotate(-90 cx cy) transform. Each font pixel is one user unit.
func drawText(c *canvas, f frame, s string) error {
	col, a, ok, err := f.paint("fill")
	if err != nil {
		return err
	}
	if !ok {
		col, a = rgb{0, 0, 0}, 1
	}
	p, err := f.nums("x", "y")
	if err != nil {
		return err
	}
	x, y := p[0], p[1]
	rot := false
	var rcx, rcy float64
	if tr := strings.TrimSpace(f.attrs["transform"]); tr != "" {
		var ang float64
		if n, err := fmt.Sscanf(tr, "rotate(%g %g %g)", &ang, &rcx, &rcy); err != nil || n != 3 || ang != -90 {
			return fmt.Errorf("%w: transform %q", ErrUnsupportedSVG, tr)
		}
		rot = true
	}
	runes := []rune(s)
	width := float64(len(runes) * face.Advance)
	switch f.attrs["text-anchor"] {
	case "middle":
		x -= width / 2
	case "end":
		x -= width
	}
	bold := f.attrs["font-weight"] == "600" || f.attrs["font-weight"] == "bold"
	plot := func(ux, uy float64) {
		if rot { // rotate(-90) about (rcx, rcy): (x, y) → (rcx + (y−rcy), rcy − (x−rcx))
			ux, uy = rcx+(uy-rcy), rcy-(ux-rcx)-1
		}
		dx, dy := f.dev(ux, uy)
		c.fillRect(dx, dy, dx+f.s, dy+f.s, col, a)
	}
	x = math.Round(x)
	top := math.Round(y) - float64(face.Ascent)
	for i, r := range runes {
		gx := x + float64(i*face.Advance)
		drawGlyph(r, func(px, py int) {
			plot(gx+float64(px), top+float64(py))
			if bold {
				plot(gx+float64(px)+1, top+float64(py))
			}
		})
	}
	return nil
}

// drawGlyph calls set for every inked pixel of r in a 7×13 cell (y down
// from the cell top). The font is ASCII only; the few other characters
// the charts print are drawn by hand or mapped to ASCII.
func drawGlyph(r rune, set func(x, y int)) {
	switch r {
	case '°': // a small ring at the top of the cell
		for _, p := range [][2]int{{2, 1}, {3, 1}, {1, 2}, {4, 2}, {1, 3}, {4, 3}, {2, 4}, {3, 4}} {
			set(p[0], p[1])
		}
		return
	case '²': // a raised, smaller 2 made of the digit's top rows
		for _, p := range [][2]int{{1, 1}, {2, 1}, {3, 1}, {4, 2}, {3, 3}, {2, 4}, {1, 5}, {2, 5}, {3, 5}, {4, 5}} {
			set(p[0], p[1])
		}
		return
	case '·', '×':
		set(3, 6)
		return
	case '−', '–', '—':
		r = '-'
	case '≥':
		r = '>'
	case '≤':
		r = '<'
	}
	dr, mask, mp, _, ok := face.Glyph(fixed.P(0, face.Ascent), r)
	if !ok {
		dr, mask, mp, _, _ = face.Glyph(fixed.P(0, face.Ascent), '?')
	}
	for y := dr.Min.Y; y < dr.Max.Y; y++ {
		for x := dr.Min.X; x < dr.Max.X; x++ {
			if _, _, _, al := mask.At(mp.X+x-dr.Min.X, mp.Y+y-dr.Min.Y).RGBA(); al > 0x7fff {
				set(x, y)
			}
		}
	}
}
