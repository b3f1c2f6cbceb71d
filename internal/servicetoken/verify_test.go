package servicetoken_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

// hs256 signs like an attacker who uses the RSA public key (in some
// encoding) as an HMAC secret (CVE-2015-9235).
func hs256(header, claims any, secret []byte) string {
	return forge(jwt.SigningMethodHS256, secret, header, claims)
}

func rs256(header, claims any) string {
	return forge(jwt.SigningMethodRS256, keyA().Private, header, claims)
}

// TestVerifyAcceptsControls pins the positive side of the fault matrix: the
// forge kit makes tokens the verifier accepts, and the leeway boundaries
// are where they should be.
func TestVerifyAcceptsControls(t *testing.T) {
	exp := t0.Add(120 * time.Second)
	tests := []struct {
		name string
		raw  string
		at   time.Time
	}{
		{"forged good token", rs256(goodHeader(keyA().ID), goodClaims()), t0},
		{"previous key", forge(jwt.SigningMethodRS256, keyB().Private, goodHeader(keyB().ID), goodClaims()), t0},
		{"expired within leeway", rs256(goodHeader(keyA().ID), goodClaims()), exp.Add(29 * time.Second)},
		{"iat within leeway in the future", rs256(goodHeader(keyA().ID), goodClaims()), t0.Add(-29 * time.Second)},
		{"no client_id", rs256(goodHeader(keyA().ID), edit(goodClaims(), "client_id", nil)), t0},
		{"unknown header member", rs256(edit(goodHeader(keyA().ID), "cty", "x"), goodClaims()), t0},
		{"unknown claim", rs256(goodHeader(keyA().ID), edit(goodClaims(), "scope", "crm:read")), t0},
		{"nbf now", rs256(goodHeader(keyA().ID), edit(goodClaims(), "nbf", t0.Unix())), t0},
		{"lifetime of TTL+leeway", rs256(goodHeader(keyA().ID), edit(goodClaims(), "exp", t0.Add(150*time.Second).Unix())), t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := staticVerifier(t, mustKeys(t, keyA(), keyB()), newClock(tt.at))
			c, err := v.Verify(t.Context(), tt.raw)
			if err != nil || c.TenantID != "t1" || c.Subject != "u1" {
				t.Fatalf("Verify = %+v, %v; want accepted", c, err)
			}
		})
	}
}

