package crmtools

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

// maxPipeline is how many applications getPipeline lists.
const maxPipeline = 200

type getPipelineIn struct {
	JobID string    `json:"jobId" jsonschema:"The job's id (job_…)."`
	Stage crm.Stage `json:"stage,omitempty" jsonschema:"Only people at this stage."`
}

type pipelineOut struct {
	JobID        string        `json:"jobId"`
	JobTitle     string        `json:"jobTitle"`
	Counts       []stageCount  `json:"counts" jsonschema:"How many people are at each stage, in funnel order (whole pipeline)."`
	Total        int           `json:"total" jsonschema:"How many applications match (all stages, or the stage asked for)."`
	Applications []application `json:"applications" jsonschema:"The applications, by stage then last change (at most 200)."`
}

type addToPipelineIn struct {
	PersonID string    `json:"personId" jsonschema:"The person's id (per_…)."`
	JobID    string    `json:"jobId" jsonschema:"The job's id (job_…)."`
	Stage    crm.Stage `json:"stage,omitempty" jsonschema:"The stage to start at; default sourced."`
	Reason   string    `json:"reason,omitempty" jsonschema:"Required when stage is rejected: why."`
}

type moveStageIn struct {
	ApplicationID string    `json:"applicationId" jsonschema:"The application's id (app_…), from getPersonInfo or getPipeline."`
	Stage         crm.Stage `json:"stage" jsonschema:"The stage to move to."`
	Reason        string    `json:"reason,omitempty" jsonschema:"Why; required when moving to rejected."`
	StartDate     string    `json:"startDate,omitempty" jsonschema:"Only with stage hired: the agreed start date (2025-01-31)."`
	Salary        *int64    `json:"salary,omitempty" jsonschema:"Only with stage hired: the agreed yearly salary, in currency units (0 or more)."`
	Fee           *int64    `json:"fee,omitempty" jsonschema:"Only with stage hired: the agency's fee for the placement, in currency units (0 or more)."`
	Currency      string    `json:"currency,omitempty" jsonschema:"Only with stage hired: ISO 4217 code of salary and fee, e.g. EUR."`
}

// hasPlacementDetails reports whether any placement detail was given.
func (in *moveStageIn) hasPlacementDetails() bool {
	return in.StartDate != "" || in.Salary != nil || in.Fee != nil || in.Currency != ""
}

type moveStageOut struct {
	Application application `json:"application" jsonschema:"The application as stored now, with its stage history."`
	Changed     bool        `json:"changed" jsonschema:"False when the call changed nothing (already at the stage)."`
	Placement   *placement  `json:"placement,omitempty" jsonschema:"With stage hired: the placement (the record of the hire), with its start date, salary and fee if given."`
}

type applicationOut struct {
	Application application `json:"application" jsonschema:"The application as stored now, with its stage history."`
	// Changed is false when nothing was written.
	Changed bool `json:"changed" jsonschema:"False when the call changed nothing (already in the pipeline, already at the stage)."`
}

func pipelineTools(d *deps) []tools.Registered {
	return []tools.Registered{
		newTool(d, spec{
			name: "getPipeline", title: "Get a job's pipeline", toolset: ToolsetPipeline, scope: identity.ScopeRead, effect: reads,
			description: "Who is in one job's pipeline: every application with the person's name, stage and last change, grouped by stage, optionally only one stage. " +
				"Use getJobInfo for the job itself and stage counts only, pipelineReport for conversion and time in stage, and getPersonInfo for one person's pipelines across jobs.",
		}, getPipeline, renderPipeline),
		newTool(d, spec{
			name: "addToPipeline", title: "Add a person to a job's pipeline", toolset: ToolsetPipeline, scope: identity.ScopeWrite, effect: addsOnce,
			description: "Put a person into a job's pipeline (an application), at sourced unless you say otherwise. If they are already in it, nothing changes and the existing application is returned. " +
				"To move someone already in the pipeline, use moveStage.",
			invalid: "personId and jobId must be a person and a job in your CRM, and a start at rejected needs a reason.",
		}, addToPipeline, renderApplicationOut),
		newTool(d, spec{
			name: "moveStage", title: "Move an application to another stage", toolset: ToolsetPipeline, scope: identity.ScopeWrite, effect: overwrites,
			description: "Move a person's application to another pipeline stage (sourced, screening, interview, offer, hired, rejected), forwards or back. " +
				"hired is final and records the placement: give startDate, salary, fee and currency with stage hired to record the deal (they are refused with any other stage). " +
				"rejected needs a reason, and a rejected application goes back into the funnel before it can be hired. Moving to the stage it is already at changes nothing. " +
				"To add someone to a pipeline, use addToPipeline; to see placements, use getJobInfo or getPersonInfo.",
			invalid: "an application cannot leave hired or go from rejected straight to hired, moving to rejected needs a reason, salary and fee must be 0 or more, currency a three-letter code like EUR, and startDate a date like 2025-01-31 between 1900 and 2200.",
		}, moveStage, renderMoveStage),
	}
}

