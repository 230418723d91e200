package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/rewards/ledgertally"
)

// RedeemedAccount is the ledger account committed redemptions credit.
const RedeemedAccount = "redeemed"

// ExpiryMonths is how long awarded points stay spendable: they expire at
// the start of the UTC month this many months after the award is posted
// (one instant per month, so concurrent settlements of a fact post the
// same content).
const ExpiryMonths = 24

// Service is the domain layer behind the /v1 API: every operation the
// HTTP handlers, the Lambda handlers (SQS ingest, scheduled settlement and
// expiry sweep) and the dashboard perform, over the app store and the
// points ledger. It is safe for concurrent use.
type Service struct {
	store  store.Store
	ledger ledger.Ledger
	holder ledger.Holder
	tally  *ledgertally.Tally
	now    func() time.Time

	// onAwards is told about every paying award (metrics).
	onAwards func(n int, points decimal.Decimal)

	mu       sync.Mutex
	programs map[int]*rewards.Program // compiled rule sets by version
	live     *rewards.Program         // cached live rule set (see liveProgram)
	liveAt   time.Time                // when live was read
	liveGen  uint64                   // bumped by forgetLive

	// ledgerCreates: the ledger opens customer and issuance accounts with
	// their first award (WithLedgerAutoCreate).
	ledgerCreates bool

	models modelCache // decoded baseline models by customer
	temps  tempCache  // station temperature series by window
	rows   *settlementWriter

	// registered remembers customer ids the store has confirmed (the
	// store has no way to unregister one), so reads that only need to
	// know the customer exists skip the query; at most maxRegistered.
	registered  sync.Map // string → struct{}
	nRegistered atomic.Int64
}

// maxRegistered bounds Service.registered; past it lookups just query.
const maxRegistered = 100000

// requireCustomer is Customer for callers that need only to know the
// customer is registered (404 when unknown). Customers are never
// removed, so a confirmed id stays confirmed; an unknown id is asked
// again every time.
func (s *Service) requireCustomer(ctx context.Context, id string) error {
	if _, ok := s.registered.Load(id); ok {
		return nil
	}
	if _, err := s.Customer(ctx, id); err != nil {
		return err
	}
	if s.nRegistered.Load() < maxRegistered {
		if _, loaded := s.registered.LoadOrStore(id, struct{}{}); !loaded {
			s.nRegistered.Add(1)
		}
	}
	return nil
}

// ServiceOption configures NewService.
type ServiceOption func(*Service)

// WithClock sets the service clock (tests).
func WithClock(now func() time.Time) ServiceOption { return func(s *Service) { s.now = now } }

// WithAwardHook calls f after each settlement with the number of awards
// paid and their points (e.g. platform metrics).
func WithAwardHook(f func(n int, points decimal.Decimal)) ServiceOption {
	return func(s *Service) { s.onAwards = f }
}

// WithLedgerAutoCreate declares that the ledger was opened with
// ledger.WithAutoCreate(ledgertally.AutoCreate): a customer's account is
// then opened in the same durable commit as their first award instead of
// by a separate read and creation. OpenService opens its ledgers so.
func WithLedgerAutoCreate() ServiceOption {
	return func(s *Service) { s.ledgerCreates = true }
}

// NewService builds the service. l must also implement ledger.Holder,
// ledger.Expirer and ledger.AwardSummer (every ledger.Engine does).
func NewService(ctx context.Context, st store.Store, l ledger.Ledger, opts ...ServiceOption) (*Service, error) {
	h, ok := l.(ledger.Holder)
	if !ok {
		return nil, fmt.Errorf("app: ledger %T has no two-phase holds", l)
	}
	if _, ok := l.(ledger.Expirer); !ok {
		return nil, fmt.Errorf("app: ledger %T cannot sweep expiries", l)
	}
	s := &Service{store: st, ledger: l, holder: h, now: time.Now, programs: map[int]*rewards.Program{}, rows: &settlementWriter{st: st}}
	for _, o := range opts {
		o(s)
	}
	topts := []ledgertally.Option{ledgertally.WithExpiry(func(*rewards.Claim) time.Time {
		n := s.now().UTC()
		return time.Date(n.Year(), n.Month()+ExpiryMonths, 1, 0, 0, 0, 0, time.UTC)
	})}
	if s.ledgerCreates {
		topts = append(topts, ledgertally.WithLedgerCreatesAccounts())
	}
	t, err := ledgertally.New(l, topts...)
	if err != nil {
		return nil, err
	}
	s.tally = t
	if _, err := l.CreateAccount(ctx, ledger.Account{ID: RedeemedAccount, Kind: ledger.KindRedeemed}); err != nil {
		return nil, fmt.Errorf("app: create %s account: %w", RedeemedAccount, err)
	}
	return s, nil
}

