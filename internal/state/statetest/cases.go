package statetest

import (
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/state"
)

const (
	clientTTL  = 90 * 24 * time.Hour
	familyLife = 7 * 24 * time.Hour
)

func clientTests() []test {
	return []test{
		{name: "clients/create-get", run: func(e *env) {
			c := e.client(e.id("c1"))
			e.is(e.s.CreateClient(e.ctx, c, clientTTL), nil, "create")
			got, err := e.s.GetClient(e.ctx, c.ID)
			e.is(err, nil, "get")
			sameJSON(e.t, "client", c, got)
		}},
		{name: "clients/confidential", run: func(e *env) {
			c := e.client(e.id("conf"))
			c.SecretHash, c.TokenEndpointAuthMethod, c.Dynamic = e.hash("client-secret"), "client_secret_basic", false
			e.is(e.s.CreateClient(e.ctx, c, clientTTL), nil, "create")
			got, err := e.s.GetClient(e.ctx, c.ID)
			e.is(err, nil, "get")
			sameJSON(e.t, "client", c, got)
		}},
		{name: "clients/duplicate-id", run: func(e *env) {
			c := e.client(e.id("c1"))
			e.is(e.s.CreateClient(e.ctx, c, clientTTL), nil, "create")
			c2 := c
			c2.Name = "impostor"
			e.is(e.s.CreateClient(e.ctx, c2, clientTTL), state.ErrExists, "create again")
			got, err := e.s.GetClient(e.ctx, c.ID)
			e.is(err, nil, "get")
			sameJSON(e.t, "client", c, got)
		}},
		{name: "clients/unknown", run: func(e *env) {
			_, err := e.s.GetClient(e.ctx, e.id("nope"))
			e.is(err, state.ErrNotFound, "get")
			e.is(e.s.TouchClient(e.ctx, e.id("nope"), e.clk.Now(), clientTTL), state.ErrNotFound, "touch")
		}},
		{name: "clients/touch-updates-last-used", run: func(e *env) {
			c := e.client(e.id("c1"))
			e.is(e.s.CreateClient(e.ctx, c, clientTTL), nil, "create")
			later := c.CreatedAt.Add(3 * time.Hour)
			e.is(e.s.TouchClient(e.ctx, c.ID, later, clientTTL), nil, "touch")
			got, err := e.s.GetClient(e.ctx, c.ID)
			e.is(err, nil, "get")
			want := c
			want.LastUsedAt = later
			sameJSON(e.t, "client", want, got)
		}},
		{name: "clients/expire-unless-touched", run: func(e *env) {
			ttl := e.short()
			a, b := e.client(e.id("idle")), e.client(e.id("busy"))
			e.is(e.s.CreateClient(e.ctx, a, ttl), nil, "create idle")
			e.is(e.s.CreateClient(e.ctx, b, ttl), nil, "create busy")
			e.clk.Advance(ttl * 6 / 10)
			e.is(e.s.TouchClient(e.ctx, b.ID, e.clk.Now(), ttl), nil, "touch busy")
			e.clk.Advance(ttl * 6 / 10)
			_, err := e.s.GetClient(e.ctx, a.ID)
			e.is(err, state.ErrNotFound, "idle client after ttl")
			_, err = e.s.GetClient(e.ctx, b.ID)
			e.is(err, nil, "touched client after original ttl")
			e.clk.Advance(ttl)
			_, err = e.s.GetClient(e.ctx, b.ID)
			e.is(err, state.ErrNotFound, "touched client after extended ttl")
			e.is(e.s.CreateClient(e.ctx, a, ttl), nil, "re-register expired id")
		}},
		{name: "clients/invalid-arguments", run: func(e *env) {
			e.is(e.s.CreateClient(e.ctx, e.client(""), clientTTL), state.ErrInvalid, "empty id")
			e.is(e.s.CreateClient(e.ctx, e.client(e.id("c")), 0), state.ErrInvalid, "zero ttl")
			e.is(e.s.CreateClient(e.ctx, e.client(strings.Repeat("x", state.MaxIDLen+1)), clientTTL), state.ErrInvalid, "long id")
			_, err := e.s.GetClient(e.ctx, strings.Repeat("x", 10_000))
			e.is(err, state.ErrNotFound, "get 10 KB id")
		}},
		{name: "clients/caller-mutation-isolated", run: func(e *env) {
			c := e.client(e.id("c1"))
			want := c
			want.RedirectURIs = append([]string(nil), c.RedirectURIs...)
			e.is(e.s.CreateClient(e.ctx, c, clientTTL), nil, "create")
			c.RedirectURIs[0] = "https://evil.example/cb"
			got, err := e.s.GetClient(e.ctx, c.ID)
			e.is(err, nil, "get")
			got.RedirectURIs[1] = "https://evil.example/2"
			again, err := e.s.GetClient(e.ctx, c.ID)
			e.is(err, nil, "get again")
			sameJSON(e.t, "client", want, again)
		}},
	}
}

