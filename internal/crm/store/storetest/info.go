package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

// infoTests check crm.LoadPersonInfo, the CRM API's one-call read behind
// getPersonInfo, on each backend, and the snapshot read it runs in.
var infoTests = []test{
	{"person info in one snapshot", func(e *env) {
		snap, ok := e.s.(crm.Snapshotter)
		if !ok {
			e.t.Fatalf("%T is not a crm.Snapshotter: getPersonInfo would take a transaction per part", e.s)
		}
		c := e.company(e.t1, nil)
		j := e.job(e.t1, c.ID, func(j *crm.Job) { j.Title = "Data Engineer" })
		p := e.person(e.t1, nil)
		e.app(e.t1, j.ID, p.ID)
		_, err := e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: p.ID, Body: "first call went well"})
		e.must(err, "AddNote")
		lim := crm.InfoLimits{Notes: 5, Activities: 5, Tasks: 20}
		want, err := crm.LoadPersonInfo(e.ctx, e.s, e.t1, p.ID, lim)
		e.must(err, "LoadPersonInfo")
		got, err := crm.ReadPersonInfo(e.ctx, e.s, e.t1, p.ID, lim)
		e.must(err, "ReadPersonInfo")
		equal(e, "snapshot PersonInfo", fmt.Sprintf("%+v", want), fmt.Sprintf("%+v", got))
		_, err = crm.ReadPersonInfo(e.ctx, e.s, e.t2, p.ID, lim)
		e.wantErr(err, crm.ErrNotFound, "ReadPersonInfo other tenant")
		_, err = crm.ReadPersonInfo(e.ctx, e.s, e.t1, randomID("per"), lim)
		e.wantErr(err, crm.ErrNotFound, "ReadPersonInfo unknown")

		// Inside a snapshot, a change committed meanwhile is not seen;
		// after it, it is.
		err = snap.ReadSnapshot(e.ctx, e.t1, func(ctx context.Context) error {
			before, err := e.s.GetPerson(ctx, e.t1, p.ID)
			e.must(err, "GetPerson in snapshot")
			renamed := "Renamed"
			_, err = e.s.UpdatePerson(e.ctx, e.t1, p.ID, crm.PersonPatch{LastName: &renamed})
			e.must(err, "UpdatePerson outside the snapshot")
			again, err := e.s.GetPerson(ctx, e.t1, p.ID)
			e.must(err, "GetPerson in snapshot again")
			if again.LastName != before.LastName {
				e.t.Errorf("inside the snapshot LastName = %q, want %q as at its start", again.LastName, before.LastName)
			}
			return nil
		})
		e.must(err, "ReadSnapshot")
		after, err := e.s.GetPerson(e.ctx, e.t1, p.ID)
		e.must(err, "GetPerson after")
		if after.LastName != "Renamed" {
			e.t.Errorf("after the snapshot LastName = %q, want Renamed", after.LastName)
		}
		// An error inside comes back as it was.
		err = snap.ReadSnapshot(e.ctx, e.t1, func(ctx context.Context) error {
			_, err := e.s.GetPerson(ctx, e.t1, randomID("per"))
			return err
		})
		e.wantErr(err, crm.ErrNotFound, "ReadSnapshot passes the error through")
	}},
	{"person info", func(e *env) {
		c := e.company(e.t1, nil)
		j1 := e.job(e.t1, c.ID, func(j *crm.Job) { j.Title = "Staff Engineer" })
		j2 := e.job(e.t1, c.ID, func(j *crm.Job) { j.Title = "Platform Lead" })
		p := e.person(e.t1, nil)
		other := e.person(e.t1, nil)
		a1 := e.app(e.t1, j1.ID, p.ID)
		a2 := e.app(e.t1, j2.ID, p.ID)
		e.app(e.t1, j1.ID, other.ID)
		var notes []string
		for i := range 4 {
			n, err := e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: p.ID, Body: fmt.Sprint("note ", i)})
			e.must(err, "AddNote")
			notes = append([]string{n.ID}, notes...)
		}
		for i := range 3 {
			_, err := e.s.LogActivity(e.ctx, e.t1, crm.Activity{Kind: crm.ActivityCall, PersonID: p.ID, Summary: fmt.Sprint("call ", i), OccurredAt: epoch.Add(-time.Duration(i) * time.Hour)})
			e.must(err, "LogActivity")
		}
		open, err := e.s.CreateTask(e.ctx, e.t1, crm.Task{Title: "Call back", PersonID: p.ID, AssigneeID: e.u1.ID})
		e.must(err, "CreateTask")
		done, err := e.s.CreateTask(e.ctx, e.t1, crm.Task{Title: "Send contract", PersonID: p.ID, AssigneeID: e.u1.ID})
		e.must(err, "CreateTask")
		_, err = e.s.CompleteTask(e.ctx, e.t1, done.ID, e.u1.ID)
		e.must(err, "CompleteTask")

		got, err := crm.LoadPersonInfo(e.ctx, e.s, e.t1, p.ID, crm.InfoLimits{Notes: 2, Activities: 2, Tasks: 20})
		e.must(err, "LoadPersonInfo")
		if got.Person.ID != p.ID {
			e.t.Errorf("Person = %s, want %s", got.Person.ID, p.ID)
		}
		equalIDs(e, "Applications", []string{a2.ID, a1.ID}, ids(got.Applications, appID))
		if got.JobTitles[j1.ID] != "Staff Engineer" || got.JobTitles[j2.ID] != "Platform Lead" || len(got.JobTitles) != 2 {
			e.t.Errorf("JobTitles = %v", got.JobTitles)
		}
		equalIDs(e, "RecentNotes", notes[:2], ids(got.RecentNotes, noteID))
		if len(got.RecentActivities) != 2 {
			e.t.Errorf("RecentActivities: %d, want 2", len(got.RecentActivities))
		}
		equalIDs(e, "OpenTasks", []string{open.ID}, ids(got.OpenTasks, taskID))
		if len(got.Placements) != 0 {
			e.t.Errorf("Placements of a person never hired = %+v", got.Placements)
		}
		// Hired for job 1: the placement shows, another person's does not.
		e.move(e.t1, a1.ID, crm.StageOffer, "")
		_, plc, err := e.s.Hire(e.ctx, e.t1, a1.ID, e.u1.ID, crm.Placement{Salary: 120_000, Currency: "USD"})
		e.must(err, "Hire")
		oa := e.offer(e.t1, j2.ID, other.ID)
		_, _, err = e.s.Hire(e.ctx, e.t1, oa.ID, e.u1.ID, crm.Placement{})
		e.must(err, "Hire other")
		got, err = crm.LoadPersonInfo(e.ctx, e.s, e.t1, p.ID, crm.InfoLimits{Notes: 2, Activities: 2, Tasks: 20})
		e.must(err, "LoadPersonInfo after hire")
		if len(got.Placements) != 1 {
			e.t.Fatalf("Placements = %+v, want the one hire", got.Placements)
		}
		equal(e, "PersonInfo placement", normPlacement(plc), normPlacement(got.Placements[0]))

		// Nobody's person, and another tenant's, are not found.
		_, err = crm.LoadPersonInfo(e.ctx, e.s, e.t1, randomID("per"), crm.InfoLimits{Notes: 5, Activities: 5, Tasks: 5})
		e.wantErr(err, crm.ErrNotFound, "LoadPersonInfo unknown")
		_, err = crm.LoadPersonInfo(e.ctx, e.s, e.t2, p.ID, crm.InfoLimits{Notes: 5, Activities: 5, Tasks: 5})
		e.wantErr(err, crm.ErrNotFound, "LoadPersonInfo other tenant")
	}},
	{"person info of a new person", func(e *env) {
		p := e.person(e.t1, nil)
		got, err := crm.LoadPersonInfo(e.ctx, e.s, e.t1, p.ID, crm.InfoLimits{Notes: 5, Activities: 5, Tasks: 5})
		e.must(err, "LoadPersonInfo")
		if got.Person.ID != p.ID || len(got.Applications)+len(got.RecentNotes)+len(got.RecentActivities)+len(got.OpenTasks)+len(got.JobTitles) != 0 {
			e.t.Errorf("LoadPersonInfo of a new person = %+v", got)
		}
	}},
}
