package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

func init() {
	baselineSubs["batch"] = baselineSub{usage: baselineBatchUsage, run: runBaselineBatch}
}

const baselineBatchUsage = "negawatt baseline batch --manifest M.csv | --dir DIR --temperature T.csv --baseline-end T [--method daily|billing|auto] [--baseline-days 365] [--fit-cdd=true|false] [--max-p-value 1] [--workers N] [--quiet] [--json]"

// Manifest format (`baseline batch --manifest M.csv`): a CSV file with a
// header naming its columns (any order, case-insensitive; lines starting
// with # are comments):
//
//	meter_id,usage_file,temperature_file,method,baseline_end
//	house-1,meters/house-1.csv.gz,,daily,
//	shop-7,/data/shop-7.csv,weather/ord.csv,billing,2016-12-26T00:00:00Z
//
// meter_id and usage_file are required; the other columns are optional and
// an empty cell takes the command-line value (--temperature, --method,
// --baseline-end). Relative paths are relative to the manifest's directory.
// method is daily, billing or auto.
//
// With --dir DIR every *.csv and *.csv.gz file directly in DIR is a meter
// named after the file (without .csv/.csv.gz), except the --temperature
// file itself; hidden files are skipped.
const manifestColumns = "meter_id,usage_file[,temperature_file,method,baseline_end]"

// methodAuto picks daily or billing from the usage file's reading spacing.
const methodAuto = "auto"

// batchJob is one meter to fit.
type batchJob struct {
	meter       string
	usage       string // path
	temperature string // path
	method      string // daily, billing or auto
	end         string // RFC 3339, "" for --baseline-end
	where       string // "M.csv line 3" or the file path, for messages
}

// batchResult is one meter's outcome.
type batchResult struct {
	index  int
	meter  string
	res    *baseline.FitResult
	method baseline.Method
	err    error
}

// runBaselineBatch fits many meters concurrently on a bounded pool of
// workers and prints a summary table (or one JSON line per meter).
// Exit code 1 when any meter failed, 2 for bad usage or a bad manifest.
func runBaselineBatch(args []string, stdout, stderr io.Writer) int {
	const name = "baseline batch"
	var f fitFlags
	var manifest, dir string
	var workers int
	var quiet bool
	fs := newFlagSet(name)
	f.registerModel(fs)
	fs.StringVar(&manifest, "manifest", "", "CSV manifest: "+manifestColumns+" (paths relative to the manifest)")
	fs.StringVar(&dir, "dir", "", "fit every *.csv / *.csv.gz in this directory (meter id = file name)")
	fs.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "meters fitted concurrently")
	fs.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	mf := fs.Lookup("method")
	mf.Usage, mf.DefValue = "daily, billing or auto (daily when usage readings are at most a day apart)", methodAuto
	f.method = methodAuto
	fs.Lookup("temperature").Usage = "hourly temperature CSV (for --dir, and for manifest rows without temperature_file)"
	fs.Lookup("json").Usage = "print one JSON line per meter (baseline fit --json keys + meter, error); totals go to stderr"
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlagHelp(stdout, baselineBatchUsage, fs)
			return exitOK
		}
		return fail(stderr, name, err)
	}
	jobs, err := batchJobs(&f, manifest, dir, workers)
	if err != nil {
		return fail(stderr, name, err)
	}
	workers = min(workers, len(jobs))

	temps := &tempCache{m: map[string]*tempEntry{}}
	if f.temperature != "" {
		// A bad shared weather file is a usage error, not a failure of
		// every meter.
		if _, err := temps.get(f.temperature); err != nil {
			return fail(stderr, name, err)
		}
	}
	start := time.Now()
	prog := newProgress(stderr, len(jobs), quiet, start)
	results := make([]batchResult, len(jobs))
	var printErr error
	next := 0 // results[:next] have been printed (JSON lines stream in input order)
	done := make([]bool, len(jobs))
	for r := range fitAll(jobs, workers, func(j batchJob) (*baseline.FitResult, baseline.Method, error) { return fitJob(&f, temps, j) }) {
		results[r.index], done[r.index] = r, true
		prog.add(r.err != nil)
		for f.json && next < len(jobs) && done[next] {
			if err := printBatchJSON(stdout, &results[next]); err != nil && printErr == nil {
				printErr = err
			}
			next++
		}
	}
	elapsed := time.Since(start)
	prog.finish()
	if printErr != nil {
		return fail(stderr, name, printErr)
	}
	failed := 0
	for _, r := range results {
		if r.err != nil {
			failed++
		}
	}
	if f.json {
		if !quiet {
			printBatchTotals(stderr, results, elapsed, workers)
		}
	} else {
		printBatchTable(stdout, results)
		printBatchTotals(stdout, results, elapsed, workers)
	}
	if failed > 0 {
		return exitProblem
	}
	return exitOK
}

