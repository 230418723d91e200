package main

import (
	"bufio"
	"compress/gzip"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // Europe/London even on hosts without a zoneinfo database

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/examples/internal/chart"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/sqlite"
	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/rewards/ledgertally"
	"github.com/negawatt/negawatt/savings"
	"github.com/shopspring/decimal"
)

// rulesYAML is the example rule set, embedded so the binary runs anywhere.
//
//go:embed rules.yaml
var rulesYAML []byte

// Config is what the quickstart runs with (the command's flags).
type Config struct {
	// DataDir holds the SQLite ledger (ledger.db); "" makes a new
	// temporary directory.
	DataDir string
	// ChartPath is where the SVG chart goes; "" means
	// DataDir/baseline-vs-actual.svg.
	ChartPath string
	// Testdata is the repository's testdata directory; "" searches the
	// working directory and its parents for one holding the nmecr data.
	Testdata string
}

// The pipeline's fixed inputs: the periods the nmecr overview vignette
// uses (energy measures were installed between them) and a documented
// event on a Cambridge building (see testdata/cambridge/README.md; the
// same case is checked against an independent Python implementation in
// examples/negawatt's event tests).
var (
	baselineEnd    = time.Date(2013, 3, 1, 0, 0, 0, 0, time.UTC) // baseline 2012-03-01 .. 2013-02-28
	reportingStart = time.Date(2014, 3, 1, 0, 0, 0, 0, time.UTC) // reporting 2014-03-01 .. 2015-02-28
)

const (
	buildingID   = "nmecr-commercial" // the customer the monthly savings belong to
	buildingTier = "gold"
	eventMeterID = "cambridge-b22" // the customer of the event
	eventID      = "2019-07-24-peak"
	eventZone    = "Europe/London"
)

// MonthLine is one month of the statement.
type MonthLine struct {
	Month  savings.MonthSavings
	Points decimal.Decimal // paid for the month, this run or before
	New    bool            // paid by this run
	Status rewards.Status
	Note   string
}

// Summary is what a run did, for tests and callers.
type Summary struct {
	LedgerPath, ChartPath string
	Model                 *baseline.Model
	Sufficiency           baseline.Sufficiency
	Months                []MonthLine
	Event                 *savings.EventResult
	EventOutcome          rewards.Outcome
	// PaidNow is the sum of the awards this run posted; AwardsNow their
	// number.
	PaidNow   decimal.Decimal
	AwardsNow int
	// Balances are the customers' available points after the run.
	Balances map[string]decimal.Decimal
}

