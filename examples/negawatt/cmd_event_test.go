package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	b22 = "../../testdata/cambridge/b22_electricity_2019-05_2019-11.csv.gz"
	b27 = "../../testdata/cambridge/b27_electricity_2019-05_2019-11.csv.gz"
)

func runEventCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(append([]string{"event"}, args...), &o, &e)
	return code, o.String(), e.String()
}

// expectedEvent is what testdata/cambridge/check_event.py, an independent
// Python implementation of issue #4's method, prints for the same case.
type expectedEvent struct {
	SelectedDays     []string
	AdjustmentFactor *float64
	Baseline, Actual []float64
	BaselineTotal    float64
	ActualTotal      float64
	SavingsTotal     float64
}

func ptr(f float64) *float64 { return &f }

// TestEventCLIRealBuildings: Cambridge buildings b22 and b27 in summer
// 2019 against the independent Python figures (check_event.py).
func TestEventCLIRealBuildings(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want expectedEvent
	}{
		{"b22 high 5 of 10 multiplicative, excluded days",
			[]string{"--usage", b22, "--timezone", "Europe/London", "--event-start", "2019-07-24T15:00", "--event-end", "2019-07-24T19:00",
				"--x", "5", "--y", "10", "--adjust", "multiplicative", "--adjust-window-hours", "3", "--adjust-gap-hours", "1", "--adjust-cap", "0.2",
				"--exclude", "2019-07-23,2019-07-22", "--lookback-days", "45", "--json"},
			expectedEvent{
				SelectedDays:     []string{"2019-07-18", "2019-07-16", "2019-07-15", "2019-07-12", "2019-07-11"},
				AdjustmentFactor: ptr(1.1007376185458377),
				Baseline:         []float64{146.26601475237092, 140.93844467860905, 151.76970284510014, 145.67161643835612},
				Actual:           []float64{156.9, 162.9, 190.1, 179.7},
				BaselineTotal:    584.6457787144362, ActualTotal: 689.6, SavingsTotal: -104.95422128556368,
			}},
		{"b22 high 5 of 10 additive",
			[]string{"--usage", b22, "--timezone", "Europe/London", "--event-start", "2019-07-24T15:00", "--event-end", "2019-07-24T19:00",
				"--x", "5", "--y", "10", "--adjust", "additive", "--json"},
			expectedEvent{
				SelectedDays:  []string{"2019-07-23", "2019-07-22", "2019-07-18", "2019-07-12", "2019-07-11"},
				Baseline:      []float64{146.88666666666666, 142.50666666666666, 154.10666666666665, 147.44666666666666},
				Actual:        []float64{156.9, 162.9, 190.1, 179.7},
				BaselineTotal: 590.9466666666667, ActualTotal: 689.6, SavingsTotal: -98.6533333333332,
			}},
		{"b27 10 of 10 after a bank holiday, defaults",
			[]string{"--usage", b27, "--timezone", "Europe/London", "--event-start", "2019-08-27T14:00", "--event-end", "2019-08-27T18:00",
				"--holidays", "2019-08-26", "--json"},
			expectedEvent{
				SelectedDays:  []string{"2019-08-23", "2019-08-22", "2019-08-21", "2019-08-20", "2019-08-19", "2019-08-16", "2019-08-15", "2019-08-14", "2019-08-13", "2019-08-12"},
				Baseline:      []float64{410.95, 418.15, 402.9, 376.4},
				Actual:        []float64{446.0, 447.0, 451.5, 424.0},
				BaselineTotal: 1608.4, ActualTotal: 1768.5, SavingsTotal: -160.0999999999999,
			}},
		{"b27 bank holiday event on weekend/holiday days, 4 of 4",
			[]string{"--usage", b27, "--timezone", "Europe/London", "--event-start", "2019-08-26T14:00", "--event-end", "2019-08-26T18:00",
				"--x", "4", "--y", "4", "--adjust", "multiplicative", "--holidays", "2019-08-26,2019-05-27", "--json"},
			expectedEvent{
				SelectedDays:     []string{"2019-08-25", "2019-08-24", "2019-08-18", "2019-08-17"},
				AdjustmentFactor: ptr(1.1915021847220129),
				Baseline:         []float64{337.49299382251013, 357.0038420973331, 343.30156697302994, 346.72713575410575},
				Actual:           []float64{354.0, 356.5, 349.5, 346.5},
				BaselineTotal:    1384.525538646979, ActualTotal: 1406.5, SavingsTotal: -21.97446135302107,
			}},
		{"b22 the Monday after the fall-back, outage day excluded",
			[]string{"--usage", b22, "--timezone", "Europe/London", "--event-start", "2019-10-28T16:00", "--event-end", "2019-10-28T20:00",
				"--x", "5", "--y", "10", "--adjust", "multiplicative", "--exclude", "2019-10-04", "--json"},
			expectedEvent{
				SelectedDays:     []string{"2019-10-25", "2019-10-24", "2019-10-18", "2019-10-16", "2019-10-14"},
				AdjustmentFactor: ptr(0.9263271939328277),
				Baseline:         []float64{131.27908992416033, 136.28125677139758, 123.53499458288191, 114.51256771397614},
				Actual:           []float64{144.3, 134.9, 136.3, 112.5},
				BaselineTotal:    505.6079089924159, ActualTotal: 528.0, SavingsTotal: -22.3920910075841,
			}},
		{"b27 on the 25-hour fall-back Sunday, 4 of 4 additive",
			[]string{"--usage", b27, "--timezone", "Europe/London", "--event-start", "2019-10-27T14:00", "--event-end", "2019-10-27T18:00",
				"--x", "4", "--y", "4", "--adjust", "additive", "--json"},
			expectedEvent{
				SelectedDays:  []string{"2019-10-26", "2019-10-20", "2019-10-19", "2019-10-13"},
				Baseline:      []float64{282.7916666666667, 275.5416666666667, 284.4166666666667, 273.5416666666667},
				Actual:        []float64{291.5, 299.5, 314.5, 327.0},
				BaselineTotal: 1116.2916666666667, ActualTotal: 1232.5, SavingsTotal: -116.20833333333326,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runEventCLI(t, tc.args...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			var got eventJSON
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			g := expectedEvent{SelectedDays: got.SelectedDays, AdjustmentFactor: got.AdjustmentFactor,
				BaselineTotal: got.BaselineTotal, ActualTotal: got.ActualTotal, SavingsTotal: got.SavingsTotal}
			for _, h := range got.Hours {
				g.Baseline = append(g.Baseline, h.Baseline)
				g.Actual = append(g.Actual, h.Actual)
				if math.Abs(h.Savings-(h.Baseline-h.Actual)) > 1e-9 {
					t.Errorf("hour %s: savings %v != baseline − actual", h.Start, h.Savings)
				}
			}
			if diff := cmp.Diff(tc.want, g, cmpopts.EquateApprox(1e-12, 1e-9)); diff != "" {
				t.Errorf("(-python +go):\n%s", diff)
			}
			if len(got.Warnings) != 0 || got.Warnings == nil {
				t.Errorf("warnings = %#v, want []", got.Warnings)
			}
		})
	}
}