func codeTests() []test {
	return []test{
		{name: "codes/consume-once", run: func(e *env) {
			h, fam := e.hash("code"), e.id("fam")
			ch := state.Hash("verifier")
			c := e.code("c1", ch, fam)
			e.is(e.s.SaveCode(e.ctx, h, c, 10*time.Minute), nil, "save")
			got, err := e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, nil, "consume")
			sameJSON(e.t, "code", c, got)
			again, err := e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, state.ErrConsumed, "replay")
			if again.FamilyID != fam {
				e.t.Fatalf("replay FamilyID = %q, want %q", again.FamilyID, fam)
			}
			if d := again.ConsumedAt.Sub(e.clk.Now()); again.ConsumedAt.IsZero() || d > 2*time.Second || d < -2*time.Second {
				e.t.Fatalf("replay ConsumedAt = %v, want about %v", again.ConsumedAt, e.clk.Now())
			}
		}},
		{name: "codes/replay-later-still-consumed", run: func(e *env) {
			h, fam, ch := e.hash("code"), e.id("fam"), state.Hash("v")
			e.is(e.s.SaveCode(e.ctx, h, e.code("c1", ch, fam), time.Minute), nil, "save")
			_, err := e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, nil, "consume")
			e.clk.Advance(e.short() / 2) // past nothing on a real clock; past the code's life on a fake one
			got, err := e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, state.ErrConsumed, "replay")
			if got.FamilyID != fam {
				e.t.Fatalf("replay FamilyID = %q, want %q", got.FamilyID, fam)
			}
		}},
		{name: "codes/wrong-client-does-not-burn", run: func(e *env) {
			h, ch := e.hash("code"), state.Hash("v")
			e.is(e.s.SaveCode(e.ctx, h, e.code("c1", ch, e.id("fam")), 10*time.Minute), nil, "save")
			_, err := e.s.ConsumeCode(e.ctx, h, "c2", ch)
			e.is(err, state.ErrMismatch, "wrong client")
			_, err = e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, nil, "right client afterwards")
		}},
		{name: "codes/wrong-verifier-does-not-burn", run: func(e *env) {
			h, ch := e.hash("code"), state.Hash("v")
			e.is(e.s.SaveCode(e.ctx, h, e.code("c1", ch, e.id("fam")), 10*time.Minute), nil, "save")
			for _, bad := range []string{state.Hash("v2"), "", ch + "x"} {
				_, err := e.s.ConsumeCode(e.ctx, h, "c1", bad)
				e.is(err, state.ErrMismatch, "wrong challenge")
			}
			_, err := e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, nil, "right verifier afterwards")
		}},
		{name: "codes/replay-with-wrong-binding-revokes-nothing", run: func(e *env) {
			h, ch := e.hash("code"), state.Hash("v")
			e.is(e.s.SaveCode(e.ctx, h, e.code("c1", ch, e.id("fam")), 10*time.Minute), nil, "save")
			_, err := e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, nil, "consume")
			got, err := e.s.ConsumeCode(e.ctx, h, "c2", ch)
			e.is(err, state.ErrMismatch, "replay by another client")
			if got.FamilyID != "" {
				e.t.Fatalf("mismatching replay got FamilyID %q", got.FamilyID)
			}
			_, err = e.s.ConsumeCode(e.ctx, h, "c1", state.Hash("other"))
			e.is(err, state.ErrMismatch, "replay with another verifier")
		}},
		{name: "codes/unknown", run: func(e *env) {
			_, err := e.s.ConsumeCode(e.ctx, e.hash("code"), "c1", state.Hash("v"))
			e.is(err, state.ErrNotFound, "consume")
			_, err = e.s.ConsumeCode(e.ctx, strings.Repeat("A", 10_000), "c1", "x")
			e.is(err, state.ErrNotFound, "10 KB code")
		}},
		{name: "codes/duplicate-hash", run: func(e *env) {
			h, ch := e.hash("code"), state.Hash("v")
			e.is(e.s.SaveCode(e.ctx, h, e.code("c1", ch, e.id("f")), 10*time.Minute), nil, "save")
			e.is(e.s.SaveCode(e.ctx, h, e.code("c2", ch, e.id("f")), 10*time.Minute), state.ErrExists, "save again")
			got, err := e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, nil, "consume")
			if got.ClientID != "c1" {
				e.t.Fatalf("second save overwrote the code")
			}
		}},
		{name: "codes/expired", run: func(e *env) {
			h, ch := e.hash("code"), state.Hash("v")
			e.is(e.s.SaveCode(e.ctx, h, e.code("c1", ch, e.id("f")), e.short()), nil, "save")
			e.clk.Advance(e.short() + e.short()/10)
			_, err := e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, state.ErrNotFound, "consume expired")
		}},
		{name: "codes/tombstone-outlives-code-then-expires", fakeOnly: true, run: func(e *env) {
			h, fam, ch := e.hash("code"), e.id("fam"), state.Hash("v")
			e.is(e.s.SaveCode(e.ctx, h, e.code("c1", ch, fam), time.Minute), nil, "save")
			_, err := e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, nil, "consume")
			e.clk.Advance(state.TombstoneMinTTL - time.Second)
			_, err = e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, state.ErrConsumed, "replay just before the tombstone expires")
			e.clk.Advance(2 * time.Second)
			_, err = e.s.ConsumeCode(e.ctx, h, "c1", ch)
			e.is(err, state.ErrNotFound, "replay after the tombstone expired")
		}},
		{name: "codes/invalid-arguments", run: func(e *env) {
			c := e.code("c1", "x", "f")
			e.is(e.s.SaveCode(e.ctx, "", c, time.Minute), state.ErrInvalid, "empty hash")
			e.is(e.s.SaveCode(e.ctx, e.hash("code"), c, 0), state.ErrInvalid, "zero ttl")
			e.is(e.s.SaveCode(e.ctx, e.hash("code"), c, -time.Second), state.ErrInvalid, "negative ttl")
		}},
	}
}

