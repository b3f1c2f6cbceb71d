package authserver_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/state/memory"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// cheapArgon keeps password hashing out of the test budget.
var cheapArgon = identity.Params{Time: 1, Memory: 1024, Threads: 1}

// Seeded users: U1 and V in tenant T1, U2 in T2.
const (
	u1Email, u1Pass = "alice@t1.example", "alice-password-1"
	u2Email, u2Pass = "bob@t2.example", "bob-password-2"
	vEmail, vPass   = "vera@t1.example", "vera-password-3"
)

func testUsers() *identity.Memory {
	return identity.NewMemory(cheapArgon,
		identity.SeedUser{User: identity.User{ID: "u1", TenantID: "t1", Email: u1Email, Name: "Alice", Role: identity.RoleAdmin}, Password: u1Pass},
		identity.SeedUser{User: identity.User{ID: "u2", TenantID: "t2", Email: u2Email, Name: "Bob", Role: identity.RoleRecruiter}, Password: u2Pass},
		identity.SeedUser{User: identity.User{ID: "v", TenantID: "t1", Email: vEmail, Name: "Vera", Role: identity.RoleViewer}, Password: vPass},
	)
}

// testKey is the HMAC key every test instance shares (two instances of one
// deployment share keys).
var testKey = token.Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef-test-key")}

var refreshSecret = []byte("refresh-secret-for-tests-0123456789abcdef")

// clock is an injectable, advanceable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// envOptions tweaks newEnv.
type envOptions struct {
	// refreshGrace is passed to authserver.Options.RefreshGrace (0: default).
	refreshGrace time.Duration
	// issuer overrides the issuer (default: the httptest URL).
	issuer string
	// store replaces the memory store (the Redis tests use it).
	store authserver.Store
	clock *clock
	// users replaces the seeded directory.
	users identity.Directory
	// rateLimits is passed to authserver.Options.RateLimits (ratelimit_test.go).
	rateLimits *authserver.RateLimits
}

