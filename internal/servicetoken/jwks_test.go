package servicetoken_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

func jwksVerifier(t testing.TB, url string, clk *clock, opts servicetoken.VerifierOptions) *servicetoken.Verifier {
	t.Helper()
	opts.Issuer = issuer
	opts.JWKSURL = url
	opts.Now = clk.Now
	v, err := servicetoken.NewVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// verdict classifies a Verify result for table assertions.
func verdict(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, servicetoken.ErrKeysUnavailable) && errors.Is(err, servicetoken.ErrInvalidToken):
		return "unavailable"
	case errors.Is(err, servicetoken.ErrInvalidToken):
		return "invalid"
	default:
		return "unwrapped: " + err.Error()
	}
}

// TestJWKSRotation is catalog H-04, step by step on one verifier: a new kid
// is fetched once, a second unknown kid within MinRefetchInterval costs no
// fetch, and an outage keeps cached keys working for 2×CacheTTL.
func TestJWKSRotation(t *testing.T) {
	clk := newClock(t0)
	srv := newJWKSServer(t, mustKeys(t, keyA()).JWKS())
	v := jwksVerifier(t, srv.URL, clk, servicetoken.VerifierOptions{})
	mA := newMinter(t, mustKeys(t, keyA()), clk, servicetoken.MinterOptions{MintPerRequest: true})
	mB := newMinter(t, mustKeys(t, keyB(), keyA()), clk, servicetoken.MinterOptions{MintPerRequest: true})
	mC := newMinter(t, mustKeys(t, keyC()), clk, servicetoken.MinterOptions{MintPerRequest: true})
	s := servicetoken.Subject{UserID: "u1", TenantID: "t1"}

	steps := []struct {
		name     string
		advance  time.Duration
		serve    []byte // non-nil: publish this JWKS
		status   int    // non-zero: the JWKS endpoint fails with it
		minter   *servicetoken.Minter
		want     string
		wantHits int64
	}{
		{name: "first token fetches the JWKS", minter: mA, want: "ok", wantHits: 1},
		{name: "cached", advance: time.Second, minter: mA, want: "ok", wantHits: 1},
		{name: "B published", serve: mustKeys(t, keyB(), keyA()).JWKS(), minter: mA, want: "ok", wantHits: 1},
		{name: "new kid within the refetch interval of the first fetch", minter: mB, want: "invalid", wantHits: 1},
		{name: "new kid after the interval: one refetch", advance: 30 * time.Second, minter: mB, want: "ok", wantHits: 2},
		{name: "old kid still verifies", minter: mA, want: "ok", wantHits: 2},
		{name: "second unknown kid within the interval: no refetch", advance: 10 * time.Second, minter: mC, want: "invalid", wantHits: 2},
		{name: "again", minter: mC, want: "invalid", wantHits: 2},
		{name: "unknown kid after the interval: one refetch, still unknown", advance: 20 * time.Second, minter: mC, want: "invalid", wantHits: 3},
		{name: "JWKS down, cache fresh: no fetch", status: http.StatusInternalServerError, advance: time.Minute, minter: mB, want: "ok", wantHits: 3},
		{name: "JWKS down, cache stale: refresh fails, cached keys verify", advance: 10 * time.Minute, minter: mB, want: "ok", wantHits: 4},
		{name: "JWKS down: old key verifies without another fetch", advance: time.Second, minter: mA, want: "ok", wantHits: 4},
		{name: "JWKS down: unknown kid is an outage, not a forgery", advance: time.Minute, minter: mC, want: "unavailable", wantHits: 5},
		{name: "JWKS down, still within 2×CacheTTL", advance: 7 * time.Minute, minter: mB, want: "ok", wantHits: 6},
		{name: "JWKS down beyond 2×CacheTTL: keys expire", advance: 2 * time.Minute, minter: mB, want: "unavailable", wantHits: 7},
		{name: "still down, rate limited", advance: time.Second, minter: mB, want: "unavailable", wantHits: 7},
		{name: "JWKS back", status: -1, advance: 30 * time.Second, minter: mB, want: "ok", wantHits: 8},
		{name: "A retired from the JWKS", serve: mustKeys(t, keyB()).JWKS(), advance: 10 * time.Minute, minter: mB, want: "ok", wantHits: 9},
		{name: "token of the retired key", advance: time.Second, minter: mA, want: "invalid", wantHits: 9},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		srv.mu.Lock()
		if st.serve != nil {
			srv.body = st.serve
		}
		switch {
		case st.status > 0:
			srv.status = st.status
		case st.status < 0:
			srv.status = 0
		}
		srv.mu.Unlock()
		_, err := v.Verify(t.Context(), mint(t, st.minter, s))
		if got := verdict(err); got != st.want {
			t.Errorf("%s: Verify → %s (%v), want %s", st.name, got, err, st.want)
		}
		if got := srv.hits.Load(); got != st.wantHits {
			t.Errorf("%s: JWKS hits = %d, want %d", st.name, got, st.wantHits)
		}
	}
}

