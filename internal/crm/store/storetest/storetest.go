package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// OpenFunc opens a fresh, migrated store whose clock is now, and closes it
// in t.Cleanup.
type OpenFunc = func(t *testing.T, now func() time.Time) crm.Store

// Run runs the whole conformance suite against the stores open returns.
func Run(t *testing.T, open OpenFunc) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Tenants", tenantTests},
		{"Users", userTests},
		{"People", peopleTests},
		{"Companies", companyTests},
		{"Jobs", jobTests},
		{"SearchPeople", searchPeopleTests},
		{"SearchCompaniesJobs", searchOrgTests},
		{"Pipelines", pipelineTests},
		{"Report", reportTests},
		{"Placements", placementTests},
		{"Notes", noteTests},
		{"Tasks", taskTests},
		{"PersonInfo", infoTests},
		{"Isolation", isolationTests},
		{"References", referenceTests},
		{"Concurrency", concurrencyTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(newEnv(t, open))
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(e *env)
}

// Clock is the fake clock the suite hands to stores: it starts at a whole
// second and ticks one millisecond on every Now, so consecutive times are
// distinct. Safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at start (truncated to the millisecond, in UTC).
func NewClock(start time.Time) *Clock {
	return &Clock{now: start.UTC().Truncate(time.Millisecond)}
}

// Now returns the current time and moves the clock on by a millisecond.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(time.Millisecond)
	return t
}

// Set moves the clock to t (truncated to the millisecond, in UTC).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC().Truncate(time.Millisecond)
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d).Truncate(time.Millisecond)
}

// peek returns the clock's time without ticking.
func (c *Clock) peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// epoch is where every test's clock starts.
var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// env is one test's world: a fresh store, its clock, two tenants with one
// user each.
type env struct {
	t      *testing.T
	ctx    context.Context
	s      crm.Store
	clk    *Clock
	t1, t2 string
	u1, u2 crm.User
	// canary is unique to this test; tenant 2's text carries it.
	canary string
}

func newEnv(t *testing.T, open OpenFunc) *env {
	t.Helper()
	clk := NewClock(epoch)
	e := &env{t: t, ctx: t.Context(), clk: clk, s: open(t, clk.Now)}
	e.canary = "CANARY-T2-" + strings.TrimPrefix(crm.NewID("x"), "x_")
	e.t1 = e.tenant("Agency One")
	e.t2 = e.tenant("Agency Two " + e.canary)
	e.u1 = e.user(e.t1, "recruiter1", crm.RoleRecruiter)
	e.u2 = e.user(e.t2, "recruiter2-"+strings.ToLower(e.canary), crm.RoleRecruiter)
	return e
}

func (e *env) tenant(name string) string {
	e.t.Helper()
	tn, err := e.s.CreateTenant(e.ctx, crm.Tenant{Name: name})
	if err != nil {
		e.t.Fatalf("CreateTenant: %v", err)
	}
	return tn.ID
}

// uniqueEmail returns an email no other test uses.
func uniqueEmail(local string) string {
	return local + "." + strings.TrimPrefix(crm.NewID("x"), "x_") + "@example.test"
}

