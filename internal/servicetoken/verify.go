package servicetoken

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crm-mcp/crm-mcp/internal/jose"
)

var (
	// ErrInvalidToken is wrapped by every verification failure; the API
	// answers 401. The wrapped reason is for logs and tests only.
	ErrInvalidToken = errors.New("invalid service token")
	// ErrKeysUnavailable is wrapped, together with [ErrInvalidToken], when a
	// token could not be checked because the JWKS could not be fetched (or
	// the cached keys outlived their grace period). The request is still
	// refused, but callers can log or alert on it as an outage rather than
	// as a bad token.
	ErrKeysUnavailable = errors.New("service token keys unavailable")
)

const (
	// MaxLeeway caps clock-skew tolerance; it must stay well below the
	// 120 s token life (catalog R-11).
	MaxLeeway = 30 * time.Second
	// DefaultMinRefetchInterval is how often, at most, a Verifier fetches
	// the JWKS.
	DefaultMinRefetchInterval = 30 * time.Second
	// DefaultCacheTTL is how long fetched keys are used before a refresh.
	DefaultCacheTTL = 10 * time.Minute
	// DefaultFetchTimeout bounds one JWKS request.
	DefaultFetchTimeout = 5 * time.Second
	// MaxJWKSBytes caps a JWKS response body.
	MaxJWKSBytes = 64 << 10

	// maxTokenBytes bounds what Verify parses; real tokens are ~650 bytes.
	maxTokenBytes = 4096
)

// Claims is the identity a verified service token carries.
type Claims struct {
	Subject   string // user id
	TenantID  string
	ClientID  string // empty if the minter did not name one
	JTI       string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// VerifierOptions configures a [Verifier]. Exactly one of JWKSURL and Keys
// is set.
type VerifierOptions struct {
	// Issuer is the exact iss accepted (crm-mcp's issuer). Required.
	Issuer string
	// Audience is the exact aud accepted. If empty, defaults to
	// [DefaultAudience].
	Audience string
	// JWKSURL is where crm-mcp publishes its keys ([JWKSHandler]).
	JWKSURL string
	// Keys verifies with a key set in this process instead of fetching a
	// JWKS (the single-binary deployment).
	Keys *Keys
	// HTTPClient fetches the JWKS. If nil, a client that does not follow
	// redirects is used.
	HTTPClient *http.Client
	// Now returns the current time. If nil, defaults to time.Now.
	Now func() time.Time
	// Leeway is the clock-skew tolerance. If zero, defaults to
	// [MaxLeeway]; at most [MaxLeeway].
	Leeway time.Duration
	// MaxTTL is the longest lifetime (exp − iat) accepted, plus Leeway. If
	// zero, defaults to [DefaultTTL].
	MaxTTL time.Duration
	// MinRefetchInterval is the least time between two JWKS fetches: an
	// unknown kid triggers at most one fetch per interval, whoever sends
	// it. If zero, defaults to [DefaultMinRefetchInterval].
	MinRefetchInterval time.Duration
	// CacheTTL is how long fetched keys are used before the next request
	// refreshes them. If a refresh fails, the cached keys keep verifying
	// until 2×CacheTTL after the last successful fetch; after that every
	// token fails with [ErrKeysUnavailable]. If zero, defaults to
	// [DefaultCacheTTL].
	CacheTTL time.Duration
	// FetchTimeout bounds one JWKS request. If zero, defaults to
	// [DefaultFetchTimeout].
	FetchTimeout time.Duration
	// VerifiedCacheSize bounds the cache of tokens already verified. The
	// minter reuses a token per principal for half its life, so the API
	// sees the same token many times; a hit skips the RSA verification
	// (~50-70 µs) and is valid only for the exact token bytes until the
	// token's own expiry. A key dropped from the JWKS therefore stops
	// tokens it signed only when they expire (at most MaxTTL + leeway). If
	// zero, 4096; negative disables the cache.
	VerifiedCacheSize int

	// Logger receives JWKS fetch failures and rejections (as classes,
	// never tokens or upstream error text). If nil, discards.
	Logger *slog.Logger
}

// Verifier checks service tokens for the CRM API. Safe for concurrent use.
type Verifier struct {
	opts   VerifierOptions
	logger *slog.Logger
	client *http.Client

	cur atomic.Pointer[keySet] // last successfully fetched keys

	mu          sync.Mutex // serialises fetches; guards the fields below
	lastAttempt time.Time
	lastErr     error

	verified verifiedCache
}

// verifiedCache remembers the claims of verified tokens by the SHA-256 of
// the token, so no token is kept in memory.
type verifiedCache struct {
	mu   sync.Mutex
	max  int
	m    map[[32]byte]Claims
	hits atomic.Int64 // for tests and metrics
}

func (c *verifiedCache) get(raw string) (Claims, bool) {
	if c.max <= 0 {
		return Claims{}, false
	}
	key := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.m[key]
	if ok {
		c.hits.Add(1)
	}
	return cl, ok
}

func (c *verifiedCache) put(raw string, cl Claims, now time.Time, leeway time.Duration) {
	if c.max <= 0 {
		return
	}
	key := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, old := range c.m { // drop expired entries first
			if !now.Before(old.ExpiresAt.Add(leeway)) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m) // bounded: at worst everyone re-verifies once
		}
	}
	c.m[key] = cl
}

