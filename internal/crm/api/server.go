// Package api is the CRM's internal HTTP JSON API over a crm.Store, and the
// client crm-mcp's tools use to call it.
//
// Every request must carry a service token (RS256, aud crm-api) that the
// Authenticate middleware verifies; the tenant and the acting user come only
// from that token (Identity), never from the request body or path. Errors
// are JSON {"error": "<code>"} with no detail: not_found (404), invalid
// (400), conflict (409), unavailable (503), internal (500).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	segjson "github.com/segmentio/encoding/json"
)

// Identity is who a verified service token speaks for.
type Identity struct {
	TenantID string
	UserID   string
}

// Options configures a [Server].
type Options struct {
	Store crm.Store
	// Authenticate verifies the service token and must store the caller's
	// Identity with WithIdentity; requests it passes without one are refused.
	Authenticate func(http.Handler) http.Handler
	// Logger receives error classes only. If nil, discards.
	Logger *slog.Logger
}

// Server is the API's http.Handler.
type Server struct {
	store  crm.Store
	logger *slog.Logger
	h      http.Handler
}

type identityKey struct{}

// WithIdentity returns ctx carrying id (for the Authenticate middleware).
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

func identityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok && id.TenantID != "" && id.UserID != ""
}

// maxBody bounds request bodies: the largest legitimate one is a note.
const maxBody = 256 << 10

