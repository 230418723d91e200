// Package app assembles the example service's single http.Handler from
// the platform (auth, middleware, probes, metrics, OpenAPI) and the
// dashboard. Both examples/httpserver and the API Gateway function in
// examples/lambda serve exactly this handler.
//
// The domain wave adds the /v1 JSON API here: one register function per
// resource (customers, usage, baselines, settlements, balances,
// redemptions, rule sets) taking its SDK dependencies from Config, plus
// the matching paths in examples/internal/openapi/openapi.json.
package app

import (
	"context"
	"log/slog"

	"github.com/negawatt/negawatt/examples/internal/dashboard"
	"github.com/negawatt/negawatt/examples/internal/openapi"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

// Config is what the service needs from its host program.
type Config struct {
	Signer *platform.Signer
	Logger *slog.Logger
	// Ready is the readiness check (e.g. ping the ledger store).
	Ready func(ctx context.Context) error
	// Dashboard fills the web pages; nil leaves / and /customers/{id}
	// unmounted (they answer 404).
	Dashboard    dashboard.Source
	RateLimit    platform.RateLimit
	MaxBodyBytes int64
}

// New returns the service handler.
func New(cfg Config) (*platform.Platform, error) {
	p, err := platform.New(platform.Config{
		Signer:       cfg.Signer,
		Logger:       cfg.Logger,
		Ready:        cfg.Ready,
		OpenAPI:      openapi.JSON,
		RateLimit:    cfg.RateLimit,
		MaxBodyBytes: cfg.MaxBodyBytes,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Dashboard != nil {
		dashboard.Register(p, cfg.Dashboard)
	}
	return p, nil
}
