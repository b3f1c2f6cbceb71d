package token_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crm-mcp/crm-mcp/internal/token"
)

const (
	issuer   = "https://mcp.example.com"
	audience = "https://mcp.example.com/mcp"
)

var (
	keyA = token.Key{ID: "a", Secret: []byte("0123456789abcdef0123456789abcdef")}
	keyB = token.Key{ID: "b", Secret: []byte("fedcba9876543210fedcba9876543210")}
	t0   = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
)

func newIssuer(t *testing.T, ring *token.KeyRing, now *time.Time) *token.AccessIssuer {
	t.Helper()
	iss, err := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: issuer, Audience: audience, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func mustRing(t *testing.T, signing token.Key, others ...token.Key) *token.KeyRing {
	t.Helper()
	r, err := token.NewKeyRing(signing, others...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func b64(v any) string {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		b, _ = json.Marshal(x)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// signRaw builds a compact JWS over header and payload (JSON text or a
// value), HMAC-SHA256 with secret.
func signRaw(header, payload any, secret []byte) string {
	input := b64(header) + "." + b64(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func goodClaims() map[string]any {
	return map[string]any{
		"iss": issuer, "aud": audience, "sub": "u1", "tenant": "t1", "scope": "crm:read",
		"client_id": "c1", "jti": "j1", "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
	}
}

func with(kv ...any) map[string]any {
	c := goodClaims()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
			continue
		}
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

var goodHeader = map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "a"}

func header(kv ...any) map[string]any {
	h := map[string]any{}
	for k, v := range goodHeader {
		h[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(h, kv[i].(string))
			continue
		}
		h[kv[i].(string)] = kv[i+1]
	}
	return h
}

func TestMintVerifyRoundTrip(t *testing.T) {
	now := t0
	iss := newIssuer(t, mustRing(t, keyA), &now)
	raw, minted, err := iss.Mint(token.AccessClaims{Subject: "u1", TenantID: "t1", Email: "u1@example.com", Scopes: []string{"crm:read", "crm:write"}, ClientID: "c1", FamilyID: "f1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := iss.Verify(raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Subject != "u1" || got.TenantID != "t1" || got.Email != "u1@example.com" || got.ClientID != "c1" || got.FamilyID != "f1" ||
		strings.Join(got.Scopes, " ") != "crm:read crm:write" || got.JTI != minted.JTI || len(got.JTI) < 22 ||
		!got.ExpiresAt.Equal(t0.Add(time.Hour)) || got.Audience != audience || got.Issuer != issuer {
		t.Errorf("claims = %+v (minted %+v)", got, minted)
	}
	if _, _, err := iss.Mint(token.AccessClaims{Subject: "u1", ClientID: "c1"}); err == nil {
		t.Error("minted a token without a tenant")
	}
}

// TestVerifyRejects walks the catalog's §G cases: each must fail with
// ErrInvalidToken.
func TestVerifyRejects(t *testing.T) {
	now := t0.Add(10 * time.Minute)
	iss := newIssuer(t, mustRing(t, keyA, keyB), &now)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	rs256 := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(goodClaims()))
	rs256.Header["kid"] = "a"
	rs256.Header["typ"] = "at+jwt"
	rsToken, _ := rs256.SignedString(rsaKey)
	hs512 := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims(goodClaims()))
	hs512.Header["kid"] = "a"
	hs512.Header["typ"] = "at+jwt"
	hs512Token, _ := hs512.SignedString(keyA.Secret)
	good := signRaw(goodHeader, goodClaims(), keyA.Secret)
	parts := strings.Split(good, ".")
	flipped := []byte(parts[2])
	flipped[3] ^= 1

	tests := []struct {
		name string
		raw  string
	}{
		{"G-05 alg none", b64(header("alg", "none")) + "." + b64(goodClaims()) + "."},
		{"G-05 alg None", b64(header("alg", "None")) + "." + b64(goodClaims()) + "."},
		{"G-05 alg nOnE signed", signRaw(header("alg", "nOnE"), goodClaims(), keyA.Secret)},
		{"G-06 HS512 with the right secret", hs512Token},
		{"G-07 RS256 token", rsToken},
		{"G-08 HS256 keyed with the RSA public key PEM", signRaw(goodHeader, goodClaims(), pubPEM)},
		{"G-08 HS256 keyed with the RSA public key DER", signRaw(goodHeader, goodClaims(), pubDER)},
		{"G-09 kid path traversal", signRaw(header("kid", "../../../../dev/null"), goodClaims(), keyA.Secret)},
		{"G-09 kid SQL", signRaw(header("kid", "' OR '1'='1"), goodClaims(), keyA.Secret)},
		{"G-09 kid NUL", signRaw(header("kid", "a\x00"), goodClaims(), keyA.Secret)},
		{"G-09 kid huge", signRaw(header("kid", strings.Repeat("k", 8192)), goodClaims(), keyA.Secret)},
		{"G-09 kid missing", signRaw(header("kid", nil), goodClaims(), keyA.Secret)},
		{"G-09 kid not a string", signRaw(header("kid", 7), goodClaims(), keyA.Secret)},
		{"G-10 jku header", signRaw(header("jku", "https://evil.example/jwks"), goodClaims(), keyA.Secret)},
		{"G-10 jwk header", signRaw(header("jwk", map[string]any{"kty": "oct"}), goodClaims(), keyA.Secret)},
		{"G-11 crit", signRaw(header("crit", []string{"exp2"}), goodClaims(), keyA.Secret)},
		{"G-12 signature stripped", parts[0] + "." + parts[1] + "."},
		{"G-12 bit flipped", parts[0] + "." + parts[1] + "." + string(flipped)},
		{"G-12 payload edited", parts[0] + "." + b64(with("tenant", "t2")) + "." + parts[2]},
		{"G-12 wrong secret", signRaw(goodHeader, goodClaims(), []byte("ffffffffffffffffffffffffffffffff"))},
		{"G-13 expired beyond leeway", signRaw(goodHeader, with("exp", now.Add(-31*time.Second).Unix(), "iat", now.Add(-time.Hour).Unix()), keyA.Secret)},
		{"G-13 exp missing", signRaw(goodHeader, with("exp", nil), keyA.Secret)},
		{"G-13 exp string", signRaw(goodHeader, with("exp", "9999999999"), keyA.Secret)},
		{"G-13 exp fractional", signRaw(goodHeader, with("exp", 1.5e9+0.5), keyA.Secret)},
		{"G-13 exp 1e309", signRaw(goodHeader, strings.Replace(mustJSON(goodClaims()), `"exp":`+itoa(t0.Add(time.Hour).Unix()), `"exp":1e309`, 1), keyA.Secret)},
		{"G-14 nbf beyond leeway", signRaw(goodHeader, with("nbf", now.Add(31*time.Second).Unix()), keyA.Secret)},
		{"G-15 issued in the future", signRaw(goodHeader, with("iat", now.Add(time.Minute).Unix(), "exp", now.Add(time.Hour).Unix()), keyA.Secret)},
		{"G-15 overlong lifetime", signRaw(goodHeader, with("exp", t0.Add(3*time.Hour).Unix()), keyA.Secret)},
		{"G-16 audience of the CRM API", signRaw(goodHeader, with("aud", "crm-api"), keyA.Secret)},
		{"G-16 audience missing", signRaw(goodHeader, with("aud", nil), keyA.Secret)},
		{"G-16 audience array with ours", signRaw(goodHeader, with("aud", []string{audience, "other"}), keyA.Secret)},
		{"G-17 wrong issuer", signRaw(goodHeader, with("iss", "https://evil.example"), keyA.Secret)},
		{"G-17 issuer missing", signRaw(goodHeader, with("iss", nil), keyA.Secret)},
		{"G-18 service-token typ", signRaw(header("typ", "JWT"), goodClaims(), keyA.Secret)},
		{"G-18 typ missing", signRaw(header("typ", nil), goodClaims(), keyA.Secret)},
		{"G-19 sub missing", signRaw(goodHeader, with("sub", nil), keyA.Secret)},
		{"G-19 tenant missing", signRaw(goodHeader, with("tenant", nil), keyA.Secret)},
		{"G-19 tenant empty", signRaw(goodHeader, with("tenant", ""), keyA.Secret)},
		{"G-19 tenant number", signRaw(goodHeader, with("tenant", 7), keyA.Secret)},
		{"G-19 client_id missing", signRaw(goodHeader, with("client_id", nil), keyA.Secret)},
		{"G-20 JSON serialisation", `{"payload":"` + parts[1] + `"}`},
		{"G-20 four segments", good + ".x"},
		{"G-20 whitespace", parts[0] + ". " + parts[1] + "." + parts[2]},
		{"G-20 padding", parts[0] + "." + parts[1] + "==." + parts[2]},
		{"G-20 std base64", strings.NewReplacer("-", "+", "_", "/").Replace(good)},
		{"G-21 oversized", signRaw(goodHeader, with("pad", strings.Repeat("x", 5000)), keyA.Secret)},
		{"G-22 duplicate tenant", signRaw(goodHeader, strings.Replace(mustJSON(goodClaims()), `"tenant":"t1"`, `"tenant":"t1","tenant":"t2"`, 1), keyA.Secret)},
		{"G-22 case-variant tenant only", signRaw(goodHeader, strings.Replace(mustJSON(goodClaims()), `"tenant":"t1"`, `"Tenant":"t1"`, 1), keyA.Secret)},
		{"G-28 unknown kid", signRaw(header("kid", "retired"), goodClaims(), keyA.Secret)},
		{"G-28 kid b but signed with a", signRaw(header("kid", "b"), goodClaims(), keyA.Secret)},
		{"trailing data after claims", signRaw(goodHeader, mustJSON(goodClaims())+"{}", keyA.Secret)},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := iss.Verify(tt.raw)
			if !errors.Is(err, token.ErrInvalidToken) {
				t.Fatalf("Verify accepted (or failed oddly): claims %+v err %v", c, err)
			}
		})
	}
	// Sanity: the baseline used above verifies, so each rejection is due to
	// its own change.
	if _, err := iss.Verify(good); err != nil {
		t.Fatalf("baseline token rejected: %v", err)
	}
}

func TestVerifyAccepts(t *testing.T) {
	now := t0.Add(10 * time.Minute)
	iss := newIssuer(t, mustRing(t, keyA, keyB), &now)
	tests := []struct {
		name string
		raw  string
	}{
		{"G-14 nbf within leeway", signRaw(goodHeader, with("nbf", now.Add(5*time.Second).Unix()), keyA.Secret)},
		{"G-13 expired within leeway", signRaw(goodHeader, with("iat", now.Add(-time.Hour).Unix(), "exp", now.Add(-20*time.Second).Unix()), keyA.Secret)},
		{"G-28 previous key still verifies", signRaw(header("kid", "b"), goodClaims(), keyB.Secret)},
		{"no scope claim", signRaw(goodHeader, with("scope", nil), keyA.Secret)},
		{"unknown extra claim", signRaw(goodHeader, with("foo", "bar"), keyA.Secret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := iss.Verify(tt.raw); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// TestRotationKeepsSessions: after rotating to a new signing key, tokens
// signed with the old key verify until they expire; dropping the old key
// afterwards rejects them.
func TestRotationKeepsSessions(t *testing.T) {
	now := t0
	old := newIssuer(t, mustRing(t, keyA), &now)
	raw, _, err := old.Mint(token.AccessClaims{Subject: "u", TenantID: "t", ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	rotated := newIssuer(t, mustRing(t, keyB, keyA), &now)
	if _, err := rotated.Verify(raw); err != nil {
		t.Errorf("old-key token rejected after rotation: %v", err)
	}
	fresh, _, _ := rotated.Mint(token.AccessClaims{Subject: "u", TenantID: "t", ClientID: "c"})
	if _, err := old.Verify(fresh); err == nil {
		t.Error("an instance without the new key accepted a new-key token")
	}
	retired := newIssuer(t, mustRing(t, keyB), &now)
	if _, err := retired.Verify(raw); err == nil {
		t.Error("token of a retired key accepted")
	}
}

func TestKeyRingRules(t *testing.T) {
	if _, err := token.NewKeyRing(token.Key{ID: "short", Secret: []byte("too short")}); err == nil {
		t.Error("G-27: a short secret was accepted")
	}
	if _, err := token.NewKeyRing(keyA, token.Key{ID: "a", Secret: keyB.Secret}); err == nil {
		t.Error("duplicate kid accepted")
	}
	if _, err := token.NewKeyRing(token.Key{ID: "../x", Secret: keyA.Secret}); err == nil {
		t.Error("kid with path characters accepted")
	}
	r, err := token.ParseKeyRing("new:" + base64.RawURLEncoding.EncodeToString(keyB.Secret) + ",old:" + base64.RawURLEncoding.EncodeToString(keyA.Secret))
	if err != nil || r.SigningKeyID() != "new" {
		t.Errorf("ParseKeyRing = %v, %v", r, err)
	}
	if _, err := token.ParseKeyRing("nokey"); err == nil {
		t.Error("ParseKeyRing accepted a key without a secret")
	}
}

// TestKeyFilePersists: the embedded default creates its key file once (mode
// 0600) and reads the same key back, so a restart logs nobody out.
func TestKeyFilePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "keys.json")
	first, err := token.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	second, err := token.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	raw, _, _ := newIssuer(t, first, &now).Mint(token.AccessClaims{Subject: "u", TenantID: "t", ClientID: "c"})
	if _, err := newIssuer(t, second, &now).Verify(raw); err != nil || first.SigningKeyID() != second.SigningKeyID() {
		t.Errorf("token from before the restart rejected: %v", err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := token.LoadOrCreateKeyFile(path); err == nil {
		t.Error("a corrupt key file was accepted (or silently replaced)")
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func FuzzVerify(f *testing.F) {
	now := t0.Add(time.Minute)
	iss, err := token.NewAccessIssuer(mustRingF(f), token.AccessOptions{Issuer: issuer, Audience: audience, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signRaw(goodHeader, goodClaims(), keyA.Secret))
	f.Add("a.b.c")
	f.Add(signRaw(header("alg", "none"), goodClaims(), nil))
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := iss.Verify(raw)
		if err == nil && (c.TenantID == "" || c.Subject == "" || c.Audience != audience) {
			t.Fatalf("accepted a token with incomplete claims: %+v", c)
		}
		if err != nil && !errors.Is(err, token.ErrInvalidToken) {
			t.Fatalf("error does not wrap ErrInvalidToken: %v", err)
		}
	})
}

func mustRingF(f *testing.F) *token.KeyRing {
	r, err := token.NewKeyRing(keyA)
	if err != nil {
		f.Fatal(err)
	}
	return r
}