// Run runs the pipeline and prints the statement to w.
func Run(ctx context.Context, cfg Config, w io.Writer) (*Summary, error) {
	td, err := findTestdata(cfg.Testdata)
	if err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		if cfg.DataDir, err = os.MkdirTemp("", "negawatt-quickstart-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	if cfg.ChartPath == "" {
		cfg.ChartPath = filepath.Join(cfg.DataDir, "baseline-vs-actual.svg")
	}
	sum := &Summary{LedgerPath: filepath.Join(cfg.DataDir, "ledger.db"), ChartPath: cfg.ChartPath, Balances: map[string]decimal.Decimal{}}

	// 1. Baseline: CalTRACK 2.0 daily model of the commercial building.
	usage, err := readUsage(filepath.Join(td, "nmecr", "eload.csv.gz"), baseline.CSVOptions{TimeColumn: "time", ValueColumn: "eload"})
	if err != nil {
		return nil, err
	}
	temp, err := readTemperature(filepath.Join(td, "nmecr", "temp.csv.gz"))
	if err != nil {
		return nil, err
	}
	fit, err := baseline.FitBaseline(usage, temp, baselineEnd, 365, baseline.DailyOptions())
	if err != nil {
		return nil, fmt.Errorf("baseline fit: %w", err)
	}
	sum.Model, sum.Sufficiency = fit.Model, fit.Sufficiency

	// 2. Savings: the reporting year, settled per calendar month with each
	// month's ASHRAE Guideline 14 error band.
	metered, err := savings.MeteredWindow(fit.Model, usage, temp, reportingStart, 365)
	if err != nil {
		return nil, fmt.Errorf("metered savings: %w", err)
	}
	stats, err := savings.FitStatsOf(fit.Model)
	if err != nil {
		return nil, fmt.Errorf("fit statistics: %w", err)
	}
	months, err := savings.MonthlySettlement(metered.Periods, savings.MonthlyOptions{Fit: &stats})
	if err != nil {
		return nil, fmt.Errorf("monthly settlement: %w", err)
	}

	// 3. One demand-response event on hourly data of another real building.
	hourly, err := readUsage(filepath.Join(td, "cambridge", "b22_electricity_2019-05_2019-11.csv.gz"), baseline.CSVOptions{})
	if err != nil {
		return nil, err
	}
	london, err := time.LoadLocation(eventZone)
	if err != nil {
		return nil, err
	}
	ev := savings.Event{ID: eventID, Type: "peak-time-rebate", Location: london,
		Start: time.Date(2019, 7, 24, 15, 0, 0, 0, london), End: time.Date(2019, 7, 24, 19, 0, 0, 0, london)}
	method := savings.CBLHigh5of10()
	method.Adjustment = savings.AdjustMultiplicative
	// The two days before the event were event days too (a heat wave): they
	// may not stand in for a normal day.
	exclude := []savings.LocalDate{{Year: 2019, Month: 7, Day: 22}, {Year: 2019, Month: 7, Day: 23}}
	if sum.Event, err = savings.EventSavings(hourly, ev, method, savings.WithExcludedDays(exclude...)); err != nil {
		return nil, fmt.Errorf("event savings: %w", err)
	}

	// 4. Rewards: one fact per month and one for the event.
	program, err := rewards.Load("rules.yaml", rulesYAML)
	if err != nil {
		return nil, err
	}
	facts := make([]rewards.Fact, 0, len(months)+1)
	for _, m := range months {
		facts = append(facts, rewards.Fact{
			Customer: rewards.Customer{ID: buildingID, Tier: buildingTier, EnrolledAt: reportingStart},
			Savings:  m.Result(),
			Now:      m.End, // settled when the month closes
		})
	}
	eventFact := sum.Event.Result()
	facts = append(facts, rewards.Fact{
		Customer: rewards.Customer{ID: eventMeterID, Tier: "standard", EnrolledAt: time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC)},
		Savings:  eventFact,
		Event:    &rewards.Event{ID: ev.ID, Type: ev.Type},
		Now:      eventFact.End,
	})

	// 5. Ledger: the embedded SQLite file; awards posted under their
	// idempotency keys, caps read back from the ledger.
	l, err := sqlite.Open(ctx, sum.LedgerPath)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	defer l.Close()
	tally, err := ledgertally.New(l)
	if err != nil {
		return nil, err
	}
	outcomes, err := program.Evaluate(tally.WithContext(ctx), facts)
	if err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	byFact := map[string]rewards.Outcome{} // customer/fact/rule
	for _, o := range outcomes {
		byFact[o.Customer+"/"+o.Fact+"/"+o.Rule] = o
		if o.Award != nil {
			sum.PaidNow = sum.PaidNow.Add(o.Award.Points)
			sum.AwardsNow++
		}
		if o.Status == rewards.StatusError {
			return nil, fmt.Errorf("rule %q on %s/%s: %w", o.Rule, o.Customer, o.Fact, o.Err)
		}
	}
	for _, m := range months {
		o := byFact[buildingID+"/"+m.Month+"/monthly-savings"]
		line := MonthLine{Month: m, Status: o.Status, Note: note(o)}
		for _, f := range m.Flags {
			line.Note += ", " + string(f)
		}
		switch {
		case o.Award != nil:
			line.Points, line.New = o.Explanation.PaidBefore.Add(o.Award.Points), true
		default:
			line.Points = o.Explanation.PaidBefore
		}
		sum.Months = append(sum.Months, line)
	}
	sum.EventOutcome = byFact[eventMeterID+"/"+eventID+"/event-savings"]
	for _, c := range []string{buildingID, eventMeterID} {
		b, err := l.Balance(ctx, tally.CustomerAccount(c), time.Time{})
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			b.Available = decimal.Zero
		case err != nil:
			return nil, fmt.Errorf("balance of %s: %w", c, err)
		}
		sum.Balances[c] = b.Available
	}

	// 6. Chart: daily baseline vs actual over the reporting year.
	if err := writeChart(cfg.ChartPath, metered); err != nil {
		return nil, err
	}
	printStatement(w, program, sum)
	return sum, nil
}

