package savings

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// Event is one demand-response (peak-time rebate) event: the hours
// [Start, End) in the program's time zone.
type Event struct {
	// ID identifies the event (carried into [Result].ID).
	ID string
	// Type is the program's name for it, e.g. "peak-time-rebate".
	Type string
	// Location is the program's time zone (IANA). Days, day types and
	// "the same clock hour" are all local to it.
	Location *time.Location
	// Start and End bound the event; both must fall on whole local hours,
	// End after Start, at most 24 hours apart.
	Start, End time.Time
}

// EventHour is one hour of an event.
type EventHour struct {
	// Start is the hour's start in the event's time zone.
	Start time.Time `json:"start"`
	// UnadjustedBaselineKWh is the X-of-Y mean before the day-of adjustment.
	UnadjustedBaselineKWh float64 `json:"unadjusted_baseline_kwh"`
	// BaselineKWh is the adjusted baseline, ActualKWh the metered usage and
	// SavingsKWh = BaselineKWh − ActualKWh.
	BaselineKWh float64 `json:"baseline_kwh"`
	ActualKWh   float64 `json:"actual_kwh"`
	SavingsKWh  float64 `json:"savings_kwh"`
}

// EventResult is the outcome of [EventSavings].
type EventResult struct {
	Event  Event       `json:"-"`
	Method EventMethod `json:"-"`
	// EventDay is the local date of the event start and DayType its type.
	EventDay LocalDate `json:"event_day"`
	DayType  DayType   `json:"-"`
	// CandidateDays are the (up to Y) most recent eligible days and
	// SelectedDays the X kept ones, both most recent first.
	CandidateDays []LocalDate `json:"candidate_days"`
	SelectedDays  []LocalDate `json:"selected_days"`
	// RawAdjustmentFactor is Σ actual / Σ unadjusted baseline over the
	// adjustment window and AdjustmentFactor its clamped value (both 1
	// unless Adjustment is multiplicative). The raw factor is ±Inf when the
	// window's baseline is zero, so it is left out of JSON.
	RawAdjustmentFactor float64 `json:"-"`
	AdjustmentFactor    float64 `json:"adjustment_factor"`
	// AdjustmentOffsetKWh is the additive offset, mean(actual − unadjusted
	// baseline) over the window, before each hour's clamp (0 unless
	// Adjustment is additive).
	AdjustmentOffsetKWh float64 `json:"adjustment_offset_kwh"`
	// Hours are the event hours in time order.
	Hours []EventHour `json:"hours"`
	// Totals over the event hours.
	BaselineKWh float64 `json:"baseline_kwh"`
	ActualKWh   float64 `json:"actual_kwh"`
	SavingsKWh  float64 `json:"savings_kwh"`
	// Warnings are human-readable notes (e.g. fewer than Y eligible days);
	// Flags the same as machine-readable flags.
	Warnings []string `json:"warnings"`
	Flags    []Flag   `json:"flags"`
}

// FlagFewerThanYDays marks an event baseline built from fewer than Y
// eligible days (but at least X).
const FlagFewerThanYDays Flag = "fewer_than_y_days"

// Result returns the event as the savings fact rewards consume
// (Kind = KindEvent, times in UTC).
func (r *EventResult) Result() Result {
	pct := 0.0
	if r.BaselineKWh != 0 {
		pct = 100 * r.SavingsKWh / r.BaselineKWh
	}
	return Result{
		Kind:           KindEvent,
		ID:             r.Event.ID,
		EventType:      r.Event.Type,
		Start:          r.Event.Start.UTC(),
		End:            r.Event.End.UTC(),
		BaselineKWh:    r.BaselineKWh,
		ObservedKWh:    r.ActualKWh,
		SavingsKWh:     r.SavingsKWh,
		PercentSavings: pct,
		Flags:          append([]Flag(nil), r.Flags...),
	}
}

