package platform

import (
	"math"
	"sync"
	"time"
)

// RateLimit is a token bucket per caller: Burst requests at once, refilled
// at PerSecond. Authenticated callers are keyed by token id, anonymous
// ones by client IP. Probes (/healthz, /readyz) are never limited.
type RateLimit struct {
	PerSecond float64
	Burst     int
	// Disabled turns limiting off (e.g. behind a gateway that limits).
	Disabled bool
}

// DefaultRateLimit allows bursts of 100 and 50 requests/s sustained per
// token: far above a dashboard's needs, low enough to blunt a runaway
// client.
var DefaultRateLimit = RateLimit{PerSecond: 50, Burst: 100}

type bucket struct {
	tokens float64
	last   time.Time
}

type limiter struct {
	cfg       RateLimit
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

func newLimiter(cfg RateLimit, now func() time.Time) *limiter {
	return &limiter{cfg: cfg, now: now, buckets: map[string]*bucket{}, lastSweep: now()}
}

// allow takes one token from key's bucket. When empty, it reports how long
// until a token is available.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l.cfg.Disabled {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(l.cfg.Burst), last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(float64(l.cfg.Burst), b.tokens+el*l.cfg.PerSecond)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.cfg.PerSecond * float64(time.Second))
	return false, wait
}

// sweep forgets buckets that have refilled completely, so memory stays
// bounded by the callers active in the last refill period.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute && len(l.buckets) < 100_000 {
		return
	}
	l.lastSweep = now
	full := time.Duration(float64(l.cfg.Burst) / l.cfg.PerSecond * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
}
