// Package ingest is the SQS-triggered Lambda handler that takes usage
// batches off a queue and hands each to an injected ingest function,
// reporting failures per message (SQS partial batch responses, the
// ReportBatchItemFailures function response type) so one bad message
// does not make the whole batch redeliver.
//
// A message that cannot be decoded is reported as failed too: after the
// queue's maxReceiveCount it moves to the dead-letter queue, where an
// operator can inspect it, instead of being dropped silently. Messages
// may be delivered more than once (SQS standard queues are at-least-once),
// so the ingest function must be idempotent per customer and period.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/negawatt/negawatt/examples/internal/platform"
)

// MaxReadings bounds one batch (a year of hourly reads is 8,784).
const MaxReadings = 10_000

// UsageBatch is one message body: metered usage for one customer.
type UsageBatch struct {
	CustomerID string    `json:"customer_id"`
	Readings   []Reading `json:"readings"`
}

// Reading is usage over [Start, End).
type Reading struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	UsageKWh float64   `json:"usage_kwh"`
}

// Func ingests one decoded, validated batch. The domain wave passes the
// SDK's usage store here.
type Func func(ctx context.Context, b UsageBatch) error

// ErrBadBatch is wrapped by every decoding or validation error.
var ErrBadBatch = errors.New("ingest: bad usage batch")

// BatchError says what is wrong in a message body and where.
type BatchError struct {
	Field  string // e.g. "readings[3].end"
	Reason string
}

func (e *BatchError) Error() string { return fmt.Sprintf("ingest: %s: %s", e.Field, e.Reason) }

func (e *BatchError) Unwrap() error { return ErrBadBatch }

// Decode parses and validates a message body strictly: known fields only,
// a valid customer id, 1..MaxReadings readings, each with End after Start,
// finite non-negative kWh, in time order without overlaps.
func Decode(body string) (UsageBatch, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	var b UsageBatch
	if err := dec.Decode(&b); err != nil {
		return UsageBatch{}, &BatchError{Field: "body", Reason: err.Error()}
	}
	if dec.More() {
		return UsageBatch{}, &BatchError{Field: "body", Reason: "data after the JSON object"}
	}
	if !platform.ValidID(b.CustomerID) {
		return UsageBatch{}, &BatchError{Field: "customer_id", Reason: fmt.Sprintf("%q is not a valid id", b.CustomerID)}
	}
	if len(b.Readings) == 0 || len(b.Readings) > MaxReadings {
		return UsageBatch{}, &BatchError{Field: "readings", Reason: fmt.Sprintf("%d readings, want 1 to %d", len(b.Readings), MaxReadings)}
	}
	for i, r := range b.Readings {
		f := fmt.Sprintf("readings[%d]", i)
		switch {
		case r.Start.IsZero() || r.End.IsZero():
			return UsageBatch{}, &BatchError{Field: f, Reason: "start and end are required"}
		case !r.End.After(r.Start):
			return UsageBatch{}, &BatchError{Field: f + ".end", Reason: fmt.Sprintf("%s is not after start %s", r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))}
		case math.IsNaN(r.UsageKWh) || math.IsInf(r.UsageKWh, 0) || r.UsageKWh < 0:
			return UsageBatch{}, &BatchError{Field: f + ".usage_kwh", Reason: fmt.Sprintf("%v is not a finite non-negative number", r.UsageKWh)}
		case i > 0 && r.Start.Before(b.Readings[i-1].End):
			return UsageBatch{}, &BatchError{Field: f + ".start", Reason: "overlaps or precedes the previous reading"}
		}
	}
	return b, nil
}

// Handler returns the SQS handler: lambda.Start(ingest.Handler(fn, log)).
// It never returns an error for a message's failure; the failed message
// ids go in BatchItemFailures and only those are redelivered.
func Handler(ingest Func, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		fail := func(m events.SQSMessage) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
		for _, m := range ev.Records {
			// Out of time (the Lambda deadline is on ctx): hand the rest
			// back to the queue untouched rather than half-process them.
			if ctx.Err() != nil {
				fail(m)
				continue
			}
			b, err := Decode(m.Body)
			if err != nil {
				log.LogAttrs(ctx, slog.LevelError, "usage batch rejected", slog.String("message_id", m.MessageId),
					slog.String("receive_count", m.Attributes["ApproximateReceiveCount"]), slog.Any("err", err))
				fail(m)
				continue
			}
			if err := ingest(ctx, b); err != nil {
				log.LogAttrs(ctx, slog.LevelWarn, "usage batch ingest failed, will retry", slog.String("message_id", m.MessageId),
					slog.String("customer_id", b.CustomerID), slog.Any("err", err))
				fail(m)
				continue
			}
			log.LogAttrs(ctx, slog.LevelInfo, "usage batch ingested", slog.String("message_id", m.MessageId),
				slog.String("customer_id", b.CustomerID), slog.Int("readings", len(b.Readings)))
		}
		return resp, nil
	}
}
