package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

func encodeList(vs []string) string {
	if len(vs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(vs) // []string always marshals
	return string(b)
}

func decodeList(s string) ([]string, error) {
	var vs []string
	if err := json.Unmarshal([]byte(s), &vs); err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, nil
	}
	return vs, nil
}

const personCols = `id, tenant_id, kind, first_name, last_name, headline, emails, phones, location, current_title,
	current_company, company_id, skills, source, tags, owner_id, created_at, updated_at`

func scanPerson(row interface{ Scan(...any) error }) (crm.Person, error) {
	var (
		p                           crm.Person
		emails, phones, skills, tgs string
		company                     sql.NullString
		created, updated            int64
	)
	err := row.Scan(&p.ID, &p.TenantID, &p.Kind, &p.FirstName, &p.LastName, &p.Headline, &emails, &phones, &p.Location,
		&p.CurrentTitle, &p.CurrentCompany, &company, &skills, &p.Source, &tgs, &p.OwnerID, &created, &updated)
	if err != nil {
		return p, err
	}
	p.CompanyID, p.CreatedAt, p.UpdatedAt = company.String, fromTS(created), fromTS(updated)
	for _, l := range []struct {
		dst *[]string
		src string
	}{{&p.Emails, emails}, {&p.Phones, phones}, {&p.Skills, skills}, {&p.Tags, tgs}} {
		if *l.dst, err = decodeList(l.src); err != nil {
			return p, err
		}
	}
	return p, nil
}

// CreatePerson stores a new person with a fresh id.
func (s *Store) CreatePerson(ctx context.Context, tenantID string, p crm.Person) (crm.Person, error) {
	if err := requireTenant(tenantID); err != nil {
		return crm.Person{}, err
	}
	if err := p.Validate(); err != nil {
		return crm.Person{}, err
	}
	now := s.now()
	p.ID, p.TenantID, p.CreatedAt, p.UpdatedAt = crm.NewID("per"), tenantID, now, now
	err := s.write(ctx, "create person", func(tx *sql.Tx) error {
		if err := checkUsers(ctx, tx, tenantID, p.OwnerID); err != nil {
			return err
		}
		if err := s.insertPerson(ctx, tx, p); err != nil {
			return err
		}
		return s.reindexPerson(ctx, tx, tenantID, p.ID)
	})
	if err != nil {
		return crm.Person{}, err
	}
	p.Emails, p.Phones, p.Skills, p.Tags = nilIfEmpty(p.Emails), nilIfEmpty(p.Phones), nilIfEmpty(p.Skills), nilIfEmpty(p.Tags)
	return p, nil
}

// insertPerson writes a validated person and its skills (not the
// full-text row).
func (s *Store) insertPerson(ctx context.Context, tx *sql.Tx, p crm.Person) error {
	rid, err := s.nextRid(ctx, tx, p.TenantID)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO people (rid, `+personCols+`, location_norm) VALUES (?, `+placeholders(19)+`)`,
		rid, p.ID, p.TenantID, p.Kind, p.FirstName, p.LastName, p.Headline, encodeList(p.Emails), encodeList(p.Phones), p.Location,
		p.CurrentTitle, p.CurrentCompany, nullStr(p.CompanyID), encodeList(p.Skills), p.Source, encodeList(p.Tags), p.OwnerID,
		ts(p.CreatedAt), ts(p.UpdatedAt), strings.ToLower(p.Location))
	if err != nil {
		return err
	}
	return writeSkills(ctx, tx, p.TenantID, p.ID, p.Skills)
}

func nilIfEmpty(vs []string) []string {
	if len(vs) == 0 {
		return nil
	}
	return vs
}

// writeSkills replaces a person's filterable skills.
func writeSkills(ctx context.Context, tx *sql.Tx, tenantID, personID string, skills []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM person_skills WHERE tenant_id = ? AND person_id = ?`, tenantID, personID); err != nil {
		return err
	}
	for i, sk := range skills {
		if _, err := tx.ExecContext(ctx, `INSERT INTO person_skills (tenant_id, person_id, pos, skill_norm) VALUES (?, ?, ?, ?)`,
			tenantID, personID, i, strings.ToLower(strings.TrimSpace(sk))); err != nil {
			return err
		}
	}
	return nil
}

// GetPerson returns one person of the tenant.
func (s *Store) GetPerson(ctx context.Context, tenantID, id string) (crm.Person, error) {
	var p crm.Person
	err := s.readOne(ctx, "get person", func(q querier) (err error) {
		p, err = getPerson(ctx, q, tenantID, id)
		return err
	})
	return p, err
}

