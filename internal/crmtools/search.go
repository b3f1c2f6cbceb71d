package crmtools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/state"
)

// Paging limits.
const (
	defaultPageSize = 20
	maxPageSize     = 50
	// maxSnapshotIDs is how many ids a search keeps for paging.
	maxSnapshotIDs = crm.MaxLimit
	// maxListLimit bounds the "limit" of list tools (tasks, timeline).
	maxListLimit = 100
)

// pageIn is the paging part of a search's input.
type pageIn struct {
	Page        int    `json:"page,omitempty" jsonschema:"Page to return, from 1. Default 1."`
	PageSize    int    `json:"pageSize,omitempty" jsonschema:"Results per page, 1-50. Default 20."`
	RetrievalID string `json:"retrievalId,omitempty" jsonschema:"The retrievalId of an earlier search, to page through its stored results (valid 30 minutes). When set, query and filters are ignored."`
}

// pageArgs are the arguments of the call that returns another page.
type pageArgs struct {
	RetrievalID string `json:"retrievalId"`
	Page        int    `json:"page"`
	PageSize    int    `json:"pageSize,omitempty"`
}

// nextCall is the exact call that returns the next page.
type nextCall struct {
	Tool      string   `json:"tool" jsonschema:"The tool to call."`
	Arguments pageArgs `json:"arguments" jsonschema:"The arguments to call it with."`
}

// page is the output of a search.
type page[Row any] struct {
	RetrievalID  string    `json:"retrievalId,omitempty" jsonschema:"Pass back with page to get another page of these results (valid 30 minutes). Absent when there is nothing to page."`
	Page         int       `json:"page" jsonschema:"This page's number, from 1."`
	PageSize     int       `json:"pageSize" jsonschema:"Results per page."`
	TotalResults int       `json:"totalResults" jsonschema:"How many records matched."`
	TotalPages   int       `json:"totalPages" jsonschema:"How many pages the pageable results fill."`
	Pageable     int       `json:"pageableResults" jsonschema:"How many of the results can be paged (the first 1000)."`
	Results      []Row     `json:"results" jsonschema:"This page's records."`
	NextCall     *nextCall `json:"nextCall,omitempty" jsonschema:"The call that returns the next page; absent on the last page."`
}

// pager runs or resumes one search. tool is the search tool's name, kind
// the snapshot kind (people, companies, jobs).
type pager struct {
	tool, kind string
	noun       string // result noun for texts: "person", "company", "job"
}

// errExpired tells the model to search again.
func (pg pager) expired() error {
	return &userError{msg: fmt.Sprintf("This retrievalId has expired or does not belong to this search. Call %s again without retrievalId to run the search again.", pg.tool)}
}

