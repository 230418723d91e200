package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// Seed sizes the data the scenarios run on.
type Seed struct {
	// Customers are registered with a fitted baseline each.
	Customers int
	// Months of reporting usage per customer (1..12); settlements are
	// Customers × Months distinct monthly facts.
	Months int
	// Workers seed customers in parallel; 0 means 4.
	Workers int
}

// Fixture is what Seed created on the server.
type Fixture struct {
	Customers []string
	Months    []time.Time // reporting month starts, UTC
	tokens    []string    // customer tokens, by index
	operator  string
}

// Seed calendar: a daily CalTRACK baseline fitted on the 365 days before
// baselineEnd, then reporting months from baselineEnd on.
var (
	seedFirstDay = time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)
	baselineEnd  = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
)

const station = "lt-wx"

// ruleSet pays 10 points per kWh saved in a month (rounded to 0.1).
const ruleSet = `program: loadtest
version: 1
effective_from: 2024-01-01T00:00:00Z
effective_to: 2030-01-01T00:00:00Z
currency: points
rounding: {places: 1, mode: half-even}
rules:
  - id: monthly-savings
    description: 10 points per kWh saved against the baseline
    when: savings.kind == "period" && savings.kwh > 0
    points: savings.kwh * 10
`

// tempF is a smooth seasonal daily mean temperature (°F).
func tempF(d time.Time) float64 {
	return 55 + 25*math.Sin(2*math.Pi*float64(d.YearDay()-110)/365.25)
}

// usageKWh is customer c's daily usage: heating and cooling load that
// differs per customer, with a deterministic wobble, 20 % lower in the
// reporting period (the savings the rules pay for).
func usageKWh(c, i int, d time.Time) float64 {
	t := tempF(d)
	base := 10 + float64(c%7) + (0.5+0.05*float64(c%5))*math.Max(0, 60-t) + 0.7*math.Max(0, t-70) + 0.4*math.Sin(float64(i)*1.7+float64(c))
	if !d.Before(baselineEnd) {
		base *= 0.8
	}
	return math.Round(base*1000) / 1000
}

