package sqlite

import (
	"encoding/json"
	"testing"

	"pgregory.net/rapid"
)

// TestEncodeMetaMatchesJSON: the direct encoder writes exactly the text
// json.Marshal writes, for plain tags and for anything needing escapes.
func TestEncodeMetaMatchesJSON(t *testing.T) {
	str := rapid.OneOf(
		rapid.StringMatching(`[a-z0-9/_.-]{0,12}`),
		rapid.String(), // unicode, quotes, control characters, <>&...
	)
	for _, m := range []map[string]string{
		{"rule": "r1", "customer": "42", "program": "p"},
		{"b": "1", "a": "2", "": ""},
		{"html": "<b>"}, {"amp": "a&b"}, {"gt": ">"},
		{"quote": `"`, `back\slash`: "é", "ctl": "\x01\n", "del": "\x7f"},
		{"bad utf-8": "\xff"},
	} {
		got, _ := encodeMeta(m)
		want, _ := json.Marshal(m)
		if got != string(want) {
			t.Errorf("encodeMeta(%q) = %s; json.Marshal = %s", m, got, want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.MapOf(str, str).Draw(t, "meta")
		got, err := encodeMeta(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			if got != nil {
				t.Fatalf("encodeMeta(empty) = %v; want nil (NULL)", got)
			}
			return
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Fatalf("encodeMeta = %s; json.Marshal = %s", got, want)
		}
	})
}
