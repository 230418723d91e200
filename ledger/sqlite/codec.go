package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
)

// timeLayout is fixed-width (every field zero-padded, always nine fractional
// digits, always "Z"), so comparing the text compares the instants; it
// covers years 0000-9999 at nanosecond precision, where unix nanoseconds in
// an INTEGER would stop at 2262.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// checkTime rejects instants the fixed-width layout cannot hold.
func checkTime(field string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("sqlite: %s %v: year outside 0000-9999 cannot be stored", field, t)
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: corrupt time %q: %w", s, err)
	}
	return t, nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

func parseDec(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("sqlite: corrupt amount %q: %w", s, err)
	}
	return d, nil
}

// encodeMeta stores an empty map as NULL, otherwise as the JSON text
// json.Marshal writes (keys sorted). Metadata is usually a few plain ASCII
// tags; those are written directly, without reflection, to the same text
// (TestEncodeMetaMatchesJSON checks it against json.Marshal).
func encodeMeta(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	if s, ok := encodePlainMeta(m); ok {
		return s, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// encodePlainMeta writes m as json.Marshal would when every key and value
// is printable ASCII that JSON needs no escape for (json.Marshal also
// escapes <, > and & for HTML); ok is false otherwise.
func encodePlainMeta(m map[string]string) (string, bool) {
	var buf [8]string
	keys := buf[:0]
	n := 1
	for k, v := range m {
		if !plainJSON(k) || !plainJSON(v) {
			return "", false
		}
		keys = append(keys, k)
		n += len(k) + len(v) + 6
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(k)
		b.WriteString(`":"`)
		b.WriteString(m[k])
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), true
}

func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

func decodeMeta(s sql.NullString) (map[string]string, error) {
	if !s.Valid {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("sqlite: corrupt metadata %q: %w", s.String, err)
	}
	return m, nil
}

// lotUses are stored as JSON arrays [posting, lot seq, lot posting, "amount"]:
// compact, and readable with SQLite's JSON functions.
func encodeUses(us []ledger.LotUse) (any, error) {
	if len(us) == 0 {
		return nil, nil
	}
	rows := make([][4]any, len(us))
	for i, u := range us {
		rows[i] = [4]any{u.Posting, u.Lot.Seq, u.Lot.Posting, u.Amount.String()}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func decodeUses(s sql.NullString) ([]ledger.LotUse, error) {
	if !s.Valid {
		return nil, nil
	}
	var raw [][4]json.RawMessage
	if err := json.Unmarshal([]byte(s.String), &raw); err != nil {
		return nil, fmt.Errorf("sqlite: corrupt lot uses %q: %w", s.String, err)
	}
	us := make([]ledger.LotUse, len(raw))
	for i, r := range raw {
		var amt string
		if err := json.Unmarshal(r[0], &us[i].Posting); err != nil {
			return nil, fmt.Errorf("sqlite: corrupt lot uses %q: %w", s.String, err)
		}
		if err := json.Unmarshal(r[1], &us[i].Lot.Seq); err != nil {
			return nil, fmt.Errorf("sqlite: corrupt lot uses %q: %w", s.String, err)
		}
		if err := json.Unmarshal(r[2], &us[i].Lot.Posting); err != nil {
			return nil, fmt.Errorf("sqlite: corrupt lot uses %q: %w", s.String, err)
		}
		if err := json.Unmarshal(r[3], &amt); err != nil {
			return nil, fmt.Errorf("sqlite: corrupt lot uses %q: %w", s.String, err)
		}
		d, err := parseDec(amt)
		if err != nil {
			return nil, err
		}
		us[i].Amount = d
	}
	return us, nil
}

// jsonStrings encodes ids as a JSON array, bound to one "json_each(?)"
// parameter so a single prepared statement serves any number of IDs.
func jsonStrings(ids []string) (string, error) {
	b, err := json.Marshal(ids)
	return string(b), err
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
