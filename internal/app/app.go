// Package app is the composition root: it builds every component from the
// configuration, mounts the routes in the order of docs/architecture.md §3,
// runs the HTTP server and shuts it down gracefully.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
	"github.com/crm-mcp/crm-mcp/internal/bearer"
	"github.com/crm-mcp/crm-mcp/internal/cimd"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/crmtools"
	"github.com/crm-mcp/crm-mcp/internal/demo"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/mcpserver"
	"github.com/crm-mcp/crm-mcp/internal/obs"
	"github.com/crm-mcp/crm-mcp/internal/servicetoken"
	"github.com/crm-mcp/crm-mcp/internal/state"
	memstate "github.com/crm-mcp/crm-mcp/internal/state/memory"
	redisstate "github.com/crm-mcp/crm-mcp/internal/state/redis"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

// Version is the build's version, set with -ldflags "-X ...app.Version=".
var Version = "dev"

// Options are the inputs of [New] besides the configuration.
type Options struct {
	// Logger receives structured logs. If nil, nothing is logged.
	Logger *slog.Logger
	// Register adds MCP features (tools, resources, prompts) to the one
	// long-lived MCP server. If nil, the server has none.
	Register func(*mcp.Server)
	// StreamingTools are passed to [mcpserver.Options.StreamingTools].
	StreamingTools []string
	// ToolScopes are passed to [mcpserver.Options.ToolScopes].
	ToolScopes map[string][]string
	// Users authenticates CRM users. If nil, the demo users (when enabled)
	// or nobody.
	Users identity.Directory
	// Now is the clock of the authorization server. If nil, time.Now.
	Now func() time.Time
	// PasswordParams are the argon2id costs for seeded demo passwords. If
	// zero, identity.DefaultParams (tests use cheaper ones).
	PasswordParams identity.Params
	// Progress receives start-up progress for a person (demo seeding). If
	// nil, discarded.
	Progress io.Writer
	// WrapCRMStore, if set, wraps the CRM store the in-process CRM API
	// serves, after demo seeding (tests inject faults with it).
	WrapCRMStore func(crm.Store) crm.Store
}

// App is one running crm-mcp serve process.
type App struct {
	cfg      *config.Config
	logger   *slog.Logger
	mcp      *mcpserver.Server
	auth     *authserver.Server
	store    state.Store
	crm      *crmBackend
	limits   *rateLimiting
	notify   *notifier // notification streams (notify.go)
	handler  http.Handler
	draining atomic.Bool
	// closingConns: answers carry Connection: close (the second half of
	// the shutdown delay).
	closingConns atomic.Bool
}

