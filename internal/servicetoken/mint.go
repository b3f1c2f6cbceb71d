package servicetoken

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// ServiceType is the JWT typ of service tokens, distinct from the
	// access tokens' "at+jwt", so that neither passes as the other
	// (RFC 8725 §3.11).
	ServiceType = "svc+jwt"
	// DefaultAudience is the CRM API's audience identifier.
	DefaultAudience = "crm-api"
	// DefaultTTL is the service token lifetime.
	DefaultTTL = 120 * time.Second
	// MaxTTL bounds the lifetime a Minter may be configured with.
	MaxTTL = 10 * time.Minute
	// DefaultCacheSize is the reuse cache's capacity in principals.
	DefaultCacheSize = 4096

	maxIdentifierBytes = 256
)

// Subject is the verified caller a service token speaks for. Every field
// comes from the verified client access token, never from tool input.
type Subject struct {
	UserID   string // becomes sub; required
	TenantID string // becomes tenant; required
	ClientID string // becomes client_id (RFC 9068 §2.2); optional, for audit
}

// MinterOptions configures a [Minter].
type MinterOptions struct {
	// Issuer is crm-mcp's issuer identifier (iss). Required.
	Issuer string
	// Audience is the CRM API's identifier (aud). If empty, defaults to
	// [DefaultAudience].
	Audience string
	// TTL is the token lifetime. If zero, defaults to [DefaultTTL]; at
	// most [MaxTTL].
	TTL time.Duration
	// Now returns the current time. If nil, defaults to time.Now.
	Now func() time.Time
	// MintPerRequest disables the reuse cache, so that every Mint signs a
	// new token (~1 ms of CPU each). If false (the default, chosen by
	// measurement, see the package doc), a token is reused for the same
	// (tenant, sub, client, aud) while more than half of its TTL remains.
	MintPerRequest bool
	// CacheSize bounds the reuse cache (least recently used principals are
	// evicted). If zero, defaults to [DefaultCacheSize].
	CacheSize int
}

// Minter signs service tokens with the signing key of a [Keys]. Safe for
// concurrent use.
type Minter struct {
	keys   *Keys
	opts   MinterOptions
	header string // base64url of the fixed JOSE header
	cache  *tokenCache
}

// NewMinter returns a Minter signing with keys' signing key.
func NewMinter(keys *Keys, opts MinterOptions) (*Minter, error) {
	if keys == nil || opts.Issuer == "" {
		return nil, errors.New("new service token minter: keys and issuer are required")
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.TTL < 2*time.Second || opts.TTL > MaxTTL {
		return nil, fmt.Errorf("new service token minter: ttl %s outside [2s, %s]", opts.TTL, MaxTTL)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.CacheSize < 0 {
		return nil, errors.New("new service token minter: negative cache size")
	}
	h, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}{"RS256", ServiceType, keys.SigningKeyID()})
	m := &Minter{keys: keys, opts: opts, header: base64.RawURLEncoding.EncodeToString(h)}
	if !opts.MintPerRequest {
		m.cache = newTokenCache(opts.CacheSize)
	}
	return m, nil
}

// TTL is the lifetime of minted tokens.
func (m *Minter) TTL() time.Duration { return m.opts.TTL }

// Mint returns a service token for s: a cached one while it has more than
// half its lifetime left (unless MintPerRequest), otherwise a new one.
// The cache is keyed by every claim that identifies the caller, so a
// token is never returned for another tenant, user or client.
func (m *Minter) Mint(ctx context.Context, s Subject) (string, error) {
	return m.mint(ctx, s, m.opts.Now())
}

func (m *Minter) mint(ctx context.Context, s Subject, now time.Time) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("mint service token: %w", err)
	}
	if err := s.validate(); err != nil {
		return "", fmt.Errorf("mint service token: %w", err)
	}
	// The key holds every claim copied from the caller; aud is fixed per
	// Minter but kept in the key so that the cache stays correct if the
	// audience ever becomes per call. Anything added to the token that
	// depends on the caller (scopes, say) must be added here too.
	key := cacheKey{tenant: s.TenantID, sub: s.UserID, client: s.ClientID, aud: m.opts.Audience}
	if m.cache != nil {
		if tok, ok := m.cache.get(key, now, m.opts.TTL/2); ok {
			return tok, nil
		}
	}
	// Sign outside the cache lock: a concurrent miss for the same caller
	// signs twice, which is cheaper than serialising every signature.
	iat := now.Truncate(time.Second)
	exp := iat.Add(m.opts.TTL)
	body, _ := json.Marshal(payload{
		Iss: m.opts.Issuer, Sub: s.UserID, Aud: m.opts.Audience, Tenant: s.TenantID,
		ClientID: s.ClientID, Iat: iat.Unix(), Exp: exp.Unix(), Jti: newJTI(),
	})
	input := m.header + "." + base64.RawURLEncoding.EncodeToString(body)
	sig, err := jwt.SigningMethodRS256.Sign(input, m.keys.signing.Private)
	if err != nil {
		return "", fmt.Errorf("mint service token: %w", err)
	}
	tok := input + "." + base64.RawURLEncoding.EncodeToString(sig)
	if m.cache != nil {
		m.cache.put(key, tok, exp)
	}
	return tok, nil
}

// payload is the claim set of a service token, in the order it is encoded.
type payload struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Tenant   string `json:"tenant"`
	ClientID string `json:"client_id,omitempty"`
	Iat      int64  `json:"iat"`
	Exp      int64  `json:"exp"`
	Jti      string `json:"jti"`
}

// validate rejects identifiers the token could not carry faithfully:
// encoding/json replaces invalid UTF-8 with U+FFFD, which would make two
// different tenant ids one.
func (s Subject) validate() error {
	for _, f := range []struct {
		name     string
		v        string
		required bool
	}{{"user id", s.UserID, true}, {"tenant id", s.TenantID, true}, {"client id", s.ClientID, false}} {
		switch {
		case f.v == "" && f.required:
			return fmt.Errorf("%s is required", f.name)
		case len(f.v) > maxIdentifierBytes:
			return fmt.Errorf("%s longer than %d bytes", f.name, maxIdentifierBytes)
		case !utf8.ValidString(f.v):
			return fmt.Errorf("%s is not valid UTF-8", f.name)
		}
	}
	return nil
}

func newJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

type cacheKey struct{ tenant, sub, client, aud string }

type cacheEntry struct {
	key   cacheKey
	token string
	exp   time.Time
}

// tokenCache is a bounded LRU of minted tokens.
type tokenCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *cacheEntry, most recently used first
	byKey map[cacheKey]*list.Element
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: size, order: list.New(), byKey: make(map[cacheKey]*list.Element)}
}

// get returns the token cached for k if more than minRemaining of its life
// is left at now; a token with less is dropped.
func (c *tokenCache) get(k cacheKey, now time.Time, minRemaining time.Duration) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return "", false
	}
	e := el.Value.(*cacheEntry)
	if e.exp.Sub(now) <= minRemaining {
		c.order.Remove(el)
		delete(c.byKey, k)
		return "", false
	}
	c.order.MoveToFront(el)
	return e.token, true
}

func (c *tokenCache) put(k cacheKey, tok string, exp time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		e := el.Value.(*cacheEntry)
		if exp.After(e.exp) {
			e.token, e.exp = tok, exp
		}
		c.order.MoveToFront(el)
		return
	}
	c.byKey[k] = c.order.PushFront(&cacheEntry{key: k, token: tok, exp: exp})
	for c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.byKey, oldest.Value.(*cacheEntry).key)
	}
}