// rt returns the hashes of a chain of refresh tokens.
func (e *env) rts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = e.hash("rt")
	}
	return out
}

func (e *env) newFamily(clientID string, life time.Duration) (state.Family, []string) {
	e.t.Helper()
	f := e.family(e.id("fam"), clientID, life)
	rt := e.rts(4)
	e.is(e.s.CreateFamily(e.ctx, f, rt[0]), nil, "create family")
	return f, rt
}

func (e *env) revoked(familyID string, want bool) {
	e.t.Helper()
	got, err := e.s.FamilyRevoked(e.ctx, familyID)
	e.is(err, nil, "family revoked")
	if got != want {
		e.t.Fatalf("FamilyRevoked = %v, want %v", got, want)
	}
	denied, err := e.s.AccessRevoked(e.ctx, e.id("jti"), familyID)
	e.is(err, nil, "access revoked")
	if denied != want {
		e.t.Fatalf("AccessRevoked(fresh jti, family) = %v, want %v", denied, want)
	}
}

func refreshTests() []test {
	return []test{
		{name: "refresh/rotate-chain", run: func(e *env) {
			f, rt := e.newFamily("c1", familyLife)
			now := e.clk.Now()
			for i := range 3 {
				r, err := e.s.RotateRefresh(e.ctx, rt[i], rt[i+1], "c1", now, 0)
				e.is(err, nil, "rotate")
				if r.Retry {
					e.t.Fatalf("rotation %d: Retry = true", i)
				}
				sameJSON(e.t, "family", f, r.Family)
			}
			e.revoked(f.ID, false)
		}},
		{name: "refresh/reuse-revokes-family", run: func(e *env) {
			f, rt := e.newFamily("c1", familyLife)
			now := e.clk.Now()
			_, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now, 0)
			e.is(err, nil, "rotate")
			r, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now, 0)
			e.is(err, state.ErrConsumed, "reuse in strict mode")
			if r.Family.ID != f.ID {
				e.t.Fatalf("reuse Family.ID = %q, want %q", r.Family.ID, f.ID)
			}
			e.revoked(f.ID, true)
			r, err = e.s.RotateRefresh(e.ctx, rt[1], rt[2], "c1", now, 0)
			e.is(err, state.ErrConsumed, "current token of a revoked family")
			if r.Family.ID != f.ID {
				e.t.Fatalf("revoked Family.ID = %q, want %q", r.Family.ID, f.ID)
			}
		}},
		{name: "refresh/grace-retry", run: func(e *env) {
			f, rt := e.newFamily("c1", familyLife)
			now := e.clk.Now()
			grace := 10 * time.Second
			_, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now, grace)
			e.is(err, nil, "rotate")
			r, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now.Add(grace), grace)
			e.is(err, nil, "retry at the end of the window")
			if !r.Retry {
				e.t.Fatal("Retry = false, want true")
			}
			sameJSON(e.t, "family", f, r.Family)
			e.revoked(f.ID, false)
			r, err = e.s.RotateRefresh(e.ctx, rt[1], rt[2], "c1", now.Add(grace), grace)
			e.is(err, nil, "rotate the successor")
			if r.Retry {
				e.t.Fatal("successor rotation Retry = true")
			}
		}},
		{name: "refresh/grace-expired-revokes", run: func(e *env) {
			f, rt := e.newFamily("c1", familyLife)
			now := e.clk.Now()
			grace := 10 * time.Second
			_, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now, grace)
			e.is(err, nil, "rotate")
			_, err = e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now.Add(grace+time.Millisecond), grace)
			e.is(err, state.ErrConsumed, "reuse after grace")
			e.revoked(f.ID, true)
		}},
		{name: "refresh/grace-other-successor-revokes", run: func(e *env) {
			f, rt := e.newFamily("c1", familyLife)
			now := e.clk.Now()
			_, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now, time.Minute)
			e.is(err, nil, "rotate")
			_, err = e.s.RotateRefresh(e.ctx, rt[0], rt[2], "c1", now, time.Minute)
			e.is(err, state.ErrConsumed, "previous token with a different successor")
			e.revoked(f.ID, true)
		}},
		{name: "refresh/older-token-revokes-even-within-grace", run: func(e *env) {
			f, rt := e.newFamily("c1", familyLife)
			now := e.clk.Now()
			for i := range 2 {
				_, err := e.s.RotateRefresh(e.ctx, rt[i], rt[i+1], "c1", now, time.Hour)
				e.is(err, nil, "rotate")
			}
			_, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now, time.Hour)
			e.is(err, state.ErrConsumed, "grandparent token")
			e.revoked(f.ID, true)
		}},
		{name: "refresh/cross-client-changes-nothing", run: func(e *env) {
			f, rt := e.newFamily("c1", familyLife)
			now := e.clk.Now()
			_, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c2", now, 0)
			e.is(err, state.ErrMismatch, "other client, current token")
			e.revoked(f.ID, false)
			_, err = e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", now, 0)
			e.is(err, nil, "owner rotates afterwards")
			_, err = e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c2", now, 0)
			e.is(err, state.ErrMismatch, "other client, old token")
			e.revoked(f.ID, false)
		}},
		{name: "refresh/family-of-token", run: func(e *env) {
			f, rt := e.newFamily("c1", familyLife)
			got, err := e.s.FamilyOfToken(e.ctx, rt[0])
			e.is(err, nil, "family of first token")
			sameJSON(e.t, "family", f, got)
			_, err = e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", e.clk.Now(), 0)
			e.is(err, nil, "rotate")
			for i, h := range rt[:2] {
				got, err := e.s.FamilyOfToken(e.ctx, h)
				e.is(err, nil, "family of a rotated-out or current token")
				if got.ID != f.ID {
					e.t.Fatalf("token %d: family %q, want %q", i, got.ID, f.ID)
				}
			}
			_, err = e.s.FamilyOfToken(e.ctx, e.hash("rt"))
			e.is(err, state.ErrNotFound, "unknown token")
			e.revoked(f.ID, false) // lookups change nothing
			e.is(e.s.RevokeFamily(e.ctx, f.ID), nil, "revoke")
			_, err = e.s.FamilyOfToken(e.ctx, rt[1])
			e.is(err, state.ErrNotFound, "token of a revoked family")
		}},
		{name: "refresh/unknown-token", run: func(e *env) {
			_, err := e.s.RotateRefresh(e.ctx, e.hash("rt"), e.hash("rt"), "c1", e.clk.Now(), 0)
			e.is(err, state.ErrNotFound, "rotate unknown")
		}},
		{name: "refresh/duplicate-family", run: func(e *env) {
			f, _ := e.newFamily("c1", familyLife)
			e.is(e.s.CreateFamily(e.ctx, f, e.hash("rt")), state.ErrExists, "same id")
			e.is(e.s.RevokeFamily(e.ctx, f.ID), nil, "revoke")
			e.is(e.s.CreateFamily(e.ctx, f, e.hash("rt")), state.ErrExists, "revoked id")
		}},
		{name: "refresh/absolute-expiry", run: func(e *env) {
			life := e.short()
			_, rt := e.newFamily("c1", life)
			e.clk.Advance(life / 2)
			_, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", e.clk.Now(), 0)
			e.is(err, nil, "rotate halfway")
			e.clk.Advance(life/2 + life/10)
			_, err = e.s.RotateRefresh(e.ctx, rt[1], rt[2], "c1", e.clk.Now(), 0)
			e.is(err, state.ErrNotFound, "rotated token past the family's absolute expiry")
			_, err = e.s.FamilyOfToken(e.ctx, rt[1])
			e.is(err, state.ErrNotFound, "family of a token past the absolute expiry")
		}},
		{name: "refresh/revoke-family", run: func(e *env) {
			f, rt := e.newFamily("c1", familyLife)
			e.revoked(f.ID, false)
			e.is(e.s.RevokeFamily(e.ctx, f.ID), nil, "revoke")
			e.revoked(f.ID, true)
			e.is(e.s.RevokeFamily(e.ctx, f.ID), nil, "revoke again")
			_, err := e.s.RotateRefresh(e.ctx, rt[0], rt[1], "c1", e.clk.Now(), 0)
			e.is(err, state.ErrConsumed, "rotate revoked")
			other := e.id("never-created")
			e.is(e.s.RevokeFamily(e.ctx, other), nil, "revoke unknown id")
			e.revoked(other, true)
		}},
		{name: "refresh/revocation-outlives-family", fakeOnly: true, run: func(e *env) {
			f, _ := e.newFamily("c1", time.Minute)
			e.is(e.s.RevokeFamily(e.ctx, f.ID), nil, "revoke")
			e.clk.Advance(state.DefaultMinRevocationTTL - time.Second)
			e.revoked(f.ID, true)
			e.clk.Advance(2 * time.Second)
			e.revoked(f.ID, false)
		}},
		{name: "refresh/invalid-arguments", run: func(e *env) {
			f := e.family(e.id("fam"), "c1", familyLife)
			e.is(e.s.CreateFamily(e.ctx, f, ""), state.ErrInvalid, "empty token")
			f.ExpiresAt = e.clk.Now().Add(-time.Second)
			e.is(e.s.CreateFamily(e.ctx, f, e.hash("rt")), state.ErrInvalid, "already expired")
			g, rt := e.newFamily("c1", familyLife)
			_, err := e.s.RotateRefresh(e.ctx, rt[0], rt[0], "c1", e.clk.Now(), 0)
			e.is(err, state.ErrInvalid, "successor equals presented")
			e.revoked(g.ID, false)
		}},
	}
}

