package storetest

import (
	"time"

	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// world is one tenant's full set of records.
type world struct {
	tenant   string
	user     crm.User
	company  crm.Company
	contact  crm.Person
	person   crm.Person
	job      crm.Job
	app      crm.Application
	note     crm.Note
	activity crm.Activity
	task     crm.Task
}

// seed fills a tenant; text carries the tenant's marker (the canary for
// tenant 2) in every text field the searches look at.
func (e *env) seed(tenantID, marker string) world {
	e.t.Helper()
	w := world{tenant: tenantID, user: e.u1}
	if tenantID == e.t2 {
		w.user = e.u2
	}
	w.company = e.company(tenantID, func(c *crm.Company) {
		c.Name, c.Domain, c.Industry, c.Location, c.Description = "Shared Name "+marker, "shared.test", "Shared "+marker, "Shared City "+marker, "shared "+marker
		c.OwnerID = w.user.ID
	})
	w.contact = e.person(tenantID, func(p *crm.Person) {
		p.Kind, p.FirstName, p.LastName, p.CompanyID, p.OwnerID = crm.KindContact, "Shared", "Contact "+marker, w.company.ID, w.user.ID
	})
	w.person = e.person(tenantID, func(p *crm.Person) {
		p.FirstName, p.LastName, p.Headline = "Shared", "Person "+marker, "shared headline "+marker
		p.Location, p.Skills, p.Tags, p.OwnerID = "Shared Town "+marker, []string{"shared", marker}, []string{marker}, w.user.ID
		p.CurrentTitle, p.CurrentCompany, p.Emails = "Shared title "+marker, "Shared company "+marker, []string{strings.ToLower(marker) + "@example.test"}
	})
	w.job = e.job(tenantID, w.company.ID, func(j *crm.Job) {
		j.Title, j.Description, j.Location, j.HiringManagerID, j.OwnerID = "Shared job "+marker, "shared "+marker, "Shared City "+marker, w.contact.ID, w.user.ID
	})
	w.app = e.app(tenantID, w.job.ID, w.person.ID)
	w.app = e.move(tenantID, w.app.ID, crm.StageScreening, "shared "+marker)
	var err error
	w.note, err = e.s.AddNote(e.ctx, tenantID, crm.Note{PersonID: w.person.ID, CompanyID: w.company.ID, JobID: w.job.ID, Body: "shared note " + marker, AuthorID: w.user.ID})
	e.must(err, "AddNote")
	w.activity, err = e.s.LogActivity(e.ctx, tenantID, crm.Activity{Kind: crm.ActivityCall, PersonID: w.person.ID, JobID: w.job.ID, Summary: "shared call " + marker, OccurredAt: epoch, UserID: w.user.ID})
	e.must(err, "LogActivity")
	w.task, err = e.s.CreateTask(e.ctx, tenantID, crm.Task{Title: "shared task " + marker, AssigneeID: w.user.ID, PersonID: w.person.ID, JobID: w.job.ID, DueAt: epoch.Add(day)})
	e.must(err, "CreateTask")
	return w
}

// snapshot renders everything a tenant can read about its world.
func (e *env) snapshot(w world) string {
	e.t.Helper()
	var b strings.Builder
	add := func(what string, v any, err error) {
		e.must(err, "snapshot "+what)
		fmt.Fprintf(&b, "%s: %+v\n", what, v)
	}
	t := w.tenant
	v1, err := e.s.GetPerson(e.ctx, t, w.person.ID)
	add("person", v1, err)
	v2, err := e.s.GetPerson(e.ctx, t, w.contact.ID)
	add("contact", v2, err)
	v3, err := e.s.GetCompany(e.ctx, t, w.company.ID)
	add("company", v3, err)
	v4, err := e.s.GetJob(e.ctx, t, w.job.ID)
	add("job", v4, err)
	v5, err := e.s.GetApplication(e.ctx, t, w.app.ID)
	add("app", v5, err)
	v6, err := e.s.RecentNotes(e.ctx, t, crm.Subject{PersonID: w.person.ID}, 0)
	add("notes", v6, err)
	v7, err := e.s.RecentActivities(e.ctx, t, w.person.ID, 0)
	add("activities", v7, err)
	v8, err := e.s.ListTasks(e.ctx, t, crm.TaskQuery{IncludeDone: true})
	add("tasks", v8, err)
	v9, err := e.s.Timeline(e.ctx, t, w.person.ID, 0)
	add("timeline", v9, err)
	v10, err := e.s.ListUsers(e.ctx, t)
	add("users", v10, err)
	v11, err := e.s.PipelineReport(e.ctx, t, crm.ReportQuery{})
	add("report", v11, err)
	v12, err := e.s.JobPipeline(e.ctx, t, w.job.ID)
	add("pipeline", v12, err)
	return b.String()
}

// noForeign fails if got holds any of tenant 2's ids.
func noForeign(e *env, what string, got []string, w2 world) {
	e.t.Helper()
	for _, id := range []string{w2.person.ID, w2.contact.ID, w2.company.ID, w2.job.ID, w2.app.ID, w2.note.ID, w2.activity.ID, w2.task.ID, w2.user.ID} {
		if slices.Contains(got, id) {
			e.t.Errorf("%s returned tenant 2's id %s", what, id)
		}
	}
}

// noCanary fails if v renders with tenant 2's canary.
func noCanary(e *env, what string, v any) {
	e.t.Helper()
	if strings.Contains(strings.ToLower(fmt.Sprintf("%+v", v)), strings.ToLower(e.canary)) {
		e.t.Errorf("%s shows tenant 2's canary", what)
	}
}

var isolationTests = []test{
	{"reads with foreign ids look missing", func(e *env) {
		e.seed(e.t1, "ONE")
		w2 := e.seed(e.t2, e.canary)
		nf := crm.ErrNotFound
		for _, tc := range []struct {
			name      string
			foreign   string
			prefix    string
			call      func(id string) error
			wantError error
		}{
			{"GetPerson", w2.person.ID, "per", func(id string) error { _, err := e.s.GetPerson(e.ctx, e.t1, id); return err }, nf},
			{"GetCompany", w2.company.ID, "cmp", func(id string) error { _, err := e.s.GetCompany(e.ctx, e.t1, id); return err }, nf},
			{"GetJob", w2.job.ID, "job", func(id string) error { _, err := e.s.GetJob(e.ctx, e.t1, id); return err }, nf},
			{"GetApplication", w2.app.ID, "app", func(id string) error { _, err := e.s.GetApplication(e.ctx, e.t1, id); return err }, nf},
			{"GetUser", w2.user.ID, "usr", func(id string) error { _, err := e.s.GetUser(e.ctx, e.t1, id); return err }, nf},
			{"JobPipeline", w2.job.ID, "job", func(id string) error { _, err := e.s.JobPipeline(e.ctx, e.t1, id); return err }, nf},
			{"PersonApplications", w2.person.ID, "per", func(id string) error { _, err := e.s.PersonApplications(e.ctx, e.t1, id); return err }, nf},
			{"RecentNotes person", w2.person.ID, "per", func(id string) error {
				_, err := e.s.RecentNotes(e.ctx, e.t1, crm.Subject{PersonID: id}, 0)
				return err
			}, nf},
			{"RecentNotes company", w2.company.ID, "cmp", func(id string) error {
				_, err := e.s.RecentNotes(e.ctx, e.t1, crm.Subject{CompanyID: id}, 0)
				return err
			}, nf},
			{"RecentNotes job", w2.job.ID, "job", func(id string) error {
				_, err := e.s.RecentNotes(e.ctx, e.t1, crm.Subject{JobID: id}, 0)
				return err
			}, nf},
			{"RecentActivities", w2.person.ID, "per", func(id string) error { _, err := e.s.RecentActivities(e.ctx, e.t1, id, 0); return err }, nf},
			{"Timeline", w2.person.ID, "per", func(id string) error { _, err := e.s.Timeline(e.ctx, e.t1, id, 0); return err }, nf},
		} {
			e.sameMissing(tc.name, tc.wantError, tc.call, tc.foreign, randomID(tc.prefix))
		}
		// Batch reads skip foreign ids silently, like missing ones.
		ps, err := e.s.GetPeople(e.ctx, e.t1, []string{w2.person.ID, w2.contact.ID})
		e.must(err, "GetPeople")
		cs, err := e.s.GetCompanies(e.ctx, e.t1, []string{w2.company.ID})
		e.must(err, "GetCompanies")
		js, err := e.s.GetJobs(e.ctx, e.t1, []string{w2.job.ID})
		e.must(err, "GetJobs")
		if len(ps)+len(cs)+len(js) != 0 {
			e.t.Errorf("batch reads returned tenant 2's rows: %d %d %d", len(ps), len(cs), len(js))
		}
	}},
	{"writes with foreign ids change nothing", func(e *env) {
		w1 := e.seed(e.t1, "ONE")
		w2 := e.seed(e.t2, e.canary)
		before := e.snapshot(w2)
		before1 := e.snapshot(w1)
		nf, inv := crm.ErrNotFound, crm.ErrInvalid
		for _, tc := range []struct {
			name    string
			foreign string
			prefix  string
			want    error
			call    func(id string) error
		}{
			{"UpdatePerson", w2.person.ID, "per", nf, func(id string) error {
				_, err := e.s.UpdatePerson(e.ctx, e.t1, id, crm.PersonPatch{FirstName: ptr("Hijacked")})
				return err
			}},
			{"UpdateCompany", w2.company.ID, "cmp", nf, func(id string) error {
				_, err := e.s.UpdateCompany(e.ctx, e.t1, id, crm.CompanyPatch{Name: ptr("Hijacked")})
				return err
			}},
			{"UpdateJob", w2.job.ID, "job", nf, func(id string) error {
				_, err := e.s.UpdateJob(e.ctx, e.t1, id, crm.JobPatch{Title: ptr("Hijacked")})
				return err
			}},
			{"MoveStage", w2.app.ID, "app", nf, func(id string) error {
				_, err := e.s.MoveStage(e.ctx, e.t1, id, crm.StageOffer, e.u1.ID, "")
				return err
			}},
			{"MoveStage reject", w2.app.ID, "app", nf, func(id string) error {
				_, err := e.s.MoveStage(e.ctx, e.t1, id, crm.StageRejected, e.u1.ID, "hijack")
				return err
			}},
			{"CompleteTask", w2.task.ID, "tsk", nf, func(id string) error {
				_, err := e.s.CompleteTask(e.ctx, e.t1, id, e.u1.ID)
				return err
			}},
			// Tenant 1 records pointing at tenant 2's records.
			{"AddToPipeline foreign person", w2.person.ID, "per", inv, func(id string) error {
				_, err := e.s.AddToPipeline(e.ctx, e.t1, crm.Application{JobID: w1.job.ID, PersonID: id})
				return err
			}},
			{"AddToPipeline foreign job", w2.job.ID, "job", inv, func(id string) error {
				_, err := e.s.AddToPipeline(e.ctx, e.t1, crm.Application{JobID: id, PersonID: w1.contact.ID})
				return err
			}},
			{"AddNote foreign person", w2.person.ID, "per", inv, func(id string) error {
				_, err := e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: id, Body: "x"})
				return err
			}},
			{"AddNote foreign company", w2.company.ID, "cmp", inv, func(id string) error {
				_, err := e.s.AddNote(e.ctx, e.t1, crm.Note{CompanyID: id, Body: "x"})
				return err
			}},
			{"AddNote foreign job", w2.job.ID, "job", inv, func(id string) error {
				_, err := e.s.AddNote(e.ctx, e.t1, crm.Note{JobID: id, Body: "x"})
				return err
			}},
			{"LogActivity foreign person", w2.person.ID, "per", inv, func(id string) error {
				_, err := e.s.LogActivity(e.ctx, e.t1, crm.Activity{Kind: crm.ActivityCall, PersonID: id, Summary: "x", OccurredAt: epoch})
				return err
			}},
			{"LogActivity foreign job", w2.job.ID, "job", inv, func(id string) error {
				_, err := e.s.LogActivity(e.ctx, e.t1, crm.Activity{Kind: crm.ActivityCall, PersonID: w1.person.ID, JobID: id, Summary: "x", OccurredAt: epoch})
				return err
			}},
			{"CreateTask foreign person", w2.person.ID, "per", inv, func(id string) error {
				_, err := e.s.CreateTask(e.ctx, e.t1, crm.Task{Title: "x", AssigneeID: e.u1.ID, PersonID: id})
				return err
			}},
			{"CreateTask foreign job", w2.job.ID, "job", inv, func(id string) error {
				_, err := e.s.CreateTask(e.ctx, e.t1, crm.Task{Title: "x", AssigneeID: e.u1.ID, JobID: id})
				return err
			}},
			{"CreatePerson foreign company", w2.company.ID, "cmp", inv, func(id string) error {
				_, err := e.s.CreatePerson(e.ctx, e.t1, crm.Person{Kind: crm.KindContact, FirstName: "x", CompanyID: id})
				return err
			}},
			{"UpdatePerson foreign company", w2.company.ID, "cmp", inv, func(id string) error {
				_, err := e.s.UpdatePerson(e.ctx, e.t1, w1.contact.ID, crm.PersonPatch{CompanyID: &id})
				return err
			}},
			{"CreateJob foreign company", w2.company.ID, "cmp", inv, func(id string) error {
				_, err := e.s.CreateJob(e.ctx, e.t1, crm.Job{Title: "x", Status: crm.JobOpen, CompanyID: id})
				return err
			}},
			{"CreateJob foreign hiring manager", w2.contact.ID, "per", inv, func(id string) error {
				_, err := e.s.CreateJob(e.ctx, e.t1, crm.Job{Title: "x", Status: crm.JobOpen, CompanyID: w1.company.ID, HiringManagerID: id})
				return err
			}},
			{"UpdateJob foreign hiring manager", w2.contact.ID, "per", inv, func(id string) error {
				_, err := e.s.UpdateJob(e.ctx, e.t1, w1.job.ID, crm.JobPatch{HiringManagerID: &id})
				return err
			}},
		} {
			e.sameMissing(tc.name, tc.want, tc.call, tc.foreign, randomID(tc.prefix))
		}
		if after := e.snapshot(w2); after != before {
			e.t.Errorf("tenant 2 changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if after := e.snapshot(w1); after != before1 {
			e.t.Errorf("tenant 1 changed by failed writes:\nbefore:\n%s\nafter:\n%s", before1, after)
		}
	}},
	{"searches and lists never show another tenant", func(e *env) {
		w1 := e.seed(e.t1, "ONE")
		w2 := e.seed(e.t2, e.canary)
		peopleQs := []crm.PeopleQuery{
			{}, {Text: e.canary}, {Text: "shared"}, {Text: "person " + e.canary}, {Text: "shared note"},
			{Location: "shared"}, {Location: e.canary}, {Location: "%"}, {Skills: []string{e.canary}}, {Skills: []string{"shared"}},
			{Stage: crm.StageScreening}, {JobID: w2.job.ID}, {OwnerID: w2.user.ID}, {Kind: crm.KindContact},
			{Text: `' OR tenant_id<>'' --`}, {Text: "*"}, {Limit: crm.MaxLimit * 100},
		}
		for _, q := range peopleQs {
			res, err := e.s.SearchPeople(e.ctx, e.t1, q)
			e.must(err, fmt.Sprintf("SearchPeople %+v", q))
			noForeign(e, fmt.Sprintf("SearchPeople %+v", q), res.IDs, w2)
			if res.Total > 2 {
				e.t.Errorf("SearchPeople %+v total %d counts foreign rows", q, res.Total)
			}
		}
		res, err := e.s.SearchPeople(e.ctx, e.t1, crm.PeopleQuery{Text: e.canary})
		e.must(err, "SearchPeople canary")
		if res.Total != 0 {
			e.t.Errorf("text only tenant 2 has: total %d", res.Total)
		}
		res, err = e.s.SearchPeople(e.ctx, e.t1, crm.PeopleQuery{Text: "shared"})
		e.must(err, "SearchPeople shared")
		sameSet(e, "shared text", []string{w1.person.ID, w1.contact.ID}, res.IDs)
		for _, q := range []crm.CompanyQuery{{}, {Text: e.canary}, {Text: "shared"}, {Industry: "shared " + e.canary}, {Location: "shared"}, {Location: "%"}} {
			res, err := e.s.SearchCompanies(e.ctx, e.t1, q)
			e.must(err, "SearchCompanies")
			noForeign(e, fmt.Sprintf("SearchCompanies %+v", q), res.IDs, w2)
			if res.Total > 1 {
				e.t.Errorf("SearchCompanies %+v total %d counts foreign rows", q, res.Total)
			}
		}
		for _, q := range []crm.JobQuery{{}, {Text: e.canary}, {Text: "shared"}, {CompanyID: w2.company.ID}, {OwnerID: w2.user.ID}, {Location: "shared"}, {Status: crm.JobOpen}} {
			res, err := e.s.SearchJobs(e.ctx, e.t1, q)
			e.must(err, "SearchJobs")
			noForeign(e, fmt.Sprintf("SearchJobs %+v", q), res.IDs, w2)
			if res.Total > 1 {
				e.t.Errorf("SearchJobs %+v total %d counts foreign rows", q, res.Total)
			}
		}
		for _, q := range []crm.TaskQuery{{}, {IncludeDone: true}, {AssigneeID: w2.user.ID}, {PersonID: w2.person.ID}, {JobID: w2.job.ID}, {DueBefore: epoch.Add(365 * day)}} {
			got, err := e.s.ListTasks(e.ctx, e.t1, q)
			e.must(err, "ListTasks")
			noForeign(e, fmt.Sprintf("ListTasks %+v", q), ids(got, taskID), w2)
			noCanary(e, "ListTasks", got)
		}
		users, err := e.s.ListUsers(e.ctx, e.t1)
		e.must(err, "ListUsers")
		noForeign(e, "ListUsers", ids(users, userID), w2)
		noCanary(e, "ListUsers", users)
		for _, v := range []func() (any, error){
			func() (any, error) { return e.s.JobPipeline(e.ctx, e.t1, w1.job.ID) },
			func() (any, error) { return e.s.PersonApplications(e.ctx, e.t1, w1.person.ID) },
			func() (any, error) { return e.s.RecentNotes(e.ctx, e.t1, crm.Subject{PersonID: w1.person.ID}, 0) },
			func() (any, error) { return e.s.RecentActivities(e.ctx, e.t1, w1.person.ID, 0) },
			func() (any, error) { return e.s.Timeline(e.ctx, e.t1, w1.person.ID, 0) },
			func() (any, error) { return e.s.GetTenant(e.ctx, e.t1) },
		} {
			got, err := v()
			e.must(err, "list")
			noCanary(e, "list", got)
		}
		rows, err := e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{})
		e.must(err, "PipelineReport")
		e.checkFunnel("report", rows, map[crm.Stage]funnelWant{crm.StageSourced: {1, 0, 0}, crm.StageScreening: {1, 1, 0}})
	}},
	{"tenant id in input is ignored", func(e *env) {
		p, err := e.s.CreatePerson(e.ctx, e.t1, crm.Person{TenantID: e.t2, Kind: crm.KindCandidate, FirstName: "Mallory"})
		e.must(err, "CreatePerson")
		if p.TenantID != e.t1 {
			e.t.Errorf("person stored in tenant %q", p.TenantID)
		}
		_, err = e.s.GetPerson(e.ctx, e.t2, p.ID)
		e.wantErr(err, crm.ErrNotFound, "GetPerson from tenant 2")
		res, err := e.s.SearchPeople(e.ctx, e.t2, crm.PeopleQuery{Text: "mallory"})
		e.must(err, "SearchPeople")
		if res.Total != 0 {
			e.t.Errorf("tenant 2 sees tenant 1's person")
		}
	}},
	{"interleaved tenants on a shared pool", func(e *env) {
		w1 := e.seed(e.t1, "ONE")
		w2 := e.seed(e.t2, e.canary)
		var wg sync.WaitGroup
		errs := make(chan string, 64)
		for g := range 8 {
			wg.Go(func() {
				for i := range 25 {
					w, o := w1, w2
					if (g+i)%2 == 1 {
						w, o = w2, w1
					}
					p, err := e.s.GetPerson(e.ctx, w.tenant, w.person.ID)
					if err != nil || p.TenantID != w.tenant {
						errs <- fmt.Sprintf("GetPerson own: %v", err)
						return
					}
					if _, err := e.s.GetPerson(e.ctx, w.tenant, o.person.ID); err == nil {
						errs <- "GetPerson read another tenant's person"
						return
					}
					res, err := e.s.SearchPeople(e.ctx, w.tenant, crm.PeopleQuery{Text: "shared"})
					if err != nil || slices.Contains(res.IDs, o.person.ID) || res.Total != 2 {
						errs <- fmt.Sprintf("SearchPeople: %v %v", err, res)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for msg := range errs {
			e.t.Error(msg)
		}
	}},
	{"errors do not leak input", func(e *env) {
		long := strings.Repeat(e.canary, crm.MaxTextLen/len(e.canary)+1)
		_, err := e.s.CreatePerson(e.ctx, e.t1, crm.Person{Kind: crm.KindCandidate, FirstName: long})
		e.wantErr(err, crm.ErrInvalid, "long name")
		_, err = e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: e.canary, Body: e.canary})
		e.wantErr(err, crm.ErrInvalid, "note about a canary id")
		_, err = e.s.GetPerson(e.ctx, e.t1, e.canary)
		e.wantErr(err, crm.ErrNotFound, "GetPerson canary id")
		_, err = e.s.MoveStage(e.ctx, e.t1, e.canary, crm.StageOffer, e.u1.ID, e.canary)
		e.wantErr(err, crm.ErrNotFound, "MoveStage canary id")
		_, err = e.s.CreateUser(e.ctx, e.t1, crm.User{Email: e.u2.Email, Name: e.canary, Role: crm.RoleViewer})
		e.wantErr(err, crm.ErrConflict, "duplicate email")
	}},
}

// referenceTests pin that user references (owners, authors, assignees,
// actors) must be users of the tenant: another tenant's user is as
// unknown as a missing one, and nothing is written.
var referenceTests = []test{
	{"user references must be the tenant's users", func(e *env) {
		c := e.company(e.t1, nil)
		j := e.job(e.t1, c.ID, nil)
		p := e.person(e.t1, nil)
		for _, uid := range []string{e.u2.ID, randomID("usr")} {
			_, err := e.s.CreatePerson(e.ctx, e.t1, crm.Person{Kind: crm.KindCandidate, FirstName: "Owned", OwnerID: uid})
			e.wantErr(err, crm.ErrInvalid, "CreatePerson with a foreign owner")
			_, err = e.s.UpdatePerson(e.ctx, e.t1, p.ID, crm.PersonPatch{OwnerID: &uid})
			e.wantErr(err, crm.ErrInvalid, "UpdatePerson with a foreign owner")
			_, err = e.s.CreateCompany(e.ctx, e.t1, crm.Company{Name: "Owned", OwnerID: uid})
			e.wantErr(err, crm.ErrInvalid, "CreateCompany with a foreign owner")
			_, err = e.s.CreateJob(e.ctx, e.t1, crm.Job{CompanyID: c.ID, Title: "Owned", Status: crm.JobOpen, OwnerID: uid})
			e.wantErr(err, crm.ErrInvalid, "CreateJob with a foreign owner")
			_, err = e.s.CreateTask(e.ctx, e.t1, crm.Task{Title: "Owned", AssigneeID: uid})
			e.wantErr(err, crm.ErrInvalid, "CreateTask with a foreign assignee")
			_, err = e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: p.ID, Body: "x", AuthorID: uid})
			e.wantErr(err, crm.ErrInvalid, "AddNote with a foreign author")
			_, err = e.s.AddToPipeline(e.ctx, e.t1, crm.Application{JobID: j.ID, PersonID: p.ID, OwnerID: uid})
			e.wantErr(err, crm.ErrInvalid, "AddToPipeline with a foreign owner")
		}
		got, err := e.s.GetPerson(e.ctx, e.t1, p.ID)
		e.must(err, "GetPerson")
		if got.OwnerID != p.OwnerID {
			e.t.Errorf("a refused update changed the owner to %q", got.OwnerID)
		}
		res, err := e.s.SearchPeople(e.ctx, e.t1, crm.PeopleQuery{Text: "Owned"})
		e.must(err, "SearchPeople")
		if res.Total != 0 {
			e.t.Errorf("refused creates were stored: %d found", res.Total)
		}
	}},
	{"times outside 1900-2200 are refused", func(e *env) {
		far := time.Date(2999, 12, 31, 0, 0, 0, 0, time.UTC)
		_, err := e.s.CreateTask(e.ctx, e.t1, crm.Task{Title: "Far", AssigneeID: e.u1.ID, DueAt: far})
		e.wantErr(err, crm.ErrInvalid, "CreateTask due 2999")
		// A far bound in a query is fine and matches what it says.
		res, err := e.s.SearchPeople(e.ctx, e.t1, crm.PeopleQuery{UpdatedSince: far})
		e.must(err, "SearchPeople since 2999")
		if res.Total != 0 {
			e.t.Errorf("updated since 2999 found %d", res.Total)
		}
	}},
}
