// Package benchtools registers a representative CRM-shaped tool set on a
// go-sdk server: one trivial echo tool and nineteen tools with two to four
// typed fields, titles, descriptions and annotations. It exists for
// benchmarks and differential tests (see docs/performance.md); the product
// registers its own tools.
package benchtools

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/tools"
)

// EchoIn is the input of the echo tool.
type EchoIn struct {
	Text string `json:"text" jsonschema:"the text to echo back"`
}

// EchoOut is the output of the echo tool.
type EchoOut struct {
	Text string `json:"text" jsonschema:"the text that was sent"`
}

// Echo returns its input; it is the benchmarks' trivial tools/call.
func Echo(_ context.Context, _ *mcp.CallToolRequest, in EchoIn) (*mcp.CallToolResult, EchoOut, error) {
	return nil, EchoOut(in), nil
}

type searchCandidatesIn struct {
	Query  string   `json:"query" jsonschema:"free-text search over names, skills and notes"`
	Stage  string   `json:"stage,omitempty" jsonschema:"only candidates in this pipeline stage"`
	Skills []string `json:"skills,omitempty" jsonschema:"skills every result must have"`
	Limit  int      `json:"limit,omitempty" jsonschema:"maximum number of results (default 20)"`
}

type getCandidateIn struct {
	CandidateID  string `json:"candidateId" jsonschema:"the candidate's id"`
	IncludeNotes bool   `json:"includeNotes,omitempty" jsonschema:"also return the candidate's notes"`
}

type createCandidateIn struct {
	Name   string   `json:"name" jsonschema:"full name"`
	Email  string   `json:"email" jsonschema:"contact e-mail address"`
	Phone  string   `json:"phone,omitempty" jsonschema:"contact phone number"`
	Skills []string `json:"skills,omitempty" jsonschema:"skills, free text"`
}

type updateStageIn struct {
	CandidateID string `json:"candidateId" jsonschema:"the candidate's id"`
	JobID       string `json:"jobId" jsonschema:"the job the candidate is in the pipeline of"`
	Stage       string `json:"stage" jsonschema:"new stage: applied, screening, interview, offer, hired or rejected"`
}

type listJobsIn struct {
	Status    string `json:"status,omitempty" jsonschema:"open, on_hold or closed"`
	CompanyID string `json:"companyId,omitempty" jsonschema:"only jobs of this company"`
	Limit     int    `json:"limit,omitempty" jsonschema:"maximum number of results (default 20)"`
}

type getJobIn struct {
	JobID           string `json:"jobId" jsonschema:"the job's id"`
	IncludePipeline bool   `json:"includePipeline,omitempty" jsonschema:"also return the candidates in the pipeline"`
}

type createJobIn struct {
	Title     string  `json:"title" jsonschema:"job title"`
	CompanyID string  `json:"companyId" jsonschema:"the hiring company's id"`
	Location  string  `json:"location,omitempty" jsonschema:"city or 'remote'"`
	SalaryMax float64 `json:"salaryMax,omitempty" jsonschema:"top of the salary band, yearly"`
}

type closeJobIn struct {
	JobID  string `json:"jobId" jsonschema:"the job's id"`
	Reason string `json:"reason" jsonschema:"filled, cancelled or on_hold"`
}

type addNoteIn struct {
	CandidateID string `json:"candidateId" jsonschema:"the candidate's id"`
	Text        string `json:"text" jsonschema:"the note, plain text"`
	Private     bool   `json:"private,omitempty" jsonschema:"visible to the author only"`
}

type listNotesIn struct {
	CandidateID string `json:"candidateId" jsonschema:"the candidate's id"`
	Limit       int    `json:"limit,omitempty" jsonschema:"maximum number of notes (default 20)"`
}

type scheduleInterviewIn struct {
	CandidateID string `json:"candidateId" jsonschema:"the candidate's id"`
	JobID       string `json:"jobId" jsonschema:"the job's id"`
	StartsAt    string `json:"startsAt" jsonschema:"start time, RFC 3339"`
	Minutes     int    `json:"minutes,omitempty" jsonschema:"duration in minutes (default 45)"`
}

type cancelInterviewIn struct {
	InterviewID string `json:"interviewId" jsonschema:"the interview's id"`
	Reason      string `json:"reason,omitempty" jsonschema:"why it was cancelled"`
}

type listInterviewsIn struct {
	From string `json:"from" jsonschema:"start of the window, RFC 3339"`
	To   string `json:"to" jsonschema:"end of the window, RFC 3339"`
}

type sendEmailIn struct {
	CandidateID string `json:"candidateId" jsonschema:"the recipient candidate's id"`
	Subject     string `json:"subject" jsonschema:"subject line"`
	Body        string `json:"body" jsonschema:"plain-text body"`
}

type logCallIn struct {
	CandidateID string `json:"candidateId" jsonschema:"the candidate's id"`
	Minutes     int    `json:"minutes" jsonschema:"call length in minutes"`
	Summary     string `json:"summary,omitempty" jsonschema:"what was discussed"`
}

type getCompanyIn struct {
	CompanyID   string `json:"companyId" jsonschema:"the company's id"`
	IncludeJobs bool   `json:"includeJobs,omitempty" jsonschema:"also return the company's open jobs"`
}

type listCompaniesIn struct {
	Query string `json:"query,omitempty" jsonschema:"name prefix"`
	Limit int    `json:"limit,omitempty" jsonschema:"maximum number of results (default 20)"`
}

