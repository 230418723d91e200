package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// openInput opens a CSV file, transparently decompressing gzip (detected
// by its magic bytes, whatever the file name).
func openInput(path string) (io.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: bad gzip data: %v", path, err)
		}
		return zr, f.Close, nil
	}
	return br, f.Close, nil
}

// readAllInput reads a whole (possibly gzipped) file.
func readAllInput(path string) ([]byte, error) {
	r, closeFn, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return b, nil
}

// headerOf returns the CSV header fields (empty when unreadable).
func headerOf(b []byte) []string {
	h, err := csv.NewReader(bytes.NewReader(b)).Read()
	if err != nil {
		return nil
	}
	for i := range h {
		h[i] = strings.TrimSpace(strings.TrimPrefix(h[i], "\ufeff"))
	}
	return h
}

func hasColumn(h []string, name string) bool {
	for _, c := range h {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}

// readUsageFile reads a usage CSV: eemeter's `start,value`, or any
// two-column file (e.g. nmecr's `"time","eload"`) read as time,value.
func readUsageFile(path string) (*baseline.Usage, error) {
	b, err := readAllInput(path)
	if err != nil {
		return nil, err
	}
	var u *baseline.Usage
	if h := headerOf(b); !hasColumn(h, "start") && len(h) == 2 {
		u, err = baseline.ReadUsageCSVWith(bytes.NewReader(b), baseline.CSVOptions{TimeColumn: h[0], ValueColumn: h[1]})
	} else {
		u, err = baseline.ReadUsageCSV(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

// readTemperatureFile reads a temperature CSV: `dt,tempF` / `dt,tempC`,
// or any two-column file (e.g. nmecr's `"time","temp"`) read as time,°F.
func readTemperatureFile(path string) (*baseline.Temperature, error) {
	b, err := readAllInput(path)
	if err != nil {
		return nil, err
	}
	var t *baseline.Temperature
	if h := headerOf(b); !hasColumn(h, "tempF") && !hasColumn(h, "tempC") && len(h) == 2 {
		t, err = baseline.ReadTemperatureCSVWith(bytes.NewReader(b), baseline.CSVOptions{TimeColumn: h[0], ValueColumn: h[1], Unit: baseline.Fahrenheit})
	} else {
		t, err = baseline.ReadTemperatureCSV(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// fitFlags are the flags shared by `baseline fit` and `savings`.
type fitFlags struct {
	usage, temperature, method, baselineEnd string
	baselineDays                            int
	fitCDD                                  bool
	maxP                                    float64
	json                                    bool
}

func (f *fitFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.usage, "usage", "", "usage CSV (start,value; .csv or .csv.gz)")
	f.registerModel(fs)
}

// registerModel registers every fit flag except --usage (for commands
// that take many usage files, such as `baseline batch`).
func (f *fitFlags) registerModel(fs *flag.FlagSet) {
	fs.StringVar(&f.temperature, "temperature", "", "hourly temperature CSV (dt,tempF or dt,tempC; .csv or .csv.gz)")
	fs.StringVar(&f.method, "method", "", "daily or billing")
	fs.StringVar(&f.baselineEnd, "baseline-end", "", "baseline end, RFC 3339 (e.g. 2016-12-26T00:00:00Z)")
	fs.IntVar(&f.baselineDays, "baseline-days", 365, "baseline length in days")
	fs.BoolVar(&f.fitCDD, "fit-cdd", true, "fit cooling models (false for gas)")
	fs.Float64Var(&f.maxP, "max-p-value", 1, "maximum beta p-value (1 = no screen; 0.1 = CalTRACK 1.0)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
}

// newFlagSet returns a flag set that reports errors instead of printing
// usage, so a bad flag gives one line on stderr.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; a help request returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func printFlagHelp(w io.Writer, usage string, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: "+usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("--%s is required", name)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: not RFC 3339 (e.g. 2016-12-26T00:00:00Z)", name, v)
	}
	return t.UTC(), nil
}

// fitInputs loads the files and options of a fit.
type fitInputs struct {
	usage *baseline.Usage
	temp  *baseline.Temperature
	end   time.Time
	opts  baseline.Options
}

func (f *fitFlags) load() (*fitInputs, error) {
	if f.usage == "" {
		return nil, errors.New("--usage is required")
	}
	if f.temperature == "" {
		return nil, errors.New("--temperature is required")
	}
	if f.method == "" {
		return nil, errors.New("--method is required (daily or billing)")
	}
	m, err := baseline.ParseMethod(f.method)
	if err != nil {
		return nil, fmt.Errorf("--method %q: want daily or billing", f.method)
	}
	o, end, err := f.options(m)
	if err != nil {
		return nil, err
	}
	in := &fitInputs{end: end, opts: o}
	if in.usage, err = readUsageFile(f.usage); err != nil {
		return nil, err
	}
	if in.temp, err = readTemperatureFile(f.temperature); err != nil {
		return nil, err
	}
	return in, nil
}

// options validates the flags other than the files and the method and
// returns the fit options for method m and the baseline end.
func (f *fitFlags) options(m baseline.Method) (baseline.Options, time.Time, error) {
	end, err := parseTimeFlag("baseline-end", f.baselineEnd)
	if err != nil {
		return baseline.Options{}, time.Time{}, err
	}
	if f.baselineDays <= 0 {
		return baseline.Options{}, time.Time{}, fmt.Errorf("--baseline-days %d: must be positive", f.baselineDays)
	}
	if !(f.maxP > 0 && f.maxP <= 1) {
		return baseline.Options{}, time.Time{}, fmt.Errorf("--max-p-value %v: must be in (0, 1]", f.maxP)
	}
	o := baseline.OptionsFor(m)
	o.FitCDD = f.fitCDD
	o.BetaHDDMaxPValue, o.BetaCDDMaxPValue = f.maxP, f.maxP
	return o, end, nil
}

func (in *fitInputs) fit(f *fitFlags) (*baseline.FitResult, error) {
	res, err := baseline.FitBaseline(in.usage, in.temp, in.end, f.baselineDays, in.opts)
	if err != nil {
		if errors.Is(err, baseline.ErrNoData) {
			return nil, fmt.Errorf("%s: no usable data in the baseline window ending %s (%v)", f.usage, in.end.Format(time.RFC3339), err)
		}
		return nil, err
	}
	return res, nil
}
