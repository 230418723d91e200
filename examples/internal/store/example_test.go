package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/negawatt/negawatt/examples/internal/store"
)

func Example() {
	dir, _ := os.MkdirTemp("", "store")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	day := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	s.PutCustomer(ctx, store.Customer{ID: "c-1", Tier: "gold", TimeZone: "UTC", EnrolledAt: day})
	// Re-sending a period replaces it: uploads are idempotent.
	s.PutUsage(ctx, "c-1", []store.UsageReading{{Start: day, KWh: 20.5}})
	s.PutUsage(ctx, "c-1", []store.UsageReading{{Start: day, KWh: 21}, {Start: day.AddDate(0, 0, 1), KWh: 19}})
	rows, _ := s.Usage(ctx, "c-1", time.Time{}, time.Time{})
	fmt.Println(rows)
	// Output: [{2024-07-01 00:00:00 +0000 UTC 21} {2024-07-02 00:00:00 +0000 UTC 19}]
}
