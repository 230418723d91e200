package platform

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTokenCacheHonoursExpiryAndSignature: a token served from the cache
// stops working when it expires, like a freshly verified one, and a
// tampered copy of a cached token is verified (and refused) in full.
func TestTokenCacheHonoursExpiryAndSignature(t *testing.T) {
	f := newFixture(t, nil)
	short := mustMint(t, f.signer, mustCustomer(t, "alice"), 2*time.Minute)
	for range 2 { // the second request is a cache hit
		if res := f.do(t, request("GET", "/v1/customers/alice/balance", short, "")); res.status != http.StatusOK {
			t.Fatalf("fresh token: %d %s", res.status, res.body)
		}
	}
	// Every character of the signature changed in turn must be refused
	// even though the genuine token is cached.
	sig := strings.LastIndexByte(short, '.') + 1
	// (The last character carries padding bits base64 ignores.)
	for i := sig; i < len(short)-1; i += 3 {
		b := []byte(short)
		b[i] ^= 1
		if b[i] == '.' || b[i] > 'z' {
			continue
		}
		if res := f.do(t, request("GET", "/v1/customers/alice/balance", string(b), "")); res.status != http.StatusUnauthorized {
			t.Fatalf("tampered signature byte %d: status %d, want 401", i, res.status)
		}
	}
	// A token for alice never opens bob's balance, cached or not.
	if res := f.do(t, request("GET", "/v1/customers/bob/balance", short, "")); res.status != http.StatusForbidden {
		t.Fatalf("other customer: %d, want 403", res.status)
	}
	f.clock.Advance(2 * time.Minute)
	for range 2 {
		if res := f.do(t, request("GET", "/v1/customers/alice/balance", short, "")); res.status != http.StatusUnauthorized {
			t.Fatalf("expired cached token: status %d, want 401", res.status)
		}
	}
}

// TestTokenCacheBounded: the cache never holds more than maxCachedTokens.
func TestTokenCacheBounded(t *testing.T) {
	s := mustSigner(t, testKey, time.Now)
	var c tokenCache
	for range maxCachedTokens + 50 {
		tok := mustMint(t, s, OperatorScope(), time.Hour)
		if _, err := c.verify(s, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.m); n > maxCachedTokens {
		t.Fatalf("%d tokens cached, bound %d", n, maxCachedTokens)
	}
}
