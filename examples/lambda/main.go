// Command lambda is negawatt's AWS Lambda deployment: one bootstrap
// binary (runtime provided.al2023, arm64) whose NEGAWATT_FUNCTION
// environment variable picks the role, as template.yaml sets per function:
//
//	http     the service handler (examples/internal/app) behind an API
//	         Gateway HTTP API, through internal/apigw
//	ingest   SQS-triggered usage ingestion with partial batch failures
//	         (internal/ingest)
//	nightly  EventBridge-scheduled settlement and expiry sweep
//	         (internal/nightly)
//
// Build (see Makefile): GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build
// -tags lambda.norpc -o bootstrap ./examples/lambda
//
// NEGAWATT_TOKEN_KEY (hex, ≥ 32 bytes) is required for the http role:
// every instance must verify the same tokens, so no random fallback.
// NEGAWATT_TIME_ZONE (IANA name, default UTC) sets the nightly role's
// calendar days.
//
// Storage: NEGAWATT_POSTGRES_URL, the PostgreSQL database holding the
// points ledger and the application data (template.yaml resolves it from
// Secrets Manager). It is the only durable choice on Lambda: /tmp belongs
// to one execution environment, is discarded at will and is not shared by
// concurrent instances. NEGAWATT_DATA_DIR (SQLite files) exists for local
// runs of the binary and is refused when AWS_LAMBDA_FUNCTION_NAME is set.
// Schemas are migrated at cold start (idempotent, serialised by locks).
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
	_ "time/tzdata" // program time zones must not depend on the runtime image

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/examples/lambda/internal/apigw"
	"github.com/negawatt/negawatt/examples/lambda/internal/ingest"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, cancel := context.WithTimeout(context.Background(), initTimeout)
	h, closeFn, err := handler(ctx, os.Getenv, log)
	cancel()
	if err != nil {
		log.Error("lambda: cannot start", slog.Any("err", err))
		os.Exit(1)
	}
	// The environment is frozen and eventually discarded without notice;
	// lambda.WithEnableSIGTERM lets it close the pools when it is told.
	lambda.StartWithOptions(h, lambda.WithEnableSIGTERM(func() {
		if err := closeFn(); err != nil {
			log.Warn("lambda: close", slog.Any("err", err))
		}
	}))
}

// initTimeout bounds the cold start (connect, migrate); Lambda's init
// phase itself is limited to 10 s.
const initTimeout = 9 * time.Second

// handler returns the Lambda handler for the role in NEGAWATT_FUNCTION and
// the function that releases its store connections.
func handler(ctx context.Context, getenv func(string) string, log *slog.Logger) (h any, closeFn func() error, err error) {
	role := getenv("NEGAWATT_FUNCTION")
	switch role {
	case "http", "ingest", "nightly":
	default:
		return nil, nil, fmt.Errorf("NEGAWATT_FUNCTION %q: want http, ingest or nightly", role)
	}
	st, err := storageFromEnv(getenv)
	if err != nil {
		return nil, nil, err
	}
	var key []byte
	if role == "http" { // checked before connecting: a config error fails fast
		if key, err = hex.DecodeString(getenv("NEGAWATT_TOKEN_KEY")); err != nil || len(key) < 32 {
			return nil, nil, errors.New("NEGAWATT_TOKEN_KEY must be set to at least 32 bytes of hex")
		}
	}
	loc, err := time.LoadLocation(getenv("NEGAWATT_TIME_ZONE")) // "" is UTC
	if err != nil {
		return nil, nil, fmt.Errorf("NEGAWATT_TIME_ZONE: %w", err)
	}
	svc, closeFn, err := openService(ctx, st, log)
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	switch role {
	case "http":
		signer, err := platform.NewSigner(key)
		if err != nil {
			closeFn()
			return nil, nil, err
		}
		h, err := app.New(app.Config{Signer: signer, Logger: log, Service: svc, Dashboard: app.DashboardSource(svc)})
		if err != nil {
			closeFn()
			return nil, nil, err
		}
		return apigw.New(h).Invoke, closeFn, nil
	case "ingest":
		return ingest.Handler(ingestFunc(svc), log), closeFn, nil
	default: // nightly
		return nightlyJobs(svc, loc, log).Handle, closeFn, nil
	}
}
