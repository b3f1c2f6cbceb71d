package statetest

import (
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/state"
)

// RunConcurrency runs the race tests: each check fires many goroutines at
// one record and requires exactly one winner.
func RunConcurrency(t *testing.T, newStore NewStore, caps Capabilities) {
	tests := []test{
		{name: "concurrency/consume-code-50", run: func(e *env) {
			for range 5 {
				ConcurrentConsume(e.t, []state.Store{e.s}, e.clk.Now, 50)
			}
		}},
		{name: "concurrency/consume-code-mixed-clients", run: func(e *env) {
			h, fam, ch := e.hash("code"), e.id("fam"), state.Hash("v")
			e.is(e.s.SaveCode(e.ctx, h, e.code("c1", ch, fam), 10*time.Minute), nil, "save")
			errs := race(50, func(i int) error {
				client := "c1"
				if i%2 == 1 {
					client = "c2"
				}
				_, err := e.s.ConsumeCode(e.ctx, h, client, ch)
				if client == "c2" && !errors.Is(err, state.ErrMismatch) {
					return errors.New("wrong client did not get ErrMismatch")
				}
				return err
			})
			tally(e.t, errs, map[error]int{nil: 1, state.ErrMismatch: 25, state.ErrConsumed: 24})
		}},
		{name: "concurrency/take-auth-request-50", run: func(e *env) {
			for range 5 {
				h := e.hash("areq")
				e.is(e.s.SaveAuthRequest(e.ctx, h, e.authRequest("c1"), 10*time.Minute), nil, "save")
				errs := race(50, func(int) error {
					_, err := e.s.TakeAuthRequest(e.ctx, h)
					return err
				})
				tally(e.t, errs, map[error]int{nil: 1, state.ErrNotFound: 49})
			}
		}},
		{name: "concurrency/rotate-refresh-strict", run: func(e *env) {
			// grace == 0: one winner; every other attempt is reuse, which
			// revokes the family (so the winner's successor dies too).
			f, rt := e.newFamily("c1", familyLife)
			now := e.clk.Now()
			errs := race(20, func(int) error {
				r, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now, 0)
				if err == nil && r.Retry {
					return errors.New("Retry in strict mode")
				}
				return err
			})
			tally(e.t, errs, map[error]int{nil: 1, state.ErrConsumed: 19})
			e.revoked(f.ID, true)
		}},
		{name: "concurrency/rotate-refresh-grace", run: func(e *env) {
			// grace > 0: one rotation, every other attempt is a retry that
			// gets the same successor; nothing is revoked.
			f, rt := e.newFamily("c1", familyLife)
			now := e.clk.Now()
			var mu sync.Mutex
			retries := 0
			errs := race(20, func(int) error {
				r, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now, time.Minute)
				if err == nil && r.Retry {
					mu.Lock()
					retries++
					mu.Unlock()
				}
				return err
			})
			tally(e.t, errs, map[error]int{nil: 20})
			if retries != 19 {
				e.t.Fatalf("retries = %d, want 19 (and one rotation)", retries)
			}
			e.revoked(f.ID, false)
			r, err := e.s.RotateRefresh(e.ctx, rt[1], rt[2], "c1", now, time.Minute)
			e.is(err, nil, "rotate the successor")
			if r.Retry {
				e.t.Fatal("successor rotation reported Retry")
			}
		}},
	}
	runAll(t, newStore, caps, tests)
}

// ConcurrentConsume saves one code through stores[0], then n goroutines,
// spread round-robin over stores (e.g. two server instances on one Redis),
// redeem it at once. Exactly one must win; the rest get ErrConsumed with
// the code's FamilyID.
func ConcurrentConsume(t *testing.T, stores []state.Store, now func() time.Time, n int) {
	t.Helper()
	ctx := t.Context()
	plain := SecretCanary + "race-code-" + rand.Text()
	h, ch, fam := state.Hash(plain), state.Hash("verifier"), "fam-"+state.Hash(plain)[:8]
	code := state.AuthCode{ClientID: "c1", CodeChallenge: ch, FamilyID: fam, Scopes: []string{"mcp"},
		UserID: "u1", TenantID: "t1", IssuedAt: now(), ExpiresAt: now().Add(10 * time.Minute)}
	if err := stores[0].SaveCode(ctx, h, code, 10*time.Minute); err != nil {
		t.Fatalf("save code: %v", err)
	}
	errs := race(n, func(i int) error {
		got, err := stores[i%len(stores)].ConsumeCode(ctx, h, "c1", ch)
		if errors.Is(err, state.ErrConsumed) && got.FamilyID != fam {
			return errors.New("loser did not get the family id")
		}
		if err == nil && got.FamilyID != fam {
			return errors.New("winner got another code")
		}
		return err
	})
	tally(t, errs, map[error]int{nil: 1, state.ErrConsumed: n - 1})
}

// race runs f(0..n-1) in n goroutines released together.
func race(n int, f func(i int) error) []error {
	var (
		start sync.WaitGroup
		done  sync.WaitGroup
	)
	errs := make([]error, n)
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			errs[i] = f(i)
		})
	}
	start.Done()
	done.Wait()
	return errs
}

// tally fails unless errs contains exactly want[e] errors matching each
// sentinel e (nil counts successes), and nothing else.
func tally(t *testing.T, errs []error, want map[error]int) {
	t.Helper()
	got := map[error]int{}
	for _, err := range errs {
		matched := false
		for sentinel := range want {
			if (sentinel == nil && err == nil) || (sentinel != nil && errors.Is(err, sentinel)) {
				got[sentinel]++
				matched = true
				break
			}
		}
		if !matched {
			t.Fatalf("unexpected outcome: %v (cause: %v)", err, cause(err))
		}
	}
	for sentinel, n := range want {
		if got[sentinel] != n {
			t.Fatalf("outcome %v: got %d, want %d (all: %v)", sentinel, got[sentinel], n, got)
		}
	}
}

// cause returns the innermost errors behind a state error, for failure
// messages in tests only.
func cause(err error) []error {
	u, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil
	}
	return u.Unwrap()
}