// Store returns the app store.
func (s *Service) Store() store.Store { return s.store }

// Ledger returns the points ledger.
func (s *Service) Ledger() ledger.Ledger { return s.ledger }

// Account is the ledger account of a customer.
func (s *Service) Account(customer string) string { return s.tally.CustomerAccount(customer) }

// Ready checks the store and the ledger answer (for /readyz).
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := s.ledger.Account(ctx, RedeemedAccount); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

func notFound(format string, args ...any) error {
	return platform.Errorf(http.StatusNotFound, platform.CodeNotFound, format, args...)
}

func badRequest(format string, args ...any) error {
	return platform.Errorf(http.StatusBadRequest, platform.CodeBadRequest, format, args...)
}

func unprocessable(format string, args ...any) error {
	return platform.Errorf(http.StatusUnprocessableEntity, platform.CodeUnprocessable, format, args...)
}

// CustomerInput is a customer registration.
type CustomerInput struct {
	Name       string            `json:"name,omitempty"`
	Tier       string            `json:"tier"`
	TimeZone   string            `json:"time_zone"`
	EnrolledAt string            `json:"enrolled_at"` // YYYY-MM-DD or RFC 3339
	Station    string            `json:"station,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// PutCustomer registers or updates a customer after validating every field.
func (s *Service) PutCustomer(ctx context.Context, id string, in CustomerInput) (store.Customer, bool, error) {
	if !platform.ValidID(id) {
		return store.Customer{}, false, badRequest("invalid customer id")
	}
	if in.Tier == "" || len(in.Tier) > 64 {
		return store.Customer{}, false, badRequest("tier: required, at most 64 characters")
	}
	if in.TimeZone == "" {
		in.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil || in.TimeZone == "Local" || len(in.TimeZone) > 64 {
		return store.Customer{}, false, badRequest("time_zone: %q is not an IANA time zone", in.TimeZone)
	}
	enrolled, err := parseDate(in.EnrolledAt)
	if err != nil {
		return store.Customer{}, false, badRequest("enrolled_at: %v", err)
	}
	if in.Station != "" && !platform.ValidID(in.Station) {
		return store.Customer{}, false, badRequest("station: invalid id")
	}
	if len(in.Name) > 200 || len(in.Attributes) > 64 {
		return store.Customer{}, false, badRequest("name at most 200 characters, at most 64 attributes")
	}
	for k, v := range in.Attributes {
		if k == "" || len(k) > 64 || len(v) > 256 {
			return store.Customer{}, false, badRequest("attributes: keys 1-64 characters, values at most 256")
		}
	}
	c := store.Customer{ID: id, Name: in.Name, Tier: in.Tier, TimeZone: in.TimeZone, EnrolledAt: enrolled, Station: in.Station, Attributes: in.Attributes}
	if c.Attributes == nil {
		c.Attributes = map[string]string{}
	}
	created, err := s.store.PutCustomer(ctx, c)
	if err != nil {
		return store.Customer{}, false, err
	}
	c, err = s.store.Customer(ctx, id)
	return c, created, err
}

// Customer returns a registered customer (404 when unknown).
func (s *Service) Customer(ctx context.Context, id string) (store.Customer, error) {
	c, err := s.store.Customer(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Customer{}, notFound("customer %q is not registered", id)
	}
	return c, err
}

// parseDate accepts YYYY-MM-DD (UTC midnight) or RFC 3339.
func parseDate(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, errors.New("required (YYYY-MM-DD or RFC 3339)")
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD or RFC 3339", v)
	}
	return t.UTC(), nil
}

// IngestUsage stores validated usage readings for a registered customer,
// all or nothing, upserting per period start. It is what the usage upload
// route and the Lambda SQS consumer call.
func (s *Service) IngestUsage(ctx context.Context, customer string, rows []store.UsageReading) (int, error) {
	if _, err := s.Customer(ctx, customer); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, unprocessable("no readings")
	}
	if err := s.store.PutUsage(ctx, customer, rows); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// IngestTemperature stores validated temperature readings (°F) for a
// station, all or nothing.
func (s *Service) IngestTemperature(ctx context.Context, station string, rows []store.TempReading) (int, error) {
	if !platform.ValidID(station) {
		return 0, badRequest("station: invalid id")
	}
	if len(rows) == 0 {
		return 0, unprocessable("no readings")
	}
	// Forget before and after the write: a read that started before it
	// must not be cached once it is done.
	s.temps.forget(station)
	defer s.temps.forget(station)
	if err := s.store.PutTemperature(ctx, station, rows); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// FitRequest asks for a CalTRACK baseline ending at End.
type FitRequest struct {
	Method string `json:"method"` // "daily" (default) or "billing"
	End    string `json:"end"`    // RFC 3339 or YYYY-MM-DD: the baseline ends here
	Days   int    `json:"days"`   // window length, default 365
	FitCDD *bool  `json:"fit_cdd,omitempty"`
}

// BaselineView summarises a stored baseline model.
type BaselineView struct {
	Customer     string                      `json:"customer"`
	Method       string                      `json:"method"`
	ModelType    string                      `json:"model_type"`
	HeatingBPF   *int                        `json:"heating_balance_point_f"`
	CoolingBPF   *int                        `json:"cooling_balance_point_f"`
	Intercept    float64                     `json:"intercept"`
	BetaHDD      float64                     `json:"beta_hdd"`
	BetaCDD      float64                     `json:"beta_cdd"`
	RSquaredAdj  float64                     `json:"r_squared_adj"`
	CVRMSEAdj    *float64                    `json:"cvrmse_adj"`
	N            int                         `json:"n"`
	Start        time.Time                   `json:"start"`
	End          time.Time                   `json:"end"`
	FittedAt     time.Time                   `json:"fitted_at"`
	Sufficiency  *baseline.SufficiencyStatus `json:"sufficiency,omitempty"`
	Warnings     []string                    `json:"warnings,omitempty"`
	Candidates   map[string]int              `json:"candidates"`
	model        *baseline.Model
	storedRecord store.Model
}

func finitePtr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func viewOf(rec store.Model, m *baseline.Model) BaselineView {
	v := BaselineView{Customer: rec.Customer, Method: m.Method.String(), ModelType: m.Type.String(),
		Intercept: m.Intercept, BetaHDD: m.BetaHDD, BetaCDD: m.BetaCDD, RSquaredAdj: m.RSquaredAdj,
		CVRMSEAdj: finitePtr(m.AvgsMetrics.CVRMSEAdj), N: m.N, Start: rec.Start, End: rec.End, FittedAt: rec.FittedAt,
		Candidates: map[string]int{"qualified": m.Candidates.Qualified, "disqualified": m.Candidates.Disqualified, "not_attempted": m.Candidates.NotAttempted},
		model:      m, storedRecord: rec}
	if m.Type.HasHDD() {
		h := m.HeatingBalancePointF
		v.HeatingBPF = &h
	}
	if m.Type.HasCDD() {
		c := m.CoolingBalancePointF
		v.CoolingBPF = &c
	}
	return v
}

// FitBaseline fits a CalTRACK daily or billing model on the customer's
// stored usage and station temperature and stores it.
func (s *Service) FitBaseline(ctx context.Context, customer string, req FitRequest) (BaselineView, error) {
	c, err := s.Customer(ctx, customer)
	if err != nil {
		return BaselineView{}, err
	}
	if req.Method == "" {
		req.Method = "daily"
	}
	method, err := baseline.ParseMethod(req.Method)
	if err != nil {
		return BaselineView{}, badRequest("method: %v", err)
	}
	end, err := parseDate(req.End)
	if err != nil {
		return BaselineView{}, badRequest("end: %v", err)
	}
	if req.Days == 0 {
		req.Days = 365
	}
	if req.Days < 30 || req.Days > 731 {
		return BaselineView{}, badRequest("days: %d is outside 30..731", req.Days)
	}
	start := end.AddDate(0, 0, -req.Days)
	// A bill may start up to ~3 months before the window; the window
	// selection itself is baseline.BaselineWindow's (eemeter's).
	usage, err := s.usageSeries(ctx, customer, start.AddDate(0, -3, 0), end.AddDate(0, 3, 0))
	if err != nil {
		return BaselineView{}, err
	}
	temp, err := s.tempSeries(ctx, c.WeatherStation(), start.AddDate(0, -4, 0), end.AddDate(0, 0, 2))
	if err != nil {
		return BaselineView{}, err
	}
	o := baseline.OptionsFor(method)
	if req.FitCDD != nil {
		o.FitCDD = *req.FitCDD
	}
	res, err := baseline.FitBaseline(usage, temp, end, req.Days, o)
	if err != nil {
		return BaselineView{}, unprocessable("baseline fit: %v", err)
	}
	js, err := res.Model.MarshalJSON()
	if err != nil {
		return BaselineView{}, err
	}
	rec := store.Model{Customer: customer, Method: method.String(), Start: start, End: end, JSON: js, FittedAt: s.now().UTC()}
	if err := s.store.PutModel(ctx, rec); err != nil {
		return BaselineView{}, err
	}
	rec, err = s.store.Model(ctx, customer)
	if err != nil {
		return BaselineView{}, err
	}
	// Keyed by the bytes this fit wrote: if a concurrent fit has replaced
	// them already, the stored digest differs and the entry is never used.
	s.models.put(customer, store.ModelDigestOf(js), res.Model)
	v := viewOf(rec, res.Model)
	st := res.Sufficiency.Status
	v.Sufficiency, v.Warnings = &st, res.Sufficiency.WarningNames()
	return v, nil
}

// Baseline returns the customer's stored model.
func (s *Service) Baseline(ctx context.Context, customer string) (BaselineView, error) {
	if _, err := s.Customer(ctx, customer); err != nil {
		return BaselineView{}, err
	}
	rec, err := s.store.Model(ctx, customer)
	if errors.Is(err, store.ErrNotFound) {
		return BaselineView{}, notFound("customer %q has no fitted baseline", customer)
	}
	if err != nil {
		return BaselineView{}, err
	}
	var m baseline.Model
	if err := m.UnmarshalJSON(rec.JSON); err != nil {
		return BaselineView{}, fmt.Errorf("app: stored model of %s: %w", customer, err)
	}
	return viewOf(rec, &m), nil
}

func (s *Service) usageSeries(ctx context.Context, customer string, from, to time.Time) (*baseline.Usage, error) {
	rows, err := s.store.Usage(ctx, customer, from, to)
	if err != nil {
		return nil, err
	}
	return usageSeriesOf(customer, from, to, rows)
}

// usageSeriesOf makes the series of a customer's stored readings over
// [from, to) (unprocessable when there are none).
func usageSeriesOf(customer string, from, to time.Time, rows []store.UsageReading) (*baseline.Usage, error) {
	if len(rows) == 0 {
		return nil, unprocessable("customer %q has no usage between %s and %s", customer, from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	rs := make([]baseline.Reading, len(rows))
	for i, r := range rows {
		rs[i] = baseline.Reading{Start: r.Start, Value: r.KWh}
	}
	return baseline.NewUsage(rs)
}

func (s *Service) tempSeries(ctx context.Context, station string, from, to time.Time) (*baseline.Temperature, error) {
	k := tempKey{station: station, from: from.UTC(), to: to.UTC()}
	t, gen := s.temps.get(k, time.Now())
	if t != nil {
		return t, nil
	}
	t, err := s.readTempSeries(ctx, station, from, to)
	if err == nil {
		s.temps.put(k, gen, t, time.Now())
	}
	return t, err
}

func (s *Service) readTempSeries(ctx context.Context, station string, from, to time.Time) (*baseline.Temperature, error) {
	rows, err := s.store.Temperature(ctx, station, from, to)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, unprocessable("station %q has no temperature between %s and %s", station, from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	rs := make([]baseline.Reading, len(rows))
	for i, r := range rows {
		rs[i] = baseline.Reading{Start: r.Start, Value: r.TempF}
	}
	return baseline.NewTemperatureF(rs)
}

// sortedIDs returns ids deduplicated and sorted.
func sortedIDs(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	j := 0
	for i, id := range out {
		if i == 0 || id != out[j-1] {
			out[j] = id
			j++
		}
	}
	return out[:j]
}
