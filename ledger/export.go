package ledger

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Backup, restore and migration between stores: the JSON Lines export.
//
// A file is one JSON object per line:
//
//	{"type":"header","format":"negawatt-ledger","version":1,"currencies":[{"code":"points","scale":2}]}
//	{"type":"account",...,"chain":"<hex>"}       every account, by ID
//	{"type":"transaction",...,"chain":"<hex>"}   every transaction, by Seq
//	{"type":"lot",...,"chain":"<hex>"}           every lot (remaining, expired), by ID
//	{"type":"hold",...,"chain":"<hex>"}          every hold, by ID
//	{"type":"trailer","accounts":N,...,"chain":"<hex>","balances":[...]}
//
// Every record after the header carries chain = SHA-256(previous chain ||
// canonical bytes of the record), where the header's "previous chain" is
// SHA-256 of the header's canonical bytes and a record's canonical bytes are
// its JSON encoding by this package without the chain field (so re-indented
// or re-ordered JSON still verifies, and any changed value does not). The
// trailer repeats the final chain value, the record counts and every
// account's balance. The chain detects corruption, truncation, reordering and
// edits by anyone who does not recompute it; it is not a signature: protect
// the file (or its final hash, which [Export] returns) where an adversary
// could rewrite it.

// ExportFormat and ExportVersion identify the file format in its header.
const (
	ExportFormat  = "negawatt-ledger"
	ExportVersion = 1
)

// ErrImport is wrapped by every error that rejects an import file; the
// [*ImportError] says which line and why.
var ErrImport = errors.New("ledger: import rejected")

// ErrImportNotEmpty: Import only restores into a ledger with no accounts
// and no transactions.
var ErrImportNotEmpty = errors.New("ledger: import target is not empty")

// ImportError rejects an import file at a line (1-based; the line after the
// last one when the file is truncated). Nothing was imported.
type ImportError struct {
	Line   int
	Reason string
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("ledger: import line %d: %s", e.Line, e.Reason)
}

// Unwrap returns [ErrImport].
func (e *ImportError) Unwrap() error { return ErrImport }

// ExportSummary describes an export file: what [Exporter.Export] wrote or
// [Importer.Import] restored.
type ExportSummary struct {
	Accounts, Transactions, Lots, Holds int
	// Chain is the final hash-chain value (hex), also in the trailer.
	Chain string
}

// Exporter writes the whole ledger as JSON Lines (see [ExportFormat]).
type Exporter interface {
	// Export writes a consistent snapshot: one read-only storage transaction.
	Export(ctx context.Context, w io.Writer) (ExportSummary, error)
}

// Importer restores an export into an empty ledger.
type Importer interface {
	// Import verifies every line's chain, the record order, each record's
	// validity, the counts and every account balance (recomputed from the
	// postings and holds, compared with the account records and the
	// trailer), and writes everything in one storage transaction: a rejected
	// or truncated file ([*ImportError], wrapping [ErrImport]) or any other
	// failure leaves the ledger empty. Accounts, transactions (Seq, keys,
	// idempotency hashes), lots and holds are restored exactly, so history
	// pages, balances as of any instant, reversals and idempotent retries
	// carry over. The currencies of the file must be configured on the
	// ledger with the same scales.
	Import(ctx context.Context, r io.Reader) (ExportSummary, error)
}

var (
	_ Exporter = (*Engine)(nil)
	_ Importer = (*Engine)(nil)
)

// ---- records ----

type xHeader struct {
	Type       string      `json:"type"`
	Format     string      `json:"format"`
	Version    int         `json:"version"`
	Currencies []xCurrency `json:"currencies"`
}

type xCurrency struct {
	Code  string `json:"code"`
	Scale int32  `json:"scale"`
}

type xAccount struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Flags     uint32 `json:"flags"`
	Currency  string `json:"currency"`
	CreatedAt string `json:"created_at"`
	Posted    string `json:"posted"`
	Held      string `json:"held"`
	Chain     string `json:"chain,omitempty"`
}