// New builds the application from cfg. On the first start with demo users
// enabled it seeds the demo data, which takes a while.
func New(cfg *config.Config, opts Options) (_ *App, err error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.PasswordParams == (identity.Params{}) {
		opts.PasswordParams = identity.DefaultParams
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()
	store, err := newStore(cfg)
	if err != nil {
		return nil, err
	}
	closers = append(closers, store.Close)
	ring, err := keyRing(cfg)
	if err != nil {
		return nil, err
	}
	access, err := token.NewAccessIssuer(ring, token.AccessOptions{Issuer: cfg.PublicURL, Audience: cfg.MCPURL(), Now: opts.Now})
	if err != nil {
		return nil, err
	}

	var (
		backend *crmBackend
		users   = opts.Users
	)
	if cfg.Role == config.RoleMCP {
		svcKeys, err := loadServiceKeys(cfg.ServiceKeyFile) // remote.go
		if err != nil {
			return nil, err
		}
		b, dir, err := newRemoteCRMBackend(cfg.APIURL, svcKeys, cfg.PublicURL)
		if err != nil {
			return nil, err
		}
		backend = b
		if users == nil {
			users = dir
		}
	} else {
		ctx := context.Background()
		crmStore, err := OpenCRMStore(ctx, cfg.CRMStore(), logger)
		if err != nil {
			return nil, err
		}
		closers = append(closers, crmStore.Close)
		if cfg.DemoUsers {
			if _, err := SeedDemo(ctx, crmStore, SeedOptions{PeoplePerTenant: cfg.DemoPeople, PasswordParams: opts.PasswordParams, Progress: opts.Progress}); err != nil {
				return nil, err
			}
		}
		if opts.WrapCRMStore != nil {
			crmStore = opts.WrapCRMStore(crmStore)
		}
		keyFile := cfg.ServiceKeyFile
		if keyFile == "" {
			keyFile = filepath.Join(cfg.DataDir, "service-keys.pem")
		}
		svcKeys, err := servicetoken.LoadOrCreateKeyFile(keyFile)
		if err != nil {
			return nil, err
		}
		backend, err = newCRMBackend(crmStore, svcKeys, cfg.PublicURL, logger)
		if err != nil {
			return nil, err
		}
		closers = closers[:len(closers)-1] // the backend closes the store
		if users == nil {
			users = identity.NewStoreDirectory(crmStore, opts.PasswordParams)
		}
	}
	closers = append(closers, func() error { return backend.close(context.Background()) })

	fetcher, err := newCIMDFetcher(cfg)
	if err != nil {
		return nil, err
	}
	limits, err := newRateLimiting(cfg, logger) // ratelimit.go
	if err != nil {
		return nil, err
	}
	closers = append(closers, limits.close)
	auth, err := authserver.New(authserver.Options{
		Issuer:        cfg.PublicURL,
		Resource:      cfg.MCPURL(),
		Store:         store,
		Users:         users,
		Access:        access,
		RefreshSecret: ring.Derive("refresh-successor"),
		CIMD:          fetcher,
		RateLimits:    limits.auth(),
		Now:           opts.Now,
		Logger:        logger,
	})
	if err != nil {
		return nil, err
	}
	links, err := newExportLinks(cfg, ring, store, auth.MetadataURL(), opts.Now, logger)
	if err != nil {
		return nil, err
	}
	deps := crmtools.Deps{CRM: backend.client, Snapshots: store, Logger: logger, RequestID: obs.RequestIDFrom, Now: opts.Now, Exports: links, TrustOutput: true}
	register := func(s *mcp.Server) {
		crmtools.Register(s, deps)
		if opts.Register != nil {
			opts.Register(s)
		}
	}
	scopes := crmtools.Scopes()
	maps.Copy(scopes, opts.ToolScopes)
	guard := mcpserver.GuardOptions{
		AllowedOrigins: append([]string{cfg.PublicOrigin()}, cfg.AllowedOrigins...),
		AllowedHosts:   append([]string{cfg.PublicHost()}, cfg.AllowedHosts...),
		AllowLoopback:  cfg.LoopbackBind(),
		MaxBodyBytes:   cfg.MaxBodyBytes,
	}
	ntf, err := newNotifier(cfg, logger) // notification streams (notify.go)
	if err != nil {
		return nil, err
	}
	closers = append(closers, ntf.close)
	srv, err := mcpserver.New(mcpserver.Options{
		Streams:             ntf.streamOptions(store, opts.Now),
		Implementation:      &mcp.Implementation{Name: "crm-mcp", Title: "crm-mcp recruitment CRM", Version: Version},
		Register:            register,
		StreamingTools:      append(crmtools.Streaming(), opts.StreamingTools...),
		Guard:               guard,
		ToolScopes:          scopes,
		ResourceMetadataURL: auth.MetadataURL(),
		RequestLimit:        limits.mcpRequest,
		ToolLimit:           limits.mcpTool,
		Logger:              logger,
	})
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, logger: logger, mcp: srv, auth: auth, store: store, crm: backend, notify: ntf, limits: limits}
	if err := a.announceToolSet(); err != nil { // notify.go
		logger.Warn("announcing the tool set failed", "err_type", fmt.Sprintf("%T", err))
	}
	protected := bearer.Middleware(bearer.Options{
		Verifier:            access,
		Revocations:         store,
		ResourceMetadataURL: auth.MetadataURL(),
		DefaultScope:        identity.ScopeRead,
		Logger:              logger,
	}, withExports(srv, links))
	a.handler = obs.Middleware(logger, a.cors(a.routes(protected)))
	if id := cfg.InstanceID; id != "" {
		// Set before the handlers run, so that hijacked notification
		// streams, which keep the middlewares' headers, carry it too.
		next := a.handler
		a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(config.InstanceHeader, id)
			next.ServeHTTP(w, r)
		})
	}
	return a, nil
}

