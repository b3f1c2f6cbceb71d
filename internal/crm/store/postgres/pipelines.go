package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const appCols = `id, tenant_id, job_id, person_id, stage, reject_reason, coalesce(owner_id, ''), created_at, updated_at`

func scanApp(row pgx.Row) (crm.Application, error) {
	var a crm.Application
	var stage string
	err := row.Scan(&a.ID, &a.TenantID, &a.JobID, &a.PersonID, &stage, &a.RejectReason, &a.OwnerID, &a.CreatedAt, &a.UpdatedAt)
	a.Stage = crm.Stage(stage)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

// stageOrder sorts by funnel position in SQL.
var stageOrder = func() []string {
	out := make([]string, len(crm.Stages))
	for i, s := range crm.Stages {
		out[i] = string(s)
	}
	return out
}()

// AddToPipeline puts a person into a job's pipeline. The first history
// entry (from "") is stamped with the application's owner.
func (s *Store) AddToPipeline(ctx context.Context, tenantID string, a crm.Application) (crm.Application, error) {
	if a.Stage == "" {
		a.Stage = crm.StageSourced
	}
	if !crm.ValidStage(a.Stage) {
		return crm.Application{}, fmt.Errorf("%w: unknown stage", crm.ErrInvalid)
	}
	if a.JobID == "" || a.PersonID == "" {
		return crm.Application{}, fmt.Errorf("%w: an application needs a job and a person", crm.ErrInvalid)
	}
	if a.Stage == crm.StageRejected && strings.TrimSpace(a.RejectReason) == "" {
		return crm.Application{}, fmt.Errorf("%w: a rejection needs a reason", crm.ErrInvalid)
	}
	if a.Stage != crm.StageRejected {
		a.RejectReason = ""
	}
	if len(a.RejectReason) > crm.MaxTextLen {
		return crm.Application{}, fmt.Errorf("%w: reason is too long", crm.ErrInvalid)
	}
	a.ID = crm.NewID("app")
	now := s.stamp()
	var out crm.Application
	err := s.inTenant(ctx, "add to pipeline", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = scanApp(tx.QueryRow(ctx, `
			INSERT INTO applications (tenant_id, id, job_id, person_id, stage, reject_reason, owner_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, nullif($7, ''), $8, $8)
			RETURNING `+appCols,
			tenantID, a.ID, a.JobID, a.PersonID, string(a.Stage), a.RejectReason, a.OwnerID, now))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO stage_changes (tenant_id, application_id, seq, from_stage, to_stage, at, user_id, reason)
			VALUES ($1, $2, 1, '', $3, $4, nullif($5, ''), $6)`,
			tenantID, out.ID, string(out.Stage), now, out.OwnerID, out.RejectReason); err != nil {
			return err
		}
		out.History = []crm.StageChange{{To: out.Stage, At: now, UserID: out.OwnerID, Reason: out.RejectReason}}
		return nil
	})
	return out, err
}

// GetApplication returns one application with its history.
func (s *Store) GetApplication(ctx context.Context, tenantID, id string) (crm.Application, error) {
	var a crm.Application
	err := s.inTenant(ctx, "get application", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		a, err = scanApp(tx.QueryRow(ctx, `SELECT `+appCols+` FROM applications WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		if err != nil {
			return err
		}
		apps := []crm.Application{a}
		err = loadHistory(ctx, tx, tenantID, apps)
		a = apps[0]
		return err
	})
	return a, err
}

// MoveStage changes an application's stage and appends to its history in
// one transaction; the row lock serializes concurrent moves. A move to
// hired records a placement without details in the same transaction.
func (s *Store) MoveStage(ctx context.Context, tenantID, applicationID string, to crm.Stage, userID, reason string) (crm.Application, error) {
	a, _, err := s.move(ctx, "move stage", tenantID, applicationID, to, userID, reason, crm.Placement{})
	return a, err
}

