package storetest

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

var concurrencyTests = []test{
	{"concurrent moves lose no history", func(e *env) {
		p := newPipe(e, e.t1, 1)
		a := e.app(e.t1, p.job.ID, p.people[0].ID)
		targets := []crm.Stage{crm.StageScreening, crm.StageInterview, crm.StageOffer, crm.StageSourced}
		var ok, invalid atomic.Int64
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				_, err := e.s.MoveStage(e.ctx, e.t1, a.ID, targets[i%len(targets)], e.u1.ID, "")
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, crm.ErrInvalid): // already at that stage
					invalid.Add(1)
				case errors.Is(err, crm.ErrUnavailable): // busy: allowed, nothing written
				default:
					e.t.Errorf("MoveStage: %v", err)
				}
			})
		}
		wg.Wait()
		got := e.getApp(e.t1, a.ID)
		if n := int(ok.Load()); len(got.History) != n+1 {
			e.t.Errorf("history has %d entries after %d successful moves (+1 for the add)", len(got.History), n)
		}
		if ok.Load() == 0 {
			e.t.Errorf("no move succeeded")
		}
		for i := 1; i < len(got.History); i++ {
			if got.History[i].From != got.History[i-1].To {
				e.t.Errorf("history is not a chain at %d: %+v", i, got.History)
				break
			}
		}
		if last := got.History[len(got.History)-1]; last.To != got.Stage {
			e.t.Errorf("stage %s but last history entry %+v", got.Stage, last)
		}
	}},
	{"concurrent adds have one winner", func(e *env) {
		p := newPipe(e, e.t1, 1)
		var ok, conflict atomic.Int64
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := e.s.AddToPipeline(e.ctx, e.t1, crm.Application{JobID: p.job.ID, PersonID: p.people[0].ID})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, crm.ErrConflict):
					conflict.Add(1)
				default:
					e.t.Errorf("AddToPipeline: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || conflict.Load() != 9 {
			e.t.Errorf("%d successes and %d conflicts, want 1 and 9", ok.Load(), conflict.Load())
		}
		list, err := e.s.JobPipeline(e.ctx, e.t1, p.job.ID)
		e.must(err, "JobPipeline")
		if len(list) != 1 || len(list[0].History) != 1 {
			e.t.Errorf("pipeline after concurrent adds = %+v", list)
		}
	}},
	{"concurrent notes all indexed", func(e *env) {
		p := e.person(e.t1, nil)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := e.s.AddNote(e.ctx, e.t1, crm.Note{PersonID: p.ID, Body: "parallel xylophone"}); err != nil {
					e.t.Errorf("AddNote: %v", err)
				}
			})
		}
		wg.Wait()
		notes, err := e.s.RecentNotes(e.ctx, e.t1, crm.Subject{PersonID: p.ID}, 0)
		e.must(err, "RecentNotes")
		res, err := e.s.SearchPeople(e.ctx, e.t1, crm.PeopleQuery{Text: "xylophone"})
		e.must(err, "SearchPeople")
		if len(notes) != 10 || res.Total != 1 {
			e.t.Errorf("%d notes, search total %d; want 10, 1", len(notes), res.Total)
		}
	}},
}
