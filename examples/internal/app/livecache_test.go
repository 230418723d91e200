package app

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestLiveProgramCache: settlements use the cached live rule set, and a
// promotion or rollback through the service switches it at once; another
// service on the same store (another process) sees the switch once its
// cache is liveTTL old.
func TestLiveProgramCache(t *testing.T) {
	t.Parallel()
	s := newSQLiteService(t)
	ctx := context.Background()
	if err := LoadDemo(ctx, s, "../../../testdata"); err != nil {
		t.Fatal(err)
	}
	other, err := NewService(ctx, s.store, s.ledger)
	if err != nil {
		t.Fatal(err)
	}
	live := func(s *Service) int {
		t.Helper()
		p, err := s.liveProgram(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p.Version()
	}
	if v, w := live(s), live(other); v != 1 || w != 1 {
		t.Fatalf("live versions %d and %d, want 1", v, w)
	}
	v2 := strings.Replace(string(DemoRules), "version: 1", "version: 2", 1)
	if _, _, err := s.UploadRuleSet(ctx, []byte(v2), false); err != nil {
		t.Fatal(err)
	}
	if v := live(s); v != 1 {
		t.Fatalf("after upload: live %d, want 1 (a candidate is not live)", v)
	}
	if _, err := s.PromoteRuleSet(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if v := live(s); v != 2 {
		t.Fatalf("after promote: live %d, want 2", v)
	}
	res, err := s.Settle(ctx, SettleRequest{From: "2014-03-01", To: "2014-04-01"})
	if err != nil {
		t.Fatal(err)
	}
	if res.RuleSet.Version != 2 {
		t.Errorf("settled with version %d after promote, want 2", res.RuleSet.Version)
	}
	if v := live(other); v != 1 {
		t.Fatalf("other service within liveTTL: live %d, want its cached 1", v)
	}
	other.mu.Lock()
	other.liveAt = other.liveAt.Add(-liveTTL - time.Millisecond)
	other.mu.Unlock()
	if v := live(other); v != 2 {
		t.Fatalf("other service after liveTTL: live %d, want 2", v)
	}
	if _, err := s.RollbackRuleSet(ctx); err != nil {
		t.Fatal(err)
	}
	if v := live(s); v != 1 {
		t.Fatalf("after rollback: live %d, want 1", v)
	}
	res, err = s.Settle(ctx, SettleRequest{From: "2014-03-01", To: "2014-04-01"})
	if err != nil {
		t.Fatal(err)
	}
	if res.RuleSet.Version != 1 {
		t.Errorf("settled with version %d after rollback, want 1", res.RuleSet.Version)
	}
}
