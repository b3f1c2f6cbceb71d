package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// fakeSink is an in-memory Sink that enforces the parts of the crm.Store
// contract the generator relies on: Validate, tenant match, references to
// records of this run, pipeline uniqueness, legal stage moves. It can
// record a transcript of every call.
type fakeSink struct {
	tenantID string
	users    map[string]crm.Role
	seqIDs   bool // deterministic ids instead of crm.NewID
	record   bool
	n        int
	clock    time.Time // stamps stage changes, like a store's Options.Now

	companies map[string]crm.Company
	people    map[string]crm.Person
	jobs      map[string]crm.Job
	apps      map[string]*crm.Application
	inPipe    map[[2]string]bool
	notes     []crm.Note
	acts      []crm.Activity
	tasks     map[string]*crm.Task

	// order of creation
	personIDs, companyIDs, jobIDs, appIDs, taskIDs []string

	calls map[string]int
	log   bytes.Buffer
	label map[string]string // id -> "per#12", for the normalised transcript
}

func newFake(tenantID string, users []crm.User) *fakeSink {
	f := &fakeSink{
		tenantID: tenantID, users: map[string]crm.Role{},
		companies: map[string]crm.Company{}, people: map[string]crm.Person{}, jobs: map[string]crm.Job{},
		apps: map[string]*crm.Application{}, inPipe: map[[2]string]bool{}, tasks: map[string]*crm.Task{},
		calls: map[string]int{}, label: map[string]string{},
	}
	for _, u := range users {
		f.users[u.ID] = u.Role
	}
	return f
}

func (f *fakeSink) newID(prefix string) string {
	f.n++
	var id string
	if f.seqIDs {
		id = fmt.Sprintf("%s_%026d", prefix, f.n)
	} else {
		id = crm.NewID(prefix)
	}
	f.label[id] = fmt.Sprintf("%s#%d", prefix, f.n)
	return id
}

var idPattern = regexp.MustCompile(`\b[a-z]{3}_[a-z0-9]{26}\b`)

// transcript returns the call log; normalised, every id the sink issued is
// replaced by its creation label, so runs with random ids compare equal.
func (f *fakeSink) transcript(normalised bool) []byte {
	if !normalised {
		return f.log.Bytes()
	}
	return idPattern.ReplaceAllFunc(f.log.Bytes(), func(b []byte) []byte {
		if l, ok := f.label[string(b)]; ok {
			return []byte(l)
		}
		return b
	})
}

func (f *fakeSink) note(method string, args ...any) {
	f.calls[method]++
	if !f.record {
		return
	}
	f.log.WriteString(method)
	for _, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			panic(err)
		}
		f.log.WriteByte(' ')
		f.log.Write(b)
	}
	f.log.WriteByte('\n')
}

func (f *fakeSink) checkTenant(tenantID, recTenant string) error {
	if tenantID != f.tenantID || (recTenant != "" && recTenant != tenantID) {
		return fmt.Errorf("%w: tenant %q / record tenant %q, sink serves %q", crm.ErrInvalid, tenantID, recTenant, f.tenantID)
	}
	return nil
}

func (f *fakeSink) checkUser(id string, writer bool) error {
	role, ok := f.users[id]
	if !ok {
		return fmt.Errorf("%w: unknown user %q", crm.ErrInvalid, id)
	}
	if writer && role == crm.RoleViewer {
		return fmt.Errorf("%w: viewer %q cannot own records", crm.ErrInvalid, id)
	}
	return nil
}

func (f *fakeSink) CreateCompany(_ context.Context, tenantID string, c crm.Company) (crm.Company, error) {
	f.note("CreateCompany", tenantID, c)
	if err := f.checkTenant(tenantID, c.TenantID); err != nil {
		return crm.Company{}, err
	}
	if err := c.Validate(); err != nil {
		return crm.Company{}, err
	}
	if err := f.checkUser(c.OwnerID, true); err != nil {
		return crm.Company{}, err
	}
	c.ID, c.TenantID = f.newID("cmp"), tenantID
	f.companies[c.ID] = c
	f.companyIDs = append(f.companyIDs, c.ID)
	return c, nil
}

