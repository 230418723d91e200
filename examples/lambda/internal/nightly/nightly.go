// Package nightly is the EventBridge-scheduled Lambda handler that runs
// the program's nightly jobs through injected functions: settle the
// previous day's savings (and the previous month's when that day closed a
// month), then sweep expired points.
//
// The event's own time is the clock (no time.Now), so a retried or
// replayed event settles the same day; both jobs must therefore be
// idempotent, which the SDK's settlement (awards keyed per period) and
// expiry sweep (expiries keyed per lot) are designed to be. An operator can
// re-run a past day by sending an event whose detail is {"day":"2025-03-01"},
// or a past month with {"month":"2025-02"}.
package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// PeriodKind says whether a settlement period is a day or a month.
type PeriodKind uint8

// The settlement periods.
const (
	Day PeriodKind = iota + 1
	Month
)

func (k PeriodKind) String() string {
	switch k {
	case Day:
		return "day"
	case Month:
		return "month"
	}
	return fmt.Sprintf("PeriodKind(%d)", uint8(k))
}

// Period is one calendar day or month in the program's time zone:
// [Start, End).
type Period struct {
	Kind       PeriodKind
	Start, End time.Time
}

// String is the period's calendar name, e.g. "2025-03-02" or "2025-02".
func (p Period) String() string {
	if p.Kind == Month {
		return p.Start.Format("2006-01")
	}
	return p.Start.Format(time.DateOnly)
}

// Jobs are the nightly jobs. Settle and Sweep are required.
type Jobs struct {
	// Settle settles savings and posts awards for one period: every night
	// the previous day, and after the last day of a month that month too
	// (day first). It must be idempotent: a retried event settles the same
	// periods again.
	Settle func(ctx context.Context, p Period) error
	// Sweep expires points whose expiry is at or before asOf.
	Sweep func(ctx context.Context, asOf time.Time) error
	// Location is the program's time zone, which decides where "yesterday"
	// starts and ends; nil means UTC.
	Location *time.Location
	Logger   *slog.Logger
}

// ErrBadEvent is wrapped when the event is not a scheduled event this
// handler should act on.
var ErrBadEvent = errors.New("nightly: bad event")

// detail is the optional manual-run payload: at most one of the fields.
type detail struct {
	Day   string `json:"day"`   // YYYY-MM-DD in Location
	Month string `json:"month"` // YYYY-MM in Location
}

// Handle runs the jobs for ev: lambda.Start(jobs.Handle). Settlement runs
// first so the sweep sees the newest awards; the sweep runs even when
// settlement fails (they are independent), and both errors are returned,
// which makes Lambda retry the asynchronous invocation.
func (j Jobs) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	if j.Settle == nil || j.Sweep == nil {
		return errors.New("nightly: Jobs.Settle and Jobs.Sweep are required")
	}
	periods, err := j.periodsFor(ev)
	if err != nil {
		return err
	}
	log := j.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With(slog.String("event_id", ev.ID))
	var errs []error
	for _, p := range periods {
		plog := log.With(slog.String("period", p.Kind.String()), slog.String("start", p.String()))
		if err := j.Settle(ctx, p); err != nil {
			plog.ErrorContext(ctx, "settlement failed", slog.Any("err", err))
			errs = append(errs, fmt.Errorf("nightly: settle %s %s: %w", p.Kind, p, err))
			continue
		}
		plog.InfoContext(ctx, "settlement done")
	}
	asOf := ev.Time
	if err := j.Sweep(ctx, asOf); err != nil {
		log.ErrorContext(ctx, "expiry sweep failed", slog.Any("err", err))
		errs = append(errs, fmt.Errorf("nightly: sweep as of %s: %w", asOf.Format(time.RFC3339), err))
	} else {
		log.InfoContext(ctx, "expiry sweep done", slog.Time("as_of", asOf))
	}
	return errors.Join(errs...)
}

// periodsFor picks the periods to settle: detail.day or detail.month if
// given, else the day before the event's time in the program's zone, plus
// its month when that day was the month's last.
func (j Jobs) periodsFor(ev events.EventBridgeEvent) ([]Period, error) {
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" {
		return nil, fmt.Errorf("%w: detail-type %q from %q, want \"Scheduled Event\" from aws.events", ErrBadEvent, ev.DetailType, ev.Source)
	}
	if ev.Time.IsZero() {
		return nil, fmt.Errorf("%w: no time", ErrBadEvent)
	}
	loc := j.Location
	if loc == nil {
		loc = time.UTC
	}
	var d detail
	if len(bytes.TrimSpace(ev.Detail)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(ev.Detail))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("%w: detail: %v", ErrBadEvent, err)
		}
	}
	var ps []Period
	switch {
	case d.Day != "" && d.Month != "":
		return nil, fmt.Errorf("%w: detail has both day and month; send one", ErrBadEvent)
	case d.Month != "":
		t, err := time.ParseInLocation("2006-01", d.Month, loc)
		if err != nil {
			return nil, fmt.Errorf("%w: detail.month %q: want YYYY-MM", ErrBadEvent, d.Month)
		}
		ps = []Period{{Kind: Month, Start: t, End: t.AddDate(0, 1, 0)}}
	case d.Day != "":
		t, err := time.ParseInLocation(time.DateOnly, d.Day, loc)
		if err != nil {
			return nil, fmt.Errorf("%w: detail.day %q: want YYYY-MM-DD", ErrBadEvent, d.Day)
		}
		ps = []Period{day(t)}
	default:
		now := ev.Time.In(loc)
		ps = []Period{day(time.Date(now.Year(), now.Month(), now.Day()-1, 0, 0, 0, 0, loc))}
		if y := ps[0]; y.End.Day() == 1 { // yesterday closed its month
			first := time.Date(y.Start.Year(), y.Start.Month(), 1, 0, 0, 0, 0, loc)
			ps = append(ps, Period{Kind: Month, Start: first, End: y.End})
		}
	}
	// A period must be over before it is settled: settling a day still in
	// progress would pay on partial usage.
	for _, p := range ps {
		if ev.Time.Before(p.End) {
			return nil, fmt.Errorf("%w: %s %s has not ended before the event time", ErrBadEvent, p.Kind, p)
		}
	}
	return ps, nil
}

// day is the calendar day starting at start (midnight in its zone).
// AddDate, not Add(24h): a day with a DST change is 23 or 25 hours.
func day(start time.Time) Period {
	return Period{Kind: Day, Start: start, End: start.AddDate(0, 0, 1)}
}