// fitAll runs fit on every job with at most workers goroutines and sends
// each result as it completes; the channel closes after the last.
func fitAll(jobs []batchJob, workers int, fit func(batchJob) (*baseline.FitResult, baseline.Method, error)) <-chan batchResult {
	out := make(chan batchResult, workers)
	idx := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				res, m, err := fit(jobs[i])
				out <- batchResult{index: i, meter: jobs[i].meter, res: res, method: m, err: err}
			}
		}()
	}
	go func() {
		for i := range jobs {
			idx <- i
		}
		close(idx)
		wg.Wait()
		close(out)
	}()
	return out
}

// fitJob reads one meter's usage and fits it exactly as `baseline fit`
// would with the same flags.
func fitJob(f *fitFlags, temps *tempCache, j batchJob) (*baseline.FitResult, baseline.Method, error) {
	u, err := readUsageFile(j.usage)
	if err != nil {
		return nil, 0, err
	}
	var m baseline.Method
	if j.method == methodAuto {
		if m, err = detectMethod(u); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", j.usage, err)
		}
	} else if m, err = baseline.ParseMethod(j.method); err != nil {
		return nil, 0, fmt.Errorf("%s: method %q: want daily, billing or auto", j.where, j.method)
	}
	ff := *f
	ff.usage = j.usage
	if j.end != "" {
		ff.baselineEnd = j.end
	}
	o, end, err := ff.options(m)
	if err != nil {
		return nil, m, fmt.Errorf("%s: %w", j.where, err)
	}
	t, err := temps.get(j.temperature)
	if err != nil {
		return nil, m, err
	}
	in := &fitInputs{usage: u, temp: t, end: end, opts: o}
	res, err := in.fit(&ff)
	return res, m, err
}

// detectMethod chooses the CalTRACK method from the median spacing of the
// readings: at most one day apart (daily or hourly meters) is daily,
// longer (monthly, bimonthly bills) is billing.
func detectMethod(u *baseline.Usage) (baseline.Method, error) {
	if u.Len() < 2 {
		return 0, errors.New("method auto: fewer than two readings")
	}
	gaps := make([]time.Duration, u.Len()-1)
	for i := range gaps {
		gaps[i] = u.At(i + 1).Start.Sub(u.At(i).Start)
	}
	sort.Slice(gaps, func(a, b int) bool { return gaps[a] < gaps[b] })
	if gaps[len(gaps)/2] <= 24*time.Hour {
		return baseline.Daily, nil
	}
	return baseline.Billing, nil
}

// tempCache reads each temperature file once, however many meters share it.
type tempCache struct {
	mu sync.Mutex
	m  map[string]*tempEntry
}

type tempEntry struct {
	once sync.Once
	t    *baseline.Temperature
	err  error
}

func (c *tempCache) get(path string) (*baseline.Temperature, error) {
	c.mu.Lock()
	e, ok := c.m[path]
	if !ok {
		e = &tempEntry{}
		c.m[path] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.t, e.err = readTemperatureFile(path) })
	return e.t, e.err
}

// batchJobs validates the flags and lists the meters.
func batchJobs(f *fitFlags, manifest, dir string, workers int) ([]batchJob, error) {
	if (manifest == "") == (dir == "") {
		return nil, errors.New("give exactly one of --manifest or --dir")
	}
	if workers < 1 {
		return nil, fmt.Errorf("--workers %d: must be at least 1", workers)
	}
	if f.method != methodAuto {
		if _, err := baseline.ParseMethod(f.method); err != nil {
			return nil, fmt.Errorf("--method %q: want daily, billing or auto", f.method)
		}
	}
	// Validate the shared options once so a bad flag is a usage error,
	// not a failure repeated on every meter. A manifest may give every
	// meter its own baseline_end instead of --baseline-end.
	check := *f
	if check.baselineEnd == "" && manifest != "" {
		check.baselineEnd = "2000-01-01T00:00:00Z"
	}
	if _, _, err := check.options(baseline.Daily); err != nil {
		return nil, err
	}
	var jobs []batchJob
	var err error
	if dir != "" {
		if f.temperature == "" {
			return nil, errors.New("--temperature is required with --dir")
		}
		jobs, err = dirJobs(f, dir)
	} else {
		jobs, err = manifestJobs(f, manifest)
	}
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

func dirJobs(f *fitFlags, dir string) ([]batchJob, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	tempInfo, err := os.Stat(f.temperature)
	if err != nil {
		return nil, err
	}
	var jobs []batchJob
	seen := map[string]string{}
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".csv.gz")) {
			continue
		}
		path := filepath.Join(dir, n)
		info, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() || os.SameFile(info, tempInfo) {
			continue
		}
		meter := usageStem(n)
		if prev, dup := seen[meter]; dup {
			return nil, fmt.Errorf("%s: meter %q has two files: %s and %s", dir, meter, prev, n)
		}
		seen[meter] = n
		jobs = append(jobs, batchJob{meter: meter, usage: path, temperature: f.temperature, method: f.method, where: path})
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%s: no *.csv or *.csv.gz usage files", dir)
	}
	return jobs, nil // os.ReadDir sorts by name
}

