package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/state"
)

var _ state.Store = (*Store)(nil)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Prefix starts every key. It must not contain '{' or '}'. If empty,
	// defaults to "crm".
	Prefix string
	// Now returns the current time, used to turn absolute expiries into
	// TTLs and to stamp records. Expiry itself is Redis's (server) time.
	// If nil, defaults to time.Now.
	Now func() time.Time
	// OpTimeout bounds every call to Redis; a call that exceeds it fails
	// with state.ErrUnavailable. If zero, defaults to 500 ms.
	OpTimeout time.Duration
	// MinRevocationTTL is the minimum time a revoked family is remembered.
	// If zero, defaults to state.DefaultMinRevocationTTL.
	MinRevocationTTL time.Duration
}

// Store is a state.Store on Redis. It is safe for concurrent use by any
// number of goroutines and processes.
type Store struct {
	c          goredis.UniversalClient
	prefix     string
	now        func() time.Time
	timeout    time.Duration
	minRevoked time.Duration
}

// New returns a Store using client, which it takes ownership of (Close
// closes it). It panics if client is nil or opts.Prefix contains a brace:
// both are programmer errors found at startup.
func New(client goredis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("state/redis: nil client")
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		panic("state/redis: prefix must not contain braces")
	}
	s := &Store{c: client, prefix: opts.Prefix, now: opts.Now, timeout: opts.OpTimeout, minRevoked: opts.MinRevocationTTL}
	if s.prefix == "" {
		s.prefix = "crm"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = 500 * time.Millisecond
	}
	if s.minRevoked <= 0 {
		s.minRevoked = state.DefaultMinRevocationTTL
	}
	return s
}

// key returns P:{kind:id}. Any later suffix shares the tag, and because
// every key of a multi-key call starts with the same P:{kind:id}, braces
// inside id cannot split them across slots.
func (s *Store) key(kind, id string) string {
	return s.prefix + ":{" + kind + ":" + id + "}"
}

func (s *Store) consentKey(userID, clientID string) string {
	return s.key("user", userID) + ":consent:" + clientID
}

func (s *Store) consentSetKey(userID string) string { return s.key("user", userID) + ":consents" }

func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

func validID(id string) bool { return id != "" && len(id) <= state.MaxIDLen }

// ms converts d to whole milliseconds, at least 1.
func ms(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

func invalid(op string) error { return fmt.Errorf("%s: %w", op, state.ErrInvalid) }

func notFound(op string) error { return fmt.Errorf("%s: %w", op, state.ErrNotFound) }

// fail maps a Redis error: redis.Nil is ErrNotFound, anything else is
// ErrUnavailable without the error's text (which may name keys).
func fail(op string, err error) error {
	if errors.Is(err, goredis.Nil) {
		return notFound(op)
	}
	return state.Unavailable(op, err)
}

var errCorrupt = errors.New("corrupt record")

func decode(op string, raw string, v any) error {
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return state.Unavailable(op, errCorrupt)
	}
	return nil
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// The records are plain structs of strings, slices and times.
		panic("state/redis: encode record: " + err.Error())
	}
	return string(b)
}

// setNX stores value under key for ttl unless the key exists.
func (s *Store) setNX(ctx context.Context, op, key, value string, ttl time.Duration) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	ok, err := s.c.SetNX(ctx, key, value, time.Duration(ms(ttl))*time.Millisecond).Result()
	if err != nil {
		return fail(op, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	return nil
}

func (s *Store) get(ctx context.Context, op, key string, v any) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	raw, err := s.c.Get(ctx, key).Result()
	if err != nil {
		return fail(op, err)
	}
	return decode(op, raw, v)
}

// run runs a script and returns its status and optional string payload.
func (s *Store) run(ctx context.Context, op string, sc *goredis.Script, keys []string, args ...any) (int64, string, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	res, err := sc.Run(ctx, s.c, keys, args...).Slice()
	if err != nil {
		return 0, "", state.Unavailable(op, err)
	}
	if len(res) == 0 {
		return 0, "", state.Unavailable(op, errCorrupt)
	}
	st, ok := res[0].(int64)
	if !ok {
		return 0, "", state.Unavailable(op, errCorrupt)
	}
	var payload string
	if len(res) > 1 {
		payload, _ = res[1].(string)
	}
	return st, payload, nil
}

