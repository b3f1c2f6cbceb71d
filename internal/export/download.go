package export

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/bearer"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// DefaultLinkTTL is how long a download link and its file live.
const DefaultLinkTTL = 10 * time.Minute

// Pattern is the route Links serves (http.ServeMux syntax).
const Pattern = "GET /mcp/exports/{id}"

// LinkOptions configure [NewLinks].
type LinkOptions struct {
	// Key signs the links (HMAC-SHA256); at least 32 bytes, the same on
	// every replica (e.g. token.KeyRing.Derive). Required.
	Key []byte
	// Store keeps the files; shared by every replica (Redis) so that any
	// of them can serve the download. Required.
	Store state.Exports
	// BaseURL is the public URL of the route without the id, e.g.
	// https://crm.example/mcp/exports. Required.
	BaseURL string
	// ResourceMetadataURL is named in the 403 challenge (RFC 9728), as on
	// /mcp.
	ResourceMetadataURL string
	// TTL is how long a link and its file live. If zero, DefaultLinkTTL.
	TTL time.Duration
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
	// Logger receives one record per failed download (class and code
	// only). If nil, nothing is logged.
	Logger *slog.Logger
}

// Links publishes exports under signed links and serves the downloads.
// Safe for concurrent use.
type Links struct {
	key      []byte
	store    state.Exports
	base     string
	metadata string
	ttl      time.Duration
	now      func() time.Time
	logger   *slog.Logger
}

// NewLinks returns Links for o.
func NewLinks(o LinkOptions) (*Links, error) {
	if len(o.Key) < 32 || o.Store == nil || o.BaseURL == "" {
		return nil, errors.New("export: links need a key of at least 32 bytes, a store and a base URL")
	}
	l := &Links{key: append([]byte(nil), o.Key...), store: o.Store, base: strings.TrimRight(o.BaseURL, "/"),
		metadata: o.ResourceMetadataURL, ttl: o.TTL, now: o.Now, logger: o.Logger}
	if l.ttl <= 0 {
		l.ttl = DefaultLinkTTL
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	return l, nil
}

// Link is a published export.
type Link struct {
	ID        string
	URL       string
	ExpiresAt time.Time
	// Filename is what the download is called.
	Filename string
}

// Publish stores res's file for p and returns its signed link.
func (l *Links) Publish(ctx context.Context, p tenant.Principal, res *Result) (Link, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := "exp_" + hex.EncodeToString(b[:])
	now := l.now()
	// Whole seconds: the expiry travels in the URL.
	exp := now.Add(l.ttl).Truncate(time.Second)
	rec := state.Export{TenantID: p.TenantID, UserID: p.UserID, CSV: res.CSV, Rows: res.Rows, Reason: string(res.Reason), CreatedAt: now}
	if err := l.store.SaveExport(ctx, id, rec, exp.Sub(now)); err != nil {
		return Link{}, fmt.Errorf("save export: %w", err)
	}
	e := strconv.FormatInt(exp.Unix(), 10)
	u := l.base + "/" + id + "?exp=" + e + "&sig=" + l.sign(id, p.TenantID, p.UserID, e)
	return Link{ID: id, URL: u, ExpiresAt: exp, Filename: Filename(id)}, nil
}

// Filename is the download's file name: fixed, never user-controlled.
func Filename(id string) string { return "export-" + id + ".csv" }

// sign is the link's signature: HMAC-SHA256 over the id, the owner's
// tenant and user and the expiry, base64url. Fields are NUL-separated and
// none may contain NUL, so no two tuples sign the same bytes.
func (l *Links) sign(id, tenantID, userID, exp string) string {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("crm-mcp export link v1\x00" + id + "\x00" + tenantID + "\x00" + userID + "\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validID reports whether id has the shape Publish makes.
func validID(id string) bool {
	if len(id) != 4+32 || !strings.HasPrefix(id, "exp_") {
		return false
	}
	_, err := hex.DecodeString(id[4:])
	return err == nil
}

// ServeHTTP serves GET /mcp/exports/{id}?exp=…&sig=… behind the bearer
// middleware (the caller's principal in the context). A missing
// principal is 401, a token without crm:export 403, a link that is not
// this caller's (other tenant or user, tampered signature or expiry,
// unknown id) 404, an expired link of this caller 410, a state store
// failure 503.
func (l *Links) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := tenant.FromContext(r.Context())
	if !ok {
		writeError(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	if !p.HasScopes(identity.ScopeExport) {
		bearer.Challenge(w, l.metadata, http.StatusForbidden, "insufficient_scope", identity.ScopeExport)
		return
	}
	id := r.PathValue("id")
	if id == "" {
		id = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	q := r.URL.Query()
	e, sig := q.Get("exp"), q.Get("sig")
	exp, err := strconv.ParseInt(e, 10, 64)
	if !validID(id) || err != nil || len(e) > 12 || strconv.FormatInt(exp, 10) != e ||
		!hmac.Equal([]byte(sig), []byte(l.sign(id, p.TenantID, p.UserID, e))) {
		writeError(w, http.StatusNotFound, "not_found")
		return
	}
	if !l.now().Before(time.Unix(exp, 0)) {
		writeError(w, http.StatusGone, "expired")
		return
	}
	rec, err := l.store.GetExport(r.Context(), id)
	switch {
	case errors.Is(err, state.ErrNotFound):
		writeError(w, http.StatusGone, "expired")
		return
	case err != nil:
		l.logger.LogAttrs(r.Context(), slog.LevelError, "export download failed",
			slog.String("err_class", fmt.Sprintf("%T", err)), slog.String("code", "state_unavailable"))
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
		return
	case rec.TenantID != p.TenantID || rec.UserID != p.UserID:
		// Unreachable with a valid signature; kept as a second lock.
		writeError(w, http.StatusNotFound, "not_found")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+Filename(id)+`"`)
	h.Set("Content-Length", strconv.Itoa(len(rec.CSV)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	// The reason travels with the file too, so that a partial file is
	// never mistaken for a complete one.
	h.Set("X-Export-Reason", rec.Reason)
	h.Set("X-Export-Rows", strconv.Itoa(rec.Rows))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rec.CSV)
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}
