package crmtools_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/crmtools"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// fakeCRM is an in-memory CRM that behaves like the API client: the
// tenant comes from the principal in ctx (as the real one's service token
// does), another tenant's id is crm.ErrNotFound like an unknown one, and
// references to records outside the tenant are crm.ErrInvalid. It keeps
// only what the tools need; searches match every word of Text in name,
// headline, titles, companies and skills.
type fakeCRM struct {
	mu      sync.Mutex
	now     func() time.Time
	tenants map[string]*fakeTenant
	// faults: method name → error to return, or value to panic with.
	fail   map[string]error
	panics map[string]any
}

type fakeTenant struct {
	name      string
	users     []api.UserInfo
	people    map[string]crm.Person
	companies map[string]crm.Company
	jobs      map[string]crm.Job
	apps      map[string]crm.Application
	notes     []crm.Note
	acts      []crm.Activity
	tasks     map[string]crm.Task
	plcs      []crm.Placement // oldest first
}

var _ crmtools.CRM = (*fakeCRM)(nil)

func newFakeCRM(now func() time.Time) *fakeCRM {
	return &fakeCRM{now: now, tenants: map[string]*fakeTenant{}, fail: map[string]error{}, panics: map[string]any{}}
}

func (f *fakeCRM) addTenant(id, name string, users ...api.UserInfo) *fakeTenant {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTenant{
		name: name, users: users, people: map[string]crm.Person{}, companies: map[string]crm.Company{},
		jobs: map[string]crm.Job{}, apps: map[string]crm.Application{}, tasks: map[string]crm.Task{},
	}
	f.tenants[id] = t
	return t
}

func (f *fakeCRM) setFail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}

func (f *fakeCRM) clearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.fail)
	clear(f.panics)
}

func (f *fakeCRM) setPanic(method string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.panics[method] = v
}

// begin locks f and returns the caller's tenant. The caller must unlock.
func (f *fakeCRM) begin(ctx context.Context, method string) (*fakeTenant, string, error) {
	p, ok := tenant.FromContext(ctx)
	f.mu.Lock()
	if v, ok := f.panics[method]; ok {
		f.mu.Unlock()
		panic(v)
	}
	if err := f.fail[method]; err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", api.ErrUnauthorized
	}
	t := f.tenants[p.TenantID]
	if t == nil {
		return nil, "", api.ErrUnauthorized
	}
	return t, p.UserID, nil
}

func (f *fakeCRM) stamp() time.Time { return f.now().UTC() }

// People.

func (f *fakeCRM) CreatePerson(ctx context.Context, p crm.Person) (crm.Person, error) {
	t, uid, err := f.begin(ctx, "CreatePerson")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Person{}, err
	}
	if err := p.Validate(); err != nil {
		return crm.Person{}, err
	}
	if p.CompanyID != "" {
		if _, ok := t.companies[p.CompanyID]; !ok {
			return crm.Person{}, crm.ErrInvalid
		}
	}
	p.ID, p.TenantID, p.CreatedAt, p.UpdatedAt = crm.NewID("per"), "", f.stamp(), f.stamp()
	if p.OwnerID == "" {
		p.OwnerID = uid
	}
	t.people[p.ID] = p
	return p, nil
}

func (f *fakeCRM) GetPerson(ctx context.Context, id string) (crm.Person, error) {
	t, _, err := f.begin(ctx, "GetPerson")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Person{}, err
	}
	p, ok := t.people[id]
	if !ok {
		return crm.Person{}, crm.ErrNotFound
	}
	return p, nil
}

// PersonInfo aggregates like the CRM API does, with crm.LoadPersonInfo
// over the fake's own methods, so faults planted in those (GetPerson,
// PersonApplications, ...) surface here too.
func (f *fakeCRM) PersonInfo(ctx context.Context, id string, lim crm.InfoLimits) (crm.PersonInfo, error) {
	if _, _, err := f.begin(ctx, "PersonInfo"); err != nil {
		f.mu.Unlock()
		return crm.PersonInfo{}, err
	}
	f.mu.Unlock()
	return crm.LoadPersonInfo(ctx, fakeReader{f}, "", id, lim)
}