func revocationTests() []test {
	return []test{
		{name: "revocations/deny-jti", run: func(e *env) {
			jti, other := e.id("jti"), e.id("jti")
			e.is(e.s.RevokeAccess(e.ctx, jti, e.clk.Now().Add(time.Hour)), nil, "revoke")
			for _, tc := range []struct {
				jti, fam string
				want     bool
			}{
				{jti, "", true},
				{jti, e.id("fam"), true},
				{other, "", false},
				{other, e.id("fam"), false},
			} {
				got, err := e.s.AccessRevoked(e.ctx, tc.jti, tc.fam)
				e.is(err, nil, "access revoked")
				if got != tc.want {
					e.t.Fatalf("AccessRevoked(%q, %q) = %v, want %v", tc.jti, tc.fam, got, tc.want)
				}
			}
		}},
		{name: "revocations/past-until-is-noop", run: func(e *env) {
			jti := e.id("jti")
			e.is(e.s.RevokeAccess(e.ctx, jti, e.clk.Now().Add(-time.Second)), nil, "revoke expired token")
			got, err := e.s.AccessRevoked(e.ctx, jti, "")
			e.is(err, nil, "access revoked")
			if got {
				e.t.Fatal("an already expired token was recorded")
			}
		}},
		{name: "revocations/expire-at-until-and-never-shorten", run: func(e *env) {
			a, b := e.id("jti"), e.id("jti")
			until := e.clk.Now().Add(e.short())
			e.is(e.s.RevokeAccess(e.ctx, a, until), nil, "revoke a")
			e.is(e.s.RevokeAccess(e.ctx, b, until.Add(e.short())), nil, "revoke b")
			e.is(e.s.RevokeAccess(e.ctx, b, until), nil, "revoke b again, shorter")
			e.clk.Advance(e.short() + e.short()/10)
			for _, tc := range []struct {
				jti  string
				want bool
			}{{a, false}, {b, true}} {
				got, err := e.s.AccessRevoked(e.ctx, tc.jti, "")
				e.is(err, nil, "access revoked")
				if got != tc.want {
					e.t.Fatalf("AccessRevoked after until = %v, want %v", got, tc.want)
				}
			}
		}},
		{name: "revocations/invalid-arguments", run: func(e *env) {
			e.is(e.s.RevokeAccess(e.ctx, "", e.clk.Now().Add(time.Hour)), state.ErrInvalid, "empty jti")
			_, err := e.s.AccessRevoked(e.ctx, "", "")
			e.is(err, state.ErrInvalid, "check empty jti")
		}},
	}
}