// newStore picks the shared-state backend: Redis when configured (checked
// at start, so a wrong address or password fails closed, catalog I-07),
// else memory.
func newStore(cfg *config.Config) (state.Store, error) {
	if cfg.RedisURL == "" {
		return memstate.New(memstate.Options{}), nil
	}
	client, err := newRedisClient(cfg, redisTuning{})
	if err != nil {
		return nil, err
	}
	st := redisstate.New(client, redisstate.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		st.Close()
		return nil, errors.New("connect to Redis: unreachable or refused (check CRM_MCP_REDIS_URL)")
	}
	return st, nil
}

// keyRing loads the access-token keys: from CRM_MCP_TOKEN_KEYS (replicas
// share it), else from a key file in the data directory that the first
// start creates (so a restart logs nobody out).
func keyRing(cfg *config.Config) (*token.KeyRing, error) {
	if cfg.TokenKeys != "" {
		return token.ParseKeyRing(cfg.TokenKeys.Reveal())
	}
	return token.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "keys.json"))
}

func newCIMDFetcher(cfg *config.Config) (*cimd.Fetcher, error) {
	var allow []netip.Prefix
	for _, c := range cfg.CIMDAllowCIDRs {
		allow = append(allow, netip.MustParsePrefix(c)) // validated by config
	}
	return cimd.New(cimd.Options{AllowAddrs: allow})
}

// Close releases the app's resources: the CRM API listener, the CRM store
// and the state store. Serve calls it after draining.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(a.crm.close(ctx), a.notify.close(), a.limits.close(), a.store.Close())
}

// Handler is the root HTTP handler with every middleware applied.
func (a *App) Handler() http.Handler { return a.handler }

// routes mounts the routes in the order of docs/architecture.md §3.
func (a *App) routes(mcpHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	a.auth.Mount(mux)
	// The public keys of the service tokens, for a separately deployed CRM
	// API (crm-mcp api) to verify them.
	mux.Handle("GET "+config.JWKSPath, servicetoken.JWKSHandler(a.crm.keys))
	// Every method reaches the MCP handler (behind bearer authentication)
	// so that it answers 405 with Allow itself.
	mux.Handle("/mcp", mcpHandler)
	mux.Handle("/mcp/exports/", mcpHandler) // CSV downloads (export.go)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
	})
	return mux
}

// healthz is liveness: the process serves HTTP. It checks no dependency, so
// an orchestrator never restarts a healthy process because Redis blinked.
func (a *App) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is readiness: whether this instance should receive traffic. It is
// 503 while draining so load balancers move traffic away before the
// listener closes. Dependency checks (Redis, database) join as those
// components land.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	if a.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"mcp": "ok", "state": "ok", "crm": "ok"}
	ready := true
	if err := a.store.Ping(ctx); err != nil {
		checks["state"], ready = "unavailable", false
	}
	if err := a.crm.ping(ctx); err != nil {
		checks["crm"], ready = "unavailable", false
	}
	if !ready {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "checks": checks})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves on ln until ctx is cancelled, then drains: readiness turns
