package memory_test

import (
	"errors"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/state/memory"
	"github.com/crm-mcp/crm-mcp/internal/state/statetest"
)

func newStore(t *testing.T, now func() time.Time) state.Store {
	s := memory.New(memory.Options{Now: now})
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	statetest.Run(t, newStore, statetest.Capabilities{FakeClock: true})
}

func TestConcurrency(t *testing.T) {
	statetest.RunConcurrency(t, newStore, statetest.Capabilities{FakeClock: true})
}

func TestBoundedClientDrivenRecordsFailClosed(t *testing.T) {
	ctx := t.Context()
	clk := statetest.NewClock(true)
	s := memory.New(memory.Options{Now: clk.Now, MaxEntries: 8})

	// Anonymous /authorize and /register calls fill the store...
	for i := range 8 {
		if err := s.SaveAuthRequest(ctx, state.Hash(string(rune('a'+i))), state.AuthRequest{ClientID: "c1"}, 10*time.Minute); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	for name, err := range map[string]error{
		"auth request": s.SaveAuthRequest(ctx, state.Hash("x"), state.AuthRequest{}, 10*time.Minute),
		"code":         s.SaveCode(ctx, state.Hash("x"), state.AuthCode{}, 10*time.Minute),
		"client":       s.CreateClient(ctx, state.Client{ID: "c9"}, time.Hour),
	} {
		if !errors.Is(err, state.ErrUnavailable) {
			t.Fatalf("%s when full: err = %v, want ErrUnavailable", name, err)
		}
	}

	// ...but users can still log in, and revocation still works, from the
	// reserve; nothing already stored was evicted.
	if err := s.CreateSession(ctx, state.Hash("sid"), state.Session{UserID: "u1"}, time.Hour); err != nil {
		t.Fatalf("session when client-driven records are full: %v", err)
	}
	if err := s.RevokeAccess(ctx, "jti", clk.Now().Add(time.Hour)); err != nil {
		t.Fatalf("revoke when client-driven records are full: %v", err)
	}
	if _, err := s.GetAuthRequest(ctx, state.Hash("a")); err != nil {
		t.Fatalf("stored request was evicted: %v", err)
	}
	if got := s.Len(); got != 10 {
		t.Fatalf("Len = %d, want 10", got)
	}

	// The reserve is bounded too.
	if err := s.CreateSession(ctx, state.Hash("sid2"), state.Session{UserID: "u1"}, time.Hour); !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("session beyond the reserve: err = %v, want ErrUnavailable", err)
	}

	// Once the requests expire, pruning makes room again.
	clk.Advance(11 * time.Minute)
	if err := s.SaveAuthRequest(ctx, state.Hash("x"), state.AuthRequest{}, 10*time.Minute); err != nil {
		t.Fatalf("save after expiry: %v", err)
	}
	if got := s.Len(); got != 3 {
		t.Fatalf("Len after prune = %d, want 3", got)
	}
}

func TestPeriodicPrune(t *testing.T) {
	ctx := t.Context()
	clk := statetest.NewClock(true)
	s := memory.New(memory.Options{Now: clk.Now, PruneInterval: time.Minute})
	for i := range 100 {
		if err := s.SaveCode(ctx, state.Hash(string(rune(i))), state.AuthCode{}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	if err := s.RevokeAccess(ctx, "jti", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := s.Len(); got != 1 {
		t.Fatalf("Len after periodic prune = %d, want 1", got)
	}
}

func TestClosed(t *testing.T) {
	s := memory.New(memory.Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("Ping after Close: err = %v, want ErrUnavailable", err)
	}
	if _, err := s.GetSession(t.Context(), state.Hash("x")); !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("GetSession after Close: err = %v, want ErrUnavailable", err)
	}
}
