package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/rewards/ledgertally"
)

// BalanceView is a customer's points position.
type BalanceView struct {
	Customer      string          `json:"customer"`
	AsOf          time.Time       `json:"as_of"`
	Available     decimal.Decimal `json:"available"`
	Held          decimal.Decimal `json:"held"`
	Posted        decimal.Decimal `json:"posted"`
	Expired       decimal.Decimal `json:"expired_unswept"`
	PendingExpiry decimal.Decimal `json:"pending_expiry"`
	Upcoming      []ExpiryView    `json:"upcoming_expiries"`
}

// ExpiryView is points that expire at an instant unless spent.
type ExpiryView struct {
	At     time.Time       `json:"at"`
	Points decimal.Decimal `json:"points"`
}

// Balance returns the customer's balance now (zero before any award).
func (s *Service) Balance(ctx context.Context, customer string) (BalanceView, error) {
	if err := s.requireCustomer(ctx, customer); err != nil {
		return BalanceView{}, err
	}
	v := BalanceView{Customer: customer, AsOf: s.now().UTC(), Upcoming: []ExpiryView{}}
	// A zero instant is the ledger's own "now" (its clock judges expiry).
	b, err := s.ledger.Balance(ctx, s.Account(customer), time.Time{})
	if errors.Is(err, ledger.ErrNotFound) {
		return v, nil
	}
	if err != nil {
		return BalanceView{}, err
	}
	v.AsOf = b.AsOf
	v.Available, v.Held, v.Posted, v.Expired, v.PendingExpiry = b.Available, b.Held, b.Posted, b.Expired, b.PendingExpiry
	for _, e := range b.NextExpiries {
		v.Upcoming = append(v.Upcoming, ExpiryView{At: e.At, Points: e.Amount})
	}
	return v, nil
}

// HistoryEntry is one ledger movement of a customer's points.
type HistoryEntry struct {
	Key         string            `json:"key"`
	Seq         int64             `json:"seq"`
	PostedAt    time.Time         `json:"posted_at"`
	EffectiveAt time.Time         `json:"effective_at"`
	Kind        string            `json:"kind"` // award, adjustment, redemption, expiry, reversal, other
	Points      decimal.Decimal   `json:"points"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

// HistoryView is one page of history, newest first.
type HistoryView struct {
	Customer   string         `json:"customer"`
	Entries    []HistoryEntry `json:"entries"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// History returns a page of the customer's ledger history, newest first.
// The cursor is the ledger's, base64url-encoded (opaque to clients).
func (s *Service) History(ctx context.Context, customer string, page platform.Page) (HistoryView, error) {
	if _, err := s.Customer(ctx, customer); err != nil {
		return HistoryView{}, err
	}
	v := HistoryView{Customer: customer, Entries: []HistoryEntry{}}
	var cursor string
	if page.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err != nil {
			return HistoryView{}, badRequest("cursor: not a cursor from this endpoint")
		}
		cursor = string(b)
	}
	acct := s.Account(customer)
	p, err := s.ledger.History(ctx, ledger.HistoryQuery{Account: acct, Cursor: cursor, Limit: page.Limit, NewestFirst: true})
	if errors.Is(err, ledger.ErrNotFound) {
		if cursor != "" {
			return HistoryView{}, badRequest("cursor: not a cursor from this endpoint")
		}
		return v, nil
	}
	if err != nil {
		var fe *ledger.FieldError
		if errors.As(err, &fe) || cursor != "" {
			return HistoryView{}, badRequest("cursor: not a cursor from this endpoint")
		}
		return HistoryView{}, err
	}
	for _, tx := range p.Transactions {
		v.Entries = append(v.Entries, entryOf(tx, acct))
	}
	if p.Next != "" {
		v.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(p.Next))
	}
	return v, nil
}

func entryOf(tx ledger.Transaction, acct string) HistoryEntry {
	pts := decimal.Zero
	for _, p := range tx.Postings {
		if p.To == acct {
			pts = pts.Add(p.Amount)
		}
		if p.From == acct {
			pts = pts.Sub(p.Amount)
		}
	}
	md := tx.Metadata
	if md == nil {
		md = map[string]string{}
	}
	e := HistoryEntry{Key: tx.Key, Seq: tx.Seq, PostedAt: tx.PostedAt, EffectiveAt: tx.EffectiveAt, Points: pts, Metadata: md, Kind: "other"}
	switch {
	case md[ledger.MetaReason] == "expiry":
		e.Kind, e.Description = "expiry", "Points expired"
	case md[ledger.MetaReason] == "reversal":
		e.Kind, e.Description = "reversal", "Correction of "+tx.Reverses
	case md[ledger.MetaReason] == "hold-commit":
		e.Kind, e.Description = "redemption", "Redeemed: "+nonEmpty(md["reward"], "reward")
	case md[ledgertally.MetaAdjusts] != "":
		e.Kind, e.Description = "adjustment", fmt.Sprintf("%s restated (%s)", factName(md[ledgertally.MetaFact]), md[ledgertally.MetaRule])
	case md[ledgertally.MetaRule] != "":
		e.Kind, e.Description = "award", fmt.Sprintf("%s (%s)", factName(md[ledgertally.MetaFact]), md[ledgertally.MetaRule])
	}
	return e
}