func sessionTests() []test {
	return []test{
		{name: "sessions/crud", run: func(e *env) {
			h := e.hash("sid")
			now := e.clk.Now()
			s := state.Session{UserID: "u1", TenantID: "t1", Email: "u1@t1.example", CreatedAt: now, ExpiresAt: now.Add(8 * time.Hour)}
			e.is(e.s.CreateSession(e.ctx, h, s, 8*time.Hour), nil, "create")
			e.is(e.s.CreateSession(e.ctx, h, s, 8*time.Hour), state.ErrExists, "create again")
			got, err := e.s.GetSession(e.ctx, h)
			e.is(err, nil, "get")
			sameJSON(e.t, "session", s, got)
			e.is(e.s.DeleteSession(e.ctx, h), nil, "delete")
			_, err = e.s.GetSession(e.ctx, h)
			e.is(err, state.ErrNotFound, "get deleted")
			e.is(e.s.DeleteSession(e.ctx, h), nil, "delete again")
			_, err = e.s.GetSession(e.ctx, e.hash("sid"))
			e.is(err, state.ErrNotFound, "get unknown")
		}},
		{name: "sessions/expire", run: func(e *env) {
			h := e.hash("sid")
			e.is(e.s.CreateSession(e.ctx, h, state.Session{UserID: "u1", TenantID: "t1"}, e.short()), nil, "create")
			e.clk.Advance(e.short() / 2)
			_, err := e.s.GetSession(e.ctx, h)
			e.is(err, nil, "get halfway")
			e.clk.Advance(e.short()/2 + e.short()/10)
			_, err = e.s.GetSession(e.ctx, h)
			e.is(err, state.ErrNotFound, "get expired")
		}},
		{name: "sessions/invalid-arguments", run: func(e *env) {
			e.is(e.s.CreateSession(e.ctx, "", state.Session{}, time.Hour), state.ErrInvalid, "empty hash")
			e.is(e.s.CreateSession(e.ctx, e.hash("sid"), state.Session{}, 0), state.ErrInvalid, "zero ttl")
		}},
	}
}

