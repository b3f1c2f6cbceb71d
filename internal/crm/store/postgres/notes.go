package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const noteCols = `id, tenant_id, coalesce(person_id, ''), coalesce(company_id, ''), coalesce(job_id, ''), body,
	coalesce(author_id, ''), created_at`

func scanNote(row pgx.Row) (crm.Note, error) {
	var n crm.Note
	err := row.Scan(&n.ID, &n.TenantID, &n.PersonID, &n.CompanyID, &n.JobID, &n.Body, &n.AuthorID, &n.CreatedAt)
	n.CreatedAt = n.CreatedAt.UTC()
	return n, err
}

// AddNote stores a note. A note about a person becomes part of the
// person's full-text document in the same transaction. A subject or
// author the tenant does not have is crm.ErrInvalid.
func (s *Store) AddNote(ctx context.Context, tenantID string, n crm.Note) (crm.Note, error) {
	if err := n.Validate(); err != nil {
		return crm.Note{}, err
	}
	n.ID = crm.NewID("not")
	var out crm.Note
	err := s.inTenant(ctx, "add note", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = scanNote(tx.QueryRow(ctx, `
			INSERT INTO notes (tenant_id, id, person_id, company_id, job_id, body, author_id, created_at)
			VALUES ($1, $2, nullif($3, ''), nullif($4, ''), nullif($5, ''), $6, nullif($7, ''), $8)
			RETURNING `+noteCols,
			tenantID, n.ID, n.PersonID, n.CompanyID, n.JobID, n.Body, n.AuthorID, s.stamp()))
		if err != nil || out.PersonID == "" {
			return err
		}
		// Appending (not recomputing from every note) keeps this O(note).
		_, err = tx.Exec(ctx, `UPDATE people SET notes_doc = notes_doc || to_tsvector('english', $3)
			WHERE tenant_id = $1 AND id = $2`, tenantID, out.PersonID, out.Body)
		return err
	})
	return out, err
}

// pageSize applies the default and the maximum to a list limit.
func pageSize(limit int) int {
	if limit <= 0 {
		return crm.DefaultPage
	}
	return min(limit, crm.MaxLimit)
}

// RecentNotes lists notes about a subject (the person if set, else the
// company, else the job), newest first. An unknown subject is
// crm.ErrNotFound.
func (s *Store) RecentNotes(ctx context.Context, tenantID string, subject crm.Subject, limit int) ([]crm.Note, error) {
	var col, table, id string
	switch {
	case subject.PersonID != "":
		col, table, id = "person_id", "people", subject.PersonID
	case subject.CompanyID != "":
		col, table, id = "company_id", "companies", subject.CompanyID
	case subject.JobID != "":
		col, table, id = "job_id", "jobs", subject.JobID
	default:
		return nil, fmt.Errorf("%w: notes need a subject", crm.ErrInvalid)
	}
	var ns []crm.Note
	err := s.inTenant(ctx, "recent notes", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		if err := exists(ctx, tx, table, tenantID, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+noteCols+` FROM notes WHERE tenant_id = $1 AND `+col+` = $2
			ORDER BY created_at DESC, seq DESC LIMIT $3`, tenantID, id, pageSize(limit))
		if err != nil {
			return err
		}
		ns, err = collect(rows, scanNote)
		return err
	})
	return ns, err
}

const activityCols = `id, tenant_id, kind, person_id, coalesce(job_id, ''), summary, occurred_at, coalesce(user_id, ''), created_at`

func scanActivity(row pgx.Row) (crm.Activity, error) {
	var a crm.Activity
	var kind string
	err := row.Scan(&a.ID, &a.TenantID, &kind, &a.PersonID, &a.JobID, &a.Summary, &a.OccurredAt, &a.UserID, &a.CreatedAt)
	a.Kind = crm.ActivityKind(kind)
	a.OccurredAt, a.CreatedAt = a.OccurredAt.UTC(), a.CreatedAt.UTC()
	return a, err
}

