package servicetoken_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

func TestGenerateKey(t *testing.T) {
	k := keyA()
	if got := k.Private.N.BitLen(); got != servicetoken.MinRSABits {
		t.Errorf("modulus = %d bits, want %d", got, servicetoken.MinRSABits)
	}
	if k.ID != servicetoken.Thumbprint(&k.Private.PublicKey) || len(k.ID) != 43 {
		t.Errorf("kid %q is not the RFC 7638 thumbprint", k.ID)
	}
	if keyA().ID == keyB().ID {
		t.Error("two generated keys share a kid")
	}
}

// TestThumbprintRFC7638 checks the thumbprint against the example of
// RFC 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	n, _ := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	if got, want := servicetoken.Thumbprint(pub), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("Thumbprint = %q, want %q", got, want)
	}
}

func TestNewKeysRejects(t *testing.T) {
	small := servicetoken.SigningKey{ID: "small", Private: smallKey()}
	tests := []struct {
		name   string
		sign   servicetoken.SigningKey
		others []servicetoken.SigningKey
	}{
		{"1024-bit signing key", small, nil},
		{"1024-bit verify key", keyA(), []servicetoken.SigningKey{small}},
		{"empty kid", servicetoken.SigningKey{Private: keyA().Private}, nil},
		{"kid with path characters", servicetoken.SigningKey{ID: "../../etc/passwd", Private: keyA().Private}, nil},
		{"kid too long", servicetoken.SigningKey{ID: strings.Repeat("k", 65), Private: keyA().Private}, nil},
		{"nil private key", servicetoken.SigningKey{ID: "x"}, nil},
		{"duplicate kid", keyA(), []servicetoken.SigningKey{{ID: keyA().ID, Private: keyB().Private}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := servicetoken.NewKeys(tt.sign, tt.others...); err == nil {
				t.Fatal("NewKeys accepted it")
			}
		})
	}
	if _, err := servicetoken.NewSigningKey(smallKey()); err == nil {
		t.Error("NewSigningKey accepted a 1024-bit key")
	}
}

func TestJWKS(t *testing.T) {
	keys := mustKeys(t, keyA(), keyB())
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(keys.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2", len(set.Keys))
	}
	for i, want := range []servicetoken.SigningKey{keyA(), keyB()} {
		k := set.Keys[i]
		if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] != want.ID {
			t.Errorf("key %d = %v", i, k)
		}
		if _, ok := k["d"]; ok || len(k) != 6 {
			t.Errorf("key %d has members beyond kty/use/alg/kid/n/e: %v", i, k)
		}
		n, _ := base64.RawURLEncoding.DecodeString(k["n"])
		e, _ := base64.RawURLEncoding.DecodeString(k["e"])
		if new(big.Int).SetBytes(n).Cmp(want.Private.N) != 0 || new(big.Int).SetBytes(e).Int64() != int64(want.Private.E) {
			t.Errorf("key %d: n/e do not match the key", i)
		}
	}
	b := keys.JWKS()
	b[0] = 'X'
	if keys.JWKS()[0] != '{' {
		t.Error("JWKS returned shared bytes")
	}
}

func TestRotate(t *testing.T) {
	keys := mustKeys(t, keyA())
	r1, err := keys.Rotate(keyB(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if r1.SigningKeyID() != keyB().ID || !jwksHas(t, r1, keyA().ID) {
		t.Errorf("after Rotate(B, 1): signing %q, want B with A published", r1.SigningKeyID())
	}
	r2, err := r1.Rotate(keyC(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if jwksHas(t, r2, keyA().ID) || !jwksHas(t, r2, keyB().ID) {
		t.Error("Rotate(C, 1) kept the wrong previous keys")
	}
	// A key published ahead of use is promoted, not duplicated.
	pre := mustKeys(t, keyA(), keyB())
	if _, err := pre.Rotate(keyB(), 2); err != nil {
		t.Errorf("promoting a pre-published key: %v", err)
	}
}

func jwksHas(t *testing.T, k *servicetoken.Keys, kid string) bool {
	t.Helper()
	return strings.Contains(string(k.JWKS()), `"kid":"`+kid+`"`)
}

func TestPEMRoundTrip(t *testing.T) {
	keys := mustKeys(t, keyA(), keyB())
	b, err := keys.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	got, err := servicetoken.ParseKeysPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.SigningKeyID() != keyA().ID || string(got.JWKS()) != string(keys.JWKS()) {
		t.Error("PEM round trip changed the key set")
	}
}

func TestMarshalPEMRejectsCustomKid(t *testing.T) {
	keys := mustKeys(t, servicetoken.SigningKey{ID: "custom", Private: keyA().Private})
	if _, err := keys.MarshalPEM(); err == nil {
		t.Error("MarshalPEM stored a kid it cannot restore")
	}
}

func TestParseKeysPEMRejects(t *testing.T) {
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("hello")},
		{"PKCS #1 block", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(keyA().Private)})},
		{"public key block", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})},
		{"EC key", pkcs8(ec)},
		{"1024-bit RSA", pkcs8(smallKey())},
		{"good key then 1024-bit RSA", append(pkcs8(keyA().Private), pkcs8(smallKey())...)},
		{"same key twice", append(pkcs8(keyA().Private), pkcs8(keyA().Private)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := servicetoken.ParseKeysPEM(tt.in); err == nil {
				t.Fatal("ParseKeysPEM accepted it")
			}
		})
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "service-keys.pem")
	k1, err := servicetoken.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, err := servicetoken.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.SigningKeyID() != k2.SigningKeyID() {
		t.Error("reloading the key file changed the signing key")
	}

	// Rotation through the file: the new key signs, the old one still
	// verifies, and both are published.
	rotated, err := k2.Rotate(keyB(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := servicetoken.WriteKeyFile(path, rotated); err != nil {
		t.Fatal(err)
	}
	k3, err := servicetoken.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if k3.SigningKeyID() != keyB().ID || !jwksHas(t, k3, k1.SigningKeyID()) {
		t.Error("rotated key file did not load as signing B + verify previous")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("rewritten key file mode = %v, want 0600", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}

	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := servicetoken.LoadOrCreateKeyFile(path); err == nil {
		t.Error("a corrupt key file was accepted (or silently replaced)")
	}
}

// TestLoadOrCreateKeyFileConcurrent starts several "processes" at once on
// an empty path: exactly one key must win, and everyone must load it.
func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.pem")
	const n = 3
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := servicetoken.LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.SigningKeyID()
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("concurrent creators got different keys: %v", ids)
		}
	}
}