// NewServer builds the API handler.
func NewServer(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Authenticate == nil {
		return nil, errors.New("new crm api: store and authenticate are required")
	}
	s := &Server{store: opts.Store, logger: opts.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	st := opts.Store
	handle(mux, "POST /v1/people", s, func(ctx context.Context, id Identity, r *http.Request, in crm.Person) (crm.Person, error) {
		in.ID, in.TenantID = "", id.TenantID
		if in.OwnerID == "" {
			in.OwnerID = id.UserID
		}
		return st.CreatePerson(ctx, id.TenantID, in)
	})
	handle(mux, "GET /v1/people/{id}", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) (crm.Person, error) {
		return st.GetPerson(ctx, id.TenantID, r.PathValue("id"))
	})
	handle(mux, "GET /v1/people/{id}/info", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) (crm.PersonInfo, error) {
		q := r.URL.Query()
		lim := crm.InfoLimits{Notes: boundedInt(q.Get("notes"), 5), Activities: boundedInt(q.Get("activities"), 5), Tasks: boundedInt(q.Get("tasks"), 20)}
		return crm.ReadPersonInfo(ctx, st, id.TenantID, r.PathValue("id"), lim)
	})
	handle(mux, "PATCH /v1/people/{id}", s, func(ctx context.Context, id Identity, r *http.Request, in crm.PersonPatch) (crm.Person, error) {
		return st.UpdatePerson(ctx, id.TenantID, r.PathValue("id"), in)
	})
	handle(mux, "POST /v1/people/batch", s, func(ctx context.Context, id Identity, r *http.Request, in IDs) ([]crm.Person, error) {
		return st.GetPeople(ctx, id.TenantID, in.IDs)
	})
	handle(mux, "POST /v1/people/search", s, func(ctx context.Context, id Identity, r *http.Request, in crm.PeopleQuery) (crm.SearchResult, error) {
		return st.SearchPeople(ctx, id.TenantID, in)
	})
	handle(mux, "POST /v1/companies", s, func(ctx context.Context, id Identity, r *http.Request, in crm.Company) (crm.Company, error) {
		in.ID, in.TenantID = "", id.TenantID
		if in.OwnerID == "" {
			in.OwnerID = id.UserID
		}
		return st.CreateCompany(ctx, id.TenantID, in)
	})
	handle(mux, "GET /v1/companies/{id}", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) (crm.Company, error) {
		return st.GetCompany(ctx, id.TenantID, r.PathValue("id"))
	})
	handle(mux, "PATCH /v1/companies/{id}", s, func(ctx context.Context, id Identity, r *http.Request, in crm.CompanyPatch) (crm.Company, error) {
		return st.UpdateCompany(ctx, id.TenantID, r.PathValue("id"), in)
	})
	handle(mux, "POST /v1/companies/batch", s, func(ctx context.Context, id Identity, r *http.Request, in IDs) ([]crm.Company, error) {
		return st.GetCompanies(ctx, id.TenantID, in.IDs)
	})
	handle(mux, "POST /v1/companies/search", s, func(ctx context.Context, id Identity, r *http.Request, in crm.CompanyQuery) (crm.SearchResult, error) {
		return st.SearchCompanies(ctx, id.TenantID, in)
	})
	handle(mux, "POST /v1/jobs", s, func(ctx context.Context, id Identity, r *http.Request, in crm.Job) (crm.Job, error) {
		in.ID, in.TenantID = "", id.TenantID
		if in.OwnerID == "" {
			in.OwnerID = id.UserID
		}
		return st.CreateJob(ctx, id.TenantID, in)
	})
	handle(mux, "GET /v1/jobs/{id}", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) (crm.Job, error) {
		return st.GetJob(ctx, id.TenantID, r.PathValue("id"))
	})
	handle(mux, "PATCH /v1/jobs/{id}", s, func(ctx context.Context, id Identity, r *http.Request, in crm.JobPatch) (crm.Job, error) {
		return st.UpdateJob(ctx, id.TenantID, r.PathValue("id"), in)
	})
	handle(mux, "POST /v1/jobs/batch", s, func(ctx context.Context, id Identity, r *http.Request, in IDs) ([]crm.Job, error) {
		return st.GetJobs(ctx, id.TenantID, in.IDs)
	})
	handle(mux, "POST /v1/jobs/search", s, func(ctx context.Context, id Identity, r *http.Request, in crm.JobQuery) (crm.SearchResult, error) {
		return st.SearchJobs(ctx, id.TenantID, in)
	})
	handle(mux, "GET /v1/jobs/{id}/pipeline", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) ([]crm.Application, error) {
		return st.JobPipeline(ctx, id.TenantID, r.PathValue("id"))
	})
	handle(mux, "POST /v1/applications", s, func(ctx context.Context, id Identity, r *http.Request, in crm.Application) (crm.Application, error) {
		in.ID, in.TenantID, in.History = "", id.TenantID, nil
		if in.OwnerID == "" {
			in.OwnerID = id.UserID
		}
		return st.AddToPipeline(ctx, id.TenantID, in)
	})
	handle(mux, "GET /v1/applications/{id}", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) (crm.Application, error) {
		return st.GetApplication(ctx, id.TenantID, r.PathValue("id"))
	})
	handle(mux, "POST /v1/applications/{id}/move", s, func(ctx context.Context, id Identity, r *http.Request, in MoveRequest) (crm.Application, error) {
		return st.MoveStage(ctx, id.TenantID, r.PathValue("id"), in.To, id.UserID, in.Reason)
	})
	handle(mux, "POST /v1/applications/{id}/hire", s, func(ctx context.Context, id Identity, r *http.Request, in HireRequest) (HireResponse, error) {
		a, p, err := st.Hire(ctx, id.TenantID, r.PathValue("id"), id.UserID, crm.Placement{
			StartDate: in.StartDate, Salary: in.Salary, Fee: in.Fee, Currency: in.Currency,
		})
		return HireResponse{Application: a, Placement: p}, err
	})
	handle(mux, "POST /v1/placements/list", s, func(ctx context.Context, id Identity, r *http.Request, in crm.PlacementQuery) ([]crm.Placement, error) {
		return st.Placements(ctx, id.TenantID, in)
	})
	handle(mux, "GET /v1/people/{id}/applications", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) ([]crm.Application, error) {
		return st.PersonApplications(ctx, id.TenantID, r.PathValue("id"))
	})
	handle(mux, "POST /v1/reports/pipeline", s, func(ctx context.Context, id Identity, r *http.Request, in crm.ReportQuery) ([]crm.FunnelRow, error) {
		return st.PipelineReport(ctx, id.TenantID, in)
	})
	handle(mux, "POST /v1/notes", s, func(ctx context.Context, id Identity, r *http.Request, in crm.Note) (crm.Note, error) {
		in.ID, in.TenantID, in.AuthorID = "", id.TenantID, id.UserID
		return st.AddNote(ctx, id.TenantID, in)
	})
	handle(mux, "POST /v1/notes/recent", s, func(ctx context.Context, id Identity, r *http.Request, in RecentNotesRequest) ([]crm.Note, error) {
		return st.RecentNotes(ctx, id.TenantID, in.Subject, in.Limit)
	})
	handle(mux, "POST /v1/activities", s, func(ctx context.Context, id Identity, r *http.Request, in crm.Activity) (crm.Activity, error) {
		in.ID, in.TenantID, in.UserID = "", id.TenantID, id.UserID
		return st.LogActivity(ctx, id.TenantID, in)
	})
	handle(mux, "GET /v1/people/{id}/activities", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) ([]crm.Activity, error) {
		return st.RecentActivities(ctx, id.TenantID, r.PathValue("id"), queryLimit(r))
	})
	handle(mux, "GET /v1/people/{id}/timeline", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) ([]crm.TimelineEntry, error) {
		return st.Timeline(ctx, id.TenantID, r.PathValue("id"), queryLimit(r))
	})
	handle(mux, "POST /v1/tasks", s, func(ctx context.Context, id Identity, r *http.Request, in crm.Task) (crm.Task, error) {
		in.ID, in.TenantID = "", id.TenantID
		if in.AssigneeID == "" {
			in.AssigneeID = id.UserID
		}
		return st.CreateTask(ctx, id.TenantID, in)
	})
	handle(mux, "POST /v1/tasks/{id}/complete", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) (crm.Task, error) {
		return st.CompleteTask(ctx, id.TenantID, r.PathValue("id"), id.UserID)
	})
	handle(mux, "POST /v1/tasks/list", s, func(ctx context.Context, id Identity, r *http.Request, in crm.TaskQuery) ([]crm.Task, error) {
		return st.ListTasks(ctx, id.TenantID, in)
	})
	handle(mux, "GET /v1/users", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) ([]UserInfo, error) {
		users, err := st.ListUsers(ctx, id.TenantID)
		out := make([]UserInfo, 0, len(users))
		for _, u := range users {
			out = append(out, publicUser(u))
		}
		return out, err
	})
	handle(mux, "GET /v1/users/{id}", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) (UserInfo, error) {
		u, err := st.GetUser(ctx, id.TenantID, r.PathValue("id"))
		return publicUser(u), err
	})
	handle(mux, "GET /v1/tenant", s, func(ctx context.Context, id Identity, r *http.Request, _ empty) (crm.Tenant, error) {
		return st.GetTenant(ctx, id.TenantID)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, http.StatusNotFound, "not_found") })
	s.h = opts.Authenticate(mux)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// Request and response shapes that are not domain types.
