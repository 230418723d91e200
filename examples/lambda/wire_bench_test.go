package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/negawatt/negawatt/examples/lambda/internal/ingest"
)

// BenchmarkIngestWiredSQLite is one SQS batch of 10 messages, each a day
// of hourly readings for its own customer, stored through app.Service in
// SQLite (a redelivery: the rows are upserted in place).
func BenchmarkIngestWiredSQLite(b *testing.B) {
	ctx := context.Background()
	svc, closeFn, err := openService(ctx, storage{DataDir: b.TempDir()}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer closeFn()
	var ev events.SQSEvent
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for m := range 10 {
		id := fmt.Sprintf("c-%d", m)
		if _, _, err := svc.PutCustomer(ctx, id, appCustomer()); err != nil {
			b.Fatal(err)
		}
		batch := ingest.UsageBatch{CustomerID: id}
		for h := range 24 {
			start := day.Add(time.Duration(h) * time.Hour)
			batch.Readings = append(batch.Readings, ingest.Reading{Start: start, End: start.Add(time.Hour), UsageKWh: 1.25})
		}
		body, _ := json.Marshal(batch)
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: id, Body: string(body)})
	}
	h := ingest.Handler(ingestFunc(svc), quiet)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := h(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			b.Fatal(err, resp)
		}
	}
}
