package token

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crm-mcp/crm-mcp/internal/jose"
)

// ErrInvalidToken is wrapped by every verification failure. The wrapped
// reason is for logs and tests; clients only ever learn "invalid_token".
var ErrInvalidToken = errors.New("invalid access token")

// AccessType is the JWT typ of access tokens (RFC 9068 §2.1), so that no
// other JWT (a service token, an ID token) passes as one (RFC 8725 §3.11).
const AccessType = "at+jwt"

// MaxLeeway caps clock-skew tolerance.
const MaxLeeway = 30 * time.Second

// maxTokenBytes bounds what Verify parses; real tokens are ~600 bytes.
const maxTokenBytes = 4096

// AccessClaims is the identity an access token carries.
type AccessClaims struct {
	Issuer    string
	Audience  string
	Subject   string // user id
	TenantID  string
	Email     string
	Scopes    []string
	ClientID  string
	JTI       string
	FamilyID  string // refresh family the token came from; revoking the family revokes it
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// AccessOptions configures an [AccessIssuer].
type AccessOptions struct {
	// Issuer is the authorization server's issuer identifier (its public URL).
	Issuer string
	// Audience is the canonical MCP resource URL tokens are minted for.
	Audience string
	// TTL is the access token lifetime. If zero, defaults to one hour.
	TTL time.Duration
	// Leeway is the clock-skew tolerance. If zero, defaults to 30s; capped at
	// [MaxLeeway].
	Leeway time.Duration
	// Now returns the current time. If nil, defaults to time.Now.
	Now func() time.Time
}

// AccessIssuer mints and verifies access tokens. Safe for concurrent use.
type AccessIssuer struct {
	ring *KeyRing
	opts AccessOptions
}

// NewAccessIssuer returns an issuer signing with ring's signing key.
func NewAccessIssuer(ring *KeyRing, opts AccessOptions) (*AccessIssuer, error) {
	if ring == nil || opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("new access issuer: key ring, issuer and audience are required")
	}
	if opts.TTL == 0 {
		opts.TTL = time.Hour
	}
	if opts.Leeway == 0 {
		opts.Leeway = MaxLeeway
	}
	if opts.Leeway < 0 || opts.Leeway > MaxLeeway {
		return nil, fmt.Errorf("new access issuer: leeway %s outside (0, %s]", opts.Leeway, MaxLeeway)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &AccessIssuer{ring: ring, opts: opts}, nil
}

// TTL is the lifetime of minted tokens.
func (a *AccessIssuer) TTL() time.Duration { return a.opts.TTL }

// Mint signs a token for c. Issuer, Audience, JTI, IssuedAt and ExpiresAt
// are set here; the filled-in claims are returned.
func (a *AccessIssuer) Mint(c AccessClaims) (string, AccessClaims, error) {
	if c.Subject == "" || c.TenantID == "" || c.ClientID == "" {
		return "", AccessClaims{}, errors.New("mint access token: subject, tenant and client are required")
	}
	now := a.opts.Now().Truncate(time.Second)
	c.Issuer, c.Audience = a.opts.Issuer, a.opts.Audience
	c.IssuedAt, c.ExpiresAt = now, now.Add(a.opts.TTL)
	c.JTI = newJTI()
	claims := jwt.MapClaims{
		"iss":       c.Issuer,
		"aud":       c.Audience,
		"sub":       c.Subject,
		"tenant":    c.TenantID,
		"scope":     strings.Join(c.Scopes, " "),
		"client_id": c.ClientID,
		"jti":       c.JTI,
		"iat":       c.IssuedAt.Unix(),
		"exp":       c.ExpiresAt.Unix(),
	}
	if c.Email != "" {
		claims["email"] = c.Email
	}
	if c.FamilyID != "" {
		claims["fid"] = c.FamilyID
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = a.ring.signing.ID
	t.Header["typ"] = AccessType
	s, err := t.SignedString(a.ring.signing.Secret)
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("mint access token: %w", err)
	}
	return s, c, nil
}

func newJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// Verify checks raw and returns its claims. Every failure wraps
// [ErrInvalidToken].
func (a *AccessIssuer) Verify(raw string) (AccessClaims, error) {
	if len(raw) > maxTokenBytes {
		return AccessClaims{}, invalid("oversized")
	}
	// Compact serialisation only: three base64url segments, nothing else
	// (no whitespace, padding, JSON serialisation or extra segments).
	if strings.Count(raw, ".") != 2 || strings.IndexFunc(raw, notCompactChar) >= 0 {
		return AccessClaims{}, invalid("malformed")
	}
	// The signature is checked with golang-jwt's HS256 primitive directly:
	// its general parser would decode header and claims into maps first,
	// which costs several times the rest of verification, and this
	// decoder decodes each part once, strictly.
	head, rest, _ := strings.Cut(raw, ".")
	body, sig, _ := strings.Cut(rest, ".")
	kid, err := checkHeader(head)
	if err != nil {
		return AccessClaims{}, err
	}
	secret, ok := a.ring.lookup(kid)
	if !ok {
		return AccessClaims{}, invalid("unknown kid")
	}
	sigBytes, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(sigBytes) != 32 {
		return AccessClaims{}, invalid("signature encoding")
	}
	if err := jwt.SigningMethodHS256.Verify(raw[:len(head)+1+len(body)], sigBytes, secret); err != nil {
		return AccessClaims{}, invalid("signature")
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return AccessClaims{}, invalid("payload encoding")
	}
	return a.validateClaims(payload)
}

// checkHeader checks the JOSE header (see jose.CheckHeader) and returns
// its kid.
func checkHeader(seg string) (string, error) {
	kid, err := jose.CheckHeader(seg, "HS256", AccessType)
	if err != nil {
		return "", invalid(err.Error())
	}
	return kid, nil
}

func notCompactChar(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// validateClaims decodes the payload strictly (duplicate keys rejected,
// names matched exactly) and checks every claim against our expectations.
func (a *AccessIssuer) validateClaims(payload []byte) (AccessClaims, error) {
	m, err := jose.DecodeObject(payload)
	if err != nil {
		return AccessClaims{}, invalid("claims: " + err.Error())
	}
	var c AccessClaims
	str := func(name string, required bool, dst *string) error {
		raw, ok := m[name]
		if !ok {
			if required {
				return invalid("missing " + name)
			}
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil || (required && *dst == "") {
			return invalid("bad " + name)
		}
		return nil
	}
	num := func(name string, required bool, dst *time.Time) error {
		raw, ok := m[name]
		if !ok {
			if required {
				return invalid("missing " + name)
			}
			return nil
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || math.IsInf(f, 0) || f < 0 || f > 1e11 || f != math.Trunc(f) {
			return invalid("bad " + name)
		}
		*dst = time.Unix(int64(f), 0)
		return nil
	}
	var scope string
	var nbf time.Time
	for _, err := range []error{
		str("iss", true, &c.Issuer), str("aud", true, &c.Audience), str("sub", true, &c.Subject),
		str("tenant", true, &c.TenantID), str("client_id", true, &c.ClientID), str("jti", true, &c.JTI),
		str("scope", false, &scope), str("email", false, &c.Email), str("fid", false, &c.FamilyID),
		num("iat", true, &c.IssuedAt), num("exp", true, &c.ExpiresAt), num("nbf", false, &nbf),
	} {
		if err != nil {
			return AccessClaims{}, err
		}
	}
	if c.Issuer != a.opts.Issuer {
		return AccessClaims{}, invalid("issuer")
	}
	if c.Audience != a.opts.Audience {
		return AccessClaims{}, invalid("audience")
	}
	now, leeway := a.opts.Now(), a.opts.Leeway
	switch {
	case !now.Before(c.ExpiresAt.Add(leeway)):
		return AccessClaims{}, invalid("expired")
	case c.IssuedAt.After(now.Add(leeway)):
		return AccessClaims{}, invalid("issued in the future")
	case c.ExpiresAt.Sub(c.IssuedAt) > a.opts.TTL+leeway:
		return AccessClaims{}, invalid("lifetime too long")
	case !nbf.IsZero() && nbf.After(now.Add(leeway)):
		return AccessClaims{}, invalid("not yet valid")
	}
	if scope != "" {
		c.Scopes = strings.Fields(scope)
	}
	return c, nil
}