func (e *env) user(tenantID, local string, role crm.Role) crm.User {
	e.t.Helper()
	u, err := e.s.CreateUser(e.ctx, tenantID, crm.User{Email: uniqueEmail(local), Name: local, Role: role, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA"})
	if err != nil {
		e.t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// must fails the test at once on err.
func (e *env) must(err error, what string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

func (e *env) person(tenantID string, mut func(*crm.Person)) crm.Person {
	e.t.Helper()
	p := crm.Person{Kind: crm.KindCandidate, FirstName: "Ada", LastName: "Lovelace"}
	if mut != nil {
		mut(&p)
	}
	got, err := e.s.CreatePerson(e.ctx, tenantID, p)
	e.must(err, "CreatePerson")
	return got
}

func (e *env) company(tenantID string, mut func(*crm.Company)) crm.Company {
	e.t.Helper()
	c := crm.Company{Name: "Acme"}
	if mut != nil {
		mut(&c)
	}
	got, err := e.s.CreateCompany(e.ctx, tenantID, c)
	e.must(err, "CreateCompany")
	return got
}

func (e *env) job(tenantID, companyID string, mut func(*crm.Job)) crm.Job {
	e.t.Helper()
	j := crm.Job{CompanyID: companyID, Title: "Engineer", Status: crm.JobOpen}
	if mut != nil {
		mut(&j)
	}
	got, err := e.s.CreateJob(e.ctx, tenantID, j)
	e.must(err, "CreateJob")
	return got
}

func (e *env) app(tenantID, jobID, personID string) crm.Application {
	e.t.Helper()
	a, err := e.s.AddToPipeline(e.ctx, tenantID, crm.Application{JobID: jobID, PersonID: personID, OwnerID: e.userOf(tenantID)})
	e.must(err, "AddToPipeline")
	return a
}

func (e *env) move(tenantID, appID string, to crm.Stage, reason string) crm.Application {
	e.t.Helper()
	a, err := e.s.MoveStage(e.ctx, tenantID, appID, to, e.userOf(tenantID), reason)
	e.must(err, fmt.Sprintf("MoveStage to %s", to))
	return a
}

func (e *env) userOf(tenantID string) string {
	if tenantID == e.t2 {
		return e.u2.ID
	}
	return e.u1.ID
}

// wantErr checks that err is the sentinel want (nil for success).
func (e *env) wantErr(err, want error, what string) {
	e.t.Helper()
	switch {
	case want == nil && err != nil:
		e.t.Errorf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		e.t.Errorf("%s: error %v, want %v", what, err, want)
	}
	e.noLeak(err, what)
}

// noLeak checks that an error text carries no canary and no SQL.
func (e *env) noLeak(err error, what string) {
	e.t.Helper()
	if err == nil {
		return
	}
	msg := strings.ToLower(err.Error())
	for _, bad := range []string{
		strings.ToLower(e.canary), "canary", "select ", "insert into", "update people", "delete from", " where ", "sqlstate",
		"sqlite_", "syntax error", "constraint failed", "violates", "no such", "duplicate key",
	} {
		if strings.Contains(msg, bad) {
			e.t.Errorf("%s: error text %q leaks %q", what, err.Error(), bad)
		}
	}
}

// sameMissing checks that a call with a foreign id fails exactly like a
// call with a random id: same sentinel, same text, no id in the text.
func (e *env) sameMissing(what string, want error, call func(id string) error, foreignID, randomID string) {
	e.t.Helper()
	errF, errR := call(foreignID), call(randomID)
	if !errors.Is(errF, want) {
		e.t.Errorf("%s with another tenant's id: error %v, want %v", what, errF, want)
	}
	if !errors.Is(errR, want) {
		e.t.Errorf("%s with a random id: error %v, want %v", what, errR, want)
	}
	if errF != nil && errR != nil {
		if errF.Error() != errR.Error() {
			e.t.Errorf("%s: foreign id error %q differs from random id error %q", what, errF, errR)
		}
		if strings.Contains(errF.Error(), foreignID) || strings.Contains(errR.Error(), randomID) {
			e.t.Errorf("%s: error text echoes the id: %q", what, errF)
		}
	}
	e.noLeak(errF, what)
}

// ---- comparison helpers (no third-party diff: the suite stays dependency-free)

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

func normList(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func normPerson(p crm.Person) crm.Person {
	p.CreatedAt, p.UpdatedAt = normTime(p.CreatedAt), normTime(p.UpdatedAt)
	p.Emails, p.Phones, p.Skills, p.Tags = normList(p.Emails), normList(p.Phones), normList(p.Skills), normList(p.Tags)
	return p
}

func normCompany(c crm.Company) crm.Company {
	c.CreatedAt, c.UpdatedAt = normTime(c.CreatedAt), normTime(c.UpdatedAt)
	return c
}

func normJob(j crm.Job) crm.Job {
	j.CreatedAt, j.UpdatedAt = normTime(j.CreatedAt), normTime(j.UpdatedAt)
	return j
}

func normApp(a crm.Application) crm.Application {
	a.CreatedAt, a.UpdatedAt = normTime(a.CreatedAt), normTime(a.UpdatedAt)
	h := make([]crm.StageChange, len(a.History))
	for i, c := range a.History {
		c.At = normTime(c.At)
		h[i] = c
	}
	if len(h) == 0 {
		h = nil
	}
	a.History = h
	return a
}

func normNote(n crm.Note) crm.Note { n.CreatedAt = normTime(n.CreatedAt); return n }

func normActivity(a crm.Activity) crm.Activity {
	a.CreatedAt, a.OccurredAt = normTime(a.CreatedAt), normTime(a.OccurredAt)
	return a
}

func normTask(t crm.Task) crm.Task {
	t.CreatedAt, t.DueAt, t.CompletedAt = normTime(t.CreatedAt), normTime(t.DueAt), normTime(t.CompletedAt)
	return t
}

func normUser(u crm.User) crm.User { u.CreatedAt = normTime(u.CreatedAt); return u }

// equal reports a mismatch of two values in "(-want +got)" form.
func equal[T any](e *env, what string, want, got T) {
	e.t.Helper()
	if !reflect.DeepEqual(want, got) {
		e.t.Errorf("%s mismatch (-want +got):\n-%+v\n+%+v", what, want, got)
	}
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func personID(p crm.Person) string       { return p.ID }
func companyID(c crm.Company) string     { return c.ID }
func jobID(j crm.Job) string             { return j.ID }
func appID(a crm.Application) string     { return a.ID }
func noteID(n crm.Note) string           { return n.ID }
func activityID(a crm.Activity) string   { return a.ID }
func taskID(t crm.Task) string           { return t.ID }
func userID(u crm.User) string           { return u.ID }
func entryID(x crm.TimelineEntry) string { return x.Kind + ":" + x.ID }

// equalIDs compares id lists (nil and empty are equal).
func equalIDs(e *env, what string, want, got []string) {
	e.t.Helper()
	if !slices.Equal(want, got) {
		e.t.Errorf("%s ids mismatch (-want +got):\n-%v\n+%v", what, want, got)
	}
}

func ptr[T any](v T) *T { return &v }

// randomID returns an id of the right shape that exists nowhere.
func randomID(prefix string) string { return crm.NewID(prefix) }
