package crmtools

import (
	"context"
	"fmt"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

// infoJobs is how many of a company's jobs getCompanyInfo lists.
const infoJobs = 20

var companySearch = pager{tool: "searchCompanies", kind: "companies", noun: "company"}

type companyFilters struct {
	Industry string `json:"industry,omitempty" jsonschema:"Only companies in this industry."`
	Location string `json:"location,omitempty" jsonschema:"Part of the location, case-insensitive."`
}

type searchCompaniesIn struct {
	Query   string         `json:"query,omitempty" jsonschema:"Free text over name, domain, industry and description; every word must match. Leave empty to list by most recently updated."`
	Filters companyFilters `json:"filters,omitzero" jsonschema:"Optional filters, all of which must hold."`
	pageIn
}

type getCompanyInfoIn struct {
	CompanyID string `json:"companyId" jsonschema:"The company's id (cmp_…), from searchCompanies or another tool."`
}

type companyInfo struct {
	Company     company  `json:"company" jsonschema:"The profile."`
	Jobs        []jobRow `json:"jobs" jsonschema:"The company's jobs, most recently updated first (at most 20)."`
	TotalJobs   int      `json:"totalJobs" jsonschema:"How many jobs the company has."`
	RecentNotes []note   `json:"recentNotes" jsonschema:"The 5 most recent notes about the company."`
}

type createCompanyIn struct {
	Name        string `json:"name" jsonschema:"The company's name (required)."`
	Domain      string `json:"domain,omitempty" jsonschema:"Web domain, e.g. acme.example."`
	Industry    string `json:"industry,omitempty" jsonschema:"Industry, e.g. Software."`
	Location    string `json:"location,omitempty" jsonschema:"Headquarters or main office."`
	Size        string `json:"size,omitempty" jsonschema:"Head count band, e.g. 51-200."`
	Description string `json:"description,omitempty" jsonschema:"What the company does, and anything a recruiter should know."`
	OwnerID     string `json:"ownerId,omitempty" jsonschema:"The owning CRM user's id; default: you."`
}

type updateCompanyIn struct {
	CompanyID   string  `json:"companyId" jsonschema:"The company's id (cmp_…)."`
	Name        *string `json:"name,omitempty" jsonschema:"New name."`
	Domain      *string `json:"domain,omitempty" jsonschema:"New domain; empty clears it."`
	Industry    *string `json:"industry,omitempty" jsonschema:"New industry; empty clears it."`
	Location    *string `json:"location,omitempty" jsonschema:"New location; empty clears it."`
	Size        *string `json:"size,omitempty" jsonschema:"New size band; empty clears it."`
	Description *string `json:"description,omitempty" jsonschema:"New description (replaces the old one); empty clears it."`
	OwnerID     *string `json:"ownerId,omitempty" jsonschema:"New owning CRM user id."`
}

type companyOut struct {
	Company company `json:"company" jsonschema:"The company as stored now."`
}

func companyTools(d *deps) []tools.Registered {
	return []tools.Registered{
		newTool(d, spec{
			name: "searchCompanies", title: "Search companies", toolset: ToolsetCompanies, scope: identity.ScopeRead, effect: reads,
			description: "Find client companies by free text, industry or location. Returns one page of matches and a retrievalId; to see more, call searchCompanies again with that retrievalId and the next page. " +
				"Use getCompanyInfo for everything about one company, and searchJobs to find positions rather than companies.",
		}, searchCompanies, renderSearchCompanies),
		newTool(d, spec{
			name: "getCompanyInfo", title: "Get everything about a company", toolset: ToolsetCompanies, scope: identity.ScopeRead, effect: reads,
			description: "Everything about one client company in one call: profile, its jobs with their status, and the 5 most recent notes. " +
				"Use searchCompanies when you do not have the id, and getJobInfo for one job's details.",
		}, getCompanyInfo, renderCompanyInfo),
		newTool(d, spec{
			name: "createCompany", title: "Create a company", toolset: ToolsetCompanies, scope: identity.ScopeWrite, effect: adds,
			description: "Add a new client company. Search with searchCompanies first to avoid duplicates; to change one that exists, use updateCompany.",
			invalid:     "name is required; name, domain, industry, location and size are at most 200 characters and the description at most 20000.",
		}, createCompany, renderCompanyOut("Created")),
		newTool(d, spec{
			name: "updateCompany", title: "Update a company", toolset: ToolsetCompanies, scope: identity.ScopeWrite, effect: overwrites,
			description: "Change fields of an existing client company; fields you leave out stay as they are. To record a conversation or remark, use addNote instead.",
			invalid:     "name cannot be empty; name, domain, industry, location and size are at most 200 characters and the description at most 20000.",
		}, updateCompany, renderCompanyOut("Updated")),
	}
}

func searchCompanies(ctx context.Context, c *call, in searchCompaniesIn) (page[companyRow], error) {
	q := crm.CompanyQuery{Text: strings.TrimSpace(in.Query), Industry: strings.TrimSpace(in.Filters.Industry), Location: strings.TrimSpace(in.Filters.Location)}
	ids, out, err := run[companyRow](ctx, c, companySearch, in.pageIn, func(limit int) (crm.SearchResult, error) {
		q.Limit = limit
		return c.crm.SearchCompanies(ctx, q)
	})
	if err != nil || len(ids) == 0 {
		return out, err
	}
	cs, err := c.crm.GetCompanies(ctx, ids)
	if err != nil {
		return out, c.crmErr(err, "", "")
	}
	out.Results = mapSlice(cs, toCompanyRow)
	return out, nil
}

func renderSearchCompanies(p *page[companyRow]) string {
	return renderPage(companySearch, p, []string{"ID", "Name", "Industry", "Location", "Size"}, func(r companyRow) []string {
		return []string{r.ID, r.Name, r.Industry, r.Location, r.Size}
	})
}

func getCompanyInfo(ctx context.Context, c *call, in getCompanyInfoIn) (companyInfo, error) {
	id := in.CompanyID
	var (
		co    crm.Company
		jobs  crm.SearchResult
		notes []crm.Note
	)
	errs := fanout(ctx,
		func(ctx context.Context) (err error) { co, err = c.crm.GetCompany(ctx, id); return err },
		func(ctx context.Context) (err error) {
			jobs, err = c.crm.SearchJobs(ctx, crm.JobQuery{CompanyID: id, Limit: infoJobs})
			return err
		},
		func(ctx context.Context) (err error) {
			notes, err = c.crm.RecentNotes(ctx, crm.Subject{CompanyID: id}, infoNotes)
			return err
		},
	)
	if err := c.firstErr(errs, "company", id); err != nil {
		return companyInfo{}, err
	}
	out := companyInfo{
		Company:     toCompany(co),
		Jobs:        []jobRow{},
		TotalJobs:   jobs.Total,
		RecentNotes: mapSlice(firstNItems(notes, infoNotes), toNote),
	}
	if ids := firstNItems(jobs.IDs, infoJobs); len(ids) > 0 {
		js, err := c.crm.GetJobs(ctx, ids)
		if err != nil {
			return companyInfo{}, c.crmErr(err, "", "")
		}
		for _, j := range js {
			out.Jobs = append(out.Jobs, toJobRow(j, co.Name))
		}
	}
	return out, nil
}

func renderCompanyInfo(o *companyInfo) string {
	var b strings.Builder
	writeCompany(&b, &o.Company)
	b.WriteString("\n")
	if len(o.Jobs) == 0 {
		b.WriteString("Jobs: none.\n")
	} else {
		fmt.Fprintf(&b, "Jobs (%d of %d):\n", len(o.Jobs), o.TotalJobs)
		rows := make([][]string, 0, len(o.Jobs))
		for _, j := range o.Jobs {
			rows = append(rows, []string{j.ID, j.Title, j.Status, j.Location})
		}
		table(&b, []string{"ID", "Title", "Status", "Location"}, rows)
		if o.TotalJobs > len(o.Jobs) {
			fmt.Fprintf(&b, "For all of them, call searchJobs with filters: {companyId: %q}.\n", o.Company.ID)
		}
	}
	b.WriteString("\n")
	writeNotes(&b, "Recent notes", o.RecentNotes)
	return b.String()
}

func writeCompany(b *strings.Builder, c *company) {
	fmt.Fprintf(b, "%s (company, id %s)\n", orDash(c.Name), c.ID)
	line(b, "Industry", c.Industry)
	line(b, "Location", c.Location)
	line(b, "Size", c.Size)
	line(b, "Domain", c.Domain)
	line(b, "Owner", c.OwnerID)
	line(b, "Updated", c.UpdatedAt)
	block(b, "Description", c.Description, 2000)
}

func createCompany(ctx context.Context, c *call, in createCompanyIn) (companyOut, error) {
	co, err := c.crm.CreateCompany(ctx, crm.Company{
		Name: in.Name, Domain: in.Domain, Industry: in.Industry, Location: in.Location, Size: in.Size,
		Description: in.Description, OwnerID: in.OwnerID,
	})
	if err != nil {
		return companyOut{}, c.crmErr(err, "", "")
	}
	return companyOut{Company: toCompany(co)}, nil
}

func updateCompany(ctx context.Context, c *call, in updateCompanyIn) (companyOut, error) {
	patch := crm.CompanyPatch{
		Name: in.Name, Domain: in.Domain, Industry: in.Industry, Location: in.Location, Size: in.Size,
		Description: in.Description, OwnerID: in.OwnerID,
	}
	if patch == (crm.CompanyPatch{}) {
		return companyOut{}, invalidf("give at least one field to change besides companyId.")
	}
	co, err := c.crm.UpdateCompany(ctx, in.CompanyID, patch)
	if err != nil {
		return companyOut{}, c.crmErr(err, "company", in.CompanyID)
	}
	return companyOut{Company: toCompany(co)}, nil
}

func renderCompanyOut(verb string) func(*companyOut) string {
	return func(o *companyOut) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s this company:\n", verb)
		writeCompany(&b, &o.Company)
		return b.String()
	}
}