func (s *Store) runInt(ctx context.Context, op string, sc *goredis.Script, keys []string, args ...any) (int64, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	n, err := sc.Run(ctx, s.c, keys, args...).Int64()
	if err != nil {
		return 0, state.Unavailable(op, err)
	}
	return n, nil
}

// CreateClient implements state.Clients.
func (s *Store) CreateClient(ctx context.Context, c state.Client, ttl time.Duration) error {
	const op = "create client"
	if !validID(c.ID) || ttl <= 0 {
		return invalid(op)
	}
	k := s.key("client", c.ID)
	n, err := s.runInt(ctx, op, createHashScript, []string{k, k}, ms(ttl),
		"d", encode(c), "lu", c.LastUsedAt.Format(time.RFC3339Nano))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	return nil
}

// GetClient implements state.Clients.
func (s *Store) GetClient(ctx context.Context, id string) (state.Client, error) {
	const op = "get client"
	if !validID(id) {
		return state.Client{}, notFound(op)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	vals, err := s.c.HMGet(ctx, s.key("client", id), "d", "lu").Result()
	if err != nil {
		return state.Client{}, fail(op, err)
	}
	d, ok := vals[0].(string)
	if !ok {
		return state.Client{}, notFound(op)
	}
	var c state.Client
	if err := decode(op, d, &c); err != nil {
		return state.Client{}, err
	}
	if lu, ok := vals[1].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, lu); err == nil {
			c.LastUsedAt = t
		}
	}
	return c, nil
}

// TouchClient implements state.Clients.
func (s *Store) TouchClient(ctx context.Context, id string, now time.Time, ttl time.Duration) error {
	const op = "touch client"
	if ttl <= 0 {
		return invalid(op)
	}
	if !validID(id) {
		return notFound(op)
	}
	n, err := s.runInt(ctx, op, touchClientScript, []string{s.key("client", id)},
		now.Format(time.RFC3339Nano), ms(ttl))
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}

// SaveCode implements state.Codes.
func (s *Store) SaveCode(ctx context.Context, hash string, c state.AuthCode, ttl time.Duration) error {
	const op = "save code"
	if !validID(hash) || ttl <= 0 {
		return invalid(op)
	}
	return s.setNX(ctx, op, s.key("code", hash), encode(c), ttl)
}

// ConsumeCode implements state.Codes with one Lua script
// (RFC 6749 §4.1.2, §10.5; RFC 7636 §4.6).
func (s *Store) ConsumeCode(ctx context.Context, hash, clientID, codeChallenge string) (state.AuthCode, error) {
	const op = "consume code"
	if !validID(hash) {
		return state.AuthCode{}, notFound(op)
	}
	k := s.key("code", hash)
	st, payload, err := s.run(ctx, op, consumeCodeScript, []string{k, k + ":tomb"},
		clientID, codeChallenge, ms(state.TombstoneMinTTL), s.now().UnixMilli())
	if err != nil {
		return state.AuthCode{}, err
	}
	switch st {
	case stOK:
		var c state.AuthCode
		if err := decode(op, payload, &c); err != nil {
			return state.AuthCode{}, err
		}
		return c, nil
	case stConsumed:
		// payload is "<family id>|<redemption unix ms>"; family ids are
		// base64url, so the separator cannot occur in them.
		fid, at, _ := strings.Cut(payload, "|")
		c := state.AuthCode{FamilyID: fid}
		if msec, err := strconv.ParseInt(at, 10, 64); err == nil && msec > 0 {
			c.ConsumedAt = time.UnixMilli(msec)
		}
		return c, fmt.Errorf("%s: %w", op, state.ErrConsumed)
	case stMismatch:
		return state.AuthCode{}, fmt.Errorf("%s: %w", op, state.ErrMismatch)
	case stNotFound:
		return state.AuthCode{}, notFound(op)
	}
	return state.AuthCode{}, state.Unavailable(op, errCorrupt)
}

// tokenIndex is the value of P:{rt:H}.
type tokenIndex struct {
	FamilyID string `json:"f"`
	// ExpiresMs is the family's absolute expiry (unix ms), so that the
	// index of a successor token can be written with the same expiry.
	ExpiresMs int64 `json:"x"`
}

