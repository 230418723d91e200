package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// copyFile copies src to dst (test helper).
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// samplesDir is a temp dir holding the 12 eemeter samples and the
// temperature file (which --dir must skip).
func samplesDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range allSamples {
		copyFile(t, sampleDir+s+".csv.gz", filepath.Join(dir, s+".csv.gz"))
	}
	copyFile(t, tempFile, filepath.Join(dir, "il-tempF.csv.gz"))
	return dir
}

// jsonLines decodes one JSON object per line.
func jsonLines(t *testing.T, out string) []map[string]json.RawMessage {
	t.Helper()
	var rows []map[string]json.RawMessage
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		rows = append(rows, m)
	}
	return rows
}

func keysOf(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestBaselineBatchDirMatchesFit fits the 12 eemeter samples from a
// directory (method auto-detected) and checks every line against what
// `baseline fit --json` prints for that file with the method its name
// says: the batch must be the single-meter fit, many times.
func TestBaselineBatchDirMatchesFit(t *testing.T) {
	t.Parallel()
	dir := samplesDir(t)
	temp := filepath.Join(dir, "il-tempF.csv.gz")
	single := map[string]map[string]json.RawMessage{}
	for _, s := range allSamples {
		code, out, errs := runCLI(t, "baseline", "fit", "--usage", sampleDir+s+".csv.gz", "--temperature", tempFile,
			"--method", methodOf(s), "--baseline-end", "2016-12-26T00:00:00Z", "--json")
		if code != exitOK {
			t.Fatalf("fit %s: %s", s, errs)
		}
		var fit map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &fit); err != nil {
			t.Fatal(err)
		}
		single[s] = fit
	}
	for _, workers := range []string{"1", "3"} {
		t.Run("workers="+workers, func(t *testing.T) {
			t.Parallel()
			code, out, errs := runCLI(t, "baseline", "batch", "--dir", dir, "--temperature", temp,
				"--baseline-end", "2016-12-26T00:00:00Z", "--json", "--quiet", "--workers", workers)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if errs != "" {
				t.Errorf("--quiet stderr: %q", errs)
			}
			rows := jsonLines(t, out)
			want := append([]string(nil), allSamples...)
			sort.Strings(want)
			if len(rows) != len(want) {
				t.Fatalf("%d lines, want %d", len(rows), len(want))
			}
			for i, s := range want {
				var meter string
				_ = json.Unmarshal(rows[i]["meter"], &meter)
				if meter != s {
					t.Errorf("line %d meter %q, want %q (input order)", i, meter, s)
				}
				if string(rows[i]["error"]) != "null" {
					t.Errorf("%s: error %s", s, rows[i]["error"])
				}
				got := map[string]json.RawMessage{}
				for k, v := range rows[i] {
					if k != "meter" && k != "error" {
						got[k] = v
					}
				}
				if d := cmp.Diff(single[s], got); d != "" {
					t.Errorf("%s: batch line differs from baseline fit --json (-fit +batch):\n%s", s, d)
				}
			}
		})
	}
}

func TestBaselineBatchTable(t *testing.T) {
	t.Parallel()
	dir := samplesDir(t)
	code, out, errs := runCLI(t, "baseline", "batch", "--dir", dir, "--temperature", filepath.Join(dir, "il-tempF.csv.gz"),
		"--baseline-end", "2016-12-26T00:00:00Z", "--fit-cdd=false")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "METER ") || !strings.Contains(lines[0], "ADJ R²") || !strings.Contains(lines[0], "SUFFICIENCY") {
		t.Errorf("header %q", lines[0])
	}
	// eemeter goldens (fit_cdd=False): the daily gas hdd-only sample is
	// hdd_only at 60 °F; intercept-only is intercept_only.
	for _, want := range []string{"il-gas-hdd-only-daily", "hdd_only", "60", "intercept_only",
		"12 meters: 12 fitted, 0 failed; sufficiency 4 PASS, 8 FAIL", "meters/s ("} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// stderr is not a terminal: plain lines only, ending with the total.
	if !strings.HasSuffix(errs, "negawatt baseline batch: 12/12 meters, 0 failed, "+lastField(errs)) || strings.Contains(errs, "\r") {
		t.Errorf("progress on a non-terminal: %q", errs)
	}
}

