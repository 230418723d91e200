package app

import (
	"errors"
	"testing"
)

// FuzzParseUsageCSV: any input gives readings or row errors, never a
// panic, and never both.
func FuzzParseUsageCSV(f *testing.F) {
	for _, s := range []string{
		"start,value\n2024-01-01T00:00:00Z,1.5\n2024-01-02T00:00:00Z,\n",
		"start,value\n\"2024-01-01,1\n",
		"value,start\n3,2024-01-01T00:00:00+02:00\n",
		"start,value\n2024-01-01T00:00:00Z,NaN\n2024-01-01T00:00:00Z,1\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ParseUsageCSV(b)
		var re RowErrors
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("error %v is not RowErrors", err)
		}
		if err != nil && len(rows) > 0 {
			t.Fatalf("rows returned with errors")
		}
		for _, r := range rows {
			if r.KWh < 0 || r.KWh != r.KWh {
				t.Fatalf("bad reading accepted: %+v", r)
			}
		}
		_, _ = ParseTemperatureCSV(b)
	})
}
