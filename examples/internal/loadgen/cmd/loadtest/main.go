// Command loadtest measures the example service's balance reads and
// settlements (issue 6, Acceptance 3) on this machine, loopback only,
// bounded in requests and time, and prints a Markdown table:
//
//	go run ./examples/internal/loadgen/cmd/loadtest -store sqlite
//	NEGAWATT_POSTGRES_URL=postgres://… go run ./examples/internal/loadgen/cmd/loadtest -store postgres
//
// By default it builds and starts the real examples/httpserver binary
// (-data-dir in a temporary directory, or -postgres with a fresh schema
// that is dropped at the end; per-token rate limit of 1,000,000/s), seeds customers through
// the API, settles every seeded (customer, month) fact once, then reads
// balances. -inprocess serves the same handler inside this process
// instead, so -cpuprofile covers the server side. Requests go through
// loadgen's lean HTTP/1.1 client (-nethttp: net/http's Client); the
// table's "load generator CPU µs/req" is this process's own CPU time per
// request when the server runs as a separate process. Exit status 1 if any
// request failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/negawatt/negawatt/examples/internal/loadgen/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	storeName := fs.String("store", "sqlite", "sqlite or postgres (URL from NEGAWATT_POSTGRES_URL)")
	customers := fs.Int("customers", 1000, "customers to seed (each with a fitted baseline)")
	months := fs.Int("months", 6, "reporting months per customer: settlements = customers × months")
	reads := fs.Int("reads", 100_000, "balance reads")
	conc := fs.Int("c", 16, "concurrent connections")
	batch := fs.Int("batch", 0, "also settle this many customers per request (customers must be a multiple), on a second set of months")
	single := fs.Bool("single", true, "run the one-customer-month settlement scenario (false: only batches and reads, e.g. to profile batches)")
	dur := fs.Duration("d", 2*time.Minute, "time limit of each timed part")
	inproc := fs.Bool("inprocess", false, "serve the handler in this process instead of starting the binary")
	binary := fs.String("server", "", "httpserver binary (default: go build it)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed parts to this file")
	netHTTP := fs.Bool("nethttp", false, "send through net/http's Client instead of loadgen's lean client (to compare the load generator's own cost)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *storeName != "sqlite" && *storeName != "postgres" {
		fmt.Fprintf(stderr, "loadtest: -store %q: want sqlite or postgres\n", *storeName)
		return 2
	}
	tmp, err := os.MkdirTemp("", "negawatt-loadtest-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	dataDir, pgURL := filepath.Join(tmp, "data"), ""
	if *storeName == "postgres" {
		base := getenv("NEGAWATT_POSTGRES_URL")
		if base == "" {
			fmt.Fprintln(stderr, "loadtest: -store postgres needs NEGAWATT_POSTGRES_URL")
			return 2
		}
		u, drop, err := loadtest.FreshSchema(ctx, base)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer drop(context.Background())
		pgURL = u
	} else if err := os.Mkdir(dataDir, 0o700); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}

	var s *loadtest.Server
	label := *storeName
	if *inproc {
		label += " (in process)"
		s, err = loadtest.ServeApp(ctx, dataDir, pgURL)
	} else {
		bin := *binary
		if bin == "" {
			if bin, err = loadtest.Build(ctx, tmp); err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
		}
		flags := []string{"-data-dir", dataDir}
		if pgURL != "" {
			flags = []string{"-postgres", pgURL}
		}
		var logf *os.File
		if logf, err = os.Create(filepath.Join(tmp, "server.log")); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer logf.Close()
		s, err = loadtest.Start(ctx, loadtest.Options{Binary: bin, Args: flags, Log: logf})
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	s.PostgresURL = pgURL
	defer func() {
		if err := s.Stop(); err != nil {
			fmt.Fprintln(stderr, "loadtest: stop:", err)
		}
	}()

	t0 := time.Now()
	seedMonths := *months
	if *batch > 0 {
		seedMonths *= 2 // the first half for single settlements, the rest for batches
	}
	f, err := loadtest.SeedData(ctx, s, loadtest.Seed{Customers: *customers, Months: seedMonths})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stderr, "loadtest: seeded %d customers × %d months in %v\n", *customers, *months, time.Since(t0).Round(time.Millisecond))

	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stdout, "GOMAXPROCS %d, %d connections\n\n%s\n", runtime.GOMAXPROCS(0), *conc, loadtest.Header)
	type run struct {
		sc loadtest.Scenario
		n  int
	}
	var runs []run
	if *single {
		runs = append(runs, run{f.Settlements(), *customers * *months})
	}
	if *batch > 0 {
		// Batches settle the months after the ones settled singly.
		bf := f.Later(*months)
		sc, n, err := bf.BatchSettlements(*batch)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		runs = append(runs, run{sc, n})
	}
	runs = append(runs, run{f.BalanceReads(), *reads})
	var client *http.Client
	if *netHTTP {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = *conc, *conc
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
		fmt.Fprintln(stderr, "loadtest: sending through net/http's Client")
	}
	failed := false
	for _, c := range runs {
		fig, err := loadtest.Measure(ctx, s, label, c.sc, loadtest.Limits{Requests: c.n, Duration: *dur, Concurrency: *conc, Client: client})
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, err)
			failed = true
		}
		fmt.Fprintln(stdout, fig.Row())
		if fig.Errors > 0 {
			fmt.Fprintf(stderr, "loadtest: %s: %d errors, statuses %v\n", c.sc.Name, fig.Errors, fig.Statuses)
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}