func getPipeline(ctx context.Context, c *call, in getPipelineIn) (pipelineOut, error) {
	var (
		j    crm.Job
		apps []crm.Application
	)
	errs := fanout(ctx,
		func(ctx context.Context) (err error) { j, err = c.crm.GetJob(ctx, in.JobID); return err },
		func(ctx context.Context) (err error) { apps, err = c.crm.JobPipeline(ctx, in.JobID); return err },
	)
	if err := c.firstErr(errs, "job", in.JobID); err != nil {
		return pipelineOut{}, err
	}
	out := pipelineOut{JobID: j.ID, JobTitle: j.Title, Counts: countStages(apps), Applications: []application{}}
	var shown []crm.Application
	for _, a := range apps {
		if in.Stage == "" || a.Stage == in.Stage {
			out.Total++
			if len(shown) < maxPipeline {
				shown = append(shown, a)
			}
		}
	}
	if len(shown) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(shown))
	for _, a := range shown {
		ids = append(ids, a.PersonID)
	}
	people, err := c.crm.GetPeople(ctx, ids)
	if err != nil {
		return pipelineOut{}, c.crmErr(err, "", "")
	}
	names := make(map[string]string, len(people))
	for _, p := range people {
		names[p.ID] = fullName(p)
	}
	for _, a := range shown {
		ap := toApplication(a, false)
		ap.JobTitle, ap.PersonName = j.Title, names[a.PersonID]
		out.Applications = append(out.Applications, ap)
	}
	return out, nil
}

func renderPipeline(o *pipelineOut) string {
	var b strings.Builder
	parts := make([]string, 0, len(o.Counts))
	for _, s := range o.Counts {
		parts = append(parts, fmt.Sprintf("%s %d", s.Stage, s.Count))
	}
	fmt.Fprintf(&b, "Pipeline of %s (job %s): %s.\n\n", orDash(o.JobTitle), o.JobID, strings.Join(parts, ", "))
	if len(o.Applications) == 0 {
		b.WriteString("No applications to show.\n")
		return b.String()
	}
	if o.Total > len(o.Applications) {
		fmt.Fprintf(&b, "Showing the first %d of %d applications; ask for one stage to see the others.\n\n", len(o.Applications), o.Total)
	}
	rows := make([][]string, 0, len(o.Applications))
	for _, a := range o.Applications {
		rows = append(rows, []string{a.ID, a.PersonName, a.PersonID, stageText(a.Stage, a.RejectReason), dayOf(a.UpdatedAt)})
	}
	table(&b, []string{"Application", "Person", "Person ID", "Stage", "Updated"}, rows)
	return b.String()
}

func addToPipeline(ctx context.Context, c *call, in addToPipelineIn) (applicationOut, error) {
	stage := in.Stage
	if stage == "" {
		stage = crm.StageSourced
	}
	if stage == crm.StageRejected && strings.TrimSpace(in.Reason) == "" {
		return applicationOut{}, invalidf("a start at rejected needs a reason.")
	}
	a, err := c.crm.AddToPipeline(ctx, crm.Application{JobID: in.JobID, PersonID: in.PersonID, Stage: stage, RejectReason: in.Reason})
	if errors.Is(err, crm.ErrConflict) {
		// Already there: answer with the existing application, so that a
		// retried call is harmless.
		apps, lerr := c.crm.PersonApplications(ctx, in.PersonID)
		if lerr != nil {
			return applicationOut{}, c.crmErr(lerr, "person", in.PersonID)
		}
		for _, x := range apps {
			if x.JobID == in.JobID {
				return applicationOut{Application: toApplication(x, true)}, nil
			}
		}
		return applicationOut{}, c.crmErr(err, "", "")
	}
	if err != nil {
		return applicationOut{}, c.crmErr(err, "", "")
	}
	return applicationOut{Application: toApplication(a, true), Changed: true}, nil
}

