package app

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/examples/internal/store"
)

func modelJSON(t *testing.T, intercept float64) []byte {
	t.Helper()
	m := baseline.Model{Method: baseline.Daily, Type: baseline.InterceptOnly, Intercept: intercept, N: 10}
	js, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestModelCache(t *testing.T) {
	var c modelCache
	js := modelJSON(t, 12.5)
	m1, err := c.model(store.Model{Customer: "c1", JSON: js})
	if err != nil {
		t.Fatal(err)
	}
	if m1.Intercept != 12.5 {
		t.Fatalf("intercept = %v, want 12.5", m1.Intercept)
	}
	// Same bytes (a fresh copy, as a store returns): the decoded model is reused.
	m2, err := c.model(store.Model{Customer: "c1", JSON: append([]byte(nil), js...)})
	if err != nil {
		t.Fatal(err)
	}
	if m2 != m1 {
		t.Error("identical stored JSON was decoded again")
	}
	// The caller's buffer is not kept: scribbling on it changes nothing.
	for i := range js {
		js[i] = ' '
	}
	if m3, _ := c.model(store.Model{Customer: "c1", JSON: modelJSON(t, 12.5)}); m3 != m1 {
		t.Error("cache kept the caller's buffer instead of a copy")
	}
	// Looked up by the stored digest alone: only the matching digest hits.
	if got := c.cached("c1", store.ModelDigestOf(modelJSON(t, 12.5))); got != m1 {
		t.Error("cached(digest of the stored JSON) missed")
	}
	for _, d := range []string{"", store.ModelDigestOf(modelJSON(t, 20))} {
		if got := c.cached("c1", d); got != nil {
			t.Errorf("cached(%q) hit for another model's digest", d)
		}
	}
	if got := c.cached("c2", store.ModelDigestOf(modelJSON(t, 12.5))); got != nil {
		t.Error("cached hit for another customer")
	}
	// A re-fit (different bytes) is decoded, never served stale.
	m4, err := c.model(store.Model{Customer: "c1", JSON: modelJSON(t, 20)})
	if err != nil {
		t.Fatal(err)
	}
	if m4.Intercept != 20 {
		t.Errorf("after re-fit intercept = %v, want 20", m4.Intercept)
	}
	// Another customer with the same bytes gets its own entry.
	m5, err := c.model(store.Model{Customer: "c2", JSON: modelJSON(t, 20)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*m4, *m5, cmpopts.IgnoreUnexported(baseline.Model{})); diff != "" {
		t.Errorf("same JSON, different model (-c1 +c2):\n%s", diff)
	}
	// Corrupt JSON is an error naming the customer, and is not cached.
	if _, err := c.model(store.Model{Customer: "c3", JSON: []byte("{")}); err == nil {
		t.Error("corrupt model decoded without error")
	}
	if _, ok := c.m["c3"]; ok {
		t.Error("corrupt model was cached")
	}
}

func TestModelCacheBounded(t *testing.T) {
	var c modelCache
	js := modelJSON(t, 1)
	for i := range maxCachedModels + 50 {
		if _, err := c.model(store.Model{Customer: fmt.Sprintf("c%d", i), JSON: js}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.m); n != maxCachedModels {
		t.Errorf("cache holds %d models, want at most %d", n, maxCachedModels)
	}
}

// A fit caches the model it stored (write through), and the cached model
// predicts exactly what decoding the stored bytes gives.
func TestFitWarmsModelCache(t *testing.T) {
	s := seedThree(t)
	ctx := context.Background()
	for _, id := range []string{"x1", "x2"} {
		digest, err := s.store.ModelDigest(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		m := s.models.cached(id, digest)
		if m == nil {
			t.Fatalf("%s: fitted model not cached under the stored digest", id)
		}
		rec, err := s.store.Model(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		js, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(js, rec.JSON) {
			t.Errorf("%s: cached model encodes differently from the stored JSON", id)
		}
	}
	if m := s.models.cached("x3", "x"); m != nil {
		t.Error("customer without a fit has a cached model")
	}
}
