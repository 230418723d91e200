package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestMigrateRecordsVersionAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	for i := 0; i < 2; i++ { // the second open finds nothing to do
		s, err := OpenStore(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var n, v int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_version`).Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		if n != SchemaVersion() || v != SchemaVersion() || v < 1 {
			t.Errorf("open %d: schema_version has %d rows, max %d; want %d", i, n, v, SchemaVersion())
		}
		s.Close()
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_version VALUES (?, 'future', 'x')`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenStore(ctx, path); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("open of a newer schema: %v; want ErrSchemaTooNew", err)
	}
}

func TestDurabilityPragmas(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		opt  Synchronous
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{SyncFull, 2}, {SyncNormal, 1}} {
		s, err := OpenStore(ctx, filepath.Join(t.TempDir(), "l.db"), WithSynchronous(tc.opt))
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var sync int
		if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != tc.want {
			t.Errorf("%v writer: journal_mode %s, synchronous %d; want wal, %d", tc.opt, mode, sync, tc.want)
		}
		if err := s.r.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if sync != tc.want {
			t.Errorf("%v reader: synchronous %d; want %d", tc.opt, sync, tc.want)
		}
		// The writer's settings (see dsn): temp_store 2 is MEMORY.
		for _, p := range []struct {
			pragma string
			want   int
		}{{"temp_store", 2}, {"cache_size", -65536}, {"wal_autocheckpoint", 4000}} {
			var got int
			if err := s.w.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != p.want {
				t.Errorf("writer: PRAGMA %s = %d; want %d", p.pragma, got, p.want)
			}
		}
		s.Close()
	}
}
