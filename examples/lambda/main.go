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
// The domain functions (ingest usage, settle a day, sweep expiries) are
// not wired to the SDK yet: they fail with errNotWired, so usage messages
// go to the dead-letter queue instead of being lost, and the nightly
// invocation reports an error.
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
	"github.com/negawatt/negawatt/examples/lambda/internal/nightly"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := handler(os.Getenv, log)
	if err != nil {
		log.Error("lambda: cannot start", slog.Any("err", err))
		os.Exit(1)
	}
	lambda.Start(h)
}

// errNotWired marks the domain functions the SDK wave plugs in.
var errNotWired = errors.New("lambda: domain function not wired to the SDK yet")

// handler returns the Lambda handler for the role in NEGAWATT_FUNCTION.
func handler(getenv func(string) string, log *slog.Logger) (any, error) {
	switch role := getenv("NEGAWATT_FUNCTION"); role {
	case "http":
		key, err := hex.DecodeString(getenv("NEGAWATT_TOKEN_KEY"))
		if err != nil || len(key) < 32 {
			return nil, errors.New("NEGAWATT_TOKEN_KEY must be set to at least 32 bytes of hex")
		}
		signer, err := platform.NewSigner(key)
		if err != nil {
			return nil, err
		}
		h, err := app.New(app.Config{Signer: signer, Logger: log})
		if err != nil {
			return nil, err
		}
		return apigw.New(h).Invoke, nil
	case "ingest":
		return ingest.Handler(func(ctx context.Context, b ingest.UsageBatch) error {
			return fmt.Errorf("ingest %s: %w", b.CustomerID, errNotWired)
		}, log), nil
	case "nightly":
		loc, err := time.LoadLocation(getenv("NEGAWATT_TIME_ZONE")) // "" is UTC
		if err != nil {
			return nil, fmt.Errorf("NEGAWATT_TIME_ZONE: %w", err)
		}
		return nightly.Jobs{
			Location: loc,
			Settle:   func(ctx context.Context, p nightly.Period) error { return fmt.Errorf("settle: %w", errNotWired) },
			Sweep:    func(ctx context.Context, asOf time.Time) error { return fmt.Errorf("sweep: %w", errNotWired) },
			Logger:   log,
		}.Handle, nil
	default:
		return nil, fmt.Errorf("NEGAWATT_FUNCTION %q: want http, ingest or nightly", role)
	}
}
