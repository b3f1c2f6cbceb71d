package crmtools

import (
	"fmt"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
)

// Output records: the minimal shapes tools return, and their converters
// from CRM types. Converters never carry TenantID. Strings are sanitised
// later, once, by newTool (sanitized), on the whole output.

// personRow is a person in search results and lists.
type personRow struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Kind           string   `json:"kind"`
	Headline       string   `json:"headline,omitempty"`
	Location       string   `json:"location,omitempty"`
	CurrentTitle   string   `json:"currentTitle,omitempty"`
	CurrentCompany string   `json:"currentCompany,omitempty"`
	Skills         []string `json:"skills,omitempty" jsonschema:"The first five skills."`
}

func toPersonRow(p crm.Person) personRow {
	return personRow{
		ID: p.ID, Name: fullName(p), Kind: string(p.Kind), Headline: p.Headline, Location: p.Location,
		CurrentTitle: p.CurrentTitle, CurrentCompany: p.CurrentCompany, Skills: firstN(p.Skills, 5),
	}
}

// person is a person's whole profile.
type person struct {
	ID             string   `json:"id"`
	Kind           string   `json:"kind"`
	Name           string   `json:"name"`
	FirstName      string   `json:"firstName"`
	LastName       string   `json:"lastName,omitempty"`
	Headline       string   `json:"headline,omitempty"`
	Emails         []string `json:"emails,omitempty"`
	Phones         []string `json:"phones,omitempty"`
	Location       string   `json:"location,omitempty"`
	CurrentTitle   string   `json:"currentTitle,omitempty"`
	CurrentCompany string   `json:"currentCompany,omitempty"`
	CompanyID      string   `json:"companyId,omitempty"`
	Skills         []string `json:"skills,omitempty"`
	Source         string   `json:"source,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	OwnerID        string   `json:"ownerId,omitempty"`
	CreatedAt      string   `json:"createdAt,omitempty"`
	UpdatedAt      string   `json:"updatedAt,omitempty"`
}

func toPerson(p crm.Person) person {
	return person{
		ID: p.ID, Kind: string(p.Kind), Name: fullName(p), FirstName: p.FirstName, LastName: p.LastName,
		Headline: p.Headline, Emails: clone(p.Emails), Phones: clone(p.Phones), Location: p.Location,
		CurrentTitle: p.CurrentTitle, CurrentCompany: p.CurrentCompany, CompanyID: p.CompanyID,
		Skills: clone(p.Skills), Source: p.Source, Tags: clone(p.Tags), OwnerID: p.OwnerID,
		CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt),
	}
}

func fullName(p crm.Person) string {
	return strings.TrimSpace(p.FirstName + " " + p.LastName)
}

// companyRow is a company in search results.
type companyRow struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Industry string `json:"industry,omitempty"`
	Location string `json:"location,omitempty"`
	Size     string `json:"size,omitempty"`
	Domain   string `json:"domain,omitempty"`
}

func toCompanyRow(c crm.Company) companyRow {
	return companyRow{ID: c.ID, Name: c.Name, Industry: c.Industry, Location: c.Location, Size: c.Size, Domain: c.Domain}
}

// company is a company's whole profile.
type company struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Domain      string `json:"domain,omitempty"`
	Industry    string `json:"industry,omitempty"`
	Location    string `json:"location,omitempty"`
	Size        string `json:"size,omitempty"`
	Description string `json:"description,omitempty"`
	OwnerID     string `json:"ownerId,omitempty"`
	CreatedAt   string `json:"createdAt,omitempty"`
	UpdatedAt   string `json:"updatedAt,omitempty"`
}

func toCompany(c crm.Company) company {
	return company{
		ID: c.ID, Name: c.Name, Domain: c.Domain, Industry: c.Industry, Location: c.Location, Size: c.Size,
		Description: c.Description, OwnerID: c.OwnerID, CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt),
	}
}

// jobRow is a job in search results and lists.
type jobRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Status      string `json:"status"`
	CompanyID   string `json:"companyId"`
	CompanyName string `json:"companyName,omitempty"`
	Location    string `json:"location,omitempty"`
}

func toJobRow(j crm.Job, companyName string) jobRow {
	return jobRow{ID: j.ID, Title: j.Title, Status: string(j.Status), CompanyID: j.CompanyID, CompanyName: companyName, Location: j.Location}
}

// job is a job's whole record.
type job struct {
	ID              string `json:"id"`
	Title           string `json:"title"`
	Status          string `json:"status"`
	CompanyID       string `json:"companyId"`
	CompanyName     string `json:"companyName,omitempty"`
	Location        string `json:"location,omitempty"`
	SalaryMin       int64  `json:"salaryMin,omitempty"`
	SalaryMax       int64  `json:"salaryMax,omitempty"`
	Currency        string `json:"currency,omitempty"`
	Description     string `json:"description,omitempty"`
	HiringManagerID string `json:"hiringManagerId,omitempty"`
	OwnerID         string `json:"ownerId,omitempty"`
	CreatedAt       string `json:"createdAt,omitempty"`
	UpdatedAt       string `json:"updatedAt,omitempty"`
}

func toJob(j crm.Job, companyName string) job {
	return job{
		ID: j.ID, Title: j.Title, Status: string(j.Status), CompanyID: j.CompanyID, CompanyName: companyName,
		Location: j.Location, SalaryMin: j.SalaryMin, SalaryMax: j.SalaryMax, Currency: j.Currency,
		Description: j.Description, HiringManagerID: j.HiringManagerID, OwnerID: j.OwnerID,
		CreatedAt: ts(j.CreatedAt), UpdatedAt: ts(j.UpdatedAt),
	}
}

// application is a person in a job's pipeline.
type application struct {
	ID           string        `json:"id"`
	JobID        string        `json:"jobId"`
	JobTitle     string        `json:"jobTitle,omitempty"`
	PersonID     string        `json:"personId"`
	PersonName   string        `json:"personName,omitempty"`
	Stage        string        `json:"stage"`
	RejectReason string        `json:"rejectReason,omitempty"`
	OwnerID      string        `json:"ownerId,omitempty"`
	CreatedAt    string        `json:"createdAt,omitempty"`
	UpdatedAt    string        `json:"updatedAt,omitempty"`
	History      []stageChange `json:"history,omitempty" jsonschema:"Stage changes, oldest first (only where the tool says so)."`
}

type stageChange struct {
	From   string `json:"from,omitempty"`
	To     string `json:"to"`
	At     string `json:"at"`
	UserID string `json:"userId,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func toApplication(a crm.Application, withHistory bool) application {
	out := application{
		ID: a.ID, JobID: a.JobID, PersonID: a.PersonID, Stage: string(a.Stage), RejectReason: a.RejectReason,
		OwnerID: a.OwnerID, CreatedAt: ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt),
	}
	if withHistory {
		for _, h := range a.History {
			out.History = append(out.History, stageChange{From: string(h.From), To: string(h.To), At: ts(h.At), UserID: h.UserID, Reason: h.Reason})
		}
	}
	return out
}