// env is one authorization server under test.
type env struct {
	t      testing.TB
	ts     *httptest.Server
	url    string
	issuer string
	srv    *authserver.Server
	mem    *memory.Store // nil when envOptions.store is set
	store  *faultStore   // wraps mem
	access *token.AccessIssuer
	clock  *clock
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	if o.clock == nil {
		o.clock = newClock()
	}
	issuer := ts.URL
	if o.issuer != "" {
		issuer = o.issuer
	}
	e := &env{t: t, ts: ts, url: ts.URL, issuer: issuer, clock: o.clock}
	var backend authserver.Store
	if o.store != nil {
		backend = o.store
	} else {
		e.mem = memory.New(memory.Options{Now: o.clock.Now})
		backend = e.mem
	}
	e.store = &faultStore{Store: backend, down: map[string]bool{}}
	ring, err := token.NewKeyRing(testKey)
	if err != nil {
		t.Fatal(err)
	}
	e.access, err = token.NewAccessIssuer(ring, token.AccessOptions{Issuer: issuer, Audience: issuer + "/mcp", Now: o.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var users identity.Directory = testUsers()
	if o.users != nil {
		users = o.users
	}
	e.srv, err = authserver.New(authserver.Options{
		Issuer:        issuer,
		Resource:      issuer + "/mcp",
		Store:         e.store,
		Users:         users,
		Access:        e.access,
		RefreshSecret: refreshSecret,
		RefreshGrace:  o.refreshGrace,
		Now:           o.clock.Now,
		RateLimits:    o.rateLimits,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.srv.Mount(mux)
	h = mux
	return e
}

// records is the memory store's record count (G-INV-1 snapshots).
func (e *env) records() int {
	e.t.Helper()
	if e.mem == nil {
		e.t.Fatal("records needs the memory store")
	}
	return e.mem.Len()
}

// ---- HTTP helpers ----

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(r.body), &m)
	return m
}

func (r response) errCode() string {
	s, _ := r.json()["error"].(string)
	return s
}

func (r response) location() *url.URL {
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		return &url.URL{}
	}
	return u
}

var noRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// do sends req with c (or a jar-less client) and reads the whole response.
func do(t testing.TB, c *http.Client, req *http.Request) response {
	t.Helper()
	if c == nil {
		c = &http.Client{CheckRedirect: noRedirect}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func newReq(t testing.TB, method, u, contentType, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

const formType = "application/x-www-form-urlencoded"

// postForm posts a form without a browser (token and revocation endpoints).
func (e *env) postForm(path string, form url.Values, mod ...func(*http.Request)) response {
	e.t.Helper()
	req := newReq(e.t, http.MethodPost, e.url+path, formType, form.Encode())
	for _, m := range mod {
		m(req)
	}
	return do(e.t, nil, req)
}

func (e *env) token(form url.Values, mod ...func(*http.Request)) response {
	e.t.Helper()
	r := e.postForm("/token", form, mod...)
	assertNoStore(e.t, r)
	return r
}

func basicAuth(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

// ---- clients ----

type client struct {
	id, secret string
	redirect   string
}

// register registers a client with the given metadata JSON and fails the
// test unless it is accepted.
func (e *env) register(meta string) client {
	e.t.Helper()
	r := do(e.t, nil, newReq(e.t, http.MethodPost, e.url+"/register", "application/json", meta))
	if r.status != http.StatusCreated {
		e.t.Fatalf("register %s: %d %s", meta, r.status, r.body)
	}
	var out struct {
		ID           string   `json:"client_id"`
		Secret       string   `json:"client_secret"`
		RedirectURIs []string `json:"redirect_uris"`
	}
	_ = json.Unmarshal([]byte(r.body), &out)
	return client{id: out.ID, secret: out.Secret, redirect: out.RedirectURIs[0]}
}

// publicClient registers a public client redirecting to redirect.
func (e *env) publicClient(name, redirect string) client {
	e.t.Helper()
	return e.register(`{"redirect_uris":["` + redirect + `"],"token_endpoint_auth_method":"none","client_name":"` + name + `"}`)
}

// ---- PKCE ----

type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	return pkce{verifier: v, challenge: s256(v)}
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ---- browser ----

// browser is the user's browser: a cookie jar, no redirect following.
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: noRedirect}}
}

func (b *browser) get(pathOrURL string) response {
	b.e.t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = b.e.url + u
	}
	return do(b.e.t, b.c, newReq(b.e.t, http.MethodGet, u, "", ""))
}

// post submits a same-origin form (as a browser would: Origin set).
func (b *browser) post(path string, form url.Values, mod ...func(*http.Request)) response {
	b.e.t.Helper()
	req := newReq(b.e.t, http.MethodPost, b.e.url+path, formType, form.Encode())
	req.Header.Set("Origin", b.e.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, m := range mod {
		m(req)
	}
	return do(b.e.t, b.c, req)
}

func (b *browser) sessionCookie() string {
	u, _ := url.Parse(b.e.url)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "crm_session" {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setSessionCookie(v string) {
	u, _ := url.Parse(b.e.url)
	b.jar.SetCookies(u, []*http.Cookie{{Name: "crm_session", Value: v, Path: "/"}})
}

// login signs in directly (no pending request).
func (b *browser) login(email, pass string) {
	b.e.t.Helper()
	r := b.post("/login", url.Values{"email": {email}, "password": {pass}})
	if r.status != http.StatusSeeOther {
		b.e.t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
}

// authzParams is the baseline authorization request of c.
func authzParams(c client, p pkce, scope string) url.Values {
	v := url.Values{
		"response_type": {"code"}, "client_id": {c.id}, "redirect_uri": {c.redirect},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"}, "state": {"S-state"},
	}
	if scope != "" {
		v.Set("scope", scope)
	}
	return v
}

func (b *browser) authorize(q url.Values) response {
	b.e.t.Helper()
	return b.get("/authorize?" + q.Encode())
}

var hiddenRE = regexp.MustCompile(`name="(tx|csrf)" value="([^"]*)"`)

func hidden(page string) (tx, csrf string) {
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		switch m[1] {
		case "tx":
			tx = m[2]
		case "csrf":
			csrf = m[2]
		}
	}
	return tx, csrf
}

// toConsent drives /authorize (logging in when asked) until the consent
// page or a redirect to the client, and returns that response.
func (b *browser) toConsent(q url.Values, email, pass string) response {
	b.e.t.Helper()
	r := b.authorize(q)
	if r.status == http.StatusSeeOther && strings.HasPrefix(r.header.Get("Location"), "/login?tx=") {
		tx := r.location().Query().Get("tx")
		r = b.post("/login", url.Values{"email": {email}, "password": {pass}, "tx": {tx}})
		if r.status != http.StatusSeeOther {
			b.e.t.Fatalf("login: %d %s", r.status, r.body)
		}
		r = b.get(r.header.Get("Location"))
	}
	return r
}

// approve posts approval of a consent page.
func (b *browser) approve(page response) response {
	b.e.t.Helper()
	tx, csrf := hidden(page.body)
	if tx == "" || csrf == "" {
		b.e.t.Fatalf("not a consent page: %d %s", page.status, page.body)
	}
	return b.post("/consent", url.Values{"tx": {tx}, "csrf": {csrf}, "action": {"approve"}})
}

// code runs the whole authorization and returns the code from the redirect.
func (b *browser) code(c client, p pkce, scope, email, pass string) string {
	b.e.t.Helper()
	r := b.toConsent(authzParams(c, p, scope), email, pass)
	if r.status == http.StatusOK {
		r = b.approve(r)
	}
	loc := r.location()
	if (r.status != http.StatusFound && r.status != http.StatusSeeOther) || !strings.HasPrefix(loc.String(), c.redirect) {
		b.e.t.Fatalf("expected a redirect to %s, got %d %q %s", c.redirect, r.status, loc, r.body)
	}
	if e := loc.Query().Get("error"); e != "" {
		b.e.t.Fatalf("authorization error %s: %s", e, loc.Query().Get("error_description"))
	}
	return loc.Query().Get("code")
}

// ---- token helpers ----

func codeForm(c client, code string, p pkce) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {p.verifier}, "client_id": {c.id}}
}

func refreshForm(c client, rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.id}}
}

