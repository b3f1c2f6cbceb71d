package app_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/app"
)

// exportResult is the wire shape of an export tool's result.
type exportResult struct {
	Content []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		URI      string `json:"uri"`
		Name     string `json:"name"`
		MIMEType string `json:"mimeType"`
		Size     int64  `json:"size"`
		Resource *struct {
			URI      string `json:"uri"`
			MIMEType string `json:"mimeType"`
			Text     string `json:"text"`
		} `json:"resource"`
	} `json:"content"`
	StructuredContent struct {
		Reason, Delivery, DownloadURL, Summary string
		Rows, TotalRows, Bytes                 int
	} `json:"structuredContent"`
	IsError bool `json:"isError"`
}

func callExportTool(t *testing.T, ts *testServer, tok, name, args string) (exportResult, response) {
	t.Helper()
	resp := ts.postAuth(t, tok, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+name+`","arguments":`+args+`}}`)
	var out exportResult
	if resp.status == http.StatusOK {
		if err := json.Unmarshal(resp.rpc(t).Result, &out); err != nil {
			t.Fatal(err)
		}
	}
	return out, resp
}

// TestExportDownload runs exportPeopleCsv through the whole stack on a
// tenant large enough for a download link, then fetches the link: only
// with the exporting user's bearer token, an intact signature and before
// expiry; the file has none of another tenant's records.
func TestExportDownload(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	ts := startServer(t, map[string]string{"CRM_MCP_DEMO_PEOPLE": "400"}, func(o *app.Options) { o.Now = now })
	alice := mintTokenFor(t, ts, "usr_acme_alice", "tnt_acme", "crm:read", "crm:write", "crm:export")
	aliceRead := mintTokenFor(t, ts, "usr_acme_alice", "tnt_acme", "crm:read", "crm:write")
	admin := mintTokenFor(t, ts, "usr_acme_admin", "tnt_acme", "crm:read", "crm:export")
	bob := mintTokenFor(t, ts, "usr_globex_bob", "tnt_globex", "crm:read", "crm:write", "crm:export")

	// A canary in globex that acme's export must not carry.
	const canary = "CANARYglobexexport"
	if r := callTool(t, ts, bob, "createPerson", `{"firstName":"`+canary+`","headline":"=HYPERLINK(\"https://evil.example\")"}`); r.IsError {
		t.Fatalf("bob createPerson: %+v", r)
	}

	// Without crm:export the tool call is refused with a step-up challenge.
	if _, resp := callExportTool(t, ts, aliceRead, "exportPeopleCsv", `{}`); resp.status != http.StatusForbidden ||
		!strings.Contains(resp.header.Get("WWW-Authenticate"), "crm:export") {
		t.Errorf("export without crm:export: %d %q", resp.status, resp.header.Get("WWW-Authenticate"))
	}

	r, resp := callExportTool(t, ts, alice, "exportPeopleCsv", `{}`)
	if resp.status != http.StatusOK || r.IsError {
		t.Fatalf("export: %d %s", resp.status, resp.body)
	}
	sc := r.StructuredContent
	if sc.Delivery != "link" || sc.Rows != 400 || sc.Reason != "complete" || len(r.Content) != 2 {
		t.Fatalf("want a complete 400-row export behind a link; got %+v with %d content items", sc, len(r.Content))
	}
	if !strings.Contains(r.Content[0].Text, "<tool-data nonce=") || !strings.Contains(r.Content[0].Text, "Exported 400 of 400 rows: complete.") {
		t.Errorf("text: %s", r.Content[0].Text)
	}
	link := r.Content[1]
	if link.Type != "resource_link" || link.URI != sc.DownloadURL || link.MIMEType != "text/csv" || link.Size != int64(sc.Bytes) ||
		!strings.HasPrefix(link.URI, ts.URL+"/mcp/exports/exp_") {
		t.Fatalf("resource_link = %+v", link)
	}

	get := func(u, tok string) response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return ts.do(t, req)
	}
	ok := get(link.URI, alice)
	if ok.status != http.StatusOK || ok.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		ok.header.Get("X-Content-Type-Options") != "nosniff" || ok.header.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(ok.header.Get("Content-Disposition"), `attachment; filename="export-exp_`) {
		t.Fatalf("owner download: %d %v", ok.status, ok.header)
	}
	recs, err := csv.NewReader(strings.NewReader(string(ok.body))).ReadAll()
	if err != nil || len(recs) != 401 || int64(len(ok.body)) != link.Size {
		t.Fatalf("file: %d records, %d bytes, %v", len(recs), len(ok.body), err)
	}
	if strings.Contains(string(ok.body), canary) || strings.Contains(string(ok.body), "globex") {
		t.Error("acme's export carries globex data")
	}

	u, _ := url.Parse(link.URI)
	q := u.Query()
	q.Set("sig", strings.Repeat("A", len(q.Get("sig"))))
	tampered := *u
	tampered.RawQuery = q.Encode()
	for _, c := range []struct {
		name, url, tok string
		status         int
	}{
		{"no bearer token", link.URI, "", http.StatusUnauthorized},
		{"token without crm:export", link.URI, aliceRead, http.StatusForbidden},
		{"another user of the tenant", link.URI, admin, http.StatusNotFound},
		{"another tenant", link.URI, bob, http.StatusNotFound},
		{"tampered signature", tampered.String(), alice, http.StatusNotFound},
	} {
		got := get(c.url, c.tok)
		if got.status != c.status || strings.Contains(string(got.body), "usr_acme") {
			t.Errorf("%s: %d %s, want %d", c.name, got.status, got.body, c.status)
		}
		if c.status == http.StatusUnauthorized && !strings.Contains(got.header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Errorf("%s: no bearer challenge", c.name)
		}
	}

	skew.Store(int64(10*time.Minute + time.Second))
	if got := get(link.URI, alice); got.status != http.StatusGone {
		t.Errorf("expired link: %d %s, want 410", got.status, got.body)
	}
	if got := get(link.URI, bob); got.status != http.StatusNotFound {
		t.Errorf("expired link, another tenant: %d, want 404", got.status)
	}
}