// fakeReader adapts the fake to crm.PersonInfoReader: the tenant comes
// from ctx, as with the API client, so the tenant argument is ignored.
type fakeReader struct{ f *fakeCRM }

func (r fakeReader) GetPerson(ctx context.Context, _, id string) (crm.Person, error) {
	return r.f.GetPerson(ctx, id)
}
func (r fakeReader) PersonApplications(ctx context.Context, _, id string) ([]crm.Application, error) {
	return r.f.PersonApplications(ctx, id)
}
func (r fakeReader) GetJobs(ctx context.Context, _ string, ids []string) ([]crm.Job, error) {
	return r.f.GetJobs(ctx, ids)
}
func (r fakeReader) RecentNotes(ctx context.Context, _ string, s crm.Subject, limit int) ([]crm.Note, error) {
	return r.f.RecentNotes(ctx, s, limit)
}
func (r fakeReader) RecentActivities(ctx context.Context, _, id string, limit int) ([]crm.Activity, error) {
	return r.f.RecentActivities(ctx, id, limit)
}
func (r fakeReader) ListTasks(ctx context.Context, _ string, q crm.TaskQuery) ([]crm.Task, error) {
	return r.f.ListTasks(ctx, q)
}
func (r fakeReader) Placements(ctx context.Context, _ string, q crm.PlacementQuery) ([]crm.Placement, error) {
	return r.f.Placements(ctx, q)
}

func (f *fakeCRM) UpdatePerson(ctx context.Context, id string, pp crm.PersonPatch) (crm.Person, error) {
	t, _, err := f.begin(ctx, "UpdatePerson")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Person{}, err
	}
	p, ok := t.people[id]
	if !ok {
		return crm.Person{}, crm.ErrNotFound
	}
	set(&p.FirstName, pp.FirstName)
	set(&p.LastName, pp.LastName)
	set(&p.Headline, pp.Headline)
	set(&p.Location, pp.Location)
	set(&p.CurrentTitle, pp.CurrentTitle)
	set(&p.CurrentCompany, pp.CurrentCompany)
	set(&p.CompanyID, pp.CompanyID)
	set(&p.Source, pp.Source)
	set(&p.OwnerID, pp.OwnerID)
	set(&p.Emails, pp.Emails)
	set(&p.Phones, pp.Phones)
	set(&p.Skills, pp.Skills)
	set(&p.Tags, pp.Tags)
	if err := p.Validate(); err != nil {
		return crm.Person{}, err
	}
	p.UpdatedAt = f.stamp()
	t.people[id] = p
	return p, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (f *fakeCRM) GetPeople(ctx context.Context, ids []string) ([]crm.Person, error) {
	t, _, err := f.begin(ctx, "GetPeople")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return pick(t.people, ids), nil
}

func pick[T any](m map[string]T, ids []string) []T {
	var out []T
	for _, id := range ids {
		if v, ok := m[id]; ok {
			out = append(out, v)
		}
	}
	return out
}

