package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/negawatt/negawatt/examples/internal/platform"
)

// benchHandler is the full handler (auth, middleware, routing, JSON) over
// the SQLite store and ledger with the demo data loaded.
func benchHandler(b *testing.B) (http.Handler, string, string) {
	return benchHandlerFor(b, newSQLiteService(b))
}

// benchHandlerFor is benchHandler over the service s.
func benchHandlerFor(b *testing.B, s *Service) (http.Handler, string, string) {
	if err := LoadDemo(context.Background(), s, "../../../testdata"); err != nil {
		b.Fatal(err)
	}
	signer, _ := platform.NewSigner(bytes.Repeat([]byte{7}, 32))
	h, err := New(Config{Signer: signer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Service: s, RateLimit: platform.RateLimit{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	op, _ := signer.Mint(platform.OperatorScope(), time.Hour)
	sc, _ := platform.CustomerScope(DemoCustomer)
	cust, _ := signer.Mint(sc, time.Hour)
	return h, op, cust
}

// BenchmarkBalanceHTTP: GET /v1/customers/demo-1/balance with a customer
// token, in process (no network).
func BenchmarkBalanceHTTP(b *testing.B) {
	benchBalance(b, benchHandler)
}

// BenchmarkBalanceHTTPPostgres is BenchmarkBalanceHTTP over the PostgreSQL
// store and ledger (skipped without NEGAWATT_POSTGRES_URL): the load
// test's balance read without the network between client and server.
func BenchmarkBalanceHTTPPostgres(b *testing.B) {
	benchBalance(b, func(b *testing.B) (http.Handler, string, string) {
		return benchHandlerFor(b, newPostgresService(b))
	})
}

func benchBalance(b *testing.B, handler func(*testing.B) (http.Handler, string, string)) {
	h, _, cust := handler(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/v1/customers/demo-1/balance", nil)
		req.Header.Set("Authorization", "Bearer "+cust)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkSettleMonthHTTP: POST /v1/settlements for one customer-month
// that is already paid (the idempotent path a nightly re-run takes):
// load the model, usage and temperature, compute metered savings and the
// month, evaluate the live rules against the ledger, record the fact.
func BenchmarkSettleMonthHTTP(b *testing.B) {
	h, op, _ := benchHandler(b)
	body := []byte(`{"customers":["demo-1"],"from":"2014-07-01","to":"2014-08-01"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/settlements", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+op)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}