func (f *fakeSink) CreatePerson(_ context.Context, tenantID string, p crm.Person) (crm.Person, error) {
	f.note("CreatePerson", tenantID, p)
	if err := f.checkTenant(tenantID, p.TenantID); err != nil {
		return crm.Person{}, err
	}
	if err := p.Validate(); err != nil {
		return crm.Person{}, err
	}
	if err := f.checkUser(p.OwnerID, true); err != nil {
		return crm.Person{}, err
	}
	if p.CompanyID != "" {
		if _, ok := f.companies[p.CompanyID]; !ok {
			return crm.Person{}, fmt.Errorf("%w: unknown company %q", crm.ErrInvalid, p.CompanyID)
		}
	}
	p.ID, p.TenantID = f.newID("per"), tenantID
	f.people[p.ID] = p
	f.personIDs = append(f.personIDs, p.ID)
	return p, nil
}

func (f *fakeSink) CreateJob(_ context.Context, tenantID string, j crm.Job) (crm.Job, error) {
	f.note("CreateJob", tenantID, j)
	if err := f.checkTenant(tenantID, j.TenantID); err != nil {
		return crm.Job{}, err
	}
	if err := j.Validate(); err != nil {
		return crm.Job{}, err
	}
	if err := f.checkUser(j.OwnerID, true); err != nil {
		return crm.Job{}, err
	}
	if _, ok := f.companies[j.CompanyID]; !ok {
		return crm.Job{}, fmt.Errorf("%w: unknown company %q", crm.ErrInvalid, j.CompanyID)
	}
	if j.HiringManagerID != "" {
		hm, ok := f.people[j.HiringManagerID]
		if !ok || hm.Kind != crm.KindContact || hm.CompanyID != j.CompanyID {
			return crm.Job{}, fmt.Errorf("%w: hiring manager %q is not a contact at the job's company", crm.ErrInvalid, j.HiringManagerID)
		}
	}
	j.ID, j.TenantID = f.newID("job"), tenantID
	f.jobs[j.ID] = j
	f.jobIDs = append(f.jobIDs, j.ID)
	return j, nil
}

func (f *fakeSink) AddToPipeline(_ context.Context, tenantID string, a crm.Application) (crm.Application, error) {
	f.note("AddToPipeline", tenantID, a)
	if err := f.checkTenant(tenantID, a.TenantID); err != nil {
		return crm.Application{}, err
	}
	if _, ok := f.jobs[a.JobID]; !ok {
		return crm.Application{}, fmt.Errorf("%w: unknown job %q", crm.ErrInvalid, a.JobID)
	}
	if p, ok := f.people[a.PersonID]; !ok || p.Kind != crm.KindCandidate {
		return crm.Application{}, fmt.Errorf("%w: %q is not a candidate of this run", crm.ErrInvalid, a.PersonID)
	}
	if err := f.checkUser(a.OwnerID, true); err != nil {
		return crm.Application{}, err
	}
	if a.Stage == "" {
		a.Stage = crm.StageSourced
	}
	if !crm.ValidStage(a.Stage) {
		return crm.Application{}, fmt.Errorf("%w: stage %q", crm.ErrInvalid, a.Stage)
	}
	key := [2]string{a.JobID, a.PersonID}
	if f.inPipe[key] {
		return crm.Application{}, crm.ErrConflict
	}
	f.inPipe[key] = true
	a.ID, a.TenantID = f.newID("app"), tenantID
	a.History = []crm.StageChange{{To: a.Stage, UserID: a.OwnerID, At: f.clock}}
	f.apps[a.ID] = &a
	f.appIDs = append(f.appIDs, a.ID)
	return a, nil
}

