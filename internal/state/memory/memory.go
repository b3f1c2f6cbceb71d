package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/state"
)

var _ state.Store = (*Store)(nil)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now returns the current time. If nil, defaults to time.Now.
	Now func() time.Time
	// MaxEntries bounds the number of live records of all kinds. When the
	// store holds MaxEntries records, creating a client-driven record (client
	// registration, authorization request, authorization code) fails with
	// state.ErrUnavailable; records created after authentication (sessions,
	// families, consents, revocations) may use a further MaxEntries/4 so that
	// a flood of anonymous /register or /authorize calls cannot lock users
	// out or block revocation. Nothing is ever evicted early. If zero,
	// defaults to 1_000_000.
	MaxEntries int
	// PruneInterval is how often a write sweeps out expired records (reads
	// expire records lazily). If zero, defaults to 1 minute.
	PruneInterval time.Duration
	// MinRevocationTTL is the minimum time a revoked family is remembered.
	// If zero, defaults to state.DefaultMinRevocationTTL.
	MinRevocationTTL time.Duration
}

// Store is a mutex-protected, TTL-aware in-memory state.Store. All operations
// are atomic with respect to each other.
type Store struct {
	now        func() time.Time
	maxEntries int
	pruneEvery time.Duration
	minRevoked time.Duration

	mu        sync.Mutex
	closed    bool
	lastPrune time.Time
	clients   map[string]clientEntry
	codes     map[string]codeEntry
	tombs     map[string]tombEntry
	families  map[string]*familyEntry
	rtIndex   map[string]indexEntry
	revoked   map[string]time.Time // family id -> marker expiry
	denied    map[string]time.Time // jti -> expiry
	sessions  map[string]sessionEntry
	consents  map[string]map[string]state.Consent // user id -> client id -> consent
	nConsents int
	authReqs  map[string]authReqEntry
	snapshots map[string]snapshotEntry
	exports   map[string]exportEntry
	// exportBytes is the size of every CSV in exports.
	exportBytes int
}

type clientEntry struct {
	c   state.Client
	exp time.Time
}

type codeEntry struct {
	c   state.AuthCode
	exp time.Time
}

type tombEntry struct {
	familyID, clientID, codeChallenge string
	consumedAt, exp                   time.Time
}

type familyEntry struct {
	f         state.Family
	cur, prev string
	rotatedAt time.Time
}

type indexEntry struct {
	familyID string
	exp      time.Time
}

type sessionEntry struct {
	s   state.Session
	exp time.Time
}

type authReqEntry struct {
	r   state.AuthRequest
	exp time.Time
}

