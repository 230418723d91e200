package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// full reports whether NEGAWATT_LOADTEST=1 asks for the full-size run
// (minutes, numbers for BENCHMARKS.md); otherwise each scenario sends a
// few hundred requests so `go test ./...` stays fast but the path stays
// working.
func full() bool { return os.Getenv("NEGAWATT_LOADTEST") == "1" }

func limits(fullN int) Limits {
	if full() {
		return Limits{Requests: fullN, Duration: 2 * time.Minute, Concurrency: 16}
	}
	return Limits{Requests: 200, Duration: 30 * time.Second, Concurrency: 4}
}

var binary string // built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loadtest-bin-")
	if err != nil {
		panic(err)
	}
	binary, err = Build(context.Background(), dir)
	code := 0
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		code = 1
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func start(t *testing.T, args ...string) *Server {
	t.Helper()
	s, err := Start(context.Background(), Options{Binary: binary, Args: args, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s
}

func TestProbeScenario(t *testing.T) {
	s := start(t)
	sc := Scenario{
		Name: "healthz",
		Request: func(ctx context.Context, s *Server, i int) (*http.Request, error) {
			return s.NewRequest(ctx, http.MethodGet, "/healthz", "", "")
		},
	}
	f, err := Measure(context.Background(), s, "none", sc, limits(50_000))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(f.Row())
	if f.Errors != 0 || f.Requests != f.Limits.Requests {
		t.Errorf("%d requests, %d errors (statuses %v), want %d and none", f.Requests, f.Errors, f.Statuses, f.Limits.Requests)
	}
	if !strings.HasPrefix(f.Row(), "| none | healthz | ") {
		t.Errorf("row %q", f.Row())
	}
	// The server runs in its own process, so this one's CPU time is the
	// load generator's, and the row has as many cells as the header.
	if f.LoadGenCPU <= 0 || strings.Contains(f.Row(), "–") {
		t.Errorf("load generator CPU %v not measured: %q", f.LoadGenCPU, f.Row())
	}
	if got, want := strings.Count(f.Row(), "|"), strings.Count(strings.SplitN(Header, "\n", 2)[0], "|"); got != want {
		t.Errorf("row has %d cell borders, header %d", got, want)
	}
}

func TestProbeScenarioThroughNetHTTP(t *testing.T) {
	s := start(t)
	var used atomic.Int64
	lim := limits(1000)
	lim.Client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	sc := Scenario{Name: "healthz", Request: func(ctx context.Context, s *Server, i int) (*http.Request, error) {
		return s.NewRequest(ctx, http.MethodGet, "/healthz", "", "")
	}}
	f, err := Measure(context.Background(), s, "none", sc, lim)
	if err != nil || f.Errors != 0 || used.Load() != int64(f.Requests) || f.Requests != lim.Requests {
		t.Errorf("err %v, %d requests, %d errors, %d through the client", err, f.Requests, f.Errors, used.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTokensAreAccepted(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	if _, err := s.Do(ctx, http.MethodGet, "/metrics", s.OperatorToken(), "", http.StatusOK); err != nil {
		t.Error(err)
	}
	if _, err := s.Do(ctx, http.MethodGet, "/metrics", "", "", http.StatusUnauthorized); err != nil {
		t.Error(err)
	}
	if _, err := s.CustomerToken("bad id; DROP"); err == nil {
		t.Error("customer token for an invalid id")
	}
}

func TestStartFails(t *testing.T) {
	_, err := Start(context.Background(), Options{Binary: binary, Args: []string{"-no-such-flag"}, Dir: t.TempDir()})
	if !errors.Is(err, ErrServer) {
		t.Errorf("err = %v, want ErrServer", err)
	}
}

func TestStartCopiesServerLog(t *testing.T) {
	var log bytes.Buffer // written by Start's copier only, read after Stop
	s, err := Start(context.Background(), Options{Binary: binary, Dir: t.TempDir(), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Do(context.Background(), http.MethodGet, "/healthz", "", "", http.StatusOK); err != nil {
			t.Error(err)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// Every access line after start-up reaches Log, whole.
	var n int
	for line := range strings.SplitSeq(strings.TrimSuffix(log.String(), "\n"), "\n") {
		var rec struct{ Msg, Path string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line %q: %v", line, err)
		}
		if rec.Msg == "http request" && rec.Path == "/healthz" {
			n++
		}
	}
	if n < 3 {
		t.Errorf("%d /healthz access lines in the copied log, want ≥ 3:\n%s", n, log.String())
	}
}