// Hire moves an application to hired and records its placement with p's
// details, in one transaction. The application's row lock makes
// concurrent hires of one application wait for each other: the first
// wins, the others find it hired (crm.ErrInvalid).
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
		return crm.Application{}, crm.Placement{}, fmt.Errorf("%w: unknown stage", crm.ErrInvalid)
	}
	if to == crm.StageRejected && strings.TrimSpace(reason) == "" {
		return crm.Application{}, crm.Placement{}, fmt.Errorf("%w: a rejection needs a reason", crm.ErrInvalid)
	}
	if len(reason) > crm.MaxTextLen {
		return crm.Application{}, crm.Placement{}, fmt.Errorf("%w: reason is too long", crm.ErrInvalid)
	}
	now := s.stamp()
	var (
		out crm.Application
		plc crm.Placement
	)
	err := s.inTenant(ctx, op, tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		a, err := scanApp(tx.QueryRow(ctx, `SELECT `+appCols+` FROM applications WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, applicationID))
		if err != nil {
			return err
		}
		if !crm.CanMove(a.Stage, to) {
			return fmt.Errorf("%w: cannot move from %s to %s", crm.ErrInvalid, a.Stage, to)
		}
		rejectReason := ""
		if to == crm.StageRejected {
			rejectReason = reason
		}
		out, err = scanApp(tx.QueryRow(ctx, `
			UPDATE applications SET stage = $3, reject_reason = $4, updated_at = $5
			WHERE tenant_id = $1 AND id = $2
			RETURNING `+appCols, tenantID, applicationID, string(to), rejectReason, now))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO stage_changes (tenant_id, application_id, seq, from_stage, to_stage, at, user_id, reason)
			SELECT $1, $2, coalesce(max(seq), 0) + 1, $3, $4, $5, nullif($6, ''), $7
			FROM stage_changes WHERE tenant_id = $1 AND application_id = $2`,
			tenantID, applicationID, string(a.Stage), string(to), now, userID, reason); err != nil {
			return err
		}
		if to == crm.StageHired {
			// The user's foreign key (on stage_changes above, and here)
			// refuses a user the tenant does not have.
			plc, err = scanPlacement(tx.QueryRow(ctx, `
				INSERT INTO placements (tenant_id, id, application_id, job_id, person_id, start_date, salary, fee, currency, created_by, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, nullif($10, ''), $11)
				RETURNING `+placementCols,
				tenantID, crm.NewID("plc"), a.ID, a.JobID, a.PersonID, nullTime(details.StartDate), details.Salary, details.Fee,
				details.Currency, userID, now))
			if err != nil {
				return err
			}
		}
		apps := []crm.Application{out}
		err = loadHistory(ctx, tx, tenantID, apps)
		out = apps[0]
		return err
	})
	if err != nil {
		return crm.Application{}, crm.Placement{}, err
	}
	return out, plc, nil
}

const placementCols = `id, tenant_id, application_id, job_id, person_id, start_date, salary, fee, currency,
	coalesce(created_by, ''), created_at`

func scanPlacement(row pgx.Row) (crm.Placement, error) {
	var p crm.Placement
	var start *time.Time
	err := row.Scan(&p.ID, &p.TenantID, &p.ApplicationID, &p.JobID, &p.PersonID, &start, &p.Salary, &p.Fee, &p.Currency, &p.CreatedBy, &p.CreatedAt)
	p.StartDate, p.CreatedAt = utc(start), p.CreatedAt.UTC()
	return p, err
}

