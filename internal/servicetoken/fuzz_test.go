package servicetoken_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

// FuzzVerify: Verify never panics, every failure wraps ErrInvalidToken, and
// an accepted token always names a tenant and a user.
func FuzzVerify(f *testing.F) {
	clk := newClock(t0)
	keys := mustKeys(f, keyA())
	m := newMinter(f, keys, clk, servicetoken.MinterOptions{})
	good, err := m.Mint(f.Context(), servicetoken.Subject{UserID: "u1", TenantID: "t1", ClientID: "c1"})
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, seed := range []string{
		good,
		parts[0] + "." + parts[1] + ".",
		forge(nil, nil, edit(goodHeader(keyA().ID), "alg", "none"), goodClaims()),
		hs256(edit(goodHeader(keyA().ID), "alg", "HS256"), goodClaims(), keys.JWKS()),
		rs256(goodHeader(keyA().ID), edit(goodClaims(), "tenant", "")),
		rs256(goodHeader(keyA().ID), `{"tenant":"t1","tenant":""}`),
		forge(jwt.SigningMethodRS256, keyA().Private, goodHeader(keyA().ID), `{"iss":"`+issuer+`","aud":"crm-api","sub":"u","tenant":"\u0000","jti":"j","iat":1,"exp":2}`),
		"", ".", "..", "a.b.c", "eyJ9.eyJ9.", strings.Repeat("A", 5000),
	} {
		f.Add(seed)
	}
	v := staticVerifier(f, keys, clk)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(t.Context(), raw)
		if err != nil {
			if !errors.Is(err, servicetoken.ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
			return
		}
		if c.TenantID == "" || c.Subject == "" || c.JTI == "" {
			t.Fatalf("accepted claims without identity: %+v", c)
		}
	})
}

// FuzzParseJWKS: the JWKS parser never panics and returns only RSA keys of
// an accepted size under well-formed kids.
func FuzzParseJWKS(f *testing.F) {
	f.Add(mustKeys(f, keyA(), keyB()).JWKS())
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB","e":"Aw"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := servicetoken.ParseJWKS(b)
		if err != nil {
			return
		}
		if len(keys) == 0 {
			t.Fatal("no error and no keys")
		}
		for kid, k := range keys {
			if kid == "" || len(kid) > 64 || k.N.BitLen() < servicetoken.MinRSABits || k.N.BitLen() > servicetoken.MaxRSABits || k.E < 3 {
				t.Fatalf("accepted key %q: %d bits, e=%d", kid, k.N.BitLen(), k.E)
			}
		}
	})
}
