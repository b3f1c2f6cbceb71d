package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	segjson "github.com/segmentio/encoding/json"
)

// TokenSource returns the service token for the caller in ctx (minted for
// the request's principal, never the client's own access token).
type TokenSource func(ctx context.Context) (string, error)

// Client calls the CRM API. Safe for concurrent use.
type Client struct {
	base  string
	http  *http.Client
	token TokenSource
}

// NewClient returns a client for the API at baseURL (e.g.
// http://127.0.0.1:8081). If httpClient is nil, http.DefaultClient.
func NewClient(baseURL string, httpClient *http.Client, token TokenSource) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{base: baseURL, http: httpClient, token: token}
}

// Error is a failed API call. It matches the crm sentinels with errors.Is,
// so callers handle "not found" the same whether the store is local or
// behind the API.
type Error struct {
	Status int
	Code   string
}

func (e *Error) Error() string { return fmt.Sprintf("crm api: %d %s", e.Status, e.Code) }

// Is maps the API's error codes onto the crm sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case crm.ErrNotFound:
		return e.Code == "not_found"
	case crm.ErrInvalid:
		return e.Code == "invalid"
	case crm.ErrConflict:
		return e.Code == "conflict"
	case crm.ErrUnavailable:
		return e.Status >= 500
	}
	return false
}

// ErrUnauthorized means the API refused the service token.
var ErrUnauthorized = errors.New("crm api: service token refused")

// maxResponse bounds what the client reads (a page of 1 000 ids or 100
// people is far below it).
const maxResponse = 8 << 20

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode crm api request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("build crm api request: %w", err)
	}
	tok, err := c.token(ctx)
	if err != nil {
		return fmt.Errorf("mint service token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("call crm api: %w", errors.Join(crm.ErrUnavailable, ctxErr(ctx, err)))
	}
	defer resp.Body.Close()
	limited := io.LimitReader(resp.Body, maxResponse)
	if resp.StatusCode == http.StatusUnauthorized {
		return ErrUnauthorized
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(limited).Decode(&e)
		return &Error{Status: resp.StatusCode, Code: e.Error}
	}
	if out == nil {
		return nil
	}
	data, err := io.ReadAll(limited)
	if err != nil {
		return fmt.Errorf("read crm api response: %w", errors.Join(crm.ErrUnavailable, ctxErr(ctx, err)))
	}
	if err := decodeResponse(data, out); err != nil {
		return fmt.Errorf("decode crm api response: %w", errors.Join(crm.ErrUnavailable, err))
	}
	return nil
}

// decodeResponse decodes an answer of our own server with the segmentio
// decoder (as internal/tools decodes tool arguments): the answers are our
// own encoding, field names match exactly, and decoding them with
// encoding/json was ~7 % of getPersonInfo's CPU (docs/performance.md).
func decodeResponse(data []byte, out any) error {
	rest, err := segjson.Parse(data, out, segjson.DontMatchCaseInsensitiveStructFields)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return errors.New("trailing data after the answer")
	}
	return nil
}

// ctxErr prefers the context's error (cancellation, deadline) so callers
// can tell them from network failures.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func call[Out any](ctx context.Context, c *Client, method, path string, in any) (Out, error) {
	var out Out
	err := c.do(ctx, method, path, in, &out)
	return out, err
}

func esc(id string) string { return url.PathEscape(id) }

// People.

func (c *Client) CreatePerson(ctx context.Context, p crm.Person) (crm.Person, error) {
	return call[crm.Person](ctx, c, http.MethodPost, "/v1/people", p)
}
func (c *Client) GetPerson(ctx context.Context, id string) (crm.Person, error) {
	return call[crm.Person](ctx, c, http.MethodGet, "/v1/people/"+esc(id), nil)
}