func manifestJobs(f *fitFlags, manifest string) ([]batchJob, error) {
	file, err := os.Open(manifest)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return parseManifest(file, manifest, f)
}

// parseManifest reads a manifest named manifest (for messages and as the
// base of relative paths) from r; see manifestColumns.
func parseManifest(in io.Reader, manifest string, f *fitFlags) ([]batchJob, error) {
	base := filepath.Dir(manifest)
	resolve := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	r := csv.NewReader(in)
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty manifest (want a header %s)", manifest, manifestColumns)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", manifest, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "meter_id", "usage_file", "temperature_file", "method", "baseline_end":
		default:
			return nil, fmt.Errorf("%s line 1: unknown column %q (want %s)", manifest, h, manifestColumns)
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%s line 1: column %q twice", manifest, h)
		}
		col[h] = i
	}
	for _, req := range []string{"meter_id", "usage_file"} {
		if _, ok := col[req]; !ok {
			return nil, fmt.Errorf("%s line 1: missing column %q (want %s)", manifest, req, manifestColumns)
		}
	}
	var jobs []batchJob
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", manifest, err)
		}
		line, _ := r.FieldPos(0)
		where := fmt.Sprintf("%s line %d", manifest, line)
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%s: %d fields, header has %d", where, len(rec), len(header))
		}
		cell := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		j := batchJob{meter: cell("meter_id"), usage: cell("usage_file"), temperature: cell("temperature_file"),
			method: strings.ToLower(cell("method")), end: cell("baseline_end"), where: where}
		if j.meter == "" {
			return nil, fmt.Errorf("%s: empty meter_id", where)
		}
		if prev, dup := seen[j.meter]; dup {
			return nil, fmt.Errorf("%s: meter_id %q already on line %d", where, j.meter, prev)
		}
		seen[j.meter] = line
		if j.usage == "" {
			return nil, fmt.Errorf("%s: empty usage_file", where)
		}
		j.usage = resolve(j.usage)
		if j.temperature == "" {
			if f.temperature == "" {
				return nil, fmt.Errorf("%s: no temperature_file and no --temperature", where)
			}
			j.temperature = f.temperature
		} else {
			j.temperature = resolve(j.temperature)
		}
		if j.method == "" {
			j.method = f.method
		} else if j.method != methodAuto {
			if _, err := baseline.ParseMethod(j.method); err != nil {
				return nil, fmt.Errorf("%s: method %q: want daily, billing or auto", where, j.method)
			}
		}
		if j.end != "" {
			if _, err := parseTimeFlag("baseline_end", j.end); err != nil {
				return nil, fmt.Errorf("%s: baseline_end %q: not RFC 3339 (e.g. 2016-12-26T00:00:00Z)", where, j.end)
			}
		} else if f.baselineEnd == "" {
			return nil, fmt.Errorf("%s: no baseline_end and no --baseline-end", where)
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%s: no meters", manifest)
	}
	return jobs, nil
}

// batchJSONRow is one `--json` line for a fitted meter: the `baseline fit
// --json` keys plus "meter" and "error" (null).
type batchJSONRow struct {
	Meter string `json:"meter"`
	fitJSON
	Error *string `json:"error"`
}

// batchJSONFailed is the line for a meter that failed: the same keys, all
// null but "meter" and "error".
type batchJSONFailed struct {
	Meter               string          `json:"meter"`
	Method              *string         `json:"method"`
	ModelType           *string         `json:"model_type"`
	HeatingBalancePoint *int            `json:"heating_balance_point"`
	CoolingBalancePoint *int            `json:"cooling_balance_point"`
	Intercept           *float64        `json:"intercept"`
	BetaHDD             *float64        `json:"beta_hdd"`
	BetaCDD             *float64        `json:"beta_cdd"`
	RSquaredAdj         *float64        `json:"r_squared_adj"`
	CVRMSEAdj           *float64        `json:"cvrmse_adj"`
	NMBE                *float64        `json:"nmbe"`
	N                   *int            `json:"n"`
	Candidates          *candidatesJSON `json:"candidates"`
	Sufficiency         *sufficiencyOut `json:"sufficiency"`
	Error               string          `json:"error"`
}

