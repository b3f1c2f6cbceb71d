// Package crm holds the recruitment CRM's domain types and the contract of
// its storage (Store), shared by every backend (store/sqlite,
// store/postgres) and checked by one conformance suite (store/storetest).
//
// Every record belongs to one tenant. Every Store method takes the tenant
// id explicitly, first after the context; a backend must never return,
// change or count another tenant's rows, and another tenant's id must
// behave exactly like an id that does not exist (ErrNotFound). The tenant
// id itself comes from the verified service token, never from input.
package crm

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors of the Store contract.
var (
	// ErrNotFound: no such record in this tenant (also for another
	// tenant's id).
	ErrNotFound = errors.New("crm: not found")
	// ErrInvalid: the input breaks a domain rule (empty name, unknown
	// stage, bad transition, reference to a record that does not exist in
	// the tenant). Nothing was written.
	ErrInvalid = errors.New("crm: invalid input")
	// ErrConflict: a uniqueness rule (a person already in a job's
	// pipeline). Nothing was written.
	ErrConflict = errors.New("crm: conflict")
	// ErrUnavailable: the database could not answer. Nothing was written
	// (transactions roll back).
	ErrUnavailable = errors.New("crm: store unavailable")
)

// Role of a CRM user.
type Role string

// Roles.
const (
	RoleAdmin     Role = "admin"
	RoleRecruiter Role = "recruiter"
	RoleViewer    Role = "viewer"
)

// PersonKind tells candidates from client contacts.
type PersonKind string

// Person kinds.
const (
	KindCandidate PersonKind = "candidate"
	KindContact   PersonKind = "contact"
)

// JobStatus is a job's lifecycle state.
type JobStatus string

// Job statuses.
const (
	JobOpen   JobStatus = "open"
	JobOnHold JobStatus = "on_hold"
	JobFilled JobStatus = "filled"
	JobClosed JobStatus = "closed"
)

// Stage is a pipeline stage. The happy path is sourced → screening →
// interview → offer → hired; rejected can follow any stage but hired.
type Stage string

// Stages.
const (
	StageSourced   Stage = "sourced"
	StageScreening Stage = "screening"
	StageInterview Stage = "interview"
	StageOffer     Stage = "offer"
	StageHired     Stage = "hired"
	StageRejected  Stage = "rejected"
)

// Stages lists the pipeline stages in funnel order.
var Stages = []Stage{StageSourced, StageScreening, StageInterview, StageOffer, StageHired, StageRejected}

// ActivityKind is the kind of a logged interaction.
type ActivityKind string

// Activity kinds.
const (
	ActivityCall    ActivityKind = "call"
	ActivityEmail   ActivityKind = "email"
	ActivityMeeting ActivityKind = "meeting"
)

// Tenant is a recruitment agency.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a CRM user (recruiter, admin or viewer) of one tenant.
type User struct {
	ID           string
	TenantID     string
	Email        string // unique across tenants, lower case
	Name         string
	Role         Role
	PasswordHash string // argon2id PHC string; never leaves the store layer's callers that need it
	CreatedAt    time.Time
}