func matches(text string, fields ...string) bool {
	hay := strings.ToLower(strings.Join(fields, " "))
	for _, w := range strings.Fields(strings.ToLower(text)) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

func containsFold(hay, needle string) bool {
	return strings.Contains(strings.ToLower(hay), strings.ToLower(needle))
}

// result orders by UpdatedAt descending, then id, and applies the limit.
func result[T any](rows []T, key func(T) (time.Time, string), limit int) crm.SearchResult {
	slices.SortFunc(rows, func(a, b T) int {
		ta, ia := key(a)
		tb, ib := key(b)
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return cmp.Compare(ia, ib)
	})
	res := crm.SearchResult{Total: len(rows), IDs: []string{}}
	for _, r := range rows[:min(len(rows), crm.ClampLimit(limit))] {
		_, id := key(r)
		res.IDs = append(res.IDs, id)
	}
	return res
}

func (f *fakeCRM) SearchPeople(ctx context.Context, q crm.PeopleQuery) (crm.SearchResult, error) {
	t, _, err := f.begin(ctx, "SearchPeople")
	defer f.mu.Unlock()
	if err != nil {
		return crm.SearchResult{}, err
	}
	var rows []crm.Person
	for _, p := range t.people {
		if !matches(q.Text, p.FirstName, p.LastName, p.Headline, p.CurrentTitle, p.CurrentCompany, strings.Join(p.Skills, " ")) ||
			(q.Kind != "" && p.Kind != q.Kind) ||
			(q.Location != "" && !containsFold(p.Location, q.Location)) ||
			(q.OwnerID != "" && p.OwnerID != q.OwnerID) ||
			(!q.UpdatedSince.IsZero() && p.UpdatedAt.Before(q.UpdatedSince)) {
			continue
		}
		ok := true
		for _, s := range q.Skills {
			ok = ok && slices.ContainsFunc(p.Skills, func(x string) bool { return strings.EqualFold(x, s) })
		}
		if q.Stage != "" || q.JobID != "" {
			in := false
			for _, a := range t.apps {
				in = in || (a.PersonID == p.ID && (q.Stage == "" || a.Stage == q.Stage) && (q.JobID == "" || a.JobID == q.JobID))
			}
			ok = ok && in
		}
		if ok {
			rows = append(rows, p)
		}
	}
	return result(rows, func(p crm.Person) (time.Time, string) { return p.UpdatedAt, p.ID }, q.Limit), nil
}

func (f *fakeCRM) PersonApplications(ctx context.Context, personID string) ([]crm.Application, error) {
	t, _, err := f.begin(ctx, "PersonApplications")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if _, ok := t.people[personID]; !ok {
		return nil, crm.ErrNotFound
	}
	var out []crm.Application
	for _, a := range t.apps {
		if a.PersonID == personID {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b crm.Application) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (f *fakeCRM) RecentActivities(ctx context.Context, personID string, limit int) ([]crm.Activity, error) {
	t, _, err := f.begin(ctx, "RecentActivities")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if _, ok := t.people[personID]; !ok {
		return nil, crm.ErrNotFound
	}
	var out []crm.Activity
	for _, a := range slices.Backward(t.acts) {
		if a.PersonID == personID && len(out) < limit {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeCRM) Timeline(ctx context.Context, personID string, limit int) ([]crm.TimelineEntry, error) {
	t, _, err := f.begin(ctx, "Timeline")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if _, ok := t.people[personID]; !ok {
		return nil, crm.ErrNotFound
	}
	var out []crm.TimelineEntry
	for _, n := range t.notes {
		if n.PersonID == personID {
			out = append(out, crm.TimelineEntry{At: n.CreatedAt, Kind: "note", ID: n.ID, Summary: n.Body, PersonID: personID})
		}
	}
	for _, a := range t.acts {
		if a.PersonID == personID {
			out = append(out, crm.TimelineEntry{At: a.OccurredAt, Kind: "activity", ID: a.ID, Summary: a.Summary, PersonID: personID, JobID: a.JobID})
		}
	}
	slices.SortFunc(out, func(a, b crm.TimelineEntry) int { return b.At.Compare(a.At) })
	return out[:min(len(out), limit)], nil
}

// Companies.

func (f *fakeCRM) CreateCompany(ctx context.Context, c crm.Company) (crm.Company, error) {
	t, uid, err := f.begin(ctx, "CreateCompany")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Company{}, err
	}
	if err := c.Validate(); err != nil {
		return crm.Company{}, err
	}
	c.ID, c.TenantID, c.CreatedAt, c.UpdatedAt = crm.NewID("cmp"), "", f.stamp(), f.stamp()
	if c.OwnerID == "" {
		c.OwnerID = uid
	}
	t.companies[c.ID] = c
	return c, nil
}

func (f *fakeCRM) GetCompany(ctx context.Context, id string) (crm.Company, error) {
	t, _, err := f.begin(ctx, "GetCompany")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Company{}, err
	}
	c, ok := t.companies[id]
	if !ok {
		return crm.Company{}, crm.ErrNotFound
	}
	return c, nil
}

func (f *fakeCRM) UpdateCompany(ctx context.Context, id string, p crm.CompanyPatch) (crm.Company, error) {
	t, _, err := f.begin(ctx, "UpdateCompany")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Company{}, err
	}
	c, ok := t.companies[id]
	if !ok {
		return crm.Company{}, crm.ErrNotFound
	}
	set(&c.Name, p.Name)
	set(&c.Domain, p.Domain)
	set(&c.Industry, p.Industry)
	set(&c.Location, p.Location)
	set(&c.Size, p.Size)
	set(&c.Description, p.Description)
	set(&c.OwnerID, p.OwnerID)
	if err := c.Validate(); err != nil {
		return crm.Company{}, err
	}
	c.UpdatedAt = f.stamp()
	t.companies[id] = c
	return c, nil
}

func (f *fakeCRM) GetCompanies(ctx context.Context, ids []string) ([]crm.Company, error) {
	t, _, err := f.begin(ctx, "GetCompanies")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return pick(t.companies, ids), nil
}

func (f *fakeCRM) SearchCompanies(ctx context.Context, q crm.CompanyQuery) (crm.SearchResult, error) {
	t, _, err := f.begin(ctx, "SearchCompanies")
	defer f.mu.Unlock()
	if err != nil {
		return crm.SearchResult{}, err
	}
	var rows []crm.Company
	for _, c := range t.companies {
		if matches(q.Text, c.Name, c.Domain, c.Industry, c.Description) &&
			(q.Industry == "" || strings.EqualFold(c.Industry, q.Industry)) &&
			(q.Location == "" || containsFold(c.Location, q.Location)) {
			rows = append(rows, c)
		}
	}
	return result(rows, func(c crm.Company) (time.Time, string) { return c.UpdatedAt, c.ID }, q.Limit), nil
}

// Jobs and pipelines.

func (f *fakeCRM) CreateJob(ctx context.Context, j crm.Job) (crm.Job, error) {
	t, uid, err := f.begin(ctx, "CreateJob")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Job{}, err
	}
	if err := j.Validate(); err != nil {
		return crm.Job{}, err
	}
	if _, ok := t.companies[j.CompanyID]; !ok {
		return crm.Job{}, crm.ErrInvalid
	}
	j.ID, j.TenantID, j.CreatedAt, j.UpdatedAt = crm.NewID("job"), "", f.stamp(), f.stamp()
	if j.OwnerID == "" {
		j.OwnerID = uid
	}
	t.jobs[j.ID] = j
	return j, nil
}

func (f *fakeCRM) GetJob(ctx context.Context, id string) (crm.Job, error) {
	t, _, err := f.begin(ctx, "GetJob")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Job{}, err
	}
	j, ok := t.jobs[id]
	if !ok {
		return crm.Job{}, crm.ErrNotFound
	}
	return j, nil
}

