package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const companyCols = `id, tenant_id, name, domain, industry, location, size, description, owner_id, created_at, updated_at`

func scanCompany(row interface{ Scan(...any) error }) (crm.Company, error) {
	var (
		c                crm.Company
		created, updated int64
	)
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Domain, &c.Industry, &c.Location, &c.Size, &c.Description, &c.OwnerID, &created, &updated)
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	return c, err
}

// CreateCompany stores a new company with a fresh id.
func (s *Store) CreateCompany(ctx context.Context, tenantID string, c crm.Company) (crm.Company, error) {
	if err := requireTenant(tenantID); err != nil {
		return crm.Company{}, err
	}
	if err := c.Validate(); err != nil {
		return crm.Company{}, err
	}
	now := s.now()
	c.ID, c.TenantID, c.CreatedAt, c.UpdatedAt = crm.NewID("cmp"), tenantID, now, now
	err := s.write(ctx, "create company", func(tx *sql.Tx) error {
		if err := checkUsers(ctx, tx, tenantID, c.OwnerID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO companies (`+companyCols+`, industry_norm, location_norm) VALUES (`+placeholders(13)+`)`,
			c.ID, tenantID, c.Name, c.Domain, c.Industry, c.Location, c.Size, c.Description, c.OwnerID, ts(now), ts(now),
			strings.ToLower(c.Industry), strings.ToLower(c.Location))
		if err != nil {
			return err
		}
		return s.reindexCompany(ctx, tx, tenantID, c.ID)
	})
	if err != nil {
		return crm.Company{}, err
	}
	return c, nil
}

// GetCompany returns one company of the tenant.
func (s *Store) GetCompany(ctx context.Context, tenantID, id string) (crm.Company, error) {
	var c crm.Company
	err := s.readOne(ctx, "get company", func(q querier) (err error) {
		c, err = getCompany(ctx, q, tenantID, id)
		return err
	})
	return c, err
}

func getCompany(ctx context.Context, q querier, tenantID, id string) (crm.Company, error) {
	c, err := scanCompany(q.QueryRowContext(ctx, `SELECT `+companyCols+` FROM companies WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("company")
	}
	return c, err
}

// GetCompanies returns the tenant's companies with these ids, in that order.
func (s *Store) GetCompanies(ctx context.Context, tenantID string, ids []string) ([]crm.Company, error) {
	var out []crm.Company
	err := s.readOne(ctx, "get companies", func(q querier) (err error) {
		out, err = getMany(ctx, q, "companies", companyCols, tenantID, ids, scanCompany, func(c crm.Company) string { return c.ID })
		return err
	})
	return out, err
}

// UpdateCompany applies a patch; a new name is reindexed into the
// company's jobs too.
func (s *Store) UpdateCompany(ctx context.Context, tenantID, id string, patch crm.CompanyPatch) (crm.Company, error) {
	var c crm.Company
	err := s.write(ctx, "update company", func(tx *sql.Tx) error {
		var err error
		if c, err = getCompany(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if patch.OwnerID != nil {
			if err := checkUsers(ctx, tx, tenantID, *patch.OwnerID); err != nil {
				return err
			}
		}
		oldName := c.Name
		for _, f := range []struct{ dst, src *string }{
			{&c.Name, patch.Name}, {&c.Domain, patch.Domain}, {&c.Industry, patch.Industry}, {&c.Location, patch.Location},
			{&c.Size, patch.Size}, {&c.Description, patch.Description}, {&c.OwnerID, patch.OwnerID},
		} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if err := c.Validate(); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		_, err = tx.ExecContext(ctx, `UPDATE companies SET name = ?, domain = ?, industry = ?, industry_norm = ?, location = ?, location_norm = ?,
			size = ?, description = ?, owner_id = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			c.Name, c.Domain, c.Industry, strings.ToLower(c.Industry), c.Location, strings.ToLower(c.Location), c.Size, c.Description,
			c.OwnerID, ts(c.UpdatedAt), tenantID, id)
		if err != nil {
			return err
		}
		if err := s.reindexCompany(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if c.Name == oldName {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM jobs WHERE tenant_id = ? AND company_id = ?`, tenantID, id)
		if err != nil {
			return err
		}
		var jobs []string
		for rows.Next() {
			var j string
			if err := rows.Scan(&j); err != nil {
				rows.Close()
				return err
			}
			jobs = append(jobs, j)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, j := range jobs {
			if err := s.reindexJob(ctx, tx, tenantID, j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return crm.Company{}, err
	}
	return c, nil
}

// SearchCompanies filters and ranks the tenant's companies: bm25 weighs
// name 10, domain 5, industry 3, description 1.
func (s *Store) SearchCompanies(ctx context.Context, tenantID string, q crm.CompanyQuery) (crm.SearchResult, error) {
	var (
		from  = "companies c"
		where = []string{"c.tenant_id = ?"}
		args  []any
		rank  = ""
	)
	if fq, ok := ftsQuery(q.Text); ok {
		from = "companies_fts f JOIN companies c ON c.rid = f.rowid"
		where = append([]string{"companies_fts MATCH ?"}, where...)
		args = append(args, fq)
		rank = "bm25(companies_fts, 10, 5, 3, 1)"
	}
	args = append(args, tenantID)
	if q.Industry != "" {
		where, args = append(where, "c.industry_norm = ?"), append(args, strings.ToLower(strings.TrimSpace(q.Industry)))
	}
	if q.Location != "" {
		where, args = append(where, "instr(c.location_norm, ?) > 0"), append(args, strings.ToLower(q.Location))
	}
	res, err := s.search(ctx, "c.id", "c.updated_at", rank, from, where, args, q.Limit)
	return res, dbErr("search companies", err)
}

const jobCols = `id, tenant_id, company_id, title, status, location, salary_min, salary_max, currency, description,
	hiring_manager_id, owner_id, created_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (crm.Job, error) {
	var (
		j                crm.Job
		hm               sql.NullString
		created, updated int64
	)
	err := row.Scan(&j.ID, &j.TenantID, &j.CompanyID, &j.Title, &j.Status, &j.Location, &j.SalaryMin, &j.SalaryMax, &j.Currency,
		&j.Description, &hm, &j.OwnerID, &created, &updated)
	j.HiringManagerID, j.CreatedAt, j.UpdatedAt = hm.String, fromTS(created), fromTS(updated)
	return j, err
}

// CreateJob stores a new job with a fresh id.
func (s *Store) CreateJob(ctx context.Context, tenantID string, j crm.Job) (crm.Job, error) {
	if err := requireTenant(tenantID); err != nil {
		return crm.Job{}, err
	}
	if err := j.Validate(); err != nil {
		return crm.Job{}, err
	}
	now := s.now()
	j.ID, j.TenantID, j.CreatedAt, j.UpdatedAt = crm.NewID("job"), tenantID, now, now
	err := s.write(ctx, "create job", func(tx *sql.Tx) error {
		if err := checkUsers(ctx, tx, tenantID, j.OwnerID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs (`+jobCols+`, location_norm) VALUES (`+placeholders(15)+`)`,
			j.ID, tenantID, j.CompanyID, j.Title, j.Status, j.Location, j.SalaryMin, j.SalaryMax, j.Currency, j.Description,
			nullStr(j.HiringManagerID), j.OwnerID, ts(now), ts(now), strings.ToLower(j.Location))
		if err != nil {
			return err
		}
		return s.reindexJob(ctx, tx, tenantID, j.ID)
	})
	if err != nil {
		return crm.Job{}, err
	}
	return j, nil
}

// GetJob returns one job of the tenant.
func (s *Store) GetJob(ctx context.Context, tenantID, id string) (crm.Job, error) {
	var j crm.Job
	err := s.readOne(ctx, "get job", func(q querier) (err error) {
		j, err = getJob(ctx, q, tenantID, id)
		return err
	})
	return j, err
}

func getJob(ctx context.Context, q querier, tenantID, id string) (crm.Job, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return j, notFound("job")
	}
	return j, err
}

// GetJobs returns the tenant's jobs with these ids, in that order.
func (s *Store) GetJobs(ctx context.Context, tenantID string, ids []string) ([]crm.Job, error) {
	var out []crm.Job
	err := s.readOne(ctx, "get jobs", func(q querier) (err error) {
		out, err = getMany(ctx, q, "jobs", jobCols, tenantID, ids, scanJob, func(j crm.Job) string { return j.ID })
		return err
	})
	return out, err
}

// UpdateJob applies a patch; the result is validated before it is written.
func (s *Store) UpdateJob(ctx context.Context, tenantID, id string, patch crm.JobPatch) (crm.Job, error) {
	var j crm.Job
	err := s.write(ctx, "update job", func(tx *sql.Tx) error {
		var err error
		if j, err = getJob(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if patch.OwnerID != nil {
			if err := checkUsers(ctx, tx, tenantID, *patch.OwnerID); err != nil {
				return err
			}
		}
		for _, f := range []struct{ dst, src *string }{
			{&j.Title, patch.Title}, {&j.Location, patch.Location}, {&j.Currency, patch.Currency}, {&j.Description, patch.Description},
			{&j.HiringManagerID, patch.HiringManagerID}, {&j.OwnerID, patch.OwnerID},
		} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if patch.Status != nil {
			j.Status = *patch.Status
		}
		if patch.SalaryMin != nil {
			j.SalaryMin = *patch.SalaryMin
		}
		if patch.SalaryMax != nil {
			j.SalaryMax = *patch.SalaryMax
		}
		if err := j.Validate(); err != nil {
			return err
		}
		j.UpdatedAt = s.now()
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET title = ?, status = ?, location = ?, location_norm = ?, salary_min = ?, salary_max = ?,
			currency = ?, description = ?, hiring_manager_id = ?, owner_id = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			j.Title, j.Status, j.Location, strings.ToLower(j.Location), j.SalaryMin, j.SalaryMax, j.Currency, j.Description,
			nullStr(j.HiringManagerID), j.OwnerID, ts(j.UpdatedAt), tenantID, id)
		if err != nil {
			return err
		}
		return s.reindexJob(ctx, tx, tenantID, id)
	})
	if err != nil {
		return crm.Job{}, err
	}
	return j, nil
}

// SearchJobs filters and ranks the tenant's jobs: bm25 weighs title 10,
// company name 4, description 1.
func (s *Store) SearchJobs(ctx context.Context, tenantID string, q crm.JobQuery) (crm.SearchResult, error) {
	var (
		from  = "jobs j"
		where = []string{"j.tenant_id = ?"}
		args  []any
		rank  = ""
	)
	if fq, ok := ftsQuery(q.Text); ok {
		from = "jobs_fts f JOIN jobs j ON j.rid = f.rowid"
		where = append([]string{"jobs_fts MATCH ?"}, where...)
		args = append(args, fq)
		rank = "bm25(jobs_fts, 10, 4, 1)"
	}
	args = append(args, tenantID)
	if q.Status != "" {
		where, args = append(where, "j.status = ?"), append(args, q.Status)
	}
	if q.CompanyID != "" {
		where, args = append(where, "j.company_id = ?"), append(args, q.CompanyID)
	}
	if q.OwnerID != "" {
		where, args = append(where, "j.owner_id = ?"), append(args, q.OwnerID)
	}
	if q.Location != "" {
		where, args = append(where, "instr(j.location_norm, ?) > 0"), append(args, strings.ToLower(q.Location))
	}
	res, err := s.search(ctx, "j.id", "j.updated_at", rank, from, where, args, q.Limit)
	return res, dbErr("search jobs", err)
}
