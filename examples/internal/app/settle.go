package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/savings"
)

// SettleRequest settles a reporting period (as monthly facts) or one
// demand-response event for some customers (all with a baseline when
// Customers is empty).
type SettleRequest struct {
	Customers []string `json:"customers,omitempty"`
	// Kind is "period" (default) or "event".
	Kind string `json:"kind,omitempty"`
	// From and To bound the reporting period [From, To) for "period":
	// YYYY-MM-DD or RFC 3339.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Event describes the event for "event".
	Event *EventInput `json:"event,omitempty"`
}

// EventInput is a demand-response event; Start and End are RFC 3339
// (whole hours in each customer's time zone).
type EventInput struct {
	ID     string `json:"id"`
	Type   string `json:"type,omitempty"`
	Start  string `json:"start"`
	End    string `json:"end"`
	Method string `json:"method,omitempty"` // 10of10 (default), high5of10, high4of5, weekend4of4
}

// SettleResult lists what one settlement paid.
type SettleResult struct {
	RuleSet  RuleSetRef      `json:"rule_set"`
	Facts    []SettledFact   `json:"facts"`
	Awards   int             `json:"awards"`
	Points   decimal.Decimal `json:"points"`
	Problems []string        `json:"problems,omitempty"`
}

// RuleSetRef names a rule-set version.
type RuleSetRef struct {
	Program string `json:"program"`
	Version int    `json:"version"`
}

// SettledFact is one savings fact and what it paid.
type SettledFact struct {
	Customer    string          `json:"customer"`
	Fact        string          `json:"fact"`
	Kind        string          `json:"kind"`
	Start       time.Time       `json:"start"`
	End         time.Time       `json:"end"`
	BaselineKWh float64         `json:"baseline_kwh"`
	ObservedKWh float64         `json:"observed_kwh"`
	SavingsKWh  float64         `json:"savings_kwh"`
	Flags       []savings.Flag  `json:"flags,omitempty"`
	Points      decimal.Decimal `json:"points"`
	Outcomes    []OutcomeView   `json:"outcomes"`
}

// OutcomeView is what became of one rule for one fact, with its
// explanation.
type OutcomeView struct {
	Rule        string              `json:"rule"`
	Status      string              `json:"status"`
	Points      *decimal.Decimal    `json:"points,omitempty"`
	Key         string              `json:"key,omitempty"`
	Adjusts     string              `json:"adjusts,omitempty"`
	Error       string              `json:"error,omitempty"`
	Explanation rewards.Explanation `json:"explanation"`
}

// liveTTL bounds how long a Service trusts its cached live rule set. Its
// own promotions and rollbacks replace the cache at once; this bound is
// for another process on the same store (the Lambda functions, a second
// server), whose promotion a settlement here sees at most liveTTL late,
// as if it had started that much earlier.
const liveTTL = time.Second

// liveProgram returns the compiled live rule set, reading the store at
// most once per liveTTL (settlements call it on every request).
func (s *Service) liveProgram(ctx context.Context) (*rewards.Program, error) {
	s.mu.Lock()
	if s.live != nil && time.Since(s.liveAt) < liveTTL {
		p := s.live
		s.mu.Unlock()
		return p, nil
	}
	gen := s.liveGen
	s.mu.Unlock()
	all, err := s.store.RuleSets(ctx)
	if err != nil {
		return nil, err
	}
	for _, rs := range all {
		if rs.Status != store.StatusLive {
			continue
		}
		p, err := s.program(rs)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		// A promotion or rollback since the read began makes it stale.
		if s.liveGen == gen {
			s.live, s.liveAt = p, time.Now()
		}
		s.mu.Unlock()
		return p, nil
	}
	return nil, platform.Errorf(409, platform.CodeConflict, "no live rule set: upload one and promote it first")
}

// forgetLive drops the cached live rule set (after a promotion or a
// rollback, successful or not).
func (s *Service) forgetLive() {
	s.mu.Lock()
	s.live = nil
	s.liveGen++
	s.mu.Unlock()
}

func (s *Service) program(rs store.RuleSet) (*rewards.Program, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.programs[rs.Version]; ok {
		return p, nil
	}
	p, err := rewards.Load(rs.FileName, rs.Source)
	if err != nil {
		return nil, fmt.Errorf("app: stored rule set %d no longer compiles: %w", rs.Version, err)
	}
	s.programs[rs.Version] = p
	return p, nil
}

