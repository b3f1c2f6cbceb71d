package crmtools

import (
	"context"
	"log/slog"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/export"
	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

// People is the part of the CRM the people tools use.
type People interface {
	CreatePerson(ctx context.Context, p crm.Person) (crm.Person, error)
	GetPerson(ctx context.Context, id string) (crm.Person, error)
	// PersonInfo is the person with pipelines, recent notes and
	// activities and open tasks, in one call.
	PersonInfo(ctx context.Context, id string, lim crm.InfoLimits) (crm.PersonInfo, error)
	UpdatePerson(ctx context.Context, id string, p crm.PersonPatch) (crm.Person, error)
	// GetPeople returns the people with these ids in the given order,
	// skipping ids that do not exist in the caller's tenant.
	GetPeople(ctx context.Context, ids []string) ([]crm.Person, error)
	SearchPeople(ctx context.Context, q crm.PeopleQuery) (crm.SearchResult, error)
}

// Companies is the part of the CRM the company tools use.
type Companies interface {
	CreateCompany(ctx context.Context, c crm.Company) (crm.Company, error)
	GetCompany(ctx context.Context, id string) (crm.Company, error)
	UpdateCompany(ctx context.Context, id string, p crm.CompanyPatch) (crm.Company, error)
	GetCompanies(ctx context.Context, ids []string) ([]crm.Company, error)
	SearchCompanies(ctx context.Context, q crm.CompanyQuery) (crm.SearchResult, error)
}

// Jobs is the part of the CRM the job tools use.
type Jobs interface {
	CreateJob(ctx context.Context, j crm.Job) (crm.Job, error)
	GetJob(ctx context.Context, id string) (crm.Job, error)
	UpdateJob(ctx context.Context, id string, p crm.JobPatch) (crm.Job, error)
	GetJobs(ctx context.Context, ids []string) ([]crm.Job, error)
	SearchJobs(ctx context.Context, q crm.JobQuery) (crm.SearchResult, error)
}

// Pipelines is the part of the CRM the pipeline and report tools use.
type Pipelines interface {
	JobPipeline(ctx context.Context, jobID string) ([]crm.Application, error)
	PersonApplications(ctx context.Context, personID string) ([]crm.Application, error)
	AddToPipeline(ctx context.Context, a crm.Application) (crm.Application, error)
	GetApplication(ctx context.Context, id string) (crm.Application, error)
	MoveStage(ctx context.Context, applicationID string, to crm.Stage, reason string) (crm.Application, error)
	// Hire moves an application to hired and records its placement with
	// p's details, atomically.
	Hire(ctx context.Context, applicationID string, p crm.Placement) (crm.Application, crm.Placement, error)
	Placements(ctx context.Context, q crm.PlacementQuery) ([]crm.Placement, error)
	PipelineReport(ctx context.Context, q crm.ReportQuery) ([]crm.FunnelRow, error)
}

// Activity is the part of the CRM the note, activity and timeline tools use.
type Activity interface {
	AddNote(ctx context.Context, n crm.Note) (crm.Note, error)
	RecentNotes(ctx context.Context, s crm.Subject, limit int) ([]crm.Note, error)
	LogActivity(ctx context.Context, a crm.Activity) (crm.Activity, error)
	RecentActivities(ctx context.Context, personID string, limit int) ([]crm.Activity, error)
	Timeline(ctx context.Context, personID string, limit int) ([]crm.TimelineEntry, error)
}

// Tasks is the part of the CRM the task tools use.
type Tasks interface {
	CreateTask(ctx context.Context, t crm.Task) (crm.Task, error)
	CompleteTask(ctx context.Context, id string) (crm.Task, error)
	ListTasks(ctx context.Context, q crm.TaskQuery) ([]crm.Task, error)
}

// Team is the part of the CRM whoAmI and listTeam use.
type Team interface {
	ListUsers(ctx context.Context) ([]api.UserInfo, error)
	GetUser(ctx context.Context, id string) (api.UserInfo, error)
	GetTenant(ctx context.Context) (crm.Tenant, error)
}

// CRM is everything the tools read and write. Methods take no tenant: the
// caller's tenant and user travel in ctx (the API client mints a service
// token from the request's principal), and an implementation must treat
// another tenant's id exactly like one that does not exist (crm.ErrNotFound
// for reads and writes of one record, nothing for filters and searches).
// Implementations must be safe for concurrent use: getPersonInfo calls
// several methods at once.
type CRM interface {
	People
	Companies
	Jobs
	Pipelines
	Activity
	Tasks
	Team
}

var _ CRM = (*api.Client)(nil)

// Deps are what the tools need. CRM and Snapshots are required.
type Deps struct {
	// CRM is the tools' only way to CRM data.
	CRM CRM
	// Snapshots keeps search results for paging (retrievalId).
	Snapshots state.Snapshots
	// Logger receives one record per unexpected failure: the tool's name,
	// the error's Go type and a code. If nil, nothing is logged.
	Logger *slog.Logger
	// Now returns the current time (snapshot timestamps, default activity
	// times). If nil, defaults to time.Now.
	Now func() time.Time
	// RequestID returns the request id to quote in error messages (the one
	// the access log carries, e.g. obs.RequestIDFrom). If nil, or if it
	// returns "", a random id is made up and logged with the failure.
	RequestID func(ctx context.Context) string
	// Exports publishes export files too large to embed in a result
	// (export.Links: a signed download link). If nil, such an export
	// fails with a message saying so.
	Exports ExportPublisher
	// ExportLimits bound exportPeopleCsv and exportPipelineCsv; the zero
	// value means export's defaults (1 000 rows, 120 s, 15 s per page).
	ExportLimits export.Limits
	// TrustOutput sends structuredContent without validating it against
	// the output schema (tools.Options.TrustOutput): the schemas are
	// generated from the output types. Production sets it; this package's
	// tests leave it off so every tool's output is validated, and
	// internal/app validates every tool's results on both backends.
	TrustOutput bool
	// ExportEmbedMax is the largest file embedded in a result as a
	// text/csv resource; larger ones get a download link. If zero,
	// DefaultExportEmbedMax.
	ExportEmbedMax int
}

// ExportPublisher stores an export file for its owner and returns a
// signed download link (export.Links).
type ExportPublisher interface {
	Publish(ctx context.Context, p tenant.Principal, res *export.Result) (export.Link, error)
}

// DefaultExportEmbedMax is the default of Deps.ExportEmbedMax: 64 KiB,
// about 300 rows of every people column, small enough for a client to
// keep in a conversation.
const DefaultExportEmbedMax = 64 << 10

// Toolsets.
const (
	ToolsetPeople    = "people"
	ToolsetCompanies = "companies"
	ToolsetJobs      = "jobs"
	ToolsetPipeline  = "pipeline"
	ToolsetActivity  = "activity"
	ToolsetTasks     = "tasks"
	ToolsetReports   = "reports"
	ToolsetAccount   = "account"
	ToolsetExports   = "exports"
)

// SnapshotTTL is how long a search's retrievalId stays valid.
const SnapshotTTL = 30 * time.Minute

// All returns every tool, in a stable order, bound to d. It panics if
// d.CRM or d.Snapshots is nil (a wiring error found at start-up).
//
// The returned tools render their text only when registered with
// [Register]; see the package documentation.
func All(d Deps) []tools.Registered {
	if d.CRM == nil || d.Snapshots == nil {
		panic("crmtools: Deps.CRM and Deps.Snapshots are required")
	}
	return build(newDeps(d))
}

// Register adds every tool to s, with d, and the middleware that gives
// their results a wrapped text (see the package documentation). Handler
// panics that escape this package's own recovery are recovered by package
// tools and logged to d.Logger.
func Register(s *mcp.Server, d Deps) {
	all := All(d)
	names := make(map[string]bool, len(all))
	for _, r := range all {
		names[r.Tool().Name] = true
	}
	s.AddReceivingMiddleware(textMiddleware(names))
	opts := &tools.Options{Logger: d.Logger, TrustOutput: d.TrustOutput}
	for _, r := range all {
		r.RegisterWith(s, opts)
	}
}

// Scopes maps every tool's name to the scopes it needs (for
// mcpserver.Options.ToolScopes).
func Scopes() map[string][]string {
	all := build(newDeps(Deps{}))
	m := make(map[string][]string, len(all))
	for _, r := range all {
		m[r.Tool().Name] = append([]string(nil), r.Def().Scopes...)
	}
	return m
}

// Streaming names the tools that send notifications while they run (for
// mcpserver.Options.StreamingTools). None does today.
func Streaming() []string {
	var names []string
	for _, r := range build(newDeps(Deps{})) {
		if r.Def().Streams {
			names = append(names, r.Tool().Name)
		}
	}
	return names
}

// build defines every tool. Handlers are not called here, so d may be
// incomplete (Scopes, Streaming).
func build(d *deps) []tools.Registered {
	var all []tools.Registered
	for _, group := range [][]tools.Registered{
		peopleTools(d),
		companyTools(d),
		jobTools(d),
		pipelineTools(d),
		activityTools(d),
		taskTools(d),
		reportTools(d),
		accountTools(d),
		exportTools(d),
	} {
		all = append(all, group...)
	}
	return all
}
