package ledger

import (
	"fmt"
	"time"
)

// Option configures a ledger built by [New] or [NewMemory].
type Option func(*config) error

type config struct {
	now             func() time.Time
	currencies      map[string]Currency
	defaultCurrency string
	autoCreate      func(id string) (Account, bool)
	expiredAccount  func(currency string) string
	expiryPreview   int
	maxRetries      int
}

func defaultConfig() config {
	return config{
		now:             time.Now,
		currencies:      map[string]Currency{Points.Code: Points},
		defaultCurrency: Points.Code,
		expiredAccount:  func(c string) string { return "expired/" + c },
		expiryPreview:   5,
		maxRetries:      10,
	}
}

// WithClock sets the ledger's clock (PostedAt, default EffectiveAt, expiry
// and hold deadlines are judged against it). Tests use a fake clock.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("ledger: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithCurrency registers a currency (or changes the scale of one). The
// default configuration knows only [Points].
func WithCurrency(cur Currency) Option {
	return func(c *config) error {
		if cur.Code == "" || len(cur.Code) > 32 {
			return fmt.Errorf("ledger: WithCurrency: code %q must be 1..32 bytes", cur.Code)
		}
		if cur.Scale < 0 || cur.Scale > 18 {
			return fmt.Errorf("ledger: WithCurrency(%s): scale %d outside 0..18", cur.Code, cur.Scale)
		}
		c.currencies[cur.Code] = cur
		return nil
	}
}

// WithDefaultCurrency names the currency of accounts created with an empty
// Currency (default "points"). It must be registered with [WithCurrency]
// unless it is "points".
func WithDefaultCurrency(code string) Option {
	return func(c *config) error { c.defaultCurrency = code; return nil }
}

// WithAutoCreate lets postings and holds create unknown accounts: rule is
// called with the unknown ID and returns the account to create, or false to
// fail with ErrNotFound. The account is created in the same atomic unit as
// the posting that needed it.
func WithAutoCreate(rule func(id string) (Account, bool)) Option {
	return func(c *config) error { c.autoCreate = rule; return nil }
}

// WithExpiredAccount chooses the ID of each currency's expired account
// (default "expired/<code>", e.g. "expired/points"). The ledger creates it
// with KindExpired on the first sweep that needs it.
func WithExpiredAccount(id func(currency string) string) Option {
	return func(c *config) error {
		if id == nil {
			return fmt.Errorf("ledger: WithExpiredAccount: nil func")
		}
		c.expiredAccount = id
		return nil
	}
}

// WithExpiryPreview sets how many upcoming expiries Balance lists
// (default 5; 0 lists none).
func WithExpiryPreview(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("ledger: WithExpiryPreview: %d < 0", n)
		}
		c.expiryPreview = n
		return nil
	}
}

// WithMaxRetries bounds how often a unit of work is re-run after the store
// reports ErrRetry (default 10).
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("ledger: WithMaxRetries: %d < 0", n)
		}
		c.maxRetries = n
		return nil
	}
}
