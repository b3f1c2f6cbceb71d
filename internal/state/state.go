package state

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrNotFound reports that the record does not exist or has expired.
	ErrNotFound = errors.New("state: not found")
	// ErrExists reports that a record with the same key already exists.
	ErrExists = errors.New("state: already exists")
	// ErrMismatch reports that a record exists but its binding (client id,
	// PKCE challenge) does not match. The record is left untouched: a wrong
	// attempt cannot burn a good code or rotate a good refresh token.
	ErrMismatch = errors.New("state: binding mismatch")
	// ErrConsumed reports a replayed authorization code, a reused refresh
	// token after the grace window, or a refresh token of a revoked family.
	ErrConsumed = errors.New("state: already used")
	// ErrUnavailable reports that the backend could not answer (down,
	// timeout, corrupt data). Callers answer 503, never invalid_grant.
	ErrUnavailable = errors.New("state: store unavailable")
	// ErrInvalid reports a caller bug, such as a non-positive TTL or an empty
	// key. It is never caused by client input that the caller validated.
	ErrInvalid = errors.New("state: invalid argument")
)

// Unavailable returns an error that wraps ErrUnavailable and cause (so that
// errors.Is works for both, e.g. context.DeadlineExceeded) but whose message is
// only "<op>: state: store unavailable". Backends use it so that no key name,
// value or backend detail reaches an error message.
func Unavailable(op string, cause error) error {
	return &unavailableError{op: op, cause: cause}
}

type unavailableError struct {
	op    string
	cause error
}

func (e *unavailableError) Error() string { return e.op + ": " + ErrUnavailable.Error() }

func (e *unavailableError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.cause}
}

// Hash returns the base64url (no padding) SHA-256 of secret. Callers hash
// codes, refresh tokens, session ids and authorization-request ids with it
// before handing them to a Store.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Client is an OAuth client registration (RFC 7591).
type Client struct {
	ID string `json:"id"`
	// SecretHash is Hash(client_secret); empty for public clients.
	SecretHash              string    `json:"secret_hash,omitempty"`
	Name                    string    `json:"name,omitempty"`
	RedirectURIs            []string  `json:"redirect_uris"`
	GrantTypes              []string  `json:"grant_types"`
	ResponseTypes           []string  `json:"response_types"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method,omitempty"`
	Scope                   string    `json:"scope,omitempty"`
	Dynamic                 bool      `json:"dynamic,omitempty"`
	CreatedAt               time.Time `json:"created_at"`
	LastUsedAt              time.Time `json:"last_used_at"`
}

