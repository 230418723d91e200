package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

func loadSQS(t *testing.T, name string) events.SQSEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func TestPartialBatchFailure(t *testing.T) {
	var mu sync.Mutex
	var got []UsageBatch
	ingest := func(ctx context.Context, b UsageBatch) error {
		if b.CustomerID == "c-3" {
			return errors.New("store: connection reset")
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, b)
		return nil
	}
	resp, err := Handler(ingest, quiet)(context.Background(), loadSQS(t, "sqs-usage-batches.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "msg-malformed"}, {ItemIdentifier: "msg-store-down"}}}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC) }
	wantBatches := []UsageBatch{{CustomerID: "c-1", Readings: []Reading{{day(1), day(2), 21.5}, {day(2), day(3), 19.25}}}}
	if diff := cmp.Diff(wantBatches, got); diff != "" {
		t.Errorf("ingested (-want +got):\n%s", diff)
	}
}

func TestAWSFixtureBodyIsRejected(t *testing.T) {
	// aws-lambda-go's own sample: body "Message Body" is not a batch.
	resp, err := Handler(func(context.Context, UsageBatch) error { t.Error("ingest called"); return nil }, quiet)(
		context.Background(), loadSQS(t, "sqs-event.json"))
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "MessageID_1" {
		t.Errorf("resp %+v err %v", resp, err)
	}
}

func TestDeadlineHandsBackTheRest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	ingest := func(context.Context, UsageBatch) error { calls++; cancel(); return nil }
	ev := loadSQS(t, "sqs-usage-batches.json")
	ev.Records[1] = ev.Records[0]
	ev.Records[1].MessageId = "msg-good-2"
	resp, _ := Handler(ingest, quiet)(ctx, ev)
	if calls != 1 || len(resp.BatchItemFailures) != 2 {
		t.Errorf("calls %d, failures %+v; want 1 call and the 2 unprocessed messages failed", calls, resp.BatchItemFailures)
	}
}

func TestDecodeErrors(t *testing.T) {
	r := func(start, end string, kwh string) string {
		return `{"start":"` + start + `","end":"` + end + `","usage_kwh":` + kwh + `}`
	}
	good := r("2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z", "1")
	tests := []struct {
		name, body, field string
	}{
		{"not json", `hello`, "body"},
		{"unknown field", `{"customer_id":"c","readings":[` + good + `],"points":5}`, "body"},
		{"trailing", `{"customer_id":"c","readings":[` + good + `]} {}`, "body"},
		{"bad id", `{"customer_id":"c'; DROP TABLE usage;--","readings":[` + good + `]}`, "customer_id"},
		{"no readings", `{"customer_id":"c","readings":[]}`, "readings"},
		{"missing end", `{"customer_id":"c","readings":[{"start":"2025-03-01T00:00:00Z","usage_kwh":1}]}`, "readings[0]"},
		{"end before start", `{"customer_id":"c","readings":[` + r("2025-03-02T00:00:00Z", "2025-03-01T00:00:00Z", "1") + `]}`, "readings[0].end"},
		{"negative", `{"customer_id":"c","readings":[` + r("2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z", "-1") + `]}`, "readings[0].usage_kwh"},
		{"overlap", `{"customer_id":"c","readings":[` + good + `,` + r("2025-03-01T12:00:00Z", "2025-03-03T00:00:00Z", "1") + `]}`, "readings[1].start"},
		{"wrong type", `{"customer_id":"c","readings":[` + r("2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z", `"x"`) + `]}`, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.body)
			var be *BatchError
			if !errors.As(err, &be) || !errors.Is(err, ErrBadBatch) {
				t.Fatalf("err = %v, want a *BatchError", err)
			}
			if be.Field != tt.field {
				t.Errorf("field %q, want %q (%v)", be.Field, tt.field, err)
			}
		})
	}
	many := `{"customer_id":"c","readings":[` + strings.Repeat(good+",", MaxReadings) + good + `]}`
	if _, err := Decode(many); !errors.Is(err, ErrBadBatch) {
		t.Errorf("%d readings accepted", MaxReadings+1)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"customer_id":"c-1","readings":[{"start":"2025-03-01T00:00:00Z","end":"2025-03-02T00:00:00Z","usage_kwh":21.5}]}`)
	f.Add(`{"customer_id":"","readings":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		b, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrBadBatch) {
				t.Fatalf("error %v does not wrap ErrBadBatch", err)
			}
			return
		}
		for i, r := range b.Readings {
			if !r.End.After(r.Start) || r.UsageKWh < 0 || (i > 0 && r.Start.Before(b.Readings[i-1].End)) {
				t.Fatalf("accepted invalid reading %d: %+v", i, r)
			}
		}
	})
}

func BenchmarkHandler(b *testing.B) {
	ev := events.SQSEvent{}
	body := `{"customer_id":"c-1","readings":[{"start":"2025-03-01T00:00:00Z","end":"2025-03-02T00:00:00Z","usage_kwh":21.5}]}`
	for i := 0; i < 10; i++ {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m", Body: body})
	}
	h := Handler(func(context.Context, UsageBatch) error { return nil }, quiet)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
}
