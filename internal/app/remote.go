package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// The mcp role: the CRM behind a remote API (crm-mcp api replicas behind a
// load balancer), reached with service tokens signed by the keys every mcp
// replica reads from CRM_MCP_SERVICE_KEY_FILE.

// loadServiceKeys reads the shared service-key file. Unlike serve, the mcp
// role never creates it: replicas on different hosts would each create
// their own key and the API, fetching the JWKS through the load balancer,
// would know only some of them.
func loadServiceKeys(path string) (*servicetoken.Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CRM_MCP_SERVICE_KEY_FILE: %w", err)
	}
	k, err := servicetoken.ParseKeysPEM(b)
	if err != nil {
		return nil, fmt.Errorf("load CRM_MCP_SERVICE_KEY_FILE: %w", err)
	}
	return k, nil
}

// newRemoteCRMBackend is the CRM side of an mcp process: a client of the
// API at apiURL and the user directory answered by the same API.
func newRemoteCRMBackend(apiURL string, keys *servicetoken.Keys, issuer string) (*crmBackend, *remoteDirectory, error) {
	minter, err := servicetoken.NewMinter(keys, servicetoken.MinterOptions{Issuer: issuer})
	if err != nil {
		return nil, nil, err
	}
	loginMinter, err := servicetoken.NewMinter(keys, servicetoken.MinterOptions{Issuer: issuer, Audience: api.LoginAudience})
	if err != nil {
		return nil, nil, err
	}
	transport := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: transport}
	client := api.NewClient(apiURL, hc, principalTokens(minter))
	login := api.NewClient(apiURL, hc, func(ctx context.Context) (string, error) {
		return loginMinter.Mint(ctx, servicetoken.Subject{UserID: api.LoginSubject, TenantID: api.LoginTenant})
	})
	b := &crmBackend{
		keys:   keys,
		client: client,
		// Readiness asks the API's readiness: an mcp replica that cannot
		// reach any API replica can serve no tool and no login.
		ping: func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/readyz", nil)
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("crm api readiness: status %d", resp.StatusCode)
			}
			return nil
		},
		close: func(context.Context) error { transport.CloseIdleConnections(); return nil },
	}
	return b, &remoteDirectory{users: client, login: login}, nil
}

// remoteDirectory is the [identity.Directory] of the mcp role: the CRM's
// users, read through the API.
type remoteDirectory struct {
	users *api.Client // data endpoints, with a service token for the user
	login *api.Client // the login endpoint, with crm-mcp's own token
}

var _ identity.Directory = (*remoteDirectory)(nil)

// Authenticate implements [identity.Directory]; the API checks the
// password, so the hashes never leave the CRM side.
func (d *remoteDirectory) Authenticate(ctx context.Context, email, password string) (identity.User, error) {
	u, err := d.login.Login(ctx, email, password)
	if e := (*api.Error)(nil); errors.As(err, &e) && e.Code == api.CodeBadCredentials {
		return identity.User{}, identity.ErrBadCredentials
	}
	if err != nil {
		return identity.User{}, fmt.Errorf("authenticate through the crm api: %w", err)
	}
	return identity.User{ID: u.ID, TenantID: u.TenantID, Email: u.Email, Name: u.Name, Role: identity.Role(u.Role)}, nil
}

// UserByID implements [identity.Directory]. The service token speaks for
// that user: the caller holds their authenticated session.
func (d *remoteDirectory) UserByID(ctx context.Context, tenantID, id string) (identity.User, error) {
	ctx = tenant.WithPrincipal(ctx, tenant.Principal{TenantID: tenantID, UserID: id})
	u, err := d.users.GetUser(ctx, id)
	switch {
	case errors.Is(err, crm.ErrNotFound):
		return identity.User{}, identity.ErrNotFound
	case errors.Is(err, crm.ErrUnavailable):
		// The API or its database is down: a 503 for the client to retry,
		// not a 500 (the refresh token stays valid).
		return identity.User{}, fmt.Errorf("read user through the crm api: %w", errors.Join(identity.ErrUnavailable, err))
	case err != nil:
		return identity.User{}, fmt.Errorf("read user through the crm api: %w", err)
	}
	return identity.User{ID: u.ID, TenantID: tenantID, Email: u.Email, Name: u.Name, Role: identity.Role(u.Role)}, nil
}

// loginHandler is the API's POST /v1/login: it accepts only login service
// tokens (their own audience) and checks the credentials against the
// store, answering 403 bad_credentials alike for an unknown email and a
// wrong password.
func loginHandler(v *servicetoken.Verifier, dir *identity.StoreDirectory, logger *slog.Logger) http.Handler {
	return servicetoken.Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := servicetoken.FromContext(r.Context())
		if !ok || c.Subject != api.LoginSubject || c.TenantID != api.LoginTenant {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
			return
		}
		var in api.LoginRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid"})
			return
		}
		u, err := dir.Authenticate(r.Context(), in.Email, in.Password)
		switch {
		case errors.Is(err, identity.ErrBadCredentials):
			writeJSON(w, http.StatusForbidden, map[string]string{"error": api.CodeBadCredentials})
			return
		case err != nil:
			logger.Error("login check failed", "err_type", fmt.Sprintf("%T", err))
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal"})
			return
		}
		writeJSON(w, http.StatusOK, api.LoginUser{ID: u.ID, TenantID: u.TenantID, Email: u.Email, Name: u.Name, Role: crm.Role(u.Role)})
	}))
}

// principalTokens mints the service token of the principal in the context.
// The client's own access token never leaves crm-mcp.
func principalTokens(m *servicetoken.Minter) api.TokenSource {
	return func(ctx context.Context) (string, error) {
		p, ok := tenant.FromContext(ctx)
		if !ok {
			return "", errors.New("no principal in context")
		}
		return m.Mint(ctx, servicetoken.Subject{UserID: p.UserID, TenantID: p.TenantID, ClientID: p.ClientID})
	}
}
