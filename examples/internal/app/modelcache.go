package app

import (
	"fmt"
	"sync"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/examples/internal/store"
)

// maxCachedModels bounds the decoded-model cache (one entry per customer);
// past it an arbitrary entry makes room, so a huge customer base costs
// decodes, never unbounded memory.
const maxCachedModels = 10000

// modelCache keeps the last decoded baseline.Model of each customer, keyed
// by the SHA-256 of the exact stored JSON (store.ModelDigestOf): decoding a
// model is most of a settlement's CPU, and a settlement reads the same
// model again and again. An entry is used only when the stored bytes hash
// the same, so a re-fit (by this process or any other sharing the store)
// can never be served stale; no explicit invalidation is needed. With the
// store's ModelDigest a settlement checks the entry without reading the
// model's tens of kilobytes of JSON at all.
type modelCache struct {
	mu sync.RWMutex
	m  map[string]cachedModel
}

type cachedModel struct {
	digest string
	model  *baseline.Model
}

// cached returns the decoded model of customer if the cache holds the one
// whose stored JSON has this digest (nil otherwise, and for "").
func (c *modelCache) cached(customer, digest string) *baseline.Model {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e, ok := c.m[customer]; ok && digest != "" && e.digest == digest {
		return e.model
	}
	return nil
}

// model returns the decoded model of rec. The result is shared between
// callers and must be treated as read-only (baseline.Model.Predict,
// savings.MeteredWindow and savings.FitStatsOf only read it).
func (c *modelCache) model(rec store.Model) (*baseline.Model, error) {
	digest := store.ModelDigestOf(rec.JSON)
	if m := c.cached(rec.Customer, digest); m != nil {
		return m, nil
	}
	m := new(baseline.Model)
	if err := m.UnmarshalJSON(rec.JSON); err != nil {
		return nil, fmt.Errorf("app: stored model of %s: %w", rec.Customer, err)
	}
	c.put(rec.Customer, digest, m)
	return m, nil
}

// put caches m as customer's model whose stored JSON has this digest. The
// fit route calls it with the model it just fitted and stored (write
// through): baseline.Model's JSON round trip is exact (same bytes, same
// predictions: baseline.TestModelJSONRoundTrip), so the fitted model is
// what decoding the stored bytes would give.
func (c *modelCache) put(customer, digest string, m *baseline.Model) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedModel)
	}
	if _, ok := c.m[customer]; !ok && len(c.m) >= maxCachedModels {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[customer] = cachedModel{digest: digest, model: m}
}