func consentTests() []test {
	return []test{
		{name: "consents/grant-get-replace-list-revoke", run: func(e *env) {
			u, c1, c2 := e.id("user"), "b-client", "a-client"
			now := e.clk.Now()
			e.is(e.s.GrantConsent(e.ctx, u, c1, []string{"mcp"}, "https://b.example/cb", time.Hour), nil, "grant c1")
			got, err := e.s.GetConsent(e.ctx, u, c1)
			e.is(err, nil, "get")
			if after := e.clk.Now(); got.GrantedAt.Before(now) || got.GrantedAt.After(after) {
				e.t.Fatalf("GrantedAt = %v, want the store's now, in [%v, %v]", got.GrantedAt, now, after)
			}
			granted := got.GrantedAt
			sameJSON(e.t, "consent", state.Consent{ClientID: c1, Scopes: []string{"mcp"}, RedirectURI: "https://b.example/cb", GrantedAt: granted, ExpiresAt: granted.Add(time.Hour)}, got)

			e.is(e.s.GrantConsent(e.ctx, u, c1, []string{"mcp", "crm.write"}, "https://b.example/cb2", 2*time.Hour), nil, "replace c1")
			e.is(e.s.GrantConsent(e.ctx, u, c2, []string{"mcp"}, "https://a.example/cb", time.Hour), nil, "grant c2")
			list, err := e.s.ListConsents(e.ctx, u)
			e.is(err, nil, "list")
			if len(list) != 2 || list[0].ClientID != c2 || list[1].ClientID != c1 {
				e.t.Fatalf("ListConsents = %+v, want [%s %s]", list, c2, c1)
			}
			sameJSON(e.t, "replaced scopes", []string{"mcp", "crm.write"}, list[1].Scopes)
			if list[1].RedirectURI != "https://b.example/cb2" {
				e.t.Fatalf("replaced RedirectURI = %q", list[1].RedirectURI)
			}

			e.is(e.s.RevokeConsent(e.ctx, u, c1), nil, "revoke c1")
			e.is(e.s.RevokeConsent(e.ctx, u, c1), nil, "revoke c1 again")
			_, err = e.s.GetConsent(e.ctx, u, c1)
			e.is(err, state.ErrNotFound, "get revoked")
			list, err = e.s.ListConsents(e.ctx, u)
			e.is(err, nil, "list after revoke")
			if len(list) != 1 || list[0].ClientID != c2 {
				e.t.Fatalf("ListConsents after revoke = %+v", list)
			}
		}},
		{name: "consents/per-user", run: func(e *env) {
			u1, u2 := e.id("user"), e.id("user")
			e.is(e.s.GrantConsent(e.ctx, u1, "c1", []string{"mcp"}, "https://c1.example/cb", time.Hour), nil, "grant")
			_, err := e.s.GetConsent(e.ctx, u2, "c1")
			e.is(err, state.ErrNotFound, "other user")
			list, err := e.s.ListConsents(e.ctx, u2)
			e.is(err, nil, "list other user")
			if len(list) != 0 {
				e.t.Fatalf("other user's list = %+v", list)
			}
		}},
		{name: "consents/expire", run: func(e *env) {
			u := e.id("user")
			e.is(e.s.GrantConsent(e.ctx, u, "short", []string{"mcp"}, "https://s.example/cb", e.short()), nil, "grant short")
			e.is(e.s.GrantConsent(e.ctx, u, "long", []string{"mcp"}, "https://l.example/cb", 10*e.short()), nil, "grant long")
			e.clk.Advance(e.short() + e.short()/10)
			_, err := e.s.GetConsent(e.ctx, u, "short")
			e.is(err, state.ErrNotFound, "get expired")
			list, err := e.s.ListConsents(e.ctx, u)
			e.is(err, nil, "list")
			if len(list) != 1 || list[0].ClientID != "long" {
				e.t.Fatalf("ListConsents = %+v, want only the live one", list)
			}
		}},
		{name: "consents/invalid-arguments", run: func(e *env) {
			e.is(e.s.GrantConsent(e.ctx, "", "c1", nil, "", time.Hour), state.ErrInvalid, "empty user")
			e.is(e.s.GrantConsent(e.ctx, "u", "", nil, "", time.Hour), state.ErrInvalid, "empty client")
			e.is(e.s.GrantConsent(e.ctx, "u", "c1", nil, "", 0), state.ErrInvalid, "zero ttl")
		}},
	}
}