type tokens struct {
	access, refresh, scope string
}

func (r response) tokens() tokens {
	m := r.json()
	s := func(k string) string { v, _ := m[k].(string); return v }
	return tokens{access: s("access_token"), refresh: s("refresh_token"), scope: s("scope")}
}

// exchange redeems code and fails the test unless it succeeds.
func (e *env) exchange(c client, code string, p pkce) tokens {
	e.t.Helper()
	r := e.token(codeForm(c, code, p))
	if r.status != http.StatusOK {
		e.t.Fatalf("code exchange: %d %s", r.status, r.body)
	}
	return r.tokens()
}

// grant is a full login+consent+exchange for c by U1.
func (e *env) grant(c client, scope string) tokens {
	e.t.Helper()
	p := newPKCE()
	code := e.browser().code(c, p, scope, u1Email, u1Pass)
	return e.exchange(c, code, p)
}

// accessRevoked reports whether the access token is dead in the store (what
// the bearer middleware checks on every /mcp request).
func (e *env) accessRevoked(at string) bool {
	e.t.Helper()
	claims, err := e.access.Verify(at)
	if err != nil {
		e.t.Fatalf("verify access token: %v", err)
	}
	dead, err := e.store.Store.AccessRevoked(e.t.Context(), claims.JTI, claims.FamilyID)
	if err != nil {
		e.t.Fatal(err)
	}
	return dead
}

// ---- invariants ----

// assertNoStore checks G-INV-3.
func assertNoStore(t testing.TB, r response) {
	t.Helper()
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store (G-INV-3)", got)
	}
}

// leakMarkers must never appear in a response body (G-INV-2).
var leakMarkers = []string{"goroutine ", ".go:", "panic", "runtime.", "sql:", "state:", "redis", "crm:{", "ERR ", "127.0.0.1:6"}

// assertNoLeak checks G-INV-2: no internals, and none of the secrets.
func assertNoLeak(t testing.TB, r response, secrets ...string) {
	t.Helper()
	low := strings.ToLower(r.body)
	for _, m := range leakMarkers {
		if strings.Contains(low, strings.ToLower(m)) {
			t.Errorf("body leaks %q (G-INV-2): %s", m, r.body)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(r.body, s) {
			t.Errorf("body echoes a secret (G-INV-2): %s", r.body)
		}
	}
}

// assertOAuthError checks a JSON error response.
func assertOAuthError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.errCode() != code {
		t.Errorf("got %d %q (%s), want %d %q", r.status, r.errCode(), r.body, status, code)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want JSON", ct)
	}
}

