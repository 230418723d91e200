package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/openapi"
	"github.com/negawatt/negawatt/examples/internal/openapi/openapitest"
	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/examples/internal/store"
)

// apiClient calls the service over HTTP through the OpenAPI validator.
type apiClient struct {
	t      *testing.T
	url    string
	client *http.Client
	signer *platform.Signer
	svc    *Service
	h      *platform.Platform
}

func newAPI(t *testing.T, s *Service) *apiClient {
	t.Helper()
	signer, err := platform.NewSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Signer: signer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Service: s,
		RateLimit: platform.RateLimit{Disabled: true}, MaxBodyBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &apiClient{t: t, url: srv.URL, client: openapitest.New(t, openapi.JSON).Client(t), signer: signer, svc: s, h: h}
}

func (a *apiClient) token(scope string) string {
	sc, err := platform.ParseScope(scope)
	if err != nil {
		a.t.Fatal(err)
	}
	tok, err := a.signer.Mint(sc, time.Hour)
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// do sends a request; body may be a string (sent as is) or a value (JSON).
func (a *apiClient) do(token, method, path, contentType string, body any) (int, []byte) {
	a.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(js)
		if contentType == "" {
			contentType = "application/json"
		}
	}
	req, err := http.NewRequest(method, a.url+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// must sends a request and fails unless the status is want; it decodes
// the body into dst when dst is not nil.
func (a *apiClient) must(want int, token, method, path, contentType string, body, dst any) {
	a.t.Helper()
	code, out := a.do(token, method, path, contentType, body)
	if code != want {
		a.t.Fatalf("%s %s = %d, want %d: %s", method, path, code, want, out)
	}
	if dst != nil {
		if err := json.Unmarshal(out, dst); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, out)
		}
	}
}