func TestJWKSDownFromStart(t *testing.T) {
	clk := newClock(t0)
	srv := newJWKSServer(t, nil)
	srv.set(nil, http.StatusServiceUnavailable)
	v := jwksVerifier(t, srv.URL, clk, servicetoken.VerifierOptions{})
	m := newMinter(t, mustKeys(t, keyA()), clk, servicetoken.MinterOptions{})
	tok := mint(t, m, servicetoken.Subject{UserID: "u1", TenantID: "t1"})
	for i := range 3 {
		if _, err := v.Verify(t.Context(), tok); verdict(err) != "unavailable" {
			t.Errorf("Verify %d: %v, want unavailable", i, err)
		}
	}
	if got := srv.hits.Load(); got != 1 {
		t.Errorf("JWKS hits = %d, want 1 (rate limited)", got)
	}
}

// TestJWKSSingleFlight: many requests carrying a new kid at once cause one
// fetch, and all of them succeed.
func TestJWKSSingleFlight(t *testing.T) {
	clk := newClock(t0)
	srv := newJWKSServer(t, mustKeys(t, keyA(), keyB()).JWKS())
	v := jwksVerifier(t, srv.URL, clk, servicetoken.VerifierOptions{})
	tok := mint(t, newMinter(t, mustKeys(t, keyB()), clk, servicetoken.MinterOptions{}), servicetoken.Subject{UserID: "u1", TenantID: "t1"})
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, err := v.Verify(t.Context(), tok); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := srv.hits.Load(); got != 1 {
		t.Errorf("JWKS hits = %d, want 1", got)
	}
}

// TestKeySourceHeadersNoFetch is catalog G-INV-5: jku/x5u pointing at an
// attacker's server cause no request to it, nor to our JWKS.
func TestKeySourceHeadersNoFetch(t *testing.T) {
	var sinkhole atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { sinkhole.Add(1) }))
	defer sink.Close()
	clk := newClock(t0)
	srv := newJWKSServer(t, mustKeys(t, keyA()).JWKS())
	v := jwksVerifier(t, srv.URL, clk, servicetoken.VerifierOptions{})
	for _, hdr := range []string{"jku", "x5u"} {
		raw := rs256(edit(goodHeader(keyA().ID), hdr, sink.URL), goodClaims())
		if _, err := v.Verify(t.Context(), raw); verdict(err) != "invalid" {
			t.Errorf("%s: %v, want invalid", hdr, err)
		}
	}
	// A kid that can never be valid costs no fetch either.
	if _, err := v.Verify(t.Context(), rs256(edit(goodHeader(keyA().ID), "kid", "../x"), goodClaims())); verdict(err) != "invalid" {
		t.Errorf("bad kid: %v", err)
	}
	if sinkhole.Load() != 0 || srv.hits.Load() != 0 {
		t.Errorf("fetches: sinkhole %d, jwks %d; want 0, 0", sinkhole.Load(), srv.hits.Load())
	}
}

// rawJWK renders one RSA JWK with overrides (nil deletes a member).
func rawJWK(t testing.TB, k servicetoken.SigningKey, kv ...any) map[string]any {
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	_ = json.Unmarshal(mustKeys(t, k).JWKS(), &set)
	return edit(set.Keys[0], kv...)
}

