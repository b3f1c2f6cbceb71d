package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"unicode"
)

// maxQueryWords bounds the work one text query can ask for.
const maxQueryWords = 16

// ftsQuery turns free text into an FTS5 query that treats the input as
// plain words, never as query syntax: each run of letters and digits
// becomes a quoted string, and all of them are required. ok is false when
// the text has no words (the caller then ignores Text). The index holds
// every tenant's rows; callers join back and filter by tenant.
func ftsQuery(text string) (q string, ok bool) {
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	if len(words) == 0 {
		return "", false
	}
	if len(words) > maxQueryWords {
		words = words[:maxQueryWords]
	}
	for i, w := range words {
		// Words hold only letters and digits, so no quote can appear.
		words[i] = `"` + w + `"`
	}
	return strings.Join(words, " AND "), true
}

// maxIndexedNotes bounds how many of a person's notes (newest first) feed
// the full-text index.
const maxIndexedNotes = 200

// reindexPerson rewrites a person's full-text row from the tables, inside
// the caller's write transaction.
func reindexPerson(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	var (
		rid                                          int64
		first, last, headline, skills, title, compny string
	)
	err := tx.QueryRowContext(ctx, `SELECT rid, first_name, last_name, headline, skills, current_title, current_company
		FROM people WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&rid, &first, &last, &headline, &skills, &title, &compny)
	if err != nil {
		return err
	}
	var notes sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT group_concat(body, ' ') FROM (
		SELECT body FROM notes WHERE tenant_id = ? AND person_id = ? ORDER BY created_at DESC LIMIT ?)`,
		tenantID, id, maxIndexedNotes).Scan(&notes)
	if err != nil {
		return err
	}
	list, err := decodeList(skills)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM people_fts WHERE rowid = ?`, rid); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO people_fts (rowid, name, headline, skills, work, notes) VALUES (?, ?, ?, ?, ?, ?)`,
		rid, first+" "+last, headline, strings.Join(list, " ; "), title+" ; "+compny, notes.String)
	return err
}

// reindexCompany rewrites a company's full-text row.
func reindexCompany(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	var (
		rid                                int64
		name, domain, industry, descriptin string
	)
	err := tx.QueryRowContext(ctx, `SELECT rid, name, domain, industry, description FROM companies WHERE tenant_id = ? AND id = ?`,
		tenantID, id).Scan(&rid, &name, &domain, &industry, &descriptin)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM companies_fts WHERE rowid = ?`, rid); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO companies_fts (rowid, name, domain, industry, description) VALUES (?, ?, ?, ?, ?)`,
		rid, name, domain, industry, descriptin)
	return err
}

// reindexJob rewrites a job's full-text row (its company's name included).
func reindexJob(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	var (
		rid                       int64
		title, company, descriptn string
	)
	err := tx.QueryRowContext(ctx, `SELECT j.rid, j.title, c.name, j.description FROM jobs j
		JOIN companies c ON c.tenant_id = j.tenant_id AND c.id = j.company_id
		WHERE j.tenant_id = ? AND j.id = ?`, tenantID, id).Scan(&rid, &title, &company, &descriptn)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM jobs_fts WHERE rowid = ?`, rid); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO jobs_fts (rowid, title, company, description) VALUES (?, ?, ?, ?)`,
		rid, title, company, descriptn)
	return err
}
