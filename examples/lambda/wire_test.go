package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/examples/lambda/internal/ingest"
	"github.com/negawatt/negawatt/ledger"
)

// stores runs f once per storage: SQLite in a temporary directory, and
// PostgreSQL in a fresh schema when NEGAWATT_POSTGRES_URL is set (under
// CI=true it must be: .ci/run starts the server).
func stores(t *testing.T, f func(t *testing.T, st storage)) {
	t.Run("sqlite", func(t *testing.T) { f(t, storage{DataDir: t.TempDir()}) })
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv("NEGAWATT_POSTGRES_URL")
		if base == "" {
			if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
				t.Fatal("NEGAWATT_POSTGRES_URL is not set but CI=true")
			}
			t.Skip("NEGAWATT_POSTGRES_URL is not set")
		}
		f(t, storage{PostgresURL: freshSchema(t, base)})
	})
}

func freshSchema(t *testing.T, base string) string {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := pgx.Identifier{"negawatt_lambda_" + hex.EncodeToString(b[:])}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema.Sanitize()+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema[0])
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, st storage) *app.Service {
	t.Helper()
	svc, closeFn, err := openService(context.Background(), st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := closeFn(); err != nil {
			t.Error(err)
		}
	})
	return svc
}

func appCustomer() app.CustomerInput {
	return app.CustomerInput{Tier: "residential", TimeZone: "UTC", EnrolledAt: "2023-01-01"}
}

func register(t *testing.T, svc *app.Service, id string) {
	t.Helper()
	if _, _, err := svc.PutCustomer(context.Background(), id, appCustomer()); err != nil {
		t.Fatal(err)
	}
}

func TestIngestWired(t *testing.T) {
	stores(t, func(t *testing.T, st storage) {
		ctx := context.Background()
		svc := open(t, st)
		register(t, svc, "c-1")
		var ev events.SQSEvent
		loadJSON(t, "sqs-usage-poison.json", &ev)
		h := ingest.Handler(ingestFunc(svc), quiet)
		wantFailed := []string{"msg-poison", "msg-unknown-customer", "msg-gap"}
		wantRows := []store.UsageReading{
			{Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), KWh: 21.5},
			{Start: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), KWh: 19.25},
		}
		// SQS delivers at least once: the second delivery of the same
		// batch must leave exactly the same rows.
		for delivery := 1; delivery <= 2; delivery++ {
			resp, err := h(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if diff := cmp.Diff(wantFailed, failed); diff != "" {
				t.Errorf("delivery %d: failed messages (-want +got):\n%s", delivery, diff)
			}
			rows, err := svc.Store().Usage(ctx, "c-1", time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				rows[i].Start = rows[i].Start.UTC()
			}
			if diff := cmp.Diff(wantRows, rows); diff != "" {
				t.Errorf("delivery %d: stored usage (-want +got):\n%s", delivery, diff)
			}
		}
	})
}

const ruleSet = `program: lambda-test
version: 1
effective_from: 2024-01-01T00:00:00Z
effective_to: 2030-01-01T00:00:00Z
currency: points
rounding: {places: 1, mode: half-even}
rules:
  - id: monthly-savings
    description: 10 points per kWh saved
    when: savings.kind == "period" && savings.kwh > 0
    points: savings.kwh * 10
`