// note says in a few words what became of a month's award.
func note(o rewards.Outcome) string {
	switch o.Status {
	case rewards.StatusPaid:
		if len(o.Explanation.Trims) > 0 {
			return "trimmed by " + o.Explanation.Trims[len(o.Explanation.Trims)-1].Limit.String()
		}
		return "paid"
	case rewards.StatusSettled:
		return "already paid by an earlier run"
	case 0:
		return "no rule applied"
	}
	return o.Explanation.Reason
}

func printStatement(w io.Writer, p *rewards.Program, s *Summary) {
	m := s.Model
	fmt.Fprintf(w, "negawatt quickstart: usage -> baseline -> savings -> rewards -> ledger\n\n")
	fmt.Fprintf(w, "Customer %s (tier %s): a real commercial building (testdata/nmecr)\n", buildingID, buildingTier)
	fmt.Fprintf(w, "  CalTRACK 2.0 daily baseline, Mar 2012 - Feb 2013: %s", m.Type)
	if m.Type.HasHDD() {
		fmt.Fprintf(w, ", heating balance point %d °F", m.HeatingBalancePointF)
	}
	if m.Type.HasCDD() {
		fmt.Fprintf(w, ", cooling balance point %d °F", m.CoolingBalancePointF)
	}
	fmt.Fprintf(w, "\n  adjusted R² %.3f, CV(RMSE) %.3f, %d days, data sufficiency %s\n", m.RSquaredAdj, m.AvgsMetrics.CVRMSEAdj, m.N, s.Sufficiency.Status)
	fmt.Fprintf(w, "  Monthly savings, reporting year Mar 2014 - Feb 2015 (rule set %q v%d):\n\n", p.Program(), p.Version())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  month\tbaseline kWh\tactual kWh\tsaved kWh\tsaved\t± kWh (90%)\tpoints\t")
	var tb, ta, ts float64
	var tp decimal.Decimal
	for _, l := range s.Months {
		band := "-"
		if l.Month.Bands != nil {
			band = thousands(l.Month.Bands.FSUKWh)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%.1f%%\t%s\t%s\t  %s\n", l.Month.Month, thousands(l.Month.CounterfactualKWh), thousands(l.Month.ObservedKWh),
			thousands(l.Month.SavingsKWh), l.Month.PercentSavings(), band, l.Points, l.Note)
		tb, ta, ts = tb+l.Month.CounterfactualKWh, ta+l.Month.ObservedKWh, ts+l.Month.SavingsKWh
		tp = tp.Add(l.Points)
	}
	fmt.Fprintf(tw, "  total\t%s\t%s\t%s\t%.1f%%\t\t%s\t\n", thousands(tb), thousands(ta), thousands(ts), 100*ts/tb, tp)
	tw.Flush()

	e := s.Event
	fmt.Fprintf(w, "\nCustomer %s: a real Cambridge building (testdata/cambridge), hourly kWh\n", eventMeterID)
	fmt.Fprintf(w, "  Event %s, %s %s-%s %s: high %d of %d baseline, multiplicative adjustment %.3f\n",
		eventID, e.EventDay, e.Event.Start.Format("15:04"), e.Event.End.Format("15:04"), eventZone, e.Method.X, e.Method.Y, e.AdjustmentFactor)
	days := make([]string, len(e.SelectedDays))
	for i, d := range e.SelectedDays {
		days[i] = d.String()
	}
	fmt.Fprintf(w, "  baseline days: %s\n\n", strings.Join(days, ", "))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  hour\tbaseline kWh\tactual kWh\tsaved kWh\t")
	for _, h := range e.Hours {
		fmt.Fprintf(tw, "  %s\t%.1f\t%.1f\t%.1f\t\n", h.Start.Format("15:04"), h.BaselineKWh, h.ActualKWh, h.SavingsKWh)
	}
	fmt.Fprintf(tw, "  total\t%.1f\t%.1f\t%.1f\t\n", e.BaselineKWh, e.ActualKWh, e.SavingsKWh)
	tw.Flush()
	o := s.EventOutcome
	if o.Award != nil || o.Status == rewards.StatusSettled {
		fmt.Fprintf(w, "  rule %s: %s points (%s)\n", o.Rule, o.Explanation.PaidBefore.Add(awardPoints(o)), note(o))
	} else {
		fmt.Fprintf(w, "  rule %s: no points: the building used more than its baseline during the event (%s)\n", o.Rule, o.Explanation.Reason)
	}

	fmt.Fprintf(w, "\nThis run paid %s points in %d awards.\n", s.PaidNow, s.AwardsNow)
	fmt.Fprintf(w, "Balances: %s %s points, %s %s points\n", buildingID, s.Balances[buildingID], eventMeterID, s.Balances[eventMeterID])
	fmt.Fprintf(w, "Ledger:   %s (SQLite)\n", s.LedgerPath)
	fmt.Fprintf(w, "Chart:    %s (baseline vs actual, kWh/day)\n", s.ChartPath)
	if s.AwardsNow > 0 {
		fmt.Fprintf(w, "Run again with --data-dir %s: nothing is paid twice.\n", filepath.Dir(s.LedgerPath))
	}
}

