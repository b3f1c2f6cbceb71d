package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/postgres"
	"github.com/crm-mcp/crm-mcp/internal/crm/store/sqlite"
	"github.com/crm-mcp/crm-mcp/internal/demo"
	"github.com/crm-mcp/crm-mcp/internal/demo/gen"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

// crmBackend is the CRM side of a serve process: the store, the internal
// API on its own loopback listener (behind service tokens, like a remote
// API replica), and the client the tools use.
type crmBackend struct {
	keys   *servicetoken.Keys // published at /.well-known/jwks.json
	client *api.Client
	ping   func(context.Context) error // readiness of the CRM side
	close  func(context.Context) error
}

// OpenCRMStore opens PostgreSQL when CRM_MCP_DATABASE_URL is set (running
// the migrations first as the owner when CRM_MCP_DATABASE_OWNER_URL is
// set; the application role itself may not own the tables), else the
// embedded SQLite file in the data dir, whose background full-text index
// upkeep reports to logger (if not nil). The caller closes the store.
func OpenCRMStore(ctx context.Context, cfg config.CRMStore, logger *slog.Logger) (crm.Store, error) {
	if cfg.DatabaseURL != "" {
		if cfg.DatabaseOwnerURL != "" {
			if err := postgres.Migrate(ctx, cfg.DatabaseOwnerURL.Reveal()); err != nil {
				return nil, fmt.Errorf("migrate database: %w", err)
			}
		}
		return postgres.Open(ctx, cfg.DatabaseURL.Reveal(), postgres.Options{})
	}
	return sqlite.Open(ctx, cfg.SQLitePath(), sqlite.Options{OnMaintain: maintainReport(logger)})
}

// maintainReport logs the SQLite store's background index merges: one
// line per pass that did work or failed (the error is the store's own,
// which holds no SQL or values).
func maintainReport(logger *slog.Logger) func(steps int, took time.Duration, err error) {
	if logger == nil {
		return nil
	}
	return func(steps int, took time.Duration, err error) {
		switch {
		case err != nil:
			logger.Warn("search index merge failed", slog.Int("steps", steps), slog.String("error", err.Error()))
		case steps > 0:
			logger.Info("search indexes merged", slog.Int("steps", steps), slog.Duration("took", took))
		}
	}
}

// searchIndexMerger is a store whose full-text indexes can be merged
// (the SQLite store; PostgreSQL's GIN indexes need nothing of the kind).
type searchIndexMerger interface {
	MergeSearchIndexes(ctx context.Context) (steps int, err error)
}

// newCRMBackend starts the CRM API on a loopback listener over store. The
// API verifies every service token with the public keys of keys (the same
// check a remote API makes against the published JWKS).
func newCRMBackend(store crm.Store, keys *servicetoken.Keys, issuer string, logger *slog.Logger) (*crmBackend, error) {
	verifier, err := servicetoken.NewVerifier(servicetoken.VerifierOptions{Issuer: issuer, Keys: keys, Logger: logger})
	if err != nil {
		return nil, err
	}
	minter, err := servicetoken.NewMinter(keys, servicetoken.MinterOptions{Issuer: issuer})
	if err != nil {
		return nil, err
	}
	srv, err := api.NewServer(api.Options{Store: store, Logger: logger, Authenticate: serviceTokenAuth(verifier)})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the crm api: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() { _ = hs.Serve(ln) }()
	// A tool fans out to several API calls at once (getPersonInfo makes 6):
	// keep enough idle connections that each call does not dial anew (the
	// default keeps 2 per host, which left thousands of sockets in
	// TIME_WAIT under load).
	transport := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	// The service token is minted from the verified principal of the MCP
	// request; the client's own access token never leaves crm-mcp.
	client := api.NewClient("http://"+ln.Addr().String(), &http.Client{Timeout: 30 * time.Second, Transport: transport}, principalTokens(minter))
	return &crmBackend{keys: keys, client: client, ping: store.Ping, close: func(ctx context.Context) error {
		return errors.Join(hs.Shutdown(ctx), store.Close())
	}}, nil
}

// serviceTokenAuth is the CRM API's Authenticate middleware: the caller's
// identity comes only from a service token v accepts.
func serviceTokenAuth(v *servicetoken.Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return servicetoken.Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := servicetoken.FromContext(r.Context())
			if !ok {
				http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(api.WithIdentity(r.Context(), api.Identity{TenantID: c.TenantID, UserID: c.Subject})))
		}))
	}
}

