package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
)

// Engine implements [Ledger] and every capability interface over a [Store].
// All ledger semantics live here once; adapters only persist rows.
type Engine struct {
	store  Store
	cfg    config
	closed atomic.Bool
}

// Interface checks.
var (
	_ Ledger      = (*Engine)(nil)
	_ BatchPoster = (*Engine)(nil)
	_ Holder      = (*Engine)(nil)
	_ Expirer     = (*Engine)(nil)
	_ Reverser    = (*Engine)(nil)
	_ AwardSummer = (*Engine)(nil)
)

// New builds a ledger over store. It validates the options; it does not
// touch the store.
func New(store Store, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, errors.New("ledger: New: nil store")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if _, ok := cfg.currencies[cfg.defaultCurrency]; !ok {
		return nil, fmt.Errorf("ledger: default currency %q: %w", cfg.defaultCurrency, ErrUnknownCurrency)
	}
	return &Engine{store: store, cfg: cfg}, nil
}

var errNotImplemented = errors.New("ledger: not implemented yet")

// CreateAccount implements [Ledger].
func (e *Engine) CreateAccount(ctx context.Context, a Account) (Account, error) {
	return Account{}, errNotImplemented
}

// Account implements [Ledger].
func (e *Engine) Account(ctx context.Context, id string) (Account, error) {
	return Account{}, errNotImplemented
}

// Post implements [Ledger].
func (e *Engine) Post(ctx context.Context, tx Transaction) (Transaction, error) {
	return Transaction{}, errNotImplemented
}

// PostBatch implements [BatchPoster].
func (e *Engine) PostBatch(ctx context.Context, txs []Transaction) ([]Transaction, error) {
	return nil, errNotImplemented
}

// Balance implements [Ledger].
func (e *Engine) Balance(ctx context.Context, account string, asOf time.Time) (Balance, error) {
	return Balance{}, errNotImplemented
}

// History implements [Ledger].
func (e *Engine) History(ctx context.Context, q HistoryQuery) (HistoryPage, error) {
	return HistoryPage{}, errNotImplemented
}

// Lookup implements [Ledger].
func (e *Engine) Lookup(ctx context.Context, key string) (Transaction, error) {
	return Transaction{}, errNotImplemented
}

// Hold implements [Holder].
func (e *Engine) Hold(ctx context.Context, req HoldRequest) (Hold, error) {
	return Hold{}, errNotImplemented
}

// CommitHold implements [Holder].
func (e *Engine) CommitHold(ctx context.Context, id string, amount decimal.Decimal) (Transaction, error) {
	return Transaction{}, errNotImplemented
}

// VoidHold implements [Holder].
func (e *Engine) VoidHold(ctx context.Context, id string) (Hold, error) {
	return Hold{}, errNotImplemented
}

// GetHold implements [Holder].
func (e *Engine) GetHold(ctx context.Context, id string) (Hold, error) {
	return Hold{}, errNotImplemented
}

// SweepExpired implements [Expirer].
func (e *Engine) SweepExpired(ctx context.Context, now time.Time) (SweepResult, error) {
	return SweepResult{}, errNotImplemented
}

// Reverse implements [Reverser].
func (e *Engine) Reverse(ctx context.Context, key, originalKey string) (Transaction, error) {
	return Transaction{}, errNotImplemented
}

// AwardedSum implements [AwardSummer].
func (e *Engine) AwardedSum(ctx context.Context, q AwardQuery) (decimal.Decimal, error) {
	return decimal.Decimal{}, errNotImplemented
}

// Close implements [Ledger]: it closes the store.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return ErrClosed
	}
	return e.store.Close()
}