// lastField returns the text after the last ", " of the last line.
func lastField(s string) string {
	s = strings.TrimSuffix(s, "\n")
	s = s[strings.LastIndex(s, "\n")+1:]
	return s[strings.LastIndex(s, ", ")+2:] + "\n"
}

// TestBaselineBatchManifest mixes good and bad meters: the bad ones are
// reported in their rows, the others are fitted, and the exit code is 1.
func TestBaselineBatchManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "meters"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, sampleDir+"il-electricity-cdd-hdd-daily.csv.gz", filepath.Join(dir, "meters", "house.csv.gz"))
	copyFile(t, sampleDir+"il-gas-hdd-only-billing_monthly.csv.gz", filepath.Join(dir, "meters", "gas.csv.gz"))
	if err := os.WriteFile(filepath.Join(dir, "meters", "bad.csv"), []byte("start,value\n2016-01-01T00:00:00Z,1\nyesterday,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	absTemp, err := filepath.Abs(tempFile)
	if err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "m.csv")
	body := "# meters of the pilot\nmeter_id,usage_file,method,temperature_file,baseline_end\n" +
		"house,meters/house.csv.gz,daily,,\n" +
		"gas,meters/gas.csv.gz,billing," + absTemp + ",2016-12-26T00:00:00Z\n" +
		"broken,meters/bad.csv,,,\n" +
		"gone,meters/missing.csv,,,\n" +
		"early,meters/house.csv.gz,daily,,2001-01-01T00:00:00Z\n"
	if err := os.WriteFile(manifest, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "baseline", "batch", "--manifest", manifest, "--temperature", tempFile,
		"--baseline-end", "2016-12-26T00:00:00Z", "--json", "--workers", "2")
	if code != exitProblem {
		t.Fatalf("exit %d, want %d: %s", code, exitProblem, errs)
	}
	rows := jsonLines(t, out)
	if len(rows) != 5 {
		t.Fatalf("%d lines, want 5:\n%s", len(rows), out)
	}
	wantErr := map[string]string{"house": "", "gas": "", "broken": "bad.csv: line 3", "gone": "missing.csv", "early": "no usable data"}
	for i, m := range []string{"house", "gas", "broken", "gone", "early"} {
		var meter string
		var errMsg *string
		_ = json.Unmarshal(rows[i]["meter"], &meter)
		_ = json.Unmarshal(rows[i]["error"], &errMsg)
		if meter != m {
			t.Errorf("line %d: meter %q, want %q", i, meter, m)
		}
		switch w := wantErr[m]; {
		case w == "" && errMsg != nil:
			t.Errorf("%s: unexpected error %q", m, *errMsg)
		case w != "" && (errMsg == nil || !strings.Contains(*errMsg, w)):
			t.Errorf("%s: error %v, want one mentioning %q", m, errMsg, w)
		}
		if d := cmp.Diff(keysOf(rows[0]), keysOf(rows[i])); d != "" {
			t.Errorf("%s: keys differ from a fitted row:\n%s", m, d)
		}
	}
	var mt string
	_ = json.Unmarshal(rows[1]["model_type"], &mt)
	if mt != "hdd_only" || string(rows[1]["method"]) != `"caltrack_billing"` {
		t.Errorf("gas: %s %s", rows[1]["method"], rows[1]["model_type"])
	}
	if !strings.Contains(errs, "5 meters: 2 fitted, 3 failed") {
		t.Errorf("totals on stderr with --json: %q", errs)
	}

	// The table shows the errors in their rows, and the same exit code.
	code, out, _ = runCLI(t, "baseline", "batch", "--manifest", manifest, "--temperature", tempFile,
		"--baseline-end", "2016-12-26T00:00:00Z", "--quiet")
	if code != exitProblem || !strings.Contains(out, "bad.csv: line 3") || !strings.Contains(out, "5 meters: 2 fitted, 3 failed") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}

func TestBaselineBatchBadUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	end := []string{"--temperature", tempFile, "--baseline-end", "2016-12-26T00:00:00Z"}
	args := func(extra ...string) []string { return append(append([]string{"baseline", "batch"}, end...), extra...) }
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"neither", args(), "exactly one of --manifest or --dir"},
		{"both", args("--dir", sampleDir, "--manifest", write("m0.csv", "meter_id,usage_file\n")), "exactly one"},
		{"workers", args("--dir", sampleDir, "--workers", "0"), "--workers 0"},
		{"method", args("--dir", sampleDir, "--method", "hourly"), `--method "hourly"`},
		{"max p", args("--dir", sampleDir, "--max-p-value", "2"), "--max-p-value"},
		{"no end", []string{"baseline", "batch", "--dir", sampleDir, "--temperature", tempFile}, "--baseline-end is required"},
		{"dir without temperature", []string{"baseline", "batch", "--dir", sampleDir, "--baseline-end", "2016-12-26T00:00:00Z"}, "--temperature is required"},
		{"missing temperature", []string{"baseline", "batch", "--dir", sampleDir, "--temperature", filepath.Join(dir, "t.csv"), "--baseline-end", "2016-12-26T00:00:00Z"}, "t.csv"},
		{"bad temperature", []string{"baseline", "batch", "--dir", sampleDir, "--temperature", write("badtemp.csv", "dt,tempF\nnot-a-time,1\n"),
			"--baseline-end", "2016-12-26T00:00:00Z"}, "badtemp.csv: line 2"},
		{"missing dir", args("--dir", filepath.Join(dir, "nope")), "nope"},
		{"empty dir", args("--dir", empty), "no *.csv"},
		{"missing manifest", args("--manifest", filepath.Join(dir, "nope.csv")), "nope.csv"},
		{"empty manifest", args("--manifest", write("m1.csv", "")), "empty manifest"},
		{"no meters", args("--manifest", write("m2.csv", "meter_id,usage_file\n")), "no meters"},
		{"missing column", args("--manifest", write("m3.csv", "meter_id,file\na,b.csv\n")), `unknown column "file"`},
		{"no usage column", args("--manifest", write("m4.csv", "meter_id\na\n")), `missing column "usage_file"`},
		{"duplicate meter", args("--manifest", write("m5.csv", "meter_id,usage_file\na,x.csv\nb,y.csv\na,z.csv\n")), "m5.csv line 4: meter_id \"a\" already on line 2"},
		{"empty meter", args("--manifest", write("m6.csv", "meter_id,usage_file\n,x.csv\n")), "m6.csv line 2: empty meter_id"},
		{"bad row method", args("--manifest", write("m7.csv", "meter_id,usage_file,method\na,x.csv,weekly\n")), "m7.csv line 2: method \"weekly\""},
		{"bad row end", args("--manifest", write("m8.csv", "meter_id,usage_file,baseline_end\na,x.csv,tomorrow\n")), "m8.csv line 2: baseline_end"},
		{"short row", args("--manifest", write("m9.csv", "meter_id,usage_file,method\na,x.csv\n")), "m9.csv line 2: 2 fields"},
		{"no temperature anywhere", []string{"baseline", "batch", "--manifest", write("m10.csv", "meter_id,usage_file\na,x.csv\n"),
			"--baseline-end", "2016-12-26T00:00:00Z"}, "m10.csv line 2: no temperature_file"},
		{"no end anywhere", []string{"baseline", "batch", "--manifest", write("m11.csv", "meter_id,usage_file\na,x.csv\n"),
			"--temperature", tempFile}, "m11.csv line 2: no baseline_end"},
		{"unknown flag", args("--dir", sampleDir, "--usage", "x.csv"), "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) || !strings.HasPrefix(errs, "negawatt baseline batch: ") {
				t.Errorf("stderr %q, want one line mentioning %q", errs, tc.want)
			}
		})
	}
}

// TestProgressBar renders the terminal bar directly (tests never run on a
// terminal).
func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, total: 10, tty: true, start: time.Now().Add(-time.Second)}
	for i := 0; i < 4; i++ {
		p.add(i == 0)
	}
	p.print(false)
	got := b.String()
	want := "\r[############------------------] 4/10 meters  1 failed  "
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "\x1b[K") || strings.Contains(got, "\n") {
		t.Errorf("bar %q, want prefix %q, no newline", got, want)
	}
	b.Reset()
	for i := 0; i < 6; i++ {
		p.add(false)
	}
	p.print(true)
	if got := b.String(); !strings.Contains(got, "[##############################] 10/10") || !strings.HasSuffix(got, "ETA -\x1b[K\n") {
		t.Errorf("final bar %q", got)
	}
}

