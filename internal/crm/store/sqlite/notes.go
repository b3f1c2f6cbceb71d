package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const noteCols = `id, tenant_id, person_id, company_id, job_id, body, author_id, created_at`

func scanNote(row interface{ Scan(...any) error }) (crm.Note, error) {
	var (
		n                 crm.Note
		person, comp, job sql.NullString
		created           int64
	)
	err := row.Scan(&n.ID, &n.TenantID, &person, &comp, &job, &n.Body, &n.AuthorID, &created)
	n.PersonID, n.CompanyID, n.JobID, n.CreatedAt = person.String, comp.String, job.String, fromTS(created)
	return n, err
}

// AddNote stores a note; a note about a person is indexed into that
// person's full-text row in the same transaction.
func (s *Store) AddNote(ctx context.Context, tenantID string, n crm.Note) (crm.Note, error) {
	if err := requireTenant(tenantID); err != nil {
		return crm.Note{}, err
	}
	if err := n.Validate(); err != nil {
		return crm.Note{}, err
	}
	n.ID, n.TenantID, n.CreatedAt = crm.NewID("not"), tenantID, s.now()
	err := s.write(ctx, "add note", func(tx *sql.Tx) error {
		if err := checkUsers(ctx, tx, tenantID, n.AuthorID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO notes (`+noteCols+`) VALUES (`+placeholders(8)+`)`,
			n.ID, tenantID, nullStr(n.PersonID), nullStr(n.CompanyID), nullStr(n.JobID), n.Body, n.AuthorID, ts(n.CreatedAt))
		if err != nil || n.PersonID == "" {
			return err
		}
		return s.reindexPerson(ctx, tx, tenantID, n.PersonID)
	})
	if err != nil {
		return crm.Note{}, err
	}
	return n, nil
}

// RecentNotes lists the notes about the subject's first set id, newest
// first.
func (s *Store) RecentNotes(ctx context.Context, tenantID string, subject crm.Subject, limit int) ([]crm.Note, error) {
	var col, table, what, id string
	switch {
	case subject.PersonID != "":
		col, table, what, id = "person_id", "people", "person", subject.PersonID
	case subject.CompanyID != "":
		col, table, what, id = "company_id", "companies", "company", subject.CompanyID
	case subject.JobID != "":
		col, table, what, id = "job_id", "jobs", "job", subject.JobID
	default:
		return nil, invalid("a subject is required")
	}
	out := []crm.Note{}
	err := s.read(ctx, "recent notes", func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, table, what, tenantID, id); err != nil {
			return err
		}
		return collect(ctx, tx, &out, scanNote, `SELECT `+noteCols+` FROM notes WHERE tenant_id = ? AND `+col+` = ?
			ORDER BY created_at DESC, id DESC LIMIT ?`, tenantID, id, listLimit(limit))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mustExist is ErrNotFound (without the id) when the row is not in the
// tenant.
func mustExist(ctx context.Context, q querier, table, what, tenantID, id string) error {
	ok, err := exists(ctx, q, table, tenantID, id)
	if err == nil && !ok {
		err = notFound(what)
	}
	return err
}

// collect appends every row of a query to out.
func collect[T any](ctx context.Context, q querier, out *[]T, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		*out = append(*out, v)
	}
	return rows.Err()
}

const activityCols = `id, tenant_id, kind, person_id, job_id, summary, occurred_at, user_id, created_at`

func scanActivity(row interface{ Scan(...any) error }) (crm.Activity, error) {
	var (
		a                 crm.Activity
		job               sql.NullString
		occurred, created int64
	)
	err := row.Scan(&a.ID, &a.TenantID, &a.Kind, &a.PersonID, &job, &a.Summary, &occurred, &a.UserID, &created)
	a.JobID, a.OccurredAt, a.CreatedAt = job.String, fromTS(occurred), fromTS(created)
	return a, err
}

// LogActivity stores a call, email or meeting.
func (s *Store) LogActivity(ctx context.Context, tenantID string, a crm.Activity) (crm.Activity, error) {
	if err := requireTenant(tenantID); err != nil {
		return crm.Activity{}, err
	}
	if err := a.Validate(); err != nil {
		return crm.Activity{}, err
	}
	a.ID, a.TenantID, a.CreatedAt, a.OccurredAt = crm.NewID("act"), tenantID, s.now(), a.OccurredAt.UTC()
	err := s.write(ctx, "log activity", func(tx *sql.Tx) error {
		if err := checkUsers(ctx, tx, tenantID, a.UserID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO activities (`+activityCols+`) VALUES (`+placeholders(9)+`)`,
			a.ID, tenantID, a.Kind, a.PersonID, nullStr(a.JobID), a.Summary, ts(a.OccurredAt), a.UserID, ts(a.CreatedAt))
		return err
	})
	if err != nil {
		return crm.Activity{}, err
	}
	return a, nil
}

