package loadbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/obs"
)

// Environment of a child process.
const (
	envChild    = "CRM_LOADBENCH_CHILD"    // "stack", "floor-sql" or "floor-bytes"
	envAddr     = "CRM_LOADBENCH_ADDR"     // floors: listen address
	envCaptures = "CRM_LOADBENCH_CAPTURES" // floors: captured responses (JSON file)
	envPinned   = "CRM_LOADBENCH_PINNED"   // set in the pinned re-exec of the harness
)

// Target names.
const (
	targetStack      = "stack"
	targetFloorSQL   = "floor-sql"
	targetFloorBytes = "floor-bytes"
)

// MaybeChild runs a child server and exits when CRM_LOADBENCH_CHILD is set;
// otherwise it returns at once. Call it first in main (Main does) or in a
// test binary's TestMain.
func MaybeChild() {
	kind := os.Getenv(envChild)
	if kind == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch kind {
	case targetStack:
		err = serveStack(ctx)
	case targetFloorSQL, targetFloorBytes:
		err = serveFloor(ctx, kind)
	default:
		err = fmt.Errorf("unknown child %q", kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serveStack runs the serve role as cmd/crm-mcp's serve does (config from
// CRM_MCP_*, GOGC 400 unless GOGC is set), with the product's JSON access
// log at INFO formatted on every request and written nowhere.
func serveStack(ctx context.Context) error {
	cfg, err := config.Load(nil, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	logger, err := obs.NewLogger(io.Discard, "json", slog.LevelInfo)
	if err != nil {
		return err
	}
	a, err := app.New(cfg, app.Options{Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}

// captures are one stack response body per operation (everything after
// `{"jsonrpc":"2.0","id":1` for MCP, the whole body for /token), taken
// before the measurements. floor-bytes writes them; floor-sql writes the
// tools/list and /token ones, which involve no SQL.
type captures map[string]string

// serveFloor runs a floor on CRM_LOADBENCH_ADDR over the CRM store of the
// CRM_MCP_* configuration.
func serveFloor(ctx context.Context, kind string) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400) // as the stack
	}
	raw, err := os.ReadFile(os.Getenv(envCaptures))
	if err != nil {
		return err
	}
	var caps captures
	if err := json.Unmarshal(raw, &caps); err != nil {
		return err
	}
	f := &floor{caps: caps, bytesOnly: kind == targetFloorBytes, retr: map[string][]string{}}
	if !f.bytesOnly {
		cfg, err := config.LoadSeed(nil, os.Getenv, io.Discard)
		if err != nil {
			return err
		}
		st, err := app.OpenCRMStore(ctx, cfg.Store, nil)
		if err != nil {
			return err
		}
		defer st.Close()
		f.st = st
	}
	ln, err := net.Listen("tcp", os.Getenv(envAddr))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// floor is the bare handler of both floors: encoding/json in, the store
// calls (floor-sql) or nothing (floor-bytes), encoding/json or captured
// bytes out. It trusts X-Loadbench-Tenant and X-Loadbench-User in place of
// a bearer token.
type floor struct {
	caps      captures
	bytesOnly bool
	st        crm.Store

	mu    sync.Mutex
	retr  map[string][]string // retrievalId → ids, as the tool keeps them
	order []string            // FIFO bound of retr
	seq   int
}

// floorRequest is every argument the workload sends.
type floorRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Name      string `json:"name"`
		Arguments struct {
			Query   string `json:"query"`
			Filters struct {
				Location string    `json:"location"`
				Skills   []string  `json:"skills"`
				Stage    crm.Stage `json:"stage"`
			} `json:"filters"`
			RetrievalID   string    `json:"retrievalId"`
			Page          int       `json:"page"`
			PersonID      string    `json:"personId"`
			JobID         string    `json:"jobId"`
			Body          string    `json:"body"`
			Title         string    `json:"title"`
			DueAt         string    `json:"dueAt"`
			ApplicationID string    `json:"applicationId"`
			Stage         crm.Stage `json:"stage"`
		} `json:"arguments"`
	} `json:"params"`
}

const (
	floorPageSize  = 20   // searchPeople's default page
	floorMaxRetr   = 4096 // retrievals kept
	floorPipeline  = 200  // getPipeline's applications shown
	floorTokenPath = "/token"
)

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == floorTokenPath {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("refresh_token") == "" {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, f.caps[opRefresh])
		return
	}
	var req floorRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	op := req.Method
	if op == "tools/call" {
		op = req.Params.Name
		if op == opSearch && req.Params.Arguments.RetrievalID != "" {
			op = opPage
		}
	}
	var out []byte
	if f.bytesOnly || op == opList {
		c, ok := f.caps[op]
		if !ok {
			http.Error(w, "no capture for "+op, http.StatusBadRequest)
			return
		}
		out = append(append([]byte(`{"jsonrpc":"2.0","id":`), req.ID...), c...)
	} else {
		result, err := f.call(r.Context(), r.Header.Get("X-Loadbench-Tenant"), r.Header.Get("X-Loadbench-User"), op, &req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body, err := json.Marshal(result)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out = append([]byte(`{"jsonrpc":"2.0","id":`), req.ID...)
		out = append(append(append(out, `,"result":{"structuredContent":`...), body...), "}}"...)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// call makes the store calls of one tool, as the CRM API makes them for
// the tool's API calls.
func (f *floor) call(ctx context.Context, tid, uid, op string, req *floorRequest) (any, error) {
	a := &req.Params.Arguments
	switch op {
	case opSearch:
		res, err := f.st.SearchPeople(ctx, tid, crm.PeopleQuery{Text: a.Query, Location: a.Filters.Location,
			Skills: a.Filters.Skills, Stage: a.Filters.Stage, Limit: crm.MaxLimit})
		if err != nil {
			return nil, err
		}
		id := f.keep(res.IDs)
		people, err := f.st.GetPeople(ctx, tid, res.IDs[:min(floorPageSize, len(res.IDs))])
		if err != nil {
			return nil, err
		}
		return searchOut{RetrievalID: id, Page: 1, TotalResults: res.Total, Results: people}, nil
	case opPage:
		f.mu.Lock()
		ids, ok := f.retr[a.RetrievalID]
		f.mu.Unlock()
		if !ok {
			return nil, errors.New("unknown retrievalId")
		}
		from := min(len(ids), (max(a.Page, 1)-1)*floorPageSize)
		people, err := f.st.GetPeople(ctx, tid, ids[from:min(from+floorPageSize, len(ids))])
		if err != nil {
			return nil, err
		}
		return searchOut{RetrievalID: a.RetrievalID, Page: a.Page, TotalResults: len(ids), Results: people}, nil
	case opInfo:
		return crm.ReadPersonInfo(ctx, f.st, tid, a.PersonID, crm.InfoLimits{Notes: 5, Activities: 5, Tasks: 20})
	case opPipeline:
		j, err := f.st.GetJob(ctx, tid, a.JobID)
		if err != nil {
			return nil, err
		}
		apps, err := f.st.JobPipeline(ctx, tid, a.JobID)
		if err != nil {
			return nil, err
		}
		shown := apps[:min(floorPipeline, len(apps))]
		ids := make([]string, 0, len(shown))
		for _, ap := range shown {
			ids = append(ids, ap.PersonID)
		}
		people, err := f.st.GetPeople(ctx, tid, ids)
		if err != nil {
			return nil, err
		}
		return struct {
			Job          crm.Job
			Total        int
			Applications []crm.Application
			People       []crm.Person
		}{j, len(apps), shown, people}, nil
	case opNote:
		return f.st.AddNote(ctx, tid, crm.Note{TenantID: tid, PersonID: a.PersonID, Body: a.Body, AuthorID: uid})
	case opTask:
		t := crm.Task{TenantID: tid, Title: a.Title, AssigneeID: uid, PersonID: a.PersonID}
		if a.DueAt != "" {
			due, err := time.Parse(time.DateOnly, a.DueAt)
			if err != nil {
				return nil, err
			}
			t.DueAt = due
		}
		return f.st.CreateTask(ctx, tid, t)
	case opMove:
		cur, err := f.st.GetApplication(ctx, tid, a.ApplicationID)
		if err != nil || cur.Stage == a.Stage {
			return cur, err
		}
		return f.st.MoveStage(ctx, tid, a.ApplicationID, a.Stage, uid, "")
	}
	return nil, fmt.Errorf("unknown operation %q", op)
}

type searchOut struct {
	RetrievalID  string       `json:"retrievalId"`
	Page         int          `json:"page"`
	TotalResults int          `json:"totalResults"`
	Results      []crm.Person `json:"results"`
}

// keep stores a search's ids under a new retrieval id, dropping the oldest
// beyond floorMaxRetr.
func (f *floor) keep(ids []string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := "flr_" + strconv.Itoa(f.seq)
	f.retr[id] = ids
	f.order = append(f.order, id)
	if len(f.order) > floorMaxRetr {
		delete(f.retr, f.order[0])
		f.order = f.order[1:]
	}
	return id
}
