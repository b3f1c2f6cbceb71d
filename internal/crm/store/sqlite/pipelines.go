package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const appCols = `id, tenant_id, job_id, person_id, stage, reject_reason, owner_id, created_at, updated_at`

func scanApp(row interface{ Scan(...any) error }) (crm.Application, error) {
	var (
		a                crm.Application
		created, updated int64
	)
	err := row.Scan(&a.ID, &a.TenantID, &a.JobID, &a.PersonID, &a.Stage, &a.RejectReason, &a.OwnerID, &created, &updated)
	a.CreatedAt, a.UpdatedAt = fromTS(created), fromTS(updated)
	return a, err
}

// maxReasonLen bounds a stage change's reason.
const maxReasonLen = crm.MaxTextLen

// AddToPipeline puts a person into a job's pipeline. A person or job that
// is not in the tenant is ErrInvalid (the foreign keys say so); a second
// application for the same pair is ErrConflict.
func (s *Store) AddToPipeline(ctx context.Context, tenantID string, a crm.Application) (crm.Application, error) {
	if err := requireTenant(tenantID); err != nil {
		return crm.Application{}, err
	}
	if a.Stage == "" {
		a.Stage = crm.StageSourced
	}
	switch {
	case !crm.ValidStage(a.Stage):
		return crm.Application{}, invalid("unknown stage")
	case a.JobID == "" || a.PersonID == "":
		return crm.Application{}, invalid("job and person are required")
	case a.Stage == crm.StageRejected && strings.TrimSpace(a.RejectReason) == "":
		return crm.Application{}, invalid("a rejection needs a reason")
	case len(a.RejectReason) > maxReasonLen:
		return crm.Application{}, invalid("reason is too long")
	}
	if a.Stage != crm.StageRejected {
		a.RejectReason = ""
	}
	now := s.now()
	a.ID, a.TenantID, a.CreatedAt, a.UpdatedAt = crm.NewID("app"), tenantID, now, now
	a.History = []crm.StageChange{{To: a.Stage, At: now, UserID: a.OwnerID, Reason: a.RejectReason}}
	err := s.write(ctx, "add to pipeline", func(tx *sql.Tx) error {
		if err := checkUsers(ctx, tx, tenantID, a.OwnerID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO applications (`+appCols+`) VALUES (`+placeholders(9)+`)`,
			a.ID, tenantID, a.JobID, a.PersonID, a.Stage, a.RejectReason, a.OwnerID, ts(now), ts(now))
		if err != nil {
			return err
		}
		return insertChange(ctx, tx, tenantID, a.ID, 0, a.History[0])
	})
	if err != nil {
		return crm.Application{}, err
	}
	return a, nil
}

func insertChange(ctx context.Context, tx *sql.Tx, tenantID, appID string, seq int, c crm.StageChange) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO stage_changes (tenant_id, application_id, seq, from_stage, to_stage, at, user_id, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, tenantID, appID, seq, c.From, c.To, ts(c.At), c.UserID, c.Reason)
	return err
}

// GetApplication returns one application with its history.
func (s *Store) GetApplication(ctx context.Context, tenantID, id string) (crm.Application, error) {
	var a crm.Application
	err := s.read(ctx, "get application", func(tx *sql.Tx) error {
		var err error
		a, err = getApp(ctx, tx, tenantID, id)
		return err
	})
	return a, err
}

func getApp(ctx context.Context, q querier, tenantID, id string) (crm.Application, error) {
	a, err := scanApp(q.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("application")
	}
	if err != nil {
		return a, err
	}
	apps := []crm.Application{a}
	if err := loadHistory(ctx, q, tenantID, apps); err != nil {
		return a, err
	}
	return apps[0], nil
}

// loadHistory fills the History of apps (all of one tenant).
func loadHistory(ctx context.Context, q querier, tenantID string, apps []crm.Application) error {
	idx := make(map[string]int, len(apps))
	for i, a := range apps {
		idx[a.ID] = i
	}
	const chunk = 500
	for start := 0; start < len(apps); start += chunk {
		part := apps[start:min(start+chunk, len(apps))]
		args := []any{tenantID}
		for _, a := range part {
			args = append(args, a.ID)
		}
		rows, err := q.QueryContext(ctx, `SELECT application_id, from_stage, to_stage, at, user_id, reason FROM stage_changes
			WHERE tenant_id = ? AND application_id IN (`+placeholders(len(part))+`) ORDER BY application_id, seq`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				id string
				c  crm.StageChange
				at int64
			)
			if err := rows.Scan(&id, &c.From, &c.To, &at, &c.UserID, &c.Reason); err != nil {
				rows.Close()
				return err
			}
			c.At = fromTS(at)
			apps[idx[id]].History = append(apps[idx[id]].History, c)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// MoveStage changes an application's stage and appends the change to its
// history in one transaction; the single writer connection serialises
// concurrent moves, so none is lost. A move to hired records a placement
// without details in the same transaction.
func (s *Store) MoveStage(ctx context.Context, tenantID, applicationID string, to crm.Stage, userID, reason string) (crm.Application, error) {
	a, _, err := s.move(ctx, "move stage", tenantID, applicationID, to, userID, reason, crm.Placement{})
	return a, err
}

// Hire moves an application to hired and records its placement with p's
// details, in one transaction.
func (s *Store) Hire(ctx context.Context, tenantID, applicationID, userID string, p crm.Placement) (crm.Application, crm.Placement, error) {
	if err := p.Validate(); err != nil {
		return crm.Application{}, crm.Placement{}, err
	}
	return s.move(ctx, "hire", tenantID, applicationID, crm.StageHired, userID, "", p)
}

// move is MoveStage and Hire: details are the placement's when to is
// hired, ignored otherwise.
func (s *Store) move(ctx context.Context, op, tenantID, applicationID string, to crm.Stage, userID, reason string, details crm.Placement) (crm.Application, crm.Placement, error) {
	if !crm.ValidStage(to) {
		return crm.Application{}, crm.Placement{}, invalid("unknown stage")
	}
	if len(reason) > maxReasonLen {
		return crm.Application{}, crm.Placement{}, invalid("reason is too long")
	}
	var (
		a   crm.Application
		plc crm.Placement
	)
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		if a, err = getApp(ctx, tx, tenantID, applicationID); err != nil {
			return err
		}
		if err := checkUsers(ctx, tx, tenantID, userID); err != nil {
			return err
		}
		if !crm.CanMove(a.Stage, to) {
			return invalid("this stage change is not allowed")
		}
		if to == crm.StageRejected && strings.TrimSpace(reason) == "" {
			return invalid("a rejection needs a reason")
		}
		now := s.now()
		c := crm.StageChange{From: a.Stage, To: to, At: now, UserID: userID, Reason: reason}
		a.Stage, a.UpdatedAt, a.RejectReason = to, now, ""
		if to == crm.StageRejected {
			a.RejectReason = reason
		}
		if _, err := tx.ExecContext(ctx, `UPDATE applications SET stage = ?, reject_reason = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			a.Stage, a.RejectReason, ts(now), tenantID, a.ID); err != nil {
			return err
		}
		if err := insertChange(ctx, tx, tenantID, a.ID, len(a.History), c); err != nil {
			return err
		}
		a.History = append(a.History, c)
		if to != crm.StageHired {
			return nil
		}
		plc = crm.Placement{
			ID: crm.NewID("plc"), TenantID: tenantID, ApplicationID: a.ID, JobID: a.JobID, PersonID: a.PersonID,
			StartDate: details.StartDate.UTC(), Salary: details.Salary, Fee: details.Fee, Currency: details.Currency,
			CreatedBy: userID, CreatedAt: now,
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO placements (`+placementCols+`) VALUES (`+placeholders(11)+`)`,
			plc.TenantID, plc.ID, plc.ApplicationID, plc.JobID, plc.PersonID, nullTS(plc.StartDate), plc.Salary, plc.Fee, plc.Currency, plc.CreatedBy, ts(now))
		return err
	})
	if err != nil {
		return crm.Application{}, crm.Placement{}, err
	}
	return a, plc, nil
}

const placementCols = `tenant_id, id, application_id, job_id, person_id, start_date, salary, fee, currency, created_by, created_at`

func scanPlacement(row interface{ Scan(...any) error }) (crm.Placement, error) {
	var (
		p       crm.Placement
		start   sql.NullInt64
		created int64
	)
	err := row.Scan(&p.TenantID, &p.ID, &p.ApplicationID, &p.JobID, &p.PersonID, &start, &p.Salary, &p.Fee, &p.Currency, &p.CreatedBy, &created)
	p.StartDate, p.CreatedAt = fromNullTS(start), fromTS(created)
	return p, err
}

// Placements lists placements of a job and/or a person (or the tenant),
// newest first, then by id.
func (s *Store) Placements(ctx context.Context, tenantID string, q crm.PlacementQuery) ([]crm.Placement, error) {
	if err := requireTenant(tenantID); err != nil {
		return nil, err
	}
	where, args := []string{"tenant_id = ?"}, []any{tenantID}
	if q.JobID != "" {
		where, args = append(where, "job_id = ?"), append(args, q.JobID)
	}
	if q.PersonID != "" {
		where, args = append(where, "person_id = ?"), append(args, q.PersonID)
	}
	args = append(args, listLimit(q.Limit))
	out := []crm.Placement{}
	err := s.read(ctx, "placements", func(tx *sql.Tx) error {
		if q.JobID != "" {
			if err := mustExist(ctx, tx, "jobs", "job", tenantID, q.JobID); err != nil {
				return err
			}
		}
		if q.PersonID != "" {
			if err := mustExist(ctx, tx, "people", "person", tenantID, q.PersonID); err != nil {
				return err
			}
		}
		return collect(ctx, tx, &out, scanPlacement, `SELECT `+placementCols+` FROM placements WHERE `+strings.Join(where, " AND ")+
			` ORDER BY created_at DESC, id LIMIT ?`, args...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listApps loads applications with their history in one snapshot.
func (s *Store) listApps(ctx context.Context, op, tenantID, parentTable, parentWhat, parentID, where, order string) ([]crm.Application, error) {
	var out []crm.Application
	err := s.read(ctx, op, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, parentTable, parentWhat, tenantID, parentID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+appCols+` FROM applications WHERE tenant_id = ? AND `+where+` ORDER BY `+order, tenantID, parentID)
		if err != nil {
			return err
		}
		for rows.Next() {
			a, err := scanApp(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, a)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return loadHistory(ctx, tx, tenantID, out)
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []crm.Application{}
	}
	return out, nil
}

// stageOrder is a SQL expression ranking stage in crm.Stages order.
var stageOrder = func() string {
	var b strings.Builder
	b.WriteString("CASE stage")
	for i, st := range crm.Stages {
		b.WriteString(" WHEN '" + string(st) + "' THEN " + string(rune('0'+i)))
	}
	b.WriteString(" ELSE 99 END")
	return b.String()
}()

// JobPipeline lists a job's applications by stage (funnel order), then
// UpdatedAt ascending (longest waiting first), then id.
func (s *Store) JobPipeline(ctx context.Context, tenantID, jobID string) ([]crm.Application, error) {
	return s.listApps(ctx, "job pipeline", tenantID, "jobs", "job", jobID, "job_id = ?", stageOrder+", updated_at, id")
}

// PersonApplications lists a person's applications, newest first.
func (s *Store) PersonApplications(ctx context.Context, tenantID, personID string) ([]crm.Application, error) {
	return s.listApps(ctx, "person applications", tenantID, "people", "person", personID, "person_id = ?", "created_at DESC, id")
}

// PipelineReport computes the funnel over the applications the query
// selects, from their histories, in one snapshot.
func (s *Store) PipelineReport(ctx context.Context, tenantID string, q crm.ReportQuery) ([]crm.FunnelRow, error) {
	where, args := []string{"a.tenant_id = ?"}, []any{tenantID}
	if q.JobID != "" {
		where, args = append(where, "a.job_id = ?"), append(args, q.JobID)
	}
	if q.OwnerID != "" {
		where, args = append(where, "a.owner_id = ?"), append(args, q.OwnerID)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "a.created_at >= ?"), append(args, ts(q.Since))
	}
	type agg struct {
		reached, current int
		stays            []float64
	}
	stats := map[crm.Stage]*agg{}
	for _, st := range crm.Stages {
		stats[st] = &agg{}
	}
	err := s.read(ctx, "pipeline report", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT a.id, a.stage, c.to_stage, c.at FROM applications a
			JOIN stage_changes c ON c.tenant_id = a.tenant_id AND c.application_id = a.id
			WHERE `+strings.Join(where, " AND ")+` ORDER BY a.id, c.seq`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var (
			prevApp   string
			prevStage crm.Stage
			prevAt    int64
			reached   map[crm.Stage]bool
		)
		for rows.Next() {
			var (
				id         string
				cur, to    crm.Stage
				at         int64
				newAppSeen bool
			)
			if err := rows.Scan(&id, &cur, &to, &at); err != nil {
				return err
			}
			if id != prevApp {
				newAppSeen, prevApp, reached = true, id, map[crm.Stage]bool{}
				if a := stats[cur]; a != nil {
					a.current++
				}
			}
			if !newAppSeen {
				if a := stats[prevStage]; a != nil {
					a.stays = append(a.stays, float64(at-prevAt)/float64(24*time.Hour))
				}
			}
			if a := stats[to]; a != nil && !reached[to] {
				reached[to] = true
				a.reached++
			}
			prevStage, prevAt = to, at
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]crm.FunnelRow, 0, len(crm.Stages))
	for _, st := range crm.Stages {
		a := stats[st]
		out = append(out, crm.FunnelRow{Stage: st, Reached: a.reached, Current: a.current, MedianDaysInStage: median(a.stays)})
	}
	return out, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
