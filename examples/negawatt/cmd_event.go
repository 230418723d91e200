package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // IANA zones even on hosts without a zoneinfo database

	"github.com/negawatt/negawatt/savings"
)

func init() {
	register(&command{name: "event", summary: "event (peak-time rebate) savings on an X-of-Y customer baseline", run: runEvent})
}

const eventUsage = `negawatt event --usage H.csv --timezone ZONE --event-start T --event-end T [flags]

Event savings hour by hour on a customer baseline load (X of Y like days,
optional day-of adjustment). Event times are local wall-clock times in
--timezone (YYYY-MM-DDTHH:MM; an RFC 3339 time with offset is also accepted),
the end is exclusive. H.csv is start,value with RFC 3339 hour starts, kWh per
hour; .gz (gzip) input is detected. A local time repeated by a fall-back
change means its first occurrence; a time skipped by spring-forward is an error.

flags:`

// eventJSON is the --json output contract (issue #4); keep keys and order.
type eventJSON struct {
	SelectedDays     []string        `json:"selected_days"`
	AdjustmentFactor *float64        `json:"adjustment_factor"`
	Hours            []eventHourJSON `json:"hours"`
	BaselineTotal    float64         `json:"baseline_total"`
	ActualTotal      float64         `json:"actual_total"`
	SavingsTotal     float64         `json:"savings_total"`
	Warnings         []string        `json:"warnings"`
}

type eventHourJSON struct {
	Start    string  `json:"start"`
	Baseline float64 `json:"baseline"`
	Actual   float64 `json:"actual"`
	Savings  float64 `json:"savings"`
}

func runEvent(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("event")
	var (
		usagePath = fs.String("usage", "", "hourly usage CSV (start,value), optionally gzipped (required)")
		tempPath  = fs.String("temperature", "", "hourly temperature CSV (dt,tempF or dt,tempC), for --select weather")
		zone      = fs.String("timezone", "", "program time zone, IANA name such as Europe/London (required)")
		startS    = fs.String("event-start", "", "event start, local wall-clock time (required)")
		endS      = fs.String("event-end", "", "event end, local wall-clock time, exclusive (required)")
		eventID   = fs.String("event-id", "", "event id carried into the result (optional)")
		x         = fs.Int("x", 10, "days averaged (X); defaults to --y when that is below 10")
		y         = fs.Int("y", 10, "most recent eligible days considered (Y)")
		selectS   = fs.String("select", "highest", "how X of the Y days are kept: highest (event-window usage) or weather (closest event-window temperature)")
		adjustS   = fs.String("adjust", "none", "day-of adjustment: none, multiplicative or additive")
		window    = fs.Int("adjust-window-hours", savings.DefaultAdjustWindowHours, "adjustment window length, hours")
		gap       = fs.Int("adjust-gap-hours", savings.DefaultAdjustGapHours, "hours between the adjustment window and the event start")
		capFrac   = fs.Float64("adjust-cap", savings.DefaultAdjustCap, "adjustment cap: factor kept within [1-cap, 1+cap]")
		excludeS  = fs.String("exclude", "", "comma-separated dates (YYYY-MM-DD) that may not be baseline days")
		holidayS  = fs.String("holidays", "", "comma-separated holiday dates (YYYY-MM-DD)")
		lookback  = fs.Int("lookback-days", savings.DefaultLookbackDays, "how many days before the event to search")
		asJSON    = fs.Bool("json", false, "print JSON")
	)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlagHelp(stdout, eventUsage, fs)
			return exitOK
		}
		return fail(stderr, "event", err)
	}
	for _, req := range []struct{ name, val string }{{"usage", *usagePath}, {"timezone", *zone}, {"event-start", *startS}, {"event-end", *endS}} {
		if strings.TrimSpace(req.val) == "" {
			return fail(stderr, "event", fmt.Errorf("--%s is required", req.name))
		}
	}
	loc, err := loadZone(*zone)
	if err != nil {
		return fail(stderr, "event", err)
	}
	start, err := parseLocalTime("--event-start", *startS, loc)
	if err != nil {
		return fail(stderr, "event", err)
	}
	end, err := parseLocalTime("--event-end", *endS, loc)
	if err != nil {
		return fail(stderr, "event", err)
	}
	adj, err := savings.ParseAdjustment(*adjustS)
	if err != nil {
		return fail(stderr, "event", fmt.Errorf("--adjust: %w", err))
	}
	var sel savings.Selection
	switch *selectS {
	case "highest":
		sel = savings.SelectHighest
	case "weather":
		sel = savings.SelectWeather
		if *tempPath == "" {
			return fail(stderr, "event", errors.New("--select weather needs --temperature"))
		}
	default:
		return fail(stderr, "event", fmt.Errorf("--select: unknown selection %q (want highest or weather)", *selectS))
	}
	excluded, err := parseDateList("--exclude", *excludeS)
	if err != nil {
		return fail(stderr, "event", err)
	}
	holidays, err := parseDateList("--holidays", *holidayS)
	if err != nil {
		return fail(stderr, "event", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["x"] && *y < *x {
		*x = *y // "--y 4" alone means 4 of 4, not an error
	}
	m := savings.EventMethod{X: *x, Y: *y, LookbackDays: *lookback, Selection: sel, Adjustment: adj,
		AdjustWindowHours: *window, AdjustGapHours: *gap, AdjustCap: *capFrac}
	if err := m.Validate(); err != nil {
		return fail(stderr, "event", err)
	}

	usage, err := readUsageFile(*usagePath)
	if err != nil {
		return fail(stderr, "event", fmt.Errorf("--usage: %w", err))
	}
	opts := []savings.EventOption{savings.WithExcludedDays(excluded...), savings.WithHolidays(holidays...)}
	if *tempPath != "" {
		temp, err := readTemperatureFile(*tempPath)
		if err != nil {
			return fail(stderr, "event", fmt.Errorf("--temperature: %w", err))
		}
		opts = append(opts, savings.WithTemperature(temp))
	}
	ev := savings.Event{ID: *eventID, Location: loc, Start: start, End: end}
	res, err := savings.EventSavings(usage, ev, m, opts...)
	if err != nil {
		return fail(stderr, "event", err)
	}
	if *asJSON {
		return writeEventJSON(stdout, stderr, res)
	}
	writeEventTable(stdout, res, *zone)
	return exitOK
}

func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, fmt.Errorf("--timezone: %q is not an IANA zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--timezone: unknown time zone %q", name)
	}
	return loc, nil
}

