package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestHandlerRoles(t *testing.T) {
	key := strings.Repeat("ab", 32)
	h, err := handler(env(map[string]string{"NEGAWATT_FUNCTION": "http", "NEGAWATT_TOKEN_KEY": key}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	httpH, ok := h.(func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error))
	if !ok {
		t.Fatalf("http role handler has type %T", h)
	}
	b, err := os.ReadFile("testdata/apigw-v2-request-no-authorizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	ev.RawPath = "/healthz"
	resp, err := httpH(context.Background(), ev)
	if err != nil || resp.StatusCode != 200 || resp.Body != "{\"status\":\"ok\"}\n" {
		t.Errorf("GET /healthz through the http role: %d %q %v", resp.StatusCode, resp.Body, err)
	}

	h, err = handler(env(map[string]string{"NEGAWATT_FUNCTION": "ingest"}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	ingestH := h.(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error))
	sqs, _ := ingestH(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1",
		Body: `{"customer_id":"c","readings":[{"start":"2025-03-01T00:00:00Z","end":"2025-03-02T00:00:00Z","usage_kwh":1}]}`}}})
	if len(sqs.BatchItemFailures) != 1 {
		t.Errorf("unwired ingest must fail the message (to the DLQ), got %+v", sqs)
	}

	h, err = handler(env(map[string]string{"NEGAWATT_FUNCTION": "nightly"}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	nightlyH := h.(func(context.Context, events.EventBridgeEvent) error)
	var sched events.EventBridgeEvent
	b, _ = os.ReadFile("testdata/eventbridge-scheduled.json")
	if err := json.Unmarshal(b, &sched); err != nil {
		t.Fatal(err)
	}
	if err := nightlyH(context.Background(), sched); !errors.Is(err, errNotWired) {
		t.Errorf("unwired nightly: err = %v", err)
	}
}

func TestHandlerConfigErrors(t *testing.T) {
	for name, e := range map[string]map[string]string{
		"no role":      {},
		"unknown role": {"NEGAWATT_FUNCTION": "cron"},
		"no key":       {"NEGAWATT_FUNCTION": "http"},
		"short key":    {"NEGAWATT_FUNCTION": "http", "NEGAWATT_TOKEN_KEY": "abcd"},
		"bad zone":     {"NEGAWATT_FUNCTION": "nightly", "NEGAWATT_TIME_ZONE": "Mars/Olympus"},
	} {
		if _, err := handler(env(e), quiet); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
