package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	// Drivers: modernc.org/sqlite registers "sqlite" (pure Go, no cgo);
	// pgx's stdlib registers "pgx".
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// Customer is an enrolled customer.
type Customer struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Tier is the customer's program tier ("gold", "residential" ...),
	// customer.tier in rules.
	Tier string `json:"tier"`
	// TimeZone is an IANA name; monthly settlement uses its calendar months.
	TimeZone string `json:"time_zone"`
	// EnrolledAt is the enrolment date (UTC midnight).
	EnrolledAt time.Time `json:"enrolled_at"`
	// Station is the weather station whose temperature applies; empty
	// means the customer's own temperature series (station = customer id).
	Station    string            `json:"station,omitempty"`
	Attributes map[string]string `json:"attributes"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// WeatherStation is the temperature series the customer uses.
func (c Customer) WeatherStation() string {
	if c.Station != "" {
		return c.Station
	}
	return c.ID
}

// UsageReading is the usage of one period starting at Start (kWh); the
// period runs to the next reading's Start (hourly, daily or billing).
type UsageReading struct {
	Start time.Time `json:"start"`
	KWh   float64   `json:"kwh"`
}

// TempReading is an outdoor temperature (°F) for the hour or day at Start.
type TempReading struct {
	Start time.Time `json:"start"`
	TempF float64   `json:"temp_f"`
}

// Model is a customer's fitted baseline: baseline.Model's JSON plus the
// window it was fitted on.
type Model struct {
	Customer   string
	Method     string // "caltrack_daily" or "caltrack_billing"
	Start, End time.Time
	JSON       []byte
	FittedAt   time.Time
}

// RuleSet statuses.
const (
	StatusCandidate  = "candidate"  // uploaded, never live
	StatusLive       = "live"       // the one awards are paid with
	StatusPrevious   = "previous"   // was live; Rollback returns to the newest
	StatusRolledBack = "rolledback" // was live and rolled back
)

// RuleSet is one uploaded rule-set version.
type RuleSet struct {
	Version  int
	Program  string
	FileName string // as uploaded; its extension picks YAML or JSON
	Source   []byte
	Status   string
	// Promoted orders promotions (0 = never promoted).
	Promoted  int64
	CreatedAt time.Time
}

// Settlement is one settled savings fact of one customer.
type Settlement struct {
	Customer                             string
	FactID                               string // "2024-07" or an event id
	Kind                                 string // "period" or "event"
	Start, End                           time.Time
	BaselineKWh, ObservedKWh, SavingsKWh float64
	// Fact is the rewards.Fact as JSON, re-evaluated by shadow reports.
	Fact []byte
	// Version of the rule set that settled it; Points it paid (decimal
	// string) on that settlement.
	Version   int
	Points    string
	SettledAt time.Time
}

// SettlementInput is one customer's data a settlement reads
// (Store.SettlementInput).
type SettlementInput struct {
	Customer Customer
	// HasModel reports whether the customer has a fitted baseline;
	// ModelDigest is then what Store.ModelDigest returns.
	HasModel    bool
	ModelDigest string
	// Usage is what Store.Usage returns over the window.
	Usage []UsageReading
}

// Store is the service's application data. Implementations are safe for
// concurrent use. Errors wrap ErrNotFound, ErrConflict or ErrInvalid
// where those apply.
type Store interface {
	// PutCustomer creates or replaces a customer; created reports which.
	PutCustomer(ctx context.Context, c Customer) (created bool, err error)
	Customer(ctx context.Context, id string) (Customer, error)
	// Customers lists every customer by id.
	Customers(ctx context.Context) ([]Customer, error)
	// CustomersByID returns the registered customers among ids (at most
	// MaxBulkIDs), by id; unknown ids are left out.
	CustomersByID(ctx context.Context, ids []string) ([]Customer, error)

	// PutUsage upserts readings per (customer, start) in one transaction.
	PutUsage(ctx context.Context, customer string, rows []UsageReading) error
	// Usage returns readings with from ≤ start < to, in time order (zero
	// bounds are open).
	Usage(ctx context.Context, customer string, from, to time.Time) ([]UsageReading, error)
	// UsageOf is Usage for several customers (at most MaxBulkIDs) in one
	// query: readings by customer, customers without any left out.
	UsageOf(ctx context.Context, customers []string, from, to time.Time) (map[string][]UsageReading, error)
	PutTemperature(ctx context.Context, station string, rows []TempReading) error
	Temperature(ctx context.Context, station string, from, to time.Time) ([]TempReading, error)

	PutModel(ctx context.Context, m Model) error
	Model(ctx context.Context, customer string) (Model, error)
	// ModelDigest is ModelDigestOf the customer's stored model JSON,
	// without reading the JSON (a model is tens of kilobytes; callers
	// that keep decoded models check it instead); "" for a model stored
	// before digests were recorded.
	ModelDigest(ctx context.Context, customer string) (string, error)
	// ModelDigests is ModelDigest for several customers (at most
	// MaxBulkIDs): customers without a model are left out.
	ModelDigests(ctx context.Context, customers []string) (map[string]string, error)
	// SettlementInput is what settling one customer over a window reads:
	// Customer, ModelDigest and Usage over [from, to), in one statement
	// on PostgreSQL (a settlement of one customer is otherwise three
	// round trips). ErrNotFound when the customer is not registered.
	SettlementInput(ctx context.Context, customer string, from, to time.Time) (SettlementInput, error)

	// PutRuleSet stores a new candidate version; the same version with the
	// same source is a no-op, with another source ErrConflict.
	PutRuleSet(ctx context.Context, rs RuleSet) (RuleSet, error)
	RuleSet(ctx context.Context, version int) (RuleSet, error)
	// RuleSets lists every version, oldest first.
	RuleSets(ctx context.Context) ([]RuleSet, error)
	// Promote makes version live; the live one becomes previous.
	Promote(ctx context.Context, version int) error
	// Rollback retires the live version and makes the most recently
	// promoted previous one live again; ErrNotFound when there is none.
	Rollback(ctx context.Context) (RuleSet, error)

	// PutSettlements upserts per (customer, fact id) in one transaction.
	PutSettlements(ctx context.Context, s []Settlement) error
	// Settlements returns settled facts of customer ("" = all) with
	// from ≤ start < to, ordered by start then customer.
	Settlements(ctx context.Context, customer string, from, to time.Time) ([]Settlement, error)

	// Ping checks the database answers (readiness).
	Ping(ctx context.Context) error
	Close() error
}

//go:embed migrations/*.sql
var migrations embed.FS

// db implements Store over database/sql for both dialects: the SQL is
// portable (ON CONFLICT upserts, BIGINT microseconds for instants) and
// only the placeholders differ.
type db struct {
	sql      *sql.DB
	postgres bool
	now      func() time.Time
	// inputs groups concurrent SettlementInput reads (PostgreSQL).
	inputs inputGroup
}

// Open opens (creating if needed) the SQLite store at path, in WAL mode,
// and applies the migrations.
func Open(ctx context.Context, path string) (Store, error) {
	// _txlock=immediate makes every write transaction take the write lock
	// at BEGIN, so two upserts never deadlock upgrading read locks.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	s, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// One writer at a time is SQLite's model; readers use WAL snapshots.
	// Idle connections are kept (database/sql keeps 2 by default), so a
	// busy server does not reopen the database file per request.
	s.SetMaxOpenConns(8)
	s.SetMaxIdleConns(8)
	d := &db{sql: s, now: time.Now}
	if err := d.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return d, nil
}

// OpenPostgres connects to the PostgreSQL database at url (pgx syntax)
// and applies the migrations (serialised across processes with an
// advisory lock).
func OpenPostgres(ctx context.Context, url string) (Store, error) {
	s, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	// Every PostgreSQL connection is a server process: a few suffice for
	// short queries on a small machine, and all of them stay open
	// (database/sql keeps only 2 idle by default, so under load it kept
	// opening and closing backends, each a new server process and a
	// handshake costing more CPU than the queries).
	s.SetMaxOpenConns(8)
	s.SetMaxIdleConns(8)
	s.SetConnMaxIdleTime(5 * time.Minute)
	d := &db{sql: s, postgres: true, now: time.Now}
	if err := d.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return d, nil
}

// q rewrites ? placeholders to $n for PostgreSQL.
func (d *db) q(query string) string {
	if !d.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (d *db) migrate(ctx context.Context) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if d.postgres {
		// Several processes may start at once; one migrates, the others
		// wait and find nothing to do.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7146323)"); err != nil {
			return fmt.Errorf("store: migrate lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS app_schema_version (version BIGINT PRIMARY KEY)"); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM app_schema_version").Scan(&cur); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(files)
	if cur > len(files) {
		return fmt.Errorf("%w: version %d, this build knows %d", ErrSchemaTooNew, cur, len(files))
	}
	for i, f := range files {
		v := i + 1
		if v <= cur {
			continue
		}
		src, _ := migrations.ReadFile(f)
		for _, stmt := range strings.Split(string(src), ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("store: migration %s: %w", f, err)
			}
		}
		if _, err := tx.ExecContext(ctx, d.q("INSERT INTO app_schema_version (version) VALUES (?)"), v); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	return tx.Commit()
}

func us(t time.Time) int64 { return t.UnixMicro() }

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

// bounds turns zero bounds into open ones.
func bounds(from, to time.Time) (int64, int64) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = us(from)
	}
	if !to.IsZero() {
		hi = us(to)
	}
	return lo, hi
}

func (d *db) Ping(ctx context.Context) error { return d.sql.PingContext(ctx) }

func (d *db) Close() error { return d.sql.Close() }

func (d *db) PutCustomer(ctx context.Context, c Customer) (bool, error) {
	if c.ID == "" {
		return false, fmt.Errorf("%w: empty customer id", ErrInvalid)
	}
	if c.Attributes == nil {
		c.Attributes = map[string]string{}
	}
	attrs, err := json.Marshal(c.Attributes)
	if err != nil {
		return false, fmt.Errorf("store: customer %s: %w", c.ID, err)
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: put customer: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, d.q("SELECT COUNT(*) FROM app_customers WHERE id = ?"), c.ID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: put customer: %w", err)
	}
	_, err = tx.ExecContext(ctx, d.q(`INSERT INTO app_customers (id, name, tier, time_zone, enrolled_at, station, attributes, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, tier = excluded.tier, time_zone = excluded.time_zone,
		enrolled_at = excluded.enrolled_at, station = excluded.station, attributes = excluded.attributes, updated_at = excluded.updated_at`),
		c.ID, c.Name, c.Tier, c.TimeZone, us(c.EnrolledAt), c.Station, string(attrs), us(d.now()))
	if err != nil {
		return false, fmt.Errorf("store: put customer %s: %w", c.ID, err)
	}
	return n == 0, tx.Commit()
}

const customerCols = "id, name, tier, time_zone, enrolled_at, station, attributes, updated_at"

func scanCustomer(sc interface{ Scan(...any) error }) (Customer, error) {
	var c Customer
	var enrolled, updated int64
	var attrs string
	if err := sc.Scan(&c.ID, &c.Name, &c.Tier, &c.TimeZone, &enrolled, &c.Station, &attrs, &updated); err != nil {
		return Customer{}, err
	}
	c.EnrolledAt, c.UpdatedAt = fromUS(enrolled), fromUS(updated)
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return Customer{}, fmt.Errorf("store: customer %s attributes: %w", c.ID, err)
	}
	return c, nil
}

// MaxBulkIDs bounds the ids of one bulk read (CustomersByID, UsageOf,
// ModelDigests): one query parameter each, well within SQLite's and
// PostgreSQL's limits.
const MaxBulkIDs = 1000

// inList returns "(?, ?, ...)" for n ids, or an error past MaxBulkIDs.
func inList(n int) (string, error) {
	if n < 1 || n > MaxBulkIDs {
		return "", fmt.Errorf("%w: %d ids in one read, want 1..%d", ErrInvalid, n, MaxBulkIDs)
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")", nil
}

func anyArgs(ids []string, more ...any) []any {
	args := make([]any, 0, len(ids)+len(more))
	for _, id := range ids {
		args = append(args, id)
	}
	return append(args, more...)
}

func (d *db) CustomersByID(ctx context.Context, ids []string) ([]Customer, error) {
	in, err := inList(len(ids))
	if err != nil {
		return nil, err
	}
	return d.queryCustomers(ctx, d.q("SELECT "+customerCols+" FROM app_customers WHERE id IN "+in+" ORDER BY id"), anyArgs(ids)...)
}

func (d *db) UsageOf(ctx context.Context, customers []string, from, to time.Time) (map[string][]UsageReading, error) {
	in, err := inList(len(customers))
	if err != nil {
		return nil, err
	}
	lo, hi := bounds(from, to)
	rows, err := d.sql.QueryContext(ctx, d.q("SELECT customer, start_us, kwh FROM app_usage WHERE customer IN "+in+
		" AND start_us >= ? AND start_us < ? ORDER BY customer, start_us"), anyArgs(customers, lo, hi)...)
	if err != nil {
		return nil, fmt.Errorf("store: usage: %w", err)
	}
	defer rows.Close()
	out := map[string][]UsageReading{}
	for rows.Next() {
		var c string
		var t int64
		var v float64
		if err := rows.Scan(&c, &t, &v); err != nil {
			return nil, fmt.Errorf("store: usage: %w", err)
		}
		out[c] = append(out[c], UsageReading{Start: fromUS(t), KWh: v})
	}
	return out, rows.Err()
}

func (d *db) ModelDigests(ctx context.Context, customers []string) (map[string]string, error) {
	in, err := inList(len(customers))
	if err != nil {
		return nil, err
	}
	rows, err := d.sql.QueryContext(ctx, d.q("SELECT customer, model_sha256 FROM app_models WHERE customer IN "+in), anyArgs(customers)...)
	if err != nil {
		return nil, fmt.Errorf("store: model digests: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, digest string
		if err := rows.Scan(&c, &digest); err != nil {
			return nil, fmt.Errorf("store: model digests: %w", err)
		}
		out[c] = digest
	}
	return out, rows.Err()
}

func (d *db) Customer(ctx context.Context, id string) (Customer, error) {
	c, err := scanCustomer(d.sql.QueryRowContext(ctx, d.q("SELECT "+customerCols+" FROM app_customers WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Customer{}, fmt.Errorf("%w: customer %q", ErrNotFound, id)
	}
	if err != nil {
		return Customer{}, fmt.Errorf("store: customer %q: %w", id, err)
	}
	return c, nil
}

func (d *db) Customers(ctx context.Context) ([]Customer, error) {
	return d.queryCustomers(ctx, "SELECT "+customerCols+" FROM app_customers ORDER BY id")
}

// queryCustomers runs a query over app_customers' customerCols and scans
// every row.
func (d *db) queryCustomers(ctx context.Context, query string, args ...any) ([]Customer, error) {
	rows, err := d.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: customers: %w", err)
	}
	defer rows.Close()
	var out []Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// putSeries upserts (key, start, value) rows in one transaction with a
// prepared statement.
func (d *db) putSeries(ctx context.Context, table, keyCol, valCol, key string, n int, row func(i int) (time.Time, float64)) error {
	if key == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalid, keyCol)
	}
	for i := range n {
		if _, v := row(i); math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: %s row %d is not finite", ErrInvalid, table, i)
		}
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: %w", table, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, d.q(fmt.Sprintf(
		"INSERT INTO %s (%s, start_us, %s) VALUES (?, ?, ?) ON CONFLICT (%s, start_us) DO UPDATE SET %s = excluded.%s",
		table, keyCol, valCol, keyCol, valCol, valCol)))
	if err != nil {
		return fmt.Errorf("store: %s: %w", table, err)
	}
	defer st.Close()
	for i := range n {
		t, v := row(i)
		if _, err := st.ExecContext(ctx, key, us(t), v); err != nil {
			return fmt.Errorf("store: %s row %d: %w", table, i, err)
		}
	}
	return tx.Commit()
}

func (d *db) getSeries(ctx context.Context, table, keyCol, valCol, key string, from, to time.Time, add func(time.Time, float64)) error {
	lo, hi := bounds(from, to)
	rows, err := d.sql.QueryContext(ctx, d.q(fmt.Sprintf(
		"SELECT start_us, %s FROM %s WHERE %s = ? AND start_us >= ? AND start_us < ? ORDER BY start_us", valCol, table, keyCol)), key, lo, hi)
	if err != nil {
		return fmt.Errorf("store: %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var t int64
		var v float64
		if err := rows.Scan(&t, &v); err != nil {
			return fmt.Errorf("store: %s: %w", table, err)
		}
		add(fromUS(t), v)
	}
	return rows.Err()
}

func (d *db) PutUsage(ctx context.Context, customer string, rows []UsageReading) error {
	return d.putSeries(ctx, "app_usage", "customer", "kwh", customer, len(rows), func(i int) (time.Time, float64) { return rows[i].Start, rows[i].KWh })
}

func (d *db) Usage(ctx context.Context, customer string, from, to time.Time) ([]UsageReading, error) {
	var out []UsageReading
	err := d.getSeries(ctx, "app_usage", "customer", "kwh", customer, from, to, func(t time.Time, v float64) { out = append(out, UsageReading{t, v}) })
	return out, err
}

func (d *db) PutTemperature(ctx context.Context, station string, rows []TempReading) error {
	return d.putSeries(ctx, "app_temperature", "station", "temp_f", station, len(rows), func(i int) (time.Time, float64) { return rows[i].Start, rows[i].TempF })
}

func (d *db) Temperature(ctx context.Context, station string, from, to time.Time) ([]TempReading, error) {
	var out []TempReading
	err := d.getSeries(ctx, "app_temperature", "station", "temp_f", station, from, to, func(t time.Time, v float64) { out = append(out, TempReading{t, v}) })
	return out, err
}

func (d *db) PutModel(ctx context.Context, m Model) error {
	if m.Customer == "" || len(m.JSON) == 0 {
		return fmt.Errorf("%w: model needs a customer and JSON", ErrInvalid)
	}
	if m.FittedAt.IsZero() {
		m.FittedAt = d.now()
	}
	_, err := d.sql.ExecContext(ctx, d.q(`INSERT INTO app_models (customer, method, start_us, end_us, model, fitted_at, model_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (customer) DO UPDATE SET method = excluded.method, start_us = excluded.start_us, end_us = excluded.end_us,
		model = excluded.model, fitted_at = excluded.fitted_at, model_sha256 = excluded.model_sha256`),
		m.Customer, m.Method, us(m.Start), us(m.End), string(m.JSON), us(m.FittedAt), ModelDigestOf(m.JSON))
	if err != nil {
		return fmt.Errorf("store: put model %s: %w", m.Customer, err)
	}
	return nil
}

// ModelDigestOf is the digest ModelDigest reports for a model's JSON: its
// SHA-256 in hex.
func ModelDigestOf(js []byte) string {
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:])
}

func (d *db) ModelDigest(ctx context.Context, customer string) (string, error) {
	var digest string
	err := d.sql.QueryRowContext(ctx, d.q("SELECT model_sha256 FROM app_models WHERE customer = ?"), customer).Scan(&digest)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: no baseline for customer %q", ErrNotFound, customer)
	}
	if err != nil {
		return "", fmt.Errorf("store: model digest %s: %w", customer, err)
	}
	return digest, nil
}

func (d *db) Model(ctx context.Context, customer string) (Model, error) {
	m := Model{Customer: customer}
	var start, end, fitted int64
	var js string
	err := d.sql.QueryRowContext(ctx, d.q("SELECT method, start_us, end_us, model, fitted_at FROM app_models WHERE customer = ?"), customer).
		Scan(&m.Method, &start, &end, &js, &fitted)
	if errors.Is(err, sql.ErrNoRows) {
		return Model{}, fmt.Errorf("%w: no baseline for customer %q", ErrNotFound, customer)
	}
	if err != nil {
		return Model{}, fmt.Errorf("store: model %s: %w", customer, err)
	}
	m.Start, m.End, m.FittedAt, m.JSON = fromUS(start), fromUS(end), fromUS(fitted), []byte(js)
	return m, nil
}

const ruleSetCols = "version, program, file_name, source, status, promoted, created_at"

func scanRuleSet(sc interface{ Scan(...any) error }) (RuleSet, error) {
	var rs RuleSet
	var src string
	var created int64
	if err := sc.Scan(&rs.Version, &rs.Program, &rs.FileName, &src, &rs.Status, &rs.Promoted, &created); err != nil {
		return RuleSet{}, err
	}
	rs.Source, rs.CreatedAt = []byte(src), fromUS(created)
	return rs, nil
}

func (d *db) PutRuleSet(ctx context.Context, rs RuleSet) (RuleSet, error) {
	if rs.Version <= 0 || rs.Program == "" || len(rs.Source) == 0 {
		return RuleSet{}, fmt.Errorf("%w: rule set needs a positive version, a program and a source", ErrInvalid)
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return RuleSet{}, fmt.Errorf("store: put rule set: %w", err)
	}
	defer tx.Rollback()
	old, err := scanRuleSet(tx.QueryRowContext(ctx, d.q("SELECT "+ruleSetCols+" FROM app_rulesets WHERE version = ?"), rs.Version))
	switch {
	case err == nil:
		if string(old.Source) != string(rs.Source) || old.Program != rs.Program {
			return RuleSet{}, fmt.Errorf("%w: rule set version %d exists with a different source", ErrConflict, rs.Version)
		}
		return old, nil
	case !errors.Is(err, sql.ErrNoRows):
		return RuleSet{}, fmt.Errorf("store: put rule set: %w", err)
	}
	rs.Status, rs.Promoted, rs.CreatedAt = StatusCandidate, 0, d.now().UTC()
	if _, err := tx.ExecContext(ctx, d.q("INSERT INTO app_rulesets ("+ruleSetCols+") VALUES (?, ?, ?, ?, ?, ?, ?)"),
		rs.Version, rs.Program, rs.FileName, string(rs.Source), rs.Status, rs.Promoted, us(rs.CreatedAt)); err != nil {
		return RuleSet{}, fmt.Errorf("store: put rule set %d: %w", rs.Version, err)
	}
	rs.CreatedAt = fromUS(us(rs.CreatedAt))
	return rs, tx.Commit()
}

func (d *db) RuleSet(ctx context.Context, version int) (RuleSet, error) {
	rs, err := scanRuleSet(d.sql.QueryRowContext(ctx, d.q("SELECT "+ruleSetCols+" FROM app_rulesets WHERE version = ?"), version))
	if errors.Is(err, sql.ErrNoRows) {
		return RuleSet{}, fmt.Errorf("%w: rule set version %d", ErrNotFound, version)
	}
	if err != nil {
		return RuleSet{}, fmt.Errorf("store: rule set %d: %w", version, err)
	}
	return rs, nil
}

func (d *db) RuleSets(ctx context.Context) ([]RuleSet, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT "+ruleSetCols+" FROM app_rulesets ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("store: rule sets: %w", err)
	}
	defer rows.Close()
	var out []RuleSet
	for rows.Next() {
		rs, err := scanRuleSet(rows)
		if err != nil {
			return nil, fmt.Errorf("store: rule sets: %w", err)
		}
		out = append(out, rs)
	}
	return out, rows.Err()
}

func (d *db) Promote(ctx context.Context, version int) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: promote: %w", err)
	}
	defer tx.Rollback()
	var status string
	err = tx.QueryRowContext(ctx, d.q("SELECT status FROM app_rulesets WHERE version = ?"), version).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: rule set version %d", ErrNotFound, version)
	}
	if err != nil {
		return fmt.Errorf("store: promote: %w", err)
	}
	if status == StatusLive {
		return tx.Commit()
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(promoted), 0) FROM app_rulesets").Scan(&seq); err != nil {
		return fmt.Errorf("store: promote: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.q("UPDATE app_rulesets SET status = ? WHERE status = ?"), StatusPrevious, StatusLive); err != nil {
		return fmt.Errorf("store: promote: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.q("UPDATE app_rulesets SET status = ?, promoted = ? WHERE version = ?"), StatusLive, seq+1, version); err != nil {
		return fmt.Errorf("store: promote: %w", err)
	}
	return tx.Commit()
}

func (d *db) Rollback(ctx context.Context) (RuleSet, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return RuleSet{}, fmt.Errorf("store: rollback: %w", err)
	}
	defer tx.Rollback()
	prev, err := scanRuleSet(tx.QueryRowContext(ctx, d.q("SELECT "+ruleSetCols+" FROM app_rulesets WHERE status = ? ORDER BY promoted DESC LIMIT 1"), StatusPrevious))
	if errors.Is(err, sql.ErrNoRows) {
		return RuleSet{}, fmt.Errorf("%w: no previous rule set to roll back to", ErrNotFound)
	}
	if err != nil {
		return RuleSet{}, fmt.Errorf("store: rollback: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.q("UPDATE app_rulesets SET status = ? WHERE status = ?"), StatusRolledBack, StatusLive); err != nil {
		return RuleSet{}, fmt.Errorf("store: rollback: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.q("UPDATE app_rulesets SET status = ? WHERE version = ?"), StatusLive, prev.Version); err != nil {
		return RuleSet{}, fmt.Errorf("store: rollback: %w", err)
	}
	prev.Status = StatusLive
	return prev, tx.Commit()
}

func (d *db) PutSettlements(ctx context.Context, ss []Settlement) error {
	// Validate everything first: a bad row writes nothing. A fact named
	// twice keeps its last row, as one upsert after another would (one
	// INSERT ... ON CONFLICT may not touch a row twice).
	now := d.now()
	rows := make([]Settlement, 0, len(ss))
	at := make(map[[2]string]int, len(ss))
	for _, s := range ss {
		if s.Customer == "" || s.FactID == "" {
			return fmt.Errorf("%w: settlement needs a customer and a fact id", ErrInvalid)
		}
		for _, v := range []float64{s.BaselineKWh, s.ObservedKWh, s.SavingsKWh} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: settlement %s/%s has a non-finite value", ErrInvalid, s.Customer, s.FactID)
			}
		}
		if s.SettledAt.IsZero() {
			s.SettledAt = now
		}
		k := [2]string{s.Customer, s.FactID}
		if i, ok := at[k]; ok {
			rows[i] = s
			continue
		}
		at[k] = len(rows)
		rows = append(rows, s)
	}
	if len(rows) == 0 {
		return nil
	}
	// One multi-row upsert per chunk: a settlement of one customer is one
	// statement (one round trip, atomic without BEGIN and COMMIT).
	if len(rows) <= settlementsPerStatement {
		return d.putSettlements(ctx, d.sql, rows)
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: settlements: %w", err)
	}
	defer tx.Rollback()
	for len(rows) > 0 {
		n := min(len(rows), settlementsPerStatement)
		if err := d.putSettlements(ctx, tx, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return tx.Commit()
}

// settlementsPerStatement bounds one upsert's rows (12 parameters each,
// well under SQLite's and PostgreSQL's parameter limits).
const settlementsPerStatement = 200

// putSettlements upserts rows (unique facts) with one statement.
func (d *db) putSettlements(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, rows []Settlement) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO app_settlements
		(customer, fact_id, kind, start_us, end_us, baseline_kwh, observed_kwh, savings_kwh, fact, version, points, settled_at)
		VALUES `)
	args := make([]any, 0, 12*len(rows))
	for i, s := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, s.Customer, s.FactID, s.Kind, us(s.Start), us(s.End), s.BaselineKWh, s.ObservedKWh, s.SavingsKWh,
			string(s.Fact), s.Version, s.Points, us(s.SettledAt))
	}
	b.WriteString(`
		ON CONFLICT (customer, fact_id) DO UPDATE SET kind = excluded.kind, start_us = excluded.start_us, end_us = excluded.end_us,
		baseline_kwh = excluded.baseline_kwh, observed_kwh = excluded.observed_kwh, savings_kwh = excluded.savings_kwh,
		fact = excluded.fact, version = excluded.version, points = excluded.points, settled_at = excluded.settled_at`)
	if _, err := ex.ExecContext(ctx, d.q(b.String()), args...); err != nil {
		if len(rows) == 1 {
			return fmt.Errorf("store: settlement %s/%s: %w", rows[0].Customer, rows[0].FactID, err)
		}
		return fmt.Errorf("store: %d settlements (%s/%s …): %w", len(rows), rows[0].Customer, rows[0].FactID, err)
	}
	return nil
}

