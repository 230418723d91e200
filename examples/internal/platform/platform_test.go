package platform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/openapi"
	"github.com/negawatt/negawatt/examples/internal/openapi/openapitest"
)

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeClock is a settable clock for the rate limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	p      *Platform
	signer *Signer
	logs   *syncBuffer
	clock  *fakeClock
	writes atomic.Int64 // domain writes that reached a handler
	v      *openapitest.Validator
	op     string // operator token
	alice  string // customer:alice token
}

func newFixture(t *testing.T, mod func(*Config)) *fixture {
	t.Helper()
	f := &fixture{logs: &syncBuffer{}, clock: &fakeClock{t: t0}}
	f.signer = mustSigner(t, testKey, f.clock.Now)
	cfg := Config{
		Signer:       f.signer,
		Logger:       slog.New(slog.NewJSONHandler(f.logs, nil)),
		OpenAPI:      openapi.JSON,
		MaxBodyBytes: 1024,
		Now:          f.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	p.HandleFunc("GET /v1/customers/{id}/balance", Customer("id"), func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"customer": r.PathValue("id")})
	})
	p.HandleFunc("POST /v1/customers/{id}/usage", Customer("id"), func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UsageKWh float64 `json:"usage_kwh"`
		}
		if err := DecodeJSON(r, &in); err != nil {
			WriteError(w, r, err)
			return
		}
		f.writes.Add(1)
		WriteJSON(w, http.StatusCreated, in)
	})
	p.HandleFunc("POST /v1/settle", Operator, func(w http.ResponseWriter, r *http.Request) {
		f.writes.Add(1)
		WriteJSON(w, http.StatusAccepted, map[string]bool{"ok": true})
	})
	p.HandleFunc("GET /v1/whoami", Optional, func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFrom(r.Context())
		WriteJSON(w, http.StatusOK, map[string]any{"scope": c.Scope.String(), "signed_in": ok})
	})
	p.HandleFunc("GET /v1/panic", Public, func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	})
	p.HandleFunc("GET /v1/fail", Public, func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, errors.New("database password is hunter2"))
	})
	f.v = openapitest.New(t, openapi.JSON)
	f.op = mustMint(t, f.signer, OperatorScope(), time.Hour)
	f.alice = mustMint(t, f.signer, mustCustomer(t, "alice"), time.Hour)
	return f
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var e ErrorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("body %q is not the error envelope: %v", r.body, err)
	}
	return e.Error.Code
}

// do serves req and validates every error response (and every response
// on a documented path) against the OpenAPI document.
func (f *fixture) do(t *testing.T, req *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	f.p.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if res.status >= 400 || !strings.HasPrefix(req.URL.Path, "/v1/") {
		if err := f.v.Check(req, res.status, res.header, res.body); err != nil {
			t.Error(err)
		}
	}
	return res
}