// SeedData registers sd.Customers customers through the public API
// (operator token): one shared weather station, daily usage from May 2023
// to the end of the reporting months, a fitted daily baseline each, and a
// live rule set. It is setup, not measured.
func SeedData(ctx context.Context, s *Server, sd Seed) (*Fixture, error) {
	if sd.Customers < 1 || sd.Months < 1 || sd.Months > 12 {
		return nil, fmt.Errorf("loadtest: seed %+v: want ≥ 1 customer and 1..12 months", sd)
	}
	workers := sd.Workers
	if workers == 0 {
		workers = 4
	}
	op := s.OperatorToken()
	f := &Fixture{operator: op}
	for m := range sd.Months {
		f.Months = append(f.Months, baselineEnd.AddDate(0, m, 0))
	}
	// A few days past the last month: the settlement needs the meter to
	// have reached the month's end.
	lastDay := baselineEnd.AddDate(0, sd.Months, 3)
	var temp strings.Builder
	temp.WriteString("start,tempF\n")
	for d := seedFirstDay; d.Before(lastDay); d = d.AddDate(0, 0, 1) {
		fmt.Fprintf(&temp, "%s,%.2f\n", d.Format(time.RFC3339), tempF(d))
	}
	if _, err := s.DoContent(ctx, http.MethodPost, "/v1/temperature?station="+station, op, "text/csv", temp.String(), http.StatusOK); err != nil {
		return nil, err
	}
	if _, err := s.DoContent(ctx, http.MethodPost, "/v1/rulesets", op, "application/yaml", ruleSet, http.StatusCreated); err != nil {
		return nil, err
	}
	if _, err := s.Do(ctx, http.MethodPost, "/v1/rulesets/1/promote", op, "", http.StatusOK); err != nil {
		return nil, err
	}

	f.Customers = make([]string, sd.Customers)
	f.tokens = make([]string, sd.Customers)
	errs := make(chan error, workers)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				if err := seedCustomer(ctx, s, f, c, lastDay); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for c := range sd.Customers {
		if len(errs) > 0 {
			break
		}
		next <- c
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return f, nil
}

func seedCustomer(ctx context.Context, s *Server, f *Fixture, c int, lastDay time.Time) error {
	id := fmt.Sprintf("lt-%06d", c)
	tok, err := s.CustomerToken(id)
	if err != nil {
		return err
	}
	f.Customers[c], f.tokens[c] = id, tok
	if _, err := s.Do(ctx, http.MethodPut, "/v1/customers/"+id, f.operator,
		`{"tier":"residential","time_zone":"UTC","enrolled_at":"2023-01-01","station":"`+station+`"}`, http.StatusCreated); err != nil {
		return err
	}
	var csv strings.Builder
	csv.WriteString("start,value\n")
	i := 0
	for d := seedFirstDay; d.Before(lastDay); d, i = d.AddDate(0, 0, 1), i+1 {
		fmt.Fprintf(&csv, "%s,%.3f\n", d.Format(time.RFC3339), usageKWh(c, i, d))
	}
	if _, err := s.DoContent(ctx, http.MethodPost, "/v1/customers/"+id+"/usage", f.operator, "text/csv", csv.String(), http.StatusOK); err != nil {
		return err
	}
	_, err = s.Do(ctx, http.MethodPost, "/v1/customers/"+id+"/baseline", f.operator,
		`{"method":"daily","end":"`+baselineEnd.Format(time.DateOnly)+`"}`, http.StatusOK)
	return err
}

// Settlements settles one customer's one month per request, every
// request a distinct (customer, month) fact, so each posts a new award:
// customers vary fastest, so concurrent requests touch different
// customers' accounts. Check verifies the awards through the API:
// settling the same facts again pays nothing (idempotency), and the
// customers settled have a positive balance.
func (f *Fixture) Settlements() Scenario {
	return Scenario{
		Name: "settlement (POST /v1/settlements, 1 customer-month, award posted)",
		Request: func(ctx context.Context, s *Server, i int) (*http.Request, error) {
			c, m := i%len(f.Customers), i/len(f.Customers)
			if m >= len(f.Months) {
				return nil, fmt.Errorf("loadtest: request %d: only %d distinct facts seeded", i, len(f.Customers)*len(f.Months))
			}
			return s.NewRequest(ctx, http.MethodPost, "/v1/settlements", f.operator, f.settleBody(c, m))
		},
		Check: func(ctx context.Context, s *Server, sent int) error {
			for i := range min(sent, 20) {
				c, m := i%len(f.Customers), i/len(f.Customers)
				b, err := s.Do(ctx, http.MethodPost, "/v1/settlements", f.operator, f.settleBody(c, m), http.StatusOK)
				if err != nil {
					return err
				}
				var res struct {
					Awards int `json:"awards"`
				}
				if err := json.Unmarshal(b, &res); err != nil {
					return err
				}
				if res.Awards != 0 {
					return fmt.Errorf("re-settling %s %s paid %d awards again", f.Customers[c], f.Months[m].Format("2006-01"), res.Awards)
				}
				bal, err := f.balance(ctx, s, c)
				if err != nil {
					return err
				}
				if !bal.IsPositive() {
					return fmt.Errorf("%s was settled but has balance %s", f.Customers[c], bal)
				}
			}
			return nil
		},
	}
}

// Facts is the number of distinct settlements the fixture allows.
func (f *Fixture) Facts() int { return len(f.Customers) * len(f.Months) }

func (f *Fixture) settleBody(c, m int) string {
	return fmt.Sprintf(`{"customers":[%q],"kind":"period","from":%q,"to":%q}`, f.Customers[c],
		f.Months[m].Format(time.DateOnly), f.Months[m].AddDate(0, 1, 0).Format(time.DateOnly))
}

func (f *Fixture) balance(ctx context.Context, s *Server, c int) (decimal.Decimal, error) {
	b, err := s.Do(ctx, http.MethodGet, "/v1/customers/"+f.Customers[c]+"/balance", f.tokens[c], "", http.StatusOK)
	if err != nil {
		return decimal.Decimal{}, err
	}
	var v struct {
		Available decimal.Decimal `json:"available"`
	}
	return v.Available, json.Unmarshal(b, &v)
}

// BalanceReads reads customers' balances round robin, each with its own
// customer token (the path a customer's app takes).
func (f *Fixture) BalanceReads() Scenario {
	paths := make([]string, len(f.Customers))
	for i, id := range f.Customers {
		paths[i] = "/v1/customers/" + id + "/balance"
	}
	return Scenario{
		Name: "balance read (GET /v1/customers/{id}/balance, customer token)",
		Request: func(ctx context.Context, s *Server, i int) (*http.Request, error) {
			c := i % len(f.Customers)
			return s.NewRequest(ctx, http.MethodGet, paths[c], f.tokens[c], "")
		},
	}
}

// BatchSettlements settles per customers' same month in each request
// (SettleRequest takes up to 1,000 customers), every (customer, month)
// fact once: request i covers customers [i·per, (i+1)·per) of month
// i / (Customers/per). Its req/s times per is settlements/s. Customers
// must be a multiple of per.
func (f *Fixture) BatchSettlements(per int) (Scenario, int, error) {
	if per < 1 || len(f.Customers)%per != 0 {
		return Scenario{}, 0, fmt.Errorf("loadtest: %d customers are not a multiple of %d", len(f.Customers), per)
	}
	perMonth := len(f.Customers) / per
	return Scenario{
		Name: fmt.Sprintf("settlement batch (POST /v1/settlements, %d customers × 1 month, awards posted)", per),
		Request: func(ctx context.Context, s *Server, i int) (*http.Request, error) {
			m, b := i/perMonth, i%perMonth
			if m >= len(f.Months) {
				return nil, fmt.Errorf("loadtest: request %d: only %d batches seeded", i, perMonth*len(f.Months))
			}
			ids, err := json.Marshal(f.Customers[b*per : (b+1)*per])
			if err != nil {
				return nil, err
			}
			body := fmt.Sprintf(`{"customers":%s,"kind":"period","from":%q,"to":%q}`, ids,
				f.Months[m].Format(time.DateOnly), f.Months[m].AddDate(0, 1, 0).Format(time.DateOnly))
			return s.NewRequest(ctx, http.MethodPost, "/v1/settlements", f.operator, body)
		},
	}, perMonth * len(f.Months), nil
}

// Later returns the fixture without its first skip months, to settle
// them in another scenario without repeating facts.
func (f *Fixture) Later(skip int) *Fixture {
	g := *f
	g.Months = f.Months[min(skip, len(f.Months)):]
	return &g
}