// TestExportEmbeddedSmall: a small export comes back embedded as a
// text/csv resource next to the fenced text, formula cells prefixed.
func TestExportEmbeddedSmall(t *testing.T) {
	ts := startServer(t, nil)
	alice := mintTokenFor(t, ts, "usr_acme_alice", "tnt_acme", "crm:read", "crm:write", "crm:export")
	if r := callTool(t, ts, alice, "createPerson", `{"firstName":"Formula","lastName":"=1+2\";=1+2"}`); r.IsError {
		t.Fatalf("createPerson: %+v", r)
	}
	r, resp := callExportTool(t, ts, alice, "exportPeopleCsv", `{"query":"Formula","columns":["firstName","lastName"]}`)
	if resp.status != http.StatusOK || r.IsError || len(r.Content) != 2 || r.Content[1].Type != "resource" || r.Content[1].Resource == nil {
		t.Fatalf("export: %d %s", resp.status, resp.body)
	}
	res := r.Content[1].Resource
	if res.MIMEType != "text/csv" || res.Text != "firstName,lastName\r\nFormula,\"'=1+2\"\";=1+2\"\r\n" {
		t.Errorf("embedded resource = %+v", res)
	}
	if r.StructuredContent.Delivery != "embedded" || r.StructuredContent.Reason != "complete" {
		t.Errorf("structuredContent = %+v", r.StructuredContent)
	}
}

// exportFiles is how many content items besides the text tr may have: one
// CSV file (embedded text/csv resource or resource_link) for a successful
// export tool call, else none.
func exportFiles(tool string, tr toolResult) int {
	if !strings.HasPrefix(tool, "export") || tr.IsError || len(tr.Content) != 2 {
		return 0
	}
	switch c := tr.Content[1]; c.Type {
	case "resource":
		if c.Resource != nil && c.Resource.MIMEType == "text/csv" {
			return 1
		}
	case "resource_link":
		if c.MIMEType == "text/csv" && c.URI != "" {
			return 1
		}
	}
	return 0
}

// exportedCSV returns the embedded file of an export result, parsed.
func (s *toolSuite) exportedCSV(tool string, tr toolResult) [][]string {
	s.t.Helper()
	if exportFiles(tool, tr) != 1 || tr.Content[1].Resource == nil {
		s.t.Fatalf("%s: no embedded CSV: %+v", tool, tr.Content)
	}
	r := csv.NewReader(strings.NewReader(tr.Content[1].Resource.Text))
	recs, err := r.ReadAll()
	if err != nil {
		s.t.Fatalf("%s: CSV: %v", tool, err)
	}
	return recs
}

// aliceExports: the export tools on alice's records (after
// aliceUsesEveryTool), with one domain fact each.
func (s *toolSuite) aliceExports() {
	type obj = map[string]any
	var out struct {
		Reason   string
		Rows     int
		Delivery string
	}
	tr := s.ok("exportPeopleCsv", obj{"query": s.w.last, "columns": []string{"id", "lastName", "headline"}}, &out)
	recs := s.exportedCSV("exportPeopleCsv", tr)
	s.fact("exportPeopleCsv", out.Reason == "complete" && out.Rows == 1 && out.Delivery == "embedded" && len(recs) == 2 &&
		strings.Join(recs[0], ",") == "id,lastName,headline" && recs[1][0] == s.a.person && recs[1][1] == s.w.last,
		"by last name: %+v %q", out, recs)
	tr = s.ok("exportPeopleCsv", obj{"retrievalId": s.a.rsPeople, "columns": []string{"id"}}, &out)
	recs = s.exportedCSV("exportPeopleCsv", tr)
	s.fact("exportPeopleCsv", out.Reason == "complete" && out.Rows > 1 && len(recs) == out.Rows+1, "by retrievalId: %+v", out)

	tr = s.ok("exportPipelineCsv", obj{"jobId": s.a.job}, &out)
	recs = s.exportedCSV("exportPipelineCsv", tr)
	row := map[string]string{}
	if len(recs) == 2 {
		for i, h := range recs[0] {
			row[h] = recs[1][i]
		}
	}
	s.fact("exportPipelineCsv", out.Rows == 1 && row["applicationId"] == s.a.app && row["personId"] == s.a.person &&
		row["lastName"] == s.w.last && row["stage"] == "interview" && row["jobId"] == s.a.job,
		"pipeline: %+v %v", out, row)
}