// BenchmarkBaselineBatch fits N copies of the daily cdd-hdd sample from a
// directory (the whole command: reading every gzipped CSV, the shared
// temperature file once, CalTRACK daily fits with sufficiency) and
// reports meters/s.
func BenchmarkBaselineBatch(b *testing.B) {
	const meters = 200
	dir := b.TempDir()
	for i := range meters {
		copyFile(b, sampleDir+"il-electricity-cdd-hdd-daily.csv.gz", filepath.Join(dir, fmt.Sprintf("m%04d.csv.gz", i)))
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("meters=%d/workers=%d", meters, workers), func(b *testing.B) {
			args := []string{"baseline", "batch", "--dir", dir, "--temperature", tempFile, "--method", "daily",
				"--baseline-end", "2016-12-26T00:00:00Z", "--json", "--quiet", "--workers", fmt.Sprint(workers)}
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if code := run(args, io.Discard, io.Discard); code != exitOK {
					b.Fatalf("exit %d", code)
				}
			}
			b.ReportMetric(float64(meters*b.N)/time.Since(start).Seconds(), "meters/s")
		})
	}
}

// TestParseManifest checks the parsed jobs of a manifest by hand.
func TestParseManifest(t *testing.T) {
	f := &fitFlags{temperature: "/w/t.csv", method: methodAuto, baselineEnd: "2016-12-26T00:00:00Z"}
	in := "\ufeffMeter_ID, usage_file ,method,temperature_file,baseline_end\n" +
		"# comment line\n" +
		"a,a.csv,,,\n" +
		"b,/abs/b.csv.gz,BILLING,w2.csv,2017-01-01T00:00:00Z\n" +
		"\"c, quoted\",sub/c.csv,daily,,\n"
	got, err := parseManifest(strings.NewReader(in), "/m/pilot.csv", f)
	if err != nil {
		t.Fatal(err)
	}
	want := []batchJob{
		{meter: "a", usage: "/m/a.csv", temperature: "/w/t.csv", method: "auto", where: "/m/pilot.csv line 3"},
		{meter: "b", usage: "/abs/b.csv.gz", temperature: "/m/w2.csv", method: "billing", end: "2017-01-01T00:00:00Z", where: "/m/pilot.csv line 4"},
		{meter: "c, quoted", usage: "/m/sub/c.csv", temperature: "/w/t.csv", method: "daily", where: "/m/pilot.csv line 5"},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(batchJob{})); d != "" {
		t.Errorf("jobs (-want +got):\n%s", d)
	}
}

// FuzzParseManifest: any manifest either parses into jobs with a meter,
// a usage file and a known method, or fails with an error naming the
// manifest; never a panic.
func FuzzParseManifest(f *testing.F) {
	f.Add("meter_id,usage_file\na,a.csv\n")
	f.Add("meter_id,usage_file,temperature_file,method,baseline_end\na,a.csv,t.csv,daily,2016-12-26T00:00:00Z\n")
	f.Add("meter_id,usage_file\na,a.csv\na,b.csv\n")
	f.Add("# c\nmeter_id,usage_file,method\n\"x\"\"y\",u,auto\n")
	f.Add("meter_id,usage_file\n\"a,b\n")
	flags := &fitFlags{temperature: "t.csv", method: methodAuto, baselineEnd: "2016-12-26T00:00:00Z"}
	f.Fuzz(func(t *testing.T, in string) {
		jobs, err := parseManifest(strings.NewReader(in), "m.csv", flags)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "m.csv") {
				t.Fatalf("error %q does not name the manifest", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, j := range jobs {
			if j.meter == "" || j.usage == "" || j.temperature == "" || seen[j.meter] {
				t.Fatalf("bad job %+v", j)
			}
			seen[j.meter] = true
			if j.method != methodAuto && j.method != "daily" && j.method != "billing" && j.method != "caltrack_daily" && j.method != "caltrack_billing" {
				t.Fatalf("method %q accepted", j.method)
			}
		}
	})
}
