package servicetoken

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
)

const (
	// MinRSABits is the smallest RSA modulus accepted anywhere: for our own
	// keys and for keys read from a JWKS (RFC 7518 §3.3 requires 2048).
	MinRSABits = 2048
	// MaxRSABits is the largest modulus accepted. Larger keys only slow
	// signing and verification down; a JWKS entry above it is ignored.
	MaxRSABits = 4096
)

// SigningKey is one RSA key pair and its key id. The zero value is not
// usable; get one from [GenerateKey], [ParseKeysPEM] or [NewSigningKey].
type SigningKey struct {
	// ID is the kid tokens signed with Private carry: 1–64 of
	// [A-Za-z0-9_-].
	ID      string
	Private *rsa.PrivateKey
}

// NewSigningKey wraps priv with its RFC 7638 thumbprint as the key id,
// after checking its size.
func NewSigningKey(priv *rsa.PrivateKey) (SigningKey, error) {
	if priv == nil {
		return SigningKey{}, errors.New("new signing key: nil key")
	}
	if err := checkRSASize(&priv.PublicKey); err != nil {
		return SigningKey{}, fmt.Errorf("new signing key: %w", err)
	}
	return SigningKey{ID: Thumbprint(&priv.PublicKey), Private: priv}, nil
}

// GenerateKey returns a fresh 2048-bit RSA key whose kid is its RFC 7638
// thumbprint. It takes around 100 ms.
func GenerateKey() (SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, MinRSABits)
	if err != nil {
		return SigningKey{}, fmt.Errorf("generate service key: %w", err)
	}
	return NewSigningKey(priv)
}

// Thumbprint is the RFC 7638 JWK thumbprint of pub (SHA-256 over the
// canonical {"e","kty","n"} member set, base64url): a kid that cannot
// name two different keys.
func Thumbprint(pub *rsa.PublicKey) string {
	canon := `{"e":"` + b64big(big.NewInt(int64(pub.E))) + `","kty":"RSA","n":"` + b64big(pub.N) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// b64big is the base64url encoding of x's minimal big-endian bytes, as
// RFC 7518 §6.3.1 requires for n and e.
func b64big(x *big.Int) string { return base64.RawURLEncoding.EncodeToString(x.Bytes()) }

func checkRSASize(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil {
		return errors.New("rsa key: missing modulus")
	}
	if n := pub.N.BitLen(); n < MinRSABits || n > MaxRSABits {
		return fmt.Errorf("rsa key: %d bits, want %d–%d", n, MinRSABits, MaxRSABits)
	}
	return nil
}

// Keys is crm-mcp's service-token key set: one signing key plus verify-only
// keys (the previous keys during a rotation, or the next key published
// ahead of use). Every key is published in [Keys.JWKS]. Keys is immutable
// and safe for concurrent use.
type Keys struct {
	signing SigningKey
	others  []SigningKey
	public  map[string]*rsa.PublicKey
	jwks    []byte
}

// NewKeys returns a set that signs with signing and verifies with it and
// every key in verifyOnly.
func NewKeys(signing SigningKey, verifyOnly ...SigningKey) (*Keys, error) {
	k := &Keys{signing: signing, others: slices.Clone(verifyOnly), public: make(map[string]*rsa.PublicKey)}
	var errs []error
	for _, sk := range append([]SigningKey{signing}, verifyOnly...) {
		if !validKeyID(sk.ID) {
			errs = append(errs, fmt.Errorf("key id %q: want 1-64 of [A-Za-z0-9_-]", sk.ID))
			continue
		}
		if sk.Private == nil {
			errs = append(errs, fmt.Errorf("key %q: no private key", sk.ID))
			continue
		}
		if err := checkRSASize(&sk.Private.PublicKey); err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", sk.ID, err))
			continue
		}
		if _, dup := k.public[sk.ID]; dup {
			errs = append(errs, fmt.Errorf("key id %q appears twice", sk.ID))
			continue
		}
		k.public[sk.ID] = &sk.Private.PublicKey
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("build service keys: %w", err)
	}
	k.jwks = marshalJWKS(append([]SigningKey{signing}, verifyOnly...))
	return k, nil
}

// SigningKeyID is the kid new tokens carry.
func (k *Keys) SigningKeyID() string { return k.signing.ID }

// Rotate returns a set that signs with next and keeps up to keep of k's
// other keys as verify-only: the current signing key first, then k's
// verify-only keys in order (a copy of next among them is dropped, so a
// key published ahead of use can be promoted). Keep the previous key
// published for at least the token TTL plus the verifiers' leeway (150 s
// with the defaults), so tokens signed just before the rotation verify.
func (k *Keys) Rotate(next SigningKey, keep int) (*Keys, error) {
	var prev []SigningKey
	for _, sk := range append([]SigningKey{k.signing}, k.others...) {
		if sk.ID != next.ID && len(prev) < keep {
			prev = append(prev, sk)
		}
	}
	return NewKeys(next, prev...)
}

