package ledger

import "testing"

// FuzzDecodeCursor: History cursors come back from HTTP clients; any string
// must give a cursor or a FieldError, never a panic, and a cursor we made
// must decode to what we encoded.
func FuzzDecodeCursor(f *testing.F) {
	f.Add("", false)
	f.Add(encodeCursor(42, false), false)
	f.Add(encodeCursor(7, true), true)
	f.Add("djEuYS4tMQ", false) // "v1.a.-1"
	f.Add("garbage!", true)
	f.Fuzz(func(t *testing.T, c string, desc bool) {
		seq, err := decodeCursor(c, desc)
		if err != nil {
			return
		}
		if c != "" && seq <= 0 {
			t.Fatalf("decodeCursor(%q) = %d without error", c, seq)
		}
		if c != "" {
			if back, err := decodeCursor(encodeCursor(seq, desc), desc); err != nil || back != seq {
				t.Fatalf("round trip of %d: %d, %v", seq, back, err)
			}
		}
	})
}