// run returns the ids of the requested page and the page's metadata
// (Results empty). search runs the query (Limit is set by run); it is not
// called when in.RetrievalID is set.
func run[Row any](ctx context.Context, c *call, pg pager, in pageIn, search func(limit int) (crm.SearchResult, error)) ([]string, page[Row], error) {
	size := in.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)
	n := max(in.Page, 1)

	var snap state.Snapshot
	id := in.RetrievalID
	if id != "" {
		var err error
		snap, err = c.snapshots.GetSnapshot(ctx, id)
		switch {
		case errors.Is(err, state.ErrNotFound):
			return nil, page[Row]{}, pg.expired()
		case err != nil:
			return nil, page[Row]{}, err
		case snap.TenantID != c.p.TenantID || snap.UserID != c.p.UserID || snap.Kind != pg.kind:
			// Another user's or tenant's retrievalId is answered exactly
			// like an expired one.
			return nil, page[Row]{}, pg.expired()
		}
	} else {
		res, err := search(maxSnapshotIDs)
		if err != nil {
			return nil, page[Row]{}, c.crmErr(err, "", "")
		}
		ids := res.IDs
		if len(ids) > maxSnapshotIDs {
			ids = ids[:maxSnapshotIDs]
		}
		snap = state.Snapshot{
			TenantID: c.p.TenantID, UserID: c.p.UserID, Kind: pg.kind,
			IDs: ids, Total: max(res.Total, len(ids)), CreatedAt: c.now(),
		}
		if len(ids) > size || n > 1 {
			id = "rs_" + randomHex(16)
			if err := c.snapshots.SaveSnapshot(ctx, id, snap, SnapshotTTL); err != nil {
				// The first page can still be answered; paging cannot.
				c.logger.LogAttrs(ctx, slog.LevelError, "search snapshot not saved",
					slog.String("tool", pg.tool), slog.String("err_class", errClass(err)), slog.String("code", errCode(err)))
				id = ""
			}
		}
	}

	pageable := len(snap.IDs)
	out := page[Row]{
		RetrievalID:  id,
		Page:         n,
		PageSize:     size,
		TotalResults: snap.Total,
		TotalPages:   (pageable + size - 1) / size,
		Pageable:     pageable,
		Results:      []Row{},
	}
	start := (n - 1) * size
	if start >= pageable {
		return nil, out, nil
	}
	end := min(start+size, pageable)
	if end < pageable && id != "" {
		out.NextCall = &nextCall{Tool: pg.tool, Arguments: pageArgs{RetrievalID: id, Page: n + 1}}
		if size != defaultPageSize {
			out.NextCall.Arguments.PageSize = size
		}
	}
	return snap.IDs[start:end], out, nil
}

// renderPage writes a search's text: the summary line, the table and the
// next call.
func renderPage[Row any](pg pager, p *page[Row], header []string, row func(Row) []string) string {
	var b strings.Builder
	switch {
	case p.TotalResults == 0:
		fmt.Fprintf(&b, "No %s matched this search. Try fewer words or filters.\n", pg.plural())
		return b.String()
	case p.Page > p.TotalPages:
		fmt.Fprintf(&b, "Page %d is past the last page: %s fill %s.", p.Page, plural(p.Pageable, "result"), plural(p.TotalPages, "page"))
		if p.RetrievalID != "" {
			fmt.Fprintf(&b, " For the last page, call %s with %s.", pg.tool, argsText(pageArgs{RetrievalID: p.RetrievalID, Page: p.TotalPages, PageSize: nonDefault(p.PageSize)}))
		}
		b.WriteString("\n")
		return b.String()
	}
	first := (p.Page-1)*p.PageSize + 1
	last := min(p.Page*p.PageSize, p.Pageable)
	fmt.Fprintf(&b, "Showing %d-%d of %d results (page %d of %d)\n\n", first, last, p.TotalResults, p.Page, p.TotalPages)
	rows := make([][]string, 0, len(p.Results))
	for _, r := range p.Results {
		rows = append(rows, row(r))
	}
	table(&b, header, rows)
	b.WriteString("\n")
	switch {
	case p.NextCall != nil:
		fmt.Fprintf(&b, "To see the next page, call %s with %s\n", p.NextCall.Tool, argsText(p.NextCall.Arguments))
	case last < p.Pageable:
		b.WriteString("More results exist, but paging is unavailable right now. Run the search again shortly.\n")
	default:
		b.WriteString("This is the last page.\n")
	}
	if p.TotalResults > p.Pageable {
		fmt.Fprintf(&b, "Only the first %d results can be paged; add words or filters to narrow the search.\n", p.Pageable)
	}
	return b.String()
}

func nonDefault(size int) int {
	if size == defaultPageSize {
		return 0
	}
	return size
}

// argsText writes paging arguments the way the text names them:
// retrievalId: "…", page: 2.
func argsText(a pageArgs) string {
	s := fmt.Sprintf("retrievalId: %q, page: %d", a.RetrievalID, a.Page)
	if a.PageSize != 0 {
		s += fmt.Sprintf(", pageSize: %d", a.PageSize)
	}
	return s
}

func (pg pager) plural() string {
	switch pg.noun {
	case "person":
		return "people"
	case "company":
		return "companies"
	}
	return pg.noun + "s"
}
