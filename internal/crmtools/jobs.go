package crmtools

import (
	"context"
	"fmt"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

var jobSearch = pager{tool: "searchJobs", kind: "jobs", noun: "job"}

type jobFilters struct {
	Status    crm.JobStatus `json:"status,omitempty" jsonschema:"Only jobs with this status."`
	CompanyID string        `json:"companyId,omitempty" jsonschema:"Only this client company's jobs."`
	OwnerID   string        `json:"ownerId,omitempty" jsonschema:"Only jobs owned by this CRM user id."`
	Location  string        `json:"location,omitempty" jsonschema:"Part of the location, case-insensitive."`
}

type searchJobsIn struct {
	Query   string     `json:"query,omitempty" jsonschema:"Free text over title, description and company name; every word must match. Leave empty to list by most recently updated."`
	Filters jobFilters `json:"filters,omitzero" jsonschema:"Optional filters, all of which must hold."`
	pageIn
}

type getJobInfoIn struct {
	JobID string `json:"jobId" jsonschema:"The job's id (job_…), from searchJobs or another tool."`
}

type stageCount struct {
	Stage string `json:"stage"`
	Count int    `json:"count"`
}

type jobInfo struct {
	Job         job          `json:"job" jsonschema:"The job, with its company's name."`
	Pipeline    []stageCount `json:"pipeline" jsonschema:"How many people are at each stage of the job's pipeline now, in funnel order."`
	InPipeline  int          `json:"inPipeline" jsonschema:"How many people are in the pipeline, at any stage."`
	RecentNotes []note       `json:"recentNotes" jsonschema:"The 5 most recent notes about the job."`
	Placements  []placement  `json:"placements" jsonschema:"The job's placements (hires), newest first (at most 5)."`
}

type createJobIn struct {
	CompanyID       string        `json:"companyId" jsonschema:"The client company's id (cmp_…, required)."`
	Title           string        `json:"title" jsonschema:"The position's title (required)."`
	Status          crm.JobStatus `json:"status,omitempty" jsonschema:"Default open."`
	Location        string        `json:"location,omitempty" jsonschema:"Where the job is, or Remote."`
	SalaryMin       int64         `json:"salaryMin,omitempty" jsonschema:"Yearly salary, lower bound, in currency units."`
	SalaryMax       int64         `json:"salaryMax,omitempty" jsonschema:"Yearly salary, upper bound, in currency units."`
	Currency        string        `json:"currency,omitempty" jsonschema:"ISO 4217 code, e.g. EUR."`
	Description     string        `json:"description,omitempty" jsonschema:"The job description."`
	HiringManagerID string        `json:"hiringManagerId,omitempty" jsonschema:"The client contact (person id) who hires."`
	OwnerID         string        `json:"ownerId,omitempty" jsonschema:"The owning CRM user's id; default: you."`
}

type updateJobIn struct {
	JobID           string         `json:"jobId" jsonschema:"The job's id (job_…)."`
	Title           *string        `json:"title,omitempty" jsonschema:"New title."`
	Status          *crm.JobStatus `json:"status,omitempty" jsonschema:"New status."`
	Location        *string        `json:"location,omitempty" jsonschema:"New location; empty clears it."`
	SalaryMin       *int64         `json:"salaryMin,omitempty" jsonschema:"New lower salary bound; 0 clears it."`
	SalaryMax       *int64         `json:"salaryMax,omitempty" jsonschema:"New upper salary bound; 0 clears it."`
	Currency        *string        `json:"currency,omitempty" jsonschema:"New ISO 4217 currency code."`
	Description     *string        `json:"description,omitempty" jsonschema:"New description (replaces the old one)."`
	HiringManagerID *string        `json:"hiringManagerId,omitempty" jsonschema:"New hiring manager (person id); empty clears it."`
	OwnerID         *string        `json:"ownerId,omitempty" jsonschema:"New owning CRM user id."`
}

type jobOut struct {
	Job job `json:"job" jsonschema:"The job as stored now."`
}

func jobTools(d *deps) []tools.Registered {
	return []tools.Registered{
		newTool(d, spec{
			name: "searchJobs", title: "Search jobs", toolset: ToolsetJobs, scope: identity.ScopeRead, effect: reads,
			description: "Find jobs (open positions and past ones) by free text, status, client company, owner or location. Returns one page of matches and a retrievalId; to see more, call searchJobs again with that retrievalId and the next page. " +
				"Use getJobInfo for one job's details and getPipeline for the people in it.",
		}, searchJobs, renderSearchJobs),
		newTool(d, spec{
			name: "getJobInfo", title: "Get everything about a job", toolset: ToolsetJobs, scope: identity.ScopeRead, effect: reads,
			description: "One job in one call: title, status, company, salary, description, how many people are at each pipeline stage, the 5 most recent notes and the latest placements (hires, with start date, salary and fee). " +
				"Use getPipeline to see who is in the pipeline, and pipelineReport for conversion rates and time in stage.",
		}, getJobInfo, renderJobInfo),
		newTool(d, spec{
			name: "createJob", title: "Create a job", toolset: ToolsetJobs, scope: identity.ScopeWrite, effect: adds,
			description: "Add a new job at a client company (create the company first with createCompany if it is new). To change a job that exists, use updateJob.",
			invalid:     "title and companyId are required and companyId must be a company in your CRM; the salary range must not be negative and salaryMin must not exceed salaryMax.",
		}, createJob, renderJobOut("Created")),
		newTool(d, spec{
			name: "updateJob", title: "Update a job", toolset: ToolsetJobs, scope: identity.ScopeWrite, effect: overwrites,
			description: "Change fields of an existing job, including its status (open, on_hold, filled, closed); fields you leave out stay as they are. To move a candidate in the job's pipeline, use moveStage.",
			invalid:     "title cannot be empty; the salary range must not be negative and salaryMin must not exceed salaryMax.",
		}, updateJob, renderJobOut("Updated")),
	}
}

func searchJobs(ctx context.Context, c *call, in searchJobsIn) (page[jobRow], error) {
	q := crm.JobQuery{
		Text: strings.TrimSpace(in.Query), Status: in.Filters.Status, CompanyID: in.Filters.CompanyID,
		OwnerID: in.Filters.OwnerID, Location: strings.TrimSpace(in.Filters.Location),
	}
	ids, out, err := run[jobRow](ctx, c, jobSearch, in.pageIn, func(limit int) (crm.SearchResult, error) {
		q.Limit = limit
		return c.crm.SearchJobs(ctx, q)
	})
	if err != nil || len(ids) == 0 {
		return out, err
	}
	js, err := c.crm.GetJobs(ctx, ids)
	if err != nil {
		return out, c.crmErr(err, "", "")
	}
	names, err := c.companyNames(ctx, js)
	if err != nil {
		return out, err
	}
	for _, j := range js {
		out.Results = append(out.Results, toJobRow(j, names[j.CompanyID]))
	}
	return out, nil
}

// companyNames looks up the names of the jobs' companies.
func (c *call) companyNames(ctx context.Context, js []crm.Job) (map[string]string, error) {
	names := map[string]string{}
	var ids []string
	for _, j := range js {
		if _, ok := names[j.CompanyID]; !ok && j.CompanyID != "" {
			names[j.CompanyID] = ""
			ids = append(ids, j.CompanyID)
		}
	}
	if len(ids) == 0 {
		return names, nil
	}
	cs, err := c.crm.GetCompanies(ctx, ids)
	if err != nil {
		return nil, c.crmErr(err, "", "")
	}
	for _, co := range cs {
		names[co.ID] = co.Name
	}
	return names, nil
}

func renderSearchJobs(p *page[jobRow]) string {
	return renderPage(jobSearch, p, []string{"ID", "Title", "Company", "Status", "Location"}, func(r jobRow) []string {
		return []string{r.ID, r.Title, r.CompanyName, r.Status, r.Location}
	})
}

func getJobInfo(ctx context.Context, c *call, in getJobInfoIn) (jobInfo, error) {
	id := in.JobID
	var (
		j     crm.Job
		apps  []crm.Application
		notes []crm.Note
		plcs  []crm.Placement
	)
	errs := fanout(ctx,
		func(ctx context.Context) (err error) { j, err = c.crm.GetJob(ctx, id); return err },
		func(ctx context.Context) (err error) { apps, err = c.crm.JobPipeline(ctx, id); return err },
		func(ctx context.Context) (err error) {
			notes, err = c.crm.RecentNotes(ctx, crm.Subject{JobID: id}, infoNotes)
			return err
		},
		func(ctx context.Context) (err error) {
			plcs, err = c.crm.Placements(ctx, crm.PlacementQuery{JobID: id, Limit: infoPlacements})
			return err
		},
	)
	if err := c.firstErr(errs, "job", id); err != nil {
		return jobInfo{}, err
	}
	names, err := c.companyNames(ctx, []crm.Job{j})
	if err != nil {
		return jobInfo{}, err
	}
	return jobInfo{
		Job:         toJob(j, names[j.CompanyID]),
		Pipeline:    countStages(apps),
		InPipeline:  len(apps),
		RecentNotes: mapSlice(firstNItems(notes, infoNotes), toNote),
		Placements:  mapSlice(firstNItems(plcs, infoPlacements), toPlacement),
	}, nil
}

func countStages(apps []crm.Application) []stageCount {
	n := map[crm.Stage]int{}
	for _, a := range apps {
		n[a.Stage]++
	}
	out := make([]stageCount, 0, len(crm.Stages))
	for _, s := range crm.Stages {
		out = append(out, stageCount{Stage: string(s), Count: n[s]})
	}
	return out
}

func renderJobInfo(o *jobInfo) string {
	var b strings.Builder
	writeJob(&b, &o.Job)
	b.WriteString("\n")
	parts := make([]string, 0, len(o.Pipeline))
	for _, s := range o.Pipeline {
		parts = append(parts, fmt.Sprintf("%s %d", s.Stage, s.Count))
	}
	fmt.Fprintf(&b, "Pipeline: %s in total (%s).\n", plural(o.InPipeline, "person"), strings.Join(parts, ", "))
	if o.InPipeline > 0 {
		fmt.Fprintf(&b, "To see who, call getPipeline with jobId: %q.\n", o.Job.ID)
	}
	b.WriteString("\n")
	writeNotes(&b, "Recent notes", o.RecentNotes)
	writePlacements(&b, "Placements", o.Placements)
	return b.String()
}

func writeJob(b *strings.Builder, j *job) {
	fmt.Fprintf(b, "%s (job, id %s)\n", orDash(j.Title), j.ID)
	line(b, "Status", j.Status)
	company := j.CompanyID
	if j.CompanyName != "" {
		company = j.CompanyName + " (" + j.CompanyID + ")"
	}
	line(b, "Company", company)
	line(b, "Location", j.Location)
	if j.SalaryMin > 0 || j.SalaryMax > 0 {
		line(b, "Salary", strings.TrimSpace(fmt.Sprintf("%d-%d %s", j.SalaryMin, j.SalaryMax, j.Currency)))
	}
	line(b, "Hiring manager", j.HiringManagerID)
	line(b, "Owner", j.OwnerID)
	line(b, "Updated", j.UpdatedAt)
	block(b, "Description", j.Description, 2000)
}

func createJob(ctx context.Context, c *call, in createJobIn) (jobOut, error) {
	status := in.Status
	if status == "" {
		status = crm.JobOpen
	}
	j, err := c.crm.CreateJob(ctx, crm.Job{
		CompanyID: in.CompanyID, Title: in.Title, Status: status, Location: in.Location,
		SalaryMin: in.SalaryMin, SalaryMax: in.SalaryMax, Currency: in.Currency, Description: in.Description,
		HiringManagerID: in.HiringManagerID, OwnerID: in.OwnerID,
	})
	if err != nil {
		return jobOut{}, c.crmErr(err, "", "")
	}
	return c.jobOut(ctx, j)
}

func updateJob(ctx context.Context, c *call, in updateJobIn) (jobOut, error) {
	patch := crm.JobPatch{
		Title: in.Title, Status: in.Status, Location: in.Location, SalaryMin: in.SalaryMin, SalaryMax: in.SalaryMax,
		Currency: in.Currency, Description: in.Description, HiringManagerID: in.HiringManagerID, OwnerID: in.OwnerID,
	}
	if patch == (crm.JobPatch{}) {
		return jobOut{}, invalidf("give at least one field to change besides jobId.")
	}
	j, err := c.crm.UpdateJob(ctx, in.JobID, patch)
	if err != nil {
		return jobOut{}, c.crmErr(err, "job", in.JobID)
	}
	return c.jobOut(ctx, j)
}

// jobOut is the answer of a write. The write succeeded, so a failure to
// look up the company's name only leaves the name out: an error would make
// the model retry, and create the job twice.
func (c *call) jobOut(ctx context.Context, j crm.Job) (jobOut, error) {
	names, _ := c.companyNames(ctx, []crm.Job{j})
	return jobOut{Job: toJob(j, names[j.CompanyID])}, nil
}

func renderJobOut(verb string) func(*jobOut) string {
	return func(o *jobOut) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s this job:\n", verb)
		writeJob(&b, &o.Job)
		return b.String()
	}
}
