package ingest_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/negawatt/negawatt/examples/lambda/internal/ingest"
)

func Example() {
	store := func(ctx context.Context, b ingest.UsageBatch) error {
		fmt.Println("stored", b.CustomerID, len(b.Readings), "readings")
		return nil
	}
	// In main: lambda.Start(ingest.Handler(store, logger))
	h := ingest.Handler(store, nil)
	resp, _ := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: `{"customer_id":"c-1","readings":[{"start":"2025-03-01T00:00:00Z","end":"2025-03-02T00:00:00Z","usage_kwh":21.5}]}`},
		{MessageId: "m2", Body: `{"customer_id":"c-2"}`},
	}})
	fmt.Println("failed:", resp.BatchItemFailures)
	// Output:
	// stored c-1 1 readings
	// failed: [{m2}]
}