func (f *fakeCRM) UpdateJob(ctx context.Context, id string, p crm.JobPatch) (crm.Job, error) {
	t, _, err := f.begin(ctx, "UpdateJob")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Job{}, err
	}
	j, ok := t.jobs[id]
	if !ok {
		return crm.Job{}, crm.ErrNotFound
	}
	set(&j.Title, p.Title)
	set(&j.Status, p.Status)
	set(&j.Location, p.Location)
	set(&j.SalaryMin, p.SalaryMin)
	set(&j.SalaryMax, p.SalaryMax)
	set(&j.Currency, p.Currency)
	set(&j.Description, p.Description)
	set(&j.HiringManagerID, p.HiringManagerID)
	set(&j.OwnerID, p.OwnerID)
	if err := j.Validate(); err != nil {
		return crm.Job{}, err
	}
	j.UpdatedAt = f.stamp()
	t.jobs[id] = j
	return j, nil
}

func (f *fakeCRM) GetJobs(ctx context.Context, ids []string) ([]crm.Job, error) {
	t, _, err := f.begin(ctx, "GetJobs")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return pick(t.jobs, ids), nil
}

func (f *fakeCRM) SearchJobs(ctx context.Context, q crm.JobQuery) (crm.SearchResult, error) {
	t, _, err := f.begin(ctx, "SearchJobs")
	defer f.mu.Unlock()
	if err != nil {
		return crm.SearchResult{}, err
	}
	var rows []crm.Job
	for _, j := range t.jobs {
		if matches(q.Text, j.Title, j.Description, t.companies[j.CompanyID].Name) &&
			(q.Status == "" || j.Status == q.Status) && (q.CompanyID == "" || j.CompanyID == q.CompanyID) &&
			(q.OwnerID == "" || j.OwnerID == q.OwnerID) && (q.Location == "" || containsFold(j.Location, q.Location)) {
			rows = append(rows, j)
		}
	}
	return result(rows, func(j crm.Job) (time.Time, string) { return j.UpdatedAt, j.ID }, q.Limit), nil
}

