package platform

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/shopspring/decimal"
)

// Metrics holds the service's Prometheus collectors. The HTTP ones are
// updated by the platform; the domain ones (awards, points) by domain
// handlers through the methods below.
type Metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	inFlight     prometheus.Gauge
	awards       prometheus.Counter
	pointsIssued prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "negawatt_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "negawatt_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "negawatt_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		awards: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "negawatt_awards_posted_total",
			Help: "Awards posted to the ledger.",
		}),
		pointsIssued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "negawatt_points_issued_total",
			Help: "Points issued by posted awards (approximate: a float64 view of decimal amounts).",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.awards, m.pointsIssued,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry /metrics serves; register domain collectors on
// it.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// AwardsPosted counts n awards posted to the ledger.
func (m *Metrics) AwardsPosted(n int) {
	if n > 0 {
		m.awards.Add(float64(n))
	}
}

// PointsIssued adds points to the issued-points counter. Negative amounts
// (reversals) are ignored: a Prometheus counter only goes up.
func (m *Metrics) PointsIssued(points decimal.Decimal) {
	if points.IsPositive() {
		m.pointsIssued.Add(points.InexactFloat64())
	}
}

func (m *Metrics) observe(route, method string, code int, seconds float64) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route, method).Observe(seconds)
}