// TestEventCLIJSONShape: exact keys in contract order, hour starts in the
// local zone, warnings [] (not null), adjustment_factor null unless
// multiplicative.
func TestEventCLIJSONShape(t *testing.T) {
	code, out, errOut := runEventCLI(t, "--usage", b22, "--timezone", "Europe/London", "--event-start", "2019-07-24T15:00",
		"--event-end", "2019-07-24T17:00", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var keys []string
	dec := json.NewDecoder(strings.NewReader(out))
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"selected_days", "adjustment_factor", "hours", "baseline_total", "actual_total", "savings_total", "warnings"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	for _, s := range []string{`"adjustment_factor": null`, `"warnings": []`, `"start": "2019-07-24T15:00:00+01:00"`, `"start": "2019-07-24T16:00:00+01:00"`} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %s:\n%s", s, out)
		}
	}
	var hours struct {
		Hours []map[string]any `json:"hours"`
	}
	if err := json.Unmarshal([]byte(out), &hours); err != nil || len(hours.Hours) != 2 {
		t.Fatalf("hours %v, %v", hours, err)
	}
	var hk []string
	for k := range hours.Hours[0] {
		hk = append(hk, k)
	}
	if diff := cmp.Diff([]string{"actual", "baseline", "savings", "start"}, hk, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("hour keys (-want +got):\n%s", diff)
	}
}

