package crmtools

import (
	"context"
	"fmt"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

// How much getPersonInfo includes.
const (
	infoNotes      = 5
	infoActivities = 5
	infoTasks      = 20
	infoPlacements = 5
)

var peopleSearch = pager{tool: "searchPeople", kind: "people", noun: "person"}

type peopleFilters struct {
	Kind         crm.PersonKind `json:"kind,omitempty" jsonschema:"Only candidates or only client contacts."`
	Location     string         `json:"location,omitempty" jsonschema:"Part of the location, case-insensitive (e.g. Berlin)."`
	Skills       []string       `json:"skills,omitempty" jsonschema:"Skills the person must all have (exact skill names, case-insensitive)."`
	Stage        crm.Stage      `json:"stage,omitempty" jsonschema:"Only people in some pipeline at this stage (with jobId: at this stage in that job's pipeline)."`
	JobID        string         `json:"jobId,omitempty" jsonschema:"Only people in this job's pipeline."`
	OwnerID      string         `json:"ownerId,omitempty" jsonschema:"Only people owned by this CRM user id (see listTeam or whoAmI)."`
	UpdatedSince string         `json:"updatedSince,omitempty" jsonschema:"Only people updated on or after this date (2025-01-31) or RFC 3339 time."`
}

type searchPeopleIn struct {
	Query   string        `json:"query,omitempty" jsonschema:"Free text over names, headlines, skills, titles, companies and notes; every word must match. Leave empty to list by most recently updated."`
	Filters peopleFilters `json:"filters,omitzero" jsonschema:"Optional filters, all of which must hold."`
	pageIn
}

type getPersonInfoIn struct {
	PersonID string `json:"personId" jsonschema:"The person's id (per_…), from searchPeople or another tool."`
}

type personInfo struct {
	Person           person        `json:"person" jsonschema:"The profile."`
	Applications     []application `json:"applications" jsonschema:"The person's pipelines (applications), newest first, with job titles."`
	RecentNotes      []note        `json:"recentNotes" jsonschema:"The 5 most recent notes about the person."`
	RecentActivities []activity    `json:"recentActivities" jsonschema:"The 5 most recent calls, emails and meetings."`
	OpenTasks        []task        `json:"openTasks" jsonschema:"Open tasks about the person, by due date."`
	Placements       []placement   `json:"placements" jsonschema:"The person's placements (hires), newest first, with job titles."`
}

type createPersonIn struct {
	Kind           crm.PersonKind `json:"kind,omitempty" jsonschema:"candidate (default) or contact (someone at a client company)."`
	FirstName      string         `json:"firstName" jsonschema:"First name (required)."`
	LastName       string         `json:"lastName,omitempty" jsonschema:"Last name."`
	Headline       string         `json:"headline,omitempty" jsonschema:"One-line professional summary."`
	Emails         []string       `json:"emails,omitempty" jsonschema:"Email addresses."`
	Phones         []string       `json:"phones,omitempty" jsonschema:"Phone numbers."`
	Location       string         `json:"location,omitempty" jsonschema:"Where the person lives or works (e.g. Berlin, Germany)."`
	CurrentTitle   string         `json:"currentTitle,omitempty" jsonschema:"Current job title."`
	CurrentCompany string         `json:"currentCompany,omitempty" jsonschema:"Current employer's name."`
	CompanyID      string         `json:"companyId,omitempty" jsonschema:"For contacts: the client company's id (cmp_…)."`
	Skills         []string       `json:"skills,omitempty" jsonschema:"Skills, one per entry."`
	Source         string         `json:"source,omitempty" jsonschema:"Where the person came from (e.g. referral, linkedin)."`
	Tags           []string       `json:"tags,omitempty" jsonschema:"Free tags."`
	OwnerID        string         `json:"ownerId,omitempty" jsonschema:"The owning CRM user's id; default: you."`
}

type updatePersonIn struct {
	PersonID       string    `json:"personId" jsonschema:"The person's id (per_…)."`
	FirstName      *string   `json:"firstName,omitempty" jsonschema:"New first name."`
	LastName       *string   `json:"lastName,omitempty" jsonschema:"New last name; empty clears it."`
	Headline       *string   `json:"headline,omitempty" jsonschema:"New headline; empty clears it."`
	Emails         *[]string `json:"emails,omitempty" jsonschema:"Replaces all email addresses."`
	Phones         *[]string `json:"phones,omitempty" jsonschema:"Replaces all phone numbers."`
	Location       *string   `json:"location,omitempty" jsonschema:"New location; empty clears it."`
	CurrentTitle   *string   `json:"currentTitle,omitempty" jsonschema:"New current title; empty clears it."`
	CurrentCompany *string   `json:"currentCompany,omitempty" jsonschema:"New current employer; empty clears it."`
	CompanyID      *string   `json:"companyId,omitempty" jsonschema:"New client company id for a contact; empty clears it."`
	Skills         *[]string `json:"skills,omitempty" jsonschema:"Replaces all skills."`
	Source         *string   `json:"source,omitempty" jsonschema:"New source; empty clears it."`
	Tags           *[]string `json:"tags,omitempty" jsonschema:"Replaces all tags."`
	OwnerID        *string   `json:"ownerId,omitempty" jsonschema:"New owning CRM user id."`
}

type personOut struct {
	Person person `json:"person" jsonschema:"The person as stored now."`
}

func peopleTools(d *deps) []tools.Registered {
	return []tools.Registered{
		newTool(d, spec{
			name: "searchPeople", title: "Search people", toolset: ToolsetPeople, scope: identity.ScopeRead, effect: reads,
			description: "Find candidates and client contacts by free text and filters (location, skills, pipeline stage, job, owner, last update). " +
				"Returns one page of matches (id, name, headline, title, company, skills) and a retrievalId; to see more, call searchPeople again with that retrievalId and the next page. " +
				"Use getPersonInfo for everything about one person you already have the id of, and getPipeline to list everyone in one job's pipeline.",
			invalid: "check the filters (jobId must be a job in your CRM).",
		}, searchPeople, renderSearchPeople),
		newTool(d, spec{
			name: "getPersonInfo", title: "Get everything about a person", toolset: ToolsetPeople, scope: identity.ScopeRead, effect: reads,
			description: "Everything about one person in one call: profile, contact details, pipelines (with job titles and stages), placements (hires), the 5 most recent notes and activities, and open tasks. " +
				"Use this before writing about or to a person. Use getTimeline for their full history, and searchPeople when you do not have the id.",
		}, getPersonInfo, renderPersonInfo),
		newTool(d, spec{
			name: "createPerson", title: "Create a person", toolset: ToolsetPeople, scope: identity.ScopeWrite, effect: adds,
			description: "Add a new candidate or client contact. Search with searchPeople first to avoid duplicates; to change someone who exists, use updatePerson.",
			invalid:     "firstName is required, kind must be candidate or contact, names are at most 200 characters, and lists have at most 50 entries of at most 200 characters.",
		}, createPerson, renderPersonOut("Created")),
		newTool(d, spec{
			name: "updatePerson", title: "Update a person", toolset: ToolsetPeople, scope: identity.ScopeWrite, effect: overwrites,
			description: "Change fields of an existing person; fields you leave out stay as they are, and a list you give replaces the whole list. " +
				"To add a note use addNote, to move them in a pipeline use moveStage.",
			invalid: "firstName cannot be empty, names are at most 200 characters, lists have at most 50 entries of at most 200 characters, and companyId must be a company in your CRM.",
		}, updatePerson, renderPersonOut("Updated")),
	}
}

func searchPeople(ctx context.Context, c *call, in searchPeopleIn) (page[personRow], error) {
	q := crm.PeopleQuery{
		Text: strings.TrimSpace(in.Query), Kind: in.Filters.Kind, Location: strings.TrimSpace(in.Filters.Location),
		Skills: in.Filters.Skills, Stage: in.Filters.Stage, JobID: in.Filters.JobID, OwnerID: in.Filters.OwnerID,
	}
	if in.RetrievalID == "" && in.Filters.UpdatedSince != "" {
		t, err := parseWhen("updatedSince", in.Filters.UpdatedSince)
		if err != nil {
			return page[personRow]{}, err
		}
		q.UpdatedSince = t
	}
	ids, out, err := run[personRow](ctx, c, peopleSearch, in.pageIn, func(limit int) (crm.SearchResult, error) {
		q.Limit = limit
		return c.crm.SearchPeople(ctx, q)
	})
	if err != nil || len(ids) == 0 {
		return out, err
	}
	people, err := c.crm.GetPeople(ctx, ids)
	if err != nil {
		return out, c.crmErr(err, "", "")
	}
	out.Results = mapSlice(people, toPersonRow)
	return out, nil
}

func renderSearchPeople(p *page[personRow]) string {
	return renderPage(peopleSearch, p, []string{"ID", "Name", "Title", "Company", "Location", "Skills"}, func(r personRow) []string {
		return []string{r.ID, r.Name, r.CurrentTitle, r.CurrentCompany, r.Location, strings.Join(r.Skills, ", ")}
	})
}

func getPersonInfo(ctx context.Context, c *call, in getPersonInfoIn) (personInfo, error) {
	info, err := c.crm.PersonInfo(ctx, in.PersonID, crm.InfoLimits{Notes: infoNotes, Activities: infoActivities, Tasks: infoTasks})
	if err != nil {
		return personInfo{}, c.crmErr(err, "person", in.PersonID)
	}
	out := personInfo{
		Person:           toPerson(info.Person),
		Applications:     make([]application, 0, len(info.Applications)),
		RecentNotes:      mapSlice(firstNItems(info.RecentNotes, infoNotes), toNote),
		RecentActivities: mapSlice(firstNItems(info.RecentActivities, infoActivities), toActivity),
		OpenTasks:        make([]task, 0, len(info.OpenTasks)),
		Placements:       make([]placement, 0, len(info.Placements)),
	}
	for _, p := range info.Placements {
		pl := toPlacement(p)
		pl.JobTitle = info.JobTitles[p.JobID]
		out.Placements = append(out.Placements, pl)
	}
	for _, a := range info.Applications {
		ap := toApplication(a, false)
		ap.JobTitle = info.JobTitles[a.JobID]
		out.Applications = append(out.Applications, ap)
	}
	for _, t := range info.OpenTasks {
		if !t.Done {
			out.OpenTasks = append(out.OpenTasks, toTask(t))
		}
	}
	return out, nil
}

func renderPersonInfo(o *personInfo) string {
	var b strings.Builder
	writePerson(&b, &o.Person)
	b.WriteString("\n")
	if len(o.Applications) == 0 {
		b.WriteString("Pipelines: none.\n")
	} else {
		fmt.Fprintf(&b, "Pipelines (%d):\n", len(o.Applications))
		rows := make([][]string, 0, len(o.Applications))
		for _, a := range o.Applications {
			rows = append(rows, []string{a.ID, a.JobTitle, a.JobID, stageText(a.Stage, a.RejectReason), dayOf(a.UpdatedAt)})
		}
		table(&b, []string{"Application", "Job", "Job ID", "Stage", "Updated"}, rows)
	}
	if len(o.Placements) > 0 {
		b.WriteString("\n")
		writePlacements(&b, "Placements", o.Placements)
	}
	b.WriteString("\n")
	writeNotes(&b, "Recent notes", o.RecentNotes)
	writeActivities(&b, "Recent activities", o.RecentActivities)
	if len(o.OpenTasks) == 0 {
		b.WriteString("Open tasks: none.\n")
	} else {
		fmt.Fprintf(&b, "Open tasks (%d):\n", len(o.OpenTasks))
		writeTaskTable(&b, o.OpenTasks)
	}
	b.WriteString("\nFor the full history call getTimeline with personId: \"" + o.Person.ID + "\".\n")
	return b.String()
}

func writePerson(b *strings.Builder, p *person) {
	fmt.Fprintf(b, "%s (%s, id %s)\n", orDash(p.Name), p.Kind, p.ID)
	line(b, "Headline", p.Headline)
	switch {
	case p.CurrentTitle != "" && p.CurrentCompany != "":
		line(b, "Current role", p.CurrentTitle+" at "+p.CurrentCompany)
	default:
		line(b, "Current role", p.CurrentTitle+p.CurrentCompany)
	}
	line(b, "Company id", p.CompanyID)
	line(b, "Location", p.Location)
	line(b, "Emails", strings.Join(p.Emails, ", "))
	line(b, "Phones", strings.Join(p.Phones, ", "))
	line(b, "Skills", strings.Join(p.Skills, ", "))
	line(b, "Tags", strings.Join(p.Tags, ", "))
	line(b, "Source", p.Source)
	line(b, "Owner", p.OwnerID)
	line(b, "Updated", p.UpdatedAt)
}

func writeNotes(b *strings.Builder, label string, notes []note) {
	if len(notes) == 0 {
		fmt.Fprintf(b, "%s: none.\n", label)
		return
	}
	fmt.Fprintf(b, "%s (%d):\n", label, len(notes))
	for _, n := range notes {
		fmt.Fprintf(b, "- %s (%s): %s\n", dayOf(n.CreatedAt), n.ID, clip(strings.Join(strings.Fields(n.Body), " "), 300))
	}
}

func writeActivities(b *strings.Builder, label string, acts []activity) {
	if len(acts) == 0 {
		fmt.Fprintf(b, "%s: none.\n", label)
		return
	}
	fmt.Fprintf(b, "%s (%d):\n", label, len(acts))
	for _, a := range acts {
		fmt.Fprintf(b, "- %s %s (%s): %s\n", dayOf(a.OccurredAt), a.Kind, a.ID, clip(strings.Join(strings.Fields(a.Summary), " "), 300))
	}
}

func stageText(stage, reason string) string {
	if reason != "" {
		return stage + " (" + reason + ")"
	}
	return stage
}

func createPerson(ctx context.Context, c *call, in createPersonIn) (personOut, error) {
	kind := in.Kind
	if kind == "" {
		kind = crm.KindCandidate
	}
	p, err := c.crm.CreatePerson(ctx, crm.Person{
		Kind: kind, FirstName: in.FirstName, LastName: in.LastName, Headline: in.Headline,
		Emails: in.Emails, Phones: in.Phones, Location: in.Location, CurrentTitle: in.CurrentTitle,
		CurrentCompany: in.CurrentCompany, CompanyID: in.CompanyID, Skills: in.Skills, Source: in.Source,
		Tags: in.Tags, OwnerID: in.OwnerID,
	})
	if err != nil {
		return personOut{}, c.crmErr(err, "", "")
	}
	return personOut{Person: toPerson(p)}, nil
}

func updatePerson(ctx context.Context, c *call, in updatePersonIn) (personOut, error) {
	patch := crm.PersonPatch{
		FirstName: in.FirstName, LastName: in.LastName, Headline: in.Headline, Location: in.Location,
		CurrentTitle: in.CurrentTitle, CurrentCompany: in.CurrentCompany, CompanyID: in.CompanyID,
		Source: in.Source, OwnerID: in.OwnerID,
		Emails: in.Emails, Phones: in.Phones, Skills: in.Skills, Tags: in.Tags,
	}
	if patch == (crm.PersonPatch{}) {
		return personOut{}, invalidf("give at least one field to change besides personId.")
	}
	p, err := c.crm.UpdatePerson(ctx, in.PersonID, patch)
	if err != nil {
		return personOut{}, c.crmErr(err, "person", in.PersonID)
	}
	return personOut{Person: toPerson(p)}, nil
}

func renderPersonOut(verb string) func(*personOut) string {
	return func(o *personOut) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s this person:\n", verb)
		writePerson(&b, &o.Person)
		return b.String()
	}
}

func firstNItems[T any](ts []T, n int) []T {
	return ts[:min(len(ts), n)]
}