func moveStage(ctx context.Context, c *call, in moveStageIn) (moveStageOut, error) {
	details := in.hasPlacementDetails()
	if details && in.Stage != crm.StageHired {
		return moveStageOut{}, invalidf("startDate, salary, fee and currency record a placement: give them only with stage hired.")
	}
	var p crm.Placement
	if details {
		if in.StartDate != "" {
			t, err := parseWhen("startDate", in.StartDate)
			if err != nil {
				return moveStageOut{}, err
			}
			p.StartDate = t
		}
		if in.Salary != nil {
			p.Salary = *in.Salary
		}
		if in.Fee != nil {
			p.Fee = *in.Fee
		}
		p.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
		if err := p.Validate(); err != nil {
			return moveStageOut{}, invalidf("salary and fee must be 0 or more (and below %d), currency a three-letter code like EUR, and startDate between 1900 and 2200.", int64(crm.MaxAmount))
		}
	}
	cur, err := c.crm.GetApplication(ctx, in.ApplicationID)
	if err != nil {
		return moveStageOut{}, c.crmErr(err, "application", in.ApplicationID)
	}
	switch {
	case cur.Stage == in.Stage && in.Stage == crm.StageHired:
		if details {
			return moveStageOut{}, invalidf("this application is already at hired; its placement was recorded then and cannot be changed.")
		}
		return moveStageOut{Application: toApplication(cur, true), Placement: c.placementOf(ctx, cur)}, nil
	case cur.Stage == in.Stage:
		return moveStageOut{Application: toApplication(cur, true)}, nil
	case cur.Stage == crm.StageHired:
		return moveStageOut{}, invalidf("this application is at hired, which is final.")
	case in.Stage == crm.StageRejected && strings.TrimSpace(in.Reason) == "":
		return moveStageOut{}, invalidf("moving to rejected needs a reason.")
	case cur.Stage == crm.StageRejected && in.Stage == crm.StageHired:
		return moveStageOut{}, invalidf("this application is at rejected; move it back into the funnel (e.g. to offer) before hiring.")
	}
	if in.Stage == crm.StageHired {
		a, plc, err := c.crm.Hire(ctx, in.ApplicationID, p)
		if err != nil {
			return moveStageOut{}, c.crmErr(err, "application", in.ApplicationID)
		}
		pl := toPlacement(plc)
		return moveStageOut{Application: toApplication(a, true), Changed: true, Placement: &pl}, nil
	}
	a, err := c.crm.MoveStage(ctx, in.ApplicationID, in.Stage, in.Reason)
	if err != nil {
		return moveStageOut{}, c.crmErr(err, "application", in.ApplicationID)
	}
	return moveStageOut{Application: toApplication(a, true), Changed: true}, nil
}

// placementOf looks up the placement of a hired application, for an
// answer that changed nothing: a failure only leaves it out.
func (c *call) placementOf(ctx context.Context, a crm.Application) *placement {
	ps, err := c.crm.Placements(ctx, crm.PlacementQuery{JobID: a.JobID, PersonID: a.PersonID, Limit: crm.MaxLimit})
	if err != nil {
		return nil
	}
	for _, p := range ps {
		if p.ApplicationID == a.ID {
			pl := toPlacement(p)
			return &pl
		}
	}
	return nil
}

func renderMoveStage(o *moveStageOut) string {
	var b strings.Builder
	b.WriteString(renderApplicationOut(&applicationOut{Application: o.Application, Changed: o.Changed}))
	if o.Placement != nil {
		verb := "recorded"
		if !o.Changed {
			verb = "recorded earlier"
		}
		d := placementDetails(o.Placement)
		if d == "" {
			d = "no start date, salary or fee given"
		}
		fmt.Fprintf(&b, "\nPlacement %s %s (%s).\n", o.Placement.ID, verb, d)
	}
	return b.String()
}

func renderApplicationOut(o *applicationOut) string {
	var b strings.Builder
	a := &o.Application
	if o.Changed {
		fmt.Fprintf(&b, "Application %s (person %s, job %s) is now at %s.\n", a.ID, a.PersonID, a.JobID, stageText(a.Stage, a.RejectReason))
	} else {
		fmt.Fprintf(&b, "Nothing changed: application %s (person %s, job %s) is already at %s.\n", a.ID, a.PersonID, a.JobID, stageText(a.Stage, a.RejectReason))
	}
	if len(a.History) > 0 {
		b.WriteString("\nStage history (oldest first):\n")
		rows := make([][]string, 0, len(a.History))
		for _, h := range a.History {
			rows = append(rows, []string{h.At, orDash(h.From), h.To, h.Reason})
		}
		table(&b, []string{"At", "From", "To", "Reason"}, rows)
	}
	return b.String()
}