// AuthCode is an authorization code grant (RFC 6749 §4.1.2) bound to a client
// and a PKCE S256 challenge (RFC 7636 §4.4).
type AuthCode struct {
	ClientID      string   `json:"client_id"`
	RedirectURI   string   `json:"redirect_uri"`
	CodeChallenge string   `json:"code_challenge"`
	Scopes        []string `json:"scopes"`
	Resource      string   `json:"resource,omitempty"`
	UserID        string   `json:"user_id"`
	TenantID      string   `json:"tenant_id"`
	Email         string   `json:"email,omitempty"`
	// FamilyID is the refresh family the exchange will create. It is known
	// before the exchange so that a replayed code can revoke what the first
	// exchange issued (OAuth 2.1 "Reuse of Authorization Codes").
	FamilyID  string    `json:"family_id"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// ConsumedAt is set only on the ErrConsumed answer to a replay: when
	// the code was redeemed, so callers can tell a duplicate of the
	// redemption (moments later) from a replay after tokens were issued.
	ConsumedAt time.Time `json:"consumed_at,omitzero"`
}

// Family is a refresh-token rotation family (RFC 9700 §4.14.2): every refresh
// token descended from one authorization-code exchange.
type Family struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"client_id"`
	UserID    string    `json:"user_id"`
	TenantID  string    `json:"tenant_id"`
	Email     string    `json:"email,omitempty"`
	Scopes    []string  `json:"scopes"`
	Resource  string    `json:"resource,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is absolute: rotation never extends it.
	ExpiresAt time.Time `json:"expires_at"`
}

// Rotation is the result of RotateRefresh.
type Rotation struct {
	Family Family
	// Retry reports that the presented token was rotated moments ago (within
	// the grace window) to the same successor: nothing changed, and the caller
	// answers with the same successor again.
	Retry bool
}

// Session is a CRM login session of the authorization server.
type Session struct {
	UserID    string    `json:"user_id"`
	TenantID  string    `json:"tenant_id"`
	Email     string    `json:"email,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Consent records that a user approved a client for some scopes.
type Consent struct {
	ClientID    string    `json:"client_id"`
	Scopes      []string  `json:"scopes"`
	RedirectURI string    `json:"redirect_uri"`
	GrantedAt   time.Time `json:"granted_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// AuthRequest is a pending /authorize transaction, kept server side while the
// user logs in and consents.
type AuthRequest struct {
	ClientID      string   `json:"client_id"`
	RedirectURI   string   `json:"redirect_uri"`
	State         string   `json:"state,omitempty"`
	CodeChallenge string   `json:"code_challenge"`
	Scopes        []string `json:"scopes"`
	Resource      string   `json:"resource,omitempty"`
	// CSRFHash is Hash of the consent form's CSRF token.
	CSRFHash string `json:"csrf_hash,omitempty"`
	// SessionHash is Hash of the login session id the request is bound to.
	SessionHash string    `json:"session_hash,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Clients stores client registrations. Registrations expire after ttl without
// use; TouchClient extends them.
type Clients interface {
	// CreateClient stores c under c.ID for ttl. It returns ErrExists if the
	// id is taken.
	CreateClient(ctx context.Context, c Client, ttl time.Duration) error
	// GetClient returns the client or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// TouchClient sets LastUsedAt to now and resets the expiry to ttl from
	// now. It returns ErrNotFound for an unknown client. Callers may
	// throttle it: it writes.
	TouchClient(ctx context.Context, id string, now time.Time, ttl time.Duration) error
}

// Codes stores single-use authorization codes, keyed by Hash(code).
type Codes interface {
	// SaveCode stores code for ttl. It returns ErrExists if hash is taken.
	SaveCode(ctx context.Context, hash string, code AuthCode, ttl time.Duration) error
	// ConsumeCode atomically redeems a code (RFC 6749 §4.1.3, RFC 7636 §4.6):
	//   - absent, tombstone present, same clientID and codeChallenge (a
	//     replay that is otherwise valid): (AuthCode{FamilyID: <family the
	//     first exchange created>}, ErrConsumed); the caller revokes that
	//     family (OAuth 2.1 §4.1.3, "Reuse of Authorization Codes")
	//   - absent, tombstone present, binding differs: ErrMismatch, so a
	//     leaked used code cannot be replayed to revoke someone's family
	//   - absent, no tombstone (unknown or expired): ErrNotFound
	//   - present, clientID or codeChallenge differ: ErrMismatch; the code
	//     stays redeemable
	//   - present and matching: the code is deleted, a tombstone mapping hash
	//     to FamilyID and the binding is kept for at least the code's remaining lifetime (and
	//     at least 10 minutes), and the code is returned.
	// Exactly one of any number of concurrent callers (on any instance) wins.
	ConsumeCode(ctx context.Context, hash, clientID, codeChallenge string) (AuthCode, error)
}

// RefreshTokens stores refresh-token rotation families, keyed by family id,
// and an index from every token hash the family issued to the family.
type RefreshTokens interface {
	// CreateFamily stores f with firstTokenHash as its current token, until
	// f.ExpiresAt. It returns ErrExists if f.ID is taken or was revoked.
	CreateFamily(ctx context.Context, f Family, firstTokenHash string) error
	// RotateRefresh atomically rotates the family of presentedHash
	// (RFC 9700 §4.14.2):
	//   - unknown token, or the family expired: ErrNotFound
	//   - family revoked: ErrConsumed
	//   - clientID is not the family's client: ErrMismatch, nothing changes
	//   - presented is current: current becomes nextHash, Retry=false
	//   - presented is the previous token, grace > 0, now-rotatedAt <= grace
	//     and nextHash is the current token: Retry=true, nothing changes
	//   - anything else (an older token, or the previous one after grace):
	//     the family is revoked and ErrConsumed returned, with
	//     Rotation.Family describing the revoked family.
	// grace == 0 is strict mode: a second use is always reuse. The expiry is
	// absolute: rotation never extends it. nextHash must be derived
	// deterministically from the presented token (e.g. Hash(HMAC(key, rt)))
	// so a retry presents the same successor.
	RotateRefresh(ctx context.Context, presentedHash, nextHash, clientID string, now time.Time, grace time.Duration) (Rotation, error)
	// FamilyOfToken returns the live family that issued tokenHash (any of
	// its tokens, not only the current one), so that /revoke can check the
	// owner and revoke the whole grant (RFC 7009 §2.1). An unknown token or
	// an expired or revoked family is ErrNotFound. It changes nothing.
	FamilyOfToken(ctx context.Context, tokenHash string) (Family, error)
	// RevokeFamily deletes the family and records it as revoked for at
	// least its remaining lifetime and at least the backend's minimum
	// revocation TTL (which covers access tokens issued from it). Revoking
	// an unknown or already revoked family is not an error.
	RevokeFamily(ctx context.Context, familyID string) error
	// FamilyRevoked reports whether the family was revoked.
	FamilyRevoked(ctx context.Context, familyID string) (bool, error)
}

// Revocations is the access-token denylist, checked on every /mcp request.
type Revocations interface {
	// RevokeAccess denies jti until until (the token's expiry plus any
	// verification leeway). An until in the past is a no-op.
	RevokeAccess(ctx context.Context, jti string, until time.Time) error
	// AccessRevoked reports whether jti is denied or familyID (may be
	// empty) was revoked. It costs one round trip.
	AccessRevoked(ctx context.Context, jti, familyID string) (bool, error)
}

// Sessions stores CRM login sessions, keyed by Hash(session id).
type Sessions interface {
	// CreateSession stores s for ttl. It returns ErrExists if hash is taken.
	CreateSession(ctx context.Context, hash string, s Session, ttl time.Duration) error
	// GetSession returns the session or ErrNotFound.
	GetSession(ctx context.Context, hash string) (Session, error)
	// DeleteSession deletes the session; deleting a missing one is not an error.
	DeleteSession(ctx context.Context, hash string) error
}

// Consents stores per-(user, client) consent.
type Consents interface {
	// GrantConsent stores (replaces) the consent of userID for clientID for ttl.
	GrantConsent(ctx context.Context, userID, clientID string, scopes []string, redirectURI string, ttl time.Duration) error
	// GetConsent returns the consent or ErrNotFound.
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	// RevokeConsent deletes the consent; revoking a missing one is not an error.
	RevokeConsent(ctx context.Context, userID, clientID string) error
	// ListConsents returns the user's live consents sorted by ClientID.
	ListConsents(ctx context.Context, userID string) ([]Consent, error)
}

// AuthRequests stores pending /authorize transactions, keyed by Hash(id).
type AuthRequests interface {
	// SaveAuthRequest stores r for ttl. It returns ErrExists if hash is taken.
	SaveAuthRequest(ctx context.Context, hash string, r AuthRequest, ttl time.Duration) error
	// GetAuthRequest returns the request or ErrNotFound.
	GetAuthRequest(ctx context.Context, hash string) (AuthRequest, error)
	// TakeAuthRequest atomically returns and deletes the request: exactly one
	// of any number of concurrent callers gets it, the others ErrNotFound.
	TakeAuthRequest(ctx context.Context, hash string) (AuthRequest, error)
}

// Snapshot is the ordered result of a search, kept so that later pages
// come from the same ordering (a retrievalId), bound to the tenant and user
// that ran the search.
type Snapshot struct {
	TenantID  string    `json:"tenant_id"`
	UserID    string    `json:"user_id"`
	Kind      string    `json:"kind"` // people, companies, jobs
	IDs       []string  `json:"ids"`
	Total     int       `json:"total"`
	CreatedAt time.Time `json:"created_at"`
}

// Snapshots stores search snapshots, keyed by an unguessable id.
type Snapshots interface {
	// SaveSnapshot stores s for ttl. It returns ErrExists if id is taken.
	SaveSnapshot(ctx context.Context, id string, s Snapshot, ttl time.Duration) error
	// GetSnapshot returns the snapshot or ErrNotFound (also after expiry).
	// Callers must check TenantID and UserID against the caller.
	GetSnapshot(ctx context.Context, id string) (Snapshot, error)
}

// Export is a finished CSV export kept for its signed download link (see
// package export), bound to the tenant and user that ran it.
type Export struct {
	TenantID  string    `json:"tenant_id"`
	UserID    string    `json:"user_id"`
	CSV       []byte    `json:"csv"`
	Rows      int       `json:"rows"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxExportBytes is the largest Export.CSV a backend accepts (ErrInvalid
// above it).
const MaxExportBytes = 16 << 20

// Exports stores finished CSV exports, keyed by an unguessable id, so that
// any replica can serve the download.
type Exports interface {
	// SaveExport stores e for ttl. It returns ErrExists if id is taken and
	// ErrInvalid if e.CSV is larger than MaxExportBytes.
	SaveExport(ctx context.Context, id string, e Export, ttl time.Duration) error
	// GetExport returns the export or ErrNotFound (also after expiry).
	// Callers must check TenantID and UserID against the caller.
	GetExport(ctx context.Context, id string) (Export, error)
}

// Store is the whole OAuth state contract. Components should depend on the
// narrowest aggregate interface they use, not on Store.
type Store interface {
	Clients
	Codes
	RefreshTokens
	Revocations
	Sessions
	Consents
	AuthRequests
	Snapshots
	Exports
	// Ping reports whether the backend is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// TombstoneMinTTL is the minimum time a consumed code's tombstone is kept,
// so that a replay within it is recognised as reuse (ErrConsumed).
const TombstoneMinTTL = 10 * time.Minute

// DefaultMinRevocationTTL is the default minimum time a revoked-family marker
// is kept: longer than an access token's lifetime (1 h) plus leeway, so that
// access tokens issued from a revoked family stay denied until they expire.
const DefaultMinRevocationTTL = 2 * time.Hour

// MaxIDLen is the longest key component (hash, client id, user id, family id,
// jti) a backend accepts. Creating a record with a longer one returns
// ErrInvalid; looking one up returns ErrNotFound without touching the backend.
const MaxIDLen = 512
