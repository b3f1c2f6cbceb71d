package crmtools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/export"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/state"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

// The CSV exports (docs/architecture.md, "CSV export"). Rows come through
// the CRM API like every tool's, so the tenant is the service token's;
// columns come from the allow-lists below (never a tenant id, never
// notes); package export applies the caps, the deadline, the per-page
// timeout and the formula guard.

// peopleColumns is the allow-list of exportPeopleCsv.
var peopleColumns = export.NewTable(
	export.Column[crm.Person]{Name: "id", Value: func(p crm.Person) string { return p.ID }},
	export.Column[crm.Person]{Name: "kind", Value: func(p crm.Person) string { return string(p.Kind) }},
	export.Column[crm.Person]{Name: "firstName", Value: func(p crm.Person) string { return p.FirstName }},
	export.Column[crm.Person]{Name: "lastName", Value: func(p crm.Person) string { return p.LastName }},
	export.Column[crm.Person]{Name: "headline", Value: func(p crm.Person) string { return p.Headline }},
	export.Column[crm.Person]{Name: "emails", Value: func(p crm.Person) string { return strings.Join(p.Emails, "; ") }},
	export.Column[crm.Person]{Name: "phones", Value: func(p crm.Person) string { return strings.Join(p.Phones, "; ") }},
	export.Column[crm.Person]{Name: "location", Value: func(p crm.Person) string { return p.Location }},
	export.Column[crm.Person]{Name: "currentTitle", Value: func(p crm.Person) string { return p.CurrentTitle }},
	export.Column[crm.Person]{Name: "currentCompany", Value: func(p crm.Person) string { return p.CurrentCompany }},
	export.Column[crm.Person]{Name: "companyId", Value: func(p crm.Person) string { return p.CompanyID }},
	export.Column[crm.Person]{Name: "skills", Value: func(p crm.Person) string { return strings.Join(p.Skills, "; ") }},
	export.Column[crm.Person]{Name: "source", Value: func(p crm.Person) string { return p.Source }},
	export.Column[crm.Person]{Name: "tags", Value: func(p crm.Person) string { return strings.Join(p.Tags, "; ") }},
	export.Column[crm.Person]{Name: "ownerId", Value: func(p crm.Person) string { return p.OwnerID }},
	export.Column[crm.Person]{Name: "createdAt", Value: func(p crm.Person) string { return ts(p.CreatedAt) }},
	export.Column[crm.Person]{Name: "updatedAt", Value: func(p crm.Person) string { return ts(p.UpdatedAt) }},
)

