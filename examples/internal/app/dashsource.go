package app

import (
	"context"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/examples/internal/dashboard"
	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards/ledgertally"
)

// DashboardSource fills the dashboard from the service: settled months
// from the store, balances, history and expiries from the ledger, and the
// daily baseline-vs-actual chart from the stored model's predictions.
func DashboardSource(s *Service) dashboard.Source { return dashSource{s} }

type dashSource struct{ s *Service }

// dashHistory is how many ledger movements a customer page lists.
const dashHistory = 20

func (d dashSource) Customer(ctx context.Context, id string) (dashboard.CustomerPage, error) {
	s := d.s
	c, err := s.store.Customer(ctx, id)
	if err != nil {
		return dashboard.CustomerPage{}, dashboard.ErrNotFound
	}
	bal, err := s.Balance(ctx, id)
	if err != nil {
		return dashboard.CustomerPage{}, err
	}
	p := dashboard.CustomerPage{CustomerID: c.ID, DisplayName: c.Name, Tier: c.Tier, AsOf: bal.AsOf, Balance: bal.Available, Held: bal.Held}
	rows, err := s.store.Settlements(ctx, id, time.Time{}, time.Time{})
	if err != nil {
		return dashboard.CustomerPage{}, err
	}
	var first, last time.Time
	for _, r := range rows {
		if r.Kind != "period" {
			continue
		}
		pts, _ := decimal.NewFromString(r.Points)
		m, err := time.Parse("2006-01", r.FactID)
		if err != nil {
			continue
		}
		p.Months = append(p.Months, dashboard.MonthRow{Month: m, BaselineKWh: r.BaselineKWh, ActualKWh: r.ObservedKWh, Points: d.paid(ctx, id, r.FactID, pts)})
		if first.IsZero() {
			first = r.Start
		}
		last = r.End
	}
	h, err := s.History(ctx, id, platform.Page{Limit: dashHistory})
	if err != nil {
		return dashboard.CustomerPage{}, err
	}
	for _, e := range h.Entries {
		kind := dashboard.KindAdjustment
		switch e.Kind {
		case "award":
			kind = dashboard.KindAward
		case "redemption":
			kind = dashboard.KindRedemption
		case "expiry":
			kind = dashboard.KindExpiry
		}
		p.History = append(p.History, dashboard.HistoryRow{At: e.PostedAt, Kind: kind, Description: e.Description, Points: e.Points})
	}
	for _, e := range bal.Upcoming {
		p.Expiries = append(p.Expiries, dashboard.ExpiryRow{On: e.At, Points: e.Points})
	}
	if !first.IsZero() {
		p.Daily = d.daily(ctx, c.ID, c.WeatherStation(), first, last)
	}
	return p, nil
}

// paid is what the ledger holds for a fact (all rules, adjustments
// included), which is what the customer was actually paid; the settlement
// row's points are only the last settlement's.
func (d dashSource) paid(ctx context.Context, customer, fact string, fallback decimal.Decimal) decimal.Decimal {
	sum, ok := d.s.ledger.(ledger.AwardSummer)
	if !ok {
		return fallback
	}
	v, err := sum.AwardedSum(ctx, ledger.AwardQuery{Account: d.s.Account(customer), TagKey: ledgertally.MetaFact, TagValue: fact})
	if err != nil {
		return fallback
	}
	return v
}

// daily predicts the stored model over the settled days; nil when it
// cannot (billing models, missing data).
func (d dashSource) daily(ctx context.Context, customer, station string, from, to time.Time) []dashboard.DailyUsage {
	v, err := d.s.Baseline(ctx, customer)
	if err != nil || v.model.Method != baseline.Daily {
		return nil
	}
	u, err := d.s.usageSeries(ctx, customer, from, to.AddDate(0, 0, 1))
	if err != nil {
		return nil
	}
	days, err := baseline.DailyUsage(u)
	if err != nil {
		return nil
	}
	t, err := d.s.tempSeries(ctx, station, from.AddDate(0, 0, -1), to.AddDate(0, 0, 2))
	if err != nil {
		return nil
	}
	pred, err := v.model.Predict(days, t)
	if err != nil {
		return nil
	}
	out := make([]dashboard.DailyUsage, 0, len(pred))
	for i, p := range pred {
		if i >= days.Len() || math.IsNaN(p.Days) {
			continue
		}
		out = append(out, dashboard.DailyUsage{Day: p.Start, BaselineKWh: p.Predicted, ActualKWh: days.At(i).Value})
	}
	return out
}

func (d dashSource) Overview(ctx context.Context) (dashboard.OverviewPage, error) {
	s := d.s
	o := dashboard.OverviewPage{ProgramName: "negawatt", AsOf: s.now().UTC(), PointsIssued: decimal.Zero, PointsRedeemed: decimal.Zero}
	if p, err := s.liveProgram(ctx); err == nil {
		o.ProgramName = p.Program()
		if b, err := s.ledger.Balance(ctx, s.tally.IssuanceAccount(p.Program()), time.Time{}); err == nil {
			o.PointsIssued = b.Posted.Neg()
		}
	}
	if b, err := s.ledger.Balance(ctx, RedeemedAccount, time.Time{}); err == nil {
		o.PointsRedeemed = b.Posted
	}
	cs, err := s.store.Customers(ctx)
	if err != nil {
		return o, err
	}
	o.Customers = len(cs)
	rows, err := s.store.Settlements(ctx, "", time.Time{}, time.Time{})
	if err != nil {
		return o, err
	}
	months := map[string]*dashboard.ProgramMonth{}
	saved := map[string]float64{}
	for _, r := range rows {
		if r.Kind != "period" {
			continue
		}
		saved[r.Customer] += r.SavingsKWh
		m, err := time.Parse("2006-01", r.FactID)
		if err != nil {
			continue
		}
		pm := months[r.FactID]
		if pm == nil {
			pm = &dashboard.ProgramMonth{Month: m, Points: decimal.Zero}
			months[r.FactID] = pm
		}
		pts, _ := decimal.NewFromString(r.Points)
		pm.SavedKWh += r.SavingsKWh
		pm.Points = pm.Points.Add(pts)
	}
	for _, pm := range months {
		o.Months = append(o.Months, *pm)
	}
	sort.Slice(o.Months, func(i, j int) bool { return o.Months[i].Month.Before(o.Months[j].Month) })
	for _, c := range cs {
		b, err := s.Balance(ctx, c.ID)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return o, err
		}
		o.TopCustomers = append(o.TopCustomers, dashboard.CustomerSummary{CustomerID: c.ID, DisplayName: c.Name, Balance: b.Available, SavedKWh: math.Round(saved[c.ID]*10) / 10})
	}
	sort.SliceStable(o.TopCustomers, func(i, j int) bool { return o.TopCustomers[i].SavedKWh > o.TopCustomers[j].SavedKWh })
	if len(o.TopCustomers) > 10 {
		o.TopCustomers = o.TopCustomers[:10]
	}
	return o, nil
}
