package servicetoken_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

const issuer = "https://mcp.example.com"

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// testKeys are generated once per test binary: RSA key generation costs
// ~100 ms each (much more under -race).
var testKeys = sync.OnceValue(func() [3]servicetoken.SigningKey {
	var out [3]servicetoken.SigningKey
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			k, err := servicetoken.GenerateKey()
			if err != nil {
				panic(err)
			}
			out[i] = k
		})
	}
	wg.Wait()
	return out
})

func keyA() servicetoken.SigningKey { return testKeys()[0] }
func keyB() servicetoken.SigningKey { return testKeys()[1] }
func keyC() servicetoken.SigningKey { return testKeys()[2] }

// smallKey is a 1024-bit key, which nothing may accept.
var smallKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return k
})

func mustKeys(t testing.TB, signing servicetoken.SigningKey, others ...servicetoken.SigningKey) *servicetoken.Keys {
	t.Helper()
	k, err := servicetoken.NewKeys(signing, others...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// clock is an injected, settable time source safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *clock { return &clock{now: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newMinter(t testing.TB, keys *servicetoken.Keys, clk *clock, opts servicetoken.MinterOptions) *servicetoken.Minter {
	t.Helper()
	opts.Issuer = issuer
	opts.Now = clk.Now
	m, err := servicetoken.NewMinter(keys, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func staticVerifier(t testing.TB, keys *servicetoken.Keys, clk *clock) *servicetoken.Verifier {
	t.Helper()
	v, err := servicetoken.NewVerifier(servicetoken.VerifierOptions{Issuer: issuer, Keys: keys, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mint(t testing.TB, m *servicetoken.Minter, s servicetoken.Subject) string {
	t.Helper()
	tok, err := m.Mint(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// seg encodes a JOSE segment: a string is taken as JSON text as is, any
// other value is marshalled.
func seg(v any) string {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		b, _ = json.Marshal(x)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// forge builds a compact JWS over header and claims signed by method with
// key; a nil method leaves the signature empty (alg none).
func forge(method jwt.SigningMethod, key any, header, claims any) string {
	input := seg(header) + "." + seg(claims)
	if method == nil {
		return input + "."
	}
	sig, err := method.Sign(input, key)
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func goodHeader(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "typ": servicetoken.ServiceType, "kid": kid}
}

// goodClaims are valid at t0 (+ up to 120 s).
func goodClaims() map[string]any {
	return map[string]any{
		"iss": issuer, "aud": "crm-api", "sub": "u1", "tenant": "t1", "client_id": "c1",
		"jti": "j1", "iat": t0.Unix(), "exp": t0.Add(120 * time.Second).Unix(),
	}
}

// edit returns a copy of m with kv applied: a nil value deletes the key.
func edit(m map[string]any, kv ...any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
			continue
		}
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

// jwksServer is a fake crm-mcp JWKS endpoint that counts its hits.
type jwksServer struct {
	*httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	body   []byte
	status int
}

func newJWKSServer(t testing.TB, body []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, status := s.body, s.status
		s.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = body, status
}
