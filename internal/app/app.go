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
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/mcpserver"
	"github.com/crm-mcp/crm-mcp/internal/obs"
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
}

// App is one running crm-mcp serve process.
type App struct {
	cfg      *config.Config
	logger   *slog.Logger
	mcp      *mcpserver.Server
	handler  http.Handler
	draining atomic.Bool
}

// New builds the application from cfg.
func New(cfg *config.Config, opts Options) (*App, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	guard := mcpserver.GuardOptions{
		AllowedOrigins: append([]string{cfg.PublicOrigin()}, cfg.AllowedOrigins...),
		AllowedHosts:   append([]string{cfg.PublicHost()}, cfg.AllowedHosts...),
		AllowLoopback:  cfg.LoopbackBind(),
		MaxBodyBytes:   cfg.MaxBodyBytes,
	}
	srv, err := mcpserver.New(mcpserver.Options{
		Implementation: &mcp.Implementation{Name: "crm-mcp", Title: "crm-mcp recruitment CRM", Version: Version},
		Register:       opts.Register,
		StreamingTools: opts.StreamingTools,
		Guard:          guard,
		Logger:         logger,
	})
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, logger: logger, mcp: srv}
	a.handler = obs.Middleware(logger, a.routes())
	return a, nil
}

// Handler is the root HTTP handler with every middleware applied.
func (a *App) Handler() http.Handler { return a.handler }

// routes mounts the routes in the order of docs/architecture.md §3.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	// Every method reaches the MCP handler so that it answers 405 with
	// Allow itself (and later GET opens the notification stream).
	mux.Handle("/mcp", a.mcp)
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
func (a *App) readyz(w http.ResponseWriter, _ *http.Request) {
	if a.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": map[string]string{"mcp": "ok"}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves on ln until ctx is cancelled, then drains: readiness turns
// 503, the listener closes, in-flight requests get up to ShutdownTimeout to
// finish, and whatever is left is cut. It returns nil after a clean drain.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
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
	a.logger.Info("shutdown started", "drain_timeout", a.cfg.ShutdownTimeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(drainCtx); err != nil {
		_ = srv.Close()
		a.logger.Warn("shutdown drain timed out; remaining connections closed", "waited", time.Since(start))
		return fmt.Errorf("drain in-flight requests: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	a.logger.Info("shutdown complete", "waited", time.Since(start))
	return nil
}

// PrintBanner tells a person what this process serves.
func (a *App) PrintBanner(w io.Writer, listenAddr string) {
	fmt.Fprintf(w, "crm-mcp %s serving on http://%s\n", Version, listenAddr)
	fmt.Fprintf(w, "  MCP endpoint:  %s  (Streamable HTTP, stateless; protocol %s)\n", a.cfg.MCPURL(), joinVersions())
	fmt.Fprintf(w, "  health:        %s/healthz   readiness: %s/readyz\n", a.cfg.PublicURL, a.cfg.PublicURL)
	fmt.Fprintf(w, "  try:           npx @modelcontextprotocol/inspector  → Streamable HTTP → %s\n", a.cfg.MCPURL())
}

func joinVersions() string { return strings.Join(mcpserver.ProtocolVersions, ", ") }