func (f *fakeSink) MoveStage(_ context.Context, tenantID, applicationID string, to crm.Stage, userID, reason string) (crm.Application, error) {
	f.note("MoveStage", tenantID, applicationID, to, userID, reason)
	if err := f.checkTenant(tenantID, ""); err != nil {
		return crm.Application{}, err
	}
	a, ok := f.apps[applicationID]
	if !ok {
		return crm.Application{}, crm.ErrNotFound
	}
	if err := f.checkUser(userID, true); err != nil {
		return crm.Application{}, err
	}
	if !crm.CanMove(a.Stage, to) {
		return crm.Application{}, fmt.Errorf("%w: %s -> %s", crm.ErrInvalid, a.Stage, to)
	}
	if to == crm.StageRejected && reason == "" {
		return crm.Application{}, fmt.Errorf("%w: reason required", crm.ErrInvalid)
	}
	a.History = append(a.History, crm.StageChange{From: a.Stage, To: to, UserID: userID, Reason: reason, At: f.clock})
	a.Stage = to
	if to == crm.StageRejected {
		a.RejectReason = reason
	} else {
		a.RejectReason = ""
	}
	return *a, nil
}

func (f *fakeSink) subjectOK(personID, companyID, jobID string) error {
	if personID != "" {
		if _, ok := f.people[personID]; !ok {
			return fmt.Errorf("%w: unknown person %q", crm.ErrInvalid, personID)
		}
	}
	if companyID != "" {
		if _, ok := f.companies[companyID]; !ok {
			return fmt.Errorf("%w: unknown company %q", crm.ErrInvalid, companyID)
		}
	}
	if jobID != "" {
		if _, ok := f.jobs[jobID]; !ok {
			return fmt.Errorf("%w: unknown job %q", crm.ErrInvalid, jobID)
		}
	}
	return nil
}

func (f *fakeSink) AddNote(_ context.Context, tenantID string, n crm.Note) (crm.Note, error) {
	f.note("AddNote", tenantID, n)
	if err := f.checkTenant(tenantID, n.TenantID); err != nil {
		return crm.Note{}, err
	}
	if err := n.Validate(); err != nil {
		return crm.Note{}, err
	}
	if err := f.subjectOK(n.PersonID, n.CompanyID, n.JobID); err != nil {
		return crm.Note{}, err
	}
	if err := f.checkUser(n.AuthorID, true); err != nil {
		return crm.Note{}, err
	}
	n.ID, n.TenantID = f.newID("not"), tenantID
	f.notes = append(f.notes, n)
	return n, nil
}

func (f *fakeSink) LogActivity(_ context.Context, tenantID string, a crm.Activity) (crm.Activity, error) {
	f.note("LogActivity", tenantID, a)
	if err := f.checkTenant(tenantID, a.TenantID); err != nil {
		return crm.Activity{}, err
	}
	if err := a.Validate(); err != nil {
		return crm.Activity{}, err
	}
	if err := f.subjectOK(a.PersonID, "", a.JobID); err != nil {
		return crm.Activity{}, err
	}
	if err := f.checkUser(a.UserID, true); err != nil {
		return crm.Activity{}, err
	}
	a.ID, a.TenantID = f.newID("act"), tenantID
	f.acts = append(f.acts, a)
	return a, nil
}

func (f *fakeSink) CreateTask(_ context.Context, tenantID string, t crm.Task) (crm.Task, error) {
	f.note("CreateTask", tenantID, t)
	if err := f.checkTenant(tenantID, t.TenantID); err != nil {
		return crm.Task{}, err
	}
	if err := t.Validate(); err != nil {
		return crm.Task{}, err
	}
	if err := f.subjectOK(t.PersonID, "", t.JobID); err != nil {
		return crm.Task{}, err
	}
	if err := f.checkUser(t.AssigneeID, true); err != nil {
		return crm.Task{}, err
	}
	t.ID, t.TenantID = f.newID("tsk"), tenantID
	f.tasks[t.ID] = &t
	f.taskIDs = append(f.taskIDs, t.ID)
	return t, nil
}

func (f *fakeSink) CompleteTask(_ context.Context, tenantID, id, userID string) (crm.Task, error) {
	f.note("CompleteTask", tenantID, id, userID)
	if err := f.checkTenant(tenantID, ""); err != nil {
		return crm.Task{}, err
	}
	t, ok := f.tasks[id]
	if !ok {
		return crm.Task{}, crm.ErrNotFound
	}
	if err := f.checkUser(userID, true); err != nil {
		return crm.Task{}, err
	}
	if t.Done {
		return crm.Task{}, fmt.Errorf("%w: already done", crm.ErrInvalid)
	}
	t.Done = true
	return *t, nil
}