// assertErrorPage checks that r is an HTML error page, not a redirect.
func assertErrorPage(t testing.TB, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d page (body %.200s, Location %q)", r.status, status, r.body, r.header.Get("Location"))
	}
	if loc := r.header.Get("Location"); loc != "" {
		t.Errorf("error page carries Location %q: must never redirect", loc)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("Content-Type = %q, want an HTML page", r.header.Get("Content-Type"))
	}
	if r.header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("page lacks Referrer-Policy/CSP (B-33, B-67): %v", r.header)
	}
	assertNoLeak(t, r)
}

// assertClientRedirect checks a redirect to the validated redirect URI with
// error (or code when wantErr is ""), state and iss (B-31, B-32).
func assertClientRedirect(t testing.TB, e *env, r response, redirect, wantErr, wantState string) url.Values {
	t.Helper()
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("status = %d, want 302/303 redirect (never 307); body %.300s", r.status, r.body)
	}
	loc := r.location()
	base := *loc
	base.RawQuery = ""
	want, _ := url.Parse(redirect)
	want.RawQuery = ""
	if base.String() != want.String() {
		t.Fatalf("redirect to %q, want the validated %q", loc, redirect)
	}
	q := loc.Query()
	if q.Get("iss") != e.issuer {
		t.Errorf("redirect iss = %q, want %q (RFC 9207)", q.Get("iss"), e.issuer)
	}
	if q.Get("state") != wantState {
		t.Errorf("redirect state = %q, want %q", q.Get("state"), wantState)
	}
	if wantErr == "" {
		if q.Get("code") == "" || q.Has("error") {
			t.Errorf("want a code, got %s", loc)
		}
	} else if q.Get("error") != wantErr || q.Has("code") {
		t.Errorf("redirect error = %q (code %q), want %q", q.Get("error"), q.Get("code"), wantErr)
	}
	return q
}

// ---- fault-injecting store ----

// faultStore wraps a Store and fails chosen methods with
// state.ErrUnavailable, like a Redis that went away.
type faultStore struct {
	authserver.Store
	mu   sync.Mutex
	down map[string]bool // method name, or "*" for all
	// consumed and families count successful ConsumeCode and CreateFamily
	// calls (exactly-once checks under concurrency).
	consumed, families atomic.Int64
}

func (f *faultStore) setDown(methods ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = map[string]bool{}
	for _, m := range methods {
		f.down[m] = true
	}
}

func (f *faultStore) fail(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down["*"] || f.down[op] {
		return state.Unavailable(op, nil)
	}
	return nil
}

func (f *faultStore) CreateClient(ctx context.Context, c state.Client, ttl time.Duration) error {
	if err := f.fail("CreateClient"); err != nil {
		return err
	}
	return f.Store.CreateClient(ctx, c, ttl)
}

func (f *faultStore) GetClient(ctx context.Context, id string) (state.Client, error) {
	if err := f.fail("GetClient"); err != nil {
		return state.Client{}, err
	}
	return f.Store.GetClient(ctx, id)
}

func (f *faultStore) TouchClient(ctx context.Context, id string, now time.Time, ttl time.Duration) error {
	if err := f.fail("TouchClient"); err != nil {
		return err
	}
	return f.Store.TouchClient(ctx, id, now, ttl)
}

func (f *faultStore) SaveCode(ctx context.Context, hash string, c state.AuthCode, ttl time.Duration) error {
	if err := f.fail("SaveCode"); err != nil {
		return err
	}
	return f.Store.SaveCode(ctx, hash, c, ttl)
}

func (f *faultStore) ConsumeCode(ctx context.Context, hash, clientID, challenge string) (state.AuthCode, error) {
	if err := f.fail("ConsumeCode"); err != nil {
		return state.AuthCode{}, err
	}
	ac, err := f.Store.ConsumeCode(ctx, hash, clientID, challenge)
	if err == nil {
		f.consumed.Add(1)
	}
	return ac, err
}

func (f *faultStore) CreateFamily(ctx context.Context, fam state.Family, first string) error {
	if err := f.fail("CreateFamily"); err != nil {
		return err
	}
	err := f.Store.CreateFamily(ctx, fam, first)
	if err == nil {
		f.families.Add(1)
	}
	return err
}

