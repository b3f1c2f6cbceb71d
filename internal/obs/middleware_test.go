package obs_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crm-mcp/crm-mcp/internal/obs"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{"none", "", false},
		{"well-formed", "abc-123_x.y:z", true},
		{"too long", strings.Repeat("a", 65), false},
		{"log injection", "id\n{\"level\":\"ERROR\"}", false},
		{"spaces", "a b", false},
		{"max length", strings.Repeat("a", 64), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			h := obs.Middleware(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = obs.RequestIDFrom(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.incoming != "" {
				req.Header[obs.RequestIDHeader] = []string{tt.incoming}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			echoed := rec.Header().Get(obs.RequestIDHeader)
			if echoed == "" || echoed != seen {
				t.Fatalf("echoed %q, handler saw %q", echoed, seen)
			}
			if (echoed == tt.incoming) != tt.keep {
				t.Errorf("incoming %q → %q, keep = %v", tt.incoming, echoed, tt.keep)
			}
		})
	}
}

// TestPanicRecovery: a panic becomes a 500 with the request id, and the log
// names the panic's type but never its value.
func TestPanicRecovery(t *testing.T) {
	var logs bytes.Buffer
	logger, err := obs.NewLogger(&logs, "json", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	h := obs.Middleware(logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("candidate jane@example.com SSN 123-45-6789")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mcp?token=QSECRET", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	id := rec.Header().Get(obs.RequestIDHeader)
	if !strings.Contains(rec.Body.String(), id) || strings.Contains(rec.Body.String(), "jane") {
		t.Errorf("body = %s", rec.Body)
	}
	out := logs.String()
	if !strings.Contains(out, `"panic_type":"string"`) || !strings.Contains(out, `"status":500`) {
		t.Errorf("log lacks panic type or 500 access line:\n%s", out)
	}
	for _, leak := range []string{"jane", "123-45", "QSECRET", "goroutine"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q:\n%s", leak, out)
		}
	}
}

// TestPanicAfterHeaders: once a response has started, recovery must not
// write a second status line.
func TestPanicAfterHeaders(t *testing.T) {
	h := obs.Middleware(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		panic(struct{}{})
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusAccepted || rec.Body.Len() != 0 {
		t.Errorf("got %d %q, want the original 202 and nothing appended", rec.Code, rec.Body)
	}
}

func TestAbortHandlerPropagates(t *testing.T) {
	h := obs.Middleware(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", v)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
}

func TestFlushReachesWriter(t *testing.T) {
	h := obs.Middleware(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("data: x\n\n"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through middleware: %v", err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !rec.Flushed {
		t.Error("the underlying writer was not flushed")
	}
}

func TestNewLoggerRejectsUnknownFormat(t *testing.T) {
	if _, err := obs.NewLogger(&bytes.Buffer{}, "xml", slog.LevelInfo); err == nil {
		t.Error("want an error for format xml")
	}
	if _, err := obs.ParseLevel("verbose"); err == nil {
		t.Error("want an error for level verbose")
	}
	if l, err := obs.ParseLevel("WARN"); err != nil || l != slog.LevelWarn {
		t.Errorf("ParseLevel(WARN) = %v, %v", l, err)
	}
}