// nmecrCSV returns the nmecr building's usage and temperature as the
// upload CSVs (start,value and dt,tempF).
func nmecrCSV(t *testing.T) (usage, temp string) {
	u, tf, err := ReadNMECR("../../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	var ub, tb strings.Builder
	ub.WriteString("start,value\n")
	for _, r := range u {
		fmt.Fprintf(&ub, "%s,%v\n", r.Start.Format(time.RFC3339), r.KWh)
	}
	tb.WriteString("dt,tempF\n")
	for _, r := range tf {
		fmt.Fprintf(&tb, "%s,%v\n", r.Start.Format(time.RFC3339), r.TempF)
	}
	return ub.String(), tb.String()
}

// walkFlow is the whole API flow: rules → customer → usage → temperature
// → baseline → settle → balance → history → redeem (hold → commit, hold
// → void) → rule-set candidate, validate, shadow, promote, rollback.
func walkFlow(t *testing.T, a *apiClient) {
	op := a.token("operator")
	cust := a.token("customer:b-1")

	var rs RuleSetView
	a.must(201, op, "POST", "/v1/rulesets", "application/yaml", DemoRules, &rs)
	if rs.Version != 1 || rs.Status != store.StatusCandidate {
		t.Fatalf("uploaded rule set = %+v", rs)
	}
	a.must(200, op, "POST", "/v1/rulesets", "application/yaml", DemoRules, nil) // same again: idempotent
	a.must(409, op, "POST", "/v1/settlements", "", SettleRequest{From: "2014-03-01", To: "2015-03-01"}, nil)
	a.must(200, op, "POST", "/v1/rulesets/1/promote", "", nil, &rs)

	var c store.Customer
	a.must(201, op, "PUT", "/v1/customers/b-1", "", CustomerInput{Tier: "gold", TimeZone: "America/Chicago", EnrolledAt: "2012-03-01", Station: "st-1"}, &c)
	a.must(200, op, "PUT", "/v1/customers/b-1", "", CustomerInput{Tier: "gold", TimeZone: "America/Chicago", EnrolledAt: "2012-03-01", Station: "st-1", Name: "B"}, &c)
	a.must(200, cust, "GET", "/v1/customers/b-1", "", nil, &c)
	if c.Name != "B" || c.Tier != "gold" {
		t.Errorf("customer = %+v", c)
	}
	usage, temp := nmecrCSV(t)
	var ing ingestResult
	a.must(200, op, "POST", "/v1/customers/b-1/usage", "text/csv", usage, &ing)
	if ing.Rows != 1095 {
		t.Errorf("usage rows = %d, want 1095", ing.Rows)
	}
	a.must(200, op, "POST", "/v1/customers/b-1/usage", "text/csv", usage, &ing) // idempotent per period
	a.must(200, op, "POST", "/v1/temperature?station=st-1", "text/csv", temp, &ing)
	a.must(200, op, "POST", "/v1/temperature?station=st-1", "application/json",
		`{"unit":"C","readings":[{"start":"2011-01-01T00:00:00Z","temp":0}]}`, &ing)

	var bl BaselineView
	a.must(200, op, "POST", "/v1/customers/b-1/baseline", "", FitRequest{Method: "daily", End: "2013-03-01"}, &bl)
	if bl.ModelType == "" || bl.N < 300 {
		t.Errorf("baseline = %+v", bl)
	}
	a.must(200, cust, "GET", "/v1/customers/b-1/baseline", "", nil, &bl)

	var res SettleResult
	a.must(200, op, "POST", "/v1/settlements", "", SettleRequest{Customers: []string{"b-1"}, From: "2014-03-01", To: "2015-03-01"}, &res)
	if len(res.Facts) != 12 || res.Awards == 0 || !res.Points.IsPositive() {
		t.Fatalf("settlement: %d facts, %d awards, %s points", len(res.Facts), res.Awards, res.Points)
	}
	// Hand check of one month from its own numbers: savings/100 × 1.5
	// (gold), rounded half-even to 0.1.
	f := res.Facts[0]
	want := decimal.NewFromFloat(f.SavingsKWh).Div(decimal.NewFromInt(100)).Mul(decimal.RequireFromString("1.5")).RoundBank(1)
	if f.Fact != "2014-03" || !f.Points.Equal(want) {
		t.Errorf("first fact %s paid %s, want %s (%.3f kWh)", f.Fact, f.Points, want, f.SavingsKWh)
	}
	var again SettleResult
	a.must(200, op, "POST", "/v1/settlements", "", SettleRequest{Customers: []string{"b-1"}, From: "2014-03-01", To: "2015-03-01"}, &again)
	if again.Awards != 0 {
		t.Errorf("re-settling paid %d awards again", again.Awards)
	}

	var bal BalanceView
	a.must(200, cust, "GET", "/v1/customers/b-1/balance", "", nil, &bal)
	if !bal.Available.Equal(res.Points) || len(bal.Upcoming) == 0 {
		t.Fatalf("balance %+v, want available %s with upcoming expiries", bal, res.Points)
	}
	var hist HistoryView
	a.must(200, cust, "GET", "/v1/customers/b-1/history?limit=5", "", nil, &hist)
	if len(hist.Entries) != 5 || hist.NextCursor == "" {
		t.Fatalf("history page 1: %d entries, next %q", len(hist.Entries), hist.NextCursor)
	}
	seen := map[string]bool{}
	for cursor, pages := "", 0; pages < 10; pages++ {
		var p HistoryView
		a.must(200, cust, "GET", "/v1/customers/b-1/history?limit=5&cursor="+cursor, "", nil, &p)
		for _, e := range p.Entries {
			if seen[e.Key] {
				t.Errorf("history repeats %s", e.Key)
			}
			seen[e.Key] = true
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != res.Awards {
		t.Errorf("history has %d entries, want %d awards", len(seen), res.Awards)
	}

	var hold HoldView
	a.must(201, cust, "POST", "/v1/customers/b-1/redemptions", "", RedemptionInput{ID: "r-1", Points: "100", Reward: "bill-credit"}, &hold)
	a.must(201, cust, "POST", "/v1/customers/b-1/redemptions", "", RedemptionInput{ID: "r-1", Points: "100", Reward: "bill-credit"}, &hold)
	a.must(409, cust, "POST", "/v1/customers/b-1/redemptions", "", RedemptionInput{ID: "r-1", Points: "101", Reward: "bill-credit"}, nil)
	a.must(200, cust, "GET", "/v1/customers/b-1/balance", "", nil, &bal)
	if !bal.Held.Equal(decimal.NewFromInt(100)) {
		t.Errorf("held = %s, want 100", bal.Held)
	}
	a.must(200, cust, "POST", "/v1/customers/b-1/redemptions/r-1/commit", "", nil, &hold)
	if hold.Status != "committed" || !hold.Committed.Equal(decimal.NewFromInt(100)) {
		t.Errorf("commit = %+v", hold)
	}
	a.must(409, cust, "POST", "/v1/customers/b-1/redemptions/r-1/void", "", nil, nil)
	a.must(201, op, "POST", "/v1/customers/b-1/redemptions", "", RedemptionInput{ID: "r-2", Points: "50", Reward: "gift-card"}, &hold)
	a.must(200, op, "POST", "/v1/customers/b-1/redemptions/r-2/void", "", nil, &hold)
	a.must(409, cust, "POST", "/v1/customers/b-1/redemptions", "", RedemptionInput{ID: "r-3", Points: "99999999", Reward: "car"}, nil)
	a.must(404, cust, "POST", "/v1/customers/b-1/redemptions/nope/commit", "", nil, nil)
	a.must(200, cust, "GET", "/v1/customers/b-1/balance", "", nil, &bal)
	if want := res.Points.Sub(decimal.NewFromInt(100)); !bal.Available.Equal(want) || !bal.Held.IsZero() {
		t.Errorf("after commit+void: available %s held %s, want %s and 0", bal.Available, bal.Held, want)
	}

	// Rule sets: a candidate with a broken expression is refused with
	// line:col; a valid v2 is shadowed, promoted and rolled back.
	var verr struct {
		Problems []RuleProblem `json:"problems"`
	}
	bad := strings.Replace(string(DemoRules), "version: 1", "version: 2", 1)
	bad = strings.Replace(bad, `points: 25`, `points: 25 +* 1`, 1)
	a.must(422, op, "POST", "/v1/rulesets", "application/yaml", bad, &verr)
	if len(verr.Problems) == 0 || verr.Problems[0].Line == 0 || verr.Problems[0].Rule != "event-bonus" {
		t.Errorf("problems = %+v", verr.Problems)
	}
	v2 := strings.Replace(string(DemoRules), "version: 1", "version: 2", 1)
	v2 = strings.Replace(v2, "gold: 1.5", "gold: 2", 1)
	a.must(201, op, "POST", "/v1/rulesets", "application/yaml", v2, &rs)
	a.must(409, op, "POST", "/v1/rulesets", "application/yaml", strings.Replace(v2, "gold: 2", "gold: 3", 1), nil)
	var val ValidationReport
	a.must(200, op, "POST", "/v1/rulesets/2/validate", "", nil, &val)
	if !val.Valid || val.Facts != 12 {
		t.Errorf("validate = %+v", val)
	}
	var diff struct {
		Facts int `json:"facts"`
		Total struct {
			CustomersChanged int             `json:"customers_changed"`
			DeltaPoints      decimal.Decimal `json:"delta_points"`
		} `json:"total"`
	}
	a.must(200, op, "GET", "/v1/rulesets/shadow?candidate=2&from=2014-01-01&to=2016-01-01", "", nil, &diff)
	if diff.Facts != 12 || diff.Total.CustomersChanged != 1 || !diff.Total.DeltaPoints.IsPositive() {
		t.Errorf("shadow = %+v", diff)
	}
	a.must(200, op, "POST", "/v1/rulesets/2/promote", "", nil, &rs)
	if rs.Status != store.StatusLive {
		t.Errorf("promote: %+v", rs)
	}
	// Re-settling under v2 pays the restated difference.
	a.must(200, op, "POST", "/v1/settlements", "", SettleRequest{From: "2014-03-01", To: "2015-03-01"}, &again)
	if again.Awards == 0 {
		t.Errorf("settling under v2 paid nothing")
	}
	a.must(200, op, "POST", "/v1/rulesets/rollback", "", nil, &rs)
	if rs.Version != 1 {
		t.Errorf("rollback -> %d, want 1", rs.Version)
	}
	a.must(409, op, "POST", "/v1/rulesets/rollback", "", nil, nil)
	var list struct {
		RuleSets []RuleSetView `json:"rule_sets"`
	}
	a.must(200, op, "GET", "/v1/rulesets", "", nil, &list)
	if len(list.RuleSets) != 2 {
		t.Errorf("rule sets: %+v", list.RuleSets)
	}

	// Metrics counted every paying award and its points.
	code, body := a.do(op, "GET", "/metrics", "", nil)
	wantAwards := fmt.Sprintf("negawatt_awards_posted_total %d\n", res.Awards+again.Awards)
	if code != 200 || !bytes.Contains(body, []byte(wantAwards)) || !bytes.Contains(body, []byte("negawatt_points_issued_total ")) {
		t.Errorf("metrics (%d) lack %q", code, wantAwards)
	}
	a.must(200, "", "GET", "/readyz", "", nil, nil)
}

func TestAPIFlowSQLite(t *testing.T) {
	t.Parallel()
	walkFlow(t, newAPI(t, newSQLiteService(t)))
}

func TestAPIFlowPostgres(t *testing.T) {
	t.Parallel()
	walkFlow(t, newAPI(t, newPostgresService(t)))
}

func TestEventSettlement(t *testing.T) {
	t.Parallel()
	a := newAPI(t, newSQLiteService(t))
	op := a.token("operator")
	a.must(201, op, "POST", "/v1/rulesets", "application/yaml", DemoRules, nil)
	a.must(200, op, "POST", "/v1/rulesets/1/promote", "", nil, nil)
	a.must(201, op, "PUT", "/v1/customers/h-1", "", CustomerInput{Tier: "silver", TimeZone: "Europe/London", EnrolledAt: "2019-01-01"}, nil)
	// Sixty days of hourly usage: 1 kWh an hour, 2 kWh 15:00-19:00 local;
	// on the event day the customer uses 1 kWh during the event.
	loc, _ := time.LoadLocation("Europe/London")
	var b strings.Builder
	b.WriteString("start,value\n")
	evDay := time.Date(2019, 7, 24, 0, 0, 0, 0, loc)
	for d := evDay.AddDate(0, 0, -60); !d.After(evDay); d = d.AddDate(0, 0, 1) {
		for h := range 24 {
			t0 := time.Date(d.Year(), d.Month(), d.Day(), h, 0, 0, 0, loc)
			v := 1.0
			if h >= 15 && h < 19 && !d.Equal(evDay) {
				v = 2
			}
			fmt.Fprintf(&b, "%s,%v\n", t0.UTC().Format(time.RFC3339), v)
		}
	}
	a.must(200, op, "POST", "/v1/customers/h-1/usage", "text/csv", b.String(), nil)
	var res SettleResult
	req := SettleRequest{Kind: "event", Customers: []string{"h-1"}, Event: &EventInput{ID: "ev-0724", Type: "peak-time-rebate",
		Start: "2019-07-24T15:00:00+01:00", End: "2019-07-24T19:00:00+01:00"}}
	a.must(200, op, "POST", "/v1/settlements", "", req, &res)
	// Baseline 10 days × 2 kWh = 2 per hour, actual 1: 4 kWh saved.
	if len(res.Facts) != 1 || res.Facts[0].SavingsKWh != 4 || !res.Points.Equal(decimal.NewFromInt(25)) {
		t.Fatalf("event settlement = %+v", res)
	}
	req.Event.Method = "bogus"
	a.must(400, op, "POST", "/v1/settlements", "", req, nil)
}

// TestNightlyAndSweep drives the scheduled entry points the Lambda
// example calls.
func TestNightlyAndSweep(t *testing.T) {
	t.Parallel()
	s := newSQLiteService(t)
	ctx := context.Background()
	if err := LoadDemo(ctx, s, "../../../testdata"); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Balance(ctx, DemoCustomer)
	// Usage ends 2015-02-28: the nightly run settles up to 2015-03-01
	// (from the end of the baseline), all already paid for 2014-03..02
	// except 2013-03..2014-02, which pays now.
	res, err := s.SettleNightly(ctx, time.Date(2015, 3, 2, 3, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Facts) != 24 {
		t.Errorf("nightly settled %d months, want 24 (2013-03..2015-02)", len(res.Facts))
	}
	for _, f := range res.Facts {
		if f.Start.Year() == 2014 && f.Start.Month() >= 3 && f.Points.IsPositive() {
			t.Errorf("nightly re-paid %s", f.Fact)
		}
	}
	again, err := s.SettleNightly(ctx, time.Date(2015, 3, 3, 3, 0, 0, 0, time.UTC))
	if err != nil || again.Awards != 0 {
		t.Errorf("second nightly run: %d awards, %v", again.Awards, err)
	}
	after, _ := s.Balance(ctx, DemoCustomer)
	if !after.Posted.Equal(before.Posted.Add(res.Points)) {
		t.Errorf("balance %s, want %s + %s", after.Posted, before.Posted, res.Points)
	}
	// Sweeping far in the future expires every award.
	sw, err := s.SweepExpired(ctx, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(sw.Transactions) == 0 {
		t.Fatalf("sweep: %d transactions, %v", len(sw.Transactions), err)
	}
}
