package dashboard

import (
	"context"
	"math"
	"time"

	"github.com/shopspring/decimal"
)

// Demo is a fixed Source for trying the dashboard and for its tests: one
// program, two customers ("demo-alice", "demo-bob") with a year of monthly
// savings. The numbers are illustrative, not from the SDK.
func Demo() Source { return demoSource{} }

type demoSource struct{}

var demoAsOf = time.Date(2025, time.March, 3, 0, 0, 0, 0, time.UTC)

func (demoSource) Customer(_ context.Context, id string) (CustomerPage, error) {
	switch id {
	case "demo-alice":
		return demoAlice(), nil
	case "demo-bob":
		p := demoAlice()
		p.CustomerID, p.DisplayName, p.Tier = "demo-bob", "Bob's Bakery", "small commercial"
		p.Balance = decimal.RequireFromString("86.5")
		p.History, p.Expiries, p.Daily = nil, nil, nil
		for i := range p.Months {
			p.Months[i].BaselineKWh *= 6
			p.Months[i].ActualKWh *= 6.1
			p.Months[i].Points = decimal.Zero
		}
		return p, nil
	}
	return CustomerPage{}, ErrNotFound
}

func demoAlice() CustomerPage {
	base := []float64{812, 744, 690, 560, 470, 610, 802, 840, 655, 540, 620, 770}
	act := []float64{770, 700, 668, 571, 430, 566, 745, 790, 629, 512, 575, 719}
	p := CustomerPage{
		CustomerID: "demo-alice", DisplayName: "Alice Moreau", Tier: "residential", AsOf: demoAsOf,
		Balance: decimal.RequireFromString("1284.50"), Held: decimal.RequireFromString("200"),
	}
	for i := range base {
		saved := base[i] - act[i]
		pts := decimal.Zero
		if saved > 0 {
			// Illustrative rule: 1 point per kWh saved, whole points.
			pts = decimal.NewFromFloat(saved).Floor()
		}
		p.Months = append(p.Months, MonthRow{
			Month: time.Date(2024, time.March+time.Month(i), 1, 0, 0, 0, 0, time.UTC), BaselineKWh: base[i], ActualKWh: act[i], Points: pts,
		})
	}
	p.History = []HistoryRow{
		{At: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), Kind: KindAward, Description: "February 2025 savings (51 kWh)", Points: decimal.NewFromInt(51)},
		{At: time.Date(2025, 2, 20, 0, 0, 0, 0, time.UTC), Kind: KindRedemption, Description: "Hold: €20 bill credit (pending)", Points: decimal.NewFromInt(-200)},
		{At: time.Date(2025, 2, 2, 0, 0, 0, 0, time.UTC), Kind: KindAward, Description: "January 2025 savings (45 kWh)", Points: decimal.NewFromInt(45)},
		{At: time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), Kind: KindAward, Description: "Demand-response event 14 Jan, 17:00–20:00", Points: decimal.RequireFromString("25.5")},
		{At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Kind: KindExpiry, Description: "Points earned in 2023 expired", Points: decimal.NewFromInt(-12)},
	}
	p.Expiries = []ExpiryRow{
		{On: time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC), Points: decimal.NewFromInt(140)},
		{On: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), Points: decimal.RequireFromString("312.5")},
	}
	return p
}

func (d demoSource) Overview(ctx context.Context) (OverviewPage, error) {
	o := OverviewPage{ProgramName: "Demo savings program", AsOf: demoAsOf, Customers: 2,
		PointsIssued: decimal.RequireFromString("1496.5"), PointsRedeemed: decimal.NewFromInt(200)}
	ids := []string{"demo-alice", "demo-bob"}
	var pages []CustomerPage
	for _, id := range ids {
		c, _ := d.Customer(ctx, id)
		pages = append(pages, c)
		total := 0.0
		for _, m := range c.Months {
			total += m.SavedKWh()
		}
		o.TopCustomers = append(o.TopCustomers, CustomerSummary{CustomerID: c.CustomerID, DisplayName: c.DisplayName, Balance: c.Balance, SavedKWh: math.Round(total*10) / 10})
	}
	for i, m := range pages[0].Months {
		o.Months = append(o.Months, ProgramMonth{Month: m.Month, SavedKWh: m.SavedKWh() + pages[1].Months[i].SavedKWh(), Points: m.Points})
	}
	return o, nil
}