// TestVerifyRejects is catalog H-03 (and the G cases that apply to any
// JWT): every token must be refused with ErrInvalidToken.
func TestVerifyRejects(t *testing.T) {
	kidA := keyA().ID
	h := goodHeader(kidA)
	c := goodClaims()
	pub := &keyA().Private.PublicKey
	pkix, _ := x509.MarshalPKIXPublicKey(pub)
	pkcs1 := x509.MarshalPKCS1PublicKey(pub)
	pemPKIX := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	pemPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})
	hsHeader := edit(h, "alg", "HS256")
	good := rs256(h, c)
	parts := strings.Split(good, ".")
	// Change one signature character to another character of the
	// base64url alphabet (a bit flip could leave the alphabet and test the
	// format check instead of the signature check).
	flip := []byte(parts[2])
	if flip[10] == 'A' {
		flip[10] = 'B'
	} else {
		flip[10] = 'A'
	}
	exp := t0.Add(120 * time.Second)
	const leeway = 30 * time.Second
	var atDefault time.Time // verify at t0+1s

	tests := []struct {
		name string
		raw  string
		at   time.Time // zero: t0+1s
		want string    // the reason in the error, so each case fails for its own cause
	}{
		// Lifetime.
		{"expired at t+121s+leeway", good, exp.Add(leeway + time.Second), "expired"},
		{"expired exactly at exp+leeway", good, exp.Add(leeway), "expired"},
		{"exp missing", rs256(h, edit(c, "exp", nil)), atDefault, "missing exp"},
		{"exp as string", rs256(h, edit(c, "exp", "1e12")), atDefault, "bad exp"},
		{"exp fractional", rs256(h, edit(c, "exp", float64(exp.Unix())+0.5)), atDefault, "bad exp"},
		{"exp overflow", rs256(h, `{"iss":"`+issuer+`","aud":"crm-api","sub":"u1","tenant":"t1","jti":"j","iat":`+itoa(t0.Unix())+`,"exp":1e309}`), atDefault, "bad exp"},
		{"exp negative", rs256(h, edit(c, "exp", -1)), atDefault, "bad exp"},
		{"iat missing", rs256(h, edit(c, "iat", nil)), atDefault, "missing iat"},
		{"iat in the future beyond leeway", rs256(h, edit(c, "iat", t0.Add(32*time.Second).Unix(), "exp", t0.Add(152*time.Second).Unix())), atDefault, "issued in the future"},
		{"lifetime longer than TTL+leeway", rs256(h, edit(c, "exp", t0.Add(151*time.Second).Unix())), atDefault, "lifetime too long"},
		{"one-hour lifetime", rs256(h, edit(c, "exp", t0.Add(time.Hour).Unix())), atDefault, "lifetime too long"},
		{"exp before iat", rs256(h, edit(c, "iat", exp.Unix(), "exp", t0.Add(100*time.Second).Unix())), atDefault, "issued in the future"},
		{"exp equals iat", rs256(h, edit(c, "exp", t0.Unix())), atDefault, "exp not after iat"},
		{"nbf in the future", rs256(h, edit(c, "nbf", t0.Add(time.Minute).Unix())), atDefault, "not yet valid"},

		// Audience and issuer.
		{"aud of another service", rs256(h, edit(c, "aud", "crm-billing")), atDefault, "audience"},
		{"aud as array", rs256(h, edit(c, "aud", []string{"crm-api"})), atDefault, "bad aud"},
		{"aud missing", rs256(h, edit(c, "aud", nil)), atDefault, "missing aud"},
		{"aud is the MCP resource", rs256(h, edit(c, "aud", issuer+"/mcp")), atDefault, "audience"},
		{"wrong iss", rs256(h, edit(c, "iss", "https://evil.example")), atDefault, "issuer"},
		{"iss with trailing slash", rs256(h, edit(c, "iss", issuer+"/")), atDefault, "issuer"},
		{"iss missing", rs256(h, edit(c, "iss", nil)), atDefault, "missing iss"},

		// Identity.
		{"tenant missing", rs256(h, edit(c, "tenant", nil)), atDefault, "missing tenant"},
		{"tenant empty", rs256(h, edit(c, "tenant", "")), atDefault, "bad tenant"},
		{"tenant null", rs256(h, edit(c, "tenant", jsonNull{})), atDefault, "bad tenant"},
		{"tenant numeric", rs256(h, edit(c, "tenant", 7)), atDefault, "bad tenant"},
		{"tenant array", rs256(h, edit(c, "tenant", []string{"t1"})), atDefault, "bad tenant"},
		{"tenant only as Tenant", rs256(h, edit(c, "tenant", nil, "Tenant", "t1")), atDefault, "missing tenant"},
		{"sub missing", rs256(h, edit(c, "sub", nil)), atDefault, "missing sub"},
		{"sub empty", rs256(h, edit(c, "sub", "")), atDefault, "bad sub"},
		{"jti missing", rs256(h, edit(c, "jti", nil)), atDefault, "missing jti"},
		{"client_id numeric", rs256(h, edit(c, "client_id", 1)), atDefault, "bad client_id"},
		{"duplicate tenant", rs256(h, `{"iss":"`+issuer+`","aud":"crm-api","sub":"u1","tenant":"t1","tenant":"t2","jti":"j","iat":`+itoa(t0.Unix())+`,"exp":`+itoa(exp.Unix())+`}`), atDefault, "claims: duplicate member"},
		{"duplicate tenant via escape", rs256(h, `{"iss":"`+issuer+`","aud":"crm-api","sub":"u1","tenant":"t1","ten\u0061nt":"t2","jti":"j","iat":`+itoa(t0.Unix())+`,"exp":`+itoa(exp.Unix())+`}`), atDefault, "claims: duplicate member"},
		{"duplicate aud", rs256(h, `{"iss":"`+issuer+`","aud":"crm-billing","aud":"crm-api","sub":"u1","tenant":"t1","jti":"j","iat":`+itoa(t0.Unix())+`,"exp":`+itoa(exp.Unix())+`}`), atDefault, "claims: duplicate member"},
		{"claims not an object", rs256(h, `["t1"]`), atDefault, "claims: not an object"},
		{"claims null", rs256(h, `null`), atDefault, "claims: not an object"},
		{"claims trailing data", rs256(h, `{"tenant":"t1"}{}`), atDefault, "claims: not an object"},

		// Algorithm.
		{"alg none", forge(nil, nil, edit(h, "alg", "none"), c), atDefault, "algorithm"},
		{"alg None", forge(nil, nil, edit(h, "alg", "None"), c), atDefault, "algorithm"},
		{"alg NONE", forge(nil, nil, edit(h, "alg", "NONE"), c), atDefault, "algorithm"},
		{"alg nOnE", forge(nil, nil, edit(h, "alg", "nOnE"), c), atDefault, "algorithm"},
		{"alg none with a real signature", edit3(forge(nil, nil, edit(h, "alg", "none"), c), parts[2]), atDefault, "algorithm"},
		{"alg missing", rs256(edit(h, "alg", nil), c), atDefault, "algorithm"},
		{"alg rs256 lower case", rs256(edit(h, "alg", "rs256"), c), atDefault, "algorithm"},
		{"duplicate alg", rs256(`{"alg":"none","alg":"RS256","typ":"svc+jwt","kid":"`+kidA+`"}`, c), atDefault, "header: duplicate member"},
		{"HS256 with PEM (PKIX) public key", hs256(hsHeader, c, pemPKIX), atDefault, "algorithm"},
		{"HS256 with PEM (PKCS1) public key", hs256(hsHeader, c, pemPKCS1), atDefault, "algorithm"},
		{"HS256 with DER (PKIX) public key", hs256(hsHeader, c, pkix), atDefault, "algorithm"},
		{"HS256 with DER (PKCS1) public key", hs256(hsHeader, c, pkcs1), atDefault, "algorithm"},
		{"HS256 with the JWKS as secret", hs256(hsHeader, c, mustKeys(t, keyA()).JWKS()), atDefault, "algorithm"},
		{"HS256 with PEM but alg left RS256", hs256(h, c, pemPKIX), atDefault, "signature encoding"},
		{"RS384", forge(jwt.SigningMethodRS384, keyA().Private, edit(h, "alg", "RS384"), c), atDefault, "algorithm"},
		{"RS512", forge(jwt.SigningMethodRS512, keyA().Private, edit(h, "alg", "RS512"), c), atDefault, "algorithm"},
		{"PS256", forge(jwt.SigningMethodPS256, keyA().Private, edit(h, "alg", "PS256"), c), atDefault, "algorithm"},
		{"PS256 labelled RS256", forge(jwt.SigningMethodPS256, keyA().Private, h, c), atDefault, "signature"},

		// Keys.
		{"unknown kid", forge(jwt.SigningMethodRS256, keyC().Private, goodHeader(keyC().ID), c), atDefault, "unknown kid"},
		{"kid of key A, signed by key C", forge(jwt.SigningMethodRS256, keyC().Private, h, c), atDefault, "signature"},
		{"kid missing", rs256(edit(h, "kid", nil), c), atDefault, "kid"},
		{"kid path traversal", rs256(edit(h, "kid", "../../../../dev/null"), c), atDefault, "kid"},
		{"kid SQL", rs256(edit(h, "kid", "' OR '1'='1"), c), atDefault, "kid"},
		{"kid NUL", rs256(edit(h, "kid", "\x00"), c), atDefault, "kid"},
		{"kid numeric", rs256(edit(h, "kid", 1), c), atDefault, "header kid"},
		{"kid 1 KB", rs256(edit(h, "kid", strings.Repeat("k", 1024)), c), atDefault, "kid"},
		{"crit", rs256(edit(h, "crit", []string{"exp2"}, "exp2", 1), c), atDefault, "header crit not allowed"},
		{"jku", rs256(edit(h, "jku", "https://evil.example/jwks"), c), atDefault, "header jku not allowed"},
		{"x5u", rs256(edit(h, "x5u", "https://evil.example/cert"), c), atDefault, "header x5u not allowed"},
		{"jwk", rs256(edit(h, "jwk", map[string]string{"kty": "RSA"}), c), atDefault, "header jwk not allowed"},
		{"x5c", rs256(edit(h, "x5c", []string{"MIIB"}), c), atDefault, "header x5c not allowed"},
		{"b64 false", rs256(edit(h, "b64", false), c), atDefault, "header b64 not allowed"},
		{"zip", rs256(edit(h, "zip", "DEF"), c), atDefault, "header zip not allowed"},

		// Type.
		{"typ of an access token", rs256(edit(h, "typ", "at+jwt"), c), atDefault, "typ"},
		{"typ JWT", rs256(edit(h, "typ", "JWT"), c), atDefault, "typ"},
		{"typ upper case", rs256(edit(h, "typ", "SVC+JWT"), c), atDefault, "typ"},
		{"typ with application/ prefix", rs256(edit(h, "typ", "application/svc+jwt"), c), atDefault, "typ"},
		{"typ missing", rs256(edit(h, "typ", nil), c), atDefault, "typ"},

		// Signature and format.
		{"signature bit flipped", parts[0] + "." + parts[1] + "." + string(flip), atDefault, "signature"},
		{"signature stripped", parts[0] + "." + parts[1] + ".", atDefault, "signature encoding"},
		{"signature truncated", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4], atDefault, "signature encoding"},
		{"payload swapped for another tenant", parts[0] + "." + seg(edit(c, "tenant", "t2")) + "." + parts[2], atDefault, "signature"},
		{"signature padded", good + "==", atDefault, "malformed"},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(good), atDefault, "malformed"},
		{"four segments", good + ".x", atDefault, "malformed"},
		{"two segments", parts[0] + "." + parts[1], atDefault, "malformed"},
		{"leading space", " " + good, atDefault, "malformed"},
		{"embedded newline", parts[0] + ".\n" + parts[1] + "." + parts[2], atDefault, "malformed"},
		{"JSON serialization", `{"protected":"` + parts[0] + `","payload":"` + parts[1] + `","signature":"` + parts[2] + `"}`, atDefault, "malformed"},
		{"empty", "", atDefault, "malformed"},
		{"dots only", "..", atDefault, "header: not an object"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], atDefault, "header: not an object"},
		{"oversized token", rs256(h, edit(c, "pad", strings.Repeat("x", 5000))), atDefault, "oversized"},
		{"oversized header", rs256(edit(h, "pad", strings.Repeat("x", 64<<10)), c), atDefault, "oversized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			if at.IsZero() {
				at = t0.Add(time.Second)
			}
			v := staticVerifier(t, mustKeys(t, keyA(), keyB()), newClock(at))
			got, err := v.Verify(t.Context(), tt.raw)
			if err == nil {
				t.Fatalf("Verify accepted it: %+v", got)
			}
			if !errors.Is(err, servicetoken.ErrInvalidToken) || !strings.HasSuffix(err.Error(), ": "+tt.want) {
				t.Errorf("error %q, want ErrInvalidToken: %s", err, tt.want)
			}
			if errors.Is(err, servicetoken.ErrKeysUnavailable) {
				t.Errorf("static keys reported unavailable: %v", err)
			}
			if got != (servicetoken.Claims{}) {
				t.Errorf("claims returned with an error: %+v", got)
			}
		})
	}
}