// Settle computes savings facts and pays them with the live rule set:
// UTC calendar months of CalTRACK metered savings for "period", the
// customer-baseline-load savings of one event (in the customer's time
// zone) for "event".
// Awards are idempotent (rewards.AwardKey): settling the same facts again
// pays nothing; restated facts pay the difference.
func (s *Service) Settle(ctx context.Context, req SettleRequest) (*SettleResult, error) {
	prog, err := s.liveProgram(ctx)
	if err != nil {
		return nil, err
	}
	ids := sortedIDs(req.Customers)
	for _, id := range ids {
		if !platform.ValidID(id) {
			return nil, badRequest("customers: invalid id")
		}
	}
	if len(ids) > 1000 {
		return nil, badRequest("customers: at most 1000 per settlement")
	}
	if len(ids) == 0 {
		cs, err := s.store.Customers(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if _, err := s.store.ModelDigest(ctx, c.ID); err == nil {
				ids = append(ids, c.ID)
			}
		}
	}
	var build func(ctx context.Context, c store.Customer) ([]savings.Result, error)
	var bulk *settleBulk
	switch req.Kind {
	case "", "period":
		from, err := parseDate(req.From)
		if err != nil {
			return nil, badRequest("from: %v", err)
		}
		to, err := parseDate(req.To)
		if err != nil {
			return nil, badRequest("to: %v", err)
		}
		if !to.After(from) || to.Sub(from) > 3*366*24*time.Hour {
			return nil, badRequest("to must be after from, at most 3 years later")
		}
		// Customers share weather stations: read each station's
		// temperatures once per settlement (baseline series are immutable).
		temps := map[string]*baseline.Temperature{}
		// Read the customers' rows, model digests and usage up front: in
		// a few bulk queries for many customers instead of three queries
		// each, in one statement (store.SettlementInput) for one.
		if bulk, err = s.readBulk(ctx, ids, from.AddDate(0, 0, -1), to.AddDate(0, 0, 2)); err != nil {
			return nil, err
		}
		build = func(ctx context.Context, c store.Customer) ([]savings.Result, error) {
			return s.monthlyFacts(ctx, c, from, to, temps, bulk)
		}
	case "event":
		ev := req.Event
		if ev == nil || !platform.ValidID(ev.ID) {
			return nil, badRequest("event: an id (letters, digits, . _ -) is required")
		}
		start, err := time.Parse(time.RFC3339, ev.Start)
		if err != nil {
			return nil, badRequest("event.start: %q is not RFC 3339", ev.Start)
		}
		end, err := time.Parse(time.RFC3339, ev.End)
		if err != nil {
			return nil, badRequest("event.end: %q is not RFC 3339", ev.End)
		}
		method, err := eventMethod(ev.Method)
		if err != nil {
			return nil, err
		}
		build = func(ctx context.Context, c store.Customer) ([]savings.Result, error) {
			return s.eventFacts(ctx, c, ev, start, end, method)
		}
	default:
		return nil, badRequest("kind: %q is not period or event", req.Kind)
	}

	out := &SettleResult{RuleSet: RuleSetRef{Program: prog.Program(), Version: prog.Version()}, Facts: []SettledFact{}, Points: decimal.Zero}
	now := s.now().UTC()
	// The customers' awards go to the ledger in batches: one PostBatch
	// (one durable commit) per settleBatch awards rather than one per
	// award. The batch holds the settled customers' locks until it
	// commits, so it decides exactly what award-by-award posting would.
	batch := s.tally.WithContext(ctx).Batch()
	defer batch.Discard()
	var rows []store.Settlement
	// commit posts the queued awards, then records the settlement rows of
	// the facts they paid for (the ledger is the source of truth: a row
	// never describes an award that is not there; a retry rewrites rows
	// identically and pays nothing twice).
	commit := func() error {
		if err := batch.Commit(); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		err := s.rows.put(ctx, rows)
		rows = rows[:0]
		return err
	}
	var outcomes []rewards.Outcome
	for _, id := range ids {
		c, ok := bulk.customer(id)
		if !ok {
			if c, err = s.Customer(ctx, id); err != nil {
				return nil, err
			}
		}
		results, err := build(ctx, c)
		if err != nil {
			var pe *platform.Error
			if errors.As(err, &pe) && pe.Status < 500 && len(ids) > 1 {
				// One customer's missing data must not stop the others.
				out.Problems = append(out.Problems, fmt.Sprintf("%s: %s", id, pe.Message))
				continue
			}
			return nil, err
		}
		for _, r := range results {
			f := rewards.Fact{
				Customer: rewards.Customer{ID: c.ID, Tier: c.Tier, EnrolledAt: c.EnrolledAt, Attributes: c.Attributes},
				Savings:  r, Now: now,
			}
			if r.Kind == savings.KindEvent {
				f.Event = &rewards.Event{ID: r.ID, Type: r.EventType}
			}
			outcomes, err = prog.AppendEvaluate(outcomes[:0], batch, &f)
			if err != nil {
				return nil, fmt.Errorf("app: settle %s/%s: %w", c.ID, r.ID, err)
			}
			sf := SettledFact{Customer: c.ID, Fact: r.ID, Kind: string(r.Kind), Start: r.Start, End: r.End,
				BaselineKWh: r.BaselineKWh, ObservedKWh: r.ObservedKWh, SavingsKWh: r.SavingsKWh, Flags: r.Flags,
				Points: decimal.Zero, Outcomes: []OutcomeView{}}
			for _, o := range outcomes {
				ov := OutcomeView{Rule: o.Rule, Status: statusName(o.Status), Explanation: o.Explanation}
				if o.Award != nil {
					p := o.Award.Points
					ov.Points, ov.Key, ov.Adjusts = &p, o.Award.Key, o.Award.Adjusts
					sf.Points = sf.Points.Add(p)
					out.Awards++
					out.Points = out.Points.Add(p)
				}
				if o.Err != nil {
					ov.Error = o.Err.Error()
				}
				sf.Outcomes = append(sf.Outcomes, ov)
			}
			js, err := appendFactJSON(make([]byte, 0, 512), &f)
			if err != nil {
				// json.Marshal says what it cannot encode.
				if js, err = json.Marshal(f); err != nil {
					return nil, err
				}
			}
			rows = append(rows, store.Settlement{Customer: c.ID, FactID: r.ID, Kind: string(r.Kind), Start: r.Start, End: r.End,
				BaselineKWh: r.BaselineKWh, ObservedKWh: r.ObservedKWh, SavingsKWh: r.SavingsKWh, Fact: js,
				Version: prog.Version(), Points: sf.Points.String(), SettledAt: now})
			out.Facts = append(out.Facts, sf)
		}
		if batch.Len() >= settleBatch {
			if err := commit(); err != nil {
				return nil, err
			}
		}
	}
	if err := commit(); err != nil {
		return nil, err
	}
	if s.onAwards != nil && out.Awards > 0 {
		s.onAwards(out.Awards, out.Points)
	}
	return out, nil
}

