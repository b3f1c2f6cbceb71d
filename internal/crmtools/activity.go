package crmtools

import (
	"context"
	"fmt"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

const defaultTimeline = 20

type addNoteIn struct {
	Body      string `json:"body" jsonschema:"The note's text (required)."`
	PersonID  string `json:"personId,omitempty" jsonschema:"The person the note is about (per_…)."`
	CompanyID string `json:"companyId,omitempty" jsonschema:"The company the note is about (cmp_…)."`
	JobID     string `json:"jobId,omitempty" jsonschema:"The job the note is about (job_…)."`
}

type noteOut struct {
	Note note `json:"note" jsonschema:"The note as stored."`
}

type logActivityIn struct {
	Kind       crm.ActivityKind `json:"kind" jsonschema:"What happened."`
	PersonID   string           `json:"personId" jsonschema:"The person it was with (per_…)."`
	Summary    string           `json:"summary" jsonschema:"What was said or agreed."`
	OccurredAt string           `json:"occurredAt,omitempty" jsonschema:"When (RFC 3339 time or a date); default now."`
	JobID      string           `json:"jobId,omitempty" jsonschema:"The job it was about, if any (job_…)."`
}

type activityOut struct {
	Activity activity `json:"activity" jsonschema:"The activity as stored."`
}

type getTimelineIn struct {
	PersonID string `json:"personId" jsonschema:"The person's id (per_…)."`
	Limit    int    `json:"limit,omitempty" jsonschema:"How many entries, newest first, 1-100. Default 20."`
}

type timelineOut struct {
	PersonID string          `json:"personId"`
	Entries  []timelineEntry `json:"entries" jsonschema:"Notes, activities, stage changes and tasks, newest first."`
}

func activityTools(d *deps) []tools.Registered {
	return []tools.Registered{
		newTool(d, spec{
			name: "addNote", title: "Add a note", toolset: ToolsetActivity, scope: identity.ScopeWrite, effect: adds,
			description: "Write a free-text note about a person, a company or a job (at least one of them). " +
				"For a call, email or meeting that happened, use logActivity; for something still to do, use createTask.",
			invalid: "the body is required (at most 20000 characters), and personId, companyId and jobId must be records in your CRM.",
		}, addNote, renderNote),
		newTool(d, spec{
			name: "logActivity", title: "Log a call, email or meeting", toolset: ToolsetActivity, scope: identity.ScopeWrite, effect: adds,
			description: "Record a call, email or meeting with a person that happened (now unless you give occurredAt). " +
				"For remarks that are not an interaction, use addNote; for a follow-up to do later, use createTask.",
			invalid: "kind, personId and summary are required, personId (and jobId, if given) must be records in your CRM, and the summary is at most 20000 characters.",
		}, logActivity, renderActivity),
		newTool(d, spec{
			name: "getTimeline", title: "Get a person's timeline", toolset: ToolsetActivity, scope: identity.ScopeRead, effect: reads,
			description: "A person's history, newest first: notes, calls, emails, meetings, pipeline stage changes and tasks, in one dated list. " +
				"Use getPersonInfo for the current state (profile, pipelines, open tasks) with only the latest few notes and activities.",
		}, getTimeline, renderTimeline),
	}
}

func addNote(ctx context.Context, c *call, in addNoteIn) (noteOut, error) {
	if in.PersonID == "" && in.CompanyID == "" && in.JobID == "" {
		return noteOut{}, invalidf("a note must be about a person, a company or a job: give personId, companyId or jobId.")
	}
	if strings.TrimSpace(in.Body) == "" {
		return noteOut{}, invalidf("the body is empty.")
	}
	n, err := c.crm.AddNote(ctx, crm.Note{Body: in.Body, PersonID: in.PersonID, CompanyID: in.CompanyID, JobID: in.JobID})
	if err != nil {
		return noteOut{}, c.crmErr(err, "", "")
	}
	return noteOut{Note: toNote(n)}, nil
}

func renderNote(o *noteOut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Added note %s", o.Note.ID)
	var about []string
	for _, s := range []struct{ k, v string }{{"person", o.Note.PersonID}, {"company", o.Note.CompanyID}, {"job", o.Note.JobID}} {
		if s.v != "" {
			about = append(about, s.k+" "+s.v)
		}
	}
	if len(about) > 0 {
		b.WriteString(" about " + strings.Join(about, ", "))
	}
	b.WriteString(".\n")
	block(&b, "Text", o.Note.Body, 2000)
	return b.String()
}

func logActivity(ctx context.Context, c *call, in logActivityIn) (activityOut, error) {
	at := c.now()
	if in.OccurredAt != "" {
		t, err := parseWhen("occurredAt", in.OccurredAt)
		if err != nil {
			return activityOut{}, err
		}
		at = t
	}
	if strings.TrimSpace(in.Summary) == "" {
		return activityOut{}, invalidf("the summary is empty.")
	}
	a, err := c.crm.LogActivity(ctx, crm.Activity{Kind: in.Kind, PersonID: in.PersonID, JobID: in.JobID, Summary: in.Summary, OccurredAt: at})
	if err != nil {
		return activityOut{}, c.crmErr(err, "", "")
	}
	return activityOut{Activity: toActivity(a)}, nil
}

func renderActivity(o *activityOut) string {
	var b strings.Builder
	a := &o.Activity
	fmt.Fprintf(&b, "Logged %s %s with person %s at %s", a.Kind, a.ID, a.PersonID, a.OccurredAt)
	if a.JobID != "" {
		b.WriteString(" about job " + a.JobID)
	}
	b.WriteString(".\n")
	block(&b, "Summary", a.Summary, 2000)
	return b.String()
}

func getTimeline(ctx context.Context, c *call, in getTimelineIn) (timelineOut, error) {
	limit := in.Limit
	if limit <= 0 {
		limit = defaultTimeline
	}
	limit = min(limit, maxListLimit)
	es, err := c.crm.Timeline(ctx, in.PersonID, limit)
	if err != nil {
		return timelineOut{}, c.crmErr(err, "person", in.PersonID)
	}
	return timelineOut{PersonID: in.PersonID, Entries: mapSlice(firstNItems(es, limit), toTimelineEntry)}, nil
}

func renderTimeline(o *timelineOut) string {
	var b strings.Builder
	if len(o.Entries) == 0 {
		fmt.Fprintf(&b, "Nothing on the timeline of person %s yet.\n", o.PersonID)
		return b.String()
	}
	fmt.Fprintf(&b, "Timeline of person %s, newest first (%s):\n\n", o.PersonID, plural(len(o.Entries), "entry"))
	rows := make([][]string, 0, len(o.Entries))
	for _, e := range o.Entries {
		rows = append(rows, []string{e.At, e.Kind, e.Summary, e.ID})
	}
	table(&b, []string{"At", "Kind", "Summary", "ID"}, rows)
	return b.String()
}
