package app

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// TestBalanceViewAppendJSON: the reflection-free encoding of a balance is
// byte for byte what encoding/json produces, for any customer string,
// instant (UTC or not, any year) and amounts.
func TestBalanceViewAppendJSON(t *testing.T) {
	dec, instant := genDecimal(), genInstant()
	rapid.Check(t, func(t *rapid.T) {
		v := BalanceView{
			Customer: rapid.String().Draw(t, "customer"), AsOf: instant.Draw(t, "as_of"),
			Available: dec.Draw(t, "a"), Held: dec.Draw(t, "h"), Posted: dec.Draw(t, "p"),
			Expired: dec.Draw(t, "e"), PendingExpiry: dec.Draw(t, "pe"),
		}
		if n := rapid.IntRange(-1, 3).Draw(t, "upcoming"); n >= 0 {
			v.Upcoming = []ExpiryView{}
			for range n {
				v.Upcoming = append(v.Upcoming, ExpiryView{At: instant.Draw(t, "at"), Points: dec.Draw(t, "pts")})
			}
		}
		type plain BalanceView // no AppendJSON: what encoding/json does
		want, wantErr := json.Marshal(plain(v))
		got, err := v.AppendJSON(nil)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("AppendJSON error %v, json.Marshal error %v", err, wantErr)
		}
		if err == nil && string(got) != string(want) {
			t.Fatalf("AppendJSON\n%s\njson.Marshal\n%s", got, want)
		}
	})
}

// genDecimal draws amounts of any sign with up to six decimal places, or
// with trailing zeros (positive exponents).
func genDecimal() *rapid.Generator[decimal.Decimal] {
	return rapid.Custom(func(t *rapid.T) decimal.Decimal {
		return decimal.New(rapid.Int64().Draw(t, "coef"), int32(rapid.IntRange(-6, 3).Draw(t, "exp")))
	})
}

// genInstant draws instants from about 250 BC to AD 10,200, in UTC or in
// a fixed zone up to ±30 hours off.
func genInstant() *rapid.Generator[time.Time] {
	return rapid.Custom(func(t *rapid.T) time.Time {
		tm := time.Unix(rapid.Int64Range(-70000000000, 260000000000).Draw(t, "s"), rapid.Int64Range(0, 999999999).Draw(t, "ns")).UTC()
		if rapid.Bool().Draw(t, "zoned") {
			tm = tm.In(time.FixedZone("z", rapid.IntRange(-30*3600, 30*3600).Draw(t, "off")))
		}
		return tm
	})
}