// CreateFamily implements state.RefreshTokens. The family is written first
// and the token index second: a failure in between leaves a family nobody
// can reach, never an index entry pointing at someone else's family.
func (s *Store) CreateFamily(ctx context.Context, f state.Family, firstTokenHash string) error {
	const op = "create family"
	if !validID(f.ID) || !validID(firstTokenHash) {
		return invalid(op)
	}
	ttl := f.ExpiresAt.Sub(s.now())
	if ttl <= 0 {
		return invalid(op)
	}
	fk := s.key("fam", f.ID)
	n, err := s.runInt(ctx, op, createHashScript, []string{fk, fk + ":revoked"}, ms(ttl),
		"d", encode(f), "cid", f.ClientID, "cur", firstTokenHash, "prev", "", "rot", "0")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	idx := encode(tokenIndex{FamilyID: f.ID, ExpiresMs: f.ExpiresAt.UnixMilli()})
	return s.setNX(ctx, op, s.key("rt", firstTokenHash), idx, ttl)
}

// RotateRefresh implements state.RefreshTokens (RFC 9700 §4.14.2; OAuth 2.1
// §4.3.1). It reads the presented token's index, writes the successor's index
// (harmless if the rotation then fails: the successor is derived from the
// presented token, so only a server that rotated it can hand it out), then
// runs one script on the family's slot that decides and applies everything.
func (s *Store) RotateRefresh(ctx context.Context, presentedHash, nextHash, clientID string, now time.Time, grace time.Duration) (state.Rotation, error) {
	const op = "rotate refresh token"
	if !validID(presentedHash) {
		return state.Rotation{}, notFound(op)
	}
	if !validID(nextHash) || nextHash == presentedHash || grace < 0 {
		return state.Rotation{}, invalid(op)
	}
	var idx tokenIndex
	if err := s.get(ctx, op, s.key("rt", presentedHash), &idx); err != nil {
		return state.Rotation{}, err
	}
	rest := time.UnixMilli(idx.ExpiresMs).Sub(s.now())
	if rest <= 0 || !validID(idx.FamilyID) {
		return state.Rotation{}, notFound(op)
	}
	if err := s.setNX(ctx, op, s.key("rt", nextHash), encode(idx), rest); err != nil && !errors.Is(err, state.ErrExists) {
		return state.Rotation{}, err
	}
	fk := s.key("fam", idx.FamilyID)
	st, payload, err := s.run(ctx, op, rotateScript, []string{fk, fk + ":revoked"},
		presentedHash, nextHash, clientID, now.UnixMilli(), grace.Milliseconds(), ms(s.minRevoked))
	if err != nil {
		return state.Rotation{}, err
	}
	switch st {
	case stNotFound:
		return state.Rotation{}, notFound(op)
	case stMismatch:
		return state.Rotation{}, fmt.Errorf("%s: %w", op, state.ErrMismatch)
	case stRevoked:
		return state.Rotation{Family: state.Family{ID: idx.FamilyID}}, fmt.Errorf("%s: %w", op, state.ErrConsumed)
	case stOK, stRetry, stReuse:
		var f state.Family
		if err := decode(op, payload, &f); err != nil {
			return state.Rotation{}, err
		}
		if st == stReuse {
			return state.Rotation{Family: f}, fmt.Errorf("%s: %w", op, state.ErrConsumed)
		}
		return state.Rotation{Family: f, Retry: st == stRetry}, nil
	}
	return state.Rotation{}, state.Unavailable(op, errCorrupt)
}

// FamilyOfToken implements state.RefreshTokens: the token's index, then the
// family record (which RevokeFamily deletes, so a revoked family is not found).
func (s *Store) FamilyOfToken(ctx context.Context, tokenHash string) (state.Family, error) {
	const op = "find family of token"
	if !validID(tokenHash) {
		return state.Family{}, notFound(op)
	}
	var idx tokenIndex
	if err := s.get(ctx, op, s.key("rt", tokenHash), &idx); err != nil {
		return state.Family{}, err
	}
	if !validID(idx.FamilyID) {
		return state.Family{}, notFound(op)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	raw, err := s.c.HGet(ctx, s.key("fam", idx.FamilyID), "d").Result()
	if err != nil {
		return state.Family{}, fail(op, err)
	}
	var f state.Family
	if err := decode(op, raw, &f); err != nil {
		return state.Family{}, err
	}
	return f, nil
}

// RevokeFamily implements state.RefreshTokens.
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	const op = "revoke family"
	if !validID(familyID) {
		return invalid(op)
	}
	fk := s.key("fam", familyID)
	_, err := s.runInt(ctx, op, revokeFamilyScript, []string{fk, fk + ":revoked"}, ms(s.minRevoked))
	return err
}