func (d *db) Settlements(ctx context.Context, customer string, from, to time.Time) ([]Settlement, error) {
	lo, hi := bounds(from, to)
	query := `SELECT customer, fact_id, kind, start_us, end_us, baseline_kwh, observed_kwh, savings_kwh, fact, version, points, settled_at
		FROM app_settlements WHERE start_us >= ? AND start_us < ?`
	args := []any{lo, hi}
	if customer != "" {
		query += " AND customer = ?"
		args = append(args, customer)
	}
	rows, err := d.sql.QueryContext(ctx, d.q(query+" ORDER BY start_us, customer, fact_id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: settlements: %w", err)
	}
	defer rows.Close()
	var out []Settlement
	for rows.Next() {
		var s Settlement
		var start, end, at int64
		var fact string
		if err := rows.Scan(&s.Customer, &s.FactID, &s.Kind, &start, &end, &s.BaselineKWh, &s.ObservedKWh, &s.SavingsKWh, &fact, &s.Version, &s.Points, &at); err != nil {
			return nil, fmt.Errorf("store: settlements: %w", err)
		}
		s.Start, s.End, s.SettledAt, s.Fact = fromUS(start), fromUS(end), fromUS(at), []byte(fact)
		out = append(out, s)
	}
	return out, rows.Err()
}

