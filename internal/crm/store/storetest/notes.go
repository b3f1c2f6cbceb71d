package storetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

var noteTests = []test{
	{"add and recent", func(e *env) {
		c := e.company(e.t1, nil)
		j := e.job(e.t1, c.ID, nil)
		p := e.person(e.t1, nil)
		in := crm.Note{ID: "not_mine", TenantID: e.t2, PersonID: p.ID, JobID: j.ID, Body: "Strong on distributed systems.", AuthorID: e.u1.ID}
		n, err := e.s.AddNote(e.ctx, e.t1, in)
		e.must(err, "AddNote")
		if !strings.HasPrefix(n.ID, "not_") || n.TenantID != e.t1 || n.CreatedAt.IsZero() {
			e.t.Errorf("AddNote = %+v", n)
		}
		want := in
		want.ID, want.TenantID, want.CreatedAt = n.ID, e.t1, n.CreatedAt
		equal(e, "note", normNote(want), normNote(n))
		var notes []string
		for i := range 4 {
			x, err := e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: p.ID, Body: fmt.Sprintf("note %d", i)})
			e.must(err, "AddNote")
			notes = append([]string{x.ID}, notes...)
		}
		cn, err := e.s.AddNote(e.ctx, e.t1, crm.Note{CompanyID: c.ID, Body: "company note"})
		e.must(err, "AddNote company")
		got, err := e.s.RecentNotes(e.ctx, e.t1, crm.Subject{PersonID: p.ID}, 3)
		e.must(err, "RecentNotes")
		equalIDs(e, "RecentNotes limit 3", notes[:3], ids(got, noteID))
		got, err = e.s.RecentNotes(e.ctx, e.t1, crm.Subject{PersonID: p.ID}, 0)
		e.must(err, "RecentNotes")
		equalIDs(e, "RecentNotes default limit", append(notes, n.ID), ids(got, noteID))
		if len(got) == 5 {
			equal(e, "RecentNotes entry", normNote(n), normNote(got[4]))
		}
		got, err = e.s.RecentNotes(e.ctx, e.t1, crm.Subject{JobID: j.ID}, 10)
		e.must(err, "RecentNotes job")
		equalIDs(e, "RecentNotes job", []string{n.ID}, ids(got, noteID))
		got, err = e.s.RecentNotes(e.ctx, e.t1, crm.Subject{CompanyID: c.ID, JobID: j.ID}, 10)
		e.must(err, "RecentNotes company first")
		equalIDs(e, "RecentNotes company", []string{cn.ID}, ids(got, noteID))
		_, err = e.s.RecentNotes(e.ctx, e.t1, crm.Subject{}, 10)
		e.wantErr(err, crm.ErrInvalid, "RecentNotes empty subject")
		_, err = e.s.RecentNotes(e.ctx, e.t1, crm.Subject{PersonID: randomID("per")}, 10)
		e.wantErr(err, crm.ErrNotFound, "RecentNotes unknown person")
	}},
	{"default limit", func(e *env) {
		p := e.person(e.t1, nil)
		for i := range crm.DefaultPage + 3 {
			_, err := e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: p.ID, Body: fmt.Sprint("n", i)})
			e.must(err, "AddNote")
		}
		got, err := e.s.RecentNotes(e.ctx, e.t1, crm.Subject{PersonID: p.ID}, -1)
		e.must(err, "RecentNotes")
		if len(got) != crm.DefaultPage {
			e.t.Errorf("RecentNotes(limit -1) = %d notes, want %d", len(got), crm.DefaultPage)
		}
	}},
	{"add invalid", func(e *env) {
		p := e.person(e.t1, nil)
		p2 := e.person(e.t2, nil)
		for _, tc := range []struct {
			name string
			n    crm.Note
		}{
			{"no subject", crm.Note{Body: "x"}},
			{"blank body", crm.Note{PersonID: p.ID, Body: " "}},
			{"too long", crm.Note{PersonID: p.ID, Body: strings.Repeat("x", crm.MaxTextLen+1)}},
			{"unknown person", crm.Note{PersonID: randomID("per"), Body: "x"}},
			{"foreign person", crm.Note{PersonID: p2.ID, Body: "x " + e.canary}},
			{"unknown company", crm.Note{CompanyID: randomID("cmp"), Body: "x"}},
			{"unknown job", crm.Note{PersonID: p.ID, JobID: randomID("job"), Body: "x"}},
		} {
			_, err := e.s.AddNote(e.ctx, e.t1, tc.n)
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		got, err := e.s.RecentNotes(e.ctx, e.t1, crm.Subject{PersonID: p.ID}, 10)
		e.must(err, "RecentNotes")
		if len(got) != 0 {
			e.t.Errorf("invalid notes were written: %v", got)
		}
	}},
	{"activities", func(e *env) {
		c := e.company(e.t1, nil)
		j := e.job(e.t1, c.ID, nil)
		p := e.person(e.t1, nil)
		base := epoch.Add(-48 * time.Hour)
		in := crm.Activity{ID: "act_mine", TenantID: e.t2, Kind: crm.ActivityCall, PersonID: p.ID, JobID: j.ID, Summary: "Intro call", OccurredAt: base, UserID: e.u1.ID}
		a, err := e.s.LogActivity(e.ctx, e.t1, in)
		e.must(err, "LogActivity")
		if !strings.HasPrefix(a.ID, "act_") || a.CreatedAt.IsZero() {
			e.t.Errorf("LogActivity = %+v", a)
		}
		want := in
		want.ID, want.TenantID, want.CreatedAt = a.ID, e.t1, a.CreatedAt
		equal(e, "activity", normActivity(want), normActivity(a))
		// Logged later but occurred earlier: ordered by OccurredAt.
		early, err := e.s.LogActivity(e.ctx, e.t1, crm.Activity{Kind: crm.ActivityEmail, PersonID: p.ID, Summary: "Sent JD", OccurredAt: base.Add(-time.Hour)})
		e.must(err, "LogActivity")
		late, err := e.s.LogActivity(e.ctx, e.t1, crm.Activity{Kind: crm.ActivityMeeting, PersonID: p.ID, Summary: "Onsite", OccurredAt: base.Add(time.Hour)})
		e.must(err, "LogActivity")
		got, err := e.s.RecentActivities(e.ctx, e.t1, p.ID, 0)
		e.must(err, "RecentActivities")
		equalIDs(e, "RecentActivities", []string{late.ID, a.ID, early.ID}, ids(got, activityID))
		got, err = e.s.RecentActivities(e.ctx, e.t1, p.ID, 1)
		e.must(err, "RecentActivities limit")
		equalIDs(e, "RecentActivities limit", []string{late.ID}, ids(got, activityID))
		for _, tc := range []struct {
			name string
			a    crm.Activity
		}{
			{"bad kind", crm.Activity{Kind: "fax", PersonID: p.ID, Summary: "x", OccurredAt: base}},
			{"no person", crm.Activity{Kind: crm.ActivityCall, Summary: "x", OccurredAt: base}},
			{"no time", crm.Activity{Kind: crm.ActivityCall, PersonID: p.ID, Summary: "x"}},
			{"no summary", crm.Activity{Kind: crm.ActivityCall, PersonID: p.ID, OccurredAt: base}},
			{"unknown person", crm.Activity{Kind: crm.ActivityCall, PersonID: randomID("per"), Summary: "x", OccurredAt: base}},
			{"unknown job", crm.Activity{Kind: crm.ActivityCall, PersonID: p.ID, JobID: randomID("job"), Summary: "x", OccurredAt: base}},
		} {
			_, err := e.s.LogActivity(e.ctx, e.t1, tc.a)
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		got, err = e.s.RecentActivities(e.ctx, e.t1, p.ID, 0)
		e.must(err, "RecentActivities")
		if len(got) != 3 {
			e.t.Errorf("invalid activities were written: %d", len(got))
		}
		_, err = e.s.RecentActivities(e.ctx, e.t1, randomID("per"), 0)
		e.wantErr(err, crm.ErrNotFound, "RecentActivities unknown person")
	}},
	{"timeline", func(e *env) {
		c := e.company(e.t1, nil)
		j := e.job(e.t1, c.ID, nil)
		p := e.person(e.t1, nil)
		other := e.person(e.t1, nil)
		e.clk.Set(epoch.Add(day))
		n, err := e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: p.ID, Body: "First impression: sharp."})
		e.must(err, "AddNote")
		e.clk.Set(epoch.Add(2 * day))
		a := e.app(e.t1, j.ID, p.ID)
		e.clk.Set(epoch.Add(3 * day))
		tk, err := e.s.CreateTask(e.ctx, e.t1, crm.Task{Title: "Send offer letter", AssigneeID: e.u1.ID, PersonID: p.ID, JobID: j.ID})
		e.must(err, "CreateTask")
		e.clk.Set(epoch.Add(4 * day))
		e.move(e.t1, a.ID, crm.StageScreening, "")
		act, err := e.s.LogActivity(e.ctx, e.t1, crm.Activity{Kind: crm.ActivityCall, PersonID: p.ID, Summary: "Screen call", OccurredAt: epoch.Add(5 * day)})
		e.must(err, "LogActivity")
		// Noise: another person and another tenant.
		_, err = e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: other.ID, Body: "not about p"})
		e.must(err, "AddNote other")
		p2 := e.person(e.t2, nil)
		_, err = e.s.AddNote(e.ctx, e.t2, crm.Note{PersonID: p2.ID, Body: e.canary})
		e.must(err, "AddNote t2")

		got, err := e.s.Timeline(e.ctx, e.t1, p.ID, 0)
		e.must(err, "Timeline")
		want := []crm.TimelineEntry{
			{At: epoch.Add(5 * day), Kind: "activity", ID: act.ID, Summary: "Screen call", PersonID: p.ID},
			{At: epoch.Add(4 * day), Kind: "stage_change", ID: a.ID, JobID: j.ID, PersonID: p.ID},
			{At: epoch.Add(3 * day), Kind: "task", ID: tk.ID, Summary: "Send offer letter", JobID: j.ID, PersonID: p.ID},
			{At: epoch.Add(2 * day), Kind: "stage_change", ID: a.ID, JobID: j.ID, PersonID: p.ID},
			{At: epoch.Add(day), Kind: "note", ID: n.ID, Summary: "First impression: sharp.", PersonID: p.ID},
		}
		equalIDs(e, "Timeline", ids(want, entryID), ids(got, entryID))
		if len(got) == len(want) {
			for i := range want {
				g := got[i]
				if g.At.Sub(want[i].At).Abs() > time.Second || g.JobID != want[i].JobID || g.PersonID != p.ID ||
					(want[i].Summary != "" && g.Summary != want[i].Summary) || g.Summary == "" {
					e.t.Errorf("Timeline[%d] = %+v, want %+v", i, g, want[i])
				}
			}
		}
		got, err = e.s.Timeline(e.ctx, e.t1, p.ID, 2)
		e.must(err, "Timeline limit")
		equalIDs(e, "Timeline limit", ids(want[:2], entryID), ids(got, entryID))
		_, err = e.s.Timeline(e.ctx, e.t1, randomID("per"), 0)
		e.wantErr(err, crm.ErrNotFound, "Timeline unknown person")
	}},
}