type assignRecruiterIn struct {
	JobID       string `json:"jobId" jsonschema:"the job's id"`
	RecruiterID string `json:"recruiterId" jsonschema:"the recruiter's user id"`
}

type tagCandidateIn struct {
	CandidateID string   `json:"candidateId" jsonschema:"the candidate's id"`
	Tags        []string `json:"tags" jsonschema:"tags to add"`
}

// Result is the structured output of every tool except echo.
type Result struct {
	OK bool   `json:"ok" jsonschema:"whether the operation succeeded"`
	ID string `json:"id,omitempty" jsonschema:"the id of the affected or created record"`
}

func ok[In any](_ context.Context, _ *mcp.CallToolRequest, _ In) (Result, error) {
	return Result{OK: true, ID: "x1"}, nil
}

func echo(_ context.Context, _ *mcp.CallToolRequest, in EchoIn) (EchoOut, error) {
	return EchoOut(in), nil
}

func ptr[T any](v T) *T { return &v }

var (
	readOnly    = &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(false)}
	additive    = &mcp.ToolAnnotations{DestructiveHint: ptr(false), OpenWorldHint: ptr(false)}
	idempotent  = &mcp.ToolAnnotations{DestructiveHint: ptr(false), IdempotentHint: true, OpenWorldHint: ptr(false)}
	destructive = &mcp.ToolAnnotations{DestructiveHint: ptr(true), OpenWorldHint: ptr(false)}
	external    = &mcp.ToolAnnotations{DestructiveHint: ptr(false), OpenWorldHint: ptr(true)}
)

func tool(name, title, desc string, a *mcp.ToolAnnotations) *mcp.Tool {
	return &mcp.Tool{Name: name, Title: title, Description: desc, Annotations: a}
}

// Names lists the registered tools, echo first.
var Names = []string{
	"echo", "search_candidates", "get_candidate", "create_candidate", "update_candidate_stage",
	"list_jobs", "get_job", "create_job", "close_job", "add_note", "list_notes",
	"schedule_interview", "cancel_interview", "list_interviews", "send_email", "log_call",
	"get_company", "list_companies", "assign_recruiter", "tag_candidate",
}

// all is the tool set, schemas inferred and resolved once per process.
var all = []tools.Registered{
	tools.New(def(tool("echo", "Echo", "Returns the text it is given.", readOnly)), echo),
	tools.New(def(tool("search_candidates", "Search candidates",
		"Searches candidates by free text, pipeline stage and skills.", readOnly)), ok[searchCandidatesIn]),
	tools.New(def(tool("get_candidate", "Get candidate",
		"Returns one candidate's profile, optionally with notes.", readOnly)), ok[getCandidateIn]),
	tools.New(def(tool("create_candidate", "Create candidate",
		"Creates a candidate record.", additive)), ok[createCandidateIn]),
	tools.New(def(tool("update_candidate_stage", "Move candidate",
		"Moves a candidate to another stage of a job's pipeline.", idempotent)), ok[updateStageIn]),
	tools.New(def(tool("list_jobs", "List jobs",
		"Lists jobs by status and company.", readOnly)), ok[listJobsIn]),
	tools.New(def(tool("get_job", "Get job",
		"Returns one job, optionally with its pipeline.", readOnly)), ok[getJobIn]),
	tools.New(def(tool("create_job", "Create job",
		"Opens a new job for a company.", additive)), ok[createJobIn]),
	tools.New(def(tool("close_job", "Close job",
		"Closes a job; its pipeline is frozen.", destructive)), ok[closeJobIn]),
	tools.New(def(tool("add_note", "Add note",
		"Adds a note to a candidate.", additive)), ok[addNoteIn]),
	tools.New(def(tool("list_notes", "List notes",
		"Lists a candidate's notes, newest first.", readOnly)), ok[listNotesIn]),
	tools.New(def(tool("schedule_interview", "Schedule interview",
		"Schedules an interview and invites the candidate.", external)), ok[scheduleInterviewIn]),
	tools.New(def(tool("cancel_interview", "Cancel interview",
		"Cancels an interview and notifies the candidate.", destructive)), ok[cancelInterviewIn]),
	tools.New(def(tool("list_interviews", "List interviews",
		"Lists interviews in a time window.", readOnly)), ok[listInterviewsIn]),
	tools.New(def(tool("send_email", "Send e-mail",
		"Sends an e-mail to a candidate from the recruiter's mailbox.", external)), ok[sendEmailIn]),
	tools.New(def(tool("log_call", "Log call",
		"Records a phone call with a candidate.", additive)), ok[logCallIn]),
	tools.New(def(tool("get_company", "Get company",
		"Returns one company, optionally with its open jobs.", readOnly)), ok[getCompanyIn]),
	tools.New(def(tool("list_companies", "List companies",
		"Lists client companies by name prefix.", readOnly)), ok[listCompaniesIn]),
	tools.New(def(tool("assign_recruiter", "Assign recruiter",
		"Makes a recruiter responsible for a job.", idempotent)), ok[assignRecruiterIn]),
	tools.New(def(tool("tag_candidate", "Tag candidate",
		"Adds tags to a candidate.", idempotent)), ok[tagCandidateIn]),
}

func def(t *mcp.Tool) tools.Def { return tools.Def{Tool: t, Toolset: "bench"} }

// Register adds the tool set to s (raw go-sdk handlers built by
// internal/tools, which answer exactly as mcp.AddTool's would).
func Register(s *mcp.Server) {
	for _, t := range all {
		t.Register(s)
	}
}