// EventOption supplies optional inputs to [EventSavings].
type EventOption func(*eventConfig)

type eventConfig struct {
	holidays map[LocalDate]bool
	excluded map[LocalDate]bool
	temp     *baseline.Temperature
}

// WithHolidays marks local dates as holidays: they are weekend/holiday
// days whatever their weekday. Repeatable; dates accumulate.
func WithHolidays(days ...LocalDate) EventOption {
	return func(c *eventConfig) {
		for _, d := range days {
			c.holidays[d] = true
		}
	}
}

// WithExcludedDays lists local dates that may not serve as baseline days
// (past event days, outages, ...). Repeatable; dates accumulate.
func WithExcludedDays(days ...LocalDate) EventOption {
	return func(c *eventConfig) {
		for _, d := range days {
			c.excluded[d] = true
		}
	}
}

// WithTemperature gives the hourly outdoor temperature (hour-start
// readings) that [SelectWeather] needs.
func WithTemperature(t *baseline.Temperature) EventOption {
	return func(c *eventConfig) { c.temp = t }
}

// clockHour is a local clock hour relative to the event day: Hour on the
// date Offset days after it.
type clockHour struct {
	offset int
	hour   int
}

// EventSavings computes the customer baseline load for one event and the
// savings hour by hour. usage is hourly kWh with hour-start timestamps.
//
// The method, from issue #4 (CAISO/NYISO/PJM customer baseline family):
//
//  1. Eligible days: walk back day by day from the day before the event,
//     at most m.LookbackDays days; keep days of the event day's type
//     (weekday = Mon–Fri and not a holiday, else weekend/holiday), not
//     excluded, with usage for every hour of the event window and (when an
//     adjustment is set) of the adjustment window; stop at the Y most
//     recent. Fewer than X is an [*InsufficientHistoryError]; between X and
//     Y−1 gives a warning and [FlagFewerThanYDays].
//  2. Selection: see [Selection]. The unadjusted baseline of each event
//     hour is the mean of the same local clock hour over the kept days.
//  3. Day-of adjustment: see [Adjustment]. The window's unadjusted
//     baseline comes from the kept days like the event hours; its actual
//     usage is the event day's.
//
// Local clock hours and daylight saving: "the same hour" on another day is
// the same local wall-clock hour, so a 23- or 25-hour day shifts nothing.
// On a spring-forward day the skipped clock hour does not exist, so that
// day is ineligible if the event or adjustment window needs it. On a
// fall-back day the repeated clock hour has two instances; as a baseline
// day its value for that clock hour is the mean of both, and as the event
// day both instances are event hours, each with that clock hour's
// baseline.
func EventSavings(usage *baseline.Usage, ev Event, m EventMethod, opts ...EventOption) (*EventResult, error) {
	cfg := eventConfig{holidays: map[LocalDate]bool{}, excluded: map[LocalDate]bool{}}
	for _, o := range opts {
		o(&cfg)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := ev.validate(); err != nil {
		return nil, err
	}
	if usage == nil || usage.Len() == 0 {
		return nil, ErrNoUsage
	}
	if m.Selection == SelectWeather && (cfg.temp == nil || cfg.temp.Len() == 0) {
		return nil, fmt.Errorf("%w: weather selection needs an hourly temperature series", ErrNoTemperature)
	}
	loc := ev.Location
	start, end := ev.Start.In(loc), ev.End.In(loc)
	if first := usage.At(0).Start; start.Before(first) {
		return nil, fmt.Errorf("%w: event starts %s, usage starts %s", ErrEventBeforeData,
			start.Format(time.RFC3339), first.In(loc).Format(time.RFC3339))
	}
	day := DateOf(start)
	dayType := cfg.dayType(day)

	// The event's hours and the adjustment window's, as instants on the
	// event day and as clock hours for the baseline days.
	var evInst, adjInst []time.Time
	for t := start; t.Before(end); t = t.Add(time.Hour) {
		evInst = append(evInst, t)
	}
	if m.Adjustment != AdjustNone {
		from := start.Add(-time.Duration(m.AdjustGapHours+m.AdjustWindowHours) * time.Hour)
		for i := range m.AdjustWindowHours {
			adjInst = append(adjInst, from.Add(time.Duration(i)*time.Hour))
		}
	}
	evClock, adjClock := clockHours(evInst, day), clockHours(adjInst, day)
	minOff, maxOff := 0, 0
	for _, c := range append(append([]clockHour(nil), evClock...), adjClock...) {
		minOff, maxOff = min(minOff, c.offset), max(maxOff, c.offset)
	}

	// Dense hourly grid over every day the search can touch, aligned with
	// the event start: O(1) lookups instead of a search per hour. It loads
	// lazily, a week at a time from the event backwards, because the walk
	// usually stops long before the lookback limit.
	lo := day.AddDays(-m.LookbackDays + minOff)
	hi := day.AddDays(maxOff + 1)
	gridLo := time.Date(lo.Year, lo.Month, lo.Day, 0, 0, 0, 0, loc).Add(-2 * time.Hour)
	gridHi := time.Date(hi.Year, hi.Month, hi.Day, 0, 0, 0, 0, loc).Add(2 * time.Hour)
	gridBase := start.Add(-start.Sub(gridLo).Truncate(time.Hour) - time.Hour).Unix()
	g := newGrid(gridBase, int((gridHi.Unix()-gridBase)/3600)+1, usage, loc, true)
	var tg *grid
	if m.Selection == SelectWeather {
		tg = newGrid(gridBase, len(g.vals), cfg.temp, loc, false)
	}

	// The event day's own hours must be metered.
	actual := make([]float64, len(evInst))
	for i, t := range evInst {
		v := g.at(t)
		if g.err != nil {
			return nil, g.err
		}
		if math.IsNaN(v) {
			return nil, &MissingUsageError{Time: t, Window: "event"}
		}
		actual[i] = v
	}
	adjActual := make([]float64, len(adjInst))
	for i, t := range adjInst {
		v := g.at(t)
		if g.err != nil {
			return nil, g.err
		}
		if math.IsNaN(v) {
			return nil, &MissingUsageError{Time: t, Window: "adjustment"}
		}
		adjActual[i] = v
	}
	eventTempF := math.NaN()
	if m.Selection == SelectWeather {
		sum := 0.0
		for _, t := range evInst {
			v := tg.at(t)
			if math.IsNaN(v) {
				return nil, fmt.Errorf("%w: no temperature for the event hour starting %s", ErrNoTemperature, t.Format(time.RFC3339))
			}
			sum += v
		}
		eventTempF = sum / float64(len(evInst))
	}

	// Step 1: eligible days, most recent first, at most Y.
	nh, na := len(evClock), len(adjClock)
	buf := make([]float64, m.Y*(nh+na))
	cands := make([]candidate, 0, m.Y)
	excluded, incomplete := 0, 0
	days := make([]dayClock, maxOff-minOff+1) // the days d+minOff .. d+maxOff
	for k := 1; k <= m.LookbackDays && len(cands) < m.Y; k++ {
		d := day.AddDays(-k)
		if cfg.dayType(d) != dayType {
			continue
		}
		if cfg.excluded[d] {
			excluded++
			continue
		}
		for i := range days {
			days[i] = newDayClock(d.AddDays(minOff+i), loc)
		}
		vals := buf[len(cands)*(nh+na) : (len(cands)+1)*(nh+na)]
		ok := true
		for i, c := range evClock {
			if vals[i], ok = g.clockValue(&days[c.offset-minOff], c.hour); !ok {
				break
			}
		}
		for i, c := range adjClock {
			if !ok {
				break
			}
			vals[nh+i], ok = g.clockValue(&days[c.offset-minOff], c.hour)
		}
		tempF := math.NaN()
		if ok && m.Selection == SelectWeather {
			sum := 0.0
			for _, c := range evClock {
				var v float64
				if v, ok = tg.clockValue(&days[c.offset-minOff], c.hour); !ok {
					break
				}
				sum += v
			}
			tempF = sum / float64(nh)
		}
		if !ok {
			incomplete++
			continue
		}
		total := 0.0
		for _, v := range vals[:nh] {
			total += v
		}
		cands = append(cands, candidate{date: d, ev: vals[:nh], adj: vals[nh:], total: total, tempF: tempF})
	}
	res := &EventResult{Event: ev, Method: m, EventDay: day, DayType: dayType,
		RawAdjustmentFactor: 1, AdjustmentFactor: 1, Warnings: []string{}, Flags: []Flag{}}
	if g.err != nil {
		return nil, g.err
	}
	if len(cands) < m.X {
		return nil, &InsufficientHistoryError{EventDay: day, DayType: dayType, Eligible: len(cands),
			X: m.X, Y: m.Y, LookbackDays: m.LookbackDays, Excluded: excluded, Incomplete: incomplete}
	}
	if len(cands) < m.Y {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"only %d eligible %s days in the %d days before %s (y = %d); baseline uses %d of them",
			len(cands), dayType, m.LookbackDays, day, m.Y, m.X))
		res.Flags = append(res.Flags, FlagFewerThanYDays)
	}
	for _, c := range cands {
		res.CandidateDays = append(res.CandidateDays, c.date)
	}

	// Step 2: keep X; the baseline is the mean over them per clock hour.
	kept := keepX(cands, m, eventTempF)
	for _, i := range kept {
		res.SelectedDays = append(res.SelectedDays, cands[i].date)
	}
	unadj := make([]float64, nh)
	adjBase := make([]float64, na)
	for _, i := range kept {
		for h := range unadj {
			unadj[h] += cands[i].ev[h]
		}
		for h := range adjBase {
			adjBase[h] += cands[i].adj[h]
		}
	}
	for h := range unadj {
		unadj[h] /= float64(m.X)
	}
	for h := range adjBase {
		adjBase[h] /= float64(m.X)
	}

	// Step 3: day-of adjustment and savings.
	base := res.adjust(unadj, adjActual, adjBase)
	res.Hours = make([]EventHour, nh)
	for h := range res.Hours {
		s := base[h] - actual[h]
		res.Hours[h] = EventHour{Start: evInst[h], UnadjustedBaselineKWh: unadj[h],
			BaselineKWh: base[h], ActualKWh: actual[h], SavingsKWh: s}
		res.BaselineKWh += base[h]
		res.ActualKWh += actual[h]
		res.SavingsKWh += s
	}
	return res, nil
}

