package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// The canaries of TestErrorPathsLeakNothing. Each is a string that must
// never reach a response or a log line.
const (
	canaryUpstream = "CANARY-UPSTREAM-7f3a" // in store errors and panics
	canaryArgument = "CANARY-ARGUMENT-91bd" // in tool arguments
	canaryData     = "CANARY-DATA-c2e8"     // in another tenant's records
	canaryTool     = "CANARY-TOOLPANIC-4d0e"
)

// faultStore is the real CRM store with faults injected into the methods
// the tools below use. Modes: "" (pass through), "error" (an error whose
// message reads like a driver's, with SQL and the canary), "unavailable"
// and "invalid" (the crm sentinels wrapped with a canary detail), "panic".
type faultStore struct {
	crm.Store
	mu   sync.Mutex
	mode string
}

func (f *faultStore) set(mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = mode
}

func (f *faultStore) fault() error {
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	switch mode {
	case "error":
		return fmt.Errorf(`ERROR: duplicate key value violates unique constraint "people_pkey" (SQLSTATE 23505): INSERT INTO people VALUES ('%s')`, canaryUpstream)
	case "unavailable":
		return fmt.Errorf("dial tcp 10.9.8.7:5432 (%s): %w", canaryUpstream, crm.ErrUnavailable)
	case "invalid":
		return fmt.Errorf("%w: first name %q is reserved", crm.ErrInvalid, canaryUpstream)
	case "panic":
		panic("store exploded on " + canaryUpstream)
	}
	return nil
}

func (f *faultStore) GetPerson(ctx context.Context, tenantID, id string) (crm.Person, error) {
	if err := f.fault(); err != nil {
		return crm.Person{}, err
	}
	return f.Store.GetPerson(ctx, tenantID, id)
}

func (f *faultStore) SearchPeople(ctx context.Context, tenantID string, q crm.PeopleQuery) (crm.SearchResult, error) {
	if err := f.fault(); err != nil {
		return crm.SearchResult{}, err
	}
	return f.Store.SearchPeople(ctx, tenantID, q)
}

func (f *faultStore) CreatePerson(ctx context.Context, tenantID string, p crm.Person) (crm.Person, error) {
	if err := f.fault(); err != nil {
		return crm.Person{}, err
	}
	return f.Store.CreatePerson(ctx, tenantID, p)
}

func (f *faultStore) UpdatePerson(ctx context.Context, tenantID, id string, p crm.PersonPatch) (crm.Person, error) {
	if err := f.fault(); err != nil {
		return crm.Person{}, err
	}
	return f.Store.UpdatePerson(ctx, tenantID, id, p)
}

func (f *faultStore) AddNote(ctx context.Context, tenantID string, n crm.Note) (crm.Note, error) {
	if err := f.fault(); err != nil {
		return crm.Note{}, err
	}
	return f.Store.AddNote(ctx, tenantID, n)
}

func (f *faultStore) GetCompany(ctx context.Context, tenantID, id string) (crm.Company, error) {
	if err := f.fault(); err != nil {
		return crm.Company{}, err
	}
	return f.Store.GetCompany(ctx, tenantID, id)
}

func (f *faultStore) JobPipeline(ctx context.Context, tenantID, jobID string) ([]crm.Application, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.JobPipeline(ctx, tenantID, jobID)
}

func (f *faultStore) MoveStage(ctx context.Context, tenantID, id string, to crm.Stage, userID, reason string) (crm.Application, error) {
	if err := f.fault(); err != nil {
		return crm.Application{}, err
	}
	return f.Store.MoveStage(ctx, tenantID, id, to, userID, reason)
}

func (f *faultStore) ListTasks(ctx context.Context, tenantID string, q crm.TaskQuery) ([]crm.Task, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.ListTasks(ctx, tenantID, q)
}

func (f *faultStore) ListUsers(ctx context.Context, tenantID string) ([]crm.User, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.ListUsers(ctx, tenantID)
}