// RecentActivities lists a person's activities by OccurredAt, newest first.
func (s *Store) RecentActivities(ctx context.Context, tenantID, personID string, limit int) ([]crm.Activity, error) {
	out := []crm.Activity{}
	err := s.read(ctx, "recent activities", func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "people", "person", tenantID, personID); err != nil {
			return err
		}
		return collect(ctx, tx, &out, scanActivity, `SELECT `+activityCols+` FROM activities WHERE tenant_id = ? AND person_id = ?
			ORDER BY occurred_at DESC, created_at DESC, id DESC LIMIT ?`, tenantID, personID, listLimit(limit))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// maxSummary bounds a timeline entry's summary, in runes.
const maxSummary = 280

func summarize(s string) string {
	if utf8.RuneCountInString(s) <= maxSummary {
		return s
	}
	r := []rune(s)
	return string(r[:maxSummary-1]) + "…"
}

// Timeline merges the newest notes, activities, stage changes and tasks
// about a person: each source gives at most limit entries, the merge is
// cut to limit.
func (s *Store) Timeline(ctx context.Context, tenantID, personID string, limit int) ([]crm.TimelineEntry, error) {
	limit = listLimit(limit)
	var out []crm.TimelineEntry
	scanEntry := func(kind string) func(interface{ Scan(...any) error }) (crm.TimelineEntry, error) {
		return func(row interface{ Scan(...any) error }) (crm.TimelineEntry, error) {
			var (
				e    = crm.TimelineEntry{Kind: kind, PersonID: personID}
				at   int64
				job  sql.NullString
				text string
			)
			err := row.Scan(&e.ID, &at, &job, &text)
			e.At, e.JobID, e.Summary = fromTS(at), job.String, summarize(text)
			return e, err
		}
	}
	err := s.read(ctx, "timeline", func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "people", "person", tenantID, personID); err != nil {
			return err
		}
		for _, src := range []struct{ kind, query string }{
			{"note", `SELECT id, created_at, job_id, body FROM notes WHERE tenant_id = ? AND person_id = ?
				ORDER BY created_at DESC, id DESC LIMIT ?`},
			{"activity", `SELECT id, occurred_at, job_id, summary FROM activities WHERE tenant_id = ? AND person_id = ?
				ORDER BY occurred_at DESC, id DESC LIMIT ?`},
			{"task", `SELECT id, created_at, job_id, title FROM tasks WHERE tenant_id = ? AND person_id = ?
				ORDER BY created_at DESC, id DESC LIMIT ?`},
			{"stage_change", `SELECT a.id, c.at, a.job_id,
				CASE WHEN c.from_stage = '' THEN 'added at ' || c.to_stage ELSE c.from_stage || ' → ' || c.to_stage END
					|| CASE WHEN c.reason <> '' THEN ': ' || c.reason ELSE '' END
				FROM stage_changes c JOIN applications a ON a.tenant_id = c.tenant_id AND a.id = c.application_id
				WHERE a.tenant_id = ? AND a.person_id = ? ORDER BY c.at DESC, a.id, c.seq DESC LIMIT ?`},
		} {
			if err := collect(ctx, tx, &out, scanEntry(src.kind), src.query, tenantID, personID, limit); err != nil {
				return fmt.Errorf("%s: %w", src.kind, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b crm.TimelineEntry) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	if out == nil {
		out = []crm.TimelineEntry{}
	}
	return out, nil
}
