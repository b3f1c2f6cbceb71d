package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const jobCols = `id, tenant_id, company_id, title, status, location, salary_min, salary_max, currency, description,
	coalesce(hiring_manager_id, ''), coalesce(owner_id, ''), created_at, updated_at`

func scanJob(row pgx.Row) (crm.Job, error) {
	var j crm.Job
	var status string
	err := row.Scan(&j.ID, &j.TenantID, &j.CompanyID, &j.Title, &status, &j.Location, &j.SalaryMin, &j.SalaryMax,
		&j.Currency, &j.Description, &j.HiringManagerID, &j.OwnerID, &j.CreatedAt, &j.UpdatedAt)
	j.Status = crm.JobStatus(status)
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return j, err
}

// CreateJob stores a job. A company, hiring manager or owner the tenant
// does not have is crm.ErrInvalid. An empty status means open.
func (s *Store) CreateJob(ctx context.Context, tenantID string, j crm.Job) (crm.Job, error) {
	if j.Status == "" {
		j.Status = crm.JobOpen
	}
	if err := j.Validate(); err != nil {
		return crm.Job{}, err
	}
	j.ID = crm.NewID("job")
	var out crm.Job
	err := s.inTenant(ctx, "create job", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		// The company's name is copied for search; no row means no such
		// company in this tenant.
		var err error
		out, err = scanJob(tx.QueryRow(ctx, `
			INSERT INTO jobs (tenant_id, id, company_id, company_name, title, status, location, salary_min, salary_max,
				currency, description, hiring_manager_id, owner_id, created_at, updated_at)
			SELECT $1, $2, c.id, c.name, $4, $5, $6, $7, $8, $9, $10, nullif($11, ''), nullif($12, ''), $13, $13
			FROM companies AS c WHERE c.tenant_id = $1 AND c.id = $3
			RETURNING `+jobCols,
			tenantID, j.ID, j.CompanyID, j.Title, string(j.Status), j.Location, j.SalaryMin, j.SalaryMax, j.Currency,
			j.Description, j.HiringManagerID, j.OwnerID, s.stamp()))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoRef
		}
		return err
	})
	return out, err
}

// GetJob returns one job of the tenant.
func (s *Store) GetJob(ctx context.Context, tenantID, id string) (crm.Job, error) {
	var j crm.Job
	err := s.inTenant(ctx, "get job", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		return err
	})
	return j, err
}

// GetJobs returns the jobs with these ids in the given order, skipping ids
// the tenant does not have.
func (s *Store) GetJobs(ctx context.Context, tenantID string, ids []string) ([]crm.Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var js []crm.Job
	err := s.inTenant(ctx, "get jobs", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+jobCols+` FROM jobs WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids)
		if err != nil {
			return err
		}
		found, err := collect(rows, scanJob)
		js = inOrder(ids, found, func(j crm.Job) string { return j.ID })
		return err
	})
	return js, err
}

// UpdateJob applies patch to a job and stamps UpdatedAt.
func (s *Store) UpdateJob(ctx context.Context, tenantID, id string, patch crm.JobPatch) (crm.Job, error) {
	var out crm.Job
	err := s.inTenant(ctx, "update job", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		j, err := scanJob(tx.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id))
		if err != nil {
			return err
		}
		for _, f := range []struct{ dst, src *string }{
			{&j.Title, patch.Title}, {&j.Location, patch.Location}, {&j.Currency, patch.Currency},
			{&j.Description, patch.Description}, {&j.HiringManagerID, patch.HiringManagerID}, {&j.OwnerID, patch.OwnerID},
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
		out, err = scanJob(tx.QueryRow(ctx, `
			UPDATE jobs SET title = $3, status = $4, location = $5, salary_min = $6, salary_max = $7, currency = $8,
				description = $9, hiring_manager_id = nullif($10, ''), owner_id = nullif($11, ''), updated_at = $12
			WHERE tenant_id = $1 AND id = $2
			RETURNING `+jobCols,
			tenantID, id, j.Title, string(j.Status), j.Location, j.SalaryMin, j.SalaryMax, j.Currency, j.Description,
			j.HiringManagerID, j.OwnerID, s.stamp()))
		return err
	})
	return out, err
}

// SearchJobs implements crm.JobQuery; Text covers title, description and
// the company's name.
func (s *Store) SearchJobs(ctx context.Context, tenantID string, q crm.JobQuery) (crm.SearchResult, error) {
	var b query
	b.where("j.tenant_id = " + b.arg(tenantID))
	from := "jobs AS j"
	order := "j.updated_at DESC, j.id"
	if text := strings.TrimSpace(q.Text); text != "" {
		from += ", plainto_tsquery('english', " + b.arg(text) + ") AS tq"
		b.where("j.search @@ tq")
		order = "ts_rank_cd(j.search, tq) DESC, " + order
	}
	if q.Status != "" {
		b.where("j.status = " + b.arg(string(q.Status)))
	}
	if q.CompanyID != "" {
		b.where("j.company_id = " + b.arg(q.CompanyID))
	}
	if q.OwnerID != "" {
		b.where("j.owner_id = " + b.arg(q.OwnerID))
	}
	if q.Location != "" {
		b.where("strpos(lower(j.location), lower(" + b.arg(q.Location) + ")) > 0")
	}
	return s.search(ctx, "search jobs", tenantID, "j.id", from, order, q.Limit, &b)
}
