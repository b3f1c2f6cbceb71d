package postgres

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const personCols = `id, tenant_id, kind, first_name, last_name, headline, emails, phones, location,
	current_title, current_company, coalesce(company_id, ''), skills, source, tags, coalesce(owner_id, ''),
	created_at, updated_at`

func scanPerson(row pgx.Row) (crm.Person, error) {
	var p crm.Person
	var kind string
	err := row.Scan(&p.ID, &p.TenantID, &kind, &p.FirstName, &p.LastName, &p.Headline, &p.Emails, &p.Phones,
		&p.Location, &p.CurrentTitle, &p.CurrentCompany, &p.CompanyID, &p.Skills, &p.Source, &p.Tags, &p.OwnerID,
		&p.CreatedAt, &p.UpdatedAt)
	p.Kind = crm.PersonKind(kind)
	p.Emails, p.Phones, p.Skills, p.Tags = nilIfEmpty(p.Emails), nilIfEmpty(p.Phones), nilIfEmpty(p.Skills), nilIfEmpty(p.Tags)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// CreatePerson stores a person. A company or owner the tenant does not
// have is crm.ErrInvalid.
func (s *Store) CreatePerson(ctx context.Context, tenantID string, p crm.Person) (crm.Person, error) {
	if err := p.Validate(); err != nil {
		return crm.Person{}, err
	}
	p.ID = crm.NewID("per")
	now := s.stamp()
	var out crm.Person
	err := s.inTenant(ctx, "create person", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = scanPerson(tx.QueryRow(ctx, `
			INSERT INTO people (tenant_id, id, kind, first_name, last_name, headline, emails, phones, location,
				current_title, current_company, company_id, skills, source, tags, owner_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nullif($12, ''), $13, $14, $15, nullif($16, ''), $17, $17)
			RETURNING `+personCols,
			tenantID, p.ID, string(p.Kind), p.FirstName, p.LastName, p.Headline, list(p.Emails), list(p.Phones), p.Location,
			p.CurrentTitle, p.CurrentCompany, p.CompanyID, list(p.Skills), p.Source, list(p.Tags), p.OwnerID, now))
		return err
	})
	return out, err
}

// GetPerson returns one person of the tenant.
func (s *Store) GetPerson(ctx context.Context, tenantID, id string) (crm.Person, error) {
	var p crm.Person
	err := s.inTenant(ctx, "get person", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		p, err = scanPerson(tx.QueryRow(ctx, `SELECT `+personCols+` FROM people WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		return err
	})
	return p, err
}

// GetPeople returns the people with these ids in the given order, skipping
// ids the tenant does not have.
func (s *Store) GetPeople(ctx context.Context, tenantID string, ids []string) ([]crm.Person, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var ps []crm.Person
	err := s.inTenant(ctx, "get people", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+personCols+` FROM people WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids)
		if err != nil {
			return err
		}
		found, err := collect(rows, scanPerson)
		ps = inOrder(ids, found, func(p crm.Person) string { return p.ID })
		return err
	})
	return ps, err
}

// inOrder arranges found in the order of ids, skipping missing ids.
func inOrder[T any](ids []string, found []T, id func(T) string) []T {
	byID := make(map[string]T, len(found))
	for _, v := range found {
		byID[id(v)] = v
	}
	out := make([]T, 0, len(found))
	for _, i := range ids {
		if v, ok := byID[i]; ok {
			out = append(out, v)
		}
	}
	return out
}