// settleBatch is how many awards a settlement queues before posting them
// in one ledger batch: large enough to share one commit among many
// customers, small enough to keep the batch's customer locks briefly.
const settleBatch = 200

func statusName(st rewards.Status) string {
	b, err := st.MarshalText()
	if err != nil {
		return "unknown"
	}
	return string(b)
}

// monthlyFacts is CalTRACK metered savings over [from, to) split into the
// customer's calendar months (savings.MonthlySettlement), with each
// month's ASHRAE error band. temps memoizes station temperatures over the
// window (nil: no memo); bulk, if not nil, holds the customer's model
// digest and usage over the window, read in bulk.
func (s *Service) monthlyFacts(ctx context.Context, c store.Customer, from, to time.Time, temps map[string]*baseline.Temperature, bulk *settleBulk) ([]savings.Result, error) {
	var m *baseline.Model
	var usage *baseline.Usage
	var err error
	usageFrom, usageTo := from.AddDate(0, 0, -1), to.AddDate(0, 0, 2)
	if bulk != nil {
		digest, ok := bulk.digests[c.ID]
		if !ok {
			return nil, unprocessable("customer %q has no fitted baseline", c.ID)
		}
		if m, err = s.baselineModelWithDigest(ctx, c.ID, digest); err != nil {
			return nil, err
		}
		usage, err = usageSeriesOf(c.ID, usageFrom, usageTo, bulk.usage[c.ID])
	} else {
		if m, err = s.baselineModel(ctx, c.ID); err != nil {
			return nil, err
		}
		usage, err = s.usageSeries(ctx, c.ID, usageFrom, usageTo)
	}
	if err != nil {
		return nil, err
	}
	temp := temps[c.WeatherStation()]
	if temp == nil {
		if temp, err = s.tempSeries(ctx, c.WeatherStation(), from.AddDate(0, 0, -2), to.AddDate(0, 0, 2)); err != nil {
			return nil, err
		}
		if temps != nil {
			temps[c.WeatherStation()] = temp
		}
	}
	days := int(to.Sub(from).Hours() / 24)
	ms, err := savings.MeteredWindow(m, usage, temp, from, days)
	if err != nil {
		return nil, unprocessable("savings: %v", err)
	}
	// Months are UTC calendar months: CalTRACK's rows are UTC days
	// (eemeter resamples usage to UTC days) and from/to are UTC dates, so
	// a month is a whole number of rows and every window that contains a
	// month gives it the same numbers (local months would split a day
	// and restate a month whenever the window moved).
	opts := savings.MonthlyOptions{Location: time.UTC}
	if fit, err := savings.FitStatsOf(m); err == nil {
		opts.Fit = &fit
	}
	months, err := savings.MonthlySettlement(ms.Periods, opts)
	if err != nil {
		return nil, unprocessable("monthly settlement: %v", err)
	}
	var out []savings.Result
	for _, mo := range months {
		r := mo.Result()
		// A window that does not start or end on a month boundary
		// settles its partial months too; only months outside it go.
		if r.ID < from.Format("2006-01") || r.ID > to.Add(-time.Nanosecond).Format("2006-01") {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// settleBulk is what a settlement of many customers reads in bulk before
// settling them one by one.
type settleBulk struct {
	customers map[string]store.Customer
	digests   map[string]string // customers with a model
	usage     map[string][]store.UsageReading
}

// readBulk reads the customers, model digests and usage over [from, to)
// of ids, store.MaxBulkIDs at a time (one store.SettlementInput for one
// id).
func (s *Service) readBulk(ctx context.Context, ids []string, from, to time.Time) (*settleBulk, error) {
	b := &settleBulk{customers: map[string]store.Customer{}, digests: map[string]string{}, usage: map[string][]store.UsageReading{}}
	if len(ids) == 1 {
		in, err := s.store.SettlementInput(ctx, ids[0], from, to)
		if errors.Is(err, store.ErrNotFound) {
			// Left out, as the bulk reads leave out an unknown id: Settle
			// then reads the customer alone and reports it.
			return b, nil
		}
		if err != nil {
			return nil, err
		}
		b.customers[ids[0]] = in.Customer
		if in.HasModel {
			b.digests[ids[0]] = in.ModelDigest
		}
		if len(in.Usage) > 0 {
			b.usage[ids[0]] = in.Usage
		}
		return b, nil
	}
	for chunk := range slices.Chunk(ids, store.MaxBulkIDs) {
		cs, err := s.store.CustomersByID(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			b.customers[c.ID] = c
		}
		ds, err := s.store.ModelDigests(ctx, chunk)
		if err != nil {
			return nil, err
		}
		maps.Copy(b.digests, ds)
		us, err := s.store.UsageOf(ctx, chunk, from, to)
		if err != nil {
			return nil, err
		}
		maps.Copy(b.usage, us)
	}
	return b, nil
}

// customer returns a customer read in bulk (false for nil b or an id the
// store did not know then).
func (b *settleBulk) customer(id string) (store.Customer, bool) {
	if b == nil {
		return store.Customer{}, false
	}
	c, ok := b.customers[id]
	return c, ok
}

// baselineModel is the customer's decoded baseline model: from the cache
// when the stored model's digest matches (one small query), else read and
// decoded.
func (s *Service) baselineModel(ctx context.Context, customer string) (*baseline.Model, error) {
	digest, err := s.store.ModelDigest(ctx, customer)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unprocessable("customer %q has no fitted baseline", customer)
	}
	if err != nil {
		return nil, err
	}
	return s.baselineModelWithDigest(ctx, customer, digest)
}

// baselineModelWithDigest is baselineModel once the stored model's digest
// is known.
func (s *Service) baselineModelWithDigest(ctx context.Context, customer, digest string) (*baseline.Model, error) {
	if m := s.models.cached(customer, digest); m != nil {
		return m, nil
	}
	rec, err := s.store.Model(ctx, customer)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unprocessable("customer %q has no fitted baseline", customer)
	}
	if err != nil {
		return nil, err
	}
	return s.models.model(rec)
}

func eventMethod(name string) (savings.EventMethod, error) {
	switch name {
	case "", "10of10":
		return savings.CBL10of10(), nil
	case "high5of10":
		return savings.CBLHigh5of10(), nil
	case "high4of5":
		return savings.CBLHigh4of5(), nil
	case "weekend4of4":
		return savings.CBLWeekendHoliday4of4(), nil
	}
	return savings.EventMethod{}, badRequest("event.method: %q is not 10of10, high5of10, high4of5 or weekend4of4", name)
}

// eventFacts is the customer-baseline-load savings of one event.
func (s *Service) eventFacts(ctx context.Context, c store.Customer, in *EventInput, start, end time.Time, m savings.EventMethod) ([]savings.Result, error) {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("app: customer %s time zone: %w", c.ID, err)
	}
	usage, err := s.usageSeries(ctx, c.ID, start.AddDate(0, 0, -m.LookbackDays-2), end.Add(time.Hour))
	if err != nil {
		return nil, err
	}
	ev := savings.Event{ID: in.ID, Type: in.Type, Location: loc, Start: start.In(loc), End: end.In(loc)}
	r, err := savings.EventSavings(usage, ev, m)
	if err != nil {
		return nil, unprocessable("event savings: %v", err)
	}
	return []savings.Result{r.Result()}, nil
}