var taskTests = []test{
	{"create and complete", func(e *env) {
		c := e.company(e.t1, nil)
		j := e.job(e.t1, c.ID, nil)
		p := e.person(e.t1, nil)
		due := epoch.Add(3 * day)
		in := crm.Task{ID: "tsk_mine", TenantID: e.t2, Title: "Call back", DueAt: due, AssigneeID: e.u1.ID, PersonID: p.ID, JobID: j.ID, Done: true, CompletedAt: epoch}
		tk, err := e.s.CreateTask(e.ctx, e.t1, in)
		e.must(err, "CreateTask")
		want := in
		want.ID, want.TenantID, want.CreatedAt, want.Done, want.CompletedAt = tk.ID, e.t1, tk.CreatedAt, false, time.Time{}
		if !strings.HasPrefix(tk.ID, "tsk_") || tk.CreatedAt.IsZero() {
			e.t.Errorf("CreateTask = %+v", tk)
		}
		equal(e, "created (never born done)", normTask(want), normTask(tk))
		e.clk.Advance(time.Hour)
		done, err := e.s.CompleteTask(e.ctx, e.t1, tk.ID, e.u1.ID)
		e.must(err, "CompleteTask")
		if !done.Done || done.CompletedAt.Before(tk.CreatedAt.Add(time.Hour)) {
			e.t.Errorf("CompleteTask = %+v", done)
		}
		e.clk.Advance(time.Hour)
		again, err := e.s.CompleteTask(e.ctx, e.t1, tk.ID, e.u1.ID)
		e.must(err, "CompleteTask again")
		equal(e, "idempotent complete", normTask(done), normTask(again))
		_, err = e.s.CompleteTask(e.ctx, e.t1, randomID("tsk"), e.u1.ID)
		e.wantErr(err, crm.ErrNotFound, "CompleteTask unknown")
	}},
	{"invalid", func(e *env) {
		p2 := e.person(e.t2, nil)
		for _, tc := range []struct {
			name string
			tk   crm.Task
		}{
			{"no assignee", crm.Task{Title: "x"}},
			{"no title", crm.Task{AssigneeID: e.u1.ID, Title: " "}},
			{"unknown person", crm.Task{AssigneeID: e.u1.ID, Title: "x", PersonID: randomID("per")}},
			{"foreign person", crm.Task{AssigneeID: e.u1.ID, Title: "x", PersonID: p2.ID}},
			{"unknown job", crm.Task{AssigneeID: e.u1.ID, Title: "x", JobID: randomID("job")}},
		} {
			_, err := e.s.CreateTask(e.ctx, e.t1, tc.tk)
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		got, err := e.s.ListTasks(e.ctx, e.t1, crm.TaskQuery{IncludeDone: true})
		e.must(err, "ListTasks")
		if len(got) != 0 {
			e.t.Errorf("invalid tasks were written: %v", got)
		}
	}},
	{"list filters and order", func(e *env) {
		c := e.company(e.t1, nil)
		j := e.job(e.t1, c.ID, nil)
		p := e.person(e.t1, nil)
		other := e.user(e.t1, "other", crm.RoleRecruiter)
		mk := func(title string, due time.Time, assignee, person, job string) crm.Task {
			tk, err := e.s.CreateTask(e.ctx, e.t1, crm.Task{Title: title, DueAt: due, AssigneeID: assignee, PersonID: person, JobID: job})
			e.must(err, "CreateTask")
			return tk
		}
		noDue1 := mk("no due 1", time.Time{}, e.u1.ID, p.ID, "")
		late := mk("late", epoch.Add(5*day), e.u1.ID, "", j.ID)
		early := mk("early", epoch.Add(1*day), e.u1.ID, p.ID, "")
		noDue2 := mk("no due 2", time.Time{}, e.u1.ID, "", "")
		sameDue := mk("same due as early", epoch.Add(1*day), e.u1.ID, "", "")
		theirs := mk("theirs", epoch.Add(2*day), other.ID, p.ID, j.ID)
		done := mk("done", epoch.Add(3*day), e.u1.ID, p.ID, "")
		_, err := e.s.CompleteTask(e.ctx, e.t1, done.ID, e.u1.ID)
		e.must(err, "CompleteTask")
		_, err = e.s.CreateTask(e.ctx, e.t2, crm.Task{Title: e.canary, AssigneeID: e.u2.ID})
		e.must(err, "CreateTask t2")
		for _, tc := range []struct {
			name string
			q    crm.TaskQuery
			want []crm.Task
		}{
			{"open for assignee", crm.TaskQuery{AssigneeID: e.u1.ID}, []crm.Task{early, sameDue, late, noDue1, noDue2}},
			{"all for assignee", crm.TaskQuery{AssigneeID: e.u1.ID, IncludeDone: true}, []crm.Task{early, sameDue, done, late, noDue1, noDue2}},
			{"person", crm.TaskQuery{PersonID: p.ID}, []crm.Task{early, theirs, noDue1}},
			{"job", crm.TaskQuery{JobID: j.ID}, []crm.Task{theirs, late}},
			{"assignee and person", crm.TaskQuery{AssigneeID: other.ID, PersonID: p.ID}, []crm.Task{theirs}},
			{"due before exclusive", crm.TaskQuery{DueBefore: epoch.Add(2 * day)}, []crm.Task{early, sameDue}},
			{"no filter", crm.TaskQuery{}, []crm.Task{early, sameDue, theirs, late, noDue1, noDue2}},
			{"limit", crm.TaskQuery{Limit: 2}, []crm.Task{early, sameDue}},
			{"foreign assignee", crm.TaskQuery{AssigneeID: e.u2.ID}, nil},
			{"unknown person", crm.TaskQuery{PersonID: randomID("per")}, nil},
		} {
			got, err := e.s.ListTasks(e.ctx, e.t1, tc.q)
			e.must(err, tc.name)
			equalIDs(e, tc.name, ids(tc.want, taskID), ids(got, taskID))
			if tc.name == "open for assignee" && len(got) > 0 {
				equal(e, "listed task", normTask(early), normTask(got[0]))
			}
		}
	}},
}
