package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerRoles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := strings.Repeat("ab", 32)
	h, closeFn, err := handler(ctx, env(map[string]string{"NEGAWATT_FUNCTION": "http", "NEGAWATT_TOKEN_KEY": key, "NEGAWATT_DATA_DIR": dir}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	httpH, ok := h.(func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error))
	if !ok {
		t.Fatalf("http role handler has type %T", h)
	}
	var ev events.APIGatewayV2HTTPRequest
	loadJSON(t, "apigw-v2-request-no-authorizer.json", &ev)
	for _, path := range []string{"/healthz", "/readyz"} { // readyz pings the store and the ledger
		ev.RawPath = path
		resp, err := httpH(ctx, ev)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s through the http role: %d %q %v", path, resp.StatusCode, resp.Body, err)
		}
	}
	ev.RawPath = "/" // the dashboard is mounted: anonymous visitors get the sign-in page
	if resp, err := httpH(ctx, ev); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "<html") {
		t.Errorf("GET / through the http role: %d %v %.200q", resp.StatusCode, err, resp.Body)
	}
	ev.RawPath = "/v1/customers/c-1/balance" // the /v1 API is mounted: no token → 401
	if resp, err := httpH(ctx, ev); err != nil || resp.StatusCode != 401 {
		t.Errorf("GET %s without a token: %d %q %v", ev.RawPath, resp.StatusCode, resp.Body, err)
	}

	h, closeIngest, err := handler(ctx, env(map[string]string{"NEGAWATT_FUNCTION": "ingest", "NEGAWATT_DATA_DIR": dir}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer closeIngest()
	if _, ok := h.(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)); !ok {
		t.Errorf("ingest role handler has type %T", h)
	}
	h, closeNightly, err := handler(ctx, env(map[string]string{"NEGAWATT_FUNCTION": "nightly", "NEGAWATT_DATA_DIR": dir}), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer closeNightly()
	if _, ok := h.(func(context.Context, events.EventBridgeEvent) error); !ok {
		t.Errorf("nightly role handler has type %T", h)
	}
}

func TestHandlerConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, e := range map[string]map[string]string{
		"no role":          {"NEGAWATT_DATA_DIR": dir},
		"unknown role":     {"NEGAWATT_FUNCTION": "cron", "NEGAWATT_DATA_DIR": dir},
		"no key":           {"NEGAWATT_FUNCTION": "http", "NEGAWATT_DATA_DIR": dir},
		"short key":        {"NEGAWATT_FUNCTION": "http", "NEGAWATT_TOKEN_KEY": "abcd", "NEGAWATT_DATA_DIR": dir},
		"bad zone":         {"NEGAWATT_FUNCTION": "nightly", "NEGAWATT_TIME_ZONE": "Mars/Olympus", "NEGAWATT_DATA_DIR": dir},
		"no store":         {"NEGAWATT_FUNCTION": "ingest"},
		"sqlite on lambda": {"NEGAWATT_FUNCTION": "ingest", "NEGAWATT_DATA_DIR": dir, "AWS_LAMBDA_FUNCTION_NAME": "negawatt-ingest"},
		"bad postgres url": {"NEGAWATT_FUNCTION": "ingest", "NEGAWATT_POSTGRES_URL": "postgres://u:p@127.0.0.1:1/x?sslmode=disable&connect_timeout=1"},
	} {
		if _, _, err := handler(context.Background(), env(e), quiet); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
