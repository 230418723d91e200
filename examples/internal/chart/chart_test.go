package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// demoCharts are the golden cases. The data are small hand-made series,
// so a reviewer can check the picture against the numbers.
func demoCharts() map[string]Chart {
	var monthly []time.Time
	for m := 0; m < 12; m++ {
		monthly = append(monthly, day(2024, time.January+time.Month(m), 1))
	}
	var daily []time.Time
	var base, act []float64
	for d := 0; d < 40; d++ {
		daily = append(daily, day(2024, time.March, 1).AddDate(0, 0, d))
		base = append(base, 30+5*math.Sin(float64(d)/6))
		a := 27 + 5*math.Sin(float64(d)/6) + float64(d%3)
		if d == 10 || d == 11 {
			a = math.NaN() // meter outage: a gap
		}
		act = append(act, a)
	}
	model := &PiecewiseModel{InterceptPerDay: 20, HeatingBalancePointF: 55, HeatingSlope: 0.8, CoolingBalancePointF: 70, CoolingSlope: 1.5}
	var pts []TempUsage
	for t := 10.0; t <= 95; t += 5 {
		pts = append(pts, TempUsage{TempF: t, UsagePerDay: model.At(t) + float64(int(t)%7) - 3})
	}
	return map[string]Chart{
		"timeseries_monthly": TimeSeries{
			Title: "Baseline vs actual, 2024", Unit: "kWh/month", Times: monthly,
			Series: []Series{
				{Name: "Baseline", Style: Dashed, Values: []float64{900, 850, 700, 560, 480, 620, 780, 800, 600, 520, 700, 880}},
				{Name: "Actual", Values: []float64{870, 800, 690, 500, 430, 600, 720, 790, 560, 500, 650, 820}},
			},
		},
		"timeseries_daily": TimeSeries{
			Title: "Daily usage", Unit: "kWh/day", Times: daily,
			Series: []Series{{Name: "Baseline", Style: Dashed, Values: base}, {Name: "Actual", Values: act}},
		},
		"timeseries_phone": TimeSeries{
			Title: "Baseline vs actual", Unit: "kWh/month", Times: monthly, Size: PhoneSize,
			Series: []Series{{Name: "Baseline", Style: Dashed, Values: []float64{900, 850, 700, 560, 480, 620, 780, 800, 600, 520, 700, 880}}},
		},
		"scatter_hdd_cdd": TemperatureScatter{Title: "Usage vs temperature (CalTRACK daily)", Unit: "kWh/day", Points: pts, Model: model},
		"scatter_intercept_only": TemperatureScatter{
			Title: "Intercept-only model", Unit: "therms/day",
			Points: []TempUsage{{30, 2.1}, {50, 1.9}, {70, 2.0}, {math.NaN(), 5}},
			Model:  &PiecewiseModel{InterceptPerDay: 2},
		},
		"bars_savings": Bars{
			Title: "kWh saved per month", Unit: "kWh saved",
			Labels: []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun"},
			Values: []float64{30, 50, 10, -12.5, 50, math.NaN()},
		},
		"bars_points": Bars{
			Title: "Points earned", Unit: "points",
			Labels: []string{"2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"},
			Values: []float64{300, 500, 100, 0, 500, 120, 300, 500, 100, 0, 500, 120, 300, 500, 100, 0, 500, 120, 300, 500, 100, 0, 500, 12000},
		},
	}
}

func TestGolden(t *testing.T) {
	for name, c := range demoCharts() {
		t.Run(name, func(t *testing.T) {
			got, err := SVG(c)
			if err != nil {
				t.Fatal(err)
			}
			assertWellFormed(t, got)
			path := filepath.Join("testdata", name+".svg")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("SVG differs from %s (-want +got):\n%s", path, diff)
			}
			again, _ := SVG(c)
			if !bytes.Equal(got, again) {
				t.Error("two renders of the same chart differ")
			}
		})
	}
}

// assertWellFormed parses the document and checks it is responsive.
func assertWellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var root *xml.StartElement
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok && root == nil {
			se := se.Copy()
			root = &se
		}
		if se, ok := tok.(xml.StartElement); ok && strings.EqualFold(se.Name.Local, "script") {
			t.Fatalf("SVG contains a <script> element:\n%s", doc)
		}
	}
	if root == nil || root.Name.Local != "svg" {
		t.Fatalf("root element is not <svg>")
	}
	attrs := map[string]string{}
	for _, a := range root.Attr {
		attrs[a.Name.Local] = a.Value
	}
	if attrs["width"] != "100%" || attrs["viewBox"] == "" {
		t.Errorf("root attributes %v: want width=100%% and a viewBox", attrs)
	}
}

func TestEscapesAllText(t *testing.T) {
	evil := `</text><script>alert("x")</script>&<b onload='1'>`
	charts := []Chart{
		TimeSeries{Title: evil, Unit: evil, Times: []time.Time{day(2024, 1, 1)}, Series: []Series{{Name: evil, Values: []float64{1}}}},
		TemperatureScatter{Title: evil, Unit: evil, Points: []TempUsage{{50, 1}}},
		Bars{Title: evil, Unit: evil, Labels: []string{evil}, Values: []float64{3}},
	}
	for _, c := range charts {
		got, err := SVG(c)
		if err != nil {
			t.Fatal(err)
		}
		assertWellFormed(t, got)
		if bytes.Contains(got, []byte("<script")) || bytes.Contains(got, []byte("<b ")) {
			t.Errorf("%T: raw markup from input leaked into output", c)
		}
	}
}

