package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // the DST test must not depend on the machine's zoneinfo

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

func loadEvent(t *testing.T) events.EventBridgeEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "eventbridge-scheduled.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

type calls struct {
	settled []Period
	swept   []time.Time
}

func jobs(c *calls, settleErr, sweepErr error, loc *time.Location) Jobs {
	return Jobs{
		Settle:   func(_ context.Context, d Period) error { c.settled = append(c.settled, d); return settleErr },
		Sweep:    func(_ context.Context, t time.Time) error { c.swept = append(c.swept, t); return sweepErr },
		Location: loc,
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
}

func TestScheduledRun(t *testing.T) {
	var c calls
	if err := jobs(&c, nil, nil, nil).Handle(context.Background(), loadEvent(t)); err != nil {
		t.Fatal(err)
	}
	// Event at 2025-03-03T02:15Z settles 2 March (UTC) and sweeps as of
	// the event time.
	want := calls{
		settled: []Period{{Day, time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)}},
		swept:   []time.Time{time.Date(2025, 3, 3, 2, 15, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(want, c, cmp.AllowUnexported(calls{})); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestProgramTimeZoneAndDST(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	ev := loadEvent(t)
	// 2025-03-10T10:00Z is 03:00 PDT on 10 March; yesterday (9 March) was
	// the 23-hour spring-forward day.
	ev.Time = time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)
	var c calls
	if err := jobs(&c, nil, nil, la).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	d := c.settled[0]
	if d.Start.Format(time.RFC3339) != "2025-03-09T00:00:00-08:00" || d.End.Sub(d.Start) != 23*time.Hour {
		t.Errorf("day %v – %v (%v), want 9 March PST, 23 h", d.Start, d.End, d.End.Sub(d.Start))
	}
}

func TestMonthClosedSettlesMonthToo(t *testing.T) {
	ev := loadEvent(t)
	ev.Time = time.Date(2024, 3, 1, 2, 15, 0, 0, time.UTC) // yesterday was 29 Feb (leap year)
	var c calls
	if err := jobs(&c, nil, nil, nil).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	utc := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	want := []Period{
		{Day, utc(2024, 2, 29), utc(2024, 3, 1)},
		{Month, utc(2024, 2, 1), utc(2024, 3, 1)},
	}
	if diff := cmp.Diff(want, c.settled); diff != "" {
		t.Errorf("settled (-want +got):\n%s", diff)
	}
	if got := []string{c.settled[0].String(), c.settled[1].String(), Month.String(), PeriodKind(9).String()}; !cmp.Equal(got,
		[]string{"2024-02-29", "2024-02", "month", "PeriodKind(9)"}) {
		t.Errorf("names %q", got)
	}
}

func TestRetriedEventSettlesSamePeriods(t *testing.T) {
	// The clock is the event's time, so a redelivered event (Lambda
	// retries asynchronous invocations) settles exactly what the first
	// delivery did, even a day later.
	var first, again calls
	ev := loadEvent(t)
	if err := jobs(&first, nil, nil, nil).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if err := jobs(&again, nil, nil, nil).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again, cmp.AllowUnexported(calls{})); diff != "" {
		t.Errorf("retry settled differently (-first +retry):\n%s", diff)
	}
}

func TestManualMonth(t *testing.T) {
	ev := loadEvent(t)
	ev.Detail = json.RawMessage(`{"month":"2025-02"}`)
	var c calls
	if err := jobs(&c, nil, nil, nil).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	want := []Period{{Month, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}}
	if diff := cmp.Diff(want, c.settled); diff != "" {
		t.Errorf("settled (-want +got):\n%s", diff)
	}
}

func TestManualDay(t *testing.T) {
	ev := loadEvent(t)
	ev.Detail = json.RawMessage(`{"day":"2025-02-14"}`)
	var c calls
	if err := jobs(&c, nil, nil, nil).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got := c.settled[0].Start; !got.Equal(time.Date(2025, 2, 14, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("settled %v", got)
	}
}

func TestFailuresRunBothAndJoin(t *testing.T) {
	settleErr, sweepErr := errors.New("ledger down"), errors.New("lock timeout")
	var c calls
	err := jobs(&c, settleErr, sweepErr, nil).Handle(context.Background(), loadEvent(t))
	if !errors.Is(err, settleErr) || !errors.Is(err, sweepErr) {
		t.Fatalf("err = %v, want both failures", err)
	}
	if len(c.settled) != 1 || len(c.swept) != 1 {
		t.Errorf("settle %d, sweep %d calls; want both to run once", len(c.settled), len(c.swept))
	}
}

func TestRejectsEvents(t *testing.T) {
	for name, mod := range map[string]func(*events.EventBridgeEvent){
		"other detail-type": func(e *events.EventBridgeEvent) { e.DetailType = "EC2 Instance State-change Notification" },
		"other source":      func(e *events.EventBridgeEvent) { e.Source = "my.app" },
		"no time":           func(e *events.EventBridgeEvent) { e.Time = time.Time{} },
		"unknown detail":    func(e *events.EventBridgeEvent) { e.Detail = json.RawMessage(`{"days":3}`) },
		"bad day":           func(e *events.EventBridgeEvent) { e.Detail = json.RawMessage(`{"day":"03/01/2025"}`) },
		"future day":        func(e *events.EventBridgeEvent) { e.Detail = json.RawMessage(`{"day":"2025-03-04"}`) },
		"day not over":      func(e *events.EventBridgeEvent) { e.Detail = json.RawMessage(`{"day":"2025-03-03"}`) },
		"month not over":    func(e *events.EventBridgeEvent) { e.Detail = json.RawMessage(`{"month":"2025-03"}`) },
		"bad month":         func(e *events.EventBridgeEvent) { e.Detail = json.RawMessage(`{"month":"2025-3"}`) },
		"day and month":     func(e *events.EventBridgeEvent) { e.Detail = json.RawMessage(`{"day":"2025-02-14","month":"2025-02"}`) },
	} {
		t.Run(name, func(t *testing.T) {
			ev := loadEvent(t)
			mod(&ev)
			var c calls
			if err := jobs(&c, nil, nil, nil).Handle(context.Background(), ev); !errors.Is(err, ErrBadEvent) {
				t.Fatalf("err = %v, want ErrBadEvent", err)
			}
			if len(c.settled)+len(c.swept) != 0 {
				t.Error("a job ran for a rejected event")
			}
		})
	}
	if err := (Jobs{}).Handle(context.Background(), loadEvent(t)); err == nil {
		t.Error("Jobs without functions ran")
	}
}