// Placements lists placements of a job and/or a person (or the tenant),
// newest first, then by id. An unknown job or person is crm.ErrNotFound.
func (s *Store) Placements(ctx context.Context, tenantID string, q crm.PlacementQuery) ([]crm.Placement, error) {
	var b query
	b.where("tenant_id = " + b.arg(tenantID))
	if q.JobID != "" {
		b.where("job_id = " + b.arg(q.JobID))
	}
	if q.PersonID != "" {
		b.where("person_id = " + b.arg(q.PersonID))
	}
	sql := `SELECT ` + placementCols + ` FROM placements WHERE ` + joinAnd(b.conds) +
		` ORDER BY created_at DESC, id LIMIT ` + b.arg(pageSize(q.Limit))
	ps := []crm.Placement{}
	err := s.inTenant(ctx, "placements", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		if q.JobID != "" {
			if err := exists(ctx, tx, "jobs", tenantID, q.JobID); err != nil {
				return err
			}
		}
		if q.PersonID != "" {
			if err := exists(ctx, tx, "people", tenantID, q.PersonID); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, sql, b.args...)
		if err != nil {
			return err
		}
		got, err := collect(rows, scanPlacement)
		if got != nil {
			ps = got
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return ps, nil
}

// loadHistory fills the History of apps (oldest first).
func loadHistory(ctx context.Context, tx pgx.Tx, tenantID string, apps []crm.Application) error {
	if len(apps) == 0 {
		return nil
	}
	ids := make([]string, len(apps))
	idx := make(map[string]int, len(apps))
	for i, a := range apps {
		ids[i] = a.ID
		idx[a.ID] = i
	}
	rows, err := tx.Query(ctx, `
		SELECT application_id, from_stage, to_stage, at, coalesce(user_id, ''), reason
		FROM stage_changes WHERE tenant_id = $1 AND application_id = ANY($2)
		ORDER BY application_id, seq`, tenantID, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var appID, from, to string
		var c crm.StageChange
		if err := rows.Scan(&appID, &from, &to, &c.At, &c.UserID, &c.Reason); err != nil {
			return err
		}
		c.From, c.To, c.At = crm.Stage(from), crm.Stage(to), c.At.UTC()
		i := idx[appID]
		apps[i].History = append(apps[i].History, c)
	}
	return rows.Err()
}

// listApps runs an application query and loads the histories.
func listApps(ctx context.Context, tx pgx.Tx, tenantID, sql string, args ...any) ([]crm.Application, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	apps, err := collect(rows, scanApp)
	if err != nil {
		return nil, err
	}
	return apps, loadHistory(ctx, tx, tenantID, apps)
}

// exists fails with pgx.ErrNoRows (crm.ErrNotFound) when the tenant has
// no row id in table (a constant, never input).
func exists(ctx context.Context, tx pgx.Tx, table, tenantID, id string) error {
	ok, err := has(ctx, tx, table, tenantID, id)
	if err == nil && !ok {
		err = pgx.ErrNoRows
	}
	return err
}

// has reports whether the tenant has row id in table (a constant).
func has(ctx context.Context, tx pgx.Tx, table, tenantID, id string) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE tenant_id = $1 AND id = $2)`, tenantID, id).Scan(&ok)
	return ok, err
}

// JobPipeline lists a job's applications by funnel stage, then least
// recently updated first, then id. An unknown job is crm.ErrNotFound.
func (s *Store) JobPipeline(ctx context.Context, tenantID, jobID string) ([]crm.Application, error) {
	var apps []crm.Application
	err := s.inTenant(ctx, "job pipeline", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		if err := exists(ctx, tx, "jobs", tenantID, jobID); err != nil {
			return err
		}
		var err error
		apps, err = listApps(ctx, tx, tenantID, `SELECT `+appCols+` FROM applications
			WHERE tenant_id = $1 AND job_id = $2
			ORDER BY array_position($3::text[], stage), updated_at, id`, tenantID, jobID, stageOrder)
		return err
	})
	return apps, err
}

// PersonApplications lists a person's applications, newest first, then
// by id. An
// unknown person is crm.ErrNotFound.
func (s *Store) PersonApplications(ctx context.Context, tenantID, personID string) ([]crm.Application, error) {
	var apps []crm.Application
	err := s.inTenant(ctx, "person applications", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		if err := exists(ctx, tx, "people", tenantID, personID); err != nil {
			return err
		}
		var err error
		apps, err = listApps(ctx, tx, tenantID, `SELECT `+appCols+` FROM applications
			WHERE tenant_id = $1 AND person_id = $2
			ORDER BY created_at DESC, id`, tenantID, personID)
		return err
	})
	return apps, err
}

// PipelineReport counts, for each stage in funnel order, the selected
// applications that ever reached it and that are at it now, and the
// median days of completed stays at it. Applications are selected by job
// and/or owner and created at or after Since.
func (s *Store) PipelineReport(ctx context.Context, tenantID string, q crm.ReportQuery) ([]crm.FunnelRow, error) {
	var since *time.Time
	if !q.Since.IsZero() {
		since = nullTime(q.Since)
	}
	var out []crm.FunnelRow
	err := s.inTenant(ctx, "pipeline report", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH apps AS (
				SELECT id, stage FROM applications
				WHERE tenant_id = $1 AND ($2 = '' OR job_id = $2) AND ($3 = '' OR owner_id = $3)
					AND ($4::timestamptz IS NULL OR created_at >= $4)
			), stays AS (
				SELECT sc.application_id, sc.to_stage, sc.at,
					lead(sc.at) OVER (PARTITION BY sc.application_id ORDER BY sc.seq) AS left_at
				FROM stage_changes AS sc JOIN apps ON apps.id = sc.application_id
				WHERE sc.tenant_id = $1
			)
			SELECT st.stage,
				(SELECT count(DISTINCT application_id) FROM stays WHERE to_stage = st.stage),
				(SELECT count(*) FROM apps WHERE stage = st.stage),
				coalesce((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM left_at - at) / 86400)
					FROM stays WHERE to_stage = st.stage AND left_at IS NOT NULL), 0)
			FROM unnest($5::text[]) WITH ORDINALITY AS st(stage, ord)
			ORDER BY st.ord`, tenantID, q.JobID, q.OwnerID, since, stageOrder)
		if err != nil {
			return err
		}
		out, err = collect(rows, func(row pgx.Row) (crm.FunnelRow, error) {
			var r crm.FunnelRow
			var stage string
			var reached, current int64
			err := row.Scan(&stage, &reached, &current, &r.MedianDaysInStage)
			r.Stage, r.Reached, r.Current = crm.Stage(stage), int(reached), int(current)
			return r, err
		})
		return err
	})
	return out, err
}