type (
	// IDs asks for several records by id, in order.
	IDs struct {
		IDs []string `json:"ids"`
	}
	// MoveRequest moves an application to a stage.
	MoveRequest struct {
		To     crm.Stage `json:"to"`
		Reason string    `json:"reason,omitempty"`
	}
	// HireRequest moves an application to hired with the placement's
	// details; the application, job, person and hiring user are never
	// taken from the request.
	HireRequest struct {
		StartDate time.Time `json:"startDate,omitzero"`
		Salary    int64     `json:"salary,omitempty"`
		Fee       int64     `json:"fee,omitempty"`
		Currency  string    `json:"currency,omitempty"`
	}
	// HireResponse is the hired application and its placement.
	HireResponse struct {
		Application crm.Application `json:"application"`
		Placement   crm.Placement   `json:"placement"`
	}
	// RecentNotesRequest lists notes about a subject.
	RecentNotesRequest struct {
		Subject crm.Subject `json:"subject"`
		Limit   int         `json:"limit"`
	}
	// UserInfo is a user without credentials.
	UserInfo struct {
		ID    string   `json:"id"`
		Email string   `json:"email"`
		Name  string   `json:"name"`
		Role  crm.Role `json:"role"`
	}
	empty struct{}
)

func publicUser(u crm.User) UserInfo {
	return UserInfo{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role}
}

func queryLimit(r *http.Request) int { return boundedInt(r.URL.Query().Get("limit"), 20) }

// boundedInt parses a list size in 1..200, else def.
func boundedInt(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 200 {
		return def
	}
	return n
}

// handle mounts one typed endpoint: decode the JSON body into In (strictly:
// unknown fields are refused), take the identity from the verified token,
// call f, encode Out.
func handle[In, Out any](mux *http.ServeMux, pattern string, s *Server, f func(context.Context, Identity, *http.Request, In) (Out, error)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		id, ok := identityFrom(r.Context())
		if !ok {
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		var in In
		if r.Method == http.MethodPost || r.Method == http.MethodPatch {
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil && !(errors.Is(err, io.EOF) && isEmpty[In]()) {
				writeError(w, http.StatusBadRequest, "invalid")
				return
			}
		}
		out, err := recovered(s, w, r, pattern, func() (Out, error) { return f(r.Context(), id, r, in) })
		if errors.Is(err, errPanicked) {
			return
		}
		if err != nil {
			status, code := errorStatus(err)
			if status >= 500 {
				s.logger.LogAttrs(r.Context(), slog.LevelError, "crm api error", slog.String("route", pattern), slog.String("code", code), slog.String("err_type", fmt.Sprintf("%T", errors.Unwrap(err))))
			}
			writeError(w, status, code)
			return
		}
		// segmentio's encoder writes what encoding/json writes for these
		// types (HTML escaped, map keys sorted) in about half the time;
		// TestAnswersEncodeAsEncodingJSON holds it to that.
		body, err := segjson.Marshal(out)
		if err != nil {
			s.logger.LogAttrs(r.Context(), slog.LevelError, "crm api error", slog.String("route", pattern), slog.String("code", "internal"), slog.String("err_type", fmt.Sprintf("%T", err)))
			writeError(w, http.StatusInternalServerError, "internal")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(append(body, '\n'))
	})
}

// errPanicked says recovered caught a panic and answered already.
var errPanicked = errors.New("crm api: handler panicked")

// recovered runs one endpoint's work and turns a panic (a store bug, a driver
// fault) into a 500 "internal". Without it net/http would recover the
// panic itself and write its value and a stack trace to the error log;
// the value can hold record contents or SQL. The log gets the route and
// the panic's type only.
func recovered[Out any](s *Server, w http.ResponseWriter, r *http.Request, route string, work func() (Out, error)) (out Out, err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.logger.LogAttrs(r.Context(), slog.LevelError, "crm api panic", slog.String("route", route), slog.String("panic_type", fmt.Sprintf("%T", v)))
		writeError(w, http.StatusInternalServerError, "internal")
		err = errPanicked
	}()
	return work()
}

func isEmpty[T any]() bool {
	var v T
	_, ok := any(v).(empty)
	return ok
}

// errorStatus maps store errors to HTTP, in one place.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, crm.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, crm.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, crm.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, crm.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "unavailable"
	default:
		return http.StatusInternalServerError, "internal"
	}
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "2")
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}