func (f *fakeCRM) JobPipeline(ctx context.Context, jobID string) ([]crm.Application, error) {
	t, _, err := f.begin(ctx, "JobPipeline")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if _, ok := t.jobs[jobID]; !ok {
		return nil, crm.ErrNotFound
	}
	var out []crm.Application
	for _, a := range t.apps {
		if a.JobID == jobID {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b crm.Application) int {
		return cmp.Or(cmp.Compare(slices.Index(crm.Stages, a.Stage), slices.Index(crm.Stages, b.Stage)), a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (f *fakeCRM) AddToPipeline(ctx context.Context, a crm.Application) (crm.Application, error) {
	t, uid, err := f.begin(ctx, "AddToPipeline")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Application{}, err
	}
	_, okp := t.people[a.PersonID]
	_, okj := t.jobs[a.JobID]
	if !okp || !okj || !crm.ValidStage(a.Stage) {
		return crm.Application{}, crm.ErrInvalid
	}
	for _, x := range t.apps {
		if x.PersonID == a.PersonID && x.JobID == a.JobID {
			return crm.Application{}, crm.ErrConflict
		}
	}
	now := f.stamp()
	a.ID, a.OwnerID, a.CreatedAt, a.UpdatedAt = crm.NewID("app"), uid, now, now
	a.History = []crm.StageChange{{To: a.Stage, At: now, UserID: uid}}
	t.apps[a.ID] = a
	return a, nil
}

func (f *fakeCRM) GetApplication(ctx context.Context, id string) (crm.Application, error) {
	t, _, err := f.begin(ctx, "GetApplication")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Application{}, err
	}
	a, ok := t.apps[id]
	if !ok {
		return crm.Application{}, crm.ErrNotFound
	}
	return a, nil
}

func (f *fakeCRM) MoveStage(ctx context.Context, id string, to crm.Stage, reason string) (crm.Application, error) {
	t, uid, err := f.begin(ctx, "MoveStage")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Application{}, err
	}
	a, _, err := t.move(f.stamp(), uid, id, to, reason, crm.Placement{})
	return a, err
}

// Hire is MoveStage to hired with the placement's details, as the store
// does it: validated first, both written or neither.
func (f *fakeCRM) Hire(ctx context.Context, id string, p crm.Placement) (crm.Application, crm.Placement, error) {
	t, uid, err := f.begin(ctx, "Hire")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Application{}, crm.Placement{}, err
	}
	if err := p.Validate(); err != nil {
		return crm.Application{}, crm.Placement{}, err
	}
	return t.move(f.stamp(), uid, id, crm.StageHired, "", p)
}

