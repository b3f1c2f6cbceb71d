package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const taskCols = `id, tenant_id, title, due_at, done, completed_at, assignee_id, coalesce(person_id, ''),
	coalesce(job_id, ''), created_at`

func scanTask(row pgx.Row) (crm.Task, error) {
	var t crm.Task
	var due, completed *time.Time
	err := row.Scan(&t.ID, &t.TenantID, &t.Title, &due, &t.Done, &completed, &t.AssigneeID, &t.PersonID, &t.JobID, &t.CreatedAt)
	t.DueAt, t.CompletedAt, t.CreatedAt = utc(due), utc(completed), t.CreatedAt.UTC()
	return t, err
}

// CreateTask stores an open task. An assignee, person or job the tenant
// does not have is crm.ErrInvalid.
func (s *Store) CreateTask(ctx context.Context, tenantID string, t crm.Task) (crm.Task, error) {
	if err := t.Validate(); err != nil {
		return crm.Task{}, err
	}
	t.ID = crm.NewID("tsk")
	var out crm.Task
	err := s.inTenant(ctx, "create task", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = scanTask(tx.QueryRow(ctx, `
			INSERT INTO tasks (tenant_id, id, title, due_at, done, completed_at, assignee_id, person_id, job_id, created_at)
			VALUES ($1, $2, $3, $4, false, NULL, $5, nullif($6, ''), nullif($7, ''), $8)
			RETURNING `+taskCols,
			tenantID, t.ID, t.Title, nullTime(t.DueAt), t.AssigneeID, t.PersonID, t.JobID, s.stamp()))
		return err
	})
	return out, err
}

// CompleteTask marks a task done. Completing a done task changes nothing
// and returns it. A userID the tenant does not have is crm.ErrInvalid.
func (s *Store) CompleteTask(ctx context.Context, tenantID, id, userID string) (crm.Task, error) {
	var out crm.Task
	err := s.inTenant(ctx, "complete task", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		if userID != "" {
			ok, err := has(ctx, tx, "users", tenantID, userID)
			if err != nil {
				return err
			}
			if !ok {
				return errNoRef
			}
		}
		var err error
		out, err = scanTask(tx.QueryRow(ctx, `
			UPDATE tasks SET done = true, completed_at = coalesce(completed_at, $3)
			WHERE tenant_id = $1 AND id = $2
			RETURNING `+taskCols, tenantID, id, s.stamp()))
		return err
	})
	return out, err
}

// ListTasks lists tasks by due date (none last), then creation, then id.
// DueBefore is exclusive and drops tasks without a due date.
func (s *Store) ListTasks(ctx context.Context, tenantID string, q crm.TaskQuery) ([]crm.Task, error) {
	var b query
	b.where("tenant_id = " + b.arg(tenantID))
	if q.AssigneeID != "" {
		b.where("assignee_id = " + b.arg(q.AssigneeID))
	}
	if q.PersonID != "" {
		b.where("person_id = " + b.arg(q.PersonID))
	}
	if q.JobID != "" {
		b.where("job_id = " + b.arg(q.JobID))
	}
	if !q.IncludeDone {
		b.where("NOT done")
	}
	if !q.DueBefore.IsZero() {
		b.where("due_at < " + b.arg(q.DueBefore.UTC()))
	}
	sql := `SELECT ` + taskCols + ` FROM tasks WHERE ` + joinAnd(b.conds) +
		` ORDER BY due_at ASC NULLS LAST, created_at, id LIMIT ` + b.arg(crm.ClampLimit(q.Limit))
	var ts []crm.Task
	err := s.inTenant(ctx, "list tasks", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, b.args...)
		if err != nil {
			return err
		}
		ts, err = collect(rows, scanTask)
		return err
	})
	return ts, err
}