func authRequestTests() []test {
	return []test{
		{name: "authrequests/save-get-take-once", run: func(e *env) {
			h := e.hash("areq")
			r := e.authRequest("c1")
			e.is(e.s.SaveAuthRequest(e.ctx, h, r, 10*time.Minute), nil, "save")
			e.is(e.s.SaveAuthRequest(e.ctx, h, r, 10*time.Minute), state.ErrExists, "save again")
			for range 2 {
				got, err := e.s.GetAuthRequest(e.ctx, h)
				e.is(err, nil, "get")
				sameJSON(e.t, "auth request", r, got)
			}
			got, err := e.s.TakeAuthRequest(e.ctx, h)
			e.is(err, nil, "take")
			sameJSON(e.t, "auth request", r, got)
			_, err = e.s.TakeAuthRequest(e.ctx, h)
			e.is(err, state.ErrNotFound, "take again")
			_, err = e.s.GetAuthRequest(e.ctx, h)
			e.is(err, state.ErrNotFound, "get taken")
		}},
		{name: "authrequests/expire", run: func(e *env) {
			h := e.hash("areq")
			e.is(e.s.SaveAuthRequest(e.ctx, h, e.authRequest("c1"), e.short()), nil, "save")
			e.clk.Advance(e.short() + e.short()/10)
			_, err := e.s.GetAuthRequest(e.ctx, h)
			e.is(err, state.ErrNotFound, "get expired")
			_, err = e.s.TakeAuthRequest(e.ctx, h)
			e.is(err, state.ErrNotFound, "take expired")
		}},
		{name: "authrequests/invalid-arguments", run: func(e *env) {
			e.is(e.s.SaveAuthRequest(e.ctx, "", state.AuthRequest{}, time.Minute), state.ErrInvalid, "empty hash")
			e.is(e.s.SaveAuthRequest(e.ctx, e.hash("areq"), state.AuthRequest{}, 0), state.ErrInvalid, "zero ttl")
		}},
	}
}

func snapshotTests() []test {
	return []test{
		{name: "snapshots/save-get", run: func(e *env) {
			id := e.hash("snap")
			snap := state.Snapshot{TenantID: "t1", UserID: "u1", Kind: "people", IDs: []string{"per_b", "per_a"}, Total: 156, CreatedAt: e.clk.Now().UTC().Truncate(time.Second)}
			e.is(e.s.SaveSnapshot(e.ctx, id, snap, 30*time.Minute), nil, "save")
			e.is(e.s.SaveSnapshot(e.ctx, id, snap, 30*time.Minute), state.ErrExists, "save again")
			got, err := e.s.GetSnapshot(e.ctx, id)
			e.is(err, nil, "get")
			sameJSON(e.t, "snapshot", snap, got)
			got.IDs[0] = "mutated"
			again, _ := e.s.GetSnapshot(e.ctx, id)
			if again.IDs[0] != "per_b" {
				e.t.Fatal("a caller's change reached the stored snapshot")
			}
			_, err = e.s.GetSnapshot(e.ctx, e.hash("other"))
			e.is(err, state.ErrNotFound, "unknown")
		}},
		{name: "snapshots/expire", run: func(e *env) {
			id := e.hash("snap")
			e.is(e.s.SaveSnapshot(e.ctx, id, state.Snapshot{TenantID: "t1", UserID: "u1", IDs: []string{"x"}}, e.short()), nil, "save")
			e.clk.Advance(e.short() + e.short()/10)
			_, err := e.s.GetSnapshot(e.ctx, id)
			e.is(err, state.ErrNotFound, "get expired")
		}},
		{name: "snapshots/invalid-arguments", run: func(e *env) {
			e.is(e.s.SaveSnapshot(e.ctx, "", state.Snapshot{}, time.Minute), state.ErrInvalid, "empty id")
			e.is(e.s.SaveSnapshot(e.ctx, e.hash("snap"), state.Snapshot{}, 0), state.ErrInvalid, "zero ttl")
		}},
	}
}