// SeedOptions configures [SeedDemo].
type SeedOptions struct {
	// PeoplePerTenant is how many people are generated per tenant. If
	// zero, defaults to 5000.
	PeoplePerTenant int
	// TenantIDs are the demo tenants to seed. If empty, every tenant of
	// demo.TenantIDs.
	TenantIDs []string
	// PasswordParams are the argon2id costs of the demo passwords. If
	// zero, identity.DefaultParams.
	PasswordParams identity.Params
	// Progress receives progress for a person. If nil, discarded.
	Progress io.Writer
}

// SeedResult says what [SeedDemo] did, by tenant id.
type SeedResult struct {
	Seeded  []string // created now: tenant, users and generated data
	Skipped []string // present already, left alone
}

// SeedDemo fills store with the demo tenants, their users (the public demo
// passwords hashed with argon2id) and generated recruiting data. It is
// idempotent per tenant: a tenant that exists is skipped, never touched.
// The generated data of a tenant is the same whichever subset is seeded.
// It is not one transaction: on an error the result lists what was done,
// and the tenant being seeded is left incomplete.
func SeedDemo(ctx context.Context, store crm.Store, opts SeedOptions) (SeedResult, error) {
	if opts.PeoplePerTenant == 0 {
		opts.PeoplePerTenant = 5000
	}
	if len(opts.TenantIDs) == 0 {
		opts.TenantIDs = demo.TenantIDs
	}
	if opts.PasswordParams == (identity.Params{}) {
		opts.PasswordParams = identity.DefaultParams
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	var (
		res  SeedResult
		todo []string
	)
	for _, id := range opts.TenantIDs {
		if _, ok := demo.Tenants[id]; !ok {
			return res, fmt.Errorf("seed demo data: unknown demo tenant %q", id)
		}
		switch _, err := store.GetTenant(ctx, id); {
		case err == nil:
			res.Skipped = append(res.Skipped, id)
		case errors.Is(err, crm.ErrNotFound):
			todo = append(todo, id)
		default:
			return SeedResult{}, fmt.Errorf("check demo data: %w", err)
		}
	}
	if len(todo) == 0 {
		return res, nil
	}
	start := time.Now()
	fmt.Fprintf(opts.Progress, "  seeding demo data (%d people per tenant, once)...\n", opts.PeoplePerTenant)
	now := time.Now().UTC().Truncate(24 * time.Hour)
	for _, id := range todo {
		if err := seedTenant(ctx, store, id, opts.PeoplePerTenant, opts.PasswordParams, now); err != nil {
			return res, err
		}
		res.Seeded = append(res.Seeded, id)
	}
	// A bulk load leaves the full-text indexes in many segments with
	// tombstones; merge them now rather than at the first upkeep pass.
	if m, ok := store.(searchIndexMerger); ok {
		if _, err := m.MergeSearchIndexes(ctx); err != nil {
			return res, fmt.Errorf("merge search indexes: %w", err)
		}
	}
	fmt.Fprintf(opts.Progress, "  seeded in %s\n", time.Since(start).Round(100*time.Millisecond))
	return res, nil
}

// seedTenant creates one demo tenant, its users and its generated data.
// The generator's seed is the tenant's position in demo.TenantIDs, so the
// data does not depend on which tenants are seeded together.
func seedTenant(ctx context.Context, store crm.Store, id string, people int, params identity.Params, now time.Time) error {
	t, err := store.CreateTenant(ctx, crm.Tenant{ID: id, Name: demo.Tenants[id]})
	if err != nil {
		return fmt.Errorf("seed tenant: %w", err)
	}
	var users []crm.User
	for _, su := range demo.Users {
		if su.TenantID != id {
			continue
		}
		u, err := store.CreateUser(ctx, su.TenantID, crm.User{
			ID: su.ID, TenantID: su.TenantID, Email: su.Email, Name: su.Name, Role: crm.Role(su.Role),
			PasswordHash: identity.HashPassword(su.Password, params),
		})
		if err != nil {
			return fmt.Errorf("seed user: %w", err)
		}
		users = append(users, u)
	}
	seed := uint64(slices.Index(demo.TenantIDs, id) + 1)
	if err := gen.Generate(ctx, gen.Config{Seed: seed, PeoplePerTenant: people, Now: now}, t, users, store); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	return nil
}

// PrintDemoLogins lists the demo logins of the given tenants (all if
// none) for a person. Their passwords are public.
func PrintDemoLogins(w io.Writer, tenantIDs []string) {
	for _, u := range demo.Users {
		if len(tenantIDs) == 0 || slices.Contains(tenantIDs, u.TenantID) {
			fmt.Fprintf(w, "    %-22s %-18s %s, %s\n", u.Email, u.Password, u.Role, demo.Tenants[u.TenantID])
		}
	}
}
