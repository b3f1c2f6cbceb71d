package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crm-mcp/crm-mcp/internal/crm"
)

const companyCols = `id, tenant_id, name, domain, industry, location, size, description, coalesce(owner_id, ''),
	created_at, updated_at`

func scanCompany(row pgx.Row) (crm.Company, error) {
	var c crm.Company
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Domain, &c.Industry, &c.Location, &c.Size, &c.Description,
		&c.OwnerID, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

// CreateCompany stores a company.
func (s *Store) CreateCompany(ctx context.Context, tenantID string, c crm.Company) (crm.Company, error) {
	if err := c.Validate(); err != nil {
		return crm.Company{}, err
	}
	c.ID = crm.NewID("cmp")
	var out crm.Company
	err := s.inTenant(ctx, "create company", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = scanCompany(tx.QueryRow(ctx, `
			INSERT INTO companies (tenant_id, id, name, domain, industry, location, size, description, owner_id,
				created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nullif($9, ''), $10, $10)
			RETURNING `+companyCols,
			tenantID, c.ID, c.Name, c.Domain, c.Industry, c.Location, c.Size, c.Description, c.OwnerID, s.stamp()))
		return err
	})
	return out, err
}

// GetCompany returns one company of the tenant.
func (s *Store) GetCompany(ctx context.Context, tenantID, id string) (crm.Company, error) {
	var c crm.Company
	err := s.inTenant(ctx, "get company", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		c, err = scanCompany(tx.QueryRow(ctx, `SELECT `+companyCols+` FROM companies WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		return err
	})
	return c, err
}

// GetCompanies returns the companies with these ids in the given order,
// skipping ids the tenant does not have.
func (s *Store) GetCompanies(ctx context.Context, tenantID string, ids []string) ([]crm.Company, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var cs []crm.Company
	err := s.inTenant(ctx, "get companies", tenantID, readOnly, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+companyCols+` FROM companies WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids)
		if err != nil {
			return err
		}
		found, err := collect(rows, scanCompany)
		cs = inOrder(ids, found, func(c crm.Company) string { return c.ID })
		return err
	})
	return cs, err
}

// UpdateCompany applies patch to a company and stamps UpdatedAt. A new
// name reaches the company's jobs' search text in the same transaction.
func (s *Store) UpdateCompany(ctx context.Context, tenantID, id string, patch crm.CompanyPatch) (crm.Company, error) {
	var out crm.Company
	err := s.inTenant(ctx, "update company", tenantID, readWrite, func(ctx context.Context, tx pgx.Tx) error {
		c, err := scanCompany(tx.QueryRow(ctx, `SELECT `+companyCols+` FROM companies WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id))
		if err != nil {
			return err
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
		out, err = scanCompany(tx.QueryRow(ctx, `
			UPDATE companies SET name = $3, domain = $4, industry = $5, location = $6, size = $7, description = $8,
				owner_id = nullif($9, ''), updated_at = $10
			WHERE tenant_id = $1 AND id = $2
			RETURNING `+companyCols,
			tenantID, id, c.Name, c.Domain, c.Industry, c.Location, c.Size, c.Description, c.OwnerID, s.stamp()))
		if err != nil {
			return err
		}
		if out.Name != oldName {
			_, err = tx.Exec(ctx, `UPDATE jobs SET company_name = $3 WHERE tenant_id = $1 AND company_id = $2`, tenantID, id, out.Name)
		}
		return err
	})
	return out, err
}

// SearchCompanies implements crm.CompanyQuery (Industry: case-insensitive
// equality; Location: case-insensitive substring).
func (s *Store) SearchCompanies(ctx context.Context, tenantID string, q crm.CompanyQuery) (crm.SearchResult, error) {
	var b query
	b.where("c.tenant_id = " + b.arg(tenantID))
	from := "companies AS c"
	order := "c.updated_at DESC, c.id"
	if text := strings.TrimSpace(q.Text); text != "" {
		from += ", plainto_tsquery('english', " + b.arg(text) + ") AS tq"
		b.where("c.search @@ tq")
		order = "ts_rank_cd(c.search, tq) DESC, " + order
	}
	if q.Industry != "" {
		b.where("lower(c.industry) = lower(" + b.arg(q.Industry) + ")")
	}
	if q.Location != "" {
		b.where("strpos(lower(c.location), lower(" + b.arg(q.Location) + ")) > 0")
	}
	return s.search(ctx, "search companies", tenantID, "c.id", from, order, q.Limit, &b)
}
