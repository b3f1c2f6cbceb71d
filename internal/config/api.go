package config

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// JWKSPath is where serve publishes the public keys of its service tokens.
const JWKSPath = "/.well-known/jwks.json"

// APIConfig is the validated configuration of the api role: the CRM's
// internal API alone, verifying the service tokens of crm-mcp.
type APIConfig struct {
	// Addr is the listen address. Default 127.0.0.1:8081.
	Addr string
	// PublicURL is crm-mcp's public base URL: the exact iss its service
	// tokens carry. Default http://localhost:8080.
	PublicURL string
	// JWKSURL is where crm-mcp publishes the service-token keys. Default
	// PublicURL + JWKSPath.
	JWKSURL string
	// Store is the CRM store: PostgreSQL for several replicas, or SQLite
	// in the data dir on a single host.
	Store CRMStore

	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // default 30s
	// WriteTimeout bounds writing a response; the API does not stream.
	WriteTimeout    time.Duration // default 60s
	IdleTimeout     time.Duration // default 120s
	MaxHeaderBytes  int           // default 64 KiB
	ShutdownTimeout time.Duration // default 20s

	LogLevel  string // debug, info, warn, error; default info
	LogFormat string // json or text; default json
}

// LoadAPI reads the api role's configuration like [Load]: the environment
// through getenv, then args; every problem is returned at once.
func LoadAPI(args []string, getenv func(string) string, stderr io.Writer) (*APIConfig, error) {
	c := &APIConfig{}
	fs := flag.NewFlagSet("crm-mcp api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	l := &loader{getenv: getenv}
	fs.StringVar(&c.Addr, "addr", l.env("CRM_MCP_API_ADDR", "127.0.0.1:8081"), "listen address (CRM_MCP_API_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", l.env("CRM_MCP_PUBLIC_URL", "http://localhost:8080"), "crm-mcp's public base URL, the issuer of its service tokens (CRM_MCP_PUBLIC_URL)")
	fs.StringVar(&c.JWKSURL, "jwks-url", l.env("CRM_MCP_JWKS_URL", ""), "crm-mcp's service-token JWKS; default <public URL>"+JWKSPath+" (CRM_MCP_JWKS_URL)")
	store := storeFlags(fs, l)
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", l.dur("CRM_MCP_READ_HEADER_TIMEOUT", 5*time.Second), "(CRM_MCP_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", l.dur("CRM_MCP_READ_TIMEOUT", 30*time.Second), "(CRM_MCP_READ_TIMEOUT)")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", l.dur("CRM_MCP_WRITE_TIMEOUT", 60*time.Second), "(CRM_MCP_WRITE_TIMEOUT)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", l.dur("CRM_MCP_IDLE_TIMEOUT", 120*time.Second), "(CRM_MCP_IDLE_TIMEOUT)")
	maxHeader := fs.Int64("max-header-bytes", l.integer("CRM_MCP_MAX_HEADER_BYTES", 64<<10), "(CRM_MCP_MAX_HEADER_BYTES)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", l.dur("CRM_MCP_SHUTDOWN_TIMEOUT", 20*time.Second), "drain bound on SIGTERM (CRM_MCP_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.LogLevel, "log-level", l.env("CRM_MCP_LOG_LEVEL", "info"), "debug, info, warn or error (CRM_MCP_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", l.env("CRM_MCP_LOG_FORMAT", "json"), "json or text (CRM_MCP_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	errs := l.errs
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	c.Store = store()
	c.MaxHeaderBytes = int(*maxHeader)
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.JWKSURL == "" {
		c.JWKSURL = c.PublicURL + JWKSPath
	}

	errs = append(errs, validateAddr("CRM_MCP_API_ADDR", c.Addr)...)
	errs = append(errs, validatePublicURL("CRM_MCP_PUBLIC_URL", c.PublicURL)...)
	errs = append(errs, validateJWKSURL(c.JWKSURL)...)
	errs = append(errs, validateStore(c.Store)...)
	errs = append(errs, validateMaxHeader(*maxHeader)...)
	errs = append(errs, validateDurations([]namedDuration{
		{"CRM_MCP_READ_HEADER_TIMEOUT", c.ReadHeaderTimeout},
		{"CRM_MCP_READ_TIMEOUT", c.ReadTimeout},
		{"CRM_MCP_WRITE_TIMEOUT", c.WriteTimeout},
		{"CRM_MCP_IDLE_TIMEOUT", c.IdleTimeout},
		{"CRM_MCP_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
	})...)
	errs = append(errs, validateLogLevel(c.LogLevel)...)
	errs = append(errs, validateLogFormat(c.LogFormat)...)
	if len(errs) > 0 {
		return nil, &Error{Problems: errs}
	}
	return c, nil
}

// validateJWKSURL: the keys decide which tokens the API accepts, so they
// are fetched over TLS except from a loopback host.
func validateJWKSURL(raw string) []error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return []error{fmt.Errorf("CRM_MCP_JWKS_URL: %q is not an http(s) URL", RedactURL(raw))}
	case u.User != nil || u.Fragment != "":
		return []error{fmt.Errorf("CRM_MCP_JWKS_URL: %q must not carry credentials or a fragment", RedactURL(raw))}
	case u.Scheme == "http" && !isLoopbackName(u.Hostname()):
		return []error{fmt.Errorf("CRM_MCP_JWKS_URL: %q must use https unless the host is loopback", raw)}
	}
	return nil
}

// LogValue renders the configuration for the start-up log, with secrets
// redacted.
func (c *APIConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("public_url", RedactURL(c.PublicURL)),
		slog.String("jwks_url", RedactURL(c.JWKSURL)),
		slog.Any("store", c.Store),
		slog.Duration("read_header_timeout", c.ReadHeaderTimeout),
		slog.Duration("read_timeout", c.ReadTimeout),
		slog.Duration("write_timeout", c.WriteTimeout),
		slog.Duration("idle_timeout", c.IdleTimeout),
		slog.Int("max_header_bytes", c.MaxHeaderBytes),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.String("log_level", c.LogLevel),
		slog.String("log_format", c.LogFormat),
	)
}
