// Command crm-mcp is the recruitment CRM's MCP server. With no subcommand it
// runs "serve": the whole system in one process.
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
	"syscall"

	"github.com/crm-mcp/crm-mcp/internal/app"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/obs"
)

const usage = `usage: crm-mcp [command] [flags]

commands:
  serve     serve MCP on Streamable HTTP (the default)
  version   print the version

Run "crm-mcp serve -h" for the flags; every flag also has a CRM_MCP_*
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
		return serve(args, getenv, stdout, stderr)
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

func serve(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "crm-mcp:", err)
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
