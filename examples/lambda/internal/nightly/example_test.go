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
		Settle: func(ctx context.Context, d nightly.Day) error {
			fmt.Println("settle", d.Start.Format(time.DateOnly))
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
		DetailType: "Scheduled Event", Source: "aws.events", Time: time.Date(2025, 3, 3, 2, 15, 0, 0, time.UTC),
	})
	fmt.Println(err)
	// Output:
	// settle 2025-03-02
	// sweep as of 2025-03-03T02:15:00Z
	// <nil>
}
