package ledger

import (
	"testing"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// TestAppendDec: the allocation-free canonical form of an amount is
// byte-for-byte decimal.String, which stored idempotency hashes were
// computed with.
func TestAppendDec(t *testing.T) {
	for _, s := range []string{"0", "0.00", "-0.0", "1", "1.5", "1.50", "12.34", "0.001", "0.0010",
		"-0.05", "100", "1e3", "1.5e2", "-7e-20", "123456789012345678", "1234567890123456789",
		"99999999999999999999.99", "-0.000000000000000001", "1e18", "1e-18", "5e19"} {
		d := decimal.RequireFromString(s)
		if got, want := string(appendDec(nil, d)), d.String(); got != want {
			t.Errorf("appendDec(%s) = %q, want %q", s, got, want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		c := rapid.Int64().Draw(t, "coefficient")
		e := rapid.Int32Range(-25, 25).Draw(t, "exponent")
		d := decimal.New(c, e)
		if got, want := string(appendDec([]byte("x"), d)), "x"+d.String(); got != want {
			t.Fatalf("appendDec(New(%d, %d)) = %q, want %q", c, e, got, want)
		}
	})
}

// TestToUnits: amounts convert to exact integer units of the scale, or
// report that they cannot.
func TestToUnits(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale int32
		want  int64
		ok    bool
	}{
		{"12.34", 2, 1234, true},
		{"12.3", 2, 1230, true},
		{"12.340", 2, 1234, true},
		{"12.345", 2, 0, false},
		{"-5", 2, -500, true},
		{"0", 2, 0, true},
		{"1e3", 0, 1000, true},
		{"9999999999999999.99", 2, 999999999999999999, true},
		{"10000000000000000", 2, maxUnits, true},
		{"10000000000000000.01", 2, 0, false}, // over maxUnits
		{"123456789012345678901", 0, 0, false},
	} {
		got, ok := toUnits(decimal.RequireFromString(tc.in), tc.scale)
		if got != tc.want || ok != tc.ok {
			t.Errorf("toUnits(%s, %d) = %d, %v; want %d, %v", tc.in, tc.scale, got, ok, tc.want, tc.ok)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		c := rapid.Int64Range(-maxUnits+1, maxUnits-1).Draw(t, "coefficient")
		e := rapid.Int32Range(-20, 20).Draw(t, "exponent")
		scale := rapid.Int32Range(0, 18).Draw(t, "scale")
		d := decimal.New(c, e)
		u, ok := toUnits(d, scale)
		if ok && !decimal.New(u, -scale).Equal(d) {
			t.Fatalf("toUnits(%s, %d) = %d, not equal", d, scale, u)
		}
		if !ok && d.Equal(d.Truncate(scale)) && d.Abs().LessThan(decimal.New(maxUnits/pow10[scale], 0)) {
			t.Fatalf("toUnits(%s, %d) refused an exact amount", d, scale)
		}
	})
}
