package statetest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/state"
)

// SecretCanary starts every plaintext secret the suite invents (codes,
// refresh tokens, session ids, request ids) before hashing it. A backend test
// can scan its storage for it: it must never appear.
const SecretCanary = "PLAINTEXT-CANARY-"

// NewStore returns an empty store whose clock is now. It registers its own
// cleanup with t.
type NewStore func(t *testing.T, now func() time.Time) state.Store

// Capabilities describes how a backend can be tested.
type Capabilities struct {
	// FakeClock reports that the backend expires records by the clock
	// given to NewStore. If false (Redis expires by server time), the clock
	// follows real time, expiry tests use short real TTLs and sleep, and
	// tests of long fixed windows (the 10-minute tombstone) are skipped;
	// the backend's own tests check those TTLs directly.
	FakeClock bool
}

// Clock is the suite's clock: fake (advanced by hand) or real.
type Clock struct {
	mu   sync.Mutex
	t    time.Time
	real bool
}

// NewClock returns a fake clock at a fixed instant, or a real one.
func NewClock(fake bool) *Clock {
	if !fake {
		return &Clock{real: true}
	}
	return &Clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Now returns the current time.
func (c *Clock) Now() time.Time {
	if c.real {
		return time.Now().UTC()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves a fake clock forward by d, or sleeps d on a real one.
func (c *Clock) Advance(d time.Duration) {
	if c.real {
		time.Sleep(d)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one subtest's world: a fresh store and clock, and every secret or
// identifier handed to the store, which no error message may contain.
type env struct {
	t     *testing.T
	ctx   context.Context
	s     state.Store
	clk   *Clock
	caps  Capabilities
	mu    sync.Mutex
	taint []string
}

func newEnv(t *testing.T, newStore NewStore, caps Capabilities) *env {
	t.Helper()
	clk := NewClock(caps.FakeClock)
	return &env{t: t, ctx: t.Context(), s: newStore(t, clk.Now), clk: clk, caps: caps}
}

// short is the TTL of records whose expiry a test observes.
func (e *env) short() time.Duration {
	if e.caps.FakeClock {
		return 10 * time.Minute
	}
	return 400 * time.Millisecond
}

// secret invents a plaintext secret and returns it with its hash.
func (e *env) secret(name string) (plain, hash string) {
	plain = SecretCanary + name + "-" + rand.Text()
	hash = state.Hash(plain)
	e.mu.Lock()
	e.taint = append(e.taint, plain, hash)
	e.mu.Unlock()
	return plain, hash
}

// hash returns only the hash of a fresh secret.
func (e *env) hash(name string) string {
	_, h := e.secret(name)
	return h
}

// id invents a non-secret identifier (client id, user id, family id, jti).
func (e *env) id(name string) string {
	id := name + "-" + rand.Text()[:10]
	e.mu.Lock()
	e.taint = append(e.taint, id)
	e.mu.Unlock()
	return id
}

// is fails unless errors.Is(err, want), and fails if err's message contains
// any secret or identifier of this env.
func (e *env) is(err, want error, what string) {
	e.t.Helper()
	if want == nil {
		if err != nil {
			e.t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		e.t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
	e.noLeak(err, what)
}

func (e *env) noLeak(err error, what string) {
	e.t.Helper()
	msg := err.Error()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.taint {
		if strings.Contains(msg, s) {
			e.t.Fatalf("%s: error message %q leaks a key, id or secret", what, msg)
		}
	}
	if strings.Contains(msg, SecretCanary) {
		e.t.Fatalf("%s: error message leaks a secret", what)
	}
}

// sameJSON fails unless want and got encode to the same JSON: times compare
// by instant at nanosecond precision, nil and empty slices differ.
func sameJSON(t *testing.T, what string, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(w) != string(g) {
		t.Fatalf("%s mismatch (-want +got):\n-%s\n+%s", what, w, g)
	}
}

func (e *env) client(id string) state.Client {
	now := e.clk.Now()
	return state.Client{
		ID:                      id,
		Name:                    "Example App",
		RedirectURIs:            []string{"https://c1.example/cb", "http://127.0.0.1:8765/cb"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		TokenEndpointAuthMethod: "none",
		Scope:                   "mcp",
		Dynamic:                 true,
		CreatedAt:               now,
		LastUsedAt:              now,
	}
}

func (e *env) code(clientID, challenge, familyID string) state.AuthCode {
	now := e.clk.Now()
	return state.AuthCode{
		ClientID:      clientID,
		RedirectURI:   "https://c1.example/cb",
		CodeChallenge: challenge,
		Scopes:        []string{"mcp", "crm.read"},
		Resource:      "https://mcp.example/mcp",
		UserID:        "u1",
		TenantID:      "t1",
		Email:         "u1@t1.example",
		FamilyID:      familyID,
		IssuedAt:      now,
		ExpiresAt:     now.Add(10 * time.Minute),
	}
}

func (e *env) family(id, clientID string, life time.Duration) state.Family {
	now := e.clk.Now()
	return state.Family{
		ID:        id,
		ClientID:  clientID,
		UserID:    "u1",
		TenantID:  "t1",
		Email:     "u1@t1.example",
		Scopes:    []string{"mcp"},
		Resource:  "https://mcp.example/mcp",
		CreatedAt: now,
		ExpiresAt: now.Add(life),
	}
}

func (e *env) authRequest(clientID string) state.AuthRequest {
	return state.AuthRequest{
		ClientID:      clientID,
		RedirectURI:   "https://c1.example/cb",
		State:         "xyz",
		CodeChallenge: state.Hash("verifier"),
		Scopes:        []string{"mcp"},
		Resource:      "https://mcp.example/mcp",
		CSRFHash:      e.hash("csrf"),
		SessionHash:   e.hash("session"),
		CreatedAt:     e.clk.Now(),
	}
}

// test is one conformance case.
type test struct {
	name string
	// fakeOnly cases need the fake clock (long fixed windows).
	fakeOnly bool
	run      func(e *env)
}

func runAll(t *testing.T, newStore NewStore, caps Capabilities, tests []test) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fakeOnly && !caps.FakeClock {
				t.Skip("needs a fake clock; the backend's own tests check this TTL")
			}
			t.Parallel()
			tc.run(newEnv(t, newStore, caps))
		})
	}
}

// Run runs the contract tests against stores made by newStore.
func Run(t *testing.T, newStore NewStore, caps Capabilities) {
	var tests []test
	tests = append(tests, clientTests()...)
	tests = append(tests, codeTests()...)
	tests = append(tests, refreshTests()...)
	tests = append(tests, revocationTests()...)
	tests = append(tests, sessionTests()...)
	tests = append(tests, consentTests()...)
	tests = append(tests, authRequestTests()...)
	tests = append(tests, snapshotTests()...)
	tests = append(tests, exportTests()...)
	tests = append(tests, miscTests()...)
	runAll(t, newStore, caps, tests)
}