func jwksOf(keys ...any) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// TestJWKSResponseHardening feeds the verifier hostile or broken JWKS
// responses. A token signed by key A must verify only when a usable A is
// published; otherwise the failure is an outage (no usable keys) or an
// unknown kid.
func TestJWKSResponseHardening(t *testing.T) {
	small := rawJWK(t, keyA())
	small["n"] = b64bytes(smallKey().N.Bytes())
	small["e"] = b64bytes(big.NewInt(int64(smallKey().E)).Bytes())
	good := rawJWK(t, keyA())
	redirectTarget := newJWKSServer(t, jwksOf(good))

	tests := []struct {
		name    string
		body    []byte
		handler http.HandlerFunc // overrides body
		timeout time.Duration    // FetchTimeout; zero: the default
		want    string
	}{
		{name: "control", body: jwksOf(good), want: "ok"},
		{name: "extra unusable keys are skipped", body: jwksOf(map[string]any{"kty": "EC", "kid": "ec1", "crv": "P-256"}, rawJWK(t, keyB(), "alg", "RS512"), good), want: "ok"},
		{name: "no alg or use", body: jwksOf(rawJWK(t, keyA(), "alg", nil, "use", nil)), want: "ok"},
		{name: "key_ops verify", body: jwksOf(rawJWK(t, keyA(), "key_ops", []string{"verify"})), want: "ok"},
		{name: "1024-bit key", body: jwksOf(small), want: "unavailable"},
		{name: "1024-bit key next to a good one", body: jwksOf(rawJWK(t, keyB(), "n", small["n"]), good), want: "ok"},
		{name: "use enc", body: jwksOf(rawJWK(t, keyA(), "use", "enc")), want: "unavailable"},
		{name: "alg RS512", body: jwksOf(rawJWK(t, keyA(), "alg", "RS512")), want: "unavailable"},
		{name: "alg HS256", body: jwksOf(rawJWK(t, keyA(), "alg", "HS256")), want: "unavailable"},
		{name: "key_ops encrypt", body: jwksOf(rawJWK(t, keyA(), "key_ops", []string{"encrypt"})), want: "unavailable"},
		{name: "kty oct", body: jwksOf(rawJWK(t, keyA(), "kty", "oct", "k", "c2VjcmV0")), want: "unavailable"},
		{name: "kid twice", body: jwksOf(good, rawJWK(t, keyB(), "kid", keyA().ID), rawJWK(t, keyC())), want: "invalid"},
		{name: "even exponent", body: jwksOf(rawJWK(t, keyA(), "e", "Ag")), want: "unavailable"},
		{name: "huge exponent", body: jwksOf(rawJWK(t, keyA(), "e", "AQAAAAAB")), want: "unavailable"},
		{name: "n with leading zero", body: jwksOf(rawJWK(t, keyA(), "n", b64bytes(append([]byte{0}, keyA().Private.N.Bytes()...)))), want: "unavailable"},
		{name: "n padded base64", body: jwksOf(rawJWK(t, keyA(), "n", good["n"].(string)+"=")), want: "unavailable"},
		{name: "duplicate member in a key", body: []byte(`{"keys":[{"kty":"RSA","kid":"` + keyA().ID + `","n":"` + good["n"].(string) + `","e":"AQAB","e":"Aw"}]}`), want: "unavailable"},
		{name: "empty set", body: []byte(`{"keys":[]}`), want: "unavailable"},
		{name: "keys not an array", body: []byte(`{"keys":{}}`), want: "unavailable"},
		{name: "not JSON", body: []byte(`<html>`), want: "unavailable"},
		{name: "over 64 KiB", body: append(jwksOf(good), bytes.Repeat([]byte(" "), servicetoken.MaxJWKSBytes)...), want: "unavailable"},
		{name: "status 404", handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, want: "unavailable"},
		{name: "redirect is not followed", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, redirectTarget.URL, http.StatusFound)
		}, want: "unavailable"},
		{name: "slow endpoint times out", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, timeout: 100 * time.Millisecond, want: "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.handler
			if h == nil {
				h = func(w http.ResponseWriter, r *http.Request) { w.Write(tt.body) }
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			clk := newClock(t0)
			v := jwksVerifier(t, srv.URL, clk, servicetoken.VerifierOptions{FetchTimeout: tt.timeout})
			start := time.Now()
			_, err := v.Verify(t.Context(), rs256(goodHeader(keyA().ID), goodClaims()))
			if got := verdict(err); got != tt.want {
				t.Errorf("Verify → %s (%v), want %s", got, err, tt.want)
			}
			if d := time.Since(start); tt.timeout != 0 && d > 4*time.Second {
				t.Errorf("Verify took %s despite FetchTimeout %s", d, tt.timeout)
			}
		})
	}
	if redirectTarget.hits.Load() != 0 {
		t.Error("the verifier followed a redirect")
	}
}

func b64bytes(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestJWKSHandlerEndToEnd: the API side verifies crm-mcp's tokens through
// the JWKS crm-mcp serves.
func TestJWKSHandlerEndToEnd(t *testing.T) {
	keys := mustKeys(t, keyA(), keyB())
	srv := httptest.NewServer(servicetoken.JWKSHandler(keys))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	clk := newClock(t0)
	v := jwksVerifier(t, srv.URL, clk, servicetoken.VerifierOptions{})
	tok := mint(t, newMinter(t, keys, clk, servicetoken.MinterOptions{}), servicetoken.Subject{UserID: "u1", TenantID: "t1"})
	if c, err := v.Verify(t.Context(), tok); err != nil || c.TenantID != "t1" {
		t.Errorf("Verify = %+v, %v", c, err)
	}
}
