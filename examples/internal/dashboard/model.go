package dashboard

import (
	"context"
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// ErrNotFound is returned by a Source for an unknown customer; the page
// answers 404.
var ErrNotFound = errors.New("dashboard: not found")

// Source supplies the view models. The domain wave implements it over the
// SDK (ledger balances and history, savings results); [Demo] is a fixed
// example.
type Source interface {
	Overview(ctx context.Context) (OverviewPage, error)
	Customer(ctx context.Context, id string) (CustomerPage, error)
}

// CustomerPage is everything /customers/{id} shows.
type CustomerPage struct {
	CustomerID  string
	DisplayName string // optional; falls back to CustomerID
	Tier        string // optional, e.g. "residential"
	AsOf        time.Time
	// Balance is the spendable points balance; Held is points reserved by
	// pending redemptions (not spendable, not yet spent).
	Balance decimal.Decimal
	Held    decimal.Decimal
	// Months are settled months, oldest first; they drive the savings
	// table and both charts.
	Months   []MonthRow
	History  []HistoryRow // newest first
	Expiries []ExpiryRow  // soonest first
	Daily    []DailyUsage // optional: when set, the usage chart is daily
}

// MonthRow is one settled month.
type MonthRow struct {
	Month       time.Time // first day of the month, UTC
	BaselineKWh float64   // what the customer would have used (the counterfactual)
	ActualKWh   float64   // metered
	Points      decimal.Decimal
}

// SavedKWh is baseline minus actual (negative: used more than baseline).
func (m MonthRow) SavedKWh() float64 { return m.BaselineKWh - m.ActualKWh }

// DailyUsage is one day of the baseline-vs-actual chart.
type DailyUsage struct {
	Day         time.Time
	BaselineKWh float64
	ActualKWh   float64 // NaN when the meter read is missing
}

// HistoryKind classifies a history entry.
type HistoryKind string

// History kinds shown with distinct badges.
const (
	KindAward      HistoryKind = "award"
	KindRedemption HistoryKind = "redemption"
	KindExpiry     HistoryKind = "expiry"
	KindAdjustment HistoryKind = "adjustment"
)

// HistoryRow is one ledger movement.
type HistoryRow struct {
	At          time.Time
	Kind        HistoryKind
	Description string
	Points      decimal.Decimal // signed: awards positive, spends negative
}

// ExpiryRow is points that expire on a date unless spent.
type ExpiryRow struct {
	On     time.Time
	Points decimal.Decimal
}

// OverviewPage is the operator's program overview at /.
type OverviewPage struct {
	ProgramName    string
	AsOf           time.Time
	Customers      int
	PointsIssued   decimal.Decimal
	PointsRedeemed decimal.Decimal
	Months         []ProgramMonth // oldest first
	TopCustomers   []CustomerSummary
}

// ProgramMonth is one month across all customers.
type ProgramMonth struct {
	Month    time.Time
	SavedKWh float64
	Points   decimal.Decimal
}

// CustomerSummary is one row of the overview's customer table.
type CustomerSummary struct {
	CustomerID  string
	DisplayName string
	Balance     decimal.Decimal
	SavedKWh    float64
}