// pipelineEntry is one row of a pipeline export: an application and its
// person (zero if the person is gone).
type pipelineEntry struct {
	job crm.Job
	app crm.Application
	per crm.Person
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// pipelineColumns is the allow-list of exportPipelineCsv.
var pipelineColumns = export.NewTable(
	export.Column[pipelineEntry]{Name: "applicationId", Value: func(e pipelineEntry) string { return e.app.ID }},
	export.Column[pipelineEntry]{Name: "personId", Value: func(e pipelineEntry) string { return e.app.PersonID }},
	export.Column[pipelineEntry]{Name: "firstName", Value: func(e pipelineEntry) string { return e.per.FirstName }},
	export.Column[pipelineEntry]{Name: "lastName", Value: func(e pipelineEntry) string { return e.per.LastName }},
	export.Column[pipelineEntry]{Name: "email", Value: func(e pipelineEntry) string { return first(e.per.Emails) }},
	export.Column[pipelineEntry]{Name: "phone", Value: func(e pipelineEntry) string { return first(e.per.Phones) }},
	export.Column[pipelineEntry]{Name: "currentTitle", Value: func(e pipelineEntry) string { return e.per.CurrentTitle }},
	export.Column[pipelineEntry]{Name: "currentCompany", Value: func(e pipelineEntry) string { return e.per.CurrentCompany }},
	export.Column[pipelineEntry]{Name: "location", Value: func(e pipelineEntry) string { return e.per.Location }},
	export.Column[pipelineEntry]{Name: "stage", Value: func(e pipelineEntry) string { return string(e.app.Stage) }},
	export.Column[pipelineEntry]{Name: "rejectReason", Value: func(e pipelineEntry) string { return e.app.RejectReason }},
	export.Column[pipelineEntry]{Name: "ownerId", Value: func(e pipelineEntry) string { return e.app.OwnerID }},
	export.Column[pipelineEntry]{Name: "addedAt", Value: func(e pipelineEntry) string { return ts(e.app.CreatedAt) }},
	export.Column[pipelineEntry]{Name: "updatedAt", Value: func(e pipelineEntry) string { return ts(e.app.UpdatedAt) }},
	export.Column[pipelineEntry]{Name: "jobId", Value: func(e pipelineEntry) string { return e.job.ID }},
	export.Column[pipelineEntry]{Name: "jobTitle", Value: func(e pipelineEntry) string { return e.job.Title }},
)

type exportPeopleIn struct {
	RetrievalID string        `json:"retrievalId,omitempty" jsonschema:"The retrievalId of an earlier searchPeople call: export exactly its results (valid 30 minutes). When set, query and filters are ignored."`
	Query       string        `json:"query,omitempty" jsonschema:"Free text, as in searchPeople; every word must match. Leave empty (and give no filters) to export by most recently updated."`
	Filters     peopleFilters `json:"filters,omitzero" jsonschema:"Optional filters, as in searchPeople, all of which must hold."`
	Columns     []string      `json:"columns,omitempty" jsonschema:"Columns to include, in this order; default all of: id, kind, firstName, lastName, headline, emails, phones, location, currentTitle, currentCompany, companyId, skills, source, tags, ownerId, createdAt, updatedAt."`
}

type exportPipelineIn struct {
	JobID   string    `json:"jobId" jsonschema:"The job's id (job_…)."`
	Stage   crm.Stage `json:"stage,omitempty" jsonschema:"Only people at this stage."`
	Columns []string  `json:"columns,omitempty" jsonschema:"Columns to include, in this order; default all of: applicationId, personId, firstName, lastName, email, phone, currentTitle, currentCompany, location, stage, rejectReason, ownerId, addedAt, updatedAt, jobId, jobTitle."`
}

type exportOut struct {
	Summary     string        `json:"summary" jsonschema:"What was exported and why it stopped, e.g. Exported 1 000 of 3 412 rows: row cap reached."`
	Reason      export.Reason `json:"reason" jsonschema:"Why the export stopped: complete (every matching row is in the file), cap (the row cap of 1000 or the size cap was reached), deadline (the time limit was reached) or incomplete (the CRM failed or did not answer a page in time). Anything but complete means the file holds only part of the rows."`
	Detail      export.Detail `json:"detail,omitempty" jsonschema:"Finer reason when not complete: row_cap, size_cap, deadline, page_timeout or upstream_error."`
	Rows        int           `json:"rows" jsonschema:"Data rows in the file."`
	TotalRows   int           `json:"totalRows" jsonschema:"Rows that matched."`
	Columns     []string      `json:"columns" jsonschema:"The file's columns, in order."`
	Bytes       int           `json:"bytes" jsonschema:"The file's size in bytes."`
	Filename    string        `json:"filename" jsonschema:"The file's name."`
	Delivery    string        `json:"delivery" jsonschema:"embedded: the file is in this result as a text/csv resource; link: download it from downloadUrl."`
	DownloadURL string        `json:"downloadUrl,omitempty" jsonschema:"With delivery link: where to download the file, with the same bearer token as this server; it works only for you."`
	ExpiresAt   string        `json:"expiresAt,omitempty" jsonschema:"With delivery link: when downloadUrl stops working (10 minutes)."`
}

func exportTools(d *deps) []tools.Registered {
	return []tools.Registered{
		newTool(d, spec{
			name: "exportPeopleCsv", title: "Export people as CSV", toolset: ToolsetExports, scope: identity.ScopeExport, effect: reads,
			description: "Export people to a CSV file (spreadsheet): the results of an earlier searchPeople (its retrievalId) or the same query and filters searchPeople takes, at most 1000 rows. " +
				"Small files come back in the result as a text/csv resource, larger ones as a download link valid 10 minutes. The result says whether the file is complete. " +
				"Use searchPeople to look at people; use this only when the user wants a file.",
			invalid: "check the filters (jobId must be a job in your CRM) and the column names.",
		}, exportPeopleCsv, renderExport),
		newTool(d, spec{
			name: "exportPipelineCsv", title: "Export a job's pipeline as CSV", toolset: ToolsetExports, scope: identity.ScopeExport, effect: reads,
			description: "Export one job's pipeline to a CSV file (spreadsheet): every application with the person's name and contact details, stage and dates, optionally only one stage, at most 1000 rows. " +
				"Small files come back in the result as a text/csv resource, larger ones as a download link valid 10 minutes. " +
				"Use getPipeline to look at a pipeline; use this only when the user wants a file.",
			invalid: "check the stage and the column names.",
		}, exportPipelineCsv, renderExport),
	}
}

func columnsErr(t interface{ Names() []string }) error {
	return invalidf("unknown column; choose from: %s.", strings.Join(t.Names(), ", "))
}

func exportPeopleCsv(ctx context.Context, c *call, in exportPeopleIn) (exportOut, error) {
	cols, err := peopleColumns.Select(in.Columns)
	if err != nil {
		return exportOut{}, columnsErr(peopleColumns)
	}
	var ids []string
	var total int
	if in.RetrievalID != "" {
		snap, err := c.snapshots.GetSnapshot(ctx, in.RetrievalID)
		switch {
		case errors.Is(err, state.ErrNotFound):
			return exportOut{}, peopleSearch.expired()
		case err != nil:
			return exportOut{}, err
		case snap.TenantID != c.p.TenantID || snap.UserID != c.p.UserID || snap.Kind != peopleSearch.kind:
			return exportOut{}, peopleSearch.expired()
		}
		ids, total = snap.IDs, snap.Total
	} else {
		q := crm.PeopleQuery{
			Text: strings.TrimSpace(in.Query), Kind: in.Filters.Kind, Location: strings.TrimSpace(in.Filters.Location),
			Skills: in.Filters.Skills, Stage: in.Filters.Stage, JobID: in.Filters.JobID, OwnerID: in.Filters.OwnerID,
			Limit: min(c.exportLim.MaxRows, crm.MaxLimit),
		}
		if in.Filters.UpdatedSince != "" {
			if q.UpdatedSince, err = parseWhen("updatedSince", in.Filters.UpdatedSince); err != nil {
				return exportOut{}, err
			}
		}
		// The search is the export's first page: it gets the page timeout.
		sctx, cancel := context.WithTimeout(ctx, c.exportLim.PageTimeout)
		res, err := c.crm.SearchPeople(sctx, q)
		cancel()
		if err != nil {
			return exportOut{}, c.crmErr(err, "", "")
		}
		ids, total = res.IDs, res.Total
	}
	src := export.Source[crm.Person]{
		Total: total, Len: len(ids),
		Fetch: func(ctx context.Context, start, end int) ([]crm.Person, error) {
			return c.crm.GetPeople(ctx, ids[start:end])
		},
	}
	return runExport(ctx, c, cols, src)
}

func exportPipelineCsv(ctx context.Context, c *call, in exportPipelineIn) (exportOut, error) {
	cols, err := pipelineColumns.Select(in.Columns)
	if err != nil {
		return exportOut{}, columnsErr(pipelineColumns)
	}
	var (
		j    crm.Job
		apps []crm.Application
	)
	// The job and its pipeline are the export's first page.
	pctx, cancel := context.WithTimeout(ctx, c.exportLim.PageTimeout)
	errs := fanout(pctx,
		func(ctx context.Context) (err error) { j, err = c.crm.GetJob(ctx, in.JobID); return err },
		func(ctx context.Context) (err error) { apps, err = c.crm.JobPipeline(ctx, in.JobID); return err },
	)
	cancel()
	if err := c.firstErr(errs, "job", in.JobID); err != nil {
		return exportOut{}, err
	}
	var shown []crm.Application
	for _, a := range apps {
		if in.Stage == "" || a.Stage == in.Stage {
			shown = append(shown, a)
		}
	}
	src := export.Source[pipelineEntry]{
		Total: len(shown), Len: len(shown),
		Fetch: func(ctx context.Context, start, end int) ([]pipelineEntry, error) {
			page := shown[start:end]
			ids := make([]string, len(page))
			for i, a := range page {
				ids[i] = a.PersonID
			}
			people, err := c.crm.GetPeople(ctx, ids)
			if err != nil {
				return nil, err
			}
			byID := make(map[string]crm.Person, len(people))
			for _, p := range people {
				byID[p.ID] = p
			}
			out := make([]pipelineEntry, len(page))
			for i, a := range page {
				out[i] = pipelineEntry{job: j, app: a, per: byID[a.PersonID]}
			}
			return out, nil
		},
	}
	return runExport(ctx, c, cols, src)
}

// runExport runs the export and delivers the file: embedded as a text/csv
// resource up to embedMax bytes, else stored behind a signed download
// link.
func runExport[R any](ctx context.Context, c *call, cols []export.Column[R], src export.Source[R]) (exportOut, error) {
	res, err := export.Run(ctx, c.exportLim, cols, src, nil)
	if err != nil {
		return exportOut{}, err
	}
	attrs := []slog.Attr{slog.String("tool", c.spec.name), slog.String("reason", string(res.Reason)),
		slog.String("detail", string(res.Detail)), slog.Int("rows", res.Rows)}
	if res.Err != nil {
		attrs = append(attrs, slog.String("err_class", errClass(res.Err)), slog.String("code", errCode(res.Err)))
	}
	// The audit record of an export (architecture §10): what stopped it
	// and how many rows left, never their content.
	c.logger.LogAttrs(ctx, slog.LevelInfo, "export finished", attrs...)

	out := exportOut{
		Summary: res.Summary(), Reason: res.Reason, Detail: res.Detail, Rows: res.Rows, TotalRows: res.Total,
		Columns: res.Columns, Bytes: len(res.CSV),
	}
	if len(res.CSV) <= c.embedMax {
		id := "exp_" + randomHex(16)
		out.Filename, out.Delivery = export.Filename(id), "embedded"
		addContent(ctx, &mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
			URI: "crm-mcp://exports/" + out.Filename, MIMEType: "text/csv", Text: string(res.CSV),
		}})
		return out, nil
	}
	if c.exports == nil {
		return exportOut{}, &userError{msg: fmt.Sprintf("The export has %d rows (%d bytes), too large to return here, and download links are not available on this server. Export fewer columns or narrow the search.", res.Rows, len(res.CSV))}
	}
	link, err := c.exports.Publish(ctx, c.p, res)
	if err != nil {
		return exportOut{}, err
	}
	size := int64(len(res.CSV))
	out.Filename, out.Delivery, out.DownloadURL, out.ExpiresAt = link.Filename, "link", link.URL, ts(link.ExpiresAt)
	addContent(ctx, &mcp.ResourceLink{
		URI: link.URL, Name: link.Filename, Title: "CSV export", MIMEType: "text/csv", Size: &size,
		Description: fmt.Sprintf("CSV export, %d rows; download with the same bearer token before %s.", res.Rows, ts(link.ExpiresAt)),
	})
	return out, nil
}

func renderExport(o *exportOut) string {
	var b strings.Builder
	b.WriteString(o.Summary + "\n")
	fmt.Fprintf(&b, "Columns: %s.\n", strings.Join(o.Columns, ", "))
	switch o.Delivery {
	case "embedded":
		fmt.Fprintf(&b, "The file %s (%d bytes) is attached to this result as a text/csv resource.\n", o.Filename, o.Bytes)
	case "link":
		fmt.Fprintf(&b, "The file %s (%d bytes) is too large to attach. Download it before %s from %s with the same bearer token (Authorization header) as this server; the link works only for you.\n",
			o.Filename, o.Bytes, o.ExpiresAt, o.DownloadURL)
	}
	b.WriteString("Cells a spreadsheet would run as formulas start with an apostrophe (').\n")
	return b.String()
}