func (f *faultStore) RotateRefresh(ctx context.Context, presented, next, clientID string, now time.Time, grace time.Duration) (state.Rotation, error) {
	if err := f.fail("RotateRefresh"); err != nil {
		return state.Rotation{}, err
	}
	return f.Store.RotateRefresh(ctx, presented, next, clientID, now, grace)
}

func (f *faultStore) FamilyOfToken(ctx context.Context, h string) (state.Family, error) {
	if err := f.fail("FamilyOfToken"); err != nil {
		return state.Family{}, err
	}
	return f.Store.FamilyOfToken(ctx, h)
}

func (f *faultStore) RevokeFamily(ctx context.Context, id string) error {
	if err := f.fail("RevokeFamily"); err != nil {
		return err
	}
	return f.Store.RevokeFamily(ctx, id)
}

func (f *faultStore) FamilyRevoked(ctx context.Context, id string) (bool, error) {
	if err := f.fail("FamilyRevoked"); err != nil {
		return false, err
	}
	return f.Store.FamilyRevoked(ctx, id)
}

func (f *faultStore) RevokeAccess(ctx context.Context, jti string, until time.Time) error {
	if err := f.fail("RevokeAccess"); err != nil {
		return err
	}
	return f.Store.RevokeAccess(ctx, jti, until)
}

func (f *faultStore) AccessRevoked(ctx context.Context, jti, fam string) (bool, error) {
	if err := f.fail("AccessRevoked"); err != nil {
		return false, err
	}
	return f.Store.AccessRevoked(ctx, jti, fam)
}

func (f *faultStore) CreateSession(ctx context.Context, h string, s state.Session, ttl time.Duration) error {
	if err := f.fail("CreateSession"); err != nil {
		return err
	}
	return f.Store.CreateSession(ctx, h, s, ttl)
}

func (f *faultStore) GetSession(ctx context.Context, h string) (state.Session, error) {
	if err := f.fail("GetSession"); err != nil {
		return state.Session{}, err
	}
	return f.Store.GetSession(ctx, h)
}

func (f *faultStore) DeleteSession(ctx context.Context, h string) error {
	if err := f.fail("DeleteSession"); err != nil {
		return err
	}
	return f.Store.DeleteSession(ctx, h)
}

func (f *faultStore) GrantConsent(ctx context.Context, u, c string, sc []string, ru string, ttl time.Duration) error {
	if err := f.fail("GrantConsent"); err != nil {
		return err
	}
	return f.Store.GrantConsent(ctx, u, c, sc, ru, ttl)
}

func (f *faultStore) GetConsent(ctx context.Context, u, c string) (state.Consent, error) {
	if err := f.fail("GetConsent"); err != nil {
		return state.Consent{}, err
	}
	return f.Store.GetConsent(ctx, u, c)
}

func (f *faultStore) RevokeConsent(ctx context.Context, u, c string) error {
	if err := f.fail("RevokeConsent"); err != nil {
		return err
	}
	return f.Store.RevokeConsent(ctx, u, c)
}

func (f *faultStore) ListConsents(ctx context.Context, u string) ([]state.Consent, error) {
	if err := f.fail("ListConsents"); err != nil {
		return nil, err
	}
	return f.Store.ListConsents(ctx, u)
}

func (f *faultStore) SaveAuthRequest(ctx context.Context, h string, r state.AuthRequest, ttl time.Duration) error {
	if err := f.fail("SaveAuthRequest"); err != nil {
		return err
	}
	return f.Store.SaveAuthRequest(ctx, h, r, ttl)
}

func (f *faultStore) GetAuthRequest(ctx context.Context, h string) (state.AuthRequest, error) {
	if err := f.fail("GetAuthRequest"); err != nil {
		return state.AuthRequest{}, err
	}
	return f.Store.GetAuthRequest(ctx, h)
}

func (f *faultStore) TakeAuthRequest(ctx context.Context, h string) (state.AuthRequest, error) {
	if err := f.fail("TakeAuthRequest"); err != nil {
		return state.AuthRequest{}, err
	}
	return f.Store.TakeAuthRequest(ctx, h)
}
