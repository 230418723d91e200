package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/examples/internal/chart"
	"github.com/negawatt/negawatt/savings"
)

func init() {
	baselineSubs["plot"] = baselineSub{usage: baselinePlotUsage, run: runBaselinePlot}
}

const baselinePlotUsage = "negawatt baseline plot --usage U.csv --temperature T.csv --method daily|billing --baseline-end T [--baseline-days 365] [--fit-cdd=true|false] [--max-p-value 1] [--reporting-start T [--reporting-days 365]] [--unit kWh] --out DIR|FILE.svg|FILE.png [--format svg|png] [--json]"

// plotSize is the coordinate system of each picture: wider than
// chart.DefaultSize so a two-year daily series keeps its detail.
var plotSize = chart.Size{Width: 960, Height: 420}

// runBaselinePlot draws the two classic CalTRACK pictures of a fitted
// baseline (CalTRACK 2.0 §3.4; eemeter's plot_caltrack_candidate and
// plot_time_series):
//
//   - usage per day against the period's mean outdoor temperature, one dot
//     per complete baseline period, with the selected piecewise-linear model
//     (intercept, heating/cooling slopes, balance points);
//   - a time series of observed usage per day against the model's
//     prediction over the baseline and, with --reporting-start, its
//     counterfactual over the reporting period.
//
// --out DIR writes DIR/<usage stem>-temperature.svg and
// DIR/<usage stem>-timeseries.svg (.png with --format png); --out FILE.svg
// or FILE.png writes both pictures stacked in one image. PNG is the same
// SVG rasterized by chart.SVGToPNG (standard library + a bitmap font). Each file is rendered in memory first and renamed
// into place, so a failure never leaves a half-written picture.
func runBaselinePlot(args []string, stdout, stderr io.Writer) int {
	const name = "baseline plot"
	var f fitFlags
	var repStart, out, format, unit string
	var repDays int
	fs := newFlagSet(name)
	f.register(fs)
	fs.StringVar(&repStart, "reporting-start", "", "also plot the reporting period's counterfactual from this start, RFC 3339")
	fs.IntVar(&repDays, "reporting-days", 365, "reporting period length in days")
	fs.StringVar(&out, "out", "", "output directory (two files) or FILE.svg (both pictures in one file)")
	fs.StringVar(&format, "format", "", "svg or png; default from --out's extension, else svg")
	fs.StringVar(&unit, "unit", "kWh", "usage unit for the axis labels (kWh, therms ...)")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlagHelp(stdout, baselinePlotUsage, fs)
			return exitOK
		}
		return fail(stderr, name, err)
	}
	dest, err := plotDestination(out, format)
	if err != nil {
		return fail(stderr, name, err)
	}
	var start time.Time
	if repStart != "" {
		if start, err = parseTimeFlag("reporting-start", repStart); err != nil {
			return fail(stderr, name, err)
		}
		if repDays <= 0 {
			return fail(stderr, name, fmt.Errorf("--reporting-days %d: must be positive", repDays))
		}
	}
	in, err := f.load()
	if err != nil {
		return fail(stderr, name, err)
	}
	res, err := in.fit(&f)
	if err != nil {
		return fail(stderr, name, err)
	}
	pics, err := buildPlots(&f, in, res, start, repDays, unit)
	if err != nil {
		return fail(stderr, name, err)
	}
	files, err := dest.write(usageStem(f.usage), pics)
	if err != nil {
		return fail(stderr, name, err)
	}
	if f.json {
		b, _ := json.Marshal(struct {
			Files []string `json:"files"`
		}{files})
		fmt.Fprintf(stdout, "%s\n", b)
		return exitOK
	}
	for _, p := range files {
		fmt.Fprintln(stdout, "wrote "+p)
	}
	return exitOK
}

// plotDest is where `baseline plot` writes: a directory or one file.
type plotDest struct {
	dir    string // set for directory output
	file   string // set for single-file output
	format string // "svg" or "png"
}

func plotDestination(out, format string) (plotDest, error) {
	if out == "" {
		return plotDest{}, errors.New("--out is required (a directory, or a FILE.svg)")
	}
	ext := strings.ToLower(filepath.Ext(out))
	if format == "" {
		format = "svg"
		if ext == ".png" {
			format = "png"
		}
	}
	if format != "svg" && format != "png" {
		return plotDest{}, fmt.Errorf("--format %q: want svg or png", format)
	}
	switch ext {
	case ".svg", ".png":
		if ext[1:] != format {
			return plotDest{}, fmt.Errorf("--out %q does not match --format %s", out, format)
		}
		return plotDest{file: out, format: format}, nil
	}
	return plotDest{dir: out, format: format}, nil
}