func nonEmpty(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// RedemptionInput asks to hold points for a reward.
type RedemptionInput struct {
	// ID is the client's idempotency id for this redemption.
	ID     string `json:"id"`
	Points string `json:"points"`
	Reward string `json:"reward"`
	// TTLSeconds bounds the hold (default 900, at most 7 days).
	TTLSeconds int `json:"ttl_seconds,omitempty"`
}

// HoldView is a redemption hold.
type HoldView struct {
	ID        string          `json:"id"`
	Customer  string          `json:"customer"`
	Points    decimal.Decimal `json:"points"`
	Reward    string          `json:"reward"`
	Status    string          `json:"status"`
	Committed decimal.Decimal `json:"committed"`
	Deadline  time.Time       `json:"deadline"`
	CreatedAt time.Time       `json:"created_at"`
}

func holdKey(customer, id string) string { return "redeem/" + customer + "/" + id }

func holdView(customer, id string, h ledger.Hold) HoldView {
	st := map[ledger.HoldStatus]string{ledger.HoldOpen: "open", ledger.HoldCommitted: "committed", ledger.HoldVoided: "voided", ledger.HoldExpired: "expired"}[h.Status]
	return HoldView{ID: id, Customer: customer, Points: h.Amount, Reward: h.Metadata["reward"], Status: st, Committed: h.Committed, Deadline: h.Deadline, CreatedAt: h.CreatedAt}
}

// parsePoints accepts a positive decimal with at most the ledger's scale.
func parsePoints(v string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(v)
	if err != nil || !d.IsPositive() || d.Exponent() < -int32(ledger.Points.Scale) || d.GreaterThan(decimal.New(1, 12)) {
		return decimal.Decimal{}, badRequest("points: %q is not a positive amount with at most %d decimal places", v, ledger.Points.Scale)
	}
	return d, nil
}

// Redeem reserves points for a reward (the hold of hold → commit/void).
func (s *Service) Redeem(ctx context.Context, customer string, in RedemptionInput) (HoldView, error) {
	if _, err := s.Customer(ctx, customer); err != nil {
		return HoldView{}, err
	}
	if !platform.ValidID(in.ID) {
		return HoldView{}, badRequest("id: required, 1-64 letters, digits, . _ -")
	}
	pts, err := parsePoints(in.Points)
	if err != nil {
		return HoldView{}, err
	}
	if in.Reward == "" || len(in.Reward) > 128 {
		return HoldView{}, badRequest("reward: required, at most 128 characters")
	}
	ttl := time.Duration(in.TTLSeconds) * time.Second
	if in.TTLSeconds == 0 {
		ttl = 15 * time.Minute
	}
	if ttl < time.Second || ttl > 7*24*time.Hour {
		return HoldView{}, badRequest("ttl_seconds: 1..604800")
	}
	// Deadline in whole seconds so a client retry is the same request.
	deadline := s.now().UTC().Add(ttl).Truncate(time.Minute).Add(time.Minute)
	key := holdKey(customer, in.ID)
	if h, err := s.holder.GetHold(ctx, key); err == nil {
		// A retry of an existing redemption returns it (ledger holds are
		// idempotent by ID; the deadline of the first request stands).
		if !h.Amount.Equal(pts) || h.Metadata["reward"] != in.Reward {
			return HoldView{}, platform.Errorf(http.StatusConflict, platform.CodeConflict, "redemption %q exists with different points or reward", in.ID)
		}
		return holdView(customer, in.ID, h), nil
	}
	h, err := s.holder.Hold(ctx, ledger.HoldRequest{ID: key, Account: s.Account(customer), To: RedeemedAccount, Amount: pts,
		Deadline: deadline, Metadata: map[string]string{"customer": customer, "reward": in.Reward}})
	switch {
	case errors.Is(err, ledger.ErrInsufficientFunds), errors.Is(err, ledger.ErrNotFound):
		return HoldView{}, platform.Errorf(http.StatusConflict, platform.CodeConflict, "insufficient points: %s requested", pts)
	case errors.Is(err, ledger.ErrIdempotencyConflict):
		return HoldView{}, platform.Errorf(http.StatusConflict, platform.CodeConflict, "redemption %q exists with different points or reward", in.ID)
	case err != nil:
		return HoldView{}, err
	}
	return holdView(customer, in.ID, h), nil
}

// CommitRedemption commits a hold in full, or points of it when set.
func (s *Service) CommitRedemption(ctx context.Context, customer, id string, points string) (HoldView, error) {
	h, err := s.ownHold(ctx, customer, id)
	if err != nil {
		return HoldView{}, err
	}
	amt := h.Amount
	if points != "" {
		if amt, err = parsePoints(points); err != nil {
			return HoldView{}, err
		}
	}
	if _, err := s.holder.CommitHold(ctx, holdKey(customer, id), amt); err != nil {
		return HoldView{}, holdErr(id, err)
	}
	h, err = s.holder.GetHold(ctx, holdKey(customer, id))
	if err != nil {
		return HoldView{}, err
	}
	return holdView(customer, id, h), nil
}

// VoidRedemption releases a hold.
func (s *Service) VoidRedemption(ctx context.Context, customer, id string) (HoldView, error) {
	if _, err := s.ownHold(ctx, customer, id); err != nil {
		return HoldView{}, err
	}
	h, err := s.holder.VoidHold(ctx, holdKey(customer, id))
	if err != nil {
		return HoldView{}, holdErr(id, err)
	}
	return holdView(customer, id, h), nil
}

// ownHold finds a hold of this customer; hold ids are namespaced by
// customer, so another customer's hold is simply not found.
func (s *Service) ownHold(ctx context.Context, customer, id string) (ledger.Hold, error) {
	if _, err := s.Customer(ctx, customer); err != nil {
		return ledger.Hold{}, err
	}
	h, err := s.holder.GetHold(ctx, holdKey(customer, id))
	if errors.Is(err, ledger.ErrNotFound) || err == nil && h.Account != s.Account(customer) {
		return ledger.Hold{}, notFound("no redemption %q for customer %q", id, customer)
	}
	return h, err
}

func holdErr(id string, err error) error {
	switch {
	case errors.Is(err, ledger.ErrHoldResolved):
		return platform.Errorf(http.StatusConflict, platform.CodeConflict, "redemption %q is already resolved", id)
	case errors.Is(err, ledger.ErrHoldExpired):
		return platform.Errorf(http.StatusConflict, platform.CodeConflict, "redemption %q has expired", id)
	case errors.Is(err, ledger.ErrInsufficientFunds), errors.Is(err, ledger.ErrInvalidTransaction), errors.Is(err, ledger.ErrScale):
		return platform.Errorf(http.StatusUnprocessableEntity, platform.CodeUnprocessable, "redemption %q: %v", id, err)
	}
	return err
}

// SweepExpired releases expired holds and moves expired points to the
// expired account (the scheduled job; idempotent).
func (s *Service) SweepExpired(ctx context.Context, now time.Time) (ledger.SweepResult, error) {
	return s.ledger.(ledger.Expirer).SweepExpired(ctx, now)
}

// factName is how history names a fact: "March 2014 savings" for a
// monthly fact id, "Event <id>" otherwise.
func factName(id string) string {
	if t, err := time.Parse("2006-01", id); err == nil {
		return t.Format("January 2006") + " savings"
	}
	return "Event " + id
}

// AppendJSON implements platform.JSONAppender: a balance read is the
// hottest response, and this encodes it without reflection, byte for byte
// as json.Marshal does (checked by TestBalanceViewAppendJSON).
func (v BalanceView) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"customer":`...)
	b = platform.AppendJSONString(b, v.Customer)
	b = append(b, `,"as_of":`...)
	b, err := appendJSONTime(b, v.AsOf)
	if err != nil {
		return nil, err
	}
	for _, f := range [...]struct {
		name string
		d    decimal.Decimal
	}{{`,"available":"`, v.Available}, {`,"held":"`, v.Held}, {`,"posted":"`, v.Posted},
		{`,"expired_unswept":"`, v.Expired}, {`,"pending_expiry":"`, v.PendingExpiry}} {
		b = append(append(append(b, f.name...), f.d.String()...), '"')
	}
	b = append(b, `,"upcoming_expiries":`...)
	if v.Upcoming == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, e := range v.Upcoming {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"at":`...)
			if b, err = appendJSONTime(b, e.At); err != nil {
				return nil, err
			}
			b = append(append(append(b, `,"points":"`...), e.Points.String()...), `"}`...)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// appendJSONTime is time.Time.MarshalJSON without its allocation for UTC
// instants in years 0-9999 (what the ledger returns); other instants take
// MarshalJSON itself.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	if _, off := t.Zone(); off != 0 || t.Year() < 0 || t.Year() > 9999 {
		js, err := t.MarshalJSON()
		return append(b, js...), err
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}