func TestEventCLIWarning(t *testing.T) {
	// 10 days back from Wednesday 07-24 (07-14..07-23) hold 7 weekdays: x 5 of y 10 warns.
	code, out, errOut := runEventCLI(t, "--usage", b22, "--timezone", "Europe/London", "--event-start", "2019-07-24T15:00",
		"--event-end", "2019-07-24T19:00", "--x", "5", "--lookback-days", "10", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got eventJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "only 7 eligible weekday days") {
		t.Errorf("warnings = %q", got.Warnings)
	}
}

func TestEventCLITable(t *testing.T) {
	code, out, errOut := runEventCLI(t, "--usage", b22, "--timezone", "Europe/London", "--event-start", "2019-07-24T15:00",
		"--event-end", "2019-07-24T19:00", "--x", "5", "--adjust", "multiplicative", "--exclude", "2019-07-23,2019-07-22")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, s := range []string{"baseline high 5 of 10", "selected days: 2019-07-18, 2019-07-16, 2019-07-15, 2019-07-12, 2019-07-11",
		"factor 1.1007", "2019-07-24T15:00:00+01:00       146.266     156.900      -10.634", "total       584.646     689.600     -104.954"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
}

// writeHourly writes an hourly start,value file (plain CSV, or gzip when
// the name ends in .gz) of days from midnight UTC of from, with value
// f(t).
func writeHourly(t *testing.T, name, from string, days int, f func(time.Time) string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("start,value\n")
	lo, _ := time.Parse(time.DateOnly, from)
	for x := lo; x.Before(lo.AddDate(0, 0, days)); x = x.Add(time.Hour) {
		if v := f(x); v != "-" {
			fmt.Fprintf(&b, "%s,%s\n", x.Format(time.RFC3339), v)
		}
	}
	path := filepath.Join(t.TempDir(), name)
	data := []byte(b.String())
	if strings.HasSuffix(name, ".gz") {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEventCLIFallBack: a New York fall-back night event, plain CSV
// input; usage = the local clock hour, so the baseline shows any shift.
func TestEventCLIFallBack(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	path := writeHourly(t, "ny.csv", "2019-09-01", 70, func(x time.Time) string { return fmt.Sprint(x.In(ny).Hour()) })
	code, out, errOut := runEventCLI(t, "--usage", path, "--timezone", "America/New_York", "--event-start", "2019-11-03T00:00",
		"--event-end", "2019-11-03T03:00", "--x", "4", "--y", "4", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got eventJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := []eventHourJSON{
		{"2019-11-03T00:00:00-04:00", 0, 0, 0}, {"2019-11-03T01:00:00-04:00", 1, 1, 0},
		{"2019-11-03T01:00:00-05:00", 1, 1, 0}, {"2019-11-03T02:00:00-05:00", 2, 2, 0},
	}
	if diff := cmp.Diff(want, got.Hours); diff != "" {
		t.Errorf("hours (-want +got):\n%s", diff)
	}
}

func TestParseLocalTime(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	tests := []struct{ in, want string }{
		{"2019-07-24T15:00", "2019-07-24T14:00:00Z"},
		{"2019-07-24 15:00:00", "2019-07-24T14:00:00Z"},
		{"2019-07-24T15:00:00+02:00", "2019-07-24T13:00:00Z"},
		{"2019-10-27T01:00", "2019-10-27T00:00:00Z"}, // repeated hour: first occurrence (BST)
		{"2019-10-27T02:00", "2019-10-27T02:00:00Z"},
		{"2019-03-31T00:00", "2019-03-31T00:00:00Z"},
	}
	for _, tc := range tests {
		got, err := parseLocalTime("--event-start", tc.in, london)
		if err != nil || got.UTC().Format(time.RFC3339) != tc.want {
			t.Errorf("parseLocalTime(%q) = %v, %v; want %s", tc.in, got.UTC(), err, tc.want)
		}
	}
	if _, err := parseLocalTime("--event-start", "2019-03-31T01:30", london); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("spring-forward gap: err = %v", err)
	}
}

func TestEventCLIErrors(t *testing.T) {
	good := []string{"--usage", b22, "--timezone", "Europe/London", "--event-start", "2019-07-24T15:00", "--event-end", "2019-07-24T19:00"}
	with := func(kv ...string) []string {
		args := append([]string(nil), good...)
		for i := 0; i < len(kv); i += 2 {
			found := false
			for j := 0; j < len(args); j += 2 {
				if args[j] == kv[i] {
					args[j+1], found = kv[i+1], true
				}
			}
			if !found {
				args = append(args, kv[i], kv[i+1])
			}
		}
		return args
	}
	without := func(flag string) []string {
		var args []string
		for j := 0; j < len(good); j += 2 {
			if good[j] != flag {
				args = append(args, good[j], good[j+1])
			}
		}
		return args
	}
	unsorted := writeHourly(t, "unsorted.csv", "2019-07-01", 1, func(time.Time) string { return "1" })
	raw, _ := os.ReadFile(unsorted)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	lines[3], lines[4] = lines[4], lines[3]
	os.WriteFile(unsorted, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	dup := filepath.Join(t.TempDir(), "dup.csv.gz")
	{
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		fmt.Fprint(zw, "start,value\n2019-07-01T00:00:00Z,1\n2019-07-01T01:00:00Z,1\n2019-07-01T01:00:00Z,2\n")
		zw.Close()
		os.WriteFile(dup, z.Bytes(), 0o600)
	}
	halfHourly := writeHourly(t, "half.csv", "2019-07-01", 25, func(time.Time) string { return "1" })
	{
		raw, _ := os.ReadFile(halfHourly)
		os.WriteFile(halfHourly, append(raw, []byte("2019-07-26T00:30:00Z,1\n")...), 0o600)
	}
	tests := []struct {
		name string
		args []string
		want string // substring of the one stderr line
	}{
		{"missing usage flag", without("--usage"), "--usage is required"},
		{"missing timezone", without("--timezone"), "--timezone is required"},
		{"missing start", without("--event-start"), "--event-start is required"},
		{"unknown time zone", with("--timezone", "Mars/Olympus_Mons"), `unknown time zone "Mars/Olympus_Mons"`},
		{"end before start", with("--event-end", "2019-07-24T14:00"), "is not after start"},
		{"end equals start", with("--event-end", "2019-07-24T15:00"), "is not after start"},
		{"bad start time", with("--event-start", "24/07/2019 15:00"), `--event-start: bad time "24/07/2019 15:00"`},
		{"start in DST gap", with("--event-start", "2019-03-31T01:00", "--event-end", "2019-03-31T04:00"), "does not exist in Europe/London"},
		{"event before all data", with("--event-start", "2019-01-10T15:00", "--event-end", "2019-01-10T19:00"), "event starts before the first usage reading"},
		{"event after all data", with("--event-start", "2019-12-10T15:00", "--event-end", "2019-12-10T19:00"), "no reading for the event hour starting 2019-12-10T15:00:00Z"},
		{"insufficient history", with("--event-start", "2019-05-03T15:00", "--event-end", "2019-05-03T19:00"), "insufficient history for the customer baseline: 2 eligible weekday days"},
		{"x greater than y", with("--x", "11"), "y = 10 is less than x = 11"},
		{"bad adjust", with("--adjust", "ratio"), `--adjust: invalid event baseline method: unknown adjustment "ratio"`},
		{"negative cap", with("--adjust", "additive", "--adjust-cap", "-1"), "adjustment cap = -1"},
		{"bad exclude date", with("--exclude", "2019-07-23,23/07/2019"), `--exclude: bad date "23/07/2019"`},
		{"bad holiday date", with("--holidays", "2019-02-30"), `--holidays: bad date "2019-02-30"`},
		{"bad integer flag", with("--x", "five"), `invalid value "five" for flag -x`},
		{"unknown flag", with("--colour", "red"), "flag provided but not defined: -colour"},
		{"missing file", with("--usage", "no-such-file.csv"), "--usage: open no-such-file.csv: no such file or directory"},
		{"unsorted hours", with("--usage", unsorted), "line 5 (2019-07-01T02:00:00Z) field start: timestamps not in increasing order"},
		{"duplicate hours gzipped", with("--usage", dup), "line 4 (2019-07-01T01:00:00Z) field start: duplicate timestamp"},
		{"half-hour reading", with("--usage", halfHourly, "--event-start", "2019-07-26T15:00", "--event-end", "2019-07-26T16:00"), "usage is not hourly"},
		{"weather without temperature", with("--select", "weather"), "--select weather needs --temperature"},
		{"unexpected argument", append(with(), "extra"), `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runEventCLI(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.HasPrefix(errOut, "negawatt event: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q, want one line containing %q", errOut, tc.want)
			}
		})
	}
}

func TestEventCLIWeatherAndHelp(t *testing.T) {
	code, out, errOut := runEventCLI(t, "--usage", b22, "--temperature", "../../testdata/cambridge/bedford_tempC_2019-05_2019-11.csv.gz",
		"--timezone", "Europe/London", "--event-start", "2019-07-24T15:00", "--event-end", "2019-07-24T19:00", "--x", "3", "--select", "weather", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got eventJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// Event-window mean 29.4 °C; closest of the 10 candidates (Python,
	// independently): 07-23 31.6, 07-22 25.325, 07-16 24.65.
	if diff := cmp.Diff([]string{"2019-07-23", "2019-07-22", "2019-07-16"}, got.SelectedDays); diff != "" {
		t.Errorf("selected (-want +got):\n%s", diff)
	}
	code, out, errOut = runEventCLI(t, "--usage", b22, "--timezone", "Europe/London", "--event-start", "2019-07-27T15:00",
		"--event-end", "2019-07-27T19:00", "--y", "4", "--json")
	if code != exitOK {
		t.Fatalf("--y 4 alone: exit %d: %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// A Saturday: the 4 most recent weekend days, all kept (x follows y).
	if diff := cmp.Diff([]string{"2019-07-21", "2019-07-20", "2019-07-14", "2019-07-13"}, got.SelectedDays); diff != "" {
		t.Errorf("--y 4 selected (-want +got):\n%s", diff)
	}
	if code, out, _ := runEventCLI(t, "--help"); code != exitOK || !strings.Contains(out, "--event-start") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}

// FuzzParseEventInputs: the CLI's own parsers of outside input (event
// times and date lists) never panic, and a parsed time reads back as the
// same wall clock, or is an explicit offset.
func FuzzParseEventInputs(f *testing.F) {
	for _, s := range []string{"2019-07-24T15:00", "2019-10-27T01:00", "2019-03-31T01:30", "2019-07-24T15:00:00+02:00", "2019-07-23,2019-07-22", "", ",,", "2019-02-30", "x"} {
		f.Add(s)
	}
	locs := []*time.Location{}
	for _, z := range []string{"Europe/London", "America/New_York", "Australia/Lord_Howe"} {
		l, err := time.LoadLocation(z)
		if err != nil {
			f.Fatal(err)
		}
		locs = append(locs, l)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, loc := range locs {
			if tm, err := parseLocalTime("--event-start", s, loc); err == nil && tm.Location() != loc {
				t.Fatalf("%q parsed into %v, not %v", s, tm.Location(), loc)
			}
		}
		if ds, err := parseDateList("--exclude", s); err == nil {
			for _, d := range ds {
				if !strings.Contains(s, d.String()) {
					t.Fatalf("%q gave date %s", s, d)
				}
			}
		}
	})
}
