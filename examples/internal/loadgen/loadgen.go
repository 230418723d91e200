// Package loadgen is a small closed-loop HTTP load generator for the
// example service's load tests: a fixed number of workers send requests
// back to back until a request count or a duration is reached, whichever
// comes first, and the run reports throughput, latency percentiles and
// errors.
//
// Like wrk, it sends over its own minimal HTTP/1.1 client: one keep-alive
// connection per worker, each request serialized once and written in one
// call, each response parsed only for its status and framing and its body
// discarded. The load generator runs on the same cores as the server it
// measures, so every microsecond it spends per request is one the server
// does not get; net/http's Client costs it about twice as much per
// request (see BENCHMARKS.md, "examples: balance reads after session 9").
//
// It refuses any target that is not a loopback address: it exists to
// measure this service on this machine, never to load someone else's.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Limits that keep a run bounded whatever the caller asks.
const (
	MaxRequests    = 5_000_000
	MaxDuration    = 10 * time.Minute
	MaxConcurrency = 1024
)

// Errors returned by Run for a bad Config.
var (
	ErrNotLoopback = errors.New("loadgen: target is not a loopback address")
	ErrBadConfig   = errors.New("loadgen: bad config")
)

// Config describes one run.
type Config struct {
	// URL is the target; its host must be a loopback IP or "localhost".
	URL string
	// Requests caps the number of requests (1..MaxRequests).
	Requests int
	// Duration caps the wall time (0 < Duration ≤ MaxDuration).
	Duration time.Duration
	// Concurrency is the number of workers; 0 means 8.
	Concurrency int
	// NewRequest builds request i (0-based) for URL; nil sends GET URL.
	// Build the body here for POSTs (a fresh reader per request).
	NewRequest func(ctx context.Context, i int) (*http.Request, error)
	// OK decides whether a status is a success; nil means 2xx.
	OK func(status int) bool
	// Client sends the requests through net/http. nil (the default)
	// means a lean built-in HTTP/1.1 client, one keep-alive connection
	// per worker, whose own CPU cost per request is about half of
	// net/http's (the load generator shares the cores with the server it
	// measures); an https URL always uses net/http. The built-in client
	// only sends requests for URL's scheme and host (others count as
	// errors wrapping ErrOtherHost).
	Client *http.Client
}

// Result summarizes a run. Latencies are of completed requests (transport
// errors included); Errors counts transport errors and non-OK statuses.
type Result struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
	// RPS is Requests / Elapsed.
	RPS                float64
	P50, P90, P99, Max time.Duration
	Statuses           map[int]int // status code → count (0: transport error)
}

func (r Result) String() string {
	return fmt.Sprintf("%d requests in %v: %.0f req/s, p50 %v, p90 %v, p99 %v, max %v, %d errors",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.RPS, r.P50, r.P90, r.P99, r.Max, r.Errors)
}

// Run performs the load test. It returns early, with what was measured,
// when ctx is cancelled.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 8
	}
	if cfg.OK == nil {
		cfg.OK = func(s int) bool { return s >= 200 && s < 300 }
	}
	u, _ := url.Parse(cfg.URL) // validated above
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	newReq := cfg.NewRequest
	if newReq == nil {
		// One request serves every send: it has no body to consume.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL, nil)
		if err != nil {
			return Result{}, fmt.Errorf("%w: %v", ErrBadConfig, err)
		}
		newReq = func(context.Context, int) (*http.Request, error) { return req, nil }
	}
	// Each worker sends over its own lean keep-alive connection (see
	// conn), or through the caller's http.Client (and net/http for https,
	// which the lean client does not speak).
	senders := make([]sender, cfg.Concurrency)
	if cfg.Client != nil || u.Scheme != "http" {
		client := cfg.Client
		if client == nil {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = cfg.Concurrency
			tr.MaxConnsPerHost = cfg.Concurrency
			client = &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
		}
		for w := range senders {
			senders[w] = clientSender{client}
		}
	} else {
		for w := range senders {
			senders[w] = newConn(u.Scheme, u.Host, dialAddr(u))
		}
	}
	defer func() {
		for _, s := range senders {
			s.close()
		}
	}()
	// At the deadline, requests in flight are cut off at once.
	defer context.AfterFunc(ctx, func() {
		for _, s := range senders {
			s.interrupt()
		}
	})()

	var next atomic.Int64
	type sample struct {
		latency time.Duration
		status  int
		ok      bool
	}
	perWorker := make([][]sample, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send := senders[w].do
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= cfg.Requests {
					return
				}
				req, err := newReq(ctx, i)
				if err != nil {
					perWorker[w] = append(perWorker[w], sample{})
					continue
				}
				t0 := time.Now()
				status, err := send(ctx, req)
				s := sample{}
				if err == nil {
					s.status, s.ok = status, cfg.OK(status)
				} else if ctx.Err() != nil {
					return // cut off by the deadline: not a server error
				}
				s.latency = time.Since(t0)
				perWorker[w] = append(perWorker[w], s)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{Elapsed: elapsed, Statuses: map[int]int{}}
	var lat []time.Duration
	for _, ss := range perWorker {
		for _, s := range ss {
			res.Requests++
			res.Statuses[s.status]++
			if !s.ok {
				res.Errors++
			}
			lat = append(lat, s.latency)
		}
	}
	if res.Requests > 0 && elapsed > 0 {
		res.RPS = float64(res.Requests) / elapsed.Seconds()
	}
	slices.Sort(lat)
	res.P50, res.P90, res.P99 = Percentile(lat, 0.50), Percentile(lat, 0.90), Percentile(lat, 0.99)
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1]
	}
	return res, nil
}

// sender sends one request and reads its whole response.
type sender interface {
	do(ctx context.Context, req *http.Request) (status int, err error)
	interrupt() // fail requests in flight now (the run's deadline)
	close()
}

// clientSender sends through a net/http Client; the request's context
// (Run's, via NewRequest) cuts it off at the deadline.
type clientSender struct{ c *http.Client }

func (s clientSender) do(_ context.Context, req *http.Request) (int, error) {
	resp, err := s.c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (clientSender) interrupt() {}
func (clientSender) close()     {}

// dialAddr is u's host with the scheme's default port when it has none.
func dialAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// Percentile returns the nearest-rank p-quantile (0 < p ≤ 1) of sorted:
// the smallest value with at least p·n values at or below it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func (c Config) validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: URL %q: want an http or https URL with a host", ErrBadConfig, c.URL)
	}
	if !IsLoopback(u.Hostname()) {
		return fmt.Errorf("%w: %q", ErrNotLoopback, u.Hostname())
	}
	if c.Requests < 1 || c.Requests > MaxRequests {
		return fmt.Errorf("%w: Requests %d, want 1..%d", ErrBadConfig, c.Requests, MaxRequests)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		return fmt.Errorf("%w: Duration %v, want (0, %v]", ErrBadConfig, c.Duration, MaxDuration)
	}
	if c.Concurrency < 0 || c.Concurrency > MaxConcurrency {
		return fmt.Errorf("%w: Concurrency %d, want 0..%d", ErrBadConfig, c.Concurrency, MaxConcurrency)
	}
	return nil
}

// IsLoopback reports whether host is "localhost" or a loopback IP. Other
// names are refused rather than resolved: a name can point anywhere.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
