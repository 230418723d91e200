package app

import (
	"bytes"
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
// by the exact stored JSON: decoding a model is most of a settlement's
// CPU, and a settlement reads the same model again and again. An entry is
// used only when the stored bytes are identical, so a re-fit (by this
// process or any other sharing the store) can never be served stale; no
// explicit invalidation is needed.
type modelCache struct {
	mu sync.RWMutex
	m  map[string]cachedModel
}

type cachedModel struct {
	js    []byte
	model *baseline.Model
}

// model returns the decoded model of rec. The result is shared between
// callers and must be treated as read-only (baseline.Model.Predict,
// savings.MeteredWindow and savings.FitStatsOf only read it).
func (c *modelCache) model(rec store.Model) (*baseline.Model, error) {
	c.mu.RLock()
	e, ok := c.m[rec.Customer]
	c.mu.RUnlock()
	if ok && bytes.Equal(e.js, rec.JSON) {
		return e.model, nil
	}
	m := new(baseline.Model)
	if err := m.UnmarshalJSON(rec.JSON); err != nil {
		return nil, fmt.Errorf("app: stored model of %s: %w", rec.Customer, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedModel)
	}
	if _, ok := c.m[rec.Customer]; !ok && len(c.m) >= maxCachedModels {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[rec.Customer] = cachedModel{js: bytes.Clone(rec.JSON), model: m}
	return m, nil
}
