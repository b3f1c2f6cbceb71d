package crmtools

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

type pipelineReportIn struct {
	JobID   string `json:"jobId,omitempty" jsonschema:"Report on this job's pipeline."`
	OwnerID string `json:"ownerId,omitempty" jsonschema:"Report on this recruiter's applications (a CRM user id; see whoAmI and listTeam). Give jobId or ownerId, not both; neither means the whole agency."`
	Since   string `json:"since,omitempty" jsonschema:"Only applications created on or after this date (2025-01-31) or RFC 3339 time."`
}

type funnelRow struct {
	Stage string `json:"stage"`
	// Reached counts applications that were ever at this stage.
	Reached int `json:"reached" jsonschema:"Applications that were ever at this stage."`
	Current int `json:"current" jsonschema:"Applications at this stage now."`
	// Conversion percentages; absent where they do not apply.
	FromPrevious      *float64 `json:"conversionFromPreviousPct,omitempty" jsonschema:"Percent of those who reached the previous funnel stage that reached this one."`
	FromStart         *float64 `json:"conversionFromSourcedPct,omitempty" jsonschema:"Percent of those who reached sourced that reached this stage."`
	MedianDaysInStage float64  `json:"medianDaysInStage" jsonschema:"Median days spent at this stage, over completed stays (0 when none)."`
}

type reportOut struct {
	JobID        string      `json:"jobId,omitempty"`
	JobTitle     string      `json:"jobTitle,omitempty"`
	OwnerID      string      `json:"ownerId,omitempty"`
	Since        string      `json:"since,omitempty"`
	Applications int         `json:"applications" jsonschema:"Applications the report covers."`
	Stages       []funnelRow `json:"stages" jsonschema:"One row per stage, in funnel order; rejected last."`
}

func reportTools(d *deps) []tools.Registered {
	return []tools.Registered{
		newTool(d, spec{
			name: "pipelineReport", title: "Pipeline report", toolset: ToolsetReports, scope: identity.ScopeRead, effect: reads,
			description: "Funnel numbers for one job, one recruiter, or the whole agency: how many applications reached each stage, where they are now, conversion from stage to stage, and median days in each stage. " +
				"Use getPipeline to see the people behind the numbers.",
		}, pipelineReport, renderReport),
	}
}

func pipelineReport(ctx context.Context, c *call, in pipelineReportIn) (reportOut, error) {
	if in.JobID != "" && in.OwnerID != "" {
		return reportOut{}, invalidf("give jobId or ownerId, not both.")
	}
	q := crm.ReportQuery{JobID: in.JobID, OwnerID: in.OwnerID}
	if in.Since != "" {
		t, err := parseWhen("since", in.Since)
		if err != nil {
			return reportOut{}, err
		}
		q.Since = t
	}
	var (
		j    crm.Job
		rows []crm.FunnelRow
	)
	fns := []func(context.Context) error{
		func(ctx context.Context) (err error) { rows, err = c.crm.PipelineReport(ctx, q); return err },
	}
	if in.JobID != "" {
		// A report on a job that is not in the CRM would be all zeros;
		// say so instead, the same way for every unknown id.
		fns = append(fns, func(ctx context.Context) (err error) { j, err = c.crm.GetJob(ctx, in.JobID); return err })
	}
	if err := c.firstErr(fanout(ctx, fns...), "job", in.JobID); err != nil {
		return reportOut{}, err
	}
	out := reportOut{JobID: in.JobID, JobTitle: j.Title, OwnerID: in.OwnerID, Since: ts(q.Since), Stages: funnel(rows)}
	for _, r := range rows {
		out.Applications += r.Current
	}
	return out, nil
}

// funnel adds conversion rates to the CRM's rows: along sourced → … →
// hired; rejected gets none.
func funnel(rows []crm.FunnelRow) []funnelRow {
	out := make([]funnelRow, 0, len(rows))
	start, prev := -1, -1
	for _, r := range rows {
		f := funnelRow{Stage: string(r.Stage), Reached: r.Reached, Current: r.Current, MedianDaysInStage: round1(r.MedianDaysInStage)}
		if r.Stage != crm.StageRejected {
			if start < 0 {
				start = r.Reached
			} else {
				f.FromPrevious, f.FromStart = pct(r.Reached, prev), pct(r.Reached, start)
			}
			prev = r.Reached
		}
		out = append(out, f)
	}
	return out
}

func pct(n, of int) *float64 {
	if of <= 0 {
		return nil
	}
	return ptr(round1(100 * float64(n) / float64(of)))
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func renderReport(o *reportOut) string {
	var b strings.Builder
	switch {
	case o.JobID != "":
		fmt.Fprintf(&b, "Pipeline report for job %s (%s)", orDash(o.JobTitle), o.JobID)
	case o.OwnerID != "":
		fmt.Fprintf(&b, "Pipeline report for recruiter %s", o.OwnerID)
	default:
		b.WriteString("Pipeline report for the whole agency")
	}
	if o.Since != "" {
		fmt.Fprintf(&b, ", applications since %s", dayOf(o.Since))
	}
	fmt.Fprintf(&b, ": %s.\n\n", plural(o.Applications, "application"))
	rows := make([][]string, 0, len(o.Stages))
	for _, r := range o.Stages {
		rows = append(rows, []string{r.Stage, fmt.Sprint(r.Reached), fmt.Sprint(r.Current), pctText(r.FromPrevious), pctText(r.FromStart), fmt.Sprint(r.MedianDaysInStage)})
	}
	table(&b, []string{"Stage", "Reached", "Now", "From previous", "From sourced", "Median days"}, rows)
	return b.String()
}

func pctText(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *p)
}