// picture is one rendered chart and its file-name suffix.
type picture struct {
	suffix string
	size   chart.Size
	svg    []byte
}

// write writes the pictures and returns the paths written.
func (d plotDest) write(stem string, pics []picture) ([]string, error) {
	if d.file != "" {
		b, err := stackSVG(pics)
		if err != nil {
			return nil, err
		}
		if d.format == "png" {
			if b, err = chart.SVGToPNG(b); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(filepath.Dir(d.file), 0o755); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(d.file, b); err != nil {
			return nil, err
		}
		return []string{d.file}, nil
	}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, p := range pics {
		b := p.svg
		if d.format == "png" {
			var err error
			if b, err = chart.SVGToPNG(b); err != nil {
				return paths, err
			}
		}
		path := filepath.Join(d.dir, stem+"-"+p.suffix+"."+d.format)
		if err := writeFileAtomic(path, b); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// writeFileAtomic writes b to a temporary file next to path and renames
// it into place, so readers never see a partial file.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Chmod(name, 0o644); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}

// usageStem is the usage file's name without .gz and .csv.
func usageStem(path string) string {
	s := filepath.Base(path)
	s = strings.TrimSuffix(s, ".gz")
	s = strings.TrimSuffix(s, ".csv")
	if s == "" || s == "." {
		return "baseline"
	}
	return s
}

// buildPlots renders the temperature scatter and the time series.
func buildPlots(f *fitFlags, in *fitInputs, res *baseline.FitResult, repStart time.Time, repDays int, unit string) ([]picture, error) {
	m := res.Model
	// Rebuild the design matrix the fit used (FitBaseline's own steps) to
	// get each period's mean temperature, which the model does not keep.
	// For billing data that is the mean of the hours the fit matched to
	// the bill (eemeter's 35-day tolerance), as eemeter's own plot shows.
	u := in.usage
	var err error
	if m.Method == baseline.Daily {
		if u, err = baseline.DailyUsage(u); err != nil {
			return nil, fmt.Errorf("%s: %w", f.usage, err)
		}
	}
	w, err := baseline.BaselineWindow(u, in.end, f.baselineDays)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.usage, err)
	}
	d, err := baseline.NewDesign(w, in.temp, in.opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.usage, err)
	}
	stem := usageStem(f.usage)
	perDay := unit + "/day"

	var pts []chart.TempUsage
	for i := 0; i < d.Len(); i++ {
		if r := d.Row(i); r.Complete {
			pts = append(pts, chart.TempUsage{TempF: r.TempMeanF, UsagePerDay: r.UsagePerDay})
		}
	}
	pm := &chart.PiecewiseModel{InterceptPerDay: m.Intercept}
	if m.Type.HasHDD() {
		pm.HeatingBalancePointF, pm.HeatingSlope = float64(m.HeatingBalancePointF), m.BetaHDD
	}
	if m.Type.HasCDD() {
		pm.CoolingBalancePointF, pm.CoolingSlope = float64(m.CoolingBalancePointF), m.BetaCDD
	}
	scatter := chart.TemperatureScatter{
		Title:  fmt.Sprintf("%s: %s", stem, modelSummary(m)),
		Unit:   perDay,
		Points: pts,
		Model:  pm,
		Size:   plotSize,
	}

	// Baseline: every period of the window (the end marker excluded), the
	// observed usage per day and the model's fitted value where the row
	// was fitted (complete); NaN leaves a gap.
	fitted := map[int64]float64{} // by period start, Unix seconds
	for _, b := range m.Baseline() {
		fitted[b.Start.Unix()] = b.PredictedPerDay
	}
	var times []time.Time
	var observed, model, counterfactual []float64
	for i := 0; i < d.Len()-1; i++ {
		r := d.Row(i)
		times = append(times, r.Start)
		observed = append(observed, r.UsagePerDay)
		if p, ok := fitted[r.Start.Unix()]; ok {
			model = append(model, p)
		} else {
			model = append(model, math.NaN())
		}
		counterfactual = append(counterfactual, math.NaN())
	}
	baselineEnd := d.Row(d.Len() - 1).Start
	title := fmt.Sprintf("%s: observed vs %s model", stem, m.Method)
	series := []chart.Series{{Name: "Observed"}, {Name: "Model (baseline fit)", Style: chart.Dashed}}
	if !repStart.IsZero() {
		ms, err := savings.MeteredWindow(m, in.usage, in.temp, repStart, repDays)
		if err != nil {
			if errors.Is(err, baseline.ErrNoData) {
				return nil, fmt.Errorf("%s: no usage in the reporting window starting %s", f.usage, repStart.Format(time.RFC3339))
			}
			return nil, err
		}
		first := true
		for _, p := range ms.Periods {
			if !(p.Days > 0) {
				continue // the end marker
			}
			if first {
				first = false
				if !p.Start.After(times[len(times)-1]) {
					return nil, fmt.Errorf("--reporting-start %s: the reporting period must start after the baseline's last period (%s)",
						repStart.Format(time.RFC3339), times[len(times)-1].Format(time.RFC3339))
				}
				// A missing point at the baseline's end breaks the lines
				// between the two periods instead of bridging the gap.
				if baselineEnd.After(times[len(times)-1]) && baselineEnd.Before(p.Start) {
					times = append(times, baselineEnd)
					observed, model, counterfactual = append(observed, math.NaN()), append(model, math.NaN()), append(counterfactual, math.NaN())
				}
			}
			times = append(times, p.Start)
			observed = append(observed, p.ObservedKWh/p.Days)
			model = append(model, math.NaN())
			counterfactual = append(counterfactual, p.CounterfactualKWh/p.Days)
		}
		title += fmt.Sprintf("; reporting savings %.4g %s (%.1f %%)", ms.SavingsKWh, unit, ms.PercentSavings)
		series = append(series, chart.Series{Name: "Model (reporting counterfactual)", Style: chart.Dashed})
		series[2].Values = counterfactual
	}
	series[0].Values, series[1].Values = observed, model
	ts := chart.TimeSeries{Title: title, Unit: perDay, Times: times, Series: series, Size: plotSize}

	var pics []picture
	for _, c := range []struct {
		suffix string
		c      chart.Chart
	}{{"temperature", scatter}, {"timeseries", ts}} {
		b, err := chart.SVG(c.c)
		if err != nil {
			return nil, fmt.Errorf("%s: %s chart: %w", f.usage, c.suffix, err)
		}
		pics = append(pics, picture{suffix: c.suffix, size: plotSize, svg: b})
	}
	return pics, nil
}

