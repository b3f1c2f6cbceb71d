package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
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
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// crmBackend is the CRM side of a serve process: the store, the internal
// API on its own loopback listener (behind service tokens, like a remote
// API replica), and the client the tools use.
type crmBackend struct {
	store  crm.Store
	client *api.Client
	server *http.Server
	ln     net.Listener
}

// openCRMStore opens PostgreSQL when CRM_MCP_DATABASE_URL is set (running
// the migrations first as the owner when CRM_MCP_DATABASE_OWNER_URL is
// set; the application role itself may not own the tables), else the
// embedded SQLite file in the data dir.
func openCRMStore(ctx context.Context, cfg *config.Config) (crm.Store, error) {
	if cfg.DatabaseURL != "" {
		if cfg.DatabaseOwnerURL != "" {
			if err := postgres.Migrate(ctx, cfg.DatabaseOwnerURL.Reveal()); err != nil {
				return nil, fmt.Errorf("migrate database: %w", err)
			}
		}
		return postgres.Open(ctx, cfg.DatabaseURL.Reveal(), postgres.Options{})
	}
	return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "crm.db"), sqlite.Options{})
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
	srv, err := api.NewServer(api.Options{
		Store:  store,
		Logger: logger,
		Authenticate: func(next http.Handler) http.Handler {
			return servicetoken.Middleware(verifier, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, ok := servicetoken.FromContext(r.Context())
				if !ok {
					http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
					return
				}
				next.ServeHTTP(w, r.WithContext(api.WithIdentity(r.Context(), api.Identity{TenantID: c.TenantID, UserID: c.Subject})))
			}))
		},
	})
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
	// The service token is minted from the verified principal of the MCP
	// request; the client's own access token never leaves crm-mcp.
	tokens := func(ctx context.Context) (string, error) {
		p, ok := tenant.FromContext(ctx)
		if !ok {
			return "", errors.New("no principal in context")
		}
		return minter.Mint(ctx, servicetoken.Subject{UserID: p.UserID, TenantID: p.TenantID, ClientID: p.ClientID})
	}
	client := api.NewClient("http://"+ln.Addr().String(), &http.Client{Timeout: 30 * time.Second}, tokens)
	return &crmBackend{store: store, client: client, server: hs, ln: ln}, nil
}

func (b *crmBackend) close(ctx context.Context) error {
	err := b.server.Shutdown(ctx)
	return errors.Join(err, b.store.Close())
}

// seedDemo fills an empty store with the demo tenants, users (their public
// demo passwords hashed with argon2id) and generated recruiting data.
func seedDemo(ctx context.Context, store crm.Store, peoplePerTenant int, params identity.Params, out io.Writer) error {
	if _, err := store.UserByEmail(ctx, demo.Users[0].Email); err == nil {
		return nil // already seeded
	} else if !errors.Is(err, crm.ErrNotFound) {
		return fmt.Errorf("check demo data: %w", err)
	}
	start := time.Now()
	fmt.Fprintf(out, "  seeding demo data (%d people per tenant, once)...\n", peoplePerTenant)
	byTenant := map[string][]crm.User{}
	for _, id := range demo.TenantIDs {
		if _, err := store.CreateTenant(ctx, crm.Tenant{ID: id, Name: demo.Tenants[id]}); err != nil {
			return fmt.Errorf("seed tenant: %w", err)
		}
	}
	for _, su := range demo.Users {
		u, err := store.CreateUser(ctx, su.TenantID, crm.User{
			ID: su.ID, TenantID: su.TenantID, Email: su.Email, Name: su.Name, Role: crm.Role(su.Role),
			PasswordHash: identity.HashPassword(su.Password, params),
		})
		if err != nil {
			return fmt.Errorf("seed user: %w", err)
		}
		byTenant[su.TenantID] = append(byTenant[su.TenantID], u)
	}
	for i, id := range demo.TenantIDs {
		t, err := store.GetTenant(ctx, id)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		err = gen.Generate(ctx, gen.Config{Seed: uint64(i + 1), PeoplePerTenant: peoplePerTenant, Now: time.Now().UTC().Truncate(24 * time.Hour)}, t, byTenant[id], store)
		if err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}
	fmt.Fprintf(out, "  seeded in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}