// settlementInputPG reads a customer, its model digest and its usage over
// a window in one statement: the usage comes back as two arrays (one row,
// decoded from pgx's binary format) rather than as one row per reading.
const settlementInputPG = `SELECT c.id, c.name, c.tier, c.time_zone, c.enrolled_at, c.station, c.attributes, c.updated_at,
	m.model_sha256, u.starts, u.kwhs
	FROM app_customers c
	LEFT JOIN app_models m ON m.customer = c.id
	CROSS JOIN LATERAL (
		SELECT array_agg(start_us ORDER BY start_us) AS starts, array_agg(kwh ORDER BY start_us) AS kwhs
		FROM app_usage WHERE customer = c.id AND start_us >= $2 AND start_us < $3
	) u
	WHERE c.id = $1`

func (d *db) SettlementInput(ctx context.Context, customer string, from, to time.Time) (SettlementInput, error) {
	if !d.postgres {
		// SQLite runs in process: three queries cost no round trips.
		return d.settlementInput(ctx, customer, from, to)
	}
	if err := ctx.Err(); err != nil {
		return SettlementInput{}, fmt.Errorf("store: settlement input %s: %w", customer, err)
	}
	req := &inputReq{customer: customer, done: make(chan struct{})}
	req.lo, req.hi = bounds(from, to)
	g := &d.inputs
	g.mu.Lock()
	g.queue = append(g.queue, req)
	if !g.busy {
		g.busy = true
		go d.runInputs()
	}
	g.mu.Unlock()
	select {
	case <-req.done:
	case <-ctx.Done():
		// A read has no effect to wait for: the group goes on without
		// this caller.
		return SettlementInput{}, fmt.Errorf("store: settlement input %s: %w", customer, ctx.Err())
	}
	if errors.Is(req.err, pgx.ErrNoRows) {
		return SettlementInput{}, fmt.Errorf("%w: customer %q", ErrNotFound, customer)
	}
	if req.err != nil {
		return SettlementInput{}, fmt.Errorf("store: settlement input %s: %w", customer, req.err)
	}
	return req.in, nil
}