// PersonInfo is everything about a person in one call (see crm.PersonInfo).
func (c *Client) PersonInfo(ctx context.Context, id string, lim crm.InfoLimits) (crm.PersonInfo, error) {
	q := url.Values{}
	q.Set("notes", strconv.Itoa(lim.Notes))
	q.Set("activities", strconv.Itoa(lim.Activities))
	q.Set("tasks", strconv.Itoa(lim.Tasks))
	return call[crm.PersonInfo](ctx, c, http.MethodGet, "/v1/people/"+esc(id)+"/info?"+q.Encode(), nil)
}
func (c *Client) UpdatePerson(ctx context.Context, id string, p crm.PersonPatch) (crm.Person, error) {
	return call[crm.Person](ctx, c, http.MethodPatch, "/v1/people/"+esc(id), p)
}
func (c *Client) GetPeople(ctx context.Context, ids []string) ([]crm.Person, error) {
	return call[[]crm.Person](ctx, c, http.MethodPost, "/v1/people/batch", IDs{IDs: ids})
}
func (c *Client) SearchPeople(ctx context.Context, q crm.PeopleQuery) (crm.SearchResult, error) {
	return call[crm.SearchResult](ctx, c, http.MethodPost, "/v1/people/search", q)
}
func (c *Client) PersonApplications(ctx context.Context, personID string) ([]crm.Application, error) {
	return call[[]crm.Application](ctx, c, http.MethodGet, "/v1/people/"+esc(personID)+"/applications", nil)
}
func (c *Client) RecentActivities(ctx context.Context, personID string, limit int) ([]crm.Activity, error) {
	return call[[]crm.Activity](ctx, c, http.MethodGet, "/v1/people/"+esc(personID)+"/activities?limit="+strconv.Itoa(limit), nil)
}
func (c *Client) Timeline(ctx context.Context, personID string, limit int) ([]crm.TimelineEntry, error) {
	return call[[]crm.TimelineEntry](ctx, c, http.MethodGet, "/v1/people/"+esc(personID)+"/timeline?limit="+strconv.Itoa(limit), nil)
}

// Companies.

func (c *Client) CreateCompany(ctx context.Context, co crm.Company) (crm.Company, error) {
	return call[crm.Company](ctx, c, http.MethodPost, "/v1/companies", co)
}
func (c *Client) GetCompany(ctx context.Context, id string) (crm.Company, error) {
	return call[crm.Company](ctx, c, http.MethodGet, "/v1/companies/"+esc(id), nil)
}
func (c *Client) UpdateCompany(ctx context.Context, id string, p crm.CompanyPatch) (crm.Company, error) {
	return call[crm.Company](ctx, c, http.MethodPatch, "/v1/companies/"+esc(id), p)
}
func (c *Client) GetCompanies(ctx context.Context, ids []string) ([]crm.Company, error) {
	return call[[]crm.Company](ctx, c, http.MethodPost, "/v1/companies/batch", IDs{IDs: ids})
}
func (c *Client) SearchCompanies(ctx context.Context, q crm.CompanyQuery) (crm.SearchResult, error) {
	return call[crm.SearchResult](ctx, c, http.MethodPost, "/v1/companies/search", q)
}

// Jobs and pipelines.

func (c *Client) CreateJob(ctx context.Context, j crm.Job) (crm.Job, error) {
	return call[crm.Job](ctx, c, http.MethodPost, "/v1/jobs", j)
}
func (c *Client) GetJob(ctx context.Context, id string) (crm.Job, error) {
	return call[crm.Job](ctx, c, http.MethodGet, "/v1/jobs/"+esc(id), nil)
}
func (c *Client) UpdateJob(ctx context.Context, id string, p crm.JobPatch) (crm.Job, error) {
	return call[crm.Job](ctx, c, http.MethodPatch, "/v1/jobs/"+esc(id), p)
}
func (c *Client) GetJobs(ctx context.Context, ids []string) ([]crm.Job, error) {
	return call[[]crm.Job](ctx, c, http.MethodPost, "/v1/jobs/batch", IDs{IDs: ids})
}
func (c *Client) SearchJobs(ctx context.Context, q crm.JobQuery) (crm.SearchResult, error) {
	return call[crm.SearchResult](ctx, c, http.MethodPost, "/v1/jobs/search", q)
}
func (c *Client) JobPipeline(ctx context.Context, jobID string) ([]crm.Application, error) {
	return call[[]crm.Application](ctx, c, http.MethodGet, "/v1/jobs/"+esc(jobID)+"/pipeline", nil)
}
func (c *Client) AddToPipeline(ctx context.Context, a crm.Application) (crm.Application, error) {
	return call[crm.Application](ctx, c, http.MethodPost, "/v1/applications", a)
}
func (c *Client) GetApplication(ctx context.Context, id string) (crm.Application, error) {
	return call[crm.Application](ctx, c, http.MethodGet, "/v1/applications/"+esc(id), nil)
}
func (c *Client) MoveStage(ctx context.Context, applicationID string, to crm.Stage, reason string) (crm.Application, error) {
	return call[crm.Application](ctx, c, http.MethodPost, "/v1/applications/"+esc(applicationID)+"/move", MoveRequest{To: to, Reason: reason})
}

