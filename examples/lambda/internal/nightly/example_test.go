package nightly_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/negawatt/negawatt/examples/lambda/internal/nightly"
)

func Example() {
	jobs := nightly.Jobs{
		Settle: func(ctx context.Context, p nightly.Period) error {
			fmt.Println("settle", p.Kind, p)
			return nil
		},
		Sweep: func(ctx context.Context, asOf time.Time) error {
			fmt.Println("sweep as of", asOf.Format(time.RFC3339))
			return nil
		},
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	// In main: lambda.Start(jobs.Handle)
	err := jobs.Handle(context.Background(), events.EventBridgeEvent{
		DetailType: "Scheduled Event", Source: "aws.events", Time: time.Date(2025, 3, 1, 2, 15, 0, 0, time.UTC),
	})
	fmt.Println(err)
	// Output:
	// settle day 2025-02-28
	// settle month 2025-02
	// sweep as of 2025-03-01T02:15:00Z
	// <nil>
}