// JWKS returns the RFC 7517 JSON Web Key Set of every public key in k
// (kty RSA, use sig, alg RS256, kid, n, e), signing key first. The caller
// may keep the slice; it is a copy.
func (k *Keys) JWKS() []byte { return append([]byte(nil), k.jwks...) }

// JWKSHandler serves k's JWKS (RFC 7517 §5) for the CRM API to fetch.
func JWKSHandler(k *Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		// Verifiers refetch on an unknown kid, so a short cache is enough.
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = w.Write(k.jwks)
	})
}

func (k *Keys) lookup(kid string) (*rsa.PublicKey, bool) {
	p, ok := k.public[kid]
	return p, ok
}

// jwk is one RFC 7517 §4 / RFC 7518 §6.3.1 RSA public key.
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	Kid    string   `json:"kid"`
	N      string   `json:"n"`
	E      string   `json:"e"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

func marshalJWKS(keys []SigningKey) []byte {
	set := jwkSet{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		pub := &k.Private.PublicKey
		set.Keys = append(set.Keys, jwk{
			Kty: "RSA", Use: "sig", Alg: "RS256", Kid: k.ID,
			N: b64big(pub.N), E: b64big(big.NewInt(int64(pub.E))),
		})
	}
	b, _ := json.Marshal(set) // strings and slices only: cannot fail
	return b
}

func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

const pemType = "PRIVATE KEY"

// MarshalPEM encodes every key of k as a PKCS #8 "PRIVATE KEY" PEM block,
// the signing key first. [ParseKeysPEM] reads it back. The file carries no
// kids: they are the keys' thumbprints, so a key with any other ID is
// refused rather than silently renamed on the next load.
func (k *Keys) MarshalPEM() ([]byte, error) {
	var out []byte
	for _, sk := range append([]SigningKey{k.signing}, k.others...) {
		if sk.ID != Thumbprint(&sk.Private.PublicKey) {
			return nil, fmt.Errorf("marshal service key %q: id is not the key's thumbprint", sk.ID)
		}
		der, err := x509.MarshalPKCS8PrivateKey(sk.Private)
		if err != nil {
			return nil, fmt.Errorf("marshal service key %q: %w", sk.ID, err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})...)
	}
	return out, nil
}

// ParseKeysPEM reads PKCS #8 "PRIVATE KEY" RSA blocks: the first signs,
// the others only verify. Each key's kid is its RFC 7638 thumbprint, so
// every replica given the same PEM publishes and uses the same kids. This
// is how several crm-mcp replicas share one key set (from a secret file
// or the environment).
func ParseKeysPEM(b []byte) (*Keys, error) {
	var keys []SigningKey
	for i := 0; ; i++ {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != pemType {
			return nil, fmt.Errorf("parse service keys: block %d is %q, want %q", i, block.Type, pemType)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse service keys: block %d: not PKCS #8", i)
		}
		priv, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("parse service keys: block %d: %T, want RSA", i, k)
		}
		sk, err := NewSigningKey(priv)
		if err != nil {
			return nil, fmt.Errorf("parse service keys: block %d: %w", i, err)
		}
		keys = append(keys, sk)
	}
	if len(keys) == 0 {
		return nil, errors.New("parse service keys: no PEM blocks")
	}
	return NewKeys(keys[0], keys[1:]...)
}

// LoadOrCreateKeyFile reads the key set stored at path (PEM, see
// [ParseKeysPEM]), or creates the file (mode 0600) holding one fresh key.
// Creation is atomic: the key is written to a temporary file and linked
// into place, so a process starting at the same moment either loses the
// race and reads the winner's complete file, or wins it; nobody ever sees
// a partly written file or overwrites another's key.
func LoadOrCreateKeyFile(path string) (*Keys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read service key file: %w", err)
	}
	k, err := ParseKeysPEM(b)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return k, nil
}

func createKeyFile(path string) (*Keys, error) {
	sk, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	k, err := NewKeys(sk)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create service key file: %w", err)
	}
	tmp, err := writeTemp(path, k)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	// link(2) fails with EEXIST instead of replacing: the O_EXCL of a
	// complete file.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateKeyFile(path)
		}
		return nil, fmt.Errorf("create service key file: %w", err)
	}
	return k, nil
}

// WriteKeyFile atomically replaces the file at path (mode 0600) with k,
// e.g. after [Keys.Rotate].
func WriteKeyFile(path string, k *Keys) error {
	tmp, err := writeTemp(path, k)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write service key file: %w", err)
	}
	return nil
}

// writeTemp writes k to a new 0600 file (os.CreateTemp uses O_EXCL) next to
// path, synced, and returns its name.
func writeTemp(path string, k *Keys) (string, error) {
	b, err := k.MarshalPEM()
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("write service key file: %w", err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write service key file: %w", err)
	}
	return f.Name(), nil
}