// keySet is one fetched JWKS.
type keySet struct {
	keys      map[string]*rsa.PublicKey
	fetchedAt time.Time
}

// NewVerifier returns a Verifier. It fetches nothing until the first
// Verify.
func NewVerifier(opts VerifierOptions) (*Verifier, error) {
	if opts.Issuer == "" {
		return nil, errors.New("new service token verifier: issuer is required")
	}
	if (opts.JWKSURL == "") == (opts.Keys == nil) {
		return nil, errors.New("new service token verifier: set exactly one of jwks url and keys")
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Leeway == 0 {
		opts.Leeway = MaxLeeway
	}
	if opts.Leeway < 0 || opts.Leeway > MaxLeeway {
		return nil, fmt.Errorf("new service token verifier: leeway %s outside (0, %s]", opts.Leeway, MaxLeeway)
	}
	if opts.MaxTTL == 0 {
		opts.MaxTTL = DefaultTTL
	}
	if opts.MaxTTL < 0 || opts.MaxTTL > MaxTTL {
		return nil, fmt.Errorf("new service token verifier: max ttl %s outside (0, %s]", opts.MaxTTL, MaxTTL)
	}
	if opts.MinRefetchInterval == 0 {
		opts.MinRefetchInterval = DefaultMinRefetchInterval
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.FetchTimeout == 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.MinRefetchInterval < 0 || opts.CacheTTL < 0 || opts.FetchTimeout < 0 {
		return nil, errors.New("new service token verifier: negative interval")
	}
	v := &Verifier{opts: opts, logger: opts.Logger, client: opts.HTTPClient}
	v.verified.max = opts.VerifiedCacheSize
	if v.verified.max == 0 {
		v.verified.max = 4096
	}
	v.verified.m = make(map[[32]byte]Claims)
	if v.logger == nil {
		v.logger = slog.New(slog.DiscardHandler)
	}
	if v.client == nil {
		v.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return v, nil
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// Verify checks raw and returns its claims. Every failure wraps
// [ErrInvalidToken]; one caused by unreachable keys also wraps
// [ErrKeysUnavailable]. It may fetch the JWKS (bounded by FetchTimeout,
// and not cancelled with ctx, so that one impatient caller cannot fail the
// fetch for everyone).
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	now := v.opts.Now()
	if c, ok := v.verified.get(raw); ok {
		if now.Before(c.ExpiresAt.Add(v.opts.Leeway)) {
			return c, nil
		}
		return Claims{}, invalid("expired")
	}
	c, err := v.verify(ctx, raw, now)
	if err == nil {
		v.verified.put(raw, c, now, v.opts.Leeway)
	}
	return c, err
}

func (v *Verifier) verify(ctx context.Context, raw string, now time.Time) (Claims, error) {
	if len(raw) > maxTokenBytes {
		return Claims{}, invalid("oversized")
	}
	// Compact serialisation only: three base64url segments, nothing else
	// (no whitespace, padding, JSON serialisation or extra segments).
	if strings.Count(raw, ".") != 2 || strings.IndexFunc(raw, notCompactChar) >= 0 {
		return Claims{}, invalid("malformed")
	}
	head, rest, _ := strings.Cut(raw, ".")
	body, sig, _ := strings.Cut(rest, ".")
	// The header is checked before any key lookup, so a token that could
	// never verify does not cost a JWKS fetch.
	kid, err := checkHeader(head)
	if err != nil {
		return Claims{}, err
	}
	pub, err := v.key(ctx, kid, now)
	if err != nil {
		return Claims{}, err
	}
	sigBytes, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(sigBytes) != pub.Size() {
		return Claims{}, invalid("signature encoding")
	}
	// RS256 is fixed here, never taken from the header, and the key is an
	// *rsa.PublicKey: HS256 "signed" with the public key (CVE-2015-9235)
	// has nothing to be checked against.
	if err := jwt.SigningMethodRS256.Verify(raw[:len(head)+1+len(body)], sigBytes, pub); err != nil {
		return Claims{}, invalid("signature")
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return Claims{}, invalid("payload encoding")
	}
	return v.validateClaims(payload, now)
}

// checkHeader checks the JOSE header (see jose.CheckHeader) and returns
// its kid.
func checkHeader(seg string) (string, error) {
	kid, err := jose.CheckHeader(seg, "RS256", ServiceType)
	if err != nil {
		return "", invalid(err.Error())
	}
	if !validKeyID(kid) {
		return "", invalid("kid")
	}
	return kid, nil
}

func notCompactChar(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// validateClaims decodes the payload strictly (duplicate keys rejected,
// names matched exactly) and checks every claim (RFC 8725 §3.8–3.9).
func (v *Verifier) validateClaims(payload []byte, now time.Time) (Claims, error) {
	m, err := jose.DecodeObject(payload)
	if err != nil {
		return Claims{}, invalid("claims: " + err.Error())
	}
	var c Claims
	var iss, aud string
	var nbf time.Time
	str := func(name string, required bool, dst *string) error {
		raw, ok := m[name]
		if !ok {
			if required {
				return invalid("missing " + name)
			}
			return nil
		}
		// A non-empty JSON string only: aud as an array, a numeric tenant
		// or null (which leaves dst empty) are refused, not coerced.
		if err := json.Unmarshal(raw, dst); err != nil || *dst == "" {
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
	for _, err := range []error{
		str("iss", true, &iss), str("aud", true, &aud), str("sub", true, &c.Subject),
		str("tenant", true, &c.TenantID), str("jti", true, &c.JTI), str("client_id", false, &c.ClientID),
		num("iat", true, &c.IssuedAt), num("exp", true, &c.ExpiresAt), num("nbf", false, &nbf),
	} {
		if err != nil {
			return Claims{}, err
		}
	}
	if iss != v.opts.Issuer {
		return Claims{}, invalid("issuer")
	}
	if aud != v.opts.Audience {
		return Claims{}, invalid("audience")
	}
	leeway := v.opts.Leeway
	switch {
	case !now.Before(c.ExpiresAt.Add(leeway)):
		return Claims{}, invalid("expired")
	case c.IssuedAt.After(now.Add(leeway)):
		return Claims{}, invalid("issued in the future")
	case !c.ExpiresAt.After(c.IssuedAt):
		return Claims{}, invalid("exp not after iat")
	case c.ExpiresAt.Sub(c.IssuedAt) > v.opts.MaxTTL+leeway:
		return Claims{}, invalid("lifetime too long")
	case !nbf.IsZero() && nbf.After(now.Add(leeway)):
		return Claims{}, invalid("not yet valid")
	}
	return c, nil
}