// TestErrorPathsLeakNothing drives every error class through the whole
// stack (bearer → tool → service token → CRM API → store): store errors
// that carry SQL and a canary, unavailable and invalid errors with canary
// details, a panic in the store (inside the CRM API) and a panic inside a
// tool, with canaries in the arguments and in another tenant's records.
// No canary, stack trace or SQL may appear in any response or log line;
// each failure is a tool error with the generic message and the request
// id, and the server keeps serving.
func TestErrorPathsLeakNothing(t *testing.T) {
	fs := &faultStore{}
	ts := startServer(t, nil, func(o *app.Options) {
		o.WrapCRMStore = func(s crm.Store) crm.Store { fs.Store = s; return fs }
		register := o.Register
		o.Register = func(s *mcp.Server) {
			register(s)
			mcp.AddTool(s, &mcp.Tool{Name: "explode", Description: "Panic."},
				func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, struct{}, error) {
					panic("tool exploded on " + canaryTool)
				})
		}
	})
	ctx := t.Context()
	const tnt, other = "tnt_acme", "tnt_globex"
	alice := mintTokenFor(t, ts, "usr_acme_alice", tnt, "crm:read", "crm:write")

	// Records to act on, from the real store; another tenant's person
	// carries the data canary.
	people, err := fs.Store.SearchPeople(ctx, tnt, crm.PeopleQuery{})
	if err != nil || len(people.IDs) == 0 {
		t.Fatalf("seeded people: %v %v", people, err)
	}
	personID := people.IDs[0]
	jobs, err := fs.Store.SearchJobs(ctx, tnt, crm.JobQuery{})
	if err != nil || len(jobs.IDs) == 0 {
		t.Fatalf("seeded jobs: %v %v", jobs, err)
	}
	jobID := jobs.IDs[0]
	job, err := fs.Store.GetJob(ctx, tnt, jobID)
	if err != nil {
		t.Fatal(err)
	}
	app, err := fs.Store.AddToPipeline(ctx, tnt, crm.Application{JobID: jobID, PersonID: mustNewPerson(t, fs.Store, tnt, "Pat").ID, OwnerID: "usr_acme_alice"})
	if err != nil {
		t.Fatal(err)
	}
	foreign := mustNewPerson(t, fs.Store, other, canaryData)

	calls := []struct{ tool, args string }{
		{"getPersonInfo", `{"personId":"` + personID + `"}`},
		{"getPersonInfo", `{"personId":"` + foreign.ID + `"}`},
		{"searchPeople", `{"query":"` + canaryArgument + `"}`},
		{"createPerson", `{"firstName":"` + canaryArgument + `","kind":"candidate"}`},
		{"updatePerson", `{"personId":"` + personID + `","headline":"` + canaryArgument + `"}`},
		{"addNote", `{"personId":"` + personID + `","body":"` + canaryArgument + `"}`},
		{"getCompanyInfo", `{"companyId":"` + job.CompanyID + `"}`},
		{"getPipeline", `{"jobId":"` + jobID + `"}`},
		{"moveStage", `{"applicationId":"` + app.ID + `","stage":"screening"}`},
		{"listTasks", `{}`},
		{"listTeam", `{}`},
	}
	leaks := []string{canaryUpstream, canaryArgument, canaryData, canaryTool, "SQLSTATE", "INSERT INTO", "goroutine ", ".go:", "10.9.8.7"}
	checkClean := func(t *testing.T, what, s string) {
		t.Helper()
		for _, l := range leaks {
			if strings.Contains(s, l) {
				t.Errorf("%s leaks %q:\n%s", what, l, s)
			}
		}
	}
	for _, mode := range []string{"error", "unavailable", "invalid", "panic"} {
		t.Run(mode, func(t *testing.T) {
			fs.set(mode)
			defer fs.set("")
			for _, c := range calls {
				resp := ts.postAuth(t, alice, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"`+c.tool+`","arguments":`+c.args+`}}`)
				checkClean(t, c.tool+" response", string(resp.body))
				if resp.status != 200 {
					t.Errorf("%s: status %d: %s", c.tool, resp.status, resp.body)
					continue
				}
				var tr toolResult
				if err := json.Unmarshal(resp.rpc(t).Result, &tr); err != nil || !tr.IsError || len(tr.Content) != 1 {
					t.Errorf("%s: want a tool error, got %s", c.tool, resp.body)
					continue
				}
				text := tr.Content[0].Text
				// The generic message of an unexpected failure; an invalid
				// input the model can fix has the tool's own hint instead
				// (reads whose input the model did not choose keep the
				// generic one).
				if !strings.Contains(text, "request id") && !(mode == "invalid" && strings.Contains(text, "The input was not accepted")) {
					t.Errorf("%s (%s): neither the generic message nor an input hint: %s", c.tool, mode, text)
				}
			}
		})
	}

	// A panic inside a tool handler.
	resp := ts.postAuth(t, alice, `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"explode","arguments":{}}}`)
	checkClean(t, "explode response", string(resp.body))
	var tr toolResult
	if err := json.Unmarshal(resp.rpc(t).Result, &tr); err != nil || !tr.IsError || len(tr.Content) != 1 || !strings.Contains(tr.Content[0].Text, "internal error (request id ") {
		t.Errorf("a panicking tool: %s", resp.body)
	}

	// The server still serves, and another tenant's record is not found.
	if r := callTool(t, ts, alice, "getPersonInfo", `{"personId":"`+personID+`"}`); r.IsError {
		t.Errorf("getPersonInfo after the faults: %+v", r)
	}
	r := callTool(t, ts, alice, "getPersonInfo", `{"personId":"`+foreign.ID+`"}`)
	if !r.IsError || !strings.Contains(r.Content[0].Text, "No person") {
		t.Errorf("another tenant's person: %+v", r)
	}
	checkClean(t, "foreign id response", r.Content[0].Text+string(r.StructuredContent))

	logs := ts.logs.String()
	for _, line := range strings.Split(logs, "\n") {
		checkClean(t, "log line", line)
	}
	// The failures were logged, by class.
	for _, want := range []string{`"msg":"crm api panic"`, `"msg":"mcp handler panic"`, `"tool":"explode"`, `"panic_type":"string"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

func mustNewPerson(t *testing.T, st crm.Store, tenantID, name string) crm.Person {
	t.Helper()
	p, err := st.CreatePerson(t.Context(), tenantID, crm.Person{Kind: crm.KindCandidate, FirstName: name, LastName: "Doe"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
