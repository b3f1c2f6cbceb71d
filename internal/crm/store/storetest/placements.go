package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

func placementID(p crm.Placement) string { return p.ID }

func normPlacement(p crm.Placement) crm.Placement {
	p.StartDate, p.CreatedAt = normTime(p.StartDate), normTime(p.CreatedAt)
	return p
}

// placements lists q in tenantID, failing the test on an error.
func (e *env) placements(tenantID string, q crm.PlacementQuery) []crm.Placement {
	e.t.Helper()
	ps, err := e.s.Placements(e.ctx, tenantID, q)
	e.must(err, "Placements")
	return ps
}

// offer is an application in tenantID moved to offer, ready to hire.
func (e *env) offer(tenantID, jobID, personID string) crm.Application {
	e.t.Helper()
	a := e.app(tenantID, jobID, personID)
	return e.move(tenantID, a.ID, crm.StageOffer, "")
}

var startDate = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

var placementTests = []test{
	{"hire records one placement with the details", func(e *env) {
		p := newPipe(e, e.t1, 1)
		a := e.offer(e.t1, p.job.ID, p.people[0].ID)
		details := crm.Placement{
			// Ids, tenant and creator in the input are ignored: they come
			// from the application and the caller.
			ID: "plc_mine", TenantID: e.t2, ApplicationID: "app_other", JobID: "job_other", PersonID: "per_other", CreatedBy: e.u2.ID,
			StartDate: startDate, Salary: 95_000, Fee: 19_000, Currency: "EUR",
		}
		before := e.clk.peek()
		h, plc, err := e.s.Hire(e.ctx, e.t1, a.ID, e.u1.ID, details)
		e.must(err, "Hire")
		if h.Stage != crm.StageHired || len(h.History) != 3 || h.History[2].From != crm.StageOffer || h.History[2].To != crm.StageHired || h.History[2].UserID != e.u1.ID {
			e.t.Errorf("hired application = %+v", h)
		}
		want := crm.Placement{
			ID: plc.ID, TenantID: e.t1, ApplicationID: a.ID, JobID: p.job.ID, PersonID: p.people[0].ID,
			StartDate: startDate, Salary: 95_000, Fee: 19_000, Currency: "EUR", CreatedBy: e.u1.ID, CreatedAt: plc.CreatedAt,
		}
		equal(e, "placement", normPlacement(want), normPlacement(plc))
		if plc.ID == "plc_mine" || len(plc.ID) < 5 || plc.ID[:4] != "plc_" || plc.CreatedAt.Before(before) {
			e.t.Errorf("placement id %q, created %v (clock was %v)", plc.ID, plc.CreatedAt, before)
		}
		if !plc.CreatedAt.Equal(h.UpdatedAt) {
			e.t.Errorf("placement created %v, application hired %v: not one write", plc.CreatedAt, h.UpdatedAt)
		}
		equal(e, "reread application", normApp(h), normApp(e.getApp(e.t1, a.ID)))
		got := e.placements(e.t1, crm.PlacementQuery{JobID: p.job.ID})
		if len(got) != 1 {
			e.t.Fatalf("job has %d placements, want 1", len(got))
		}
		equal(e, "listed placement", normPlacement(plc), normPlacement(got[0]))
	}},
	{"move to hired records a placement without details", func(e *env) {
		p := newPipe(e, e.t1, 2)
		a := e.offer(e.t1, p.job.ID, p.people[0].ID)
		other := e.app(e.t1, p.job.ID, p.people[1].ID)
		e.move(e.t1, other.ID, crm.StageInterview, "") // not hired: no placement
		h := e.move(e.t1, a.ID, crm.StageHired, "")
		got := e.placements(e.t1, crm.PlacementQuery{JobID: p.job.ID})
		if len(got) != 1 {
			e.t.Fatalf("job has %d placements after one move to hired, want 1: %+v", len(got), got)
		}
		want := crm.Placement{ID: got[0].ID, TenantID: e.t1, ApplicationID: a.ID, JobID: p.job.ID, PersonID: p.people[0].ID, CreatedBy: e.u1.ID, CreatedAt: h.UpdatedAt}
		equal(e, "placement", normPlacement(want), normPlacement(got[0]))
	}},
	{"invalid details write nothing", func(e *env) {
		p := newPipe(e, e.t1, 1)
		a := e.offer(e.t1, p.job.ID, p.people[0].ID)
		for _, tc := range []struct {
			name string
			p    crm.Placement
		}{
			{"negative salary", crm.Placement{Salary: -1}},
			{"negative fee", crm.Placement{Fee: -5}},
			{"salary too large", crm.Placement{Salary: crm.MaxAmount}},
			{"fee too large", crm.Placement{Fee: crm.MaxAmount + 1}},
			{"lower-case currency", crm.Placement{Currency: "eur"}},
			{"currency too long", crm.Placement{Currency: "EURO"}},
			{"currency with a digit", crm.Placement{Currency: "EU1"}},
			{"start before 1900", crm.Placement{StartDate: crm.MinTime.Add(-24 * time.Hour)}},
			{"start after 2200", crm.Placement{StartDate: crm.MaxTime.Add(24 * time.Hour)}},
		} {
			_, _, err := e.s.Hire(e.ctx, e.t1, a.ID, e.u1.ID, tc.p)
			e.wantErr(err, crm.ErrInvalid, tc.name)
		}
		_, _, err := e.s.Hire(e.ctx, e.t1, a.ID, randomID("usr"), crm.Placement{})
		e.wantErr(err, crm.ErrInvalid, "unknown user")
		_, _, err = e.s.Hire(e.ctx, e.t1, a.ID, e.u2.ID, crm.Placement{})
		e.wantErr(err, crm.ErrInvalid, "another tenant's user")
		equal(e, "application unchanged", normApp(a), normApp(e.getApp(e.t1, a.ID)))
		if got := e.placements(e.t1, crm.PlacementQuery{}); len(got) != 0 {
			e.t.Errorf("placements after refused hires: %+v", got)
		}
	}},
	{"hire twice or from rejected is invalid", func(e *env) {
		p := newPipe(e, e.t1, 2)
		a := e.offer(e.t1, p.job.ID, p.people[0].ID)
		h, first, err := e.s.Hire(e.ctx, e.t1, a.ID, e.u1.ID, crm.Placement{Salary: 1})
		e.must(err, "Hire")
		_, _, err = e.s.Hire(e.ctx, e.t1, a.ID, e.u1.ID, crm.Placement{Salary: 2})
		e.wantErr(err, crm.ErrInvalid, "second Hire")
		_, err = e.s.MoveStage(e.ctx, e.t1, a.ID, crm.StageHired, e.u1.ID, "")
		e.wantErr(err, crm.ErrInvalid, "MoveStage to hired after Hire")
		equal(e, "hired application unchanged", normApp(h), normApp(e.getApp(e.t1, a.ID)))
		got := e.placements(e.t1, crm.PlacementQuery{PersonID: p.people[0].ID})
		if len(got) != 1 || got[0].ID != first.ID || got[0].Salary != 1 {
			e.t.Errorf("placements after hiring twice = %+v, want only %s", got, first.ID)
		}

		r := e.app(e.t1, p.job.ID, p.people[1].ID)
		r = e.move(e.t1, r.ID, crm.StageRejected, "withdrew")
		_, _, err = e.s.Hire(e.ctx, e.t1, r.ID, e.u1.ID, crm.Placement{})
		e.wantErr(err, crm.ErrInvalid, "Hire from rejected")
		_, err = e.s.MoveStage(e.ctx, e.t1, r.ID, crm.StageHired, e.u1.ID, "")
		e.wantErr(err, crm.ErrInvalid, "MoveStage from rejected to hired")
		equal(e, "rejected application unchanged", normApp(r), normApp(e.getApp(e.t1, r.ID)))
		if got := e.placements(e.t1, crm.PlacementQuery{PersonID: p.people[1].ID}); len(got) != 0 {
			e.t.Errorf("rejected person has placements: %+v", got)
		}
		// Back into the funnel first, then hired: allowed.
		e.move(e.t1, r.ID, crm.StageOffer, "")
		e.move(e.t1, r.ID, crm.StageHired, "")
		if got := e.placements(e.t1, crm.PlacementQuery{PersonID: p.people[1].ID}); len(got) != 1 {
			e.t.Errorf("placements after rejected → offer → hired: %+v, want 1", got)
		}
	}},
	{"placements by job and by person, newest first, limit", func(e *env) {
		c := e.company(e.t1, nil)
		j1, j2 := e.job(e.t1, c.ID, nil), e.job(e.t1, c.ID, nil)
		ann, bo, cy := e.person(e.t1, nil), e.person(e.t1, nil), e.person(e.t1, nil)
		hire := func(jobID, personID string, salary int64) crm.Placement {
			e.t.Helper()
			a := e.offer(e.t1, jobID, personID)
			e.clk.Advance(time.Hour)
			_, plc, err := e.s.Hire(e.ctx, e.t1, a.ID, e.u1.ID, crm.Placement{Salary: salary})
			e.must(err, "Hire")
			return plc
		}
		p1 := hire(j1.ID, ann.ID, 1)
		p2 := hire(j1.ID, bo.ID, 2)
		p3 := hire(j2.ID, ann.ID, 3)
		p4 := hire(j1.ID, cy.ID, 4)
		equalIDs(e, "by job 1", []string{p4.ID, p2.ID, p1.ID}, ids(e.placements(e.t1, crm.PlacementQuery{JobID: j1.ID}), placementID))
		equalIDs(e, "by job 2", []string{p3.ID}, ids(e.placements(e.t1, crm.PlacementQuery{JobID: j2.ID}), placementID))
		equalIDs(e, "by person", []string{p3.ID, p1.ID}, ids(e.placements(e.t1, crm.PlacementQuery{PersonID: ann.ID}), placementID))
		equalIDs(e, "by job and person", []string{p1.ID}, ids(e.placements(e.t1, crm.PlacementQuery{JobID: j1.ID, PersonID: ann.ID}), placementID))
		equalIDs(e, "whole tenant", []string{p4.ID, p3.ID, p2.ID, p1.ID}, ids(e.placements(e.t1, crm.PlacementQuery{}), placementID))
		equalIDs(e, "limit 2", []string{p4.ID, p3.ID}, ids(e.placements(e.t1, crm.PlacementQuery{Limit: 2}), placementID))
		equalIDs(e, "by job, limit 1", []string{p4.ID}, ids(e.placements(e.t1, crm.PlacementQuery{JobID: j1.ID, Limit: 1}), placementID))
		none := e.placements(e.t1, crm.PlacementQuery{PersonID: e.person(e.t1, nil).ID})
		if none == nil || len(none) != 0 {
			e.t.Errorf("placements of a person never hired = %#v, want an empty list", none)
		}
		_, err := e.s.Placements(e.ctx, e.t1, crm.PlacementQuery{JobID: randomID("job")})
		e.wantErr(err, crm.ErrNotFound, "Placements of an unknown job")
		_, err = e.s.Placements(e.ctx, e.t1, crm.PlacementQuery{PersonID: randomID("per")})
		e.wantErr(err, crm.ErrNotFound, "Placements of an unknown person")
	}},
	{"another tenant's ids and placements", func(e *env) {
		mine := newPipe(e, e.t1, 1)
		theirs := newPipe(e, e.t2, 1)
		ma := e.offer(e.t1, mine.job.ID, mine.people[0].ID)
		ta := e.offer(e.t2, theirs.job.ID, theirs.people[0].ID)
		_, theirPlc, err := e.s.Hire(e.ctx, e.t2, ta.ID, e.u2.ID, crm.Placement{Salary: 7, Currency: "GBP"})
		e.must(err, "Hire in tenant 2")
		// Hiring tenant 1's application from tenant 2 fails exactly like an
		// unknown id, and writes nothing.
		e.sameMissing("Hire", crm.ErrNotFound, func(id string) error {
			_, _, err := e.s.Hire(e.ctx, e.t2, id, e.u2.ID, crm.Placement{Salary: 1})
			return err
		}, ma.ID, randomID("app"))
		e.sameMissing("MoveStage to hired", crm.ErrNotFound, func(id string) error {
			_, err := e.s.MoveStage(e.ctx, e.t2, id, crm.StageHired, e.u2.ID, "")
			return err
		}, ma.ID, randomID("app"))
		equal(e, "tenant 1's application unchanged", normApp(ma), normApp(e.getApp(e.t1, ma.ID)))
		e.sameMissing("Placements by job", crm.ErrNotFound, func(id string) error {
			_, err := e.s.Placements(e.ctx, e.t1, crm.PlacementQuery{JobID: id})
			return err
		}, theirs.job.ID, randomID("job"))
		e.sameMissing("Placements by person", crm.ErrNotFound, func(id string) error {
			_, err := e.s.Placements(e.ctx, e.t1, crm.PlacementQuery{PersonID: id})
			return err
		}, theirs.people[0].ID, randomID("per"))
		if got := e.placements(e.t1, crm.PlacementQuery{}); len(got) != 0 {
			e.t.Errorf("tenant 1 lists tenant 2's placements: %+v", got)
		}
		_, minePlc, err := e.s.Hire(e.ctx, e.t1, ma.ID, e.u1.ID, crm.Placement{})
		e.must(err, "Hire in tenant 1")
		equalIDs(e, "tenant 1's placements", []string{minePlc.ID}, ids(e.placements(e.t1, crm.PlacementQuery{Limit: crm.MaxLimit}), placementID))
		equalIDs(e, "tenant 2's placements", []string{theirPlc.ID}, ids(e.placements(e.t2, crm.PlacementQuery{Limit: crm.MaxLimit}), placementID))
	}},
	{"concurrent hires of one application record one placement", func(e *env) {
		p := newPipe(e, e.t1, 1)
		a := e.offer(e.t1, p.job.ID, p.people[0].ID)
		var ok, invalid atomic.Int64
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					_, _, err = e.s.Hire(e.ctx, e.t1, a.ID, e.u1.ID, crm.Placement{Salary: int64(i + 1)})
				} else {
					_, err = e.s.MoveStage(e.ctx, e.t1, a.ID, crm.StageHired, e.u1.ID, "")
				}
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, crm.ErrInvalid): // already hired
					invalid.Add(1)
				case errors.Is(err, crm.ErrUnavailable): // busy: allowed, nothing written
				default:
					e.t.Errorf("hire: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			e.t.Errorf("%d hires succeeded (%d refused), want exactly 1", ok.Load(), invalid.Load())
		}
		got := e.placements(e.t1, crm.PlacementQuery{JobID: p.job.ID})
		if len(got) != 1 || got[0].ApplicationID != a.ID {
			e.t.Errorf("placements after concurrent hires = %+v, want exactly one", got)
		}
		h := e.getApp(e.t1, a.ID)
		if h.Stage != crm.StageHired || len(h.History) != 3 {
			e.t.Errorf("application after concurrent hires = %+v, want hired once", h)
		}
	}},
}
