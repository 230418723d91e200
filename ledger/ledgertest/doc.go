// Package ledgertest is the conformance suite for implementations of
// [ledger.Ledger]. Every adapter's tests call [Run] once:
//
//	func TestConformance(t *testing.T) {
//		ledgertest.Run(t, func(t *testing.T, opts ...ledger.Option) ledger.Ledger {
//			l, err := ledger.New(newEmptyStore(t), opts...)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return l
//		})
//	}
//
// Run groups its checks into subtests (accounts, posting, validation,
// idempotency, batches, lots and expiry, holds, reversal, history, award
// sums, balances as of an instant, concurrency, and a rapid state-machine
// test that compares the ledger with a simple model after every step).
// Optional capabilities the ledger lacks are skipped with a logged reason.
//
// [CheckInvariants] verifies the stored state of an engine-backed ledger
// (postings balance, totals equal postings, lots and holds add up, no
// half-applied key); adapters call it after fault-injection tests.
package ledgertest