// candidate is an eligible baseline day.
type candidate struct {
	date  LocalDate
	ev    []float64 // clock-hour values for the event hours
	adj   []float64 // and for the adjustment window
	total float64   // Σ ev
	tempF float64   // mean temperature over the event hours (weather selection)
}

// keepX returns the indexes of the X kept candidates in increasing order,
// that is most recent first. cands is most recent first, so a stable sort
// breaks ties in favour of the more recent day.
func keepX(cands []candidate, m EventMethod, eventTempF float64) []int {
	kept := make([]int, len(cands))
	for i := range kept {
		kept[i] = i
	}
	switch m.Selection {
	case SelectHighest:
		sort.SliceStable(kept, func(a, b int) bool { return cands[kept[a]].total > cands[kept[b]].total })
	case SelectWeather:
		sort.SliceStable(kept, func(a, b int) bool {
			return math.Abs(cands[kept[a]].tempF-eventTempF) < math.Abs(cands[kept[b]].tempF-eventTempF)
		})
	}
	kept = kept[:m.X]
	sort.Ints(kept)
	return kept
}

// adjust applies r.Method's day-of adjustment to the unadjusted event-hour
// baseline, given the adjustment window's actual usage and unadjusted
// baseline, and records the factor or offset in r.
func (r *EventResult) adjust(unadj, windowActual, windowBase []float64) []float64 {
	m := r.Method
	base := make([]float64, len(unadj))
	switch m.Adjustment {
	case AdjustNone:
		copy(base, unadj)
	case AdjustMultiplicative:
		raw, f := multiplicativeFactor(windowActual, windowBase, m.AdjustCap)
		if math.IsInf(f, 0) {
			// Zero baseline over the window with no cap: no finite factor.
			f = 1
			r.Warnings = append(r.Warnings, "the baseline over the adjustment window is zero and the adjustment is uncapped; no adjustment applied")
		}
		r.RawAdjustmentFactor, r.AdjustmentFactor = raw, f
		for h, u := range unadj {
			base[h] = f * u
		}
	case AdjustAdditive:
		off := 0.0
		for i := range windowActual {
			off += windowActual[i] - windowBase[i]
		}
		off /= float64(len(windowActual))
		r.AdjustmentOffsetKWh = off
		for h, u := range unadj {
			base[h] = additiveHour(u, off, m.AdjustCap)
		}
	}
	return base
}

