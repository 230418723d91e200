// Package nightly is the EventBridge-scheduled Lambda handler that runs
// the program's nightly jobs through injected functions: settle the
// previous day's savings, then sweep expired points.
//
// The event's own time is the clock (no time.Now), so a retried or
// replayed event settles the same day; both jobs must therefore be
// idempotent, which the SDK's settlement (awards keyed per period) and
// expiry sweep (expiries keyed per lot) are designed to be. An operator can
// re-run a past day by sending an event whose detail is {"day":"2025-03-01"}.
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

// Day is one calendar day in the program's time zone: [Start, End).
type Day struct {
	Start, End time.Time
}

// Jobs are the nightly jobs. Settle and Sweep are required.
type Jobs struct {
	// Settle settles savings and posts awards for one day.
	Settle func(ctx context.Context, day Day) error
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

// detail is the optional manual-run payload.
type detail struct {
	Day string `json:"day"` // YYYY-MM-DD in Location
}

// Handle runs the jobs for ev: lambda.Start(jobs.Handle). Settlement runs
// first so the sweep sees the newest awards; the sweep runs even when
// settlement fails (they are independent), and both errors are returned,
// which makes Lambda retry the asynchronous invocation.
func (j Jobs) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	if j.Settle == nil || j.Sweep == nil {
		return errors.New("nightly: Jobs.Settle and Jobs.Sweep are required")
	}
	day, err := j.dayFor(ev)
	if err != nil {
		return err
	}
	log := j.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With(slog.String("event_id", ev.ID), slog.String("day", day.Start.Format(time.DateOnly)))
	var errs []error
	if err := j.Settle(ctx, day); err != nil {
		log.ErrorContext(ctx, "settlement failed", slog.Any("err", err))
		errs = append(errs, fmt.Errorf("nightly: settle %s: %w", day.Start.Format(time.DateOnly), err))
	} else {
		log.InfoContext(ctx, "settlement done")
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

// dayFor picks the day to settle: detail.day if given, else the day
// before the event's time in the program's zone.
func (j Jobs) dayFor(ev events.EventBridgeEvent) (Day, error) {
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" {
		return Day{}, fmt.Errorf("%w: detail-type %q from %q, want \"Scheduled Event\" from aws.events", ErrBadEvent, ev.DetailType, ev.Source)
	}
	if ev.Time.IsZero() {
		return Day{}, fmt.Errorf("%w: no time", ErrBadEvent)
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
			return Day{}, fmt.Errorf("%w: detail: %v", ErrBadEvent, err)
		}
	}
	var start time.Time
	if d.Day != "" {
		t, err := time.ParseInLocation(time.DateOnly, d.Day, loc)
		if err != nil {
			return Day{}, fmt.Errorf("%w: detail.day %q: want YYYY-MM-DD", ErrBadEvent, d.Day)
		}
		start = t
	} else {
		now := ev.Time.In(loc)
		start = time.Date(now.Year(), now.Month(), now.Day()-1, 0, 0, 0, 0, loc)
	}
	if !start.Before(ev.Time) {
		return Day{}, fmt.Errorf("%w: day %s has not started before the event time", ErrBadEvent, start.Format(time.DateOnly))
	}
	// AddDate, not Add(24h): a day with a DST change is 23 or 25 hours.
	return Day{Start: start, End: start.AddDate(0, 0, 1)}, nil
}