// FamilyRevoked implements state.RefreshTokens.
func (s *Store) FamilyRevoked(ctx context.Context, familyID string) (bool, error) {
	const op = "check family revoked"
	if !validID(familyID) {
		return false, nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	n, err := s.c.Exists(ctx, s.key("fam", familyID)+":revoked").Result()
	if err != nil {
		return false, fail(op, err)
	}
	return n > 0, nil
}

// RevokeAccess implements state.Revocations.
func (s *Store) RevokeAccess(ctx context.Context, jti string, until time.Time) error {
	const op = "revoke access token"
	if !validID(jti) {
		return invalid(op)
	}
	ttl := until.Sub(s.now())
	if ttl <= 0 {
		return nil
	}
	_, err := s.runInt(ctx, op, denyAccessScript, []string{s.key("at", jti)}, ms(ttl))
	return err
}

// AccessRevoked implements state.Revocations. The two EXISTS are pipelined:
// one round trip on a standalone or Sentinel deployment; on a Cluster the
// client sends them to their nodes in parallel.
func (s *Store) AccessRevoked(ctx context.Context, jti, familyID string) (bool, error) {
	const op = "check access token revoked"
	if jti == "" {
		return false, invalid(op)
	}
	if !validID(jti) {
		return false, nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if familyID == "" || !validID(familyID) {
		n, err := s.c.Exists(ctx, s.key("at", jti)).Result()
		if err != nil {
			return false, fail(op, err)
		}
		return n > 0, nil
	}
	pipe := s.c.Pipeline()
	a := pipe.Exists(ctx, s.key("at", jti))
	b := pipe.Exists(ctx, s.key("fam", familyID)+":revoked")
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fail(op, err)
	}
	return a.Val()+b.Val() > 0, nil
}

// CreateSession implements state.Sessions.
func (s *Store) CreateSession(ctx context.Context, hash string, sess state.Session, ttl time.Duration) error {
	const op = "create session"
	if !validID(hash) || ttl <= 0 {
		return invalid(op)
	}
	return s.setNX(ctx, op, s.key("sess", hash), encode(sess), ttl)
}

// GetSession implements state.Sessions.
func (s *Store) GetSession(ctx context.Context, hash string) (state.Session, error) {
	const op = "get session"
	var sess state.Session
	if !validID(hash) {
		return sess, notFound(op)
	}
	if err := s.get(ctx, op, s.key("sess", hash), &sess); err != nil {
		return state.Session{}, err
	}
	return sess, nil
}

// DeleteSession implements state.Sessions.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	const op = "delete session"
	if !validID(hash) {
		return nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.c.Del(ctx, s.key("sess", hash)).Err(); err != nil {
		return fail(op, err)
	}
	return nil
}

// GrantConsent implements state.Consents.
func (s *Store) GrantConsent(ctx context.Context, userID, clientID string, scopes []string, redirectURI string, ttl time.Duration) error {
	const op = "grant consent"
	if !validID(userID) || !validID(clientID) || ttl <= 0 {
		return invalid(op)
	}
	now := s.now()
	c := state.Consent{ClientID: clientID, Scopes: scopes, RedirectURI: redirectURI, GrantedAt: now, ExpiresAt: now.Add(ttl)}
	_, err := s.runInt(ctx, op, grantConsentScript,
		[]string{s.consentKey(userID, clientID), s.consentSetKey(userID)}, clientID, encode(c), ms(ttl))
	return err
}

// GetConsent implements state.Consents.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (state.Consent, error) {
	const op = "get consent"
	var c state.Consent
	if !validID(userID) || !validID(clientID) {
		return c, notFound(op)
	}
	if err := s.get(ctx, op, s.consentKey(userID, clientID), &c); err != nil {
		return state.Consent{}, err
	}
	return c, nil
}

// RevokeConsent implements state.Consents.
func (s *Store) RevokeConsent(ctx context.Context, userID, clientID string) error {
	const op = "revoke consent"
	if !validID(userID) || !validID(clientID) {
		return nil
	}
	_, err := s.runInt(ctx, op, revokeConsentScript,
		[]string{s.consentKey(userID, clientID), s.consentSetKey(userID)}, clientID)
	return err
}