func getPerson(ctx context.Context, q querier, tenantID, id string) (crm.Person, error) {
	p, err := scanPerson(q.QueryRowContext(ctx, `SELECT `+personCols+` FROM people WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err == sql.ErrNoRows {
		return p, notFound("person")
	}
	return p, err
}

// GetPeople returns the tenant's people with these ids, in that order.
func (s *Store) GetPeople(ctx context.Context, tenantID string, ids []string) ([]crm.Person, error) {
	var out []crm.Person
	err := s.readOne(ctx, "get people", func(q querier) (err error) {
		out, err = getMany(ctx, q, "people", personCols, tenantID, ids, scanPerson, func(p crm.Person) string { return p.ID })
		return err
	})
	return out, err
}

// getMany loads rows by id (in chunks) and returns them in the order of
// ids, skipping ids that are not in the tenant.
func getMany[T any](ctx context.Context, q querier, table, cols, tenantID string, ids []string, scan func(interface{ Scan(...any) error }) (T, error), id func(T) string) ([]T, error) {
	byID := make(map[string]T, len(ids))
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, 0, len(part)+1)
		args = append(args, tenantID)
		for _, v := range part {
			args = append(args, v)
		}
		rows, err := q.QueryContext(ctx, `SELECT `+cols+` FROM `+table+` WHERE tenant_id = ? AND id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			byID[id(v)] = v
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]T, 0, len(byID))
	for _, i := range ids {
		if v, ok := byID[i]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// UpdatePerson applies a patch; the result is validated before it is written.
func (s *Store) UpdatePerson(ctx context.Context, tenantID, id string, patch crm.PersonPatch) (crm.Person, error) {
	var p crm.Person
	err := s.write(ctx, "update person", func(tx *sql.Tx) error {
		var err error
		if p, err = getPerson(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if patch.OwnerID != nil {
			if err := checkUsers(ctx, tx, tenantID, *patch.OwnerID); err != nil {
				return err
			}
		}
		for _, f := range []struct {
			dst *string
			src *string
		}{
			{&p.FirstName, patch.FirstName}, {&p.LastName, patch.LastName}, {&p.Headline, patch.Headline}, {&p.Location, patch.Location},
			{&p.CurrentTitle, patch.CurrentTitle}, {&p.CurrentCompany, patch.CurrentCompany}, {&p.CompanyID, patch.CompanyID},
			{&p.Source, patch.Source}, {&p.OwnerID, patch.OwnerID},
		} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		for _, f := range []struct {
			dst *[]string
			src *[]string
		}{{&p.Emails, patch.Emails}, {&p.Phones, patch.Phones}, {&p.Skills, patch.Skills}, {&p.Tags, patch.Tags}} {
			if f.src != nil {
				*f.dst = nilIfEmpty(*f.src)
			}
		}
		if err := p.Validate(); err != nil {
			return err
		}
		p.UpdatedAt = s.now()
		_, err = tx.ExecContext(ctx, `UPDATE people SET first_name = ?, last_name = ?, headline = ?, emails = ?, phones = ?, location = ?,
			location_norm = ?, current_title = ?, current_company = ?, company_id = ?, skills = ?, source = ?, tags = ?, owner_id = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ?`,
			p.FirstName, p.LastName, p.Headline, encodeList(p.Emails), encodeList(p.Phones), p.Location, strings.ToLower(p.Location),
			p.CurrentTitle, p.CurrentCompany, nullStr(p.CompanyID), encodeList(p.Skills), p.Source, encodeList(p.Tags), p.OwnerID,
			ts(p.UpdatedAt), tenantID, id)
		if err != nil {
			return err
		}
		if patch.Skills != nil {
			if err := writeSkills(ctx, tx, tenantID, id, p.Skills); err != nil {
				return err
			}
		}
		return s.reindexPerson(ctx, tx, tenantID, id)
	})
	if err != nil {
		return crm.Person{}, err
	}
	return p, nil
}

// SearchPeople filters and ranks the tenant's people (see crm.PeopleQuery).
// With text, bm25 weighs a match in the name 10, headline and skills 4,
// title and company 3, notes 1; ties (and searches without text) order by
// UpdatedAt descending, then id.
func (s *Store) SearchPeople(ctx context.Context, tenantID string, q crm.PeopleQuery) (crm.SearchResult, error) {
	// The filters, on the covering people_by_rid / people_by_id (migration
	// 0003). The full-text part, if any, is prepended below.
	where := []string{"p.tenant_id = ?"}
	args := []any{tenantID}
	if q.Kind != "" {
		where, args = append(where, "p.kind = ?"), append(args, q.Kind)
	}
	loc := strings.ToLower(q.Location)
	if loc != "" {
		// Tested on every result, also when the location's tokens (below)
		// narrowed the full-text match first.
		where = append(where, "instr(p.location_norm, ?) > 0")
		args = append(args, loc)
	}
	if len(q.Skills) > 0 {
		// All of the skills: intersect the index ranges of each.
		var parts []string
		for _, sk := range q.Skills {
			parts = append(parts, "SELECT person_id FROM person_skills WHERE tenant_id = ? AND skill_norm = ?")
			args = append(args, tenantID, strings.ToLower(strings.TrimSpace(sk)))
		}
		where = append(where, "p.id IN ("+strings.Join(parts, " INTERSECT ")+")")
	}
	if q.Stage != "" || q.JobID != "" {
		cond := "SELECT person_id FROM applications WHERE tenant_id = ?"
		args = append(args, tenantID)
		if q.Stage != "" {
			cond, args = cond+" AND stage = ?", append(args, q.Stage)
		}
		if q.JobID != "" {
			cond, args = cond+" AND job_id = ?", append(args, q.JobID)
		}
		where = append(where, "p.id IN ("+cond+")")
	}
	if q.OwnerID != "" {
		where, args = append(where, "p.owner_id = ?"), append(args, q.OwnerID)
	}
	if !q.UpdatedSince.IsZero() {
		where, args = append(where, "p.updated_at >= ?"), append(args, ts(q.UpdatedSince))
	}

	fq, text := ftsQuery(q.Text)
	rank := ""
	if text {
		rank = "bm25(people_fts, 10, 4, 4, 3, 1, 0)"
	}
	// The location's tokens (migration 0005) narrow the full-text match:
	// FTS5 intersects them with the text's matches, so only people who
	// match both are joined and ranked. Without text they alone find the
	// people, instead of the substring test on each of the tenant's
	// (2x faster for "berlin", docs/performance.md), except with an
	// owner, stage or job, whose indexes find fewer rows first.
	byLocation := loc != "" && (text || q.OwnerID == "" && q.Stage == "" && q.JobID == "")
	var res crm.SearchResult
	err := s.read(ctx, "search people", func(tx *sql.Tx) error {
		var match []string
		if text {
			match = append(match, peopleTextColumns+" : ("+fq+")")
		}
		if byLocation {
			// In the search's snapshot.
			lm, none, ok, err := locationMatch(ctx, tx, tenantID, loc)
			switch {
			case err != nil:
				return err
			case none:
				res = crm.SearchResult{IDs: []string{}}
				return nil
			case ok:
				match = append(match, lm)
			}
		}
		from, w, a := "people p", where, args
		if len(match) > 0 {
			lo, hi, err := s.peopleRids(ctx, tx, tenantID)
			if err != nil {
				return err
			}
			// INDEXED BY: the planner would read the wide table row by
			// rowid; people_by_rid holds every column the search reads.
			from = "people_fts f JOIN people p INDEXED BY people_by_rid ON p.rid = f.rowid"
			w = append([]string{"people_fts MATCH ?", "f.rowid BETWEEN ? AND ?"}, where...)
			a = append([]any{strings.Join(match, " AND "), lo, hi}, args...)
		}
		var err error
		res, err = searchIn(ctx, tx, "p.id", "p.updated_at", rank, from, w, a, q.Limit)
		return err
	})
	return res, err
}

// search runs a search in one read snapshot. Without text or filters: one
// count and one limited query that the (tenant_id, updated_at DESC, id)
// index serves. Otherwise one pass over the matches that returns each
// one's bm25 rank (lower is better; 0 without text) and UpdatedAt; Go
// counts and sorts them, which measured cheaper than evaluating the
// filters and the ranking twice (count, then page).
func (s *Store) search(ctx context.Context, idCol, updatedCol, rank, from string, where []string, args []any, limit int) (crm.SearchResult, error) {
	var res crm.SearchResult
	err := s.read(ctx, "search", func(tx *sql.Tx) (err error) {
		res, err = searchIn(ctx, tx, idCol, updatedCol, rank, from, where, args, limit)
		return err
	})
	return res, err
}

// searchIn is search in the caller's read transaction.
func searchIn(ctx context.Context, tx *sql.Tx, idCol, updatedCol, rank, from string, where []string, args []any, limit int) (crm.SearchResult, error) {
	limit = crm.ClampLimit(limit)
	cond := strings.Join(where, " AND ")
	res := crm.SearchResult{IDs: []string{}}
	err := func() error {
		if rank == "" && len(where) == 1 {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+from+` WHERE `+cond, args...).Scan(&res.Total); err != nil || res.Total == 0 {
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT `+idCol+` FROM `+from+` WHERE `+cond+` ORDER BY `+updatedCol+` DESC, `+idCol+` LIMIT ?`,
				append(args, limit)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				res.IDs = append(res.IDs, id)
			}
			return rows.Err()
		}
		type match struct {
			id      string
			rank    float64
			updated int64
		}
		var ms []match
		if rank == "" {
			rank = "0"
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+idCol+`, `+rank+`, `+updatedCol+` FROM `+from+` WHERE `+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m match
			if err := rows.Scan(&m.id, &m.rank, &m.updated); err != nil {
				return err
			}
			ms = append(ms, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		slices.SortFunc(ms, func(a, b match) int {
			if c := cmp.Compare(a.rank, b.rank); c != 0 {
				return c
			}
			if c := cmp.Compare(b.updated, a.updated); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
		res.Total = len(ms)
		for _, m := range ms[:min(limit, len(ms))] {
			res.IDs = append(res.IDs, m.id)
		}
		return nil
	}()
	if err != nil {
		return crm.SearchResult{}, err
	}
	return res, nil
}
