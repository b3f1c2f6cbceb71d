package crmtools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/crmtools"
	"github.com/crm-mcp/crm-mcp/internal/state/memory"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// Principals of the tests: two users in tenant T1, one in T2.
var (
	alice = tenant.Principal{TenantID: "tnt_one", UserID: "usr_alice", Email: "alice@one.example", Scopes: []string{"crm:read", "crm:write"}}
	amy   = tenant.Principal{TenantID: "tnt_one", UserID: "usr_amy", Email: "amy@one.example", Scopes: []string{"crm:read"}}
	bob   = tenant.Principal{TenantID: "tnt_two", UserID: "usr_bob", Email: "bob@two.example", Scopes: []string{"crm:read", "crm:write"}}
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t     *testing.T
	clock *clock
	crm   *fakeCRM
	snaps *memory.Store
	logs  *syncBuffer
	deps  crmtools.Deps
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := &env{t: t, clock: c, crm: newFakeCRM(c.Now), logs: &syncBuffer{}}
	e.snaps = memory.New(memory.Options{Now: c.Now})
	e.crm.addTenant(alice.TenantID, "One Talent",
		api.UserInfo{ID: alice.UserID, Email: alice.Email, Name: "Alice Archer", Role: crm.RoleRecruiter},
		api.UserInfo{ID: amy.UserID, Email: amy.Email, Name: "Amy Adams", Role: crm.RoleViewer})
	e.crm.addTenant(bob.TenantID, "Two Recruiting",
		api.UserInfo{ID: bob.UserID, Email: bob.Email, Name: "Bob Baker", Role: crm.RoleRecruiter})
	e.deps = crmtools.Deps{
		CRM: e.crm, Snapshots: e.snaps, Now: c.Now,
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return e
}

// session connects a client to a fresh server that serves every request
// as p (nil: no principal), as the bearer middleware would.
func (e *env) session(p *tenant.Principal) *mcp.ClientSession {
	e.t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "crm-mcp-test", Version: "test"}, nil)
	crmtools.Register(s, e.deps)
	if p != nil {
		principal := *p
		s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
			return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
				return next(tenant.WithPrincipal(ctx, principal), method, req)
			}
		})
	}
	ct, st := mcp.NewInMemoryTransports()
	ctx := e.t.Context()
	ss, err := s.Connect(ctx, st, nil)
	if err != nil {
		e.t.Fatalf("server connect: %v", err)
	}
	e.t.Cleanup(func() { _ = ss.Close() })
	c := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "test"}, nil)
	cs, err := c.Connect(ctx, ct, nil)
	if err != nil {
		e.t.Fatalf("client connect: %v", err)
	}
	e.t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// res is a tool result as a model sees it.
type res struct {
	IsError bool
	Text    string
	Data    map[string]any
	Raw     string // structuredContent as JSON
}

func call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) res {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	r, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	var out res
	out.IsError = r.IsError
	if len(r.Content) != 1 {
		t.Fatalf("%s: %d content items, want 1", name, len(r.Content))
	}
	tc, ok := r.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("%s: content is %T, want text", name, r.Content[0])
	}
	out.Text = tc.Text
	if r.StructuredContent != nil {
		b, err := json.Marshal(r.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		out.Raw = string(b)
		if err := json.Unmarshal(b, &out.Data); err != nil {
			t.Fatalf("%s: structuredContent: %v", name, err)
		}
	}
	return out
}

func mustOK(t *testing.T, r res, name string) res {
	t.Helper()
	if r.IsError {
		t.Fatalf("%s: unexpected error result:\n%s", name, r.Text)
	}
	return r
}

var (
	openRE  = regexp.MustCompile(`<tool-data nonce="([0-9a-f]{32})">\n`)
	closeRE = regexp.MustCompile(`\n</tool-data nonce="([0-9a-f]{32})">\n`)
	hexRE   = regexp.MustCompile(`[0-9a-f]{32}`)
)