func TestErrors(t *testing.T) {
	jan := day(2024, 1, 1)
	tests := []struct {
		name      string
		c         Chart
		sentinel  error
		wantField string
		wantIndex int
	}{
		{"no times", TimeSeries{Series: []Series{{Name: "a"}}}, ErrNoData, "Times", -1},
		{"no series", TimeSeries{Times: []time.Time{jan}}, ErrNoData, "Series", -1},
		{"length mismatch", TimeSeries{Times: []time.Time{jan}, Series: []Series{{Values: []float64{1, 2}}}}, ErrInvalid, "Series[0].Values", -1},
		{"unordered", TimeSeries{Times: []time.Time{jan, jan}, Series: []Series{{Values: []float64{1, 2}}}}, ErrInvalid, "Times", 1},
		{"infinite", TimeSeries{Times: []time.Time{jan}, Series: []Series{{Values: []float64{math.Inf(1)}}}}, ErrInvalid, "Series[0].Values", 0},
		{"all NaN", TimeSeries{Times: []time.Time{jan}, Series: []Series{{Values: []float64{math.NaN()}}}}, ErrNoData, "Series", -1},
		{"tiny size", Bars{Labels: []string{"a"}, Values: []float64{1}, Size: Size{Width: 10, Height: 10}}, ErrInvalid, "Size", -1},
		{"bars labels", Bars{Labels: []string{"a"}, Values: []float64{1, 2}}, ErrInvalid, "Labels", -1},
		{"bars empty", Bars{}, ErrNoData, "Values", -1},
		{"scatter empty", TemperatureScatter{}, ErrNoData, "Points", -1},
		{"scatter inf", TemperatureScatter{Points: []TempUsage{{1, 1}, {math.Inf(-1), 2}}}, ErrInvalid, "Points", 1},
		{"scatter model NaN", TemperatureScatter{Points: []TempUsage{{1, 1}}, Model: &PiecewiseModel{InterceptPerDay: math.NaN()}}, ErrInvalid, "Model.InterceptPerDay", -1},
		{"scatter bp order", TemperatureScatter{Points: []TempUsage{{1, 1}}, Model: &PiecewiseModel{HeatingBalancePointF: 70, HeatingSlope: 1, CoolingBalancePointF: 60, CoolingSlope: 1}}, ErrInvalid, "Model", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.WriteSVG(io.Discard)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("err %T is not a *DataError", err)
			}
			if de.Field != tt.wantField || de.Index != tt.wantIndex {
				t.Errorf("DataError at %s[%d], want %s[%d]", de.Field, de.Index, tt.wantField, tt.wantIndex)
			}
		})
	}
}

func TestModelAt(t *testing.T) {
	// Hand calculation: 20 + 0.8·(55−40) = 32 at 40°F; 20 at 60°F;
	// 20 + 1.5·(80−70) = 35 at 80°F.
	m := PiecewiseModel{InterceptPerDay: 20, HeatingBalancePointF: 55, HeatingSlope: 0.8, CoolingBalancePointF: 70, CoolingSlope: 1.5}
	got := []float64{m.At(40), m.At(60), m.At(80)}
	if diff := cmp.Diff([]float64{32, 20, 35}, got); diff != "" {
		t.Errorf("At (-want +got):\n%s", diff)
	}
}

func TestNiceTicksProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lo := rapid.Float64Range(-1e6, 1e6).Draw(t, "lo")
		hi := rapid.Float64Range(-1e6, 1e6).Draw(t, "hi")
		n := rapid.IntRange(2, 12).Draw(t, "maxTicks")
		ticks, step, nlo, nhi := niceTicks(lo, hi, n)
		if nlo > math.Min(lo, hi) || nhi < math.Max(lo, hi) {
			t.Fatalf("range [%v,%v] does not cover [%v,%v]", nlo, nhi, lo, hi)
		}
		if len(ticks) < 2 || len(ticks) > 2*n+2 {
			t.Fatalf("%d ticks for maxTicks %d", len(ticks), n)
		}
		for i := 1; i < len(ticks); i++ {
			if d := ticks[i] - ticks[i-1]; math.Abs(d-step) > step*1e-6 {
				t.Fatalf("uneven step %v vs %v", d, step)
			}
		}
		mant := step / math.Pow(10, math.Floor(math.Log10(step)))
		if r := math.Round(mant); math.Abs(mant-r) > 1e-6 || (r != 1 && r != 2 && r != 5 && r != 10) {
			t.Fatalf("step %v is not 1, 2 or 5 × 10^k", step)
		}
	})
}

func TestFormatTick(t *testing.T) {
	got := []string{formatTick(0.5, 0.5), formatTick(math.Copysign(0, -1), 1), formatTick(12500, 2500), formatTick(0.25, 0.05), formatTick(-1500000, 500000)}
	want := []string{"0.5", "0", "12,500", "0.25", "-1,500,000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("formatTick (-want +got):\n%s", diff)
	}
}

func FuzzTitleIsEscaped(f *testing.F) {
	f.Add("Usage <kWh> & \"points\"", "kWh/day")
	f.Add("\x00\x1f\uFFFE", "]]>")
	f.Fuzz(func(t *testing.T, title, unit string) {
		got, err := SVG(Bars{Title: title, Unit: unit, Labels: []string{title}, Values: []float64{1}})
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(got))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("not well-formed for title %q: %v", title, err)
			}
		}
	})
}

func BenchmarkTimeSeriesDaily365(b *testing.B) {
	var times []time.Time
	var base, act []float64
	for d := 0; d < 365; d++ {
		times = append(times, day(2024, 1, 1).AddDate(0, 0, d))
		base = append(base, 30+10*math.Sin(float64(d)/58))
		act = append(act, 28+10*math.Sin(float64(d)/58))
	}
	c := TimeSeries{Title: "Daily", Unit: "kWh/day", Times: times, Series: []Series{{Name: "Baseline", Values: base, Style: Dashed}, {Name: "Actual", Values: act}}}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteSVG(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
