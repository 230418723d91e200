package platform

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Token errors. Verify wraps exactly one of these, so callers (and tests)
// can tell the cases apart with errors.Is; the HTTP layer maps all of them
// to 401 without saying which, to give an attacker nothing to go on.
var (
	ErrTokenMalformed = errors.New("platform: token malformed")
	ErrTokenSignature = errors.New("platform: token signature invalid")
	ErrTokenExpired   = errors.New("platform: token expired")
	ErrInvalidScope   = errors.New("platform: invalid scope")
	ErrInvalidID      = errors.New("platform: invalid id")
	ErrWeakKey        = errors.New("platform: signing key shorter than 32 bytes")
)

// Role is who a token speaks for.
type Role int

const (
	// RoleOperator may call every endpoint for every customer.
	RoleOperator Role = iota + 1
	// RoleCustomer may only read and spend its own customer's points.
	RoleCustomer
)

func (r Role) String() string {
	switch r {
	case RoleOperator:
		return "operator"
	case RoleCustomer:
		return "customer"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Scope is what a token grants: the operator, or one customer. The zero
// Scope grants nothing.
type Scope struct {
	role       Role
	customerID string
}

// OperatorScope is the scope of the program operator.
func OperatorScope() Scope { return Scope{role: RoleOperator} }

// CustomerScope is the scope of one customer; id must satisfy [ValidID].
func CustomerScope(id string) (Scope, error) {
	if !ValidID(id) {
		return Scope{}, fmt.Errorf("%w: customer id %q", ErrInvalidID, id)
	}
	return Scope{role: RoleCustomer, customerID: id}, nil
}

// ParseScope parses "operator" or "customer:<id>".
func ParseScope(s string) (Scope, error) {
	if s == "operator" {
		return OperatorScope(), nil
	}
	if id, ok := strings.CutPrefix(s, "customer:"); ok {
		sc, err := CustomerScope(id)
		if err != nil {
			return Scope{}, fmt.Errorf("%w %q: %w", ErrInvalidScope, s, err)
		}
		return sc, nil
	}
	return Scope{}, fmt.Errorf("%w %q: want \"operator\" or \"customer:<id>\"", ErrInvalidScope, s)
}

// String is the scope's wire form, the inverse of ParseScope.
func (s Scope) String() string {
	switch s.role {
	case RoleOperator:
		return "operator"
	case RoleCustomer:
		return "customer:" + s.customerID
	}
	return ""
}

// Role reports who the scope speaks for (0 for the zero Scope).
func (s Scope) Role() Role { return s.role }

// CustomerID is the customer of a customer scope.
func (s Scope) CustomerID() (string, bool) { return s.customerID, s.role == RoleCustomer }

// CanAccessCustomer reports whether the scope may act for customer id.
func (s Scope) CanAccessCustomer(id string) bool {
	return s.role == RoleOperator || (s.role == RoleCustomer && s.customerID == id)
}

// ValidID reports whether s is an acceptable customer (or other resource)
// id: 1–64 characters of ASCII letters, digits, '.', '_' and '-', starting
// with a letter or digit. Anything else — quotes, spaces, slashes, SQL or
// path fragments — is rejected before it reaches a handler or a query.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Claims are the verified contents of a token.
type Claims struct {
	Scope     Scope
	ID        string // unique token id; the rate limiter's key
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Signer mints and verifies tokens with one HMAC-SHA256 key.
//
// Token format: "nw1." + base64url(payload) + "." + base64url(mac), where
// payload is JSON {"scp","jti","iat","exp"} and mac is HMAC-SHA256 over
// "nw1." + base64url(payload) (RFC 2104; the construction JWT's HS256 uses,
// without JWT's algorithm negotiation).
type Signer struct {
	key []byte
	now func() time.Time
}

// SignerOption configures a Signer.
type SignerOption func(*Signer)

// WithClock sets the clock used for iat/exp (tests).
func WithClock(now func() time.Time) SignerOption { return func(s *Signer) { s.now = now } }

// NewSigner returns a Signer for key, which must be at least 32 bytes (the
// HMAC-SHA256 output size; RFC 2104 §3 advises keys no shorter).
func NewSigner(key []byte, opts ...SignerOption) (*Signer, error) {
	if len(key) < sha256.Size {
		return nil, ErrWeakKey
	}
	s := &Signer{key: bytes.Clone(key), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// NewRandomKey returns 32 random bytes for a Signer, e.g. when a server
// starts without a configured key.
func NewRandomKey() []byte {
	k := make([]byte, sha256.Size)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
}

const (
	tokenPrefix    = "nw1."
	maxTokenLength = 2048
	// clockSkew tolerates tokens minted by a host whose clock runs a
	// little ahead.
	clockSkew = time.Minute
)

var b64 = base64.RawURLEncoding

type tokenPayload struct {
	Scope    string `json:"scp"`
	ID       string `json:"jti"`
	IssuedAt int64  `json:"iat"`
	Expires  int64  `json:"exp"`
}

// Mint returns a token for scope valid for ttl.
func (s *Signer) Mint(scope Scope, ttl time.Duration) (string, error) {
	if scope.role == 0 {
		return "", fmt.Errorf("%w: zero scope", ErrInvalidScope)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("platform: token ttl %v must be positive", ttl)
	}
	var jti [12]byte
	_, _ = rand.Read(jti[:])
	now := s.now()
	p, err := json.Marshal(tokenPayload{Scope: scope.String(), ID: hex.EncodeToString(jti[:]), IssuedAt: now.Unix(), Expires: now.Add(ttl).Unix()})
	if err != nil {
		return "", err
	}
	signed := tokenPrefix + b64.EncodeToString(p)
	return signed + "." + b64.EncodeToString(s.mac(signed)), nil
}

func (s *Signer) mac(signed string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Verify checks a token's signature (constant time, before looking at the
// payload) and expiry, and returns its claims.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > maxTokenLength || !strings.HasPrefix(token, tokenPrefix) {
		return Claims{}, ErrTokenMalformed
	}
	signed, sig, ok := strings.Cut(token[len(tokenPrefix):], ".")
	if !ok {
		return Claims{}, ErrTokenMalformed
	}
	signed = tokenPrefix + signed
	mac, err := b64.DecodeString(sig)
	if err != nil || len(mac) != sha256.Size {
		return Claims{}, ErrTokenMalformed
	}
	if !hmac.Equal(mac, s.mac(signed)) {
		return Claims{}, ErrTokenSignature
	}
	raw, err := b64.DecodeString(signed[len(tokenPrefix):])
	if err != nil {
		return Claims{}, ErrTokenMalformed
	}
	var p tokenPayload
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrTokenMalformed, err)
	}
	scope, err := ParseScope(p.Scope)
	if err != nil || p.ID == "" || p.Expires <= p.IssuedAt {
		return Claims{}, ErrTokenMalformed
	}
	now := s.now()
	iat, exp := time.Unix(p.IssuedAt, 0), time.Unix(p.Expires, 0)
	if !now.Before(exp) {
		return Claims{}, ErrTokenExpired
	}
	if iat.After(now.Add(clockSkew)) {
		return Claims{}, fmt.Errorf("%w: issued in the future", ErrTokenMalformed)
	}
	return Claims{Scope: scope, ID: p.ID, IssuedAt: iat, ExpiresAt: exp}, nil
}
