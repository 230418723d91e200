package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkGolden compares got with testdata/<name> (rewritten with -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden(t, filepath.Join("testdata", name), got)
}

// wellFormed fails the test unless b is well-formed XML with an <svg> root.
func wellFormed(t *testing.T, name string, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q, want svg", name, root)
	}
}

func TestBaselinePlotGolden(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		sample string
		args   []string
		// files written, relative to dir, and the golden file of each.
		files map[string]string
		// texts that must appear in the SVG (the model, its balance points).
		want []string
	}{
		{
			name: "daily with reporting, one file", sample: "il-electricity-cdd-hdd-daily",
			args:  []string{"--reporting-start", "2017-01-04T00:00:00Z", "--out", filepath.Join(dir, "daily", "plot.svg")},
			files: map[string]string{"daily/plot.svg": "plot/cdd-hdd-daily.svg"},
			// eemeter golden: cdd_hdd at 53/68 °F on this sample.
			want: []string{"cdd_hdd, HBP 53°F, CBP 68°F", "HBP 53°F", "CBP 68°F", "Model (reporting counterfactual)", "Outdoor temperature (°F)"},
		},
		{
			name: "billing, directory", sample: "il-gas-hdd-only-billing_monthly",
			args: []string{"--fit-cdd=false", "--unit", "therms", "--out", filepath.Join(dir, "billing")},
			files: map[string]string{
				"billing/il-gas-hdd-only-billing_monthly-temperature.svg": "plot/hdd-only-billing_monthly-temperature.svg",
				"billing/il-gas-hdd-only-billing_monthly-timeseries.svg":  "plot/hdd-only-billing_monthly-timeseries.svg",
			},
			want: []string{"hdd_only", "therms/day", "caltrack_billing"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"baseline", "plot", "--usage", sampleDir + tc.sample + ".csv.gz", "--temperature", tempFile,
				"--method", methodOf(tc.sample), "--baseline-end", "2016-12-26T00:00:00Z"}, tc.args...)
			code, out, errs := runCLI(t, args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var all string
			for rel, golden := range tc.files {
				path := filepath.Join(dir, rel)
				if !strings.Contains(out, "wrote "+path+"\n") {
					t.Errorf("stdout %q does not name %s", out, path)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				wellFormed(t, rel, b)
				checkGolden(t, golden, b)
				all += string(b)
			}
			if n := strings.Count(out, "\n"); n != len(tc.files) {
				t.Errorf("stdout has %d lines, want %d: %q", n, len(tc.files), out)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("SVG lacks %q", w)
				}
			}
		})
	}
}

func TestBaselinePlotJSONAndNoLeftovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errs := runCLI(t, "baseline", "plot", "--usage", sampleDir+"il-gas-intercept-only-daily.csv.gz", "--temperature", tempFile,
		"--method", "daily", "--baseline-end", "2016-12-26T00:00:00Z", "--fit-cdd=false", "--out", dir, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := `{"files":["` + filepath.Join(dir, "il-gas-intercept-only-daily-temperature.svg") + `","` +
		filepath.Join(dir, "il-gas-intercept-only-daily-timeseries.svg") + `"]}` + "\n"
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want exactly the two pictures (no temporary files)", names)
	}
}

func TestBaselinePlotBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	okU := sampleDir + "il-electricity-cdd-hdd-daily.csv.gz"
	base := []string{"baseline", "plot", "--usage", okU, "--temperature", tempFile, "--method", "daily", "--baseline-end", "2016-12-26T00:00:00Z"}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no out", base, "--out is required"},
		{"format mismatch", append(base, "--out", filepath.Join(dir, "p.png"), "--format", "svg"), "does not match --format svg"},
		{"bad format", append(base, "--out", dir, "--format", "gif"), "--format"},
		{"missing usage", []string{"baseline", "plot", "--usage", filepath.Join(dir, "nope.csv"), "--temperature", tempFile,
			"--method", "daily", "--baseline-end", "2016-12-26T00:00:00Z", "--out", dir}, "nope.csv"},
		{"overlapping reporting", append(base, "--out", dir, "--reporting-start", "2016-06-01T00:00:00Z"), "must start after"},
		{"empty reporting", append(base, "--out", dir, "--reporting-start", "2030-01-01T00:00:00Z"), "no usage in the reporting window"},
		{"bad reporting days", append(base, "--out", dir, "--reporting-start", "2017-01-04T00:00:00Z", "--reporting-days", "0"), "reporting-days"},
		{"no data", []string{"baseline", "plot", "--usage", okU, "--temperature", tempFile, "--method", "daily",
			"--baseline-end", "2001-01-01T00:00:00Z", "--out", dir}, "no usable data"},
		{"out under a file", append(base, "--out", filepath.Join(notDir, "sub")), "file"},
		{"extra argument", append(base, "--out", dir, "extra"), "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) || !strings.HasPrefix(errs, "negawatt baseline plot: ") {
				t.Errorf("stderr %q, want one line mentioning %q", errs, tc.want)
			}
		})
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("failed runs left files behind: %d entries", len(ents))
	}
}

func TestBaselineHelpListsSubcommands(t *testing.T) {
	code, out, _ := runCLI(t, "baseline", "--help")
	if code != exitOK || !strings.Contains(out, "baseline fit") || !strings.Contains(out, "baseline plot") || !strings.Contains(out, "baseline batch") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
	code, out, _ = runCLI(t, "baseline", "plot", "--help")
	if code != exitOK || !strings.Contains(out, "-out") {
		t.Errorf("exit %d, plot help:\n%s", code, out)
	}
}

func TestBaselinePlotPNG(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := []string{"baseline", "plot", "--usage", sampleDir + "il-electricity-cdd-only-daily.csv.gz", "--temperature", tempFile,
		"--method", "daily", "--baseline-end", "2016-12-26T00:00:00Z"}
	for _, tc := range []struct {
		args  []string
		files []string
		w, h  int
	}{
		// One file: both pictures stacked, each plotSize (960×420)
		// pixels. (Directory output writes the same pictures one per
		// file; rasterizing is too slow under -race to test both.)
		{[]string{"--out", filepath.Join(dir, "both.png")}, []string{"both.png"}, 960, 840},
	} {
		code, out, errs := runCLI(t, append(base, tc.args...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errs)
		}
		for _, f := range tc.files {
			path := filepath.Join(dir, f)
			if !strings.Contains(out, "wrote "+path) {
				t.Errorf("stdout %q lacks %s", out, path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if img.Bounds().Dx() != tc.w || img.Bounds().Dy() != tc.h {
				t.Errorf("%s: %v, want %d×%d", f, img.Bounds(), tc.w, tc.h)
			}
		}
	}
}
