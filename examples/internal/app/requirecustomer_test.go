package app

import (
	"context"
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/platform"
)

// TestBalanceKnownCustomerCache: an unknown customer is 404 every time
// (never remembered), even after another id is confirmed; a registered
// one is remembered and still gets its (empty) balance.
func TestBalanceKnownCustomerCache(t *testing.T) {
	ctx := context.Background()
	s := newSQLiteService(t)
	is404 := func(err error) bool {
		var pe *platform.Error
		return errors.As(err, &pe) && pe.Status == 404
	}
	for range 2 {
		if _, err := s.Balance(ctx, "ghost"); !is404(err) {
			t.Fatalf("unknown customer: err = %v, want 404", err)
		}
	}
	if _, ok := s.registered.Load("ghost"); ok {
		t.Error("an unknown customer was remembered")
	}
	in := CustomerInput{Tier: "standard", TimeZone: "UTC", EnrolledAt: "2024-01-01"}
	if _, _, err := s.PutCustomer(ctx, "alice", in); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b, err := s.Balance(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if b.Customer != "alice" || !b.Available.Equal(decimal.Zero) {
			t.Errorf("balance = %+v, want alice with 0 available", b)
		}
	}
	if _, ok := s.registered.Load("alice"); !ok {
		t.Error("a registered customer was not remembered")
	}
	if _, err := s.Balance(ctx, "ghost"); !is404(err) {
		t.Errorf("unknown customer after a known one: err = %v, want 404", err)
	}
}