// hostile are identifiers that would break pattern matching, hash tags or
// line-based protocols if a backend interpolated them carelessly (I-04).
var hostile = []string{"*", "a?b", "[a]", "{tag}", "x}y{z", "}{", "line\r\nbreak", "nul\x00byte", "ünï©ødé", "%00"}

func miscTests() []test {
	return []test{
		{name: "misc/ping", run: func(e *env) {
			e.is(e.s.Ping(e.ctx), nil, "ping")
		}},
		{name: "misc/hostile-identifiers", run: func(e *env) {
			now := e.clk.Now()
			for i, id := range hostile {
				c := e.client(id + e.id(""))
				e.is(e.s.CreateClient(e.ctx, c, clientTTL), nil, "create client")
				got, err := e.s.GetClient(e.ctx, c.ID)
				e.is(err, nil, "get client")
				sameJSON(e.t, "client", c, got)

				e.is(e.s.GrantConsent(e.ctx, id, id, []string{"mcp"}, "https://x.example/cb", time.Hour), nil, "grant consent")
				list, err := e.s.ListConsents(e.ctx, id)
				e.is(err, nil, "list consents")
				if len(list) != 1 || list[0].ClientID != id {
					e.t.Fatalf("hostile id %d: ListConsents = %+v", i, list)
				}
				e.is(e.s.RevokeConsent(e.ctx, id, id), nil, "revoke consent")

				f := e.family(id+e.id(""), id, familyLife)
				rt := e.rts(2)
				e.is(e.s.CreateFamily(e.ctx, f, rt[0]), nil, "create family")
				_, err = e.s.RotateRefresh(e.ctx, rt[0], rt[1], id, now, 0)
				e.is(err, nil, "rotate")
				e.is(e.s.RevokeFamily(e.ctx, f.ID), nil, "revoke family")
				e.revoked(f.ID, true)

				jti := id + e.id("")
				e.is(e.s.RevokeAccess(e.ctx, jti, now.Add(time.Hour)), nil, "revoke access")
				denied, err := e.s.AccessRevoked(e.ctx, jti, id)
				e.is(err, nil, "access revoked")
				if !denied {
					e.t.Fatalf("hostile jti %d not denied", i)
				}
			}
		}},
		{name: "misc/lookups-do-not-create", run: func(e *env) {
			u, fam := e.id("user"), e.id("fam")
			_, _ = e.s.GetConsent(e.ctx, u, "c1")
			_, _ = e.s.ListConsents(e.ctx, u)
			_, _ = e.s.FamilyRevoked(e.ctx, fam)
			_, _ = e.s.AccessRevoked(e.ctx, e.id("jti"), fam)
			e.revoked(fam, false)
		}},
	}
}

func exportTests() []test {
	return []test{
		{name: "exports/save-get", run: func(e *env) {
			id := e.hash("export")
			ex := state.Export{TenantID: "t1", UserID: "u1", CSV: []byte("id,name\r\nper_1,\"'=1+1\"\r\n"), Rows: 1, Reason: "complete", CreatedAt: e.clk.Now().UTC().Truncate(time.Second)}
			e.is(e.s.SaveExport(e.ctx, id, ex, 10*time.Minute), nil, "save")
			e.is(e.s.SaveExport(e.ctx, id, ex, 10*time.Minute), state.ErrExists, "save again")
			got, err := e.s.GetExport(e.ctx, id)
			e.is(err, nil, "get")
			sameJSON(e.t, "export", ex, got)
			got.CSV[0] = 'X'
			again, _ := e.s.GetExport(e.ctx, id)
			if again.CSV[0] != 'i' {
				e.t.Fatal("a caller's change reached the stored export")
			}
			_, err = e.s.GetExport(e.ctx, e.hash("other"))
			e.is(err, state.ErrNotFound, "unknown")
		}},
		{name: "exports/expire", run: func(e *env) {
			id := e.hash("export")
			e.is(e.s.SaveExport(e.ctx, id, state.Export{TenantID: "t1", UserID: "u1", CSV: []byte("a\r\n")}, e.short()), nil, "save")
			e.clk.Advance(e.short() + e.short()/10)
			_, err := e.s.GetExport(e.ctx, id)
			e.is(err, state.ErrNotFound, "get expired")
		}},
		{name: "exports/invalid-arguments", run: func(e *env) {
			e.is(e.s.SaveExport(e.ctx, "", state.Export{}, time.Minute), state.ErrInvalid, "empty id")
			e.is(e.s.SaveExport(e.ctx, e.hash("export"), state.Export{}, 0), state.ErrInvalid, "zero ttl")
			big := state.Export{CSV: make([]byte, state.MaxExportBytes+1)}
			e.is(e.s.SaveExport(e.ctx, e.hash("export"), big, time.Minute), state.ErrInvalid, "too large")
		}},
	}
}
