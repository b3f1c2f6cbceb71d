// Command fixtureserver serves the conformance fixtures through crm-mcp's
// transport stack (internal/mcpserver) so that the official MCP conformance
// suite can run against it. It is test-only: it is not part of the product
// and is built by e2e/conformance/run.sh.
//
// It listens on a loopback address and prints
//
//	listening on http://127.0.0.1:PORT/mcp
//
// as its first line on stdout once it accepts connections.
//
// With -auth, /mcp sits behind the product's resource-server stack: the
// bearer middleware (internal/bearer) verifying access tokens of
// internal/token against a revocation list (internal/state/memory), exactly
// as internal/app composes it. Requests without a valid token are answered
// 401 with a WWW-Authenticate resource_metadata challenge. The server mints
// one access token for the suite (issuer http://127.0.0.1:PORT, audience
// http://127.0.0.1:PORT/mcp, scopes crm:read crm:write) and writes it to
// -token-file (mode 0600), or prints it as the second stdout line
//
//	token TOKEN
//
// when no file is named. Its keys come from CRM_MCP_TOKEN_KEYS when set (the
// product's format, "kid:base64url-secret,..."), else a fresh random key.
// e2e/authproxy adds the token to the suite's requests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/crm-mcp/crm-mcp/e2e/conformance"
	"github.com/crm-mcp/crm-mcp/internal/bearer"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	memstate "github.com/crm-mcp/crm-mcp/internal/state/memory"
	"github.com/crm-mcp/crm-mcp/internal/token"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback `host:port` to listen on (port 0 picks a free port)")
	verbose := flag.Bool("v", false, "log transport diagnostics to stderr")
	auth := flag.Bool("auth", false, "require bearer access tokens on /mcp (the product's bearer middleware) and mint one for the suite")
	tokenFile := flag.String("token-file", "", "with -auth, write the minted access token to this `file` (mode 0600) instead of stdout")
	flag.Parse()
	if *tokenFile != "" && !*auth {
		fmt.Fprintln(os.Stderr, "fixtureserver: -token-file needs -auth")
		os.Exit(2)
	}
	if err := run(*addr, *verbose, *auth, *tokenFile); err != nil {
		fmt.Fprintln(os.Stderr, "fixtureserver:", err)
		os.Exit(1)
	}
}

func run(addr string, verbose, auth bool, tokenFile string) error {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	h, err := conformance.NewHandler(logger)
	if err != nil {
		return err
	}
	if err := requireLoopback(addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	baseURL := "http://" + ln.Addr().String()

	var mcpHandler http.Handler = h
	var accessToken string
	if auth {
		ring, err := keyRing(os.Getenv("CRM_MCP_TOKEN_KEYS"))
		if err != nil {
			return err
		}
		revocations := memstate.New(memstate.Options{})
		defer revocations.Close()
		mcpHandler, accessToken, err = protect(h, baseURL, ring, revocations, logger)
		if err != nil {
			return err
		}
		if tokenFile != "" {
			if err := writeTokenFile(tokenFile, accessToken); err != nil {
				return err
			}
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcpHandler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	fmt.Printf("listening on %s/mcp\n", baseURL)
	if auth && tokenFile == "" {
		fmt.Printf("token %s\n", accessToken)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// protect puts next behind the product's bearer middleware for the MCP
// resource baseURL+"/mcp" (issuer baseURL, as internal/app does for a
// server whose public URL is baseURL) and mints an access token for the
// conformance suite.
func protect(next http.Handler, baseURL string, ring *token.KeyRing, revocations bearer.RevocationChecker, logger *slog.Logger) (http.Handler, string, error) {
	access, err := token.NewAccessIssuer(ring, token.AccessOptions{
		Issuer:   baseURL,
		Audience: baseURL + "/mcp",
		// Longer than any bounded suite run (run.sh: 10 minutes by default).
		TTL: 2 * time.Hour,
	})
	if err != nil {
		return nil, "", err
	}
	raw, _, err := access.Mint(token.AccessClaims{
		Subject:  "usr_conformance",
		TenantID: "tnt_conformance",
		Email:    "conformance@fixture.invalid",
		Scopes:   []string{identity.ScopeRead, identity.ScopeWrite},
		ClientID: "conformance-suite",
	})
	if err != nil {
		return nil, "", err
	}
	h := bearer.Middleware(bearer.Options{
		Verifier:    access,
		Revocations: revocations,
		// The URL the product names (authserver.Server.MetadataURL). The
		// fixture server has no authorization server, so nothing serves it:
		// the suite never needs it, it gets its token from e2e/authproxy.
		ResourceMetadataURL: baseURL + "/.well-known/oauth-protected-resource/mcp",
		DefaultScope:        identity.ScopeRead,
		Logger:              logger,
	}, next)
	return h, raw, nil
}

// keyRing parses spec (CRM_MCP_TOKEN_KEYS' format) or, when spec is empty,
// returns a ring with one fresh random key.
func keyRing(spec string) (*token.KeyRing, error) {
	if spec != "" {
		ring, err := token.ParseKeyRing(spec)
		if err != nil {
			return nil, fmt.Errorf("CRM_MCP_TOKEN_KEYS: %w", err)
		}
		return ring, nil
	}
	return token.NewKeyRing(token.GenerateKey())
}

func writeTokenFile(path, tok string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// requireLoopback refuses to listen anywhere but on a loopback address: the
// fixture server is a test double, never a service.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: only loopback addresses are allowed", addr)
	}
	return nil
}