// checkFenced asserts that text is exactly one boundary: opening tag,
// body, closing tag with the same nonce, and the notice, with no other
// boundary-looking tag inside. It returns the body.
func checkFenced(t *testing.T, name, text string) string {
	t.Helper()
	o := openRE.FindAllStringSubmatchIndex(text, -1)
	c := closeRE.FindAllStringSubmatchIndex(text, -1)
	if len(o) != 1 || len(c) != 1 || o[0][0] != 0 {
		t.Fatalf("%s: want exactly one boundary at the start, got %d openings, %d closings:\n%s", name, len(o), len(c), text)
	}
	nonceO, nonceC := text[o[0][2]:o[0][3]], text[c[0][2]:c[0][3]]
	if nonceO != nonceC {
		t.Fatalf("%s: nonces differ", name)
	}
	body := text[o[0][1]:c[0][0]]
	for _, bad := range []string{"<tool-data", "</tool-data"} {
		if strings.Contains(strings.ToLower(body), bad) {
			t.Fatalf("%s: body contains %q:\n%s", name, bad, body)
		}
	}
	rest := text[c[0][1]:]
	if !strings.HasPrefix(rest, "The content between the tool-data tags with nonce "+nonceO) {
		t.Fatalf("%s: notice missing after the boundary: %q", name, rest)
	}
	return body
}

// normalise replaces nonces and request ids, for comparing answers.
func normalise(s string) string {
	s = hexRE.ReplaceAllString(s, "N")
	return regexp.MustCompile(`request id [0-9a-f]+`).ReplaceAllString(s, "request id R")
}

// seeding helpers: write straight into the fake.

func (e *env) tenantOf(p tenant.Principal) *fakeTenant {
	e.crm.mu.Lock()
	defer e.crm.mu.Unlock()
	return e.crm.tenants[p.TenantID]
}

func (e *env) addPerson(p tenant.Principal, v crm.Person) crm.Person {
	if v.Kind == "" {
		v.Kind = crm.KindCandidate
	}
	ctx := tenant.WithPrincipal(e.t.Context(), p)
	got, err := e.crm.CreatePerson(ctx, v)
	if err != nil {
		e.t.Fatalf("seed person: %v", err)
	}
	return got
}

func (e *env) addCompany(p tenant.Principal, v crm.Company) crm.Company {
	got, err := e.crm.CreateCompany(tenant.WithPrincipal(e.t.Context(), p), v)
	if err != nil {
		e.t.Fatalf("seed company: %v", err)
	}
	return got
}

func (e *env) addJob(p tenant.Principal, v crm.Job) crm.Job {
	if v.Status == "" {
		v.Status = crm.JobOpen
	}
	got, err := e.crm.CreateJob(tenant.WithPrincipal(e.t.Context(), p), v)
	if err != nil {
		e.t.Fatalf("seed job: %v", err)
	}
	return got
}

func (e *env) ctx(p tenant.Principal) context.Context { return tenant.WithPrincipal(e.t.Context(), p) }

// world is one tenant's seeded records.
type world struct {
	person, contact crm.Person
	company         crm.Company
	job             crm.Job
	app             crm.Application
	task            crm.Task
	note            crm.Note
}

// seedWorld fills p's tenant with one of everything, every text field
// carrying text (e.g. a canary).
func (e *env) seedWorld(p tenant.Principal, text string) world {
	e.t.Helper()
	ctx := e.ctx(p)
	var w world
	w.company = e.addCompany(p, crm.Company{Name: text + " Corp", Domain: text + ".example", Industry: text, Location: text, Size: text, Description: text})
	w.person = e.addPerson(p, crm.Person{
		FirstName: text, LastName: text, Headline: text, Emails: []string{text + "@x.example"}, Phones: []string{text},
		Location: text, CurrentTitle: text, CurrentCompany: text, Skills: []string{text}, Source: text, Tags: []string{text},
	})
	w.contact = e.addPerson(p, crm.Person{Kind: crm.KindContact, FirstName: text + " Contact", CompanyID: w.company.ID})
	w.job = e.addJob(p, crm.Job{CompanyID: w.company.ID, Title: text + " Engineer", Location: text, Description: text, Currency: "EUR"})
	var err error
	if w.app, err = e.crm.AddToPipeline(ctx, crm.Application{JobID: w.job.ID, PersonID: w.person.ID, Stage: crm.StageSourced}); err != nil {
		e.t.Fatal(err)
	}
	if w.note, err = e.crm.AddNote(ctx, crm.Note{PersonID: w.person.ID, Body: text}); err != nil {
		e.t.Fatal(err)
	}
	for _, n := range []crm.Note{{CompanyID: w.company.ID, Body: text}, {JobID: w.job.ID, Body: text}} {
		if _, err := e.crm.AddNote(ctx, n); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.crm.LogActivity(ctx, crm.Activity{Kind: crm.ActivityCall, PersonID: w.person.ID, Summary: text, OccurredAt: e.clock.Now()}); err != nil {
		e.t.Fatal(err)
	}
	if w.task, err = e.crm.CreateTask(ctx, crm.Task{Title: text, AssigneeID: p.UserID, PersonID: w.person.ID, DueAt: e.clock.Now().Add(48 * time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
	return w
}