// placement is a hire: an application moved to hired, with the details
// given then.
type placement struct {
	ID            string `json:"id"`
	ApplicationID string `json:"applicationId"`
	JobID         string `json:"jobId"`
	JobTitle      string `json:"jobTitle,omitempty"`
	PersonID      string `json:"personId"`
	StartDate     string `json:"startDate,omitempty" jsonschema:"The agreed start date, if recorded."`
	Salary        int64  `json:"salary,omitempty" jsonschema:"Yearly salary in currency units, if recorded."`
	Fee           int64  `json:"fee,omitempty" jsonschema:"The agency's fee in currency units, if recorded."`
	Currency      string `json:"currency,omitempty"`
	CreatedBy     string `json:"createdBy,omitempty" jsonschema:"The CRM user who recorded the hire."`
	CreatedAt     string `json:"createdAt"`
}

func toPlacement(p crm.Placement) placement {
	return placement{
		ID: p.ID, ApplicationID: p.ApplicationID, JobID: p.JobID, PersonID: p.PersonID, StartDate: dateOf(p.StartDate),
		Salary: p.Salary, Fee: p.Fee, Currency: p.Currency, CreatedBy: p.CreatedBy, CreatedAt: ts(p.CreatedAt),
	}
}

// dateOf is a start date as a day when it is midnight UTC (as dates given
// to tools are), else the full time.
func dateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if u := t.UTC(); u.Equal(u.Truncate(24 * time.Hour)) {
		return u.Format("2006-01-02")
	}
	return ts(t)
}

