package servicetoken

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/jose"
)

// key returns the public key for kid. With a JWKS URL it implements the
// cache rules of catalog H-04:
//
//   - fetched keys are used for CacheTTL; the next request after that
//     refreshes them (without waiting if another request is refreshing);
//   - an unknown kid triggers a fetch, at most one per MinRefetchInterval
//     across all requests, since kids come from unauthenticated input;
//   - if fetches fail, the last keys keep verifying until 2×CacheTTL after
//     the last successful fetch, then every token fails with
//     ErrKeysUnavailable.
func (v *Verifier) key(ctx context.Context, kid string, now time.Time) (*rsa.PublicKey, error) {
	if v.opts.Keys != nil {
		if pub, ok := v.opts.Keys.lookup(kid); ok {
			return pub, nil
		}
		return nil, invalid("unknown kid")
	}
	set := v.cur.Load()
	if set != nil && now.Sub(set.fetchedAt) < v.opts.CacheTTL {
		if pub, ok := set.keys[kid]; ok {
			return pub, nil
		}
	}
	var fetchErr error
	if v.usable(set, now) && set.keys[kid] != nil {
		// Known kid, stale keys: refresh unless someone already is.
		if v.mu.TryLock() {
			fetchErr = v.refreshLocked(ctx, now)
			v.mu.Unlock()
		}
	} else {
		v.mu.Lock()
		fetchErr = v.refreshLocked(ctx, now)
		v.mu.Unlock()
	}
	set = v.cur.Load()
	if !v.usable(set, now) {
		if fetchErr == nil {
			fetchErr = errors.New("cached keys expired")
		}
		return nil, unavailable(fetchErr)
	}
	if pub, ok := set.keys[kid]; ok {
		return pub, nil
	}
	if fetchErr != nil {
		// The kid may be one we could not fetch: an outage, not a forgery.
		return nil, unavailable(fetchErr)
	}
	return nil, invalid("unknown kid")
}

// usable reports whether set may still verify at now: within the 2×CacheTTL
// grace period after its fetch.
func (v *Verifier) usable(set *keySet, now time.Time) bool {
	return set != nil && now.Sub(set.fetchedAt) < 2*v.opts.CacheTTL
}

func unavailable(err error) error {
	return fmt.Errorf("%w: %w: %w", ErrInvalidToken, ErrKeysUnavailable, err)
}

// refreshLocked fetches the JWKS unless the last attempt was less than
// MinRefetchInterval ago, in which case it reports how that attempt went.
// v.mu must be held.
func (v *Verifier) refreshLocked(ctx context.Context, now time.Time) error {
	if !v.lastAttempt.IsZero() && now.Sub(v.lastAttempt) < v.opts.MinRefetchInterval {
		return v.lastErr
	}
	v.lastAttempt = now
	keys, class, err := v.fetch(ctx)
	v.lastErr = err
	if err != nil {
		v.logger.LogAttrs(ctx, slog.LevelWarn, "jwks fetch failed", slog.String("class", class))
		return err
	}
	v.cur.Store(&keySet{keys: keys, fetchedAt: now})
	v.logger.LogAttrs(ctx, slog.LevelInfo, "jwks fetched", slog.Int("keys", len(keys)))
	return nil
}

// fetch GETs and parses the JWKS. class names the failure for logs, which
// must not carry the upstream error text.
func (v *Verifier) fetch(ctx context.Context) (keys map[string]*rsa.PublicKey, class string, err error) {
	// Not cancelled with the request that happened to trigger it: the
	// result serves every request.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.opts.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.opts.JWKSURL, nil)
	if err != nil {
		return nil, "request", fmt.Errorf("fetch jwks: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, "transport", fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "status", fmt.Errorf("fetch jwks: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBytes+1))
	if err != nil {
		return nil, "transport", fmt.Errorf("fetch jwks: read body: %w", err)
	}
	if len(body) > MaxJWKSBytes {
		return nil, "too_large", fmt.Errorf("fetch jwks: body larger than %d bytes", MaxJWKSBytes)
	}
	keys, err = parseJWKS(body)
	if err != nil {
		return nil, "parse", fmt.Errorf("fetch jwks: %w", err)
	}
	return keys, "", nil
}

// parseJWKS reads an RFC 7517 §5 key set, keeping only RSA signature keys
// usable with RS256 whose modulus is MinRSABits–MaxRSABits. Other keys are
// skipped; a kid that appears twice is dropped altogether, since it would
// be ambiguous. A set with no usable key is an error, so that a broken
// publication never replaces working keys.
func parseJWKS(b []byte) (map[string]*rsa.PublicKey, error) {
	top, err := jose.DecodeObject(b)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(top["keys"], &raws); err != nil || raws == nil {
		return nil, errors.New("jwks: keys is not an array")
	}
	keys := make(map[string]*rsa.PublicKey)
	dup := make(map[string]bool)
	for _, raw := range raws {
		kid, pub, ok := parseJWK(raw)
		if !ok {
			continue
		}
		if _, seen := keys[kid]; seen || dup[kid] {
			dup[kid] = true
			delete(keys, kid)
			continue
		}
		keys[kid] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks: no usable RS256 key")
	}
	return keys, nil
}

func parseJWK(raw json.RawMessage) (string, *rsa.PublicKey, bool) {
	m, err := jose.DecodeObject(raw)
	if err != nil {
		return "", nil, false
	}
	str := func(name string) (string, bool) {
		var s string
		r, ok := m[name]
		if !ok {
			return "", true
		}
		return s, json.Unmarshal(r, &s) == nil
	}
	kty, ok1 := str("kty")
	use, ok2 := str("use")
	alg, ok3 := str("alg")
	kid, ok4 := str("kid")
	n64, ok5 := str("n")
	e64, ok6 := str("e")
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || kty != "RSA" || !validKeyID(kid) ||
		(use != "" && use != "sig") || (alg != "" && alg != "RS256") {
		return "", nil, false
	}
	if r, ok := m["key_ops"]; ok {
		var ops []string
		if json.Unmarshal(r, &ops) != nil || !slices.Contains(ops, "verify") {
			return "", nil, false
		}
	}
	n, err := base64.RawURLEncoding.Strict().DecodeString(n64)
	if err != nil || len(n) == 0 || n[0] == 0 {
		return "", nil, false
	}
	e, err := base64.RawURLEncoding.Strict().DecodeString(e64)
	if err != nil || len(e) == 0 || len(e) > 4 || e[0] == 0 {
		return "", nil, false
	}
	eInt := new(big.Int).SetBytes(e).Int64()
	if eInt < 3 || eInt > 1<<31-1 || eInt%2 == 0 {
		return "", nil, false
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eInt)}
	if checkRSASize(pub) != nil {
		return "", nil, false
	}
	return kid, pub, true
}