func (t *fakeTenant) move(now time.Time, uid, id string, to crm.Stage, reason string, details crm.Placement) (crm.Application, crm.Placement, error) {
	a, ok := t.apps[id]
	if !ok {
		return crm.Application{}, crm.Placement{}, crm.ErrNotFound
	}
	if !crm.CanMove(a.Stage, to) || (to == crm.StageRejected && strings.TrimSpace(reason) == "") {
		return crm.Application{}, crm.Placement{}, crm.ErrInvalid
	}
	a.History = append(slices.Clone(a.History), crm.StageChange{From: a.Stage, To: to, At: now, UserID: uid, Reason: reason})
	a.Stage, a.UpdatedAt, a.RejectReason = to, now, ""
	if to == crm.StageRejected {
		a.RejectReason = reason
	}
	t.apps[id] = a
	var p crm.Placement
	if to == crm.StageHired {
		p = crm.Placement{
			ID: crm.NewID("plc"), ApplicationID: a.ID, JobID: a.JobID, PersonID: a.PersonID,
			StartDate: details.StartDate, Salary: details.Salary, Fee: details.Fee, Currency: details.Currency,
			CreatedBy: uid, CreatedAt: now,
		}
		t.plcs = append(t.plcs, p)
	}
	return a, p, nil
}