// LogActivity stores an activity. A person, job or user the tenant does
// not have is crm.ErrInvalid.
func (s *Store) LogActivity(ctx context.Context, tenantID string, a crm.Activity) (crm.Activity, error) {
	if err := a.Validate(); err != nil {
		return crm.Activity{}, err
	}
	a.ID = crm.NewID("act")
	var out crm.Activity
	err := s.inTenant(ctx, "log activity", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = scanActivity(tx.QueryRow(ctx, `
			INSERT INTO activities (tenant_id, id, kind, person_id, job_id, summary, occurred_at, user_id, created_at)
			VALUES ($1, $2, $3, $4, nullif($5, ''), $6, $7, nullif($8, ''), $9)
			RETURNING `+activityCols,
			tenantID, a.ID, string(a.Kind), a.PersonID, a.JobID, a.Summary, nullTime(a.OccurredAt), a.UserID, s.stamp()))
		return err
	})
	return out, err
}

// RecentActivities lists a person's activities, latest occurrence first.
// An unknown person is crm.ErrNotFound.
func (s *Store) RecentActivities(ctx context.Context, tenantID, personID string, limit int) ([]crm.Activity, error) {
	var as []crm.Activity
	err := s.inTenant(ctx, "recent activities", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		if err := exists(ctx, tx, "people", tenantID, personID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+activityCols+` FROM activities WHERE tenant_id = $1 AND person_id = $2
			ORDER BY occurred_at DESC, seq DESC LIMIT $3`, tenantID, personID, pageSize(limit))
		if err != nil {
			return err
		}
		as, err = collect(rows, scanActivity)
		return err
	})
	return as, err
}

// Timeline merges a person's notes (at creation), activities (at
// occurrence), stage changes (at the move; ID is the application's) and
// tasks (at creation), newest first. An unknown person is crm.ErrNotFound.
func (s *Store) Timeline(ctx context.Context, tenantID, personID string, limit int) ([]crm.TimelineEntry, error) {
	var es []crm.TimelineEntry
	err := s.inTenant(ctx, "timeline", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		if err := exists(ctx, tx, "people", tenantID, personID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT at, kind, id, summary, job_id, person_id FROM (
				SELECT created_at AS at, 'note' AS kind, id, body AS summary, coalesce(job_id, '') AS job_id, person_id, seq, 0 AS sub
				FROM notes WHERE tenant_id = $1 AND person_id = $2
				UNION ALL
				SELECT occurred_at, 'activity', id, summary, coalesce(job_id, ''), person_id, seq, 0
				FROM activities WHERE tenant_id = $1 AND person_id = $2
				UNION ALL
				SELECT sc.at, 'stage_change', a.id,
					CASE WHEN sc.from_stage = '' THEN sc.to_stage ELSE sc.from_stage || ' -> ' || sc.to_stage END
						|| CASE WHEN sc.reason <> '' THEN ': ' || sc.reason ELSE '' END,
					a.job_id, a.person_id, a.seq, sc.seq
				FROM stage_changes AS sc
				JOIN applications AS a ON a.tenant_id = sc.tenant_id AND a.id = sc.application_id
				WHERE sc.tenant_id = $1 AND a.person_id = $2
				UNION ALL
				SELECT created_at, 'task', id, title, coalesce(job_id, ''), person_id, seq, 0
				FROM tasks WHERE tenant_id = $1 AND person_id = $2
			) AS t
			ORDER BY at DESC, seq DESC, sub DESC, kind, id
			LIMIT $3`, tenantID, personID, pageSize(limit))
		if err != nil {
			return err
		}
		es, err = collect(rows, func(row pgx.Row) (crm.TimelineEntry, error) {
			var e crm.TimelineEntry
			err := row.Scan(&e.At, &e.Kind, &e.ID, &e.Summary, &e.JobID, &e.PersonID)
			e.At = e.At.UTC()
			return e, err
		})
		return err
	})
	return es, err
}
