package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/negawatt/negawatt/examples/internal/loadgen"
)

// Scenario is one measured workload against a started server.
type Scenario struct {
	// Name identifies the workload in reports, e.g. "balance reads".
	Name string
	// Setup prepares data before the timed part (not measured); nil does
	// nothing. It may keep state for Request in the closure.
	Setup func(ctx context.Context, s *Server) error
	// Request builds request i of the timed part.
	Request func(ctx context.Context, s *Server, i int) (*http.Request, error)
	// Check verifies the server's state after the timed part (e.g. every
	// award posted exactly once); nil checks nothing.
	Check func(ctx context.Context, s *Server, sent int) error
}

// Limits bound one scenario's timed part.
type Limits struct {
	Requests    int
	Duration    time.Duration
	Concurrency int
	// Client, when set, sends through net/http instead of loadgen's lean
	// built-in client (to compare what the load generator itself costs).
	Client *http.Client
}

// Figure is one scenario's measurement.
type Figure struct {
	Scenario string
	Store    string
	Limits   Limits
	loadgen.Result
	// ServerCPU is the CPU time the server process used during the timed
	// part (see Server.cpuTime); 0 if unknown.
	ServerCPU time.Duration
	// DBCPU is the CPU time of the PostgreSQL backends serving the server
	// under test during the timed part (see backendCPU); 0 for SQLite or
	// when unknown.
	DBCPU time.Duration
	// LoadGenCPU is the CPU time this process (the load generator) used
	// during the timed part; 0 when unknown or when the server runs in
	// this process too (its CPU time is then ServerCPU).
	LoadGenCPU time.Duration
}

// LoadGenCPUPerRequest is the load generator's CPU time per request.
func (f Figure) LoadGenCPUPerRequest() time.Duration {
	if f.Requests == 0 {
		return 0
	}
	return f.LoadGenCPU / time.Duration(f.Requests)
}

// CPUPerRequest is the server's CPU time per request.
func (f Figure) CPUPerRequest() time.Duration {
	if f.Requests == 0 {
		return 0
	}
	return f.ServerCPU / time.Duration(f.Requests)
}

// DBCPUPerRequest is the database server's CPU time per request.
func (f Figure) DBCPUPerRequest() time.Duration {
	if f.Requests == 0 {
		return 0
	}
	return f.DBCPU / time.Duration(f.Requests)
}

// IdleRPS estimates the requests/s of cores otherwise idle: cores divided
// by the CPU time one request costs the server and the database together
// (the load generator excluded). On a shared machine wall-clock req/s
// also counts the wait for a core; this counts only the work.
func (f Figure) IdleRPS(cores int) float64 {
	per := f.CPUPerRequest() + f.DBCPUPerRequest()
	if per <= 0 {
		return 0
	}
	return float64(cores) / per.Seconds()
}

// Row formats f as a Markdown table row: store, scenario, requests,
// req/s, p50, p99, errors, server, database and load generator CPU µs per
// request ("–" for the load generator when unknown), and the idle 2-core
// estimate.
func (f Figure) Row() string {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	lg := "–"
	if f.LoadGenCPU > 0 {
		lg = fmt.Sprintf("%.0f", us(f.LoadGenCPUPerRequest()))
	}
	return fmt.Sprintf("| %s | %s | %d | %.0f | %s | %s | %d | %.0f | %.0f | %s | %.0f |", f.Store, f.Scenario, f.Requests, f.RPS,
		fmtDur(f.P50), fmtDur(f.P99), f.Errors, us(f.CPUPerRequest()), us(f.DBCPUPerRequest()), lg, f.IdleRPS(2))
}

// Header is the Markdown table header matching Row.
const Header = "| store | scenario | requests | req/s (wall) | p50 | p99 | errors | server CPU µs/req | PostgreSQL CPU µs/req | load generator CPU µs/req | req/s on 2 idle cores (est.) |\n" +
	"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// Measure runs sc's setup, its timed part within lim, and its check.
func Measure(ctx context.Context, s *Server, store string, sc Scenario, lim Limits) (Figure, error) {
	if sc.Setup != nil {
		if err := sc.Setup(ctx, s); err != nil {
			return Figure{}, fmt.Errorf("loadtest: %s: setup: %w", sc.Name, err)
		}
	}
	cpu0, cpuErr := s.cpuTime()
	var db0 map[int]time.Duration
	var dbErr error
	if s.PostgresURL != "" {
		db0, dbErr = backendCPU(ctx, s.PostgresURL)
	}
	self0, selfErr := selfCPU()
	res, err := loadgen.Run(ctx, loadgen.Config{
		URL:         s.URL,
		Requests:    lim.Requests,
		Duration:    lim.Duration,
		Concurrency: lim.Concurrency,
		Client:      lim.Client,
		NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
			return sc.Request(ctx, s, i)
		},
	})
	if err != nil {
		return Figure{}, fmt.Errorf("loadtest: %s: %w", sc.Name, err)
	}
	self1, selfErr1 := selfCPU()
	f := Figure{Scenario: sc.Name, Store: store, Limits: lim, Result: res}
	if s.cmd != nil && selfErr == nil && selfErr1 == nil {
		f.LoadGenCPU = self1 - self0
	}
	if cpu1, err := s.cpuTime(); err == nil && cpuErr == nil {
		f.ServerCPU = cpu1 - cpu0
	}
	if s.PostgresURL != "" && dbErr == nil {
		if db1, err := backendCPU(ctx, s.PostgresURL); err == nil {
			f.DBCPU = cpuDelta(db0, db1)
		}
	}
	if sc.Check != nil {
		if err := sc.Check(ctx, s, res.Requests); err != nil {
			return f, fmt.Errorf("loadtest: %s: check: %w", sc.Name, err)
		}
	}
	return f, nil
}

// NewRequest builds a request to s's path with a bearer token and, when
// body is not empty, a JSON body.
func (s *Server) NewRequest(ctx context.Context, method, path, token, body string) (*http.Request, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r, nil
}

// Do sends one request (setup and checks, not timed) with a JSON body
// and returns the response body; a status other than want is an error
// carrying the body.
func (s *Server) Do(ctx context.Context, method, path, token, body string, want int) ([]byte, error) {
	return s.DoContent(ctx, method, path, token, "application/json", body, want)
}

// DoContent is Do with another body media type (text/csv, application/yaml).
func (s *Server) DoContent(ctx context.Context, method, path, token, contentType, body string, want int) ([]byte, error) {
	r, err := s.NewRequest(ctx, method, path, token, body)
	if err != nil {
		return nil, err
	}
	if body != "" {
		r.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return b, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, strings.TrimSpace(string(b)))
	}
	return b, nil
}