// SettleNightly settles, for every customer with a baseline, each UTC
// calendar month from the end of the baseline to the start of the month
// containing now (customers whose meter has not reached that month yet
// are skipped). It is the scheduled job the Lambda example runs;
// re-running it pays nothing twice. Customers with the same window are
// settled together (up to store.MaxBulkIDs per Settle: bulk reads and one
// ledger batch) rather than one Settle each.
func (s *Service) SettleNightly(ctx context.Context, now time.Time) (*SettleResult, error) {
	cs, err := s.store.Customers(ctx)
	if err != nil {
		return nil, err
	}
	type window struct{ from, to time.Time }
	groups := map[window][]string{}
	var windows []window
	for _, c := range cs {
		rec, err := s.store.Model(ctx, c.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		n, e := now.UTC(), rec.End.UTC()
		to := time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, time.UTC)
		from := time.Date(e.Year(), e.Month(), 1, 0, 0, 0, 0, time.UTC)
		if from.Before(rec.End) {
			from = from.AddDate(0, 1, 0)
		}
		// Settle only months the meter has reached.
		last, err := s.store.Usage(ctx, c.ID, to.AddDate(0, -1, 0), to.AddDate(0, 0, 1))
		if err != nil {
			return nil, err
		}
		if len(last) == 0 || !from.Before(to) {
			continue
		}
		w := window{from, to}
		if _, ok := groups[w]; !ok {
			windows = append(windows, w)
		}
		groups[w] = append(groups[w], c.ID)
	}
	total := &SettleResult{Facts: []SettledFact{}, Points: decimal.Zero}
	for _, w := range windows {
		for ids := range slices.Chunk(groups[w], store.MaxBulkIDs) {
			res, err := s.Settle(ctx, SettleRequest{Customers: ids, From: w.from.Format(time.RFC3339), To: w.to.Format(time.RFC3339)})
			if err != nil {
				// A settlement of several customers reports each one's
				// data problems in its result; an error left (e.g. no
				// live rule set) is every customer's problem, as when
				// each was settled alone.
				var pe *platform.Error
				if errors.As(err, &pe) && pe.Status < 500 {
					for _, id := range ids {
						total.Problems = append(total.Problems, fmt.Sprintf("%s: %s", id, pe.Message))
					}
					continue
				}
				return nil, err
			}
			total.RuleSet = res.RuleSet
			total.Facts = append(total.Facts, res.Facts...)
			total.Awards += res.Awards
			total.Points = total.Points.Add(res.Points)
			total.Problems = append(total.Problems, res.Problems...)
		}
	}
	return total, nil
}
