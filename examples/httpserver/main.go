// Command httpserver is negawatt's example backend service: one
// http.Handler (examples/internal/app) with token auth, JSON errors,
// Prometheus metrics, health probes, an OpenAPI document and the customer
// dashboard, served with timeouts and graceful shutdown on SIGTERM/SIGINT.
//
//	go run ./examples/httpserver [--addr 127.0.0.1:8080] [--data-dir DIR] [--postgres URL] [--demo]
//
// Data: by default the app store (store.Open) and the points ledger
// (ledger/sqlite) are two SQLite files in --data-dir (default
// ./negawatt-data, created if missing; a fresh directory needs no other
// set-up). With --postgres URL, or NEGAWATT_POSTGRES_URL in the
// environment, both live in that PostgreSQL database instead (app tables
// prefixed app_, ledger tables migrated by ledger/postgres.Migrate).
//
// The token signing key is read from NEGAWATT_TOKEN_KEY (hex, ≥ 32
// bytes). Without it a random key is made and an operator token is logged
// so the service can be used at once. --demo loads the demo program from
// testdata/ (customer demo-1: the nmecr commercial building, gold tier,
// with a fitted baseline and twelve settled months) and logs a token for
// demo-1; browsers send tokens in the negawatt_token cookie (honoured on
// GET and HEAD only). With the key set, -mint SCOPE prints a token (scope
// "operator" or "customer:<id>", lifetime -ttl) and exits.
//
// Package layout: the reusable pieces live under examples/internal
// (platform: auth/middleware/server; openapi: the document and its test
// validator; dashboard: pages; chart: SVG; app: the assembled handler).
// This file only parses flags and runs the server.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// tokenTTL is how long the tokens logged at start-up stay valid.
const tokenTTL = 24 * time.Hour

// run serves until ctx is done and returns the exit code: 0 after a clean
// shutdown, 1 when serving failed, 2 for bad flags or configuration.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("httpserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	demo := fs.Bool("demo", false, "load demo data from testdata/ (customer demo-1) and log a token for it")
	dataDir := fs.String("data-dir", "negawatt-data", "directory of the SQLite app store and ledger (created if missing)")
	pgURL := fs.String("postgres", "", "PostgreSQL URL for the app store and ledger (default: env NEGAWATT_POSTGRES_URL; empty: SQLite)")
	testdata := fs.String("testdata", "", "testdata directory for --demo (default: found above the working directory)")
	grace := fs.Duration("shutdown-grace", platform.DefaultShutdownGrace, "how long in-flight requests may take to finish on shutdown")
	rate := fs.Float64("rate-limit", platform.DefaultRateLimit.PerSecond, "sustained requests/s allowed per token (0 disables limiting, e.g. for load tests)")
	burst := fs.Int("rate-burst", platform.DefaultRateLimit.Burst, "burst of requests allowed per token")
	mint := fs.String("mint", "", "print a token for this scope (operator or customer:<id>) signed with NEGAWATT_TOKEN_KEY, and exit")
	ttl := fs.Duration("ttl", tokenTTL, "lifetime of the token printed by -mint")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "httpserver: unexpected arguments %q\n", fs.Args())
		return 2
	}
	// Access-log lines are batched: one write per flush, not per request.
	// Everything written to stderr from here on goes through logw, in
	// order; it is flushed when run returns.
	logw := platform.NewLogBuffer(stderr, 64<<10, 100*time.Millisecond)
	defer logw.Close()
	log := slog.New(slog.NewJSONHandler(logw, nil))

	key, generated, err := signingKey(getenv("NEGAWATT_TOKEN_KEY"))
	if err != nil {
		fmt.Fprintf(logw, "httpserver: NEGAWATT_TOKEN_KEY: %v\n", err)
		return 2
	}
	signer, err := platform.NewSigner(key)
	if err != nil {
		fmt.Fprintf(logw, "httpserver: %v\n", err)
		return 2
	}
	if *mint != "" {
		return mintToken(signer, *mint, *ttl, generated, stdout, logw)
	}
	if *pgURL == "" {
		*pgURL = getenv("NEGAWATT_POSTGRES_URL")
	}
	svc, closeData, err := app.OpenService(ctx, *dataDir, *pgURL, log)
	if err != nil {
		fmt.Fprintf(logw, "httpserver: %v\n", err)
		return 1
	}
	defer closeData()
	if *demo {
		dir := *testdata
		if dir == "" {
			wd, _ := os.Getwd()
			if dir, err = app.FindTestdata(wd); err != nil {
				fmt.Fprintf(logw, "httpserver: --demo: %v (pass --testdata DIR)\n", err)
				return 2
			}
		}
		if err := app.LoadDemo(ctx, svc, dir); err != nil {
			fmt.Fprintf(logw, "httpserver: --demo: %v\n", err)
			return 1
		}
		log.Info("demo data loaded", slog.String("customer", app.DemoCustomer), slog.String("testdata", dir))
	}
	cfg := app.Config{Signer: signer, Logger: log, Service: svc, Dashboard: app.DashboardSource(svc),
		RateLimit: platform.RateLimit{PerSecond: *rate, Burst: *burst, Disabled: *rate == 0}}
	h, err := app.New(cfg)
	if err != nil {
		fmt.Fprintf(logw, "httpserver: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(logw, "httpserver: %v\n", err)
		return 1
	}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("url", "http://"+ln.Addr().String()+"/"))
	if generated {
		op, _ := signer.Mint(platform.OperatorScope(), tokenTTL)
		log.Info("no NEGAWATT_TOKEN_KEY set: generated a key for this run; operator token follows",
			slog.String("operator_token", op), slog.Duration("valid_for", tokenTTL))
	}
	if *demo {
		demoScope, _ := platform.CustomerScope(app.DemoCustomer)
		tok, _ := signer.Mint(demoScope, tokenTTL)
		log.Info("demo dashboard: set this token as the negawatt_token cookie and open /customers/"+app.DemoCustomer,
			slog.String("customer_token", tok))
	}
	_ = logw.Flush() // start-up lines (address, tokens) right away
	if err := platform.Serve(ctx, platform.NewServer(h, log), ln, *grace); err != nil {
		log.Error("server stopped", slog.Any("err", err))
		return 1
	}
	log.Info("shut down cleanly")
	return 0
}

// mintToken prints one token: how an operator hands a customer (or a
// script) its credentials.
func mintToken(signer *platform.Signer, scope string, ttl time.Duration, generated bool, stdout, stderr io.Writer) int {
	if generated {
		fmt.Fprintln(stderr, "httpserver: -mint needs NEGAWATT_TOKEN_KEY (a token signed with a random key is useless)")
		return 2
	}
	sc, err := platform.ParseScope(scope)
	if err != nil {
		fmt.Fprintf(stderr, "httpserver: -mint: %v\n", err)
		return 2
	}
	tok, err := signer.Mint(sc, ttl)
	if err != nil {
		fmt.Fprintf(stderr, "httpserver: -mint: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// signingKey decodes a hex key, or makes a random one when hexKey is
// empty (reporting generated = true).
func signingKey(hexKey string) (key []byte, generated bool, err error) {
	if hexKey == "" {
		return platform.NewRandomKey(), true, nil
	}
	key, err = hex.DecodeString(hexKey)
	if err != nil {
		return nil, false, errors.New("not hex")
	}
	if len(key) < 32 {
		return nil, false, fmt.Errorf("%d bytes, want at least 32", len(key))
	}
	return key, false, nil
}
