package ledgertally

import "errors"

// ErrNoAwardSummer is returned by New when the ledger does not implement
// ledger.AwardSummer: caps, budgets and restatements cannot be read without
// it.
var ErrNoAwardSummer = errors.New("ledgertally: ledger does not implement ledger.AwardSummer")
