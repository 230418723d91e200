package postgres

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/negawatt/negawatt/ledger"
)

// snapshotCols is the number of columns snapshotSQL returns.
const snapshotCols = 13

// decodeSnapshot decodes one row of snapshotSQL read in the text format
// (pgx.QueryResultFormats{pgx.TextFormatCode}, so the values are the
// server's own output functions' text): id, kind, flags, currency,
// created_ns, posted, held, then the open lots as parallel arrays seqs,
// postings, expires_ns, amounts, remaining, expired. Decoding the raw
// values directly spares the hottest read pgx's per-query scan plans for
// thirteen columns, six of them arrays (about a tenth of the server's CPU
// per balance read in a profile of the HTTP service).
func decodeSnapshot(v [][]byte) (a ledger.AccountState, lots []ledger.Lot, err error) {
	if len(v) != snapshotCols {
		return a, nil, fmt.Errorf("postgres: account snapshot: %d columns, want %d", len(v), snapshotCols)
	}
	if v[0] == nil || v[1] == nil || v[2] == nil || v[3] == nil || v[5] == nil || v[6] == nil {
		return a, nil, fmt.Errorf("postgres: account snapshot: NULL in a NOT NULL column")
	}
	a.ID, a.Currency = string(v[0]), string(v[3])
	kind, err := strconv.ParseInt(string(v[1]), 10, 16)
	if err != nil {
		return a, nil, fmt.Errorf("postgres: account snapshot %q: kind: %w", a.ID, err)
	}
	flags, err := strconv.ParseInt(string(v[2]), 10, 32)
	if err != nil {
		return a, nil, fmt.Errorf("postgres: account snapshot %q: flags: %w", a.ID, err)
	}
	a.Kind, a.Flags = ledger.AccountKind(kind), ledger.AccountFlags(flags)
	if a.CreatedAt, err = textNS(v[4]); err != nil {
		return a, nil, fmt.Errorf("postgres: account snapshot %q: created_ns: %w", a.ID, err)
	}
	if a.Posted, err = parseDec("posted", string(v[5])); err != nil {
		return a, nil, err
	}
	if a.Held, err = parseDec("held", string(v[6])); err != nil {
		return a, nil, err
	}
	// The six arrays' elements share one backing slice (one allocation).
	var cols [6][][]byte
	all := make([][]byte, 0, 6*(bytes.Count(v[7], []byte{','})+1))
	for i := range cols {
		start := len(all)
		if all, err = textArray(all, v[7+i]); err != nil {
			return a, nil, fmt.Errorf("postgres: account snapshot %q: lot column %d: %w", a.ID, i, err)
		}
		cols[i] = all[start:len(all):len(all)]
		if len(cols[i]) != len(cols[0]) {
			return a, nil, fmt.Errorf("postgres: account snapshot %q: lot arrays of unequal length", a.ID)
		}
	}
	if n := len(cols[0]); n > 0 {
		lots = make([]ledger.Lot, n)
	}
	for i := range lots {
		l := &lots[i]
		l.Account = a.ID
		if cols[0][i] == nil || cols[1][i] == nil || cols[3][i] == nil || cols[4][i] == nil || cols[5][i] == nil {
			return a, nil, fmt.Errorf("postgres: account snapshot %q: lot %d: NULL in a NOT NULL column", a.ID, i)
		}
		seq, err1 := strconv.ParseInt(string(cols[0][i]), 10, 64)
		posting, err2 := strconv.ParseInt(string(cols[1][i]), 10, 32)
		if err1 != nil || err2 != nil {
			return a, nil, fmt.Errorf("postgres: account snapshot %q: lot id %q/%q", a.ID, cols[0][i], cols[1][i])
		}
		l.ID = ledger.LotID{Seq: seq, Posting: int32(posting)}
		if l.ExpiresAt, err = textNS(cols[2][i]); err != nil {
			return a, nil, fmt.Errorf("postgres: account snapshot %q: lot expires_ns: %w", a.ID, err)
		}
		if l.Amount, err = parseDec("lot amount", string(cols[3][i])); err == nil {
			if l.Remaining, err = parseDec("lot remaining", string(cols[4][i])); err == nil {
				l.Expired, err = parseDec("lot expired", string(cols[5][i]))
			}
		}
		if err != nil {
			return a, nil, err
		}
	}
	return a, lots, nil
}

// textNS decodes a nullable int8 of Unix nanoseconds (NULL: the zero time),
// as fromNS does for the binary format.
func textNS(b []byte) (time.Time, error) {
	if b == nil {
		return time.Time{}, nil
	}
	ns, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, ns).UTC(), nil
}

// textArray appends to dst the elements of a one-dimensional array in
// PostgreSQL's text output format ("{1,NULL,\"a b\"}"); an unquoted NULL is
// a nil element, and a NULL array (nil) has none. Quoted elements are unescaped
// (a backslash takes the next byte literally). Multi-dimensional arrays
// and explicit bounds ("[0:1]={...}") are rejected: snapshotSQL's
// array_agg never makes them.
func textArray(dst [][]byte, b []byte) ([][]byte, error) {
	if b == nil {
		return dst, nil
	}
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("not a one-dimensional array: %q", trimmed(b))
	}
	body := b[1 : len(b)-1]
	if len(body) == 0 {
		return dst, nil
	}
	out := dst
	for i := 0; ; {
		if i < len(body) && body[i] == '"' {
			var el []byte
			j := i + 1
			for ; j < len(body) && body[j] != '"'; j++ {
				if body[j] == '\\' {
					j++
					if j == len(body) {
						break
					}
				}
				el = append(el, body[j])
			}
			if j >= len(body) {
				return nil, fmt.Errorf("unterminated quoted element in %q", trimmed(b))
			}
			if el == nil {
				el = []byte{}
			}
			out = append(out, el)
			i = j + 1
		} else {
			j := i
			for j < len(body) && body[j] != ',' {
				if c := body[j]; c == '{' || c == '}' || c == '"' {
					return nil, fmt.Errorf("nested or malformed array %q", trimmed(b))
				}
				j++
			}
			el := bytes.TrimSpace(body[i:j])
			switch {
			case len(el) == 0:
				return nil, fmt.Errorf("empty element in %q", trimmed(b))
			case bytes.EqualFold(el, []byte("NULL")):
				el = nil
			}
			out = append(out, el)
			i = j
		}
		if i == len(body) {
			return out, nil
		}
		if body[i] != ',' {
			return nil, fmt.Errorf("malformed array %q", trimmed(b))
		}
		i++
	}
}

// trimmed keeps error messages short.
func trimmed(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