// ListConsents implements state.Consents: SMEMBERS of the user's set, then one
// MGET of the consents (same slot). Members whose consent expired are removed
// from the set on the way.
func (s *Store) ListConsents(ctx context.Context, userID string) ([]state.Consent, error) {
	const op = "list consents"
	if !validID(userID) {
		return nil, nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	members, err := s.c.SMembers(ctx, s.consentSetKey(userID)).Result()
	if err != nil {
		return nil, fail(op, err)
	}
	if len(members) == 0 {
		return nil, nil
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = s.consentKey(userID, m)
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fail(op, err)
	}
	var out []state.Consent
	var stale []any
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			stale = append(stale, members[i])
			continue
		}
		var c state.Consent
		if err := decode(op, raw, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(stale) > 0 {
		// Best effort: a failure only leaves members the next call skips again.
		_ = s.c.SRem(ctx, s.consentSetKey(userID), stale...).Err()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClientID < out[j].ClientID })
	return out, nil
}

// SaveAuthRequest implements state.AuthRequests.
func (s *Store) SaveAuthRequest(ctx context.Context, hash string, r state.AuthRequest, ttl time.Duration) error {
	const op = "save auth request"
	if !validID(hash) || ttl <= 0 {
		return invalid(op)
	}
	return s.setNX(ctx, op, s.key("areq", hash), encode(r), ttl)
}

// SaveSnapshot implements state.Snapshots.
func (s *Store) SaveSnapshot(ctx context.Context, id string, snap state.Snapshot, ttl time.Duration) error {
	const op = "save snapshot"
	if !validID(id) || ttl <= 0 {
		return invalid(op)
	}
	return s.setNX(ctx, op, s.key("snap", id), encode(snap), ttl)
}

// GetSnapshot implements state.Snapshots.
func (s *Store) GetSnapshot(ctx context.Context, id string) (state.Snapshot, error) {
	const op = "get snapshot"
	var snap state.Snapshot
	if !validID(id) {
		return snap, notFound(op)
	}
	if err := s.get(ctx, op, s.key("snap", id), &snap); err != nil {
		return state.Snapshot{}, err
	}
	return snap, nil
}

// SaveExport implements state.Exports.
func (s *Store) SaveExport(ctx context.Context, id string, ex state.Export, ttl time.Duration) error {
	const op = "save export"
	if !validID(id) || ttl <= 0 || len(ex.CSV) > state.MaxExportBytes {
		return invalid(op)
	}
	return s.setNX(ctx, op, s.key("export", id), encode(ex), ttl)
}

// GetExport implements state.Exports.
func (s *Store) GetExport(ctx context.Context, id string) (state.Export, error) {
	const op = "get export"
	var ex state.Export
	if !validID(id) {
		return ex, notFound(op)
	}
	if err := s.get(ctx, op, s.key("export", id), &ex); err != nil {
		return state.Export{}, err
	}
	return ex, nil
}

// GetAuthRequest implements state.AuthRequests.
func (s *Store) GetAuthRequest(ctx context.Context, hash string) (state.AuthRequest, error) {
	const op = "get auth request"
	var r state.AuthRequest
	if !validID(hash) {
		return r, notFound(op)
	}
	if err := s.get(ctx, op, s.key("areq", hash), &r); err != nil {
		return state.AuthRequest{}, err
	}
	return r, nil
}

// TakeAuthRequest implements state.AuthRequests with GETDEL (Redis >= 6.2).
func (s *Store) TakeAuthRequest(ctx context.Context, hash string) (state.AuthRequest, error) {
	const op = "take auth request"
	var r state.AuthRequest
	if !validID(hash) {
		return r, notFound(op)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	raw, err := s.c.GetDel(ctx, s.key("areq", hash)).Result()
	if err != nil {
		return r, fail(op, err)
	}
	if err := decode(op, raw, &r); err != nil {
		return state.AuthRequest{}, err
	}
	return r, nil
}

// Ping implements state.Store.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.c.Ping(ctx).Err(); err != nil {
		return state.Unavailable("ping", err)
	}
	return nil
}

// Close implements state.Store by closing the client: New takes ownership
// of it. Give a Store its own client if other components (a rate limiter)
// must keep using theirs after the Store is closed.
func (s *Store) Close() error {
	if err := s.c.Close(); err != nil {
		return state.Unavailable("close", err)
	}
	return nil
}