// Person is a candidate or a client contact.
type Person struct {
	ID             string
	TenantID       string
	Kind           PersonKind
	FirstName      string
	LastName       string
	Headline       string
	Emails         []string
	Phones         []string
	Location       string
	CurrentTitle   string
	CurrentCompany string
	CompanyID      string // for contacts: the client company they work for
	Skills         []string
	Source         string // e.g. referral, linkedin, job board
	Tags           []string
	OwnerID        string // user id
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Company is a client company.
type Company struct {
	ID          string
	TenantID    string
	Name        string
	Domain      string
	Industry    string
	Location    string
	Size        string // e.g. "51-200"
	Description string
	OwnerID     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Job is an open (or past) position at a client company.
type Job struct {
	ID              string
	TenantID        string
	CompanyID       string
	Title           string
	Status          JobStatus
	Location        string
	SalaryMin       int64 // yearly, in Currency units; 0 = not set
	SalaryMax       int64
	Currency        string // ISO 4217
	Description     string
	HiringManagerID string // a contact person id, optional
	OwnerID         string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Application is a person in a job's pipeline.
type Application struct {
	ID           string
	TenantID     string
	JobID        string
	PersonID     string
	Stage        Stage
	RejectReason string // set when Stage is rejected
	OwnerID      string
	History      []StageChange // oldest first
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// StageChange records one move of an application.
type StageChange struct {
	From   Stage // empty for the first entry
	To     Stage
	At     time.Time
	UserID string
	Reason string
}

// Note is free text about a person, company or job (at least one).
type Note struct {
	ID        string
	TenantID  string
	PersonID  string
	CompanyID string
	JobID     string
	Body      string
	AuthorID  string
	CreatedAt time.Time
}

// Activity is a logged call, email or meeting with a person.
type Activity struct {
	ID         string
	TenantID   string
	Kind       ActivityKind
	PersonID   string
	JobID      string // optional
	Summary    string
	OccurredAt time.Time
	UserID     string
	CreatedAt  time.Time
}

// Task is a to-do for a user, optionally about a person or job.
type Task struct {
	ID          string
	TenantID    string
	Title       string
	DueAt       time.Time // zero = no due date
	Done        bool
	CompletedAt time.Time
	AssigneeID  string
	PersonID    string
	JobID       string
	CreatedAt   time.Time
}

// Placement records a hire: every move of an application to hired
// records exactly one, in the same transaction. ApplicationID, JobID and
// PersonID always come from the application, never from input.
type Placement struct {
	ID            string
	TenantID      string
	ApplicationID string
	JobID         string
	PersonID      string
	StartDate     time.Time // zero = not set
	Salary        int64     // yearly, in Currency units; 0 = not set
	Fee           int64     // the agency's fee, in Currency units; 0 = not set
	Currency      string    // ISO 4217 (three upper-case letters), or empty
	CreatedBy     string    // the user who moved the application to hired
	CreatedAt     time.Time
}

// PlacementQuery selects placements: of one job and/or one person, or of
// the whole tenant when both are empty.
type PlacementQuery struct {
	JobID    string
	PersonID string
	// Limit caps the placements returned. If zero, DefaultPage; at most
	// MaxLimit.
	Limit int
}

// PeopleQuery filters and ranks people. Text is full-text over name,
// headline, skills, titles, companies and notes; results are ranked by
// relevance when Text is set, else by UpdatedAt descending, ties by ID.
type PeopleQuery struct {
	Text         string
	Kind         PersonKind
	Location     string   // case-insensitive substring
	Skills       []string // all required, case-insensitive exact skill match
	Stage        Stage    // in some pipeline at this stage
	JobID        string   // in this job's pipeline
	OwnerID      string
	UpdatedSince time.Time
	// Limit caps the number of ids returned. If zero, 1000 (the maximum).
	Limit int
}

// CompanyQuery filters companies (Text over name, domain, industry,
// description; ranked as PeopleQuery).
type CompanyQuery struct {
	Text     string
	Industry string
	Location string
	Limit    int
}

// JobQuery filters jobs (Text over title, description, company name).
type JobQuery struct {
	Text      string
	Status    JobStatus
	CompanyID string
	OwnerID   string
	Location  string
	Limit     int
}

// SearchResult is the ordered ids a search matched (at most Limit) and the
// total number of matches.
type SearchResult struct {
	IDs   []string
	Total int
}

// PersonPatch changes some fields of a person; nil fields stay.
type PersonPatch struct {
	FirstName, LastName, Headline, Location, CurrentTitle, CurrentCompany, CompanyID, Source, OwnerID *string
	Emails, Phones, Skills, Tags                                                                      *[]string
}

// CompanyPatch changes some fields of a company; nil fields stay.
type CompanyPatch struct {
	Name, Domain, Industry, Location, Size, Description, OwnerID *string
}

// JobPatch changes some fields of a job; nil fields stay.
type JobPatch struct {
	Title, Location, Currency, Description, HiringManagerID, OwnerID *string
	Status                                                           *JobStatus
	SalaryMin, SalaryMax                                             *int64
}

// TimelineEntry is one dated event about a person: a note, an activity, a
// stage change or a task.
type TimelineEntry struct {
	At       time.Time
	Kind     string // note, activity, stage_change, task
	ID       string // the note, activity, application or task id
	Summary  string
	JobID    string
	PersonID string
}

// FunnelRow is one stage of a pipeline report.
type FunnelRow struct {
	Stage Stage
	// Reached counts applications that were ever at this stage.
	Reached int
	// Current counts applications at this stage now.
	Current int
	// MedianDaysInStage over completed stays at this stage.
	MedianDaysInStage float64
}

// ReportQuery selects the applications a pipeline report covers.
type ReportQuery struct {
	JobID   string // one job, or
	OwnerID string // one recruiter's applications
	Since   time.Time
}

// Tenants and users (administration, login).
type Tenants interface {
	CreateTenant(ctx context.Context, t Tenant) (Tenant, error)
	GetTenant(ctx context.Context, id string) (Tenant, error)
}

// Users of a tenant.
type Users interface {
	// CreateUser stores u in the tenant, under u.ID if set (administration
	// and seeding), else a new id. ErrConflict if the email is taken.
	CreateUser(ctx context.Context, tenantID string, u User) (User, error)
	GetUser(ctx context.Context, tenantID, id string) (User, error)
	ListUsers(ctx context.Context, tenantID string) ([]User, error)
	// UserByEmail looks a user up across tenants (login); it is the one
	// method without a tenant, and returns the tenant with the user.
	UserByEmail(ctx context.Context, email string) (User, error)
}

// People stores candidates and contacts.
type People interface {
	CreatePerson(ctx context.Context, tenantID string, p Person) (Person, error)
	GetPerson(ctx context.Context, tenantID, id string) (Person, error)
	// GetPeople returns the people with these ids in the given order,
	// skipping ids that do not exist in the tenant.
	GetPeople(ctx context.Context, tenantID string, ids []string) ([]Person, error)
	UpdatePerson(ctx context.Context, tenantID, id string, patch PersonPatch) (Person, error)
	SearchPeople(ctx context.Context, tenantID string, q PeopleQuery) (SearchResult, error)
}

// Companies stores client companies.
type Companies interface {
	CreateCompany(ctx context.Context, tenantID string, c Company) (Company, error)
	GetCompany(ctx context.Context, tenantID, id string) (Company, error)
	GetCompanies(ctx context.Context, tenantID string, ids []string) ([]Company, error)
	UpdateCompany(ctx context.Context, tenantID, id string, patch CompanyPatch) (Company, error)
	SearchCompanies(ctx context.Context, tenantID string, q CompanyQuery) (SearchResult, error)
}

// Jobs stores jobs.
type Jobs interface {
	CreateJob(ctx context.Context, tenantID string, j Job) (Job, error)
	GetJob(ctx context.Context, tenantID, id string) (Job, error)
	GetJobs(ctx context.Context, tenantID string, ids []string) ([]Job, error)
	UpdateJob(ctx context.Context, tenantID, id string, patch JobPatch) (Job, error)
	SearchJobs(ctx context.Context, tenantID string, q JobQuery) (SearchResult, error)
}

// Pipelines stores applications and their stage history.
type Pipelines interface {
	// AddToPipeline puts a person into a job's pipeline at stage (default
	// sourced). ErrConflict if already there.
	AddToPipeline(ctx context.Context, tenantID string, a Application) (Application, error)
	GetApplication(ctx context.Context, tenantID, id string) (Application, error)
	// MoveStage changes the stage and appends to the history atomically.
	// reason is required for rejected. Moving from hired is ErrInvalid.
	// A move to hired records a placement without details in the same
	// transaction (as Hire with a zero Placement).
	MoveStage(ctx context.Context, tenantID, applicationID string, to Stage, userID, reason string) (Application, error)
	// Hire moves an application to hired and records its placement with
	// p's details (StartDate, Salary, Fee, Currency; see Placement.Validate)
	// in one transaction: either both are written or neither. The
	// placement's application, job and person come from the application;
	// its CreatedBy is userID, which must be a user of the tenant. The same
	// moves as MoveStage to hired are allowed, so hiring a hired
	// application (twice, or concurrently) is ErrInvalid and an application
	// has at most one placement. An unknown (or another tenant's)
	// application is ErrNotFound.
	Hire(ctx context.Context, tenantID, applicationID, userID string, p Placement) (Application, Placement, error)
	// Placements lists placements by q, newest first, then by id. A JobID
	// or PersonID that does not exist in the tenant is ErrNotFound.
	Placements(ctx context.Context, tenantID string, q PlacementQuery) ([]Placement, error)
	// JobPipeline lists a job's applications, by stage order then UpdatedAt.
	JobPipeline(ctx context.Context, tenantID, jobID string) ([]Application, error)
	// PersonApplications lists a person's applications, newest first.
	PersonApplications(ctx context.Context, tenantID, personID string) ([]Application, error)
	PipelineReport(ctx context.Context, tenantID string, q ReportQuery) ([]FunnelRow, error)
}

// Notes, activities and tasks.
type Notes interface {
	AddNote(ctx context.Context, tenantID string, n Note) (Note, error)
	// RecentNotes about a person (or company/job when personID is empty
	// and one of the others is set), newest first, at most limit.
	RecentNotes(ctx context.Context, tenantID string, subject Subject, limit int) ([]Note, error)
	LogActivity(ctx context.Context, tenantID string, a Activity) (Activity, error)
	RecentActivities(ctx context.Context, tenantID, personID string, limit int) ([]Activity, error)
	// Timeline merges notes, activities, stage changes and tasks about a
	// person, newest first, at most limit.
	Timeline(ctx context.Context, tenantID, personID string, limit int) ([]TimelineEntry, error)
}

// Subject names what a note is about.
type Subject struct {
	PersonID, CompanyID, JobID string
}

// Tasks stores to-dos.
type Tasks interface {
	CreateTask(ctx context.Context, tenantID string, t Task) (Task, error)
	CompleteTask(ctx context.Context, tenantID, id, userID string) (Task, error)
	// ListTasks lists open (or all) tasks for an assignee and/or person,
	// by due date (none last) then creation.
	ListTasks(ctx context.Context, tenantID string, q TaskQuery) ([]Task, error)
}

// TaskQuery filters tasks.
type TaskQuery struct {
	AssigneeID  string
	PersonID    string
	JobID       string
	IncludeDone bool
	DueBefore   time.Time
	Limit       int
}

// Store is every aggregate plus lifecycle. Components depend on the
// narrowest interface they use.
type Store interface {
	Tenants
	Users
	People
	Companies
	Jobs
	Pipelines
	Notes
	Tasks
	// Ping reports whether the database answers (readiness).
	Ping(ctx context.Context) error
	Close() error
}