func (f *fakeCRM) Placements(ctx context.Context, q crm.PlacementQuery) ([]crm.Placement, error) {
	t, _, err := f.begin(ctx, "Placements")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if _, ok := t.jobs[q.JobID]; q.JobID != "" && !ok {
		return nil, crm.ErrNotFound
	}
	if _, ok := t.people[q.PersonID]; q.PersonID != "" && !ok {
		return nil, crm.ErrNotFound
	}
	limit := q.Limit
	if limit <= 0 {
		limit = crm.DefaultPage
	}
	out := []crm.Placement{}
	for _, p := range slices.Backward(t.plcs) {
		if (q.JobID == "" || p.JobID == q.JobID) && (q.PersonID == "" || p.PersonID == q.PersonID) && len(out) < limit {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeCRM) PipelineReport(ctx context.Context, q crm.ReportQuery) ([]crm.FunnelRow, error) {
	t, _, err := f.begin(ctx, "PipelineReport")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	rows := make([]crm.FunnelRow, 0, len(crm.Stages))
	for _, s := range crm.Stages {
		r := crm.FunnelRow{Stage: s}
		for _, a := range t.apps {
			if (q.JobID != "" && a.JobID != q.JobID) || (q.OwnerID != "" && a.OwnerID != q.OwnerID) {
				continue
			}
			if a.Stage == s {
				r.Current++
			}
			if slices.ContainsFunc(a.History, func(h crm.StageChange) bool { return h.To == s }) {
				r.Reached++
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// Notes, activities, tasks.

func (f *fakeCRM) AddNote(ctx context.Context, n crm.Note) (crm.Note, error) {
	t, uid, err := f.begin(ctx, "AddNote")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Note{}, err
	}
	if err := n.Validate(); err != nil {
		return crm.Note{}, err
	}
	if !t.refsOK(n.PersonID, n.CompanyID, n.JobID) {
		return crm.Note{}, crm.ErrInvalid
	}
	n.ID, n.TenantID, n.AuthorID, n.CreatedAt = crm.NewID("not"), "", uid, f.stamp()
	t.notes = append(t.notes, n)
	return n, nil
}

func (t *fakeTenant) refsOK(personID, companyID, jobID string) bool {
	_, okp := t.people[personID]
	_, okc := t.companies[companyID]
	_, okj := t.jobs[jobID]
	return (personID == "" || okp) && (companyID == "" || okc) && (jobID == "" || okj)
}

func (f *fakeCRM) RecentNotes(ctx context.Context, s crm.Subject, limit int) ([]crm.Note, error) {
	t, _, err := f.begin(ctx, "RecentNotes")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var match func(crm.Note) bool
	switch {
	case s.PersonID != "":
		if _, ok := t.people[s.PersonID]; !ok {
			return nil, crm.ErrNotFound
		}
		match = func(n crm.Note) bool { return n.PersonID == s.PersonID }
	case s.CompanyID != "":
		if _, ok := t.companies[s.CompanyID]; !ok {
			return nil, crm.ErrNotFound
		}
		match = func(n crm.Note) bool { return n.CompanyID == s.CompanyID }
	case s.JobID != "":
		if _, ok := t.jobs[s.JobID]; !ok {
			return nil, crm.ErrNotFound
		}
		match = func(n crm.Note) bool { return n.JobID == s.JobID }
	default:
		return nil, crm.ErrInvalid
	}
	var out []crm.Note
	for _, n := range slices.Backward(t.notes) {
		if match(n) && len(out) < limit {
			out = append(out, n)
		}
	}
	return out, nil
}

func (f *fakeCRM) LogActivity(ctx context.Context, a crm.Activity) (crm.Activity, error) {
	t, uid, err := f.begin(ctx, "LogActivity")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Activity{}, err
	}
	if err := a.Validate(); err != nil {
		return crm.Activity{}, err
	}
	if !t.refsOK(a.PersonID, "", a.JobID) {
		return crm.Activity{}, crm.ErrInvalid
	}
	a.ID, a.TenantID, a.UserID, a.CreatedAt = crm.NewID("act"), "", uid, f.stamp()
	t.acts = append(t.acts, a)
	return a, nil
}

func (f *fakeCRM) CreateTask(ctx context.Context, k crm.Task) (crm.Task, error) {
	t, _, err := f.begin(ctx, "CreateTask")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Task{}, err
	}
	if err := k.Validate(); err != nil {
		return crm.Task{}, err
	}
	if !t.refsOK(k.PersonID, "", k.JobID) {
		return crm.Task{}, crm.ErrInvalid
	}
	k.ID, k.TenantID, k.CreatedAt, k.Done = crm.NewID("tsk"), "", f.stamp(), false
	t.tasks[k.ID] = k
	return k, nil
}

func (f *fakeCRM) CompleteTask(ctx context.Context, id string) (crm.Task, error) {
	t, _, err := f.begin(ctx, "CompleteTask")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Task{}, err
	}
	k, ok := t.tasks[id]
	if !ok {
		return crm.Task{}, crm.ErrNotFound
	}
	if !k.Done {
		k.Done, k.CompletedAt = true, f.stamp()
		t.tasks[id] = k
	}
	return k, nil
}

func (f *fakeCRM) ListTasks(ctx context.Context, q crm.TaskQuery) ([]crm.Task, error) {
	t, _, err := f.begin(ctx, "ListTasks")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []crm.Task
	for _, k := range t.tasks {
		if (q.AssigneeID == "" || k.AssigneeID == q.AssigneeID) && (q.PersonID == "" || k.PersonID == q.PersonID) &&
			(q.JobID == "" || k.JobID == q.JobID) && (q.IncludeDone || !k.Done) &&
			(q.DueBefore.IsZero() || (!k.DueAt.IsZero() && k.DueAt.Before(q.DueBefore))) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b crm.Task) int {
		if a.DueAt.IsZero() != b.DueAt.IsZero() {
			if a.DueAt.IsZero() {
				return 1
			}
			return -1
		}
		return cmp.Or(a.DueAt.Compare(b.DueAt), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out[:min(len(out), crm.ClampLimit(q.Limit))], nil
}

// Team.

func (f *fakeCRM) ListUsers(ctx context.Context) ([]api.UserInfo, error) {
	t, _, err := f.begin(ctx, "ListUsers")
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return slices.Clone(t.users), nil
}

func (f *fakeCRM) GetUser(ctx context.Context, id string) (api.UserInfo, error) {
	t, _, err := f.begin(ctx, "GetUser")
	defer f.mu.Unlock()
	if err != nil {
		return api.UserInfo{}, err
	}
	for _, u := range t.users {
		if u.ID == id {
			return u, nil
		}
	}
	return api.UserInfo{}, crm.ErrNotFound
}

func (f *fakeCRM) GetTenant(ctx context.Context) (crm.Tenant, error) {
	t, _, err := f.begin(ctx, "GetTenant")
	defer f.mu.Unlock()
	if err != nil {
		return crm.Tenant{}, err
	}
	return crm.Tenant{Name: t.name}, nil
}

var errFake = errors.New("fake")