// multiplicativeFactor returns Σ actual / Σ baseline and its clamp to
// [1−cap, 1+cap]. A zero baseline sum gives a raw factor of 1 when the
// actual sum is also 0, else ±Inf, which the clamp bounds.
func multiplicativeFactor(actual, base []float64, capFrac float64) (raw, clamped float64) {
	sa, sb := 0.0, 0.0
	for i := range actual {
		sa += actual[i]
		sb += base[i]
	}
	switch {
	case sb != 0:
		raw = sa / sb
	case sa == 0:
		raw = 1
	default:
		raw = math.Inf(int(math.Copysign(1, sa)))
	}
	return raw, min(max(raw, 1-capFrac), 1+capFrac)
}

// additiveHour returns u + off clamped into [(1−cap)·u, (1+cap)·u] (bounds
// ordered for a negative u, e.g. net export; none when cap is +Inf).
func additiveHour(u, off, capFrac float64) float64 {
	v := u + off
	if math.IsInf(capFrac, 1) {
		return v
	}
	a, b := (1-capFrac)*u, (1+capFrac)*u
	return min(max(v, min(a, b)), max(a, b))
}

func (ev Event) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, a...))
	}
	if ev.Location == nil {
		return bad("no time zone")
	}
	if ev.Start.IsZero() || ev.End.IsZero() {
		return bad("start and end are required")
	}
	start, end := ev.Start.In(ev.Location), ev.End.In(ev.Location)
	if !end.After(start) {
		return bad("end %s is not after start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	for _, t := range []time.Time{start, end} {
		if t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0 {
			return bad("%s is not on a whole local hour", t.Format(time.RFC3339))
		}
	}
	if d := end.Sub(start); d > 24*time.Hour {
		return bad("event lasts %v, more than 24 hours", d)
	}
	return nil
}