// seedSettleable gives customer c-1 a fitted CalTRACK daily baseline
// (June 2023 – May 2024), a live rule set and reporting usage 20 % below
// the baseline from June 2024 to early March 2025.
func seedSettleable(t *testing.T, svc *app.Service) {
	t.Helper()
	ctx := context.Background()
	register(t, svc, "c-1")
	first := time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(2025, 3, 8, 0, 0, 0, 0, time.UTC)
	reportFrom := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	var usage []store.UsageReading
	var temp []store.TempReading
	for d, i := first, 0; d.Before(last); d, i = d.AddDate(0, 0, 1), i+1 {
		// A smooth seasonal temperature (°F) and a heating-and-cooling
		// load with a little deterministic wobble.
		tf := 55 + 25*math.Sin(2*math.Pi*float64(d.YearDay()-110)/365.25)
		temp = append(temp, store.TempReading{Start: d, TempF: tf}) // daily means
		kwh := 12 + 0.6*math.Max(0, 60-tf) + 0.8*math.Max(0, tf-70) + 0.5*math.Sin(float64(i)*1.7)
		if !d.Before(reportFrom) {
			kwh *= 0.8
		}
		usage = append(usage, store.UsageReading{Start: d, KWh: kwh})
	}
	if _, err := svc.IngestTemperature(ctx, "c-1", temp); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.IngestUsage(ctx, "c-1", usage); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FitBaseline(ctx, "c-1", app.FitRequest{End: "2024-06-01"}); err != nil {
		t.Fatal(err)
	}
	rs, _, err := svc.UploadRuleSet(ctx, []byte(ruleSet), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PromoteRuleSet(ctx, rs.Version); err != nil {
		t.Fatal(err)
	}
}

func scheduled(at time.Time) events.EventBridgeEvent {
	return events.EventBridgeEvent{ID: "ev-" + at.Format(time.RFC3339), DetailType: "Scheduled Event", Source: "aws.events",
		Time: at, Detail: json.RawMessage(`{}`)}
}

// history returns every transaction key on the customer's account.
func history(t *testing.T, svc *app.Service, customer string) []string {
	t.Helper()
	var keys []string
	q := ledger.HistoryQuery{Account: svc.Account(customer), Limit: 1000}
	for {
		p, err := svc.Ledger().History(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range p.Transactions {
			keys = append(keys, tx.Key)
		}
		if p.Next == "" {
			return keys
		}
		q.Cursor = p.Next
	}
}

func TestNightlyWiredIsIdempotent(t *testing.T) {
	stores(t, func(t *testing.T, st storage) {
		ctx := context.Background()
		svc := open(t, st)
		seedSettleable(t, svc)
		run := nightlyJobs(svc, time.UTC, quiet).Handle

		// 1 March 02:15: yesterday closed February, so the day and the
		// month are settled; everything from June 2024 to February 2025
		// is due.
		night := scheduled(time.Date(2025, 3, 1, 2, 15, 0, 0, time.UTC))
		if err := run(ctx, night); err != nil {
			t.Fatal(err)
		}
		paid := history(t, svc, "c-1")
		b1, err := svc.Balance(ctx, "c-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(paid) != 9 || !b1.Available.IsPositive() {
			t.Fatalf("first night: %d awards (%v), available %s; want 9 monthly awards (Jun 2024 – Feb 2025) and points", len(paid), paid, b1.Available)
		}
		// The same event again (Lambda retries failed async invocations)
		// and the next night: nothing is paid twice.
		for _, ev := range []events.EventBridgeEvent{night, scheduled(time.Date(2025, 3, 2, 2, 15, 0, 0, time.UTC))} {
			if err := run(ctx, ev); err != nil {
				t.Fatal(err)
			}
			b, err := svc.Balance(ctx, "c-1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(paid, history(t, svc, "c-1")); diff != "" || !b.Available.Equal(b1.Available) {
				t.Errorf("re-run at %v paid again: available %s → %s, history (-first +now):\n%s", ev.Time, b1.Available, b.Available, diff)
			}
		}

		// Awards expire at the start of the month 24 months after they
		// were posted (app.ExpiryMonths); a night after that sweeps every
		// lot once, and the next night's sweep moves nothing more.
		expiry := b1.Upcoming[0].At
		for i, ev := range []events.EventBridgeEvent{scheduled(expiry.Add(26 * time.Hour)), scheduled(expiry.Add(50 * time.Hour))} {
			if err := run(ctx, ev); err != nil {
				t.Fatal(err)
			}
			after, err := svc.Ledger().Balance(ctx, svc.Account("c-1"), ev.Time)
			if err != nil {
				t.Fatal(err)
			}
			if !after.Available.IsZero() || !after.Expired.IsZero() {
				t.Errorf("sweep %d: available %s, unswept expired %s; want 0 and 0", i+1, after.Available, after.Expired)
			}
			// The ledger expires lot by lot: one transaction per award.
			if got := len(history(t, svc, "c-1")); got != 2*len(paid) {
				t.Errorf("sweep %d: %d transactions, want %d awards + as many expiries", i+1, got, len(paid))
			}
		}
	})
}
