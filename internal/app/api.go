package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crm/api"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/obs"
	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
)

// APIOptions are the inputs of [NewAPI] besides the configuration.
type APIOptions struct {
	// Logger receives structured logs. If nil, nothing is logged.
	Logger *slog.Logger
	// HTTPClient fetches the JWKS. If nil, servicetoken's default (which
	// does not follow redirects).
	HTTPClient *http.Client
}

// API is one running crm-mcp api process: the CRM's internal API alone,
// for scale-out behind the MCP replicas. It verifies crm-mcp's service
// tokens against the JWKS serve publishes.
type API struct {
	cfg      *config.APIConfig
	logger   *slog.Logger
	store    crm.Store
	handler  http.Handler
	draining atomic.Bool
}

// NewAPI opens the CRM store (running migrations first when
// CRM_MCP_DATABASE_OWNER_URL is set) and builds the API handler. It fetches
// no key until the first request: crm-mcp may start after it.
func NewAPI(ctx context.Context, cfg *config.APIConfig, opts APIOptions) (*API, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	verifier, err := servicetoken.NewVerifier(servicetoken.VerifierOptions{
		Issuer:     cfg.PublicURL,
		JWKSURL:    cfg.JWKSURL,
		HTTPClient: opts.HTTPClient,
		Logger:     logger,
	})
	if err != nil {
		return nil, err
	}
	store, err := OpenCRMStore(ctx, cfg.Store, logger)
	if err != nil {
		return nil, err
	}
	srv, err := api.NewServer(api.Options{Store: store, Logger: logger, Authenticate: serviceTokenAuth(verifier)})
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	// crm-mcp's login page asks the API to check passwords (the mcp role
	// has no store): a service token of its own audience, so a user's
	// token cannot call it and a login token cannot read data.
	loginVerifier, err := servicetoken.NewVerifier(servicetoken.VerifierOptions{
		Issuer:     cfg.PublicURL,
		Audience:   api.LoginAudience,
		JWKSURL:    cfg.JWKSURL,
		HTTPClient: opts.HTTPClient,
		Logger:     logger,
	})
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	a := &API{cfg: cfg, logger: logger, store: store}
	mux := http.NewServeMux()
	mux.Handle("POST "+api.LoginPath, loginHandler(loginVerifier, identity.NewStoreDirectory(store, identity.DefaultParams), logger))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("/", srv)
	a.handler = obs.Middleware(logger, mux)
	return a, nil
}

// Handler is the root HTTP handler with every middleware applied.
func (a *API) Handler() http.Handler { return a.handler }

// readyz is 503 while draining or when the store does not answer.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	if a.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "checks": map[string]string{"crm": "unavailable"}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": map[string]string{"crm": "ok"}})
}

// Close releases the store. Serve calls it after draining.
func (a *API) Close() error { return a.store.Close() }

// Serve serves on ln until ctx is cancelled, then drains like [App.Serve]:
// readiness turns 503, the listener closes, in-flight requests get up to
// ShutdownTimeout, the store is closed. It returns nil after a clean drain.
func (a *API) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: a.cfg.ReadHeaderTimeout,
		ReadTimeout:       a.cfg.ReadTimeout,
		WriteTimeout:      a.cfg.WriteTimeout,
		IdleTimeout:       a.cfg.IdleTimeout,
		MaxHeaderBytes:    a.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		_ = a.Close()
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	a.draining.Store(true)
	a.logger.Info("shutdown started", "drain_timeout", a.cfg.ShutdownTimeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(drainCtx); err != nil {
		_ = srv.Close()
		_ = a.Close()
		a.logger.Warn("shutdown drain timed out; remaining connections closed", "waited", time.Since(start))
		return fmt.Errorf("drain in-flight requests: %w", err)
	}
	serveErr := <-errc
	if err := a.Close(); err != nil {
		a.logger.Warn("closing resources failed", "err_type", fmt.Sprintf("%T", err))
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", serveErr)
	}
	a.logger.Info("shutdown complete", "waited", time.Since(start))
	return nil
}

// PrintBanner tells a person what this process serves.
func (a *API) PrintBanner(w io.Writer, listenAddr string) {
	fmt.Fprintf(w, "crm-mcp api %s serving on http://%s\n", Version, listenAddr)
	fmt.Fprintf(w, "  CRM API:       /v1/...  (service tokens from %s, keys %s)\n", a.cfg.PublicURL, a.cfg.JWKSURL)
	fmt.Fprintf(w, "  store:         %s\n", a.cfg.Store.Describe())
	fmt.Fprintf(w, "  health:        /healthz   readiness: /readyz\n")
}