// placementDetails renders what a placement records, or "" without details.
func placementDetails(p *placement) string {
	var parts []string
	if p.StartDate != "" {
		parts = append(parts, "start "+p.StartDate)
	}
	money := func(label string, n int64) {
		if n > 0 {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s %d %s", label, n, p.Currency)))
		}
	}
	money("salary", p.Salary)
	money("fee", p.Fee)
	return strings.Join(parts, ", ")
}

// writePlacements writes a titled table of placements.
func writePlacements(b *strings.Builder, title string, ps []placement) {
	if len(ps) == 0 {
		fmt.Fprintf(b, "%s: none.\n", title)
		return
	}
	fmt.Fprintf(b, "%s (%d):\n", title, len(ps))
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		job := p.JobID
		if p.JobTitle != "" {
			job = p.JobTitle + " (" + p.JobID + ")"
		}
		rows = append(rows, []string{p.ID, job, p.PersonID, dayOf(p.CreatedAt), orDash(placementDetails(&p))})
	}
	table(b, []string{"Placement", "Job", "Person ID", "Hired", "Details"}, rows)
}

// note is a note about a person, company or job.
type note struct {
	ID        string `json:"id"`
	Body      string `json:"body"`
	PersonID  string `json:"personId,omitempty"`
	CompanyID string `json:"companyId,omitempty"`
	JobID     string `json:"jobId,omitempty"`
	AuthorID  string `json:"authorId,omitempty"`
	CreatedAt string `json:"createdAt"`
}

func toNote(n crm.Note) note {
	return note{ID: n.ID, Body: n.Body, PersonID: n.PersonID, CompanyID: n.CompanyID, JobID: n.JobID, AuthorID: n.AuthorID, CreatedAt: ts(n.CreatedAt)}
}

// activity is a logged call, email or meeting.
type activity struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	PersonID   string `json:"personId"`
	JobID      string `json:"jobId,omitempty"`
	Summary    string `json:"summary"`
	OccurredAt string `json:"occurredAt"`
	UserID     string `json:"userId,omitempty"`
}

func toActivity(a crm.Activity) activity {
	return activity{ID: a.ID, Kind: string(a.Kind), PersonID: a.PersonID, JobID: a.JobID, Summary: a.Summary, OccurredAt: ts(a.OccurredAt), UserID: a.UserID}
}

// task is a to-do.
type task struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	DueAt       string `json:"dueAt,omitempty"`
	Done        bool   `json:"done"`
	CompletedAt string `json:"completedAt,omitempty"`
	AssigneeID  string `json:"assigneeId"`
	PersonID    string `json:"personId,omitempty"`
	JobID       string `json:"jobId,omitempty"`
	CreatedAt   string `json:"createdAt,omitempty"`
}

func toTask(t crm.Task) task {
	return task{
		ID: t.ID, Title: t.Title, DueAt: ts(t.DueAt), Done: t.Done, CompletedAt: ts(t.CompletedAt),
		AssigneeID: t.AssigneeID, PersonID: t.PersonID, JobID: t.JobID, CreatedAt: ts(t.CreatedAt),
	}
}

// timelineEntry is one dated event about a person.
type timelineEntry struct {
	At      string `json:"at"`
	Kind    string `json:"kind" jsonschema:"note, activity, stage_change or task."`
	ID      string `json:"id" jsonschema:"The note, activity, application or task id."`
	Summary string `json:"summary"`
	JobID   string `json:"jobId,omitempty"`
}

func toTimelineEntry(e crm.TimelineEntry) timelineEntry {
	return timelineEntry{At: ts(e.At), Kind: e.Kind, ID: e.ID, Summary: e.Summary, JobID: e.JobID}
}

// user is a CRM user, without credentials.
type user struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

func toUser(u api.UserInfo) user {
	return user{ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role)}
}

func clone(vs []string) []string {
	if len(vs) == 0 {
		return nil
	}
	return append([]string(nil), vs...)
}

func firstN(vs []string, n int) []string {
	return clone(vs[:min(len(vs), n)])
}

// mapSlice converts every element.
func mapSlice[T, U any](ts []T, f func(T) U) []U {
	out := make([]U, 0, len(ts))
	for _, t := range ts {
		out = append(out, f(t))
	}
	return out
}
