package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MinSecretBytes is the shortest HMAC secret accepted: RFC 8725 §3.5 asks
// for keys with at least as much entropy as the hash output (256 bits).
const MinSecretBytes = 32

// Key is one HMAC key of a ring.
type Key struct {
	ID     string
	Secret []byte
}

// KeyRing holds one signing key and any number of verify-only keys (the
// previous keys during a rotation). It is immutable and safe for
// concurrent use.
type KeyRing struct {
	signing Key
	verify  map[string][]byte
}

// NewKeyRing returns a ring that signs with signing and verifies with it and
// with every key in verifyOnly.
func NewKeyRing(signing Key, verifyOnly ...Key) (*KeyRing, error) {
	r := &KeyRing{signing: signing, verify: make(map[string][]byte)}
	var errs []error
	for _, k := range append([]Key{signing}, verifyOnly...) {
		if !validKeyID(k.ID) {
			errs = append(errs, fmt.Errorf("key id %q: want 1-64 of [A-Za-z0-9_-]", k.ID))
			continue
		}
		if len(k.Secret) < MinSecretBytes {
			errs = append(errs, fmt.Errorf("key %q: secret has %d bytes, want at least %d", k.ID, len(k.Secret), MinSecretBytes))
			continue
		}
		if _, dup := r.verify[k.ID]; dup {
			errs = append(errs, fmt.Errorf("key id %q appears twice", k.ID))
			continue
		}
		r.verify[k.ID] = k.Secret
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("build key ring: %w", err)
	}
	return r, nil
}

// SigningKeyID is the kid new tokens carry.
func (r *KeyRing) SigningKeyID() string { return r.signing.ID }

func (r *KeyRing) lookup(kid string) ([]byte, bool) {
	s, ok := r.verify[kid]
	return s, ok
}

func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// GenerateKey returns a new random 256-bit key with a random id.
func GenerateKey() Key {
	secret := make([]byte, MinSecretBytes)
	_, _ = rand.Read(secret) // never fails (Go ≥ 1.24)
	id := make([]byte, 9)
	_, _ = rand.Read(id)
	return Key{ID: "k" + base64.RawURLEncoding.EncodeToString(id), Secret: secret}
}

// ParseKeyRing reads "kid:base64url-secret,kid:secret,...": the first key
// signs, the others only verify. This is how several replicas share keys
// (CRM_MCP_TOKEN_KEYS).
func ParseKeyRing(spec string) (*KeyRing, error) {
	var keys []Key
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, enc, ok := strings.Cut(part, ":")
		if !ok {
			return nil, errors.New("parse key ring: each key is kid:base64url-secret")
		}
		secret, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
		if err != nil {
			return nil, fmt.Errorf("parse key ring: key %q: secret is not base64url", id)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("parse key ring: no keys")
	}
	return NewKeyRing(keys[0], keys[1:]...)
}

type keyFile struct {
	Signing string         `json:"signing"`
	Keys    []keyFileEntry `json:"keys"`
}

type keyFileEntry struct {
	ID     string `json:"kid"`
	Secret string `json:"secret"`
}

// LoadOrCreateKeyFile reads the ring stored at path, or creates the file
// (mode 0600) with one fresh key. The embedded default keeps its keys on
// disk so that a restart logs nobody out.
func LoadOrCreateKeyFile(path string) (*KeyRing, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse key file %s: not valid JSON", path)
	}
	var signing *Key
	var others []Key
	for _, e := range f.Keys {
		secret, err := base64.RawURLEncoding.DecodeString(e.Secret)
		if err != nil {
			return nil, fmt.Errorf("parse key file %s: key %q is not base64url", path, e.ID)
		}
		k := Key{ID: e.ID, Secret: secret}
		if e.ID == f.Signing && signing == nil {
			signing = &k
			continue
		}
		others = append(others, k)
	}
	if signing == nil {
		return nil, fmt.Errorf("parse key file %s: signing key %q not among its keys", path, f.Signing)
	}
	return NewKeyRing(*signing, others...)
}

func createKeyFile(path string) (*KeyRing, error) {
	k := GenerateKey()
	b, err := json.MarshalIndent(keyFile{Signing: k.ID, Keys: []keyFileEntry{{ID: k.ID, Secret: base64.RawURLEncoding.EncodeToString(k.Secret)}}}, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	// O_EXCL: two processes starting at once must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	return NewKeyRing(k)
}

// Derive returns a 256-bit key for label, derived from the signing key
// (HMAC-SHA256), for secrets that must be the same on every replica
// without their own configuration (e.g. the refresh-successor key).
func (r *KeyRing) Derive(label string) []byte {
	m := hmac.New(sha256.New, r.signing.Secret)
	m.Write([]byte("crm-mcp derive\x00" + label))
	return m.Sum(nil)
}
