package storetest

import (
	"math"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// pipe is one job with a few candidates in tenant 1.
type pipe struct {
	company crm.Company
	job     crm.Job
	people  []crm.Person
}

func newPipe(e *env, tenantID string, n int) pipe {
	var p pipe
	p.company = e.company(tenantID, nil)
	p.job = e.job(tenantID, p.company.ID, nil)
	for range n {
		p.people = append(p.people, e.person(tenantID, nil))
	}
	return p
}

func (e *env) getApp(tenantID, id string) crm.Application {
	e.t.Helper()
	a, err := e.s.GetApplication(e.ctx, tenantID, id)
	e.must(err, "GetApplication")
	return a
}

var pipelineTests = []test{
	{"add defaults to sourced", func(e *env) {
		p := newPipe(e, e.t1, 1)
		before := e.clk.peek()
		a, err := e.s.AddToPipeline(e.ctx, e.t1, crm.Application{ID: "app_mine", TenantID: e.t2, JobID: p.job.ID, PersonID: p.people[0].ID, OwnerID: e.u1.ID})
		e.must(err, "AddToPipeline")
		if !strings.HasPrefix(a.ID, "app_") || a.TenantID != e.t1 || a.Stage != crm.StageSourced || a.CreatedAt.Before(before) || !a.UpdatedAt.Equal(a.CreatedAt) {
			e.t.Errorf("AddToPipeline = %+v", a)
		}
		want := crm.Application{
			ID: a.ID, TenantID: e.t1, JobID: p.job.ID, PersonID: p.people[0].ID, Stage: crm.StageSourced, OwnerID: e.u1.ID,
			History:   []crm.StageChange{{To: crm.StageSourced, At: a.CreatedAt, UserID: e.u1.ID}},
			CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		}
		equal(e, "added", normApp(want), normApp(a))
		equal(e, "got", normApp(a), normApp(e.getApp(e.t1, a.ID)))
	}},
	{"add at a given stage", func(e *env) {
		p := newPipe(e, e.t1, 2)
		a, err := e.s.AddToPipeline(e.ctx, e.t1, crm.Application{JobID: p.job.ID, PersonID: p.people[0].ID, Stage: crm.StageInterview})
		e.must(err, "AddToPipeline")
		if a.Stage != crm.StageInterview || len(a.History) != 1 || a.History[0].To != crm.StageInterview || a.History[0].From != "" {
			e.t.Errorf("AddToPipeline at interview = %+v", a)
		}
		_, err = e.s.AddToPipeline(e.ctx, e.t1, crm.Application{JobID: p.job.ID, PersonID: p.people[1].ID, Stage: crm.StageRejected})
		e.wantErr(err, crm.ErrInvalid, "rejected without reason")
		r, err := e.s.AddToPipeline(e.ctx, e.t1, crm.Application{JobID: p.job.ID, PersonID: p.people[1].ID, Stage: crm.StageRejected, RejectReason: "overqualified"})
		e.must(err, "AddToPipeline rejected")
		if r.RejectReason != "overqualified" || r.History[0].Reason != "overqualified" {
			e.t.Errorf("rejected at add = %+v", r)
		}
	}},
	{"add errors write nothing", func(e *env) {
		p := newPipe(e, e.t1, 1)
		f := newPipe(e, e.t2, 1)
		person, job := p.people[0].ID, p.job.ID
		_, err := e.s.AddToPipeline(e.ctx, e.t1, crm.Application{JobID: job, PersonID: person})
		e.must(err, "AddToPipeline")
		for _, tc := range []struct {
			name string
			a    crm.Application
			want error
		}{
			{"duplicate", crm.Application{JobID: job, PersonID: person}, crm.ErrConflict},
			{"duplicate at another stage", crm.Application{JobID: job, PersonID: person, Stage: crm.StageOffer}, crm.ErrConflict},
			{"unknown person", crm.Application{JobID: job, PersonID: randomID("per")}, crm.ErrInvalid},
			{"foreign person", crm.Application{JobID: job, PersonID: f.people[0].ID}, crm.ErrInvalid},
			{"unknown job", crm.Application{JobID: randomID("job"), PersonID: person}, crm.ErrInvalid},
			{"foreign job", crm.Application{JobID: f.job.ID, PersonID: person}, crm.ErrInvalid},
			{"no job", crm.Application{PersonID: person}, crm.ErrInvalid},
			{"bad stage", crm.Application{JobID: job, PersonID: randomID("per"), Stage: "won"}, crm.ErrInvalid},
		} {
			_, err := e.s.AddToPipeline(e.ctx, e.t1, tc.a)
			e.wantErr(err, tc.want, tc.name)
		}
		list, err := e.s.JobPipeline(e.ctx, e.t1, job)
		e.must(err, "JobPipeline")
		if len(list) != 1 {
			e.t.Errorf("pipeline has %d applications, want 1", len(list))
		}
		flist, err := e.s.JobPipeline(e.ctx, e.t2, f.job.ID)
		e.must(err, "JobPipeline t2")
		if len(flist) != 0 {
			e.t.Errorf("tenant 2's pipeline has %d applications, want 0", len(flist))
		}
	}},
	{"move appends history", func(e *env) {
		p := newPipe(e, e.t1, 1)
		a := e.app(e.t1, p.job.ID, p.people[0].ID)
		e.clk.Advance(time.Hour)
		m, err := e.s.MoveStage(e.ctx, e.t1, a.ID, crm.StageScreening, e.u1.ID, "looks good")
		e.must(err, "MoveStage")
		if m.Stage != crm.StageScreening || !m.UpdatedAt.After(a.UpdatedAt) || !m.CreatedAt.Equal(a.CreatedAt) || len(m.History) != 2 {
			e.t.Fatalf("after move = %+v", m)
		}
		want := crm.StageChange{From: crm.StageSourced, To: crm.StageScreening, At: m.History[1].At, UserID: e.u1.ID, Reason: "looks good"}
		equal(e, "history entry", want, crm.StageChange{From: m.History[1].From, To: m.History[1].To, At: m.History[1].At, UserID: m.History[1].UserID, Reason: m.History[1].Reason})
		if m.History[1].At.Before(a.CreatedAt.Add(time.Hour)) {
			e.t.Errorf("history time %v does not follow the clock", m.History[1].At)
		}
		equal(e, "reread", normApp(m), normApp(e.getApp(e.t1, a.ID)))
		// Backwards is allowed; rejected needs a reason; leaving rejected clears it.
		e.move(e.t1, a.ID, crm.StageSourced, "")
		_, err = e.s.MoveStage(e.ctx, e.t1, a.ID, crm.StageRejected, e.u1.ID, "  ")
		e.wantErr(err, crm.ErrInvalid, "reject without reason")
		r := e.move(e.t1, a.ID, crm.StageRejected, "no visa")
		if r.RejectReason != "no visa" || r.History[len(r.History)-1].Reason != "no visa" {
			e.t.Errorf("rejected = %+v", r)
		}
		back := e.move(e.t1, a.ID, crm.StageOffer, "")
		if back.RejectReason != "" || back.Stage != crm.StageOffer {
			e.t.Errorf("back from rejected = %+v", back)
		}
		h := e.move(e.t1, a.ID, crm.StageHired, "").History
		var stages []crm.Stage
		for i, c := range h {
			stages = append(stages, c.To)
			if i > 0 && (c.From != h[i-1].To || c.At.Before(h[i-1].At)) {
				e.t.Errorf("history is not a chain at %d: %+v", i, h)
			}
		}
		equal(e, "history", []crm.Stage{crm.StageSourced, crm.StageScreening, crm.StageSourced, crm.StageRejected, crm.StageOffer, crm.StageHired}, stages)
	}},
	{"move errors write nothing", func(e *env) {
		p := newPipe(e, e.t1, 2)
		a := e.app(e.t1, p.job.ID, p.people[0].ID)
		for _, tc := range []struct {
			name string
			to   crm.Stage
		}{{"same stage", crm.StageSourced}, {"unknown stage", "won"}, {"empty stage", ""}} {
			_, err := e.s.MoveStage(e.ctx, e.t1, a.ID, tc.to, e.u1.ID, "")
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		equal(e, "unchanged", normApp(a), normApp(e.getApp(e.t1, a.ID)))
		h := e.app(e.t1, p.job.ID, p.people[1].ID)
		h = e.move(e.t1, h.ID, crm.StageHired, "")
		for _, to := range []crm.Stage{crm.StageRejected, crm.StageOffer, crm.StageSourced} {
			_, err := e.s.MoveStage(e.ctx, e.t1, h.ID, to, e.u1.ID, "reason")
			e.wantErr(err, crm.ErrInvalid, "out of hired to "+string(to))
		}
		equal(e, "hired unchanged", normApp(h), normApp(e.getApp(e.t1, h.ID)))
		_, err := e.s.MoveStage(e.ctx, e.t1, randomID("app"), crm.StageOffer, e.u1.ID, "")
		e.wantErr(err, crm.ErrNotFound, "unknown application")
		_, err = e.s.GetApplication(e.ctx, e.t1, randomID("app"))
		e.wantErr(err, crm.ErrNotFound, "GetApplication unknown")
	}},
	{"job pipeline order", func(e *env) {
		p := newPipe(e, e.t1, 5)
		a := make([]crm.Application, 5)
		for i := range a {
			a[i] = e.app(e.t1, p.job.ID, p.people[i].ID)
		}
		e.move(e.t1, a[0].ID, crm.StageOffer, "")
		e.move(e.t1, a[1].ID, crm.StageScreening, "")
		e.move(e.t1, a[2].ID, crm.StageRejected, "no")
		e.move(e.t1, a[3].ID, crm.StageScreening, "")
		// a[4] stays sourced. Screening: a[1] then a[3] (UpdatedAt ascending).
		other := e.job(e.t1, p.company.ID, nil)
		e.app(e.t1, other.ID, p.people[0].ID)
		list, err := e.s.JobPipeline(e.ctx, e.t1, p.job.ID)
		e.must(err, "JobPipeline")
		equalIDs(e, "JobPipeline", []string{a[4].ID, a[1].ID, a[3].ID, a[0].ID, a[2].ID}, ids(list, appID))
		if len(list) == 5 && len(list[3].History) != 2 {
			e.t.Errorf("JobPipeline entries must carry history: %+v", list[3])
		}
		_, err = e.s.JobPipeline(e.ctx, e.t1, randomID("job"))
		e.wantErr(err, crm.ErrNotFound, "JobPipeline unknown job")
		empty, err := e.s.JobPipeline(e.ctx, e.t1, e.job(e.t1, p.company.ID, nil).ID)
		e.must(err, "JobPipeline empty job")
		if len(empty) != 0 {
			e.t.Errorf("empty job pipeline = %v", empty)
		}
	}},
	{"person applications newest first", func(e *env) {
		c := e.company(e.t1, nil)
		person := e.person(e.t1, nil)
		var want []string
		for range 3 {
			j := e.job(e.t1, c.ID, nil)
			want = append([]string{e.app(e.t1, j.ID, person.ID).ID}, want...)
		}
		e.move(e.t1, want[2], crm.StageScreening, "") // UpdatedAt does not change the order
		list, err := e.s.PersonApplications(e.ctx, e.t1, person.ID)
		e.must(err, "PersonApplications")
		equalIDs(e, "PersonApplications", want, ids(list, appID))
		if len(list) == 3 && len(list[2].History) != 2 {
			e.t.Errorf("PersonApplications entries must carry history: %+v", list[2])
		}
		_, err = e.s.PersonApplications(e.ctx, e.t1, randomID("per"))
		e.wantErr(err, crm.ErrNotFound, "PersonApplications unknown person")
		none, err := e.s.PersonApplications(e.ctx, e.t1, e.person(e.t1, nil).ID)
		e.must(err, "PersonApplications none")
		if len(none) != 0 {
			e.t.Errorf("PersonApplications of a new person = %v", none)
		}
	}},
}

const day = 24 * time.Hour

// funnel indexes report rows by stage and checks their order.
func (e *env) funnel(rows []crm.FunnelRow) map[crm.Stage]crm.FunnelRow {
	e.t.Helper()
	m := map[crm.Stage]crm.FunnelRow{}
	if len(rows) != len(crm.Stages) {
		e.t.Errorf("report has %d rows, want %d", len(rows), len(crm.Stages))
	}
	for i, r := range rows {
		if i < len(crm.Stages) && r.Stage != crm.Stages[i] {
			e.t.Errorf("report row %d is %s, want %s", i, r.Stage, crm.Stages[i])
		}
		m[r.Stage] = r
	}
	return m
}

type funnelWant struct {
	reached, current int
	median           float64
}

func (e *env) checkFunnel(what string, rows []crm.FunnelRow, want map[crm.Stage]funnelWant) {
	e.t.Helper()
	got := e.funnel(rows)
	for _, st := range crm.Stages {
		w, g := want[st], got[st]
		if g.Reached != w.reached || g.Current != w.current || math.Abs(g.MedianDaysInStage-w.median) > 0.001 {
			e.t.Errorf("%s: %s = {reached %d, current %d, median %.4f}, want {%d, %d, %.4f}",
				what, st, g.Reached, g.Current, g.MedianDaysInStage, w.reached, w.current, w.median)
		}
	}
}

var reportTests = []test{
	{"funnel counts and medians", func(e *env) {
		d0 := epoch.Add(10 * day)
		p := newPipe(e, e.t1, 4)
		e.clk.Set(d0)
		var a [4]crm.Application
		for i := range a {
			a[i] = e.app(e.t1, p.job.ID, p.people[i].ID)
		}
		at := func(days float64, i int, to crm.Stage, reason string) {
			e.clk.Set(d0.Add(time.Duration(days * float64(day))))
			e.move(e.t1, a[i].ID, to, reason)
		}
		// Sourced stays: 2, 4, 1, 6 days → median 3.
		at(1, 2, crm.StageRejected, "no")
		at(2, 0, crm.StageScreening, "")
		at(4, 1, crm.StageScreening, "")
		at(5, 0, crm.StageInterview, "") // screening stay 3
		at(6, 3, crm.StageScreening, "")
		at(8, 3, crm.StageOffer, "") // screening stay 2
		at(9, 3, crm.StageHired, "") // offer stay 1
		// Tenant 2 activity in the same job shape must not count.
		f := newPipe(e, e.t2, 2)
		for _, person := range f.people {
			fa := e.app(e.t2, f.job.ID, person.ID)
			e.move(e.t2, fa.ID, crm.StageOffer, "")
		}
		want := map[crm.Stage]funnelWant{
			crm.StageSourced:   {4, 0, 3},
			crm.StageScreening: {3, 1, 2.5},
			crm.StageInterview: {1, 1, 0},
			crm.StageOffer:     {1, 0, 1},
			crm.StageHired:     {1, 1, 0},
			crm.StageRejected:  {1, 1, 0},
		}
		rows, err := e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{JobID: p.job.ID})
		e.must(err, "PipelineReport job")
		e.checkFunnel("by job", rows, want)
		rows, err = e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{})
		e.must(err, "PipelineReport tenant")
		e.checkFunnel("whole tenant", rows, want)
		rows, err = e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{OwnerID: e.u1.ID})
		e.must(err, "PipelineReport owner")
		e.checkFunnel("by owner", rows, want)
		rows, err = e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{OwnerID: e.u2.ID})
		e.must(err, "PipelineReport foreign owner")
		e.checkFunnel("foreign owner", rows, nil)
		rows, err = e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{JobID: f.job.ID})
		e.must(err, "PipelineReport foreign job")
		e.checkFunnel("foreign job", rows, nil)
		rows, err = e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{JobID: randomID("job")})
		e.must(err, "PipelineReport unknown job")
		e.checkFunnel("unknown job", rows, nil)
	}},
	{"since and owner filters", func(e *env) {
		d0 := epoch.Add(30 * day)
		p := newPipe(e, e.t1, 3)
		other := e.user(e.t1, "other", crm.RoleRecruiter)
		e.clk.Set(d0)
		old := e.app(e.t1, p.job.ID, p.people[0].ID)
		e.clk.Set(d0.Add(5 * day))
		mid, err := e.s.AddToPipeline(e.ctx, e.t1, crm.Application{JobID: p.job.ID, PersonID: p.people[1].ID, OwnerID: other.ID})
		e.must(err, "AddToPipeline")
		e.clk.Set(d0.Add(6 * day))
		e.move(e.t1, old.ID, crm.StageScreening, "")
		e.clk.Set(d0.Add(7 * day))
		e.move(e.t1, mid.ID, crm.StageScreening, "")
		rows, err := e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{Since: d0.Add(5 * day)})
		e.must(err, "PipelineReport since")
		e.checkFunnel("since", rows, map[crm.Stage]funnelWant{crm.StageSourced: {1, 0, 2}, crm.StageScreening: {1, 1, 0}})
		rows, err = e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{OwnerID: other.ID, JobID: p.job.ID})
		e.must(err, "PipelineReport owner+job")
		e.checkFunnel("owner and job", rows, map[crm.Stage]funnelWant{crm.StageSourced: {1, 0, 2}, crm.StageScreening: {1, 1, 0}})
		rows, err = e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{})
		e.must(err, "PipelineReport all")
		e.checkFunnel("all", rows, map[crm.Stage]funnelWant{crm.StageSourced: {2, 0, 4}, crm.StageScreening: {2, 2, 0}})
	}},
	{"empty tenant", func(e *env) {
		rows, err := e.s.PipelineReport(e.ctx, e.t1, crm.ReportQuery{})
		e.must(err, "PipelineReport")
		e.checkFunnel("empty", rows, nil)
	}},
}