type xPosting struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Amount    string `json:"amount"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

type xUse struct {
	Posting    int32  `json:"posting"`
	LotSeq     int64  `json:"lot_seq"`
	LotPosting int32  `json:"lot_posting"`
	Amount     string `json:"amount"`
}

type xTx struct {
	Type        string            `json:"type"`
	Seq         int64             `json:"seq"`
	Key         string            `json:"key"`
	Hash        string            `json:"hash"`
	EffectiveAt string            `json:"effective_at"`
	PostedAt    string            `json:"posted_at"`
	Reverses    string            `json:"reverses,omitempty"`
	ReversedBy  string            `json:"reversed_by,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Postings    []xPosting        `json:"postings"`
	Consumed    []xUse            `json:"consumed,omitempty"`
	Chain       string            `json:"chain,omitempty"`
}

type xLot struct {
	Type      string `json:"type"`
	Seq       int64  `json:"seq"`
	Posting   int32  `json:"posting"`
	Account   string `json:"account"`
	ExpiresAt string `json:"expires_at,omitempty"`
	Amount    string `json:"amount"`
	Remaining string `json:"remaining"`
	Expired   string `json:"expired"`
	Chain     string `json:"chain,omitempty"`
}

type xHold struct {
	Type       string            `json:"type"`
	ID         string            `json:"id"`
	Account    string            `json:"account"`
	To         string            `json:"to"`
	Amount     string            `json:"amount"`
	Deadline   string            `json:"deadline"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	Status     string            `json:"status"`
	Committed  string            `json:"committed"`
	CommitKey  string            `json:"commit_key,omitempty"`
	CreatedAt  string            `json:"created_at"`
	ResolvedAt string            `json:"resolved_at,omitempty"`
	Hash       string            `json:"hash"`
	Reserved   []xUse            `json:"reserved,omitempty"`
	Chain      string            `json:"chain,omitempty"`
}

type xBalance struct {
	Account string `json:"account"`
	Posted  string `json:"posted"`
	Held    string `json:"held"`
}

type xTrailer struct {
	Type         string     `json:"type"`
	Accounts     int        `json:"accounts"`
	Transactions int        `json:"transactions"`
	Lots         int        `json:"lots"`
	Holds        int        `json:"holds"`
	Chain        string     `json:"chain"`
	Balances     []xBalance `json:"balances"`
}

const exportTimeLayout = time.RFC3339Nano

func xTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(exportTimeLayout)
}

func xUses(us []LotUse) []xUse {
	if len(us) == 0 {
		return nil
	}
	out := make([]xUse, len(us))
	for i, u := range us {
		out[i] = xUse{Posting: u.Posting, LotSeq: u.Lot.Seq, LotPosting: u.Lot.Posting, Amount: u.Amount.String()}
	}
	return out
}

// chain is the running hash chain.
type chain [32]byte

// link returns the chain value after a record with these canonical bytes.
func (c *chain) link(canonical []byte) string {
	h := sha256.New()
	h.Write(c[:])
	h.Write(canonical)
	h.Sum(c[:0])
	return hex.EncodeToString(c[:])
}

// canonical is the record's JSON without its chain field. chainField points
// at the record's Chain, cleared while encoding.
func canonical(rec any, chainField *string) ([]byte, error) {
	saved := *chainField
	*chainField = ""
	b, err := json.Marshal(rec)
	*chainField = saved
	return b, err
}

// ---- export ----

// exportPage is how many records Export reads from the store at a time.
const exportPage = 1000

// Export implements [Exporter].
func (e *Engine) Export(ctx context.Context, w io.Writer) (ExportSummary, error) {
	var sum ExportSummary
	if e.closed.Load() {
		return sum, ErrClosed
	}
	stx, err := e.store.Begin(ctx, false)
	if err != nil {
		return sum, fmt.Errorf("ledger: export: %w", err)
	}
	defer stx.Rollback()
	bw := bufio.NewWriterSize(w, 64<<10)

	hdr := xHeader{Type: "header", Format: ExportFormat, Version: ExportVersion}
	for _, c := range e.cfg.currencies {
		hdr.Currencies = append(hdr.Currencies, xCurrency(c))
	}
	slices.SortFunc(hdr.Currencies, func(a, b xCurrency) int { return strings.Compare(a.Code, b.Code) })
	hb, err := json.Marshal(hdr)
	if err != nil {
		return sum, err
	}
	var ch chain = sha256.Sum256(hb)
	bw.Write(hb)
	bw.WriteByte('\n')

	// write encodes one record, linking it into the chain.
	write := func(rec any, chainField *string) error {
		b, err := canonical(rec, chainField)
		if err != nil {
			return err
		}
		*chainField = ch.link(b)
		b, err = json.Marshal(rec)
		if err != nil {
			return err
		}
		bw.Write(b)
		return bw.WriteByte('\n')
	}

	var balances []xBalance
	for after := ""; ; {
		page, err := stx.ScanAccounts(ctx, after, exportPage)
		if err != nil {
			return sum, fmt.Errorf("ledger: export accounts: %w", err)
		}
		for _, a := range page {
			rec := xAccount{Type: "account", ID: a.ID, Kind: a.Kind.String(), Flags: uint32(a.Flags), Currency: a.Currency,
				CreatedAt: xTime(a.CreatedAt), Posted: a.Posted.String(), Held: a.Held.String()}
			if err := write(&rec, &rec.Chain); err != nil {
				return sum, err
			}
			balances = append(balances, xBalance{Account: a.ID, Posted: rec.Posted, Held: rec.Held})
			sum.Accounts++
		}
		if len(page) < exportPage {
			break
		}
		after = page[len(page)-1].ID
	}
	for after := int64(0); ; {
		page, err := stx.ScanTransactions(ctx, after, exportPage)
		if err != nil {
			return sum, fmt.Errorf("ledger: export transactions: %w", err)
		}
		for i := range page {
			r := &page[i]
			rec := xTx{Type: "transaction", Seq: r.Seq, Key: r.Key, Hash: hex.EncodeToString(r.Hash[:]),
				EffectiveAt: xTime(r.EffectiveAt), PostedAt: xTime(r.PostedAt), Reverses: r.Reverses,
				ReversedBy: r.ReversedBy, Metadata: r.Metadata, Consumed: xUses(r.Consumed)}
			for _, p := range r.Postings {
				rec.Postings = append(rec.Postings, xPosting{From: p.From, To: p.To, Amount: p.Amount.String(), ExpiresAt: xTime(p.ExpiresAt)})
			}
			if err := write(&rec, &rec.Chain); err != nil {
				return sum, err
			}
			sum.Transactions++
		}
		if len(page) < exportPage {
			break
		}
		after = page[len(page)-1].Seq
	}
	for after := (LotID{}); ; {
		page, err := stx.ScanLots(ctx, after, exportPage)
		if err != nil {
			return sum, fmt.Errorf("ledger: export lots: %w", err)
		}
		for _, l := range page {
			rec := xLot{Type: "lot", Seq: l.ID.Seq, Posting: l.ID.Posting, Account: l.Account, ExpiresAt: xTime(l.ExpiresAt),
				Amount: l.Amount.String(), Remaining: l.Remaining.String(), Expired: l.Expired.String()}
			if err := write(&rec, &rec.Chain); err != nil {
				return sum, err
			}
			sum.Lots++
		}
		if len(page) < exportPage {
			break
		}
		after = page[len(page)-1].ID
	}
	for after := ""; ; {
		page, err := stx.ScanHolds(ctx, after, exportPage)
		if err != nil {
			return sum, fmt.Errorf("ledger: export holds: %w", err)
		}
		for _, h := range page {
			rec := xHold{Type: "hold", ID: h.ID, Account: h.Account, To: h.To, Amount: h.Amount.String(),
				Deadline: xTime(h.Deadline), Metadata: h.Metadata, Status: h.Status.String(), Committed: h.Committed.String(),
				CommitKey: h.CommitKey, CreatedAt: xTime(h.CreatedAt), ResolvedAt: xTime(h.ResolvedAt),
				Hash: hex.EncodeToString(h.Hash[:]), Reserved: xUses(h.Reserved)}
			if err := write(&rec, &rec.Chain); err != nil {
				return sum, err
			}
			sum.Holds++
		}
		if len(page) < exportPage {
			break
		}
		after = page[len(page)-1].ID
	}
	sum.Chain = hex.EncodeToString(ch[:])
	tr := xTrailer{Type: "trailer", Accounts: sum.Accounts, Transactions: sum.Transactions, Lots: sum.Lots,
		Holds: sum.Holds, Chain: sum.Chain, Balances: balances}
	tb, err := json.Marshal(tr)
	if err != nil {
		return sum, err
	}
	bw.Write(tb)
	bw.WriteByte('\n')
	if err := bw.Flush(); err != nil {
		return sum, fmt.Errorf("ledger: export: %w", err)
	}
	return sum, nil
}

// ---- import ----

// Import implements [Importer].
func (e *Engine) Import(ctx context.Context, r io.Reader) (ExportSummary, error) {
	var sum ExportSummary
	if e.closed.Load() {
		return sum, ErrClosed
	}
	stx, err := e.store.Begin(ctx, true)
	if err != nil {
		return sum, fmt.Errorf("ledger: import: %w", err)
	}
	defer stx.Rollback()
	accts, err := stx.ScanAccounts(ctx, "", 1)
	if err != nil {
		return sum, fmt.Errorf("ledger: import: %w", err)
	}
	txs, err := stx.ScanTransactions(ctx, 0, 1)
	if err != nil {
		return sum, fmt.Errorf("ledger: import: %w", err)
	}
	if len(accts) > 0 || len(txs) > 0 {
		return sum, ErrImportNotEmpty
	}
	sum, err = readExport(r, e.cfg.currencies, func(c *Changes) error {
		if err := stx.Apply(ctx, c); err != nil {
			return fmt.Errorf("ledger: import: %w", err)
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	if err := stx.Commit(); err != nil {
		return sum, fmt.Errorf("ledger: import commit: %w", err)
	}
	return sum, nil
}

// VerifyExport reads an export file and checks it as [Importer.Import]
// does (chain, order, records, counts, balances) without writing anything.
// currencies are the scales to check amounts against; nil accepts the
// file's own header.
func VerifyExport(r io.Reader, currencies []Currency) (ExportSummary, error) {
	var cm map[string]Currency
	if currencies != nil {
		cm = map[string]Currency{}
		for _, c := range currencies {
			cm[c.Code] = c
		}
	}
	return readExport(r, cm, func(*Changes) error { return nil })
}

// maxImportLine bounds one line of an import file (a transaction with many
// postings is a few kilobytes; this leaves room and stops a runaway line).
const maxImportLine = 16 << 20

// importChunk is how many records go to the store per Apply.
const importChunk = 500

// importState is what readExport knows so far.
type importState struct {
	currencies map[string]Currency
	line       int
	section    int // 0 header, 1 accounts, 2 transactions, 3 lots, 4 holds, 5 trailer seen
	ch         chain
	sum        ExportSummary

	accounts map[string]*acctCheck
	lastAcct string
	keys     map[string][]Posting // transaction key → postings
	bySeq    map[int64]int        // seq → number of postings
	seqTo    map[LotID]string     // (seq, posting) → credited account
	lastSeq  int64
	lastLot  LotID
	lastHold string

	out  *Changes
	n    int
	emit func(*Changes) error
}

type acctCheck struct {
	st        AccountState
	scale     int32
	posted    decimal.Decimal // recomputed from postings
	held      decimal.Decimal // recomputed from open holds
	lots      decimal.Decimal // sum of lot remainders
	reversers []string
}

func (s *importState) fail(format string, args ...any) error {
	return &ImportError{Line: s.line, Reason: fmt.Sprintf(format, args...)}
}

// readExport parses and verifies an export, handing batches of records to
// emit as it goes; emit must not keep the *Changes it is given beyond the
// call's storage transaction (each call gets a fresh value).
func readExport(r io.Reader, currencies map[string]Currency, emit func(*Changes) error) (ExportSummary, error) {
	s := &importState{currencies: currencies, accounts: map[string]*acctCheck{}, keys: map[string][]Posting{},
		bySeq: map[int64]int{}, seqTo: map[LotID]string{}, out: &Changes{}, emit: emit}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxImportLine)
	for sc.Scan() {
		s.line++
		line := sc.Bytes()
		if s.section == 5 {
			if len(strings.TrimSpace(string(line))) != 0 {
				return s.sum, s.fail("data after the trailer")
			}
			continue
		}
		if err := s.record(line); err != nil {
			return s.sum, err
		}
	}
	if err := sc.Err(); err != nil {
		s.line++
		if errors.Is(err, bufio.ErrTooLong) {
			return s.sum, s.fail("line longer than %d bytes", maxImportLine)
		}
		return s.sum, fmt.Errorf("ledger: import: reading line %d: %w", s.line, err)
	}
	if s.section != 5 {
		s.line++
		return s.sum, s.fail("file ends before the trailer: truncated")
	}
	return s.sum, nil
}

func decodeStrict(line []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(line)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

func (s *importState) record(line []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return s.fail("not a JSON object: %v", err)
	}
	order := map[string]int{"header": 0, "account": 1, "transaction": 2, "lot": 3, "hold": 4, "trailer": 5}
	sec, ok := order[head.Type]
	if !ok {
		return s.fail("unknown record type %q", head.Type)
	}
	if s.line == 1 && sec != 0 {
		return s.fail("first line must be the header, found %q", head.Type)
	}
	if sec < s.section || (sec == 0 && s.line != 1) {
		return s.fail("%s record out of order", head.Type)
	}
	s.section = max(s.section, sec)
	switch sec {
	case 0:
		return s.header(line)
	case 1:
		return s.account(line)
	case 2:
		return s.transaction(line)
	case 3:
		return s.lot(line)
	case 4:
		return s.hold(line)
	default:
		return s.trailer(line)
	}
}

// link checks rec's chain field against the running chain.
func (s *importState) link(rec any, chainField *string, what string) error {
	b, err := canonical(rec, chainField)
	if err != nil {
		return s.fail("%s: %v", what, err)
	}
	want := s.ch.link(b)
	if *chainField != want {
		return s.fail("%s: hash chain mismatch (the record was altered, or a record before it is missing or altered)", what)
	}
	return nil
}

func (s *importState) header(line []byte) error {
	var h xHeader
	if err := decodeStrict(line, &h); err != nil {
		return s.fail("header: %v", err)
	}
	if h.Format != ExportFormat || h.Version != ExportVersion {
		return s.fail("header: format %q version %d, want %q version %d", h.Format, h.Version, ExportFormat, ExportVersion)
	}
	fileCur := map[string]Currency{}
	for _, c := range h.Currencies {
		if c.Code == "" || c.Scale < 0 || c.Scale > 18 {
			return s.fail("header: invalid currency %q scale %d", c.Code, c.Scale)
		}
		if s.currencies != nil {
			have, ok := s.currencies[c.Code]
			if !ok {
				return s.fail("header: currency %q is not configured on this ledger: %v", c.Code, ErrUnknownCurrency)
			}
			if have.Scale != c.Scale {
				return s.fail("header: currency %q has scale %d in the file but %d on this ledger", c.Code, c.Scale, have.Scale)
			}
		}
		fileCur[c.Code] = Currency(c)
	}
	s.currencies = fileCur
	b, err := json.Marshal(h)
	if err != nil {
		return s.fail("header: %v", err)
	}
	s.ch = sha256.Sum256(b)
	return nil
}

func (s *importState) parseTime(what, v string, required bool) (time.Time, error) {
	if v == "" {
		if required {
			return time.Time{}, s.fail("%s: missing", what)
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(exportTimeLayout, v)
	if err != nil {
		return time.Time{}, s.fail("%s: %v", what, err)
	}
	return t.UTC(), nil
}

// parseAmount parses a decimal within scale; positive requires > 0,
// otherwise ≥ 0 unless signed.
func (s *importState) parseAmount(what, v string, scale int32, positive, signed bool) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(v)
	if err != nil {
		return d, s.fail("%s: %q is not a decimal", what, v)
	}
	if d.Exponent() < -scale && !d.Equal(d.Truncate(scale)) {
		return d, s.fail("%s: %s has more than %d decimal places: %v", what, v, scale, ErrScale)
	}
	if positive && !d.IsPositive() {
		return d, s.fail("%s: %s must be positive", what, v)
	}
	if !positive && !signed && d.IsNegative() {
		return d, s.fail("%s: %s must not be negative", what, v)
	}
	return d, nil
}

func (s *importState) parseHash(what, v string) ([32]byte, error) {
	var h [32]byte
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != len(h) {
		return h, s.fail("%s: want 64 hex digits", what)
	}
	copy(h[:], b)
	return h, nil
}

func (s *importState) parseUses(what string, xs []xUse, scale int32) ([]LotUse, error) {
	if len(xs) == 0 {
		return nil, nil
	}
	us := make([]LotUse, len(xs))
	for i, x := range xs {
		amt, err := s.parseAmount(fmt.Sprintf("%s[%d].amount", what, i), x.Amount, scale, true, false)
		if err != nil {
			return nil, err
		}
		us[i] = LotUse{Posting: x.Posting, Lot: LotID{Seq: x.LotSeq, Posting: x.LotPosting}, Amount: amt}
	}
	return us, nil
}

func (s *importState) flush(force bool) error {
	s.n++
	if !force && s.n < importChunk {
		return nil
	}
	if !s.out.empty() {
		if err := s.emit(s.out); err != nil {
			return err
		}
	}
	s.out, s.n = &Changes{}, 0
	return nil
}

func (s *importState) account(line []byte) error {
	var x xAccount
	if err := decodeStrict(line, &x); err != nil {
		return s.fail("account: %v", err)
	}
	what := fmt.Sprintf("account %q", x.ID)
	if err := s.link(&x, &x.Chain, what); err != nil {
		return err
	}
	if x.ID == "" || (s.sum.Accounts > 0 && x.ID <= s.lastAcct) {
		return s.fail("%s: IDs must be non-empty and strictly increasing", what)
	}
	kind, err := ParseAccountKind(x.Kind)
	if err != nil {
		return s.fail("%s: %v", what, err)
	}
	cur, ok := s.currencies[x.Currency]
	if !ok {
		return s.fail("%s: currency %q not in the header", what, x.Currency)
	}
	created, err := s.parseTime(what+" created_at", x.CreatedAt, true)
	if err != nil {
		return err
	}
	posted, err := s.parseAmount(what+" posted", x.Posted, cur.Scale, false, true)
	if err != nil {
		return err
	}
	held, err := s.parseAmount(what+" held", x.Held, cur.Scale, false, false)
	if err != nil {
		return err
	}
	st := AccountState{Account: Account{ID: x.ID, Kind: kind, Flags: AccountFlags(x.Flags), Currency: x.Currency, CreatedAt: created},
		Posted: posted, Held: held}
	s.accounts[x.ID] = &acctCheck{st: st, scale: cur.Scale}
	s.lastAcct = x.ID
	s.sum.Accounts++
	s.out.NewAccounts = append(s.out.NewAccounts, st)
	return s.flush(false)
}

func (s *importState) transaction(line []byte) error {
	var x xTx
	if err := decodeStrict(line, &x); err != nil {
		return s.fail("transaction: %v", err)
	}
	what := fmt.Sprintf("transaction %q", x.Key)
	if err := s.link(&x, &x.Chain, what); err != nil {
		return err
	}
	if x.Seq <= s.lastSeq {
		return s.fail("%s: seq %d not above the previous %d", what, x.Seq, s.lastSeq)
	}
	if x.Key == "" {
		return s.fail("transaction at seq %d: empty key", x.Seq)
	}
	if _, dup := s.keys[x.Key]; dup {
		return s.fail("%s: duplicate key", what)
	}
	hash, err := s.parseHash(what+" hash", x.Hash)
	if err != nil {
		return err
	}
	eff, err := s.parseTime(what+" effective_at", x.EffectiveAt, true)
	if err != nil {
		return err
	}
	posted, err := s.parseTime(what+" posted_at", x.PostedAt, true)
	if err != nil {
		return err
	}
	if len(x.Postings) == 0 {
		return s.fail("%s: no postings", what)
	}
	if x.Reverses != "" {
		if _, ok := s.keys[x.Reverses]; !ok {
			return s.fail("%s: reverses %q, which is not an earlier transaction", what, x.Reverses)
		}
	}
	rec := TxRecord{Transaction: Transaction{Key: x.Key, Metadata: x.Metadata, EffectiveAt: eff, Reverses: x.Reverses,
		Seq: x.Seq, PostedAt: posted, ReversedBy: x.ReversedBy}, Hash: hash}
	var scale int32
	for i, xp := range x.Postings {
		pw := fmt.Sprintf("%s posting %d", what, i)
		from, to := s.accounts[xp.From], s.accounts[xp.To]
		if from == nil || to == nil {
			return s.fail("%s: account %q or %q not in the file", pw, xp.From, xp.To)
		}
		if from.st.Currency != to.st.Currency {
			return s.fail("%s: %v", pw, ErrUnbalanced)
		}
		scale = from.scale
		amt, err := s.parseAmount(pw+" amount", xp.Amount, scale, true, false)
		if err != nil {
			return err
		}
		exp, err := s.parseTime(pw+" expires_at", xp.ExpiresAt, false)
		if err != nil {
			return err
		}
		from.posted = from.posted.Sub(amt)
		to.posted = to.posted.Add(amt)
		rec.Postings = append(rec.Postings, Posting{From: xp.From, To: xp.To, Amount: amt, ExpiresAt: exp})
		s.seqTo[LotID{Seq: x.Seq, Posting: int32(i)}] = xp.To
	}
	if rec.Consumed, err = s.parseUses(what+" consumed", x.Consumed, scale); err != nil {
		return err
	}
	if x.ReversedBy != "" {
		for _, p := range rec.Postings {
			s.accounts[p.From].reversers = append(s.accounts[p.From].reversers, x.ReversedBy)
		}
	}
	s.keys[x.Key] = rec.Postings
	s.bySeq[x.Seq] = len(rec.Postings)
	s.lastSeq = x.Seq
	s.sum.Transactions++
	s.out.Transactions = append(s.out.Transactions, rec)
	return s.flush(false)
}

func (s *importState) lot(line []byte) error {
	var x xLot
	if err := decodeStrict(line, &x); err != nil {
		return s.fail("lot: %v", err)
	}
	id := LotID{Seq: x.Seq, Posting: x.Posting}
	what := fmt.Sprintf("lot %d.%d", x.Seq, x.Posting)
	if err := s.link(&x, &x.Chain, what); err != nil {
		return err
	}
	if s.sum.Lots > 0 && !s.lastLot.Less(id) {
		return s.fail("%s: lots must be in increasing (seq, posting) order", what)
	}
	if to, ok := s.seqTo[id]; !ok || to != x.Account {
		return s.fail("%s: no posting of that transaction credits %q", what, x.Account)
	}
	a := s.accounts[x.Account]
	exp, err := s.parseTime(what+" expires_at", x.ExpiresAt, false)
	if err != nil {
		return err
	}
	amt, err := s.parseAmount(what+" amount", x.Amount, a.scale, true, false)
	if err != nil {
		return err
	}
	rem, err := s.parseAmount(what+" remaining", x.Remaining, a.scale, false, false)
	if err != nil {
		return err
	}
	expired, err := s.parseAmount(what+" expired", x.Expired, a.scale, false, false)
	if err != nil {
		return err
	}
	if rem.Add(expired).GreaterThan(amt) {
		return s.fail("%s: remaining %s + expired %s exceed the amount %s", what, rem, expired, amt)
	}
	a.lots = a.lots.Add(rem)
	s.lastLot = id
	s.sum.Lots++
	s.out.NewLots = append(s.out.NewLots, Lot{ID: id, Account: x.Account, ExpiresAt: exp, Amount: amt, Remaining: rem, Expired: expired})
	return s.flush(false)
}

func parseHoldStatus(v string) (HoldStatus, bool) {
	for st := HoldOpen; st <= HoldExpired; st++ {
		if st.String() == v {
			return st, true
		}
	}
	return 0, false
}

func (s *importState) hold(line []byte) error {
	var x xHold
	if err := decodeStrict(line, &x); err != nil {
		return s.fail("hold: %v", err)
	}
	what := fmt.Sprintf("hold %q", x.ID)
	if err := s.link(&x, &x.Chain, what); err != nil {
		return err
	}
	if x.ID == "" || (s.sum.Holds > 0 && x.ID <= s.lastHold) {
		return s.fail("%s: IDs must be non-empty and strictly increasing", what)
	}
	a, to := s.accounts[x.Account], s.accounts[x.To]
	if a == nil || to == nil {
		return s.fail("%s: account %q or %q not in the file", what, x.Account, x.To)
	}
	status, ok := parseHoldStatus(x.Status)
	if !ok {
		return s.fail("%s: unknown status %q", what, x.Status)
	}
	amt, err := s.parseAmount(what+" amount", x.Amount, a.scale, true, false)
	if err != nil {
		return err
	}
	committed, err := s.parseAmount(what+" committed", x.Committed, a.scale, false, false)
	if err != nil {
		return err
	}
	deadline, err := s.parseTime(what+" deadline", x.Deadline, true)
	if err != nil {
		return err
	}
	created, err := s.parseTime(what+" created_at", x.CreatedAt, true)
	if err != nil {
		return err
	}
	resolved, err := s.parseTime(what+" resolved_at", x.ResolvedAt, false)
	if err != nil {
		return err
	}
	hash, err := s.parseHash(what+" hash", x.Hash)
	if err != nil {
		return err
	}
	reserved, err := s.parseUses(what+" reserved", x.Reserved, a.scale)
	if err != nil {
		return err
	}
	if status == HoldOpen {
		a.held = a.held.Add(amt)
	}
	h := HoldRecord{Hold: Hold{HoldRequest: HoldRequest{ID: x.ID, Account: x.Account, To: x.To, Amount: amt, Deadline: deadline,
		Metadata: x.Metadata}, Status: status, Committed: committed, CommitKey: x.CommitKey, CreatedAt: created, ResolvedAt: resolved},
		Hash: hash, Reserved: reserved}
	s.lastHold = x.ID
	s.sum.Holds++
	s.out.NewHolds = append(s.out.NewHolds, h)
	return s.flush(false)
}

func (s *importState) trailer(line []byte) error {
	var x xTrailer
	if err := decodeStrict(line, &x); err != nil {
		return s.fail("trailer: %v", err)
	}
	final := hex.EncodeToString(s.ch[:])
	if x.Chain != final {
		return s.fail("trailer: final hash %s does not match the records' chain %s", x.Chain, final)
	}
	if x.Accounts != s.sum.Accounts || x.Transactions != s.sum.Transactions || x.Lots != s.sum.Lots || x.Holds != s.sum.Holds {
		return s.fail("trailer: counts %d accounts, %d transactions, %d lots, %d holds; the file has %d, %d, %d, %d",
			x.Accounts, x.Transactions, x.Lots, x.Holds, s.sum.Accounts, s.sum.Transactions, s.sum.Lots, s.sum.Holds)
	}
	if len(x.Balances) != len(s.accounts) {
		return s.fail("trailer: %d balances for %d accounts", len(x.Balances), len(s.accounts))
	}
	seen := make(map[string]bool, len(x.Balances))
	for _, b := range x.Balances {
		a := s.accounts[b.Account]
		if a == nil || seen[b.Account] {
			return s.fail("trailer: balance of unknown or repeated account %q", b.Account)
		}
		seen[b.Account] = true
		posted, err := s.parseAmount("trailer balance "+b.Account+" posted", b.Posted, a.scale, false, true)
		if err != nil {
			return err
		}
		held, err := s.parseAmount("trailer balance "+b.Account+" held", b.Held, a.scale, false, false)
		if err != nil {
			return err
		}
		switch {
		case !posted.Equal(a.posted):
			return s.fail("trailer: account %q posted %s, but its postings sum to %s", b.Account, posted, a.posted)
		case !a.st.Posted.Equal(a.posted):
			return s.fail("trailer: account %q record says posted %s, but its postings sum to %s", b.Account, a.st.Posted, a.posted)
		case !held.Equal(a.held) || !a.st.Held.Equal(a.held):
			return s.fail("trailer: account %q held %s (record %s), but its open holds sum to %s", b.Account, held, a.st.Held, a.held)
		case a.st.Flags&FlagNoNegative != 0 && !a.lots.Add(a.held).Equal(a.posted):
			return s.fail("trailer: account %q posted %s, but its lots hold %s and its holds %s", b.Account, a.posted, a.lots, a.held)
		}
	}
	for _, a := range s.accounts {
		for _, by := range a.reversers {
			if _, ok := s.keys[by]; !ok {
				return s.fail("trailer: a transaction of %q is reversed by %q, which is not in the file", a.st.ID, by)
			}
		}
	}
	s.sum.Chain = final
	return s.flush(true)
}