func (c *eventConfig) dayType(d LocalDate) DayType {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday || c.holidays[d] {
		return DayTypeWeekendHoliday
	}
	return DayTypeWeekday
}

func clockHours(ts []time.Time, day LocalDate) []clockHour {
	out := make([]clockHour, len(ts))
	e := day.daysSinceEpoch()
	for i, t := range ts {
		out[i] = clockHour{offset: int(DateOf(t).daysSinceEpoch() - e), hour: t.Hour()}
	}
	return out
}

// grid holds hourly values on the instants base + i hours (Unix
// seconds); NaN = missing. vals[filled:] are loaded from rs; lookups
// below load further back a chunk at a time.
type grid struct {
	base   int64
	vals   []float64
	filled int
	rs     readings
	loc    *time.Location
	strict bool
	// err is the first ErrNotHourly met while loading (strict grids).
	err error
}

// readings is what a grid needs of a baseline.Usage or Temperature.
type readings interface {
	Len() int
	At(i int) baseline.Reading
}

// gridChunkHours is how much a grid loads at once.
const gridChunkHours = 7 * 24

// newGrid returns an empty grid of n hours from base over rs. A strict
// grid (usage) records a reading off the hourly grid as an ErrNotHourly
// error; a lenient one (temperature) skips it, e.g. observations at hh:50.
func newGrid(base int64, n int, rs readings, loc *time.Location, strict bool) *grid {
	return &grid{base: base, vals: make([]float64, n), filled: n, rs: rs, loc: loc, strict: strict}
}