// UpdatePerson applies patch to a person and stamps UpdatedAt.
func (s *Store) UpdatePerson(ctx context.Context, tenantID, id string, patch crm.PersonPatch) (crm.Person, error) {
	var out crm.Person
	err := s.inTenant(ctx, "update person", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		p, err := scanPerson(tx.QueryRow(ctx, `SELECT `+personCols+` FROM people WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id))
		if err != nil {
			return err
		}
		for _, f := range []struct {
			dst *string
			src *string
		}{
			{&p.FirstName, patch.FirstName}, {&p.LastName, patch.LastName}, {&p.Headline, patch.Headline},
			{&p.Location, patch.Location}, {&p.CurrentTitle, patch.CurrentTitle}, {&p.CurrentCompany, patch.CurrentCompany},
			{&p.CompanyID, patch.CompanyID}, {&p.Source, patch.Source}, {&p.OwnerID, patch.OwnerID},
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
				*f.dst = *f.src
			}
		}
		if err := p.Validate(); err != nil {
			return err
		}
		out, err = scanPerson(tx.QueryRow(ctx, `
			UPDATE people SET first_name = $3, last_name = $4, headline = $5, emails = $6, phones = $7, location = $8,
				current_title = $9, current_company = $10, company_id = nullif($11, ''), skills = $12, source = $13,
				tags = $14, owner_id = nullif($15, ''), updated_at = $16
			WHERE tenant_id = $1 AND id = $2
			RETURNING `+personCols,
			tenantID, id, p.FirstName, p.LastName, p.Headline, list(p.Emails), list(p.Phones), p.Location,
			p.CurrentTitle, p.CurrentCompany, p.CompanyID, list(p.Skills), p.Source, list(p.Tags), p.OwnerID, s.stamp()))
		return err
	})
	return out, err
}

// SearchPeople implements crm.PeopleQuery: full text over the search
// column (every word must match; plainto_tsquery, so the text is never
// query syntax; English stemming), ranked with ts_rank_cd, else newest
// update first; ties by UpdatedAt descending, then id.
func (s *Store) SearchPeople(ctx context.Context, tenantID string, q crm.PeopleQuery) (crm.SearchResult, error) {
	var b query
	b.where("p.tenant_id = " + b.arg(tenantID))
	from := "people AS p"
	order := "p.updated_at DESC, p.id"
	var skills []string
	if len(q.Skills) > 0 {
		skills = make([]string, len(q.Skills))
		for i, sk := range q.Skills {
			skills[i] = strings.ToLower(strings.TrimSpace(sk))
		}
	}
	// The indexed part of the match runs in a function (see the migration:
	// row-level security would keep the planner off the GIN indexes); its
	// ids are joined back to people, under the policies again.
	switch text := strings.TrimSpace(q.Text); {
	case text != "":
		// The location narrows the index scan, before ranking (migration
		// 0003).
		from = "crm_people_matching(plainto_tsquery('english', " + b.arg(text) + "), " + b.arg(q.Location) + ") AS m JOIN people AS p ON p.id = m.id"
		order = "m.rank DESC, " + order
	case len(skills) > 0 && q.Location != "":
		// The skills and the location are ANDed in the indexes (0003).
		from = "crm_people_with_skills(" + b.arg(skills) + "::text[], " + b.arg(q.Location) + ") AS k JOIN people AS p ON p.id = k.id"
	case len(skills) > 0:
		from = "crm_people_with_skills(" + b.arg(skills) + "::text[]) AS k JOIN people AS p ON p.id = k.id"
	case utf8.RuneCountInString(q.Location) >= locationGram:
		if q.Kind == "" && q.Stage == "" && q.JobID == "" && q.OwnerID == "" && q.UpdatedSince.IsZero() {
			return s.searchLocation(ctx, tenantID, q.Location, q.Limit)
		}
		from = "crm_people_in_location(" + b.arg(q.Location) + ") AS l JOIN people AS p ON p.id = l.id"
	}
	if q.Kind != "" {
		b.where("p.kind = " + b.arg(string(q.Kind)))
	}
	if q.Location != "" {
		b.where("strpos(lower(p.location), lower(" + b.arg(q.Location) + ")) > 0")
	}
	if len(skills) > 0 {
		b.where("p.skills_norm @> " + b.arg(skills) + "::text[]")
	}
	if q.Stage != "" || q.JobID != "" {
		// Both set: at that stage in that job's pipeline.
		cond := "a.tenant_id = p.tenant_id AND a.person_id = p.id"
		if q.Stage != "" {
			cond += " AND a.stage = " + b.arg(string(q.Stage))
		}
		if q.JobID != "" {
			cond += " AND a.job_id = " + b.arg(q.JobID)
		}
		b.where("EXISTS (SELECT 1 FROM applications AS a WHERE " + cond + ")")
	}
	if q.OwnerID != "" {
		b.where("p.owner_id = " + b.arg(q.OwnerID))
	}
	if !q.UpdatedSince.IsZero() {
		b.where("p.updated_at >= " + b.arg(q.UpdatedSince.UTC()))
	}
	return s.search(ctx, "search people", tenantID, "p.id", from, order, q.Limit, &b)
}

// locationGram is the window of crm_location_grams (migration 0003): a
// shorter location filter narrows only by tenant, so a scan of the
// tenant's people serves it as well.
const locationGram = 3

// searchLocation is a search by location alone, the commonest filter. The
// matches come from the index in crm_people_in_location with their
// updated_at, so they are counted, ordered and cut to the page before
// anything is joined: only the page's ids are joined back to people,
// under the policies again. (Joining every match first made "Berlin", 8
// 000 of 100 000 people, 3 times slower; docs/performance.md.)
func (s *Store) searchLocation(ctx context.Context, tenantID, location string, limit int) (crm.SearchResult, error) {
	var b query
	sql := "SELECT t.id, t.total FROM (SELECT l.id, l.updated_at, count(*) OVER () AS total FROM crm_people_in_location(" +
		b.arg(location) + ") AS l ORDER BY l.updated_at DESC, l.id LIMIT " + b.arg(crm.ClampLimit(limit)) +
		") AS t JOIN people AS p ON p.tenant_id = " + b.arg(tenantID) + " AND p.id = t.id ORDER BY t.updated_at DESC, t.id"
	return s.searchIDs(ctx, "search people", tenantID, sql, b.args)
}

// query accumulates numbered arguments and WHERE conditions.
type query struct {
	args  []any
	conds []string
}

func (b *query) arg(v any) string {
	b.args = append(b.args, v)
	return fmt.Sprintf("$%d", len(b.args))
}

func (b *query) where(cond string) { b.conds = append(b.conds, cond) }

func joinAnd(conds []string) string { return strings.Join(conds, " AND ") }

// search runs a search: the first limit ids in order, and the number of
// matches (one statement, so both come from the same snapshot).
func (s *Store) search(ctx context.Context, op, tenantID, idCol, from, order string, limit int, b *query) (crm.SearchResult, error) {
	sql := "SELECT " + idCol + ", count(*) OVER () FROM " + from + " WHERE " + joinAnd(b.conds) +
		" ORDER BY " + order + " LIMIT " + b.arg(crm.ClampLimit(limit))
	return s.searchIDs(ctx, op, tenantID, sql, b.args)
}

// searchIDs runs a search's SQL, whose rows are (id, total matches).
func (s *Store) searchIDs(ctx context.Context, op, tenantID, sql string, args []any) (crm.SearchResult, error) {
	res := crm.SearchResult{IDs: []string{}}
	err := s.inTenant(ctx, op, tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var total int
			if err := rows.Scan(&id, &total); err != nil {
				return err
			}
			res.IDs = append(res.IDs, id)
			res.Total = total
		}
		return rows.Err()
	})
	if err != nil {
		return crm.SearchResult{}, err
	}
	return res, nil
}
