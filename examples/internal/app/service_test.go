package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/dashboard"
	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/examples/internal/store/storetest"
)

// newSQLiteService builds a Service over a fresh data directory (SQLite
// store and ledger), as the server does by default.
func newSQLiteService(t testing.TB) *Service {
	t.Helper()
	return openTestService(t, t.TempDir(), "")
}

// newPostgresService builds a Service over a private PostgreSQL schema
// (skipped without NEGAWATT_POSTGRES_URL, failed in CI).
func newPostgresService(t testing.TB) *Service {
	t.Helper()
	return openTestService(t, "", storetest.PostgresURL(t))
}

func openTestService(t testing.TB, dir, url string) *Service {
	s, closeAll, err := OpenService(context.Background(), dir, url, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAll)
	return s
}

func TestLoadDemo(t *testing.T) {
	t.Parallel()
	s := newSQLiteService(t)
	ctx := context.Background()
	if err := LoadDemo(ctx, s, "../../../testdata"); err != nil {
		t.Fatal(err)
	}
	b, err := s.Balance(ctx, DemoCustomer)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("balance %+v", b)
	rows, _ := s.store.Settlements(ctx, DemoCustomer, time.Time{}, time.Time{})
	for _, r := range rows {
		t.Logf("%s %.0f %.0f %.0f %s", r.FactID, r.BaselineKWh, r.ObservedKWh, r.SavingsKWh, r.Points)
	}
	// Loading again pays nothing twice.
	if err := LoadDemo(ctx, s, "../../../testdata"); err != nil {
		t.Fatal(err)
	}
	b2, _ := s.Balance(ctx, DemoCustomer)
	if !b2.Posted.Equal(b.Posted) {
		t.Errorf("second LoadDemo changed the balance: %s -> %s", b.Posted, b2.Posted)
	}
}

// mustCustomer returns the customer, or one with just the id.
func (s *Service) mustCustomer(id string) store.Customer {
	c, err := s.store.Customer(context.Background(), id)
	if err != nil {
		return store.Customer{ID: id}
	}
	return c
}

func TestDashboardSource(t *testing.T) {
	t.Parallel()
	s := newSQLiteService(t)
	ctx := context.Background()
	if err := LoadDemo(ctx, s, "../../../testdata"); err != nil {
		t.Fatal(err)
	}
	src := DashboardSource(s)
	p, err := src.Customer(ctx, DemoCustomer)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Balance(ctx, DemoCustomer)
	if len(p.Months) != 12 || len(p.Daily) < 360 || len(p.History) != 12 || len(p.Expiries) == 0 || !p.Balance.Equal(b.Available) {
		t.Errorf("page: %d months, %d days, %d history, %d expiries, balance %s (want %s)", len(p.Months), len(p.Daily), len(p.History), len(p.Expiries), p.Balance, b.Available)
	}
	sum := decimal.Zero
	for _, m := range p.Months {
		sum = sum.Add(m.Points)
	}
	if !sum.Equal(b.Posted) {
		t.Errorf("months pay %s, ledger holds %s", sum, b.Posted)
	}
	o, err := src.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o.Customers != 1 || !o.PointsIssued.Equal(b.Posted) || len(o.Months) != 12 || o.ProgramName != "negawatt-demo" {
		t.Errorf("overview: %+v", o)
	}
	if _, err := src.Customer(ctx, "nobody"); !errors.Is(err, dashboard.ErrNotFound) {
		t.Errorf("unknown customer: %v", err)
	}
}