// Hire moves an application to hired and records its placement with p's
// details (see crm.Pipelines.Hire); the hiring user is the token's.
func (c *Client) Hire(ctx context.Context, applicationID string, p crm.Placement) (crm.Application, crm.Placement, error) {
	out, err := call[HireResponse](ctx, c, http.MethodPost, "/v1/applications/"+esc(applicationID)+"/hire",
		HireRequest{StartDate: p.StartDate, Salary: p.Salary, Fee: p.Fee, Currency: p.Currency})
	return out.Application, out.Placement, err
}

// Placements lists placements of a job and/or a person, newest first.
func (c *Client) Placements(ctx context.Context, q crm.PlacementQuery) ([]crm.Placement, error) {
	return call[[]crm.Placement](ctx, c, http.MethodPost, "/v1/placements/list", q)
}
func (c *Client) PipelineReport(ctx context.Context, q crm.ReportQuery) ([]crm.FunnelRow, error) {
	return call[[]crm.FunnelRow](ctx, c, http.MethodPost, "/v1/reports/pipeline", q)
}

// Notes, activities, tasks.

func (c *Client) AddNote(ctx context.Context, n crm.Note) (crm.Note, error) {
	return call[crm.Note](ctx, c, http.MethodPost, "/v1/notes", n)
}
func (c *Client) RecentNotes(ctx context.Context, s crm.Subject, limit int) ([]crm.Note, error) {
	return call[[]crm.Note](ctx, c, http.MethodPost, "/v1/notes/recent", RecentNotesRequest{Subject: s, Limit: limit})
}
func (c *Client) LogActivity(ctx context.Context, a crm.Activity) (crm.Activity, error) {
	return call[crm.Activity](ctx, c, http.MethodPost, "/v1/activities", a)
}
func (c *Client) CreateTask(ctx context.Context, t crm.Task) (crm.Task, error) {
	return call[crm.Task](ctx, c, http.MethodPost, "/v1/tasks", t)
}
func (c *Client) CompleteTask(ctx context.Context, id string) (crm.Task, error) {
	return call[crm.Task](ctx, c, http.MethodPost, "/v1/tasks/"+esc(id)+"/complete", nil)
}
func (c *Client) ListTasks(ctx context.Context, q crm.TaskQuery) ([]crm.Task, error) {
	return call[[]crm.Task](ctx, c, http.MethodPost, "/v1/tasks/list", q)
}

// Team.

func (c *Client) ListUsers(ctx context.Context) ([]UserInfo, error) {
	return call[[]UserInfo](ctx, c, http.MethodGet, "/v1/users", nil)
}
func (c *Client) GetUser(ctx context.Context, id string) (UserInfo, error) {
	return call[UserInfo](ctx, c, http.MethodGet, "/v1/users/"+esc(id), nil)
}
func (c *Client) GetTenant(ctx context.Context) (crm.Tenant, error) {
	return call[crm.Tenant](ctx, c, http.MethodGet, "/v1/tenant", nil)
}

// Login is the credential check of crm-mcp's login page, answered by the
// API because the password hashes live in the CRM store. The service token
// of this call speaks for crm-mcp itself (audience LoginAudience), not for
// a user.
type (
	// LoginRequest is a user's email and password, as typed.
	LoginRequest struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	// LoginUser is the authenticated user, without credentials.
	LoginUser struct {
		ID       string   `json:"id"`
		TenantID string   `json:"tenantId"`
		Email    string   `json:"email"`
		Name     string   `json:"name"`
		Role     crm.Role `json:"role"`
	}
)

// Login endpoint constants. The audience differs from the data endpoints'
// so that neither kind of service token is accepted by the other.
const (
	LoginPath     = "/v1/login"
	LoginAudience = "crm-api-login"
	// LoginSubject and LoginTenant are the sub and tenant of a login
	// service token: crm-mcp speaking for itself.
	LoginSubject = "crm-mcp"
	LoginTenant  = "crm-mcp:login"
	// CodeBadCredentials is the error code of a refused login (403).
	CodeBadCredentials = "bad_credentials"
)

// Login checks an email and password. A refusal is an *Error with Code
// CodeBadCredentials, the same for an unknown email and a wrong password.
func (c *Client) Login(ctx context.Context, email, password string) (LoginUser, error) {
	return call[LoginUser](ctx, c, http.MethodPost, LoginPath, LoginRequest{Email: email, Password: password})
}
