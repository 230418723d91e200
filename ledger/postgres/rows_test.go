package postgres

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/negawatt/negawatt/ledger"
)

// Instants in the storable range come back as the same instant, to the
// nanosecond; the zero time is NULL and comes back zero.
func TestNSRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ns := rapid.Int64Range(math.MinInt64, math.MaxInt64).Draw(t, "ns")
		in := time.Unix(0, ns).In(time.FixedZone("z", rapid.IntRange(-14*3600, 14*3600).Draw(t, "offset")))
		v, err := toNS("t", in)
		if err != nil {
			t.Fatalf("toNS(%s): %v", in, err)
		}
		if out := fromNS(v); !out.Equal(in) {
			t.Fatalf("round trip %s → %d → %s", in, v.Int64, out)
		}
		if clampNS(in) != ns {
			t.Fatalf("clampNS(%s) = %d, want %d", in, clampNS(in), ns)
		}
	})
	if v, err := toNS("t", time.Time{}); err != nil || v.Valid || !fromNS(v).IsZero() {
		t.Fatalf("zero time: %v %v", v, err)
	}
	for _, y := range []int{1600, 2300} {
		in := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := toNS("t", in); !errors.Is(err, ErrTimeRange) {
			t.Errorf("toNS(%d): got %v, want ErrTimeRange", y, err)
		}
	}
	if clampNS(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)) != math.MinInt64 ||
		clampNS(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)) != math.MaxInt64 {
		t.Error("clampNS does not clamp bounds outside the storable range")
	}
}

// Lot uses and metadata survive their JSON column exactly; empty ones are
// stored as NULL and read back as nil.
func TestJSONColumnsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 5).Draw(t, "n")
		var us []ledger.LotUse
		for i := range n {
			us = append(us, ledger.LotUse{
				Posting: rapid.Int32().Draw(t, "posting"),
				Lot:     ledger.LotID{Seq: rapid.Int64().Draw(t, "seq"), Posting: rapid.Int32().Draw(t, "lot")},
				Amount:  decimal.New(rapid.Int64().Draw(t, "coef"), -int32(rapid.IntRange(0, 18).Draw(t, "scale"))),
			})
			_ = i
		}
		b, err := encodeLotUses(us)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeLotUses(b)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(us, got, cmpOpts); d != "" {
			t.Fatalf("lot uses round trip (-in +out):\n%s", d)
		}
		m := rapid.MapOf(rapid.String(), rapid.String()).Draw(t, "meta")
		mb, err := encodeMeta(m)
		if err != nil {
			t.Fatal(err)
		}
		gm, err := decodeMeta(mb)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			if mb != nil || gm != nil {
				t.Fatalf("empty metadata stored as %q, read as %v; want NULL and nil", mb, gm)
			}
			return
		}
		if d := cmp.Diff(m, gm); d != "" {
			t.Fatalf("metadata round trip (-in +out):\n%s", d)
		}
	})
}

// FuzzDecodeLotUses: whatever sits in the consumed/reserved column (a DBA's
// edit, a corrupted row), decoding returns an error or lot uses, never
// panics.
func FuzzDecodeLotUses(f *testing.F) {
	f.Add([]byte(`[{"p":0,"s":12,"l":1,"a":"1.50"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"a":"x"}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		us, err := decodeLotUses(b)
		if err != nil {
			return
		}
		again, err := encodeLotUses(us)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeLotUses(again)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", again, err)
		}
		if d := cmp.Diff(us, back, cmpOpts); d != "" {
			t.Fatalf("decode∘encode not stable (-first +second):\n%s", d)
		}
	})
}
