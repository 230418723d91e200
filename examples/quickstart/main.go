// Command quickstart runs the whole negawatt pipeline on real data in a few
// seconds, with no server:
//
//	go run ./examples/quickstart [--data-dir DIR] [--out chart.svg]
//
// It fits the CalTRACK 2.0 daily baseline of a real commercial building
// (testdata/nmecr: baseline March 2012 – February 2013), settles its monthly
// savings for the reporting year March 2014 – February 2015 and one
// demand-response event of a real Cambridge building (testdata/cambridge,
// 2019-07-24 15:00–19:00 Europe/London, high 5 of 10 with a multiplicative
// day-of adjustment), applies the example rule set rules.yaml, posts the
// awards to the embedded SQLite ledger (DIR/ledger.db) and prints a
// statement. It writes an SVG chart of baseline against actual usage and
// says where.
//
// Without --data-dir the ledger goes to a new temporary directory. Run it
// twice with the same --data-dir: the second run pays nothing, because every
// award is posted under an idempotency key stable for (program, rule,
// customer, fact).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses flags and runs the quickstart; it returns the exit code
// (0 done, 1 failure, 2 bad usage).
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory of the SQLite ledger (ledger.db); default: a new temporary directory")
	fs.StringVar(&cfg.ChartPath, "out", "", "where to write the SVG chart (default DATA-DIR/baseline-vs-actual.svg)")
	fs.StringVar(&cfg.Testdata, "testdata", "", "the repository's testdata directory (default: found from the working directory upwards)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "quickstart: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := Run(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "quickstart: %v\n", err)
		return 1
	}
	return 0
}
