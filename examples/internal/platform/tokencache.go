package platform

import "sync"

// maxCachedTokens bounds the verified-token cache; past it an arbitrary
// entry makes room (a flood of distinct valid tokens costs verifications,
// never unbounded memory).
const maxCachedTokens = 10000

// tokenCache remembers the claims of tokens that verified, keyed by the
// whole token string. Verifying (HMAC-SHA256 plus decoding the JSON
// payload) is the largest fixed cost of an authenticated request, and a
// client sends the same token with every request. The key includes the
// signature, so any other string, tampered ones included, is verified in
// full; expiry is checked again on every hit with the Signer's clock.
// Tokens carry no revocation state, so a hit grants exactly what a new
// verification would.
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]Claims
}

// verify returns the claims of token, from the cache when it verified
// before and has not expired since.
func (c *tokenCache) verify(s *Signer, token string) (Claims, error) {
	c.mu.RLock()
	cl, ok := c.m[token]
	c.mu.RUnlock()
	if ok {
		if s.now().Before(cl.ExpiresAt) {
			return cl, nil
		}
		c.mu.Lock()
		delete(c.m, token)
		c.mu.Unlock()
		return Claims{}, ErrTokenExpired
	}
	cl, err := s.Verify(token)
	if err != nil {
		return Claims{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]Claims)
	}
	if len(c.m) >= maxCachedTokens {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[token] = cl
	return cl, nil
}