type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// edit3 replaces the signature segment of raw.
func edit3(raw, sig string) string {
	return raw[:strings.LastIndexByte(raw, '.')+1] + sig
}

func TestNewVerifierOptions(t *testing.T) {
	keys := mustKeys(t, keyA())
	for _, tt := range []struct {
		name string
		opts servicetoken.VerifierOptions
	}{
		{"no issuer", servicetoken.VerifierOptions{Keys: keys}},
		{"no key source", servicetoken.VerifierOptions{Issuer: issuer}},
		{"both key sources", servicetoken.VerifierOptions{Issuer: issuer, Keys: keys, JWKSURL: "https://x"}},
		{"leeway above 30s", servicetoken.VerifierOptions{Issuer: issuer, Keys: keys, Leeway: 31 * time.Second}},
		{"negative leeway", servicetoken.VerifierOptions{Issuer: issuer, Keys: keys, Leeway: -time.Second}},
		{"max ttl above 10m", servicetoken.VerifierOptions{Issuer: issuer, Keys: keys, MaxTTL: time.Hour}},
		{"negative refetch interval", servicetoken.VerifierOptions{Issuer: issuer, JWKSURL: "https://x", MinRefetchInterval: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := servicetoken.NewVerifier(tt.opts); err == nil {
				t.Fatal("NewVerifier accepted it")
			}
		})
	}
}
