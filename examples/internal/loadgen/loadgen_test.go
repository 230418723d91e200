package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunCountsRequestsAndErrors(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := served.Add(1); n%10 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Requests: 200, Duration: time.Minute, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || served.Load() != 200 {
		t.Errorf("requests %d, served %d, want 200", res.Requests, served.Load())
	}
	if res.Errors != 20 || res.Statuses[500] != 20 || res.Statuses[200] != 180 {
		t.Errorf("errors %d statuses %v, want 20 errors", res.Errors, res.Statuses)
	}
	if !(res.P50 > 0 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max) || res.RPS <= 0 {
		t.Errorf("inconsistent result %v", res)
	}
	if !strings.Contains(res.String(), "200 requests") {
		t.Errorf("String() = %q", res.String())
	}
}

func TestRunPostsBuiltRequests(t *testing.T) {
	var bodies atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Authorization") == "Bearer t" {
			bodies.Add(1)
		}
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Requests: 50, Duration: time.Minute,
		NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/settle", strings.NewReader(`{"i":1}`))
			if err == nil {
				r.Header.Set("Authorization", "Bearer t")
			}
			return r, err
		}})
	if err != nil || res.Errors != 0 || bodies.Load() != 50 {
		t.Errorf("res %v err %v posts %d", res, err, bodies.Load())
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Requests: MaxRequests, Duration: 50 * time.Millisecond, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors != 0 {
		t.Errorf("requests cut off by the deadline were counted: %v", res)
	}
}

func TestConfigRejected(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"remote host", Config{URL: "http://example.com/", Requests: 1, Duration: time.Second}, ErrNotLoopback},
		{"remote ip", Config{URL: "http://10.0.0.1:8080/", Requests: 1, Duration: time.Second}, ErrNotLoopback},
		{"name resolving anywhere", Config{URL: "http://localhost.evil.test/", Requests: 1, Duration: time.Second}, ErrNotLoopback},
		{"bad scheme", Config{URL: "ftp://127.0.0.1/", Requests: 1, Duration: time.Second}, ErrBadConfig},
		{"no count", Config{URL: "http://127.0.0.1/", Duration: time.Second}, ErrBadConfig},
		{"too long", Config{URL: "http://127.0.0.1/", Requests: 1, Duration: time.Hour}, ErrBadConfig},
		{"no duration", Config{URL: "http://[::1]:8080/", Requests: 1}, ErrBadConfig},
		{"too many workers", Config{URL: "http://localhost/", Requests: 1, Duration: time.Second, Concurrency: 5000}, ErrBadConfig},
	}
	for _, tt := range tests {
		if _, err := Run(context.Background(), tt.cfg); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	// Nearest rank on 1..10 ms: p50 → 5th value, p90 → 9th, p99 → 10th.
	s := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	got := []time.Duration{Percentile(s, 0.5), Percentile(s, 0.9), Percentile(s, 0.99), Percentile(nil, 0.5), Percentile(ms(7), 0.01)}
	if diff := cmp.Diff(ms(5, 9, 10, 0, 7), got); diff != "" {
		t.Errorf("Percentile (-want +got):\n%s", diff)
	}
}