func request(method, path, token, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func TestWaysIn(t *testing.T) {
	f := newFixture(t, nil)
	expired := mustMint(t, mustSigner(t, testKey, fixedClock(t0.Add(-3*time.Hour))), OperatorScope(), time.Hour)
	tampered := f.alice[:len(f.alice)-2] + "AA"
	bob := mustMint(t, f.signer, mustCustomer(t, "bob"), time.Hour)
	chunked := request("POST", "/v1/customers/alice/usage", f.alice, "")
	chunked.Body = io.NopCloser(strings.NewReader(`{"usage_kwh":` + strings.Repeat(" ", 2000) + `1}`))
	chunked.ContentLength = -1
	chunked.Header.Set("Content-Type", "application/json")
	basic := request("GET", "/v1/customers/alice/balance", "", "")
	basic.Header.Set("Authorization", "Basic YWxpY2U6cHc=")
	xml := request("POST", "/v1/customers/alice/usage", f.alice, "<usage/>")
	xml.Header.Set("Content-Type", "application/xml")

	cookieWrite := request("POST", "/v1/customers/alice/usage", "", `{"usage_kwh":1}`)
	cookieWrite.AddCookie(&http.Cookie{Name: TokenCookie, Value: f.alice})

	tests := []struct {
		name     string
		req      *http.Request
		want     int
		wantCode string
	}{
		{"no token", request("GET", "/v1/customers/alice/balance", "", ""), 401, CodeUnauthorized},
		{"cookie token on a write (CSRF)", cookieWrite, 401, CodeUnauthorized},
		{"basic auth", basic, 401, CodeUnauthorized},
		{"garbage token", request("GET", "/v1/customers/alice/balance", "hello", ""), 401, CodeUnauthorized},
		{"tampered token", request("GET", "/v1/customers/alice/balance", tampered, ""), 401, CodeUnauthorized},
		{"expired token", request("GET", "/v1/customers/alice/balance", expired, ""), 401, CodeUnauthorized},
		{"wrong customer read", request("GET", "/v1/customers/alice/balance", bob, ""), 403, CodeForbidden},
		{"wrong customer write", request("POST", "/v1/customers/alice/usage", bob, `{"usage_kwh":1}`), 403, CodeForbidden},
		{"customer on operator route", request("POST", "/v1/settle", f.alice, `{}`), 403, CodeForbidden},
		{"no token on operator route", request("POST", "/v1/settle", "", `{}`), 401, CodeUnauthorized},
		{"sql injection id", request("GET", "/v1/customers/1'%20OR%20'1'='1/balance", f.op, ""), 400, CodeInvalidID},
		{"sql injection id, customer token", request("GET", "/v1/customers/alice';%20DROP%20TABLE%20postings;--/balance", f.alice, ""), 400, CodeInvalidID},
		{"sql injection id on write", request("POST", "/v1/customers/x%22%20OR%201=1/usage", f.op, `{"usage_kwh":1}`), 400, CodeInvalidID},
		{"dot-dot id", request("GET", "/v1/customers/%2E%2E/balance", f.op, ""), 400, CodeInvalidID},
		{"encoded slash id", request("GET", "/v1/customers/a%2Fb/balance", f.op, ""), 400, CodeInvalidID},
		{"oversized body", request("POST", "/v1/customers/alice/usage", f.alice, `{"usage_kwh":`+strings.Repeat("1", 2000)+`}`), 413, CodePayloadTooLarge},
		{"oversized chunked body", chunked, 413, CodePayloadTooLarge},
		{"malformed json", request("POST", "/v1/customers/alice/usage", f.alice, `{"usage_kwh": 1,,}`), 400, CodeMalformedJSON},
		{"wrong type", request("POST", "/v1/customers/alice/usage", f.alice, `{"usage_kwh": "lots"}`), 400, CodeMalformedJSON},
		{"unknown field", request("POST", "/v1/customers/alice/usage", f.alice, `{"usage_kwh": 1, "points": 1e9}`), 400, CodeMalformedJSON},
		{"trailing data", request("POST", "/v1/customers/alice/usage", f.alice, `{"usage_kwh": 1} {"usage_kwh": 2}`), 400, CodeMalformedJSON},
		{"truncated json", request("POST", "/v1/customers/alice/usage", f.alice, `{"usage_kwh": 1`), 400, CodeMalformedJSON},
		{"empty body", request("POST", "/v1/customers/alice/usage", f.alice, ` `), 400, CodeMalformedJSON},
		{"xml body", xml, 415, CodeUnsupportedMedia},
		{"unknown route", request("GET", "/v1/nope", f.op, ""), 404, CodeNotFound},
		{"wrong method", request("DELETE", "/v1/customers/alice/balance", f.op, ""), 405, CodeMethodNotAllowed},
		{"optional route, tampered token", request("GET", "/v1/whoami", tampered, ""), 401, CodeUnauthorized},
		{"metrics without token", request("GET", "/metrics", "", ""), 401, CodeUnauthorized},
		{"metrics with customer token", request("GET", "/metrics", f.alice, ""), 403, CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(t, tt.req)
			if res.status != tt.want {
				t.Fatalf("status = %d, want %d; body %s", res.status, tt.want, res.body)
			}
			if code := res.errorCode(t); code != tt.wantCode {
				t.Errorf("code = %q, want %q", code, tt.wantCode)
			}
			if tt.want == 401 && res.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tt.want == 405 && res.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	if n := f.writes.Load(); n != 0 {
		t.Errorf("%d rejected requests reached a writing handler", n)
	}
}

func TestAllowedRequests(t *testing.T) {
	f := newFixture(t, nil)
	cookieReq := request("GET", "/v1/customers/alice/balance", "", "")
	cookieReq.AddCookie(&http.Cookie{Name: TokenCookie, Value: f.alice})
	tests := []struct {
		name string
		req  *http.Request
		want int
		body string
	}{
		{"customer reads own", request("GET", "/v1/customers/alice/balance", f.alice, ""), 200, `{"customer":"alice"}`},
		{"operator reads any", request("GET", "/v1/customers/bob/balance", f.op, ""), 200, `{"customer":"bob"}`},
		{"cookie token", cookieReq, 200, `{"customer":"alice"}`},
		{"lowercase bearer", func() *http.Request {
			r := request("GET", "/v1/customers/alice/balance", "", "")
			r.Header.Set("Authorization", "bearer "+f.alice)
			return r
		}(), 200, `{"customer":"alice"}`},
		{"optional, anonymous", request("GET", "/v1/whoami", "", ""), 200, `{"scope":"","signed_in":false}`},
		{"optional, customer", request("GET", "/v1/whoami", f.alice, ""), 200, `{"scope":"customer:alice","signed_in":true}`},
		{"customer writes own", request("POST", "/v1/customers/alice/usage", f.alice, `{"usage_kwh": 12.5}`), 201, `{"usage_kwh":12.5}`},
		{"healthz", request("GET", "/healthz", "", ""), 200, `{"status":"ok"}`},
		{"readyz", request("GET", "/readyz", "", ""), 200, `{"status":"ready"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(t, tt.req)
			if res.status != tt.want {
				t.Fatalf("status = %d, want %d; body %s", res.status, tt.want, res.body)
			}
			if diff := cmp.Diff(tt.body, strings.TrimSpace(string(res.body))); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if res.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

func TestOpenAPIServed(t *testing.T) {
	f := newFixture(t, nil)
	res := f.do(t, request("GET", "/openapi.json", "", ""))
	if res.status != 200 || !bytes.Equal(res.body, openapi.JSON) {
		t.Fatalf("status %d, body differs from the embedded document", res.status)
	}
}

func TestReadyzFailing(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Ready = func(ctx context.Context) error { return errors.New("ledger: connection refused") }
	})
	res := f.do(t, request("GET", "/readyz", "", ""))
	if res.status != http.StatusServiceUnavailable || res.errorCode(t) != CodeNotReady {
		t.Fatalf("status %d body %s, want 503 not_ready", res.status, res.body)
	}
	if strings.Contains(string(res.body), "connection refused") {
		t.Error("readiness failure details leaked to the client")
	}
	if !strings.Contains(f.logs.String(), "connection refused") {
		t.Error("readiness failure not logged")
	}
}

func TestPanicAndInternalErrors(t *testing.T) {
	f := newFixture(t, nil)
	res := f.do(t, request("GET", "/v1/panic", "", ""))
	if res.status != 500 || res.errorCode(t) != CodeInternal {
		t.Fatalf("panic: status %d body %s", res.status, res.body)
	}
	res = f.do(t, request("GET", "/v1/fail", "", ""))
	if res.status != 500 || strings.Contains(string(res.body), "hunter2") {
		t.Fatalf("internal error: status %d body %s (must not leak the cause)", res.status, res.body)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `"panic in handler"`) || !strings.Contains(logs, "boom") || !strings.Contains(logs, "hunter2") {
		t.Errorf("logs lack the panic or the cause:\n%s", logs)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RateLimit = RateLimit{PerSecond: 0.5, Burst: 2} })
	get := func(tok string) response {
		return f.do(t, request("GET", "/v1/customers/alice/balance", tok, ""))
	}
	for i := 0; i < 2; i++ {
		if res := get(f.alice); res.status != 200 {
			t.Fatalf("request %d: status %d", i, res.status)
		}
	}
	res := get(f.alice)
	if res.status != 429 || res.errorCode(t) != CodeRateLimited || res.header.Get("Retry-After") != "2" {
		t.Fatalf("third request: status %d Retry-After %q body %s, want 429 with Retry-After 2", res.status, res.header.Get("Retry-After"), res.body)
	}
	// Another token has its own bucket.
	if res := get(f.op); res.status != 200 {
		t.Errorf("operator token limited by alice's bucket: %d", res.status)
	}
	// Probes are never limited.
	for i := 0; i < 5; i++ {
		if res := f.do(t, request("GET", "/healthz", "", "")); res.status != 200 {
			t.Fatalf("healthz limited: %d", res.status)
		}
	}
	f.clock.Advance(2 * time.Second)
	if res := get(f.alice); res.status != 200 {
		t.Errorf("after refill: status %d", res.status)
	}
}

func TestLimiterSweepForgetsIdleBuckets(t *testing.T) {
	c := &fakeClock{t: t0}
	l := newLimiter(RateLimit{PerSecond: 10, Burst: 10}, c.Now)
	l.allow("a")
	l.allow("b")
	c.Advance(2 * time.Minute)
	l.allow("c")
	if len(l.buckets) != 1 {
		t.Errorf("%d buckets after sweep, want 1", len(l.buckets))
	}
}

func TestRequestIDAndAccessLog(t *testing.T) {
	f := newFixture(t, nil)
	r := request("GET", "/v1/customers/alice/balance", f.alice, "")
	r.Header.Set("X-Request-Id", "upstream-123")
	res := f.do(t, r)
	if got := res.header.Get("X-Request-Id"); got != "upstream-123" {
		t.Errorf("X-Request-Id = %q, want the caller's", got)
	}
	r = request("GET", "/v1/customers/bob/balance", f.alice, "")
	r.Header.Set("X-Request-Id", "bad id\n{\"forged\":1}")
	res = f.do(t, r)
	id := res.header.Get("X-Request-Id")
	if len(id) != 32 {
		t.Errorf("unsafe incoming id not replaced: %q", id)
	}
	var env ErrorBody
	_ = json.Unmarshal(res.body, &env)
	if env.Error.RequestID != id {
		t.Errorf("error request_id %q, header %q", env.Error.RequestID, id)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(f.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), f.logs.String())
	}
	want := map[string]any{"msg": "http request", "request_id": "upstream-123", "method": "GET", "path": "/v1/customers/alice/balance",
		"route": "GET /v1/customers/{id}/balance", "status": float64(200), "scope": "customer:alice"}
	got := map[string]any{}
	for k := range want {
		got[k] = lines[0][k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access log (-want +got):\n%s", diff)
	}
	if lines[1]["request_id"] != id || lines[1]["status"] != float64(403) {
		t.Errorf("second log line %v", lines[1])
	}
	if strings.Contains(f.logs.String(), f.alice) {
		t.Error("a token was written to the log")
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	f.do(t, request("GET", "/v1/customers/alice/balance", f.alice, ""))
	f.do(t, request("GET", "/v1/customers/alice/balance", "", ""))
	f.do(t, request("BREW", "/coffee", "", ""))
	f.p.Metrics().AwardsPosted(3)
	f.p.Metrics().PointsIssued(decimal.RequireFromString("125.5"))
	f.p.Metrics().PointsIssued(decimal.RequireFromString("-10"))
	res := f.do(t, request("GET", "/metrics", f.op, ""))
	if res.status != 200 {
		t.Fatalf("metrics status %d", res.status)
	}
	body := string(res.body)
	for _, want := range []string{
		`negawatt_http_requests_total{code="200",method="GET",route="GET /v1/customers/{id}/balance"} 1`,
		`negawatt_http_requests_total{code="401",method="GET",route="GET /v1/customers/{id}/balance"} 1`,
		`negawatt_http_requests_total{code="404",method="OTHER",route="unmatched"} 1`,
		`negawatt_http_request_duration_seconds_bucket{method="GET",route="GET /v1/customers/{id}/balance",le="0.0005"}`,
		"negawatt_awards_posted_total 3",
		"negawatt_points_issued_total 125.5",
		"negawatt_http_requests_in_flight 1",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	s := mustSigner(t, testKey, time.Now)
	for name, cfg := range map[string]Config{
		"no signer":     {},
		"negative body": {Signer: s, MaxBodyBytes: -1},
		"bad rate":      {Signer: s, RateLimit: RateLimit{PerSecond: 0, Burst: 5}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestHandlePanicsOnMissingWildcard(t *testing.T) {
	f := newFixture(t, nil)
	defer func() {
		if recover() == nil {
			t.Error("no panic for Customer param missing from pattern")
		}
	}()
	f.p.HandleFunc("GET /v1/customers/{cid}/x", Customer("id"), func(http.ResponseWriter, *http.Request) {})
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"usage_kwh":1}`, `{"usage_kwh":1,,}`, `[]`, `{"a":1}`, "\x00", `{"usage_kwh":1e999}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 256)
		var dst struct {
			UsageKWh float64 `json:"usage_kwh"`
		}
		err := DecodeJSON(r, &dst)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || (e.Status != 400 && e.Status != 413) {
			t.Fatalf("DecodeJSON(%q) = %v, want a 400/413 *Error", body, err)
		}
	})
}

func BenchmarkServeHTTPCustomerRead(b *testing.B) {
	s := mustSigner(b, testKey, time.Now)
	p, err := New(Config{Signer: s, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), RateLimit: RateLimit{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	p.HandleFunc("GET /v1/customers/{id}/balance", Customer("id"), func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"customer": r.PathValue("id")})
	})
	tok := mustMint(b, s, mustCustomer(b, "alice"), time.Hour)
	req := request("GET", "/v1/customers/alice/balance", tok, "")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
