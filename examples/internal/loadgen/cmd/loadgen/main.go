// Command loadgen load-tests a negawatt example service on this machine:
//
//	go run ./examples/internal/loadgen/cmd/loadgen -url http://127.0.0.1:8080/healthz -n 20000 -c 16 -d 30s [-token T] [-method POST -body '{...}']
//
// It prints one line (req/s, p50/p90/p99/max, errors) and exits 1 if any
// request failed. Only loopback targets are accepted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/negawatt/negawatt/examples/internal/loadgen"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "target URL (loopback only)")
	n := fs.Int("n", 10000, "number of requests")
	c := fs.Int("c", 8, "concurrent workers")
	d := fs.Duration("d", 30*time.Second, "maximum duration")
	token := fs.String("token", "", "bearer token")
	method := fs.String("method", http.MethodGet, "HTTP method")
	body := fs.String("body", "", "request body (sent as application/json)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URL: *target, Requests: *n, Duration: *d, Concurrency: *c,
		NewRequest: func(ctx context.Context, _ int) (*http.Request, error) {
			var rd io.Reader
			if *body != "" {
				rd = strings.NewReader(*body)
			}
			r, err := http.NewRequestWithContext(ctx, *method, *target, rd)
			if err != nil {
				return nil, err
			}
			if *token != "" {
				r.Header.Set("Authorization", "Bearer "+*token)
			}
			if *body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			return r, nil
		},
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintln(stdout, res)
	if res.Errors > 0 {
		fmt.Fprintf(stderr, "loadgen: %d errors, statuses %v\n", res.Errors, res.Statuses)
		return 1
	}
	return 0
}