// inputGroup pipelines concurrent SettlementInput reads on PostgreSQL:
// while one group is on the wire the reads that arrive queue, and the
// next group sends all of them in one pgx.Batch (one round trip and one
// server wake-up for many settlements). Each read stays its own
// statement and runs after its caller asked and before it returns, so
// grouping changes no answer (ledger/postgres groups key lookups the same
// way).
type inputGroup struct {
	mu    sync.Mutex
	queue []*inputReq
	busy  bool // runInputs is running
}

type inputReq struct {
	customer string
	lo, hi   int64
	in       SettlementInput
	err      error
	done     chan struct{}
}

// maxInputGroup bounds the reads one round trip carries; inputTimeout
// bounds one group (its members' own deadlines do not apply to the
// others).
const (
	maxInputGroup = 64
	inputTimeout  = time.Minute
)

// runInputs sends the queued reads, a group at a time, until the queue
// is empty.
func (d *db) runInputs() {
	g := &d.inputs
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxInputGroup)
		if n == 0 {
			g.busy = false
			g.mu.Unlock()
			return
		}
		group := g.queue[:n:n]
		g.queue = g.queue[n:]
		if len(g.queue) == 0 {
			g.queue = nil
		}
		g.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), inputTimeout)
		d.readInputs(ctx, group)
		cancel()
		for _, r := range group {
			close(r.done)
		}
	}
}

