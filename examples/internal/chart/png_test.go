package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func decodePNG(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

func rgbAt(img image.Image, x, y int) [3]uint8 {
	c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	return [3]uint8{c.R, c.G, c.B}
}

// TestSVGToPNGPixels draws hand-made shapes whose pixels are known by
// hand: pixel (x, y) covers user square [x, x+1)×[y, y+1).
func TestSVGToPNGPixels(t *testing.T) {
	doc := `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 20" width="100%">
<title>ignored &amp; skipped</title>
<rect x="0" y="0" width="10" height="20" fill="#ff0000"/>
<g stroke="#0000ff" stroke-width="2"><line x1="20" y1="5" x2="40" y2="5"/></g>
<circle cx="30" cy="15" r="3" fill="#00ff00" fill-opacity="0.5"/>
<line x1="10" y1="18" x2="40" y2="18" stroke="#000000" stroke-width="2" stroke-dasharray="5 5"/>
<svg x="10" y="0" width="5" height="5" viewBox="0 0 10 10"><rect x="0" y="0" width="10" height="10" fill="#123456"/></svg>
</svg>`
	b, err := SVGToPNG([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, b)
	if got := img.Bounds(); got != image.Rect(0, 0, 40, 20) {
		t.Fatalf("bounds %v, want 40×20", got)
	}
	white, red, blue, black := [3]uint8{255, 255, 255}, [3]uint8{255, 0, 0}, [3]uint8{0, 0, 255}, [3]uint8{0, 0, 0}
	for _, tc := range []struct {
		name string
		x, y int
		want [3]uint8
	}{
		{"inside the red rect", 5, 10, red},
		{"red rect's last column", 9, 19 - 5, red},
		{"right of the rect, above the line", 15, 1, white},
		{"on the 2-wide blue line (y 4..6)", 30, 4, blue},
		{"on the blue line, second row", 30, 5, blue},
		{"below the blue line", 30, 7, white},
		// 50 % green over white = (127.5, 255, 127.5).
		{"circle centre, half-transparent green", 30, 15, [3]uint8{128, 255, 128}},
		{"first dash [10, 15)", 12, 17, black},
		{"first gap [15, 20)", 17, 17, white},
		{"second dash [20, 25)", 22, 17, black},
		// Nested svg: 10×10 user units scaled into the 5×5 box at (10, 0).
		{"nested svg, scaled", 12, 2, [3]uint8{0x12, 0x34, 0x56}},
		{"right of the nested svg", 16, 2, white},
	} {
		if got := rgbAt(img, tc.x, tc.y); got != tc.want {
			t.Errorf("%s: pixel (%d,%d) = %v, want %v", tc.name, tc.x, tc.y, got, tc.want)
		}
	}
}

func TestSVGToPNGText(t *testing.T) {
	// "I" in the 7×13 fixed font is a vertical bar in the middle of its
	// cell: with text-anchor start at x=2 and baseline 15, the bar's ink
	// lies in x ∈ [2, 9), y ∈ [15−11, 15+2).
	doc := `<svg viewBox="0 0 20 20"><text x="2" y="15" text-anchor="start" fill="#000000">I</text></svg>`
	b, err := SVGToPNG([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, b)
	ink := 0
	for y := 0; y < 20; y++ {
		for x := 0; x < 20; x++ {
			if rgbAt(img, x, y)[0] < 128 {
				ink++
				if x < 2 || x >= 9 || y < 4 || y >= 17 {
					t.Errorf("ink at (%d,%d), outside the glyph cell", x, y)
				}
			}
		}
	}
	if ink < 5 {
		t.Errorf("only %d inked pixels for \"I\"", ink)
	}
}

func TestSVGToPNGUnsupported(t *testing.T) {
	for name, doc := range map[string]string{
		"not xml":         `<svg viewBox="0 0 10 10"><rect`,
		"no viewBox":      `<svg><rect x="0" y="0" width="1" height="1" fill="#000000"/></svg>`,
		"huge":            `<svg viewBox="0 0 100000 100000"></svg>`,
		"root not svg":    `<g/>`,
		"unknown element": `<svg viewBox="0 0 10 10"><ellipse/></svg>`,
		"named colour":    `<svg viewBox="0 0 10 10"><rect x="0" y="0" width="1" height="1" fill="red"/></svg>`,
		"curve":           `<svg viewBox="0 0 10 10"><path d="M0 0C1 1 2 2 3 3" fill="none" stroke="#000000"/></svg>`,
		"filled path":     `<svg viewBox="0 0 10 10"><path d="M0 0L5 5" stroke="#000000"/></svg>`,
		"bad number":      `<svg viewBox="0 0 10 10"><circle cx="a" cy="1" r="1" fill="#000000"/></svg>`,
		"rotate 45":       `<svg viewBox="0 0 10 10"><text x="1" y="1" transform="rotate(45 1 1)">x</text></svg>`,
		"empty":           ``,
	} {
		if _, err := SVGToPNG([]byte(doc)); !errors.Is(err, ErrUnsupportedSVG) {
			t.Errorf("%s: err = %v, want ErrUnsupportedSVG", name, err)
		}
	}
}

// pngDemoCharts are the golden charts rendered to PNG in tests: one of
// each kind (rasterizing is slow under -race; the others differ only in
// data, which the SVG golden tests cover).
var pngDemoCharts = []string{"scatter_hdd_cdd", "timeseries_phone", "bars_savings"}

// TestPNGDemoCharts renders golden charts to PNG at one pixel per user
// unit; the scatter is also kept as a golden image.
func TestPNGDemoCharts(t *testing.T) {
	demos := demoCharts()
	for _, name := range pngDemoCharts {
		c := demos[name]
		b, err := PNG(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img := decodePNG(t, b)
		size := DefaultSize
		if ts, ok := c.(TimeSeries); ok && ts.Size != (Size{}) {
			size = ts.Size
		}
		if want := image.Rect(0, 0, int(size.Width), int(size.Height)); img.Bounds() != want {
			t.Errorf("%s: bounds %v, want %v", name, img.Bounds(), want)
		}
		if got := rgbAt(img, 2, int(size.Height)-2); got != [3]uint8{255, 255, 255} {
			t.Errorf("%s: background %v, want white", name, got)
		}
		if name != "scatter_hdd_cdd" {
			continue
		}
		path := filepath.Join("testdata", name+".png")
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Compare pixels, not bytes: the encoder's compression may change.
		wimg := decodePNG(t, want)
		if wimg.Bounds() != img.Bounds() {
			t.Fatalf("%s.png: bounds %v, golden %v", name, img.Bounds(), wimg.Bounds())
		}
		diff := 0
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := 0; x < img.Bounds().Dx(); x++ {
				if rgbAt(img, x, y) != rgbAt(wimg, x, y) {
					diff++
				}
			}
		}
		if diff > 0 {
			t.Errorf("%s.png: %d pixels differ from golden (run go test -update and look at it)", name, diff)
		}
	}
}

func TestPNGPassesChartErrors(t *testing.T) {
	_, err := PNG(TimeSeries{Times: []time.Time{day(2024, 1, 1)}, Series: []Series{{Values: []float64{math.Inf(1)}}}})
	var de *DataError
	if !errors.As(err, &de) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want a *DataError wrapping ErrInvalid", err)
	}
	if d := cmp.Diff("Series[0].Values", de.Field); d != "" {
		t.Error(d)
	}
}

func FuzzSVGToPNG(f *testing.F) {
	b, err := SVG(demoCharts()["timeseries_phone"])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`<svg viewBox="0 0 10 10"><path d="M1 1L2" fill="none" stroke="#000000"/></svg>`))
	f.Add([]byte(`<svg viewBox="0 0 10 10"><line x1="0" y1="0" x2="9" y2="9" stroke="#000000" stroke-dasharray="0.5"/></svg>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		b, err := SVGToPNG(doc)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedSVG) {
				t.Fatalf("error %v does not wrap ErrUnsupportedSVG", err)
			}
			return
		}
		decodePNG(t, b)
	})
}

func BenchmarkPNGScatter(b *testing.B) {
	c := demoCharts()["scatter_hdd_cdd"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PNG(c); err != nil {
			b.Fatal(err)
		}
	}
}

func ExamplePNG() {
	b, err := PNG(Bars{Title: "kWh saved", Labels: []string{"Jan", "Feb"}, Values: []float64{12, 30}, Size: Size{Width: 240, Height: 160}})
	if err != nil {
		fmt.Println(err)
		return
	}
	img, _ := png.Decode(bytes.NewReader(b))
	fmt.Println(img.Bounds().Dx(), "×", img.Bounds().Dy())
	// Output: 240 × 160
}
