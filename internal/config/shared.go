package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"
)

// CRMStore selects the CRM data store; every role that opens it (serve,
// seed, api) reads the same settings.
type CRMStore struct {
	// DataDir holds the SQLite database when DatabaseURL is empty.
	DataDir string
	// DatabaseURL selects PostgreSQL (as the application role). If empty,
	// SQLite in DataDir.
	DatabaseURL Secret
	// DatabaseOwnerURL connects as the schema owner to run migrations
	// before opening. If empty, migrations are not run.
	DatabaseOwnerURL Secret
}

// CRMStore returns the store settings of the serve role.
func (c *Config) CRMStore() CRMStore {
	return CRMStore{DataDir: c.DataDir, DatabaseURL: c.DatabaseURL, DatabaseOwnerURL: c.DatabaseOwnerURL}
}

// loader reads typed environment variables and collects what does not
// parse, so that Load can report every problem at once.
type loader struct {
	getenv func(string) string
	errs   []error
}

func (l *loader) env(name, def string) string {
	if v := l.getenv(name); v != "" {
		return v
	}
	return def
}

func (l *loader) dur(name string, def time.Duration) time.Duration {
	raw := l.getenv(name)
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %q is not a duration (e.g. 30s)", name, raw))
		return def
	}
	return d
}

func (l *loader) integer(name string, def int64) int64 {
	raw := l.getenv(name)
	if raw == "" {
		return def
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %q is not an integer", name, raw))
		return def
	}
	return n
}

func validateAddr(name, addr string) []error {
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return []error{fmt.Errorf("%s: %q is not host:port", name, addr)}
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return []error{fmt.Errorf("%s: port %q is not 0–65535", name, port)}
	}
	return nil
}

// validatePublicURL checks an issuer / public base URL.
func validatePublicURL(name, raw string) []error {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return []error{fmt.Errorf("%s: %q is not an http(s) URL", name, RedactURL(raw))}
	} else if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return []error{fmt.Errorf("%s: %q must be scheme://host[:port] without path, query or credentials", name, RedactURL(raw))}
	} else if u.Scheme == "http" && !isLoopbackName(u.Hostname()) {
		// OAuth 2.1 §1.5: tokens travel only over TLS, except on loopback.
		return []error{fmt.Errorf("%s: %q must use https unless the host is loopback", name, raw)}
	}
	return nil
}

func validateMaxHeader(maxHeader int64) []error {
	if maxHeader < 4<<10 || maxHeader > 1<<20 {
		return []error{fmt.Errorf("CRM_MCP_MAX_HEADER_BYTES: %d is outside 4096–1048576", maxHeader)}
	}
	return nil
}

type namedDuration struct {
	name string
	d    time.Duration
}

func validateDurations(ds []namedDuration) []error {
	var errs []error
	for _, nd := range ds {
		if nd.d <= 0 || nd.d > time.Hour {
			errs = append(errs, fmt.Errorf("%s: %s is outside (0, 1h]", nd.name, nd.d))
		}
	}
	return errs
}

func validateLogLevel(level string) []error {
	switch level {
	case "debug", "info", "warn", "error":
		return nil
	}
	return []error{fmt.Errorf("CRM_MCP_LOG_LEVEL: %q is not debug, info, warn or error", level)}
}

func validateLogFormat(format string) []error {
	switch format {
	case "json", "text":
		return nil
	}
	return []error{fmt.Errorf("CRM_MCP_LOG_FORMAT: %q is not json or text", format)}
}

func validateDatabaseURL(s Secret) []error {
	if s == "" {
		return nil
	}
	if u, err := url.Parse(s.Reveal()); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return []error{fmt.Errorf("CRM_MCP_DATABASE_URL: %q is not a postgres:// URL", RedactURL(s.Reveal()))}
	}
	return nil
}

func validateDataDir(dir string) []error {
	if dir == "" {
		return []error{errors.New("CRM_MCP_DATA_DIR: must not be empty")}
	}
	return nil
}

// storeFlags defines the CRM store's flags on fs for the seed and api
// roles (serve keeps its own, documented with its other flags). The
// returned function reads them once fs is parsed.
func storeFlags(fs *flag.FlagSet, l *loader) func() CRMStore {
	dataDir := fs.String("data-dir", l.env("CRM_MCP_DATA_DIR", "./data"), "directory of the SQLite CRM database (CRM_MCP_DATA_DIR)")
	databaseURL := fs.String("database-url", "", "PostgreSQL URL for the CRM data; default SQLite in the data dir (CRM_MCP_DATABASE_URL)")
	return func() CRMStore {
		return CRMStore{
			DataDir:          *dataDir,
			DatabaseURL:      Secret(firstNonEmpty(*databaseURL, l.getenv("CRM_MCP_DATABASE_URL"))),
			DatabaseOwnerURL: Secret(l.getenv("CRM_MCP_DATABASE_OWNER_URL")),
		}
	}
}

func validateStore(s CRMStore) []error {
	errs := validateDatabaseURL(s.DatabaseURL)
	if s.DatabaseOwnerURL != "" {
		if u, err := url.Parse(s.DatabaseOwnerURL.Reveal()); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			errs = append(errs, fmt.Errorf("CRM_MCP_DATABASE_OWNER_URL: %q is not a postgres:// URL", RedactURL(s.DatabaseOwnerURL.Reveal())))
		} else if s.DatabaseURL == "" {
			errs = append(errs, errors.New("CRM_MCP_DATABASE_OWNER_URL: set without CRM_MCP_DATABASE_URL"))
		}
	}
	return append(errs, validateDataDir(s.DataDir)...)
}

// LogValue renders the store settings with credentials redacted.
func (s CRMStore) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("data_dir", s.DataDir),
		slog.String("database_url", RedactURL(s.DatabaseURL.Reveal())),
		slog.Bool("database_owner_url_set", s.DatabaseOwnerURL != ""),
	)
}

// Describe names the store for a person: the SQLite file, or PostgreSQL
// with the URL's credentials redacted.
func (s CRMStore) Describe() string {
	if s.DatabaseURL != "" {
		return "PostgreSQL " + RedactURL(s.DatabaseURL.Reveal())
	}
	return "SQLite " + s.SQLitePath()
}

// SQLitePath is the embedded database file in DataDir, used when
// DatabaseURL is empty.
func (s CRMStore) SQLitePath() string { return filepath.Join(s.DataDir, "crm.db") }
