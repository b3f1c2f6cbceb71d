package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const taskCols = `id, tenant_id, title, due_at, done, completed_at, assignee_id, person_id, job_id, created_at`

func scanTask(row interface{ Scan(...any) error }) (crm.Task, error) {
	var (
		t              crm.Task
		due, completed sql.NullInt64
		person, job    sql.NullString
		created        int64
	)
	err := row.Scan(&t.ID, &t.TenantID, &t.Title, &due, &t.Done, &completed, &t.AssigneeID, &person, &job, &created)
	t.DueAt, t.CompletedAt, t.PersonID, t.JobID, t.CreatedAt = fromNullTS(due), fromNullTS(completed), person.String, job.String, fromTS(created)
	return t, err
}

// CreateTask stores an open task (Done and CompletedAt in the input are
// ignored: a task is completed with CompleteTask).
func (s *Store) CreateTask(ctx context.Context, tenantID string, t crm.Task) (crm.Task, error) {
	if err := requireTenant(tenantID); err != nil {
		return crm.Task{}, err
	}
	if err := t.Validate(); err != nil {
		return crm.Task{}, err
	}
	t.ID, t.TenantID, t.CreatedAt, t.Done, t.CompletedAt = crm.NewID("tsk"), tenantID, s.now(), false, time.Time{}
	if !t.DueAt.IsZero() {
		t.DueAt = t.DueAt.UTC()
	}
	err := s.write(ctx, "create task", func(tx *sql.Tx) error {
		if err := checkUsers(ctx, tx, tenantID, t.AssigneeID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tasks (`+taskCols+`) VALUES (`+placeholders(10)+`)`,
			t.ID, tenantID, t.Title, nullTS(t.DueAt), false, nil, t.AssigneeID, nullStr(t.PersonID), nullStr(t.JobID), ts(t.CreatedAt))
		return err
	})
	if err != nil {
		return crm.Task{}, err
	}
	return t, nil
}

// CompleteTask marks a task done; completing a done task changes nothing.
func (s *Store) CompleteTask(ctx context.Context, tenantID, id, userID string) (crm.Task, error) {
	var t crm.Task
	err := s.write(ctx, "complete task", func(tx *sql.Tx) error {
		var err error
		t, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE tenant_id = ? AND id = ?`, tenantID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("task")
		}
		if err != nil || t.Done {
			return err
		}
		if err := checkUsers(ctx, tx, tenantID, userID); err != nil {
			return err
		}
		t.Done, t.CompletedAt = true, s.now()
		_, err = tx.ExecContext(ctx, `UPDATE tasks SET done = 1, completed_at = ? WHERE tenant_id = ? AND id = ?`, ts(t.CompletedAt), tenantID, id)
		return err
	})
	if err != nil {
		return crm.Task{}, err
	}
	return t, nil
}

// ListTasks lists the tenant's tasks by due date (none last), then
// creation, then id.
func (s *Store) ListTasks(ctx context.Context, tenantID string, q crm.TaskQuery) ([]crm.Task, error) {
	where, args := []string{"tenant_id = ?"}, []any{tenantID}
	if q.AssigneeID != "" {
		where, args = append(where, "assignee_id = ?"), append(args, q.AssigneeID)
	}
	if q.PersonID != "" {
		where, args = append(where, "person_id = ?"), append(args, q.PersonID)
	}
	if q.JobID != "" {
		where, args = append(where, "job_id = ?"), append(args, q.JobID)
	}
	if !q.IncludeDone {
		where = append(where, "done = 0")
	}
	if !q.DueBefore.IsZero() {
		where, args = append(where, "due_at < ?"), append(args, ts(q.DueBefore))
	}
	out := []crm.Task{}
	err := s.readOne(ctx, "list tasks", func(rq querier) error {
		return collect(ctx, rq, &out, scanTask, `SELECT `+taskCols+` FROM tasks WHERE `+strings.Join(where, " AND ")+`
		ORDER BY due_at IS NULL, due_at, created_at, id LIMIT ?`, append(args, crm.ClampLimit(q.Limit))...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
