package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
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

// ridBlock is the range of full-text rowids (people.rid) of the people of
// the tenant numbered ord (migration 0004): FTS5 seeks a MATCH to a rowid
// range, so a search reads only its tenant's part of each doclist.
func ridBlock(ord int64) (lo, hi int64) { return ord << 32, ord<<32 | 0xFFFFFFFF }

// tenantOrd returns the tenant's ord; ok is false if there is no such
// tenant.
func (s *Store) tenantOrd(ctx context.Context, q rowQuerier, tenantID string) (ord int64, ok bool, err error) {
	if v, hit := s.ords.Load(tenantID); hit {
		return v.(int64), true, nil
	}
	err = q.QueryRowContext(ctx, `SELECT ord FROM tenants WHERE id = ?`, tenantID).Scan(&ord)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	s.ords.Store(tenantID, ord)
	return ord, true, nil
}

// rowQuerier is a *sql.Tx or a *sql.DB.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// peopleRids is the tenant's block of full-text rowids, or an empty range
// for an unknown tenant. q is the search's own read transaction: the ord
// is cached after the first lookup anyway.
func (s *Store) peopleRids(ctx context.Context, q rowQuerier, tenantID string) (lo, hi int64, err error) {
	ord, ok, err := s.tenantOrd(ctx, q, tenantID)
	if err != nil || !ok {
		return 1, 0, err
	}
	lo, hi = ridBlock(ord)
	return lo, hi, nil
}

// nextRid is the rowid for a new person of the tenant: one past the
// highest in its block.
func (s *Store) nextRid(ctx context.Context, tx *sql.Tx, tenantID string) (int64, error) {
	ord, ok, err := s.tenantOrd(ctx, tx, tenantID)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, invalid("unknown tenant")
	}
	lo, hi := ridBlock(ord)
	var last int64
	err = tx.QueryRowContext(ctx, `SELECT rid FROM people WHERE rid BETWEEN ? AND ? ORDER BY rid DESC LIMIT 1`, lo, hi).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return lo + 1, nil
	case err != nil:
		return 0, err
	case last == hi:
		return 0, errors.New("the tenant's block of full-text rowids is full")
	}
	return last + 1, nil
}

// maxIndexedNotes bounds how many of a person's notes (newest first) feed
// the full-text index.
const maxIndexedNotes = 200

// reindexPerson rewrites a person's full-text row from the tables, inside
// the caller's write transaction.
func (s *Store) reindexPerson(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	s.ftsWrites.Add(1)
	var (
		rid                                               int64
		first, last, headline, skills, title, compny, loc string
	)
	err := tx.QueryRowContext(ctx, `SELECT rid, first_name, last_name, headline, skills, current_title, current_company, location_norm
		FROM people WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&rid, &first, &last, &headline, &skills, &title, &compny, &loc)
	if err != nil {
		return err
	}
	locToken, err := locationToken(ctx, tx, tenantID, loc)
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
	_, err = tx.ExecContext(ctx, `INSERT INTO people_fts (rowid, name, headline, skills, work, notes, loc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		rid, first+" "+last, headline, strings.Join(list, " ; "), title+" ; "+compny, notes.String, locToken)
	return err
}

// peopleTextColumns are the columns of people_fts that a text query
// searches: all but loc (migration 0005).
const peopleTextColumns = "{name headline skills work notes}"

// locationToken is the full-text token of a person's location (migration
// 0005): "loc" and the id of (tenant, location_norm) in people_locations,
// added on first use. An empty location has no token.
func locationToken(ctx context.Context, tx *sql.Tx, tenantID, norm string) (string, error) {
	if norm == "" {
		return "", nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM people_locations WHERE tenant_id = ? AND norm = ?`, tenantID, norm).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx, `INSERT INTO people_locations (tenant_id, norm) VALUES (?, ?) RETURNING id`, tenantID, norm).Scan(&id)
	}
	if err != nil {
		return "", err
	}
	return locationTokenOf(id), nil
}

// locationTokenOf is the full-text token of people_locations row id.
func locationTokenOf(id int64) string { return "loc" + strconv.FormatInt(id, 10) }

// maxLocationTokens bounds the tokens a location filter may expand to in
// a full-text query. A filter that many locations contain ("a") is cheaper
// as the substring test on each text match.
const maxLocationTokens = 32

// locationMatch returns the full-text condition equivalent to "location
// contains sub" for the tenant's people, in the snapshot of q: an OR of
// the tokens of every known location containing it. none is true when no
// location does (the search is empty); ok is false when more than
// maxLocationTokens do (the caller tests the substring instead).
func locationMatch(ctx context.Context, q querier, tenantID, sub string) (match string, none, ok bool, err error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM people_locations WHERE tenant_id = ? AND instr(norm, ?) > 0 LIMIT ?`,
		tenantID, sub, maxLocationTokens+1)
	if err != nil {
		return "", false, false, err
	}
	defer rows.Close()
	var toks []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return "", false, false, err
		}
		toks = append(toks, locationTokenOf(id))
	}
	if err := rows.Err(); err != nil {
		return "", false, false, err
	}
	switch {
	case len(toks) == 0:
		return "", true, false, nil
	case len(toks) > maxLocationTokens:
		return "", false, false, nil
	}
	return "loc : (" + strings.Join(toks, " OR ") + ")", false, true, nil
}

// reindexCompany rewrites a company's full-text row.
func (s *Store) reindexCompany(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	s.ftsWrites.Add(1)
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
func (s *Store) reindexJob(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	s.ftsWrites.Add(1)
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
