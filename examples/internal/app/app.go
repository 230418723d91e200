// Package app assembles the example service's single http.Handler from
// the platform (auth, middleware, probes, metrics, OpenAPI) and the
// dashboard. Both examples/httpserver and the API Gateway function in
// examples/lambda serve exactly this handler.
//
// With a Service in Config it also serves the /v1 JSON API (customers,
// usage and temperature uploads, baselines, settlements, balances,
// history, redemptions, rule sets), documented in
// examples/internal/openapi/openapi.json. Service is also the entry
// point for non-HTTP callers: the Lambda SQS consumer calls
// Service.IngestUsage, the scheduled job Service.SettleNightly and
// Service.SweepExpired.
package app

import (
	"context"
	"log/slog"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/dashboard"
	"github.com/negawatt/negawatt/examples/internal/openapi"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

// Config is what the service needs from its host program.
type Config struct {
	Signer *platform.Signer
	Logger *slog.Logger
	// Service, when set, mounts the /v1 API; its Ready check (store and
	// ledger) backs /readyz unless Ready is set, and its settlements
	// count awards and points in the platform metrics.
	Service *Service
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
	ready := cfg.Ready
	if ready == nil && cfg.Service != nil {
		ready = cfg.Service.Ready
	}
	p, err := platform.New(platform.Config{
		Signer:       cfg.Signer,
		Logger:       cfg.Logger,
		Ready:        ready,
		OpenAPI:      openapi.JSON,
		RateLimit:    cfg.RateLimit,
		MaxBodyBytes: cfg.MaxBodyBytes,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Service != nil {
		m := p.Metrics()
		cfg.Service.onAwards = func(n int, points decimal.Decimal) {
			m.AwardsPosted(n)
			m.PointsIssued(points)
		}
		registerAPI(p, cfg.Service)
	}
	if cfg.Dashboard != nil {
		dashboard.Register(p, cfg.Dashboard)
	}
	return p, nil
}