// New returns an empty Store.
func New(opts Options) *Store {
	s := &Store{
		now:        opts.Now,
		maxEntries: opts.MaxEntries,
		pruneEvery: opts.PruneInterval,
		minRevoked: opts.MinRevocationTTL,
		clients:    map[string]clientEntry{},
		codes:      map[string]codeEntry{},
		tombs:      map[string]tombEntry{},
		families:   map[string]*familyEntry{},
		rtIndex:    map[string]indexEntry{},
		revoked:    map[string]time.Time{},
		denied:     map[string]time.Time{},
		sessions:   map[string]sessionEntry{},
		consents:   map[string]map[string]state.Consent{},
		authReqs:   map[string]authReqEntry{},
		snapshots:  map[string]snapshotEntry{},
		exports:    map[string]exportEntry{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxEntries <= 0 {
		s.maxEntries = 1_000_000
	}
	if s.pruneEvery <= 0 {
		s.pruneEvery = time.Minute
	}
	if s.minRevoked <= 0 {
		s.minRevoked = state.DefaultMinRevocationTTL
	}
	s.lastPrune = s.now()
	return s
}

// live reports whether a record expiring at exp is still live at now.
func live(exp, now time.Time) bool { return now.Before(exp) }

func validID(id string) bool { return id != "" && len(id) <= state.MaxIDLen }

func validTTL(ttl time.Duration) bool { return ttl > 0 }

// begin locks the store, prunes if due, and returns the current time. The
// caller must unlock.
func (s *Store) begin(op string) (time.Time, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return time.Time{}, state.Unavailable(op, nil)
	}
	now := s.now()
	if now.Sub(s.lastPrune) >= s.pruneEvery {
		s.prune(now)
	}
	return now, nil
}

func (s *Store) count() int {
	return len(s.clients) + len(s.codes) + len(s.tombs) + len(s.families) + len(s.rtIndex) +
		len(s.revoked) + len(s.denied) + len(s.sessions) + s.nConsents + len(s.authReqs) + len(s.snapshots) + len(s.exports)
}

// room reports whether one more record fits: client-driven records up to
// maxEntries, server-driven ones up to a further quarter. When full, it
// prunes at most once a second before giving up.
func (s *Store) room(now time.Time, clientDriven bool) bool {
	return s.roomFor(now, clientDriven, 1)
}

func (s *Store) roomFor(now time.Time, clientDriven bool, n int) bool {
	limit := s.maxEntries
	if !clientDriven {
		limit += max(s.maxEntries/4, 1)
	}
	if s.count()+n <= limit {
		return true
	}
	if now.Sub(s.lastPrune) >= time.Second {
		s.prune(now)
	}
	return s.count()+n <= limit
}

func (s *Store) prune(now time.Time) {
	s.lastPrune = now
	for k, e := range s.clients {
		if !live(e.exp, now) {
			delete(s.clients, k)
		}
	}
	for k, e := range s.codes {
		if !live(e.exp, now) {
			delete(s.codes, k)
		}
	}
	for k, e := range s.tombs {
		if !live(e.exp, now) {
			delete(s.tombs, k)
		}
	}
	for k, e := range s.families {
		if !live(e.f.ExpiresAt, now) {
			delete(s.families, k)
		}
	}
	for k, e := range s.rtIndex {
		if !live(e.exp, now) {
			delete(s.rtIndex, k)
		}
	}
	for k, exp := range s.revoked {
		if !live(exp, now) {
			delete(s.revoked, k)
		}
	}
	for k, exp := range s.denied {
		if !live(exp, now) {
			delete(s.denied, k)
		}
	}
	for k, e := range s.sessions {
		if !live(e.exp, now) {
			delete(s.sessions, k)
		}
	}
	for u, m := range s.consents {
		for c, e := range m {
			if !live(e.ExpiresAt, now) {
				delete(m, c)
				s.nConsents--
			}
		}
		if len(m) == 0 {
			delete(s.consents, u)
		}
	}
	for k, e := range s.snapshots {
		if !live(e.exp, now) {
			delete(s.snapshots, k)
		}
	}
	for k, e := range s.exports {
		if !live(e.exp, now) {
			s.deleteExport(k, e)
		}
	}
	for k, e := range s.authReqs {
		if !live(e.exp, now) {
			delete(s.authReqs, k)
		}
	}
}

func full(op string) error {
	return state.Unavailable(op, fmt.Errorf("memory store full"))
}

func invalid(op string) error { return fmt.Errorf("%s: %w", op, state.ErrInvalid) }

func notFound(op string) error { return fmt.Errorf("%s: %w", op, state.ErrNotFound) }

func cloneClient(c state.Client) state.Client {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.ResponseTypes = slices.Clone(c.ResponseTypes)
	return c
}

func cloneCode(c state.AuthCode) state.AuthCode {
	c.Scopes = slices.Clone(c.Scopes)
	return c
}

func cloneFamily(f state.Family) state.Family {
	f.Scopes = slices.Clone(f.Scopes)
	return f
}

func cloneAuthReq(r state.AuthRequest) state.AuthRequest {
	r.Scopes = slices.Clone(r.Scopes)
	return r
}

func cloneConsent(c state.Consent) state.Consent {
	c.Scopes = slices.Clone(c.Scopes)
	return c
}

// CreateClient implements state.Clients.
func (s *Store) CreateClient(_ context.Context, c state.Client, ttl time.Duration) error {
	const op = "create client"
	if !validID(c.ID) || !validTTL(ttl) {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.clients[c.ID]; ok && live(e.exp, now) {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	if !s.room(now, true) {
		return full(op)
	}
	s.clients[c.ID] = clientEntry{c: cloneClient(c), exp: now.Add(ttl)}
	return nil
}

// GetClient implements state.Clients.
func (s *Store) GetClient(_ context.Context, id string) (state.Client, error) {
	const op = "get client"
	if !validID(id) {
		return state.Client{}, notFound(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return state.Client{}, err
	}
	defer s.mu.Unlock()
	e, ok := s.clients[id]
	if !ok || !live(e.exp, now) {
		return state.Client{}, notFound(op)
	}
	return cloneClient(e.c), nil
}

// TouchClient implements state.Clients.
func (s *Store) TouchClient(_ context.Context, id string, now time.Time, ttl time.Duration) error {
	const op = "touch client"
	if !validTTL(ttl) {
		return invalid(op)
	}
	if !validID(id) {
		return notFound(op)
	}
	clock, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, ok := s.clients[id]
	if !ok || !live(e.exp, clock) {
		return notFound(op)
	}
	e.c.LastUsedAt = now
	e.exp = clock.Add(ttl)
	s.clients[id] = e
	return nil
}

// SaveCode implements state.Codes.
func (s *Store) SaveCode(_ context.Context, hash string, c state.AuthCode, ttl time.Duration) error {
	const op = "save code"
	if !validID(hash) || !validTTL(ttl) {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.codes[hash]; ok && live(e.exp, now) {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	if !s.room(now, true) {
		return full(op)
	}
	s.codes[hash] = codeEntry{c: cloneCode(c), exp: now.Add(ttl)}
	return nil
}

// ConsumeCode implements state.Codes.
func (s *Store) ConsumeCode(_ context.Context, hash, clientID, codeChallenge string) (state.AuthCode, error) {
	const op = "consume code"
	if !validID(hash) {
		return state.AuthCode{}, notFound(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return state.AuthCode{}, err
	}
	defer s.mu.Unlock()
	e, ok := s.codes[hash]
	if !ok || !live(e.exp, now) {
		delete(s.codes, hash)
		if t, ok := s.tombs[hash]; ok && live(t.exp, now) {
			if t.clientID != clientID || t.codeChallenge != codeChallenge {
				return state.AuthCode{}, fmt.Errorf("%s: %w", op, state.ErrMismatch)
			}
			return state.AuthCode{FamilyID: t.familyID, ConsumedAt: t.consumedAt}, fmt.Errorf("%s: %w", op, state.ErrConsumed)
		}
		return state.AuthCode{}, notFound(op)
	}
	if e.c.ClientID != clientID || e.c.CodeChallenge != codeChallenge {
		return state.AuthCode{}, fmt.Errorf("%s: %w", op, state.ErrMismatch)
	}
	delete(s.codes, hash)
	// The tombstone replaces the code, so it needs no room check.
	s.tombs[hash] = tombEntry{
		familyID:      e.c.FamilyID,
		clientID:      clientID,
		codeChallenge: codeChallenge,
		consumedAt:    now,
		exp:           now.Add(max(e.exp.Sub(now), state.TombstoneMinTTL)),
	}
	return cloneCode(e.c), nil
}

// CreateFamily implements state.RefreshTokens.
func (s *Store) CreateFamily(_ context.Context, f state.Family, firstTokenHash string) error {
	const op = "create family"
	if !validID(f.ID) || !validID(firstTokenHash) {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if !live(f.ExpiresAt, now) {
		return invalid(op)
	}
	if e, ok := s.families[f.ID]; ok && live(e.f.ExpiresAt, now) {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	if exp, ok := s.revoked[f.ID]; ok && live(exp, now) {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	if !s.roomFor(now, false, 2) {
		return full(op)
	}
	s.families[f.ID] = &familyEntry{f: cloneFamily(f), cur: firstTokenHash}
	s.rtIndex[firstTokenHash] = indexEntry{familyID: f.ID, exp: f.ExpiresAt}
	return nil
}

// RotateRefresh implements state.RefreshTokens.
func (s *Store) RotateRefresh(_ context.Context, presentedHash, nextHash, clientID string, now time.Time, grace time.Duration) (state.Rotation, error) {
	const op = "rotate refresh token"
	if !validID(presentedHash) {
		return state.Rotation{}, notFound(op)
	}
	if !validID(nextHash) || nextHash == presentedHash || grace < 0 {
		return state.Rotation{}, invalid(op)
	}
	clock, err := s.begin(op)
	if err != nil {
		return state.Rotation{}, err
	}
	defer s.mu.Unlock()
	idx, ok := s.rtIndex[presentedHash]
	if !ok || !live(idx.exp, clock) {
		return state.Rotation{}, notFound(op)
	}
	if exp, ok := s.revoked[idx.familyID]; ok && live(exp, clock) {
		return state.Rotation{Family: state.Family{ID: idx.familyID}}, fmt.Errorf("%s: %w", op, state.ErrConsumed)
	}
	fe, ok := s.families[idx.familyID]
	if !ok || !live(fe.f.ExpiresAt, clock) {
		return state.Rotation{}, notFound(op)
	}
	if fe.f.ClientID != clientID {
		return state.Rotation{}, fmt.Errorf("%s: %w", op, state.ErrMismatch)
	}
	switch {
	case presentedHash == fe.cur:
		if _, ok := s.rtIndex[nextHash]; !ok && !s.room(clock, false) {
			return state.Rotation{}, full(op)
		}
		fe.prev, fe.cur, fe.rotatedAt = fe.cur, nextHash, now
		s.rtIndex[nextHash] = indexEntry{familyID: fe.f.ID, exp: fe.f.ExpiresAt}
		return state.Rotation{Family: cloneFamily(fe.f)}, nil
	case presentedHash == fe.prev && grace > 0 && now.Sub(fe.rotatedAt) <= grace && nextHash == fe.cur:
		return state.Rotation{Family: cloneFamily(fe.f), Retry: true}, nil
	}
	s.revokeLocked(fe.f.ID, clock)
	return state.Rotation{Family: cloneFamily(fe.f)}, fmt.Errorf("%s: %w", op, state.ErrConsumed)
}

// FamilyOfToken implements state.RefreshTokens.
func (s *Store) FamilyOfToken(_ context.Context, tokenHash string) (state.Family, error) {
	const op = "find family of token"
	if !validID(tokenHash) {
		return state.Family{}, notFound(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return state.Family{}, err
	}
	defer s.mu.Unlock()
	idx, ok := s.rtIndex[tokenHash]
	if !ok || !live(idx.exp, now) {
		return state.Family{}, notFound(op)
	}
	fe, ok := s.families[idx.familyID]
	if !ok || !live(fe.f.ExpiresAt, now) {
		return state.Family{}, notFound(op)
	}
	return cloneFamily(fe.f), nil
}

// revokeLocked deletes the family and records it revoked for at least its
// remaining lifetime and at least minRevoked. The marker replaces the family
// record, so it needs no room check.
func (s *Store) revokeLocked(familyID string, now time.Time) {
	exp := now.Add(s.minRevoked)
	if fe, ok := s.families[familyID]; ok {
		exp = later(exp, fe.f.ExpiresAt)
		delete(s.families, familyID)
	}
	if old, ok := s.revoked[familyID]; ok {
		exp = later(exp, old)
	}
	s.revoked[familyID] = exp
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// RevokeFamily implements state.RefreshTokens.
func (s *Store) RevokeFamily(_ context.Context, familyID string) error {
	const op = "revoke family"
	if !validID(familyID) {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.revoked[familyID]; !ok && s.families[familyID] == nil && !s.room(now, false) {
		return full(op)
	}
	s.revokeLocked(familyID, now)
	return nil
}

// FamilyRevoked implements state.RefreshTokens.
func (s *Store) FamilyRevoked(_ context.Context, familyID string) (bool, error) {
	const op = "check family revoked"
	if !validID(familyID) {
		return false, nil
	}
	now, err := s.begin(op)
	if err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	exp, ok := s.revoked[familyID]
	return ok && live(exp, now), nil
}

// RevokeAccess implements state.Revocations.
func (s *Store) RevokeAccess(_ context.Context, jti string, until time.Time) error {
	const op = "revoke access token"
	if !validID(jti) {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if !live(until, now) {
		return nil
	}
	old, ok := s.denied[jti]
	if !ok && !s.room(now, false) {
		return full(op)
	}
	s.denied[jti] = later(old, until)
	return nil
}

// AccessRevoked implements state.Revocations.
func (s *Store) AccessRevoked(_ context.Context, jti, familyID string) (bool, error) {
	const op = "check access token revoked"
	if jti == "" {
		return false, invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	if exp, ok := s.denied[jti]; ok && live(exp, now) {
		return true, nil
	}
	if familyID != "" {
		if exp, ok := s.revoked[familyID]; ok && live(exp, now) {
			return true, nil
		}
	}
	return false, nil
}

// CreateSession implements state.Sessions.
func (s *Store) CreateSession(_ context.Context, hash string, sess state.Session, ttl time.Duration) error {
	const op = "create session"
	if !validID(hash) || !validTTL(ttl) {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.sessions[hash]; ok && live(e.exp, now) {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	if !s.room(now, false) {
		return full(op)
	}
	s.sessions[hash] = sessionEntry{s: sess, exp: now.Add(ttl)}
	return nil
}

// GetSession implements state.Sessions.
func (s *Store) GetSession(_ context.Context, hash string) (state.Session, error) {
	const op = "get session"
	if !validID(hash) {
		return state.Session{}, notFound(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return state.Session{}, err
	}
	defer s.mu.Unlock()
	e, ok := s.sessions[hash]
	if !ok || !live(e.exp, now) {
		return state.Session{}, notFound(op)
	}
	return e.s, nil
}

// DeleteSession implements state.Sessions.
func (s *Store) DeleteSession(_ context.Context, hash string) error {
	const op = "delete session"
	if !validID(hash) {
		return nil
	}
	if _, err := s.begin(op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.sessions, hash)
	return nil
}

// GrantConsent implements state.Consents.
func (s *Store) GrantConsent(_ context.Context, userID, clientID string, scopes []string, redirectURI string, ttl time.Duration) error {
	const op = "grant consent"
	if !validID(userID) || !validID(clientID) || !validTTL(ttl) {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	m := s.consents[userID]
	if _, ok := m[clientID]; !ok {
		if !s.room(now, false) {
			return full(op)
		}
		if m == nil {
			m = map[string]state.Consent{}
			s.consents[userID] = m
		}
		s.nConsents++
	}
	m[clientID] = state.Consent{
		ClientID:    clientID,
		Scopes:      slices.Clone(scopes),
		RedirectURI: redirectURI,
		GrantedAt:   now,
		ExpiresAt:   now.Add(ttl),
	}
	return nil
}

// GetConsent implements state.Consents.
func (s *Store) GetConsent(_ context.Context, userID, clientID string) (state.Consent, error) {
	const op = "get consent"
	if !validID(userID) || !validID(clientID) {
		return state.Consent{}, notFound(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return state.Consent{}, err
	}
	defer s.mu.Unlock()
	c, ok := s.consents[userID][clientID]
	if !ok || !live(c.ExpiresAt, now) {
		return state.Consent{}, notFound(op)
	}
	return cloneConsent(c), nil
}

// RevokeConsent implements state.Consents.
func (s *Store) RevokeConsent(_ context.Context, userID, clientID string) error {
	const op = "revoke consent"
	if !validID(userID) || !validID(clientID) {
		return nil
	}
	if _, err := s.begin(op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	m := s.consents[userID]
	if _, ok := m[clientID]; ok {
		delete(m, clientID)
		s.nConsents--
		if len(m) == 0 {
			delete(s.consents, userID)
		}
	}
	return nil
}

// ListConsents implements state.Consents.
func (s *Store) ListConsents(_ context.Context, userID string) ([]state.Consent, error) {
	const op = "list consents"
	if !validID(userID) {
		return nil, nil
	}
	now, err := s.begin(op)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []state.Consent
	for _, c := range s.consents[userID] {
		if live(c.ExpiresAt, now) {
			out = append(out, cloneConsent(c))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClientID < out[j].ClientID })
	return out, nil
}

// SaveAuthRequest implements state.AuthRequests.
func (s *Store) SaveAuthRequest(_ context.Context, hash string, r state.AuthRequest, ttl time.Duration) error {
	const op = "save auth request"
	if !validID(hash) || !validTTL(ttl) {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.authReqs[hash]; ok && live(e.exp, now) {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	if !s.room(now, true) {
		return full(op)
	}
	s.authReqs[hash] = authReqEntry{r: cloneAuthReq(r), exp: now.Add(ttl)}
	return nil
}

// GetAuthRequest implements state.AuthRequests.
func (s *Store) GetAuthRequest(_ context.Context, hash string) (state.AuthRequest, error) {
	return s.authRequest("get auth request", hash, false)
}

// TakeAuthRequest implements state.AuthRequests.
func (s *Store) TakeAuthRequest(_ context.Context, hash string) (state.AuthRequest, error) {
	return s.authRequest("take auth request", hash, true)
}

func (s *Store) authRequest(op, hash string, take bool) (state.AuthRequest, error) {
	if !validID(hash) {
		return state.AuthRequest{}, notFound(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return state.AuthRequest{}, err
	}
	defer s.mu.Unlock()
	e, ok := s.authReqs[hash]
	if !ok || !live(e.exp, now) {
		delete(s.authReqs, hash)
		return state.AuthRequest{}, notFound(op)
	}
	if take {
		delete(s.authReqs, hash)
	}
	return cloneAuthReq(e.r), nil
}

type snapshotEntry struct {
	s   state.Snapshot
	exp time.Time
}

// SaveSnapshot implements state.Snapshots. Snapshots are created by
// authenticated users, so they may use the reserve like sessions do.
func (s *Store) SaveSnapshot(_ context.Context, id string, snap state.Snapshot, ttl time.Duration) error {
	const op = "save snapshot"
	if !validID(id) || !validTTL(ttl) {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.snapshots[id]; ok && live(e.exp, now) {
		return fmt.Errorf("%s: %w", op, state.ErrExists)
	}
	if !s.room(now, false) {
		return full(op)
	}
	snap.IDs = slices.Clone(snap.IDs)
	s.snapshots[id] = snapshotEntry{s: snap, exp: now.Add(ttl)}
	return nil
}

// GetSnapshot implements state.Snapshots.
func (s *Store) GetSnapshot(_ context.Context, id string) (state.Snapshot, error) {
	const op = "get snapshot"
	if !validID(id) {
		return state.Snapshot{}, notFound(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return state.Snapshot{}, err
	}
	defer s.mu.Unlock()
	e, ok := s.snapshots[id]
	if !ok || !live(e.exp, now) {
		delete(s.snapshots, id)
		return state.Snapshot{}, notFound(op)
	}
	snap := e.s
	snap.IDs = slices.Clone(snap.IDs)
	return snap, nil
}

// maxExportBytesTotal bounds the CSV bytes all live exports hold: a
// process-local store must not grow without bound however many exports
// its users run (each is at most state.MaxExportBytes).
const maxExportBytesTotal = 256 << 20

type exportEntry struct {
	e   state.Export
	exp time.Time
}

func (s *Store) deleteExport(id string, e exportEntry) {
	delete(s.exports, id)
	s.exportBytes -= len(e.e.CSV)
}

// SaveExport implements state.Exports. Exports are created by
// authenticated users, so they may use the reserve like sessions do; when
// the live exports already hold maxExportBytesTotal, it fails with
// state.ErrUnavailable.
func (s *Store) SaveExport(_ context.Context, id string, ex state.Export, ttl time.Duration) error {
	const op = "save export"
	if !validID(id) || !validTTL(ttl) || len(ex.CSV) > state.MaxExportBytes {
		return invalid(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.exports[id]; ok {
		if live(e.exp, now) {
			return fmt.Errorf("%s: %w", op, state.ErrExists)
		}
		s.deleteExport(id, e)
	}
	if s.exportBytes+len(ex.CSV) > maxExportBytesTotal {
		s.prune(now)
	}
	if !s.room(now, false) || s.exportBytes+len(ex.CSV) > maxExportBytesTotal {
		return full(op)
	}
	ex.CSV = slices.Clone(ex.CSV)
	s.exports[id] = exportEntry{e: ex, exp: now.Add(ttl)}
	s.exportBytes += len(ex.CSV)
	return nil
}

// GetExport implements state.Exports.
func (s *Store) GetExport(_ context.Context, id string) (state.Export, error) {
	const op = "get export"
	if !validID(id) {
		return state.Export{}, notFound(op)
	}
	now, err := s.begin(op)
	if err != nil {
		return state.Export{}, err
	}
	defer s.mu.Unlock()
	e, ok := s.exports[id]
	if !ok || !live(e.exp, now) {
		if ok {
			s.deleteExport(id, e)
		}
		return state.Export{}, notFound(op)
	}
	ex := e.e
	ex.CSV = slices.Clone(ex.CSV)
	return ex, nil
}

// Ping implements state.Store. It fails only after Close.
func (s *Store) Ping(context.Context) error {
	if _, err := s.begin("ping"); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// Close implements state.Store. Later calls return state.ErrUnavailable.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Len returns the number of records held, including expired ones not yet
// pruned. It is meant for tests and metrics.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count()
}
