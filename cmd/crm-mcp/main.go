// Command crm-mcp is the recruitment CRM's MCP server. With no subcommand it
// runs "serve": the whole system in one process. For scale-out, "mcp" runs
// MCP, OAuth and the JWKS without a CRM store, calling a remote CRM API,
// and "api" runs the CRM's internal API alone; "seed" fills the CRM store
// with the demo data; "bench" is the load harness (internal/loadbench).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/loadbench"
	"github.com/crm-mcp/crm-mcp/internal/obs"
)

const usage = `usage: crm-mcp [command] [flags]

commands:
  serve     serve MCP on Streamable HTTP (the default)
  mcp       serve MCP, OAuth and the service-token JWKS without a CRM
            store, calling the CRM API at CRM_MCP_API_URL (replicas;
            needs CRM_MCP_REDIS_URL, CRM_MCP_TOKEN_KEYS and
            CRM_MCP_SERVICE_KEY_FILE)
  api       serve the CRM's internal API alone, verifying service tokens
            against the JWKS serve publishes
  seed      seed the demo tenants, logins and generated data into the
            CRM store (skips tenants already there)
  bench     load harness: seed, start serve and two floor servers, drive
            a mixed multi-user workload, print throughput, latency, CPU
            per request and the ratios against the floors
  version   print the version

Run "crm-mcp <command> -h" for the flags; every flag also has a CRM_MCP_*
environment variable.
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(config.RoleServe, args, getenv, stdout, stderr)
	case "mcp":
		return serve(config.RoleMCP, args, getenv, stdout, stderr)
	case "api":
		return apiRole(args, getenv, stdout, stderr)
	case "seed":
		return seed(args, getenv, stdout, stderr)
	case "bench":
		return loadbench.Main(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "crm-mcp", app.Version)
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "crm-mcp: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// serve runs the serve role (everything in one process) or the mcp role
// (the same without a CRM store) until SIGINT or SIGTERM, then drains.
func serve(role string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	load, prefix := config.Load, "crm-mcp:"
	if role == config.RoleMCP {
		load, prefix = config.LoadMCP, "crm-mcp mcp:"
	}
	cfg, err := load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, prefix, err)
		return 2
	}
	level, _ := obs.ParseLevel(cfg.LogLevel) // validated by config.Load
	logger, err := obs.NewLogger(stderr, cfg.LogFormat, level)
	if err != nil {
		fmt.Fprintln(stderr, "crm-mcp:", err)
		return 2
	}
	// go-sdk allocates heavily per request (see docs/performance.md); a
	// higher GC target trades ~10 MB of heap for ~30% less CPU per call. An
	// explicit GOGC from the environment still wins.
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	a, err := app.New(cfg, app.Options{Logger: logger, Progress: stdout})
	if err != nil {
		fmt.Fprintln(stderr, "crm-mcp:", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "crm-mcp: listen on %s: %v\n", cfg.Addr, err)
		return 1
	}
	a.PrintBanner(stdout, ln.Addr().String())
	logger.Info("configuration", "config", cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := a.Serve(ctx, ln); err != nil {
		logger.Error("server stopped with error", "err_type", fmt.Sprintf("%T", errors.Unwrap(err)))
		return 1
	}
	return 0
}

// apiRole runs the CRM API alone until SIGINT or SIGTERM, then drains.
func apiRole(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.LoadAPI(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "crm-mcp api:", err)
		return 2
	}
	level, _ := obs.ParseLevel(cfg.LogLevel) // validated by config.LoadAPI
	logger, err := obs.NewLogger(stderr, cfg.LogFormat, level)
	if err != nil {
		fmt.Fprintln(stderr, "crm-mcp api:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.NewAPI(ctx, cfg, app.APIOptions{Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "crm-mcp api:", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = a.Close()
		fmt.Fprintf(stderr, "crm-mcp api: listen on %s: %v\n", cfg.Addr, err)
		return 1
	}
	a.PrintBanner(stdout, ln.Addr().String())
	logger.Info("configuration", "config", cfg)
	if cfg.Store.DatabaseURL == "" {
		logger.Warn("crm store is SQLite: run one api process on this host only; set CRM_MCP_DATABASE_URL for replicas")
	}
	if err := a.Serve(ctx, ln); err != nil {
		logger.Error("server stopped with error", "err_type", fmt.Sprintf("%T", errors.Unwrap(err)))
		return 1
	}
	return 0
}

// seed fills the CRM store with the demo data and says what it did.
func seed(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.LoadSeed(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "crm-mcp seed:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	store, err := app.OpenCRMStore(ctx, cfg.Store, nil)
	if err != nil {
		fmt.Fprintln(stderr, "crm-mcp seed:", err)
		return 1
	}
	defer store.Close()
	fmt.Fprintf(stdout, "crm-mcp seed: %s\n", cfg.Store.Describe())
	res, err := app.SeedDemo(ctx, store, app.SeedOptions{PeoplePerTenant: cfg.People, TenantIDs: cfg.TenantIDs, Progress: stdout})
	if err != nil {
		// Seeding is not one transaction: a tenant cut short stays
		// incomplete, and a later run skips it as present.
		fmt.Fprintln(stderr, "crm-mcp seed:", err)
		if len(res.Seeded) > 0 {
			fmt.Fprintf(stderr, "crm-mcp seed: completed before the error: %s\n", strings.Join(res.Seeded, ", "))
		}
		fmt.Fprintln(stderr, "crm-mcp seed: the tenant being seeded may be incomplete; seed into an empty store to start over")
		return 1
	}
	if len(res.Seeded) > 0 {
		fmt.Fprintf(stdout, "  seeded: %s (%d people each)\n", strings.Join(res.Seeded, ", "), cfg.People)
	}
	if len(res.Skipped) > 0 {
		fmt.Fprintf(stdout, "  already seeded, left as they are: %s\n", strings.Join(res.Skipped, ", "))
	}
	fmt.Fprintln(stdout, "  demo logins (public passwords: never on a server reachable by others):")
	app.PrintDemoLogins(stdout, cfg.TenantIDs)
	return 0
}