func awardPoints(o rewards.Outcome) decimal.Decimal {
	if o.Award == nil {
		return decimal.Zero
	}
	return o.Award.Points
}

// thousands formats kWh rounded to whole units with thousands separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	if v < 0 && s != "0" {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func writeChart(path string, s *savings.MeteredSavings) error {
	ts := chart.TimeSeries{
		Title: "nmecr building: baseline vs actual, Mar 2014 - Feb 2015",
		Unit:  "kWh/day",
	}
	base := make([]float64, 0, len(s.Periods))
	act := make([]float64, 0, len(s.Periods))
	for _, p := range s.Periods {
		ts.Times = append(ts.Times, p.Start)
		if !p.Complete {
			base, act = append(base, math.NaN()), append(act, math.NaN())
			continue
		}
		base, act = append(base, p.CounterfactualKWh/p.Days), append(act, p.ObservedKWh/p.Days)
	}
	ts.Series = []chart.Series{{Name: "Baseline (counterfactual)", Values: base, Style: chart.Dashed}, {Name: "Actual (metered)", Values: act}}
	svg, err := chart.SVG(ts)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	// Write then rename: a reader never sees half a chart.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, svg, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// findTestdata returns dir if set, else the first testdata directory with
// the nmecr data in the working directory or one of its parents (so both
// `go run ./examples/quickstart` at the root and the package's tests find it).
func findTestdata(dir string) (string, error) {
	const probe = "nmecr/eload.csv.gz"
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, probe)); err != nil {
			return "", fmt.Errorf("--testdata %s: %w", dir, err)
		}
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "testdata", probe)); err == nil {
			return filepath.Join(d, "testdata"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no testdata/%s in %s or its parents: run from the negawatt repository or pass --testdata", probe, wd)
		}
	}
}

func openGzip(path string) (io.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return zr, f.Close, nil
}

func readUsage(path string, o baseline.CSVOptions) (*baseline.Usage, error) {
	r, closeFn, err := openGzip(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	u, err := baseline.ReadUsageCSVWith(r, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

func readTemperature(path string) (*baseline.Temperature, error) {
	r, closeFn, err := openGzip(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	t, err := baseline.ReadTemperatureCSVWith(r, baseline.CSVOptions{TimeColumn: "time", ValueColumn: "temp", Unit: baseline.Fahrenheit})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