// parseLocalTime reads a wall-clock time in loc (or an RFC 3339 time with
// an offset). A wall-clock time a spring-forward change skips is an error;
// one a fall-back change repeats means its first occurrence.
func parseLocalTime(flagName, s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		w, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
		if !sameWallClock(t, w) {
			return time.Time{}, fmt.Errorf("%s: %s does not exist in %s (skipped by a daylight-saving change)", flagName, s, loc)
		}
		if e := t.Add(-time.Hour); sameWallClock(e, w) {
			t = e // repeated by a fall-back change: the first occurrence
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: bad time %q (want YYYY-MM-DDTHH:MM local time)", flagName, s)
}

func sameWallClock(t, w time.Time) bool {
	y1, m1, d1 := t.Date()
	y2, m2, d2 := w.Date()
	return y1 == y2 && m1 == m2 && d1 == d2 && t.Hour() == w.Hour() && t.Minute() == w.Minute() && t.Second() == w.Second()
}

func parseDateList(flagName, s string) ([]savings.LocalDate, error) {
	var out []savings.LocalDate
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := savings.ParseLocalDate(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flagName, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func eventOutput(res *savings.EventResult) eventJSON {
	out := eventJSON{
		SelectedDays:  make([]string, len(res.SelectedDays)),
		Hours:         make([]eventHourJSON, len(res.Hours)),
		BaselineTotal: res.BaselineKWh,
		ActualTotal:   res.ActualKWh,
		SavingsTotal:  res.SavingsKWh,
		Warnings:      append([]string{}, res.Warnings...),
	}
	for i, d := range res.SelectedDays {
		out.SelectedDays[i] = d.String()
	}
	if res.Method.Adjustment == savings.AdjustMultiplicative {
		f := res.AdjustmentFactor
		out.AdjustmentFactor = &f
	}
	for i, h := range res.Hours {
		out.Hours[i] = eventHourJSON{Start: h.Start.Format(time.RFC3339), Baseline: h.BaselineKWh, Actual: h.ActualKWh, Savings: h.SavingsKWh}
	}
	return out
}

func writeEventJSON(stdout, stderr io.Writer, res *savings.EventResult) int {
	b, err := json.MarshalIndent(eventOutput(res), "", "  ")
	if err != nil { // only a non-finite number, which the input rules exclude
		return fail(stderr, "event", err)
	}
	b = append(b, '\n')
	if _, err := stdout.Write(b); err != nil {
		return fail(stderr, "event", err)
	}
	return exitOK
}

func writeEventTable(w io.Writer, res *savings.EventResult, zone string) {
	m := res.Method
	rule := fmt.Sprintf("%d of %d", m.X, m.Y)
	if m.X < m.Y {
		rule = fmt.Sprintf("%s %s", map[savings.Selection]string{savings.SelectHighest: "high", savings.SelectWeather: "weather-matched"}[m.Selection], rule)
	}
	fmt.Fprintf(w, "event %s to %s %s (%s), baseline %s, lookback %d days\n",
		res.Event.Start.Format("2006-01-02 15:04"), res.Event.End.Format("2006-01-02 15:04"), zone, res.DayType, rule, m.LookbackDays)
	days := make([]string, len(res.SelectedDays))
	for i, d := range res.SelectedDays {
		days[i] = d.String()
	}
	fmt.Fprintf(w, "selected days: %s\n", strings.Join(days, ", "))
	switch m.Adjustment {
	case savings.AdjustMultiplicative:
		fmt.Fprintf(w, "adjustment: multiplicative, factor %.4f (raw %.4f, cap %g)\n", res.AdjustmentFactor, res.RawAdjustmentFactor, m.AdjustCap)
	case savings.AdjustAdditive:
		fmt.Fprintf(w, "adjustment: additive, offset %.3f kWh per hour before the cap (cap %g)\n", res.AdjustmentOffsetKWh, m.AdjustCap)
	default:
		fmt.Fprintln(w, "adjustment: none")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "hour start\tbaseline kWh\tactual kWh\tsavings kWh\t")
	for _, h := range res.Hours {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t\n", h.Start.Format(time.RFC3339), h.BaselineKWh, h.ActualKWh, h.SavingsKWh)
	}
	fmt.Fprintf(tw, "total\t%.3f\t%.3f\t%.3f\t\n", res.BaselineKWh, res.ActualKWh, res.SavingsKWh)
	tw.Flush()
	for _, s := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
}
