package platform

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

var t0 = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func mustSigner(t testing.TB, key []byte, now func() time.Time) *Signer {
	t.Helper()
	s, err := NewSigner(key, WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustMint(t testing.TB, s *Signer, scope Scope, ttl time.Duration) string {
	t.Helper()
	tok, err := s.Mint(scope, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustCustomer(t testing.TB, id string) Scope {
	t.Helper()
	sc, err := CustomerScope(id)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestTokenRoundTrip(t *testing.T) {
	s := mustSigner(t, testKey, fixedClock(t0))
	for _, scope := range []Scope{OperatorScope(), mustCustomer(t, "c-42")} {
		tok := mustMint(t, s, scope, time.Hour)
		c, err := s.Verify(tok)
		if err != nil {
			t.Fatalf("Verify(%s): %v", scope, err)
		}
		if c.Scope != scope || !c.IssuedAt.Equal(t0) || !c.ExpiresAt.Equal(t0.Add(time.Hour)) || len(c.ID) != 24 {
			t.Errorf("claims = %+v", c)
		}
	}
}

func TestTokenRejections(t *testing.T) {
	s := mustSigner(t, testKey, fixedClock(t0))
	good := mustMint(t, s, mustCustomer(t, "alice"), time.Hour)
	payload, sig, _ := strings.Cut(strings.TrimPrefix(good, "nw1."), ".")

	// Re-encode the payload naming another customer but keep alice's
	// signature: the classic privilege-escalation attempt.
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := "nw1." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "customer:alice", "customer:bob", 1))) + "." + sig
	opForged := "nw1." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "customer:alice", "operator", 1))) + "." + sig
	otherKey := mustSigner(t, []byte("ffffffffffffffffffffffffffffffff"), fixedClock(t0))
	expired := mustSigner(t, testKey, fixedClock(t0.Add(-2*time.Hour)))
	future := mustSigner(t, testKey, fixedClock(t0.Add(time.Hour)))
	// Change one signature character to another valid base64url one.
	flipped := []byte(good)
	if flipped[len(flipped)-3] == 'A' {
		flipped[len(flipped)-3] = 'B'
	} else {
		flipped[len(flipped)-3] = 'A'
	}

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrTokenMalformed},
		{"no prefix", strings.TrimPrefix(good, "nw1."), ErrTokenMalformed},
		{"jwt-shaped", "eyJhbGciOiJub25lIn0.eyJzY3AiOiJvcGVyYXRvciJ9.", ErrTokenMalformed},
		{"no signature", "nw1." + payload, ErrTokenMalformed},
		{"short signature", "nw1." + payload + ".AAAA", ErrTokenMalformed},
		{"huge", "nw1." + strings.Repeat("A", 5000) + "." + sig, ErrTokenMalformed},
		{"forged customer", forged, ErrTokenSignature},
		{"forged operator", opForged, ErrTokenSignature},
		{"changed signature character", string(flipped), ErrTokenSignature},
		{"other key", mustMint(t, otherKey, OperatorScope(), time.Hour), ErrTokenSignature},
		{"expired", mustMint(t, expired, OperatorScope(), time.Hour), ErrTokenExpired},
		{"issued in the future", mustMint(t, future, OperatorScope(), time.Hour), ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Verify(tt.token)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTokenAnyByteChangeIsRejected(t *testing.T) {
	s := mustSigner(t, testKey, fixedClock(t0))
	tok := mustMint(t, s, mustCustomer(t, "c1"), time.Hour)
	rapid.Check(t, func(rt *rapid.T) {
		i := rapid.IntRange(0, len(tok)-1).Draw(rt, "index")
		c := rapid.ByteRange(0x21, 0x7e).Draw(rt, "byte")
		if tok[i] == c {
			rt.Skip("same byte")
		}
		b := []byte(tok)
		b[i] = c
		if claims, err := s.Verify(string(b)); err == nil {
			// Base64 has non-canonical encodings of the final character;
			// accepting one is only harmless if it decodes to the same
			// signature and claims.
			if claims.Scope.String() != "customer:c1" {
				rt.Fatalf("modified token %q accepted with scope %s", b, claims.Scope)
			}
		}
	})
}

func TestNewSignerRejectsShortKey(t *testing.T) {
	if _, err := NewSigner([]byte("short")); !errors.Is(err, ErrWeakKey) {
		t.Errorf("err = %v, want ErrWeakKey", err)
	}
	if len(NewRandomKey()) != 32 {
		t.Error("NewRandomKey length")
	}
}

func TestMintRejects(t *testing.T) {
	s := mustSigner(t, testKey, fixedClock(t0))
	if _, err := s.Mint(Scope{}, time.Hour); !errors.Is(err, ErrInvalidScope) {
		t.Errorf("zero scope: %v", err)
	}
	if _, err := s.Mint(OperatorScope(), 0); err == nil {
		t.Error("zero ttl accepted")
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"operator", "operator", false},
		{"customer:c-1", "customer:c-1", false},
		{"customer:", "", true},
		{"customer:a b", "", true},
		{"Operator", "", true},
		{"admin", "", true},
		{"customer:1' OR '1'='1", "", true},
	}
	for _, tt := range tests {
		sc, err := ParseScope(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseScope(%q) error = %v", tt.in, err)
			continue
		}
		if err != nil && !errors.Is(err, ErrInvalidScope) {
			t.Errorf("ParseScope(%q) error %v is not ErrInvalidScope", tt.in, err)
		}
		if sc.String() != tt.want {
			t.Errorf("ParseScope(%q) = %q, want %q", tt.in, sc, tt.want)
		}
	}
}

func TestValidID(t *testing.T) {
	ok := []string{"a", "C-42", "meter_7.b", strings.Repeat("x", 64)}
	bad := []string{"", "-a", ".hidden", "..", "a b", "1' OR '1'='1", "1;DROP TABLE ledger;--", "a/b", "ü", "a\x00", strings.Repeat("x", 65), "%27"}
	var got []string
	for _, s := range ok {
		if !ValidID(s) {
			got = append(got, "rejected "+s)
		}
	}
	for _, s := range bad {
		if ValidID(s) {
			got = append(got, "accepted "+s)
		}
	}
	if diff := cmp.Diff([]string(nil), got); diff != "" {
		t.Error(diff)
	}
}

func FuzzVerify(f *testing.F) {
	s := mustSigner(f, testKey, fixedClock(t0))
	f.Add(mustMint(f, s, OperatorScope(), time.Hour))
	f.Add("nw1.e30.AAAA")
	f.Add("nw1..")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok)
		if err == nil && c.Scope.Role() == 0 {
			t.Fatalf("accepted token %q with zero scope", tok)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	s := mustSigner(b, testKey, fixedClock(t0))
	tok := mustMint(b, s, mustCustomer(b, "c-42"), time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
