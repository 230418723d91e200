package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
)

func TestTextArray(t *testing.T) {
	tests := []struct {
		in   string
		null bool
		want []string // "<nil>" for a NULL element
		bad  bool
	}{
		{null: true},
		{in: "{}"},
		{in: "{1}", want: []string{"1"}},
		{in: "{1,-2,3}", want: []string{"1", "-2", "3"}},
		{in: "{NULL,5,null}", want: []string{"<nil>", "5", "<nil>"}},
		{in: "{10.50,0,-0.25}", want: []string{"10.50", "0", "-0.25"}},
		{in: `{"a b","x\"y","",NULL,"NULL"}`, want: []string{"a b", `x"y`, "", "<nil>", "NULL"}},
		{in: `{"a\\b"}`, want: []string{`a\b`}},
		{in: "", bad: true},
		{in: "{", bad: true},
		{in: "1,2", bad: true},
		{in: "{{1,2},{3,4}}", bad: true},
		{in: "[0:1]={1,2}", bad: true},
		{in: "{1,,2}", bad: true},
		{in: "{1,}", bad: true},
		{in: `{"unterminated}`, bad: true},
		{in: `{"a"b}`, bad: true},
	}
	for _, tt := range tests {
		var in []byte
		if !tt.null {
			in = []byte(tt.in)
		}
		got, err := textArray(nil, in)
		if tt.bad {
			if err == nil {
				t.Errorf("textArray(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("textArray(%q): %v", tt.in, err)
			continue
		}
		var gs []string
		if got != nil {
			gs = []string{}
		}
		for _, g := range got {
			if g == nil {
				gs = append(gs, "<nil>")
			} else {
				gs = append(gs, string(g))
			}
		}
		if diff := cmp.Diff(tt.want, gs); diff != "" {
			t.Errorf("textArray(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestTextArrayAppends(t *testing.T) {
	got, err := textArray([][]byte{[]byte("kept")}, []byte("{1,NULL}"))
	if err != nil || len(got) != 3 || string(got[0]) != "kept" || string(got[1]) != "1" || got[2] != nil {
		t.Errorf("textArray appended %q, %v; want [kept 1 <nil>]", got, err)
	}
}

func TestDecodeSnapshot(t *testing.T) {
	row := func(vals ...string) [][]byte {
		out := make([][]byte, len(vals))
		for i, v := range vals {
			if v != "<nil>" {
				out[i] = []byte(v)
			}
		}
		return out
	}
	at := time.Unix(0, 1767225600000000000).UTC()
	a, lots, err := decodeSnapshot(row("customer/1", "1", "1", "PTS", "1767225600000000000", "12.50", "0",
		"{7,9}", "{0,1}", "{1767225600000000000,NULL}", "{10.00,2.50}", "{10.00,2.50}", "{0,0}"))
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.AccountState{Account: ledger.Account{ID: "customer/1", Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative,
		Currency: "PTS", CreatedAt: at}, Posted: decimal.RequireFromString("12.50"), Held: decimal.Zero}
	wantLots := []ledger.Lot{
		{ID: ledger.LotID{Seq: 7, Posting: 0}, Account: "customer/1", ExpiresAt: at, Amount: decimal.RequireFromString("10.00"),
			Remaining: decimal.RequireFromString("10.00"), Expired: decimal.Zero},
		{ID: ledger.LotID{Seq: 9, Posting: 1}, Account: "customer/1", Amount: decimal.RequireFromString("2.50"),
			Remaining: decimal.RequireFromString("2.50"), Expired: decimal.Zero},
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("account (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantLots, lots); diff != "" {
		t.Errorf("lots (-want +got):\n%s", diff)
	}

	// An account without open lots: the lateral aggregate is NULL.
	a, lots, err = decodeSnapshot(row("x", "2", "0", "PTS", "<nil>", "-3", "1.5", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>"))
	if err != nil || lots != nil || !a.CreatedAt.IsZero() || a.Held.String() != "1.5" || a.Posted.String() != "-3" {
		t.Errorf("no lots: %+v %v %v", a, lots, err)
	}

	good := []string{"c", "1", "1", "PTS", "5", "1", "0", "{1}", "{0}", "{5}", "{1}", "{1}", "{0}"}
	for i, bad := range map[int]string{
		0: "<nil>", 1: "x", 2: "99999999999", 4: "soon", 5: "one", 6: "<nil>",
		7: "{1,2}", 8: "{x}", 9: "{later}", 10: "{NULL}", 11: "{1.2.3}", 12: "1",
	} {
		vals := append([]string(nil), good...)
		vals[i] = bad
		if _, _, err := decodeSnapshot(row(vals...)); err == nil {
			t.Errorf("column %d = %q: no error", i, bad)
		}
	}
	if _, _, err := decodeSnapshot(row(good[:12]...)); err == nil || !strings.Contains(err.Error(), "columns") {
		t.Errorf("12 columns: err %v", err)
	}
}

// FuzzTextArray checks that textArray never panics and that what it
// accepts re-encodes (quoting every element) to an array it reads back
// the same.
func FuzzTextArray(f *testing.F) {
	for _, s := range []string{"{}", "{1,2}", `{"a,b",NULL}`, `{"\\""}`, "{{1}}", "{1,", `{"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := textArray(nil, in)
		if err != nil || in == nil {
			return
		}
		var b strings.Builder
		b.WriteByte('{')
		for i, el := range got {
			if i > 0 {
				b.WriteByte(',')
			}
			if el == nil {
				b.WriteString("NULL")
				continue
			}
			b.WriteByte('"')
			for _, c := range el {
				if c == '"' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			}
			b.WriteByte('"')
		}
		b.WriteByte('}')
		again, err := textArray(nil, []byte(b.String()))
		if err != nil {
			t.Fatalf("re-encoded %q: %v", b.String(), err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("round trip of %q via %q (-first +again):\n%s", in, b.String(), diff)
		}
	})
}
