package servicetoken_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

func TestMintVerifyRoundTrip(t *testing.T) {
	clk := newClock(t0)
	keys := mustKeys(t, keyA())
	m := newMinter(t, keys, clk, servicetoken.MinterOptions{})
	raw := mint(t, m, servicetoken.Subject{UserID: "u1", TenantID: "t1", ClientID: "c1"})
	got, err := staticVerifier(t, keys, clk).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Subject != "u1" || got.TenantID != "t1" || got.ClientID != "c1" || got.JTI == "" ||
		!got.IssuedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(120*time.Second)) {
		t.Errorf("claims = %+v", got)
	}
	// Without a client id the claim is omitted and the token still verifies.
	raw = mint(t, m, servicetoken.Subject{UserID: "u1", TenantID: "t1"})
	if got, err := staticVerifier(t, keys, clk).Verify(t.Context(), raw); err != nil || got.ClientID != "" {
		t.Errorf("Verify without client = %+v, %v", got, err)
	}
}

func decodeSegment(t *testing.T, s string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMintedClaims is catalog H-02, read straight from the token (not
// through our verifier).
func TestMintedClaims(t *testing.T) {
	clk := newClock(t0.Add(500 * time.Millisecond))
	m := newMinter(t, mustKeys(t, keyA()), clk, servicetoken.MinterOptions{MintPerRequest: true})
	s := servicetoken.Subject{UserID: "usr_42", TenantID: "tnt_7", ClientID: "cli_9"}
	raw1, raw2 := mint(t, m, s), mint(t, m, s)
	parts := strings.Split(raw1, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	h, c := decodeSegment(t, parts[0]), decodeSegment(t, parts[1])
	wantHeader := map[string]any{"alg": "RS256", "typ": "svc+jwt", "kid": keyA().ID}
	if fmt.Sprint(h) != fmt.Sprint(wantHeader) {
		t.Errorf("header = %v, want %v", h, wantHeader)
	}
	for name, want := range map[string]any{
		"iss": issuer, "aud": "crm-api", "sub": "usr_42", "tenant": "tnt_7", "client_id": "cli_9",
		"iat": float64(t0.Unix()), "exp": float64(t0.Unix() + 120),
	} {
		if c[name] != want {
			t.Errorf("claim %s = %v, want %v", name, c[name], want)
		}
	}
	if jti, _ := c["jti"].(string); len(jti) < 22 {
		t.Errorf("jti %q is not 128 random bits", jti)
	}
	if len(c) != 8 {
		t.Errorf("unexpected claims: %v", c)
	}
	if c2 := decodeSegment(t, strings.Split(raw2, ".")[1]); c2["jti"] == c["jti"] {
		t.Error("two minted tokens share a jti")
	}
}

func TestMintRejectsSubject(t *testing.T) {
	m := newMinter(t, mustKeys(t, keyA()), newClock(t0), servicetoken.MinterOptions{})
	tests := []struct {
		name string
		s    servicetoken.Subject
	}{
		{"no user", servicetoken.Subject{TenantID: "t1"}},
		{"no tenant", servicetoken.Subject{UserID: "u1"}},
		{"invalid UTF-8 tenant", servicetoken.Subject{UserID: "u1", TenantID: "t\xff"}},
		{"invalid UTF-8 user", servicetoken.Subject{UserID: "u\xfe", TenantID: "t1"}},
		{"invalid UTF-8 client", servicetoken.Subject{UserID: "u1", TenantID: "t1", ClientID: "\xc3"}},
		{"oversized tenant", servicetoken.Subject{UserID: "u1", TenantID: strings.Repeat("t", 257)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := m.Mint(t.Context(), tt.s); err == nil {
				t.Fatalf("Mint = %q, want an error", tok)
			}
		})
	}
}

func TestNewMinterOptions(t *testing.T) {
	keys := mustKeys(t, keyA())
	for _, tt := range []struct {
		name string
		opts servicetoken.MinterOptions
	}{
		{"no issuer", servicetoken.MinterOptions{}},
		{"ttl too long", servicetoken.MinterOptions{Issuer: issuer, TTL: time.Hour}},
		{"negative ttl", servicetoken.MinterOptions{Issuer: issuer, TTL: -time.Second}},
		{"negative cache", servicetoken.MinterOptions{Issuer: issuer, CacheSize: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := servicetoken.NewMinter(keys, tt.opts); err == nil {
				t.Fatal("NewMinter accepted it")
			}
		})
	}
	if _, err := servicetoken.NewMinter(nil, servicetoken.MinterOptions{Issuer: issuer}); err == nil {
		t.Error("NewMinter accepted nil keys")
	}
	m, err := servicetoken.NewMinter(keys, servicetoken.MinterOptions{Issuer: issuer})
	if err != nil || m.TTL() != 120*time.Second {
		t.Errorf("default TTL: %v, %v", m, err)
	}
}

func TestMintHonoursContext(t *testing.T) {
	m := newMinter(t, mustKeys(t, keyA()), newClock(t0), servicetoken.MinterOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Mint(ctx, servicetoken.Subject{UserID: "u1", TenantID: "t1"}); err == nil {
		t.Error("Mint with a cancelled context succeeded")
	}
}

// TestReuseCache is catalog H-05: a cached token is reused only for the
// same tenant, user, client and audience, and only while more than half
// of its lifetime remains.
func TestReuseCache(t *testing.T) {
	clk := newClock(t0)
	keys := mustKeys(t, keyA())
	m := newMinter(t, keys, clk, servicetoken.MinterOptions{})
	v := staticVerifier(t, keys, clk)
	p := servicetoken.Subject{UserID: "u1", TenantID: "t1", ClientID: "c1"}

	first := mint(t, m, p)
	clk.Advance(59 * time.Second) // 61 s of 120 left: reuse
	if got := mint(t, m, p); got != first {
		t.Error("token not reused with more than half its life left")
	}
	clk.Advance(time.Second) // exactly 60 s left: not more than half
	second := mint(t, m, p)
	if second == first {
		t.Error("token reused at half-life")
	}
	c, err := v.Verify(t.Context(), second)
	if err != nil || !c.IssuedAt.Equal(t0.Add(60*time.Second)) {
		t.Errorf("refreshed token: %+v, %v", c, err)
	}

	// Every principal differing in one field gets its own token, carrying
	// its own identity.
	others := []servicetoken.Subject{
		{UserID: "u1", TenantID: "t2", ClientID: "c1"},
		{UserID: "u2", TenantID: "t1", ClientID: "c1"},
		{UserID: "u1", TenantID: "t1", ClientID: "c2"},
		{UserID: "u1", TenantID: "t1"},
		// Concatenation ambiguities must not collide.
		{UserID: "u1|t1", TenantID: ""},
		{UserID: "u", TenantID: "1t1"},
	}
	for _, o := range others {
		tok, err := m.Mint(t.Context(), o)
		if o.TenantID == "" {
			if err == nil {
				t.Errorf("Mint(%+v) succeeded without a tenant", o)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if tok == second {
			t.Errorf("Mint(%+v) returned another principal's token", o)
		}
		c, err := v.Verify(t.Context(), tok)
		if err != nil || c.Subject != o.UserID || c.TenantID != o.TenantID || c.ClientID != o.ClientID {
			t.Errorf("Mint(%+v) → %+v, %v", o, c, err)
		}
	}
}

func TestReuseCacheLRU(t *testing.T) {
	clk := newClock(t0)
	m := newMinter(t, mustKeys(t, keyA()), clk, servicetoken.MinterOptions{CacheSize: 2})
	p := func(i int) servicetoken.Subject {
		return servicetoken.Subject{UserID: fmt.Sprint("u", i), TenantID: "t1"}
	}
	t1, _ := m.Mint(t.Context(), p(1))
	t2, _ := m.Mint(t.Context(), p(2))
	if got, _ := m.Mint(t.Context(), p(1)); got != t1 { // p1 is now most recent
		t.Fatal("p1 not cached")
	}
	m.Mint(t.Context(), p(3)) // evicts p2, the least recently used
	if got, _ := m.Mint(t.Context(), p(1)); got != t1 {
		t.Error("p1 evicted although recently used")
	}
	if got, _ := m.Mint(t.Context(), p(2)); got == t2 {
		t.Error("p2 survived beyond the cache size")
	}
}

func TestMintPerRequest(t *testing.T) {
	m := newMinter(t, mustKeys(t, keyA()), newClock(t0), servicetoken.MinterOptions{MintPerRequest: true})
	p := servicetoken.Subject{UserID: "u1", TenantID: "t1"}
	if mint(t, m, p) == mint(t, m, p) {
		t.Error("MintPerRequest reused a token")
	}
}

// TestReuseCacheConcurrent hammers the cache from many goroutines for many
// principals; every token must carry exactly the requested identity.
func TestReuseCacheConcurrent(t *testing.T) {
	clk := newClock(t0)
	keys := mustKeys(t, keyA())
	m := newMinter(t, keys, clk, servicetoken.MinterOptions{CacheSize: 4})
	v := staticVerifier(t, keys, clk)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 8 {
				s := servicetoken.Subject{UserID: fmt.Sprint("u", (g+i)%6), TenantID: fmt.Sprint("t", (g*i)%3)}
				tok, err := m.Mint(t.Context(), s)
				if err != nil {
					t.Error(err)
					return
				}
				c, err := v.Verify(t.Context(), tok)
				if err != nil || c.Subject != s.UserID || c.TenantID != s.TenantID {
					t.Errorf("Mint(%+v) → %+v, %v", s, c, err)
					return
				}
				if i == 4 {
					clk.Advance(7 * time.Second)
				}
			}
		})
	}
	wg.Wait()
}

// TestVerifiedCache: a token verified once is answered from the cache
// (the minter reuses tokens, so the API sees each one many times), only for
// the exact token bytes, and never past the token's expiry.
func TestVerifiedCache(t *testing.T) {
	clk := newClock(t0)
	keys := mustKeys(t, keyA())
	m := newMinter(t, keys, clk, servicetoken.MinterOptions{})
	raw := mint(t, m, servicetoken.Subject{UserID: "u1", TenantID: "t1"})
	v := staticVerifier(t, keys, clk)
	for i := range 3 {
		if c, err := v.Verify(t.Context(), raw); err != nil || c.TenantID != "t1" {
			t.Fatalf("verify %d: %+v %v", i, c, err)
		}
	}
	if hits := servicetoken.VerifiedHits(v); hits != 2 {
		t.Errorf("cache hits = %d, want 2", hits)
	}
	// A tampered copy is not served from the cache.
	tampered := raw[:len(raw)-2] + "AA"
	if tampered != raw {
		if _, err := v.Verify(t.Context(), tampered); err == nil {
			t.Error("a tampered token verified")
		}
	}
	// Past expiry plus leeway the cached token is refused too.
	clk.Advance(120*time.Second + servicetoken.MaxLeeway)
	if _, err := v.Verify(t.Context(), raw); !errors.Is(err, servicetoken.ErrInvalidToken) {
		t.Errorf("expired cached token: %v", err)
	}
}