// load makes vals[i:] valid.
func (g *grid) load(i int) {
	from := max(0, min(i, g.filled-gridChunkHours))
	for j := from; j < g.filled; j++ {
		g.vals[j] = math.NaN()
	}
	lo, hi := g.base+int64(from)*3600, g.base+int64(g.filled)*3600
	g.filled = from
	n := g.rs.Len()
	for k := sort.Search(n, func(k int) bool { return g.rs.At(k).Start.Unix() >= lo }); k < n; k++ {
		r := g.rs.At(k)
		sec := r.Start.Unix()
		if sec >= hi {
			break
		}
		if d := sec - lo; d%3600 == 0 && r.Start.Nanosecond() == 0 {
			g.vals[from+int(d/3600)] = r.Value
		} else if g.strict && g.err == nil {
			g.err = fmt.Errorf("%w: reading at %s does not start on a local clock hour", ErrNotHourly, r.Start.In(g.loc).Format(time.RFC3339))
		}
	}
}

// at returns the value of the hour starting at t, NaN when absent.
func (g *grid) at(t time.Time) float64 {
	if t.Nanosecond() != 0 {
		return math.NaN()
	}
	return g.atUnix(t.Unix())
}

func (g *grid) atUnix(sec int64) float64 {
	d := sec - g.base
	if d < 0 || d%3600 != 0 || d/3600 >= int64(len(g.vals)) {
		return math.NaN()
	}
	i := int(d / 3600)
	if i < g.filled {
		g.load(i)
	}
	return g.vals[i]
}

// dayClock locates one local date's clock hours. On a regular day (the
// zone offset is the same at both midnights) clock hour h starts at
// midnight + h hours; a day with a transition takes the slow path.
type dayClock struct {
	date     LocalDate
	loc      *time.Location
	midnight int64
	regular  bool
}

func newDayClock(d LocalDate, loc *time.Location) dayClock {
	m0 := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
	m1 := time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, loc)
	_, off0 := m0.Zone()
	_, off1 := m1.Add(-time.Second).Zone()
	return dayClock{date: d, loc: loc, midnight: m0.Unix(),
		regular: off0 == off1 && m0.Hour() == 0 && m1.Unix()-m0.Unix() == 86400}
}

// clockValue is the value of clock hour h on the day: none for the hour a
// spring-forward day skips, the mean of both instances for the hour a
// fall-back day repeats.
func (g *grid) clockValue(dc *dayClock, h int) (float64, bool) {
	if dc.regular {
		v := g.atUnix(dc.midnight + int64(h)*3600)
		return v, !math.IsNaN(v)
	}
	d := dc.date
	t := time.Date(d.Year, d.Month, d.Day, h, 0, 0, 0, dc.loc)
	if t.Hour() != h || DateOf(t) != d {
		return 0, false // skipped by a spring-forward transition
	}
	sum, n := 0.0, 0
	for j, u := range [...]time.Time{t.Add(-time.Hour), t, t.Add(time.Hour)} {
		if j != 1 && (u.Hour() != h || DateOf(u) != d) {
			continue // not a repeat of the same clock hour
		}
		v := g.at(u)
		if math.IsNaN(v) {
			return 0, false
		}
		sum += v
		n++
	}
	return sum / float64(n), true
}