// modelSummary is e.g. "cdd_hdd, HBP 53°F, CBP 68°F, adj R² 0.768".
func modelSummary(m *baseline.Model) string {
	var parts []string
	if m.Type.HasHDD() {
		parts = append(parts, fmt.Sprintf("HBP %d°F", m.HeatingBalancePointF))
	}
	if m.Type.HasCDD() {
		parts = append(parts, fmt.Sprintf("CBP %d°F", m.CoolingBalancePointF))
	}
	parts = append(parts, fmt.Sprintf("adj R² %.3f", m.RSquaredAdj))
	return m.Type.String() + ", " + strings.Join(parts, ", ")
}

// svgRoot is how every chart.SVG document starts; stackSVG turns each
// root into a positioned nested <svg>.
const (
	svgRoot   = `<svg xmlns="http://www.w3.org/2000/svg" `
	svgWidth  = ` width="100%"`
	svgStyle  = ` style="max-width:100%;height:auto;display:block"`
	svgFamily = ` font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"`
)

// stackSVG places the pictures one under the other in one SVG document.
func stackSVG(pics []picture) ([]byte, error) {
	var body bytes.Buffer
	width, y := 0.0, 0.0
	for _, p := range pics {
		s := string(p.svg)
		end := strings.IndexByte(s, '>')
		if !strings.HasPrefix(s, svgRoot) || end < 0 || !strings.HasSuffix(s, "</svg>\n") {
			return nil, errors.New("internal error: unexpected chart SVG layout")
		}
		open := s[:end]
		if !strings.Contains(open, svgWidth) {
			return nil, errors.New("internal error: unexpected chart SVG root")
		}
		open = strings.Replace(open, svgWidth, fmt.Sprintf(` x="0" y="%g" width="%g" height="%g"`, y, p.size.Width, p.size.Height), 1)
		open = strings.Replace(open, svgStyle, "", 1)
		open = "<svg " + strings.TrimPrefix(open, svgRoot)
		body.WriteString(open)
		body.WriteString(s[end:])
		width = math.Max(width, p.size.Width)
		y += p.size.Height
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="100%%"%s%s>`+"\n", width, y, svgFamily, svgStyle)
	b.Write(body.Bytes())
	b.WriteString("</svg>\n")
	return b.Bytes(), nil
}