// readInputs runs the reads of group on one connection, natively in pgx
// (the usage arrays decode from the binary format), and records each
// one's answer.
func (d *db) readInputs(ctx context.Context, group []*inputReq) {
	conn, err := d.sql.Conn(ctx)
	if err == nil {
		err = conn.Raw(func(dc any) error {
			pc, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("unexpected driver connection %T", dc)
			}
			if len(group) == 1 {
				r := group[0]
				r.in, r.err = scanInput(pc.Conn().QueryRow(ctx, settlementInputPG, r.customer, r.lo, r.hi))
				return nil
			}
			var b pgx.Batch
			for _, r := range group {
				b.Queue(settlementInputPG, r.customer, r.lo, r.hi)
			}
			br := pc.Conn().SendBatch(ctx, &b)
			for _, r := range group {
				r.in, r.err = scanInput(br.QueryRow())
			}
			// Every member has its answer or its error by now; Close
			// only repeats the first error.
			_ = br.Close()
			return nil
		})
		conn.Close()
	}
	if err != nil {
		for _, r := range group {
			r.err = err
		}
	}
}

// scanInput scans one row of settlementInputPG.
func scanInput(row pgx.Row) (SettlementInput, error) {
	var in SettlementInput
	var enrolled, updated int64
	var attrs string
	var digest *string
	var starts []int64
	var kwhs []float64
	c := &in.Customer
	if err := row.Scan(&c.ID, &c.Name, &c.Tier, &c.TimeZone, &enrolled, &c.Station, &attrs, &updated, &digest, &starts, &kwhs); err != nil {
		return SettlementInput{}, err
	}
	c.EnrolledAt, c.UpdatedAt = fromUS(enrolled), fromUS(updated)
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return SettlementInput{}, fmt.Errorf("attributes: %w", err)
	}
	if digest != nil {
		in.HasModel, in.ModelDigest = true, *digest
	}
	if len(starts) != len(kwhs) {
		return SettlementInput{}, fmt.Errorf("%d usage starts but %d values", len(starts), len(kwhs))
	}
	if len(starts) > 0 {
		in.Usage = make([]UsageReading, len(starts))
		for i := range starts {
			in.Usage[i] = UsageReading{Start: fromUS(starts[i]), KWh: kwhs[i]}
		}
	}
	return in, nil
}

// settlementInput is SettlementInput as the three one-customer reads.
func (d *db) settlementInput(ctx context.Context, customer string, from, to time.Time) (SettlementInput, error) {
	var in SettlementInput
	var err error
	if in.Customer, err = d.Customer(ctx, customer); err != nil {
		return SettlementInput{}, err
	}
	in.ModelDigest, err = d.ModelDigest(ctx, customer)
	switch {
	case err == nil:
		in.HasModel = true
	case !errors.Is(err, ErrNotFound):
		return SettlementInput{}, err
	}
	if in.Usage, err = d.Usage(ctx, customer, from, to); err != nil {
		return SettlementInput{}, err
	}
	return in, nil
}