func printBatchJSON(w io.Writer, r *batchResult) error {
	var v any
	if r.err != nil {
		v = batchJSONFailed{Meter: r.meter, Error: r.err.Error()}
	} else {
		v = batchJSONRow{Meter: r.meter, fitJSON: newFitJSON(r.res)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func printBatchTable(w io.Writer, results []batchResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METER\tMETHOD\tMODEL\tHBP °F\tCBP °F\tADJ R²\tCV(RMSE)\tSUFFICIENCY\tERROR")
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t%s\n", r.meter, strings.ReplaceAll(oneLine(r.err.Error()), "\t", " "))
			continue
		}
		j := newFitJSON(r.res)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\n", r.meter, strings.TrimPrefix(j.Method, "caltrack_"), j.ModelType,
			optInt(j.HeatingBalancePoint), optInt(j.CoolingBalancePoint), fmtFixed(j.RSquaredAdj), fmtFixed(j.CVRMSEAdj), j.Sufficiency.Status)
	}
	tw.Flush()
}

func optInt(p *int) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func fmtFixed(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", *p)
}

// printBatchTotals prints counts by outcome, model type and sufficiency,
// and the throughput.
func printBatchTotals(w io.Writer, results []batchResult, elapsed time.Duration, workers int) {
	failed, pass := 0, 0
	types := map[string]int{}
	for _, r := range results {
		if r.err != nil {
			failed++
			continue
		}
		types[r.res.Model.Type.String()]++
		if r.res.Sufficiency.Status == baseline.Pass {
			pass++
		}
	}
	fitted := len(results) - failed
	fmt.Fprintf(w, "\n%d meters: %d fitted, %d failed; sufficiency %d PASS, %d FAIL\n", len(results), fitted, failed, pass, fitted-pass)
	var parts []string
	for _, t := range []baseline.ModelType{baseline.InterceptOnly, baseline.HDDOnly, baseline.CDDOnly, baseline.CDDHDD} {
		if n := types[t.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "models: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "%.3f s, %.1f meters/s (%d workers)\n", elapsed.Seconds(), rate(len(results), elapsed), workers)
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// progress reports on stderr: a redrawn bar when stderr is a terminal,
// otherwise a plain line every plainEvery (and one at the end), nothing
// with --quiet.
type progress struct {
	w             io.Writer
	total         int
	tty, quiet    bool
	start         time.Time
	done, failed  atomic.Int64
	stop, stopped chan struct{}
}

// Redraw intervals: fast for the bar, slow for log-friendly lines.
const (
	barEvery   = 100 * time.Millisecond
	plainEvery = 5 * time.Second
)

func newProgress(w io.Writer, total int, quiet bool, start time.Time) *progress {
	p := &progress{w: w, total: total, quiet: quiet, tty: isTerminal(w), start: start,
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if quiet {
		close(p.stopped)
		return p
	}
	every := plainEvery
	if p.tty {
		every = barEvery
	}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print(false)
			}
		}
	}()
	return p
}

func (p *progress) add(failed bool) {
	p.done.Add(1)
	if failed {
		p.failed.Add(1)
	}
}

// finish stops the ticker and prints the final state.
func (p *progress) finish() {
	close(p.stop)
	<-p.stopped
	if !p.quiet {
		p.print(true)
	}
}

func (p *progress) print(final bool) {
	done, failed := int(p.done.Load()), int(p.failed.Load())
	el := time.Since(p.start)
	r := rate(done, el)
	if !p.tty {
		fmt.Fprintf(p.w, "negawatt baseline batch: %d/%d meters, %d failed, %.1f meters/s\n", done, p.total, failed, r)
		return
	}
	const width = 30
	filled := width * done / p.total
	eta := "-"
	if r > 0 && done < p.total {
		eta = time.Duration(float64(p.total-done) / r * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d meters  %d failed  %.1f meters/s  ETA %s\x1b[K",
		strings.Repeat("#", filled), strings.Repeat("-", width-filled), done, p.total, failed, r, eta)
	if final {
		fmt.Fprintln(p.w)
	}
}

// isTerminal reports whether w is a character device (a terminal), using
// only the standard library.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