// 503; for the first half of ShutdownDelay the replica serves as before;
// then it stops accepting and, for the second half, answers on the open
// connections with Connection: close; then in-flight requests get up to
// ShutdownTimeout to finish, and whatever is left is cut. It returns nil
// after a clean drain.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	ln = &onceCloseListener{Listener: ln}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.closingConns.Load() {
			// net/http closes the connection after this response.
			w.Header().Set("Connection", "close")
		}
		a.handler.ServeHTTP(w, r)
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: a.cfg.ReadHeaderTimeout,
		ReadTimeout:       a.cfg.ReadTimeout,
		IdleTimeout:       a.cfg.IdleTimeout,
		MaxHeaderBytes:    a.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	a.draining.Store(true)
	a.logger.Info("shutdown started", "drain_delay", a.cfg.ShutdownDelay, "drain_timeout", a.cfg.ShutdownTimeout)
	serving := true // srv.Serve has not returned
	if d := a.cfg.ShutdownDelay; d > 0 {
		// First half: serve as before, keep-alive included, with /readyz
		// 503, so that a balancer that follows readiness stops picking
		// this replica. Keep-alive matters: answering with Connection:
		// close now would make a balancer that still picks us open a new
		// connection per request, and a connection still in the accept
		// queue when the listener closes is reset with its request sent,
		// which the balancer may not replay (a POST).
		select {
		case <-time.After(d / 2):
		case err := <-errc:
			return fmt.Errorf("serve http: %w", err)
		}
		// Second half: stop accepting (a refused connect is retried
		// elsewhere: nothing was sent) and close each open connection
		// after its next answer, so the balancer has dropped them all
		// before Shutdown closes the idle ones under it. The half must
		// exceed the balancer's upstream keep-alive timeout.
		a.closingConns.Store(true)
		_ = ln.Close()
		if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		serving = false
		time.Sleep(d - d/2)
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	// Streams never end on their own and Shutdown waits for every active
	// handler: send them retry: and close them first (notify.go).
	a.notify.closeStreams(drainCtx)
	if err := srv.Shutdown(drainCtx); err != nil {
		_ = srv.Close()
		a.logger.Warn("shutdown drain timed out; remaining connections closed", "waited", time.Since(start))
		return fmt.Errorf("drain in-flight requests: %w", err)
	}
	if serving {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
	}
	if err := a.Close(); err != nil {
		a.logger.Warn("closing resources failed", "err_type", fmt.Sprintf("%T", err))
	}
	a.logger.Info("shutdown complete", "waited", time.Since(start))
	return nil
}

// PrintBanner tells a person what this process serves.
func (a *App) PrintBanner(w io.Writer, listenAddr string) {
	fmt.Fprintf(w, "crm-mcp %s serving on http://%s\n", Version, listenAddr)
	fmt.Fprintf(w, "  MCP endpoint:  %s  (Streamable HTTP, stateless; protocol %s)\n", a.cfg.MCPURL(), joinVersions())
	fmt.Fprintf(w, "  health:        %s/healthz   readiness: %s/readyz\n", a.cfg.PublicURL, a.cfg.PublicURL)
	fmt.Fprintf(w, "  OAuth:         %s/.well-known/oauth-authorization-server  (clients discover it from the MCP URL)\n", a.cfg.PublicURL)
	if a.cfg.Role == config.RoleMCP {
		fmt.Fprintf(w, "  CRM API:       %s  (mcp role: no local CRM store)\n", config.RedactURL(a.cfg.APIURL))
	}
	fmt.Fprintf(w, "  try:           npx @modelcontextprotocol/inspector  → Streamable HTTP → %s\n", a.cfg.MCPURL())
	if a.cfg.DemoUsers {
		fmt.Fprintln(w, "  demo logins (public passwords, loopback only):")
		for _, u := range demo.Users {
			fmt.Fprintf(w, "    %-22s %-18s %s, %s\n", u.Email, u.Password, u.Role, demo.Tenants[u.TenantID])
		}
	}
}

// onceCloseListener closes its listener once; Serve closes it before
// Shutdown does, and Shutdown would report the second close as an error.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

func joinVersions() string { return strings.Join(mcpserver.ProtocolVersions, ", ") }
