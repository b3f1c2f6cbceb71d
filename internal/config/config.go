// Package config loads crm-mcp's typed configuration from CRM_MCP_*
// environment variables and command-line flags (flags win), validates all of
// it at start and reports every problem at once, and prints it with secrets
// redacted.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Config is the validated configuration of the serve role.
type Config struct {
	// Addr is the listen address. Default 127.0.0.1:8080.
	Addr string
	// PublicURL is the externally visible base URL (scheme://host[:port], no
	// path). The MCP endpoint is PublicURL + "/mcp". Default
	// http://localhost:8080.
	PublicURL string
	// AllowedOrigins are extra browser origins allowed to call /mcp besides
	// the public URL's own origin (and loopback origins on a loopback bind).
	AllowedOrigins []string
	// AllowedHosts are extra Host header values accepted besides the public
	// URL's host (and loopback names on a loopback bind).
	AllowedHosts []string
	// MaxBodyBytes limits request bodies on /mcp. Default 1 MiB.
	MaxBodyBytes int64

	// HTTP server limits. There is deliberately no server-wide write timeout:
	// streamed responses (SSE) would be cut; streaming code sets per-write
	// deadlines instead.
	ReadHeaderTimeout time.Duration // default 5s
	ReadTimeout       time.Duration // default 30s
	IdleTimeout       time.Duration // default 120s
	MaxHeaderBytes    int           // default 64 KiB
	// ShutdownTimeout bounds the drain of in-flight requests on SIGTERM.
	ShutdownTimeout time.Duration // default 20s
	// ShutdownDelay is how long a replica keeps serving after SIGTERM
	// with /readyz 503: half as before, half with its listener closed and
	// Connection: close on every answer, so that a load balancer stops
	// sending it requests and drops its keep-alive connections before the
	// idle ones are closed (App.Serve; CRM_MCP_SHUTDOWN_DELAY, default 0).
	ShutdownDelay time.Duration

	LogLevel  string // debug, info, warn, error; default info
	LogFormat string // json or text; default json

	// DataDir holds the embedded default's files (token keys; later the
	// SQLite database). Default ./data.
	DataDir string
	// TokenKeys is the access-token key ring "kid:base64url,kid:..." (first
	// signs). Replicas must share it. If empty, keys live in DataDir.
	TokenKeys Secret
	// RedisURL selects Redis for shared state (redis://[:password@]host:port/db).
	// If empty, state is in memory (single process). With RedisCluster,
	// the URL names the cluster's seed nodes:
	// redis://[:password@]host:port?addr=host2:port2&addr=host3:port3.
	RedisURL Secret
	// RedisCluster makes every Redis client a Redis Cluster client
	// (CRM_MCP_REDIS_CLUSTER=true). Every key crm-mcp writes is hash-tagged,
	// so each multi-key script runs in one slot.
	RedisCluster bool
	// DatabaseURL selects PostgreSQL for the CRM data
	// (postgres://user@host:5432/db). If empty, SQLite in DataDir.
	DatabaseURL Secret
	// DatabaseOwnerURL connects as the schema owner to run migrations
	// (the application role may not own the tables: row-level security).
	// If empty, migrations are not run at start.
	DatabaseOwnerURL Secret
	// DemoPeople is how many people per demo tenant the first start seeds.
	DemoPeople int
	// DemoUsers seeds the demo logins. Default: on for a loopback bind only,
	// since their passwords are public.
	DemoUsers bool
	// CIMDAllowCIDRs lets Client ID Metadata Documents be fetched from
	// otherwise forbidden (private, loopback) addresses. Tests only.
	CIMDAllowCIDRs []string
	// RateLimit configures the rate limits (ratelimit.go).
	RateLimit RateLimit
	// Notify configures the notification streams (notify.go).
	Notify Notify
	// MetricsAddr is the listen address of the Prometheus /metrics
	// listener. If empty, there is none.
	MetricsAddr string

	// Role is "serve" (everything in one process) or "mcp" (MCP, OAuth and
	// JWKS only, calling a remote CRM API; see LoadMCP).
	Role string
	// APIURL is the base URL of the remote CRM API (the mcp role only):
	// one URL, normally a load balancer in front of the api replicas.
	APIURL string
	// ServiceKeyFile is the PEM file of the service-token signing keys. In
	// the mcp role it is required and must exist (every replica reads the
	// same keys); serve creates DataDir/service-keys.pem when it is empty.
	ServiceKeyFile string
	// InstanceID, if set, is echoed on every response as the
	// X-Crm-Mcp-Instance header, so a fleet's replicas can be told apart.
	InstanceID string
}

// Roles of [Config].
const (
	RoleServe = "serve"
	RoleMCP   = "mcp"
)

// InstanceHeader is the response header carrying [Config.InstanceID].
const InstanceHeader = "X-Crm-Mcp-Instance"

// Secret is a configuration value that is never printed: fmt and slog
// see "[redacted]". Reveal returns the value where it is used.
type Secret string

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// MCPURL is the canonical URL of the MCP endpoint.
func (c *Config) MCPURL() string { return c.PublicURL + "/mcp" }

// LoopbackBind reports whether Addr binds only a loopback interface.
func (c *Config) LoopbackBind() bool {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// PublicOrigin is the browser origin of PublicURL.
func (c *Config) PublicOrigin() string {
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// PublicHost is the Host header value clients use to reach PublicURL.
func (c *Config) PublicHost() string {
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return ""
	}
	return u.Host
}

// Load reads the environment through getenv, then args (flags, without the
// program or subcommand name). It returns every problem found, joined.
func Load(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	return load(RoleServe, args, getenv, stderr)
}

// LoadMCP reads the configuration of the mcp role: serve's settings minus
// the CRM store, plus CRM_MCP_API_URL. Replicas share everything that must
// agree across them, so CRM_MCP_REDIS_URL, CRM_MCP_TOKEN_KEYS and
// CRM_MCP_SERVICE_KEY_FILE are required, and a CRM store setting is an
// error (the data belongs to crm-mcp api).
func LoadMCP(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	return load(RoleMCP, args, getenv, stderr)
}

func load(role string, args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := &Config{Role: role}
	fs := flag.NewFlagSet("crm-mcp "+role, flag.ContinueOnError)
	fs.SetOutput(stderr)

	l := &loader{getenv: getenv}
	env, dur, integer := l.env, l.dur, l.integer

	fs.StringVar(&c.Addr, "addr", env("CRM_MCP_ADDR", "127.0.0.1:8080"), "listen address (CRM_MCP_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", env("CRM_MCP_PUBLIC_URL", "http://localhost:8080"), "public base URL (CRM_MCP_PUBLIC_URL)")
	origins := fs.String("allowed-origins", env("CRM_MCP_ALLOWED_ORIGINS", ""), "comma-separated extra browser origins allowed on /mcp (CRM_MCP_ALLOWED_ORIGINS)")
	hosts := fs.String("allowed-hosts", env("CRM_MCP_ALLOWED_HOSTS", ""), "comma-separated extra Host values accepted (CRM_MCP_ALLOWED_HOSTS)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", integer("CRM_MCP_MAX_BODY_BYTES", 1<<20), "request body limit on /mcp (CRM_MCP_MAX_BODY_BYTES)")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", dur("CRM_MCP_READ_HEADER_TIMEOUT", 5*time.Second), "(CRM_MCP_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", dur("CRM_MCP_READ_TIMEOUT", 30*time.Second), "(CRM_MCP_READ_TIMEOUT)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", dur("CRM_MCP_IDLE_TIMEOUT", 120*time.Second), "(CRM_MCP_IDLE_TIMEOUT)")
	maxHeader := fs.Int64("max-header-bytes", integer("CRM_MCP_MAX_HEADER_BYTES", 64<<10), "(CRM_MCP_MAX_HEADER_BYTES)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", dur("CRM_MCP_SHUTDOWN_TIMEOUT", 20*time.Second), "drain bound on SIGTERM (CRM_MCP_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", dur("CRM_MCP_SHUTDOWN_DELAY", 0), "on SIGTERM /readyz turns 503; serve as before for half this time, then stop accepting and answer with Connection: close for the other half; set half of it above the load balancer's upstream keep-alive timeout (CRM_MCP_SHUTDOWN_DELAY)")
	fs.StringVar(&c.LogLevel, "log-level", env("CRM_MCP_LOG_LEVEL", "info"), "debug, info, warn or error (CRM_MCP_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("CRM_MCP_LOG_FORMAT", "json"), "json or text (CRM_MCP_LOG_FORMAT)")
	fs.StringVar(&c.DataDir, "data-dir", env("CRM_MCP_DATA_DIR", "./data"), "directory for local data: token keys (CRM_MCP_DATA_DIR)")
	tokenKeys := fs.String("token-keys", "", "access-token key ring kid:base64url,... (CRM_MCP_TOKEN_KEYS; prefer the variable: flags show in ps)")
	redisURL := fs.String("redis-url", "", "Redis URL for shared state (CRM_MCP_REDIS_URL)")
	redisCluster := fs.String("redis-cluster", env("CRM_MCP_REDIS_CLUSTER", "false"), "CRM_MCP_REDIS_URL names Redis Cluster seed nodes: redis://host:port?addr=host2:port2 (CRM_MCP_REDIS_CLUSTER)")
	databaseURL := fs.String("database-url", "", "PostgreSQL URL for the CRM data; default SQLite in the data dir (CRM_MCP_DATABASE_URL)")
	demoPeople := fs.Int64("demo-people", integer("CRM_MCP_DEMO_PEOPLE", 5000), "people per demo tenant seeded on the first start (CRM_MCP_DEMO_PEOPLE)")
	demoUsers := fs.String("demo-users", env("CRM_MCP_DEMO_USERS", "auto"), "seed demo logins: auto (loopback bind only), true, false (CRM_MCP_DEMO_USERS)")
	cimdAllow := fs.String("cimd-allow-cidrs", env("CRM_MCP_CIMD_ALLOW_CIDRS", ""), "tests only: CIDRs CIMD may fetch from despite SSRF rules (CRM_MCP_CIMD_ALLOW_CIDRS)")
	rateLimits := addRateLimitFlags(fs, l)
	fs.StringVar(&c.ServiceKeyFile, "service-key-file", env("CRM_MCP_SERVICE_KEY_FILE", ""), "PEM file of the service-token signing keys; default <data dir>/service-keys.pem, created on first start (CRM_MCP_SERVICE_KEY_FILE)")
	fs.StringVar(&c.InstanceID, "instance-id", env("CRM_MCP_INSTANCE_ID", ""), "name of this replica, echoed as the "+InstanceHeader+" response header (CRM_MCP_INSTANCE_ID)")
	if role == RoleMCP {
		fs.StringVar(&c.APIURL, "api-url", env("CRM_MCP_API_URL", ""), "base URL of the CRM API, e.g. the load balancer of the api replicas (CRM_MCP_API_URL)")
	}

	validateNotify := bindNotify(fs, l, &c.Notify) // notify.go

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	errs := l.errs
	errs = append(errs, validateNotify()...)
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	c.TokenKeys = Secret(firstNonEmpty(*tokenKeys, getenv("CRM_MCP_TOKEN_KEYS")))
	c.RedisURL = Secret(firstNonEmpty(*redisURL, getenv("CRM_MCP_REDIS_URL")))
	c.DatabaseURL = Secret(firstNonEmpty(*databaseURL, getenv("CRM_MCP_DATABASE_URL")))
	switch strings.ToLower(*redisCluster) {
	case "true", "1", "yes":
		c.RedisCluster = true
	case "false", "0", "no", "":
	default:
		errs = append(errs, fmt.Errorf("CRM_MCP_REDIS_CLUSTER: %q is not true or false", *redisCluster))
	}
	c.DatabaseOwnerURL = Secret(getenv("CRM_MCP_DATABASE_OWNER_URL"))
	c.DemoPeople = int(*demoPeople)
	if c.DemoPeople < 1 || c.DemoPeople > 1_000_000 {
		errs = append(errs, fmt.Errorf("CRM_MCP_DEMO_PEOPLE: %d is outside 1-1000000", c.DemoPeople))
	}
	c.CIMDAllowCIDRs = splitList(*cimdAllow)
	switch strings.ToLower(*demoUsers) {
	case "auto":
		c.DemoUsers = false // decided below, once Addr is known
	case "true", "1", "yes":
		c.DemoUsers = true
	case "false", "0", "no":
	default:
		errs = append(errs, fmt.Errorf("CRM_MCP_DEMO_USERS: %q is not auto, true or false", *demoUsers))
	}
	c.AllowedOrigins = splitList(*origins)
	c.AllowedHosts = splitList(*hosts)
	c.MaxHeaderBytes = int(*maxHeader)
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")

	if strings.ToLower(*demoUsers) == "auto" {
		c.DemoUsers = c.LoopbackBind()
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	errs = append(errs, c.validate(*maxHeader)...)
	if role == RoleMCP {
		errs = append(errs, c.validateMCPRole()...)
		// The logins live in the CRM store behind the API; seed them
		// with crm-mcp seed.
		c.DemoUsers = false
	} else if c.ServiceKeyFile == "" {
		c.ServiceKeyFile = filepath.Join(c.DataDir, "service-keys.pem")
	}
	errs = append(errs, rateLimits.finish(c)...)
	if len(errs) > 0 {
		return nil, &Error{Problems: errs}
	}
	return c, nil
}

func (c *Config) validate(maxHeader int64) []error {
	var errs []error
	errs = append(errs, validateAddr("CRM_MCP_ADDR", c.Addr)...)
	errs = append(errs, validatePublicURL("CRM_MCP_PUBLIC_URL", c.PublicURL)...)
	for _, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("CRM_MCP_ALLOWED_ORIGINS: %q is not scheme://host[:port]", o))
		}
	}
	for _, h := range c.AllowedHosts {
		if strings.ContainsAny(h, "/@ ") {
			errs = append(errs, fmt.Errorf("CRM_MCP_ALLOWED_HOSTS: %q is not host[:port]", h))
		}
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		errs = append(errs, fmt.Errorf("CRM_MCP_MAX_BODY_BYTES: %d is outside 1024–67108864", c.MaxBodyBytes))
	}
	errs = append(errs, validateMaxHeader(maxHeader)...)
	errs = append(errs, validateDurations([]namedDuration{
		{"CRM_MCP_READ_HEADER_TIMEOUT", c.ReadHeaderTimeout},
		{"CRM_MCP_READ_TIMEOUT", c.ReadTimeout},
		{"CRM_MCP_IDLE_TIMEOUT", c.IdleTimeout},
		{"CRM_MCP_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
	})...)
	if c.ShutdownDelay < 0 || c.ShutdownDelay > 5*time.Minute {
		errs = append(errs, fmt.Errorf("CRM_MCP_SHUTDOWN_DELAY: %v is outside 0–5m", c.ShutdownDelay))
	}
	errs = append(errs, validateLogLevel(c.LogLevel)...)
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL.Reveal()); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			errs = append(errs, fmt.Errorf("CRM_MCP_REDIS_URL: %q is not a redis:// or rediss:// URL", RedactURL(c.RedisURL.Reveal())))
		}
	}
	errs = append(errs, validateDatabaseURL(c.DatabaseURL)...)
	for _, cidr := range c.CIMDAllowCIDRs {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			errs = append(errs, fmt.Errorf("CRM_MCP_CIMD_ALLOW_CIDRS: %q is not a CIDR", cidr))
		}
	}
	errs = append(errs, validateDataDir(c.DataDir)...)
	errs = append(errs, validateLogFormat(c.LogFormat)...)
	if c.InstanceID != "" && !validInstanceID(c.InstanceID) {
		errs = append(errs, fmt.Errorf("CRM_MCP_INSTANCE_ID: %q is not 1-64 of [A-Za-z0-9._-]", c.InstanceID))
	}
	return errs
}

// validateMCPRole checks what replicas must share, and that the role is not
// given a CRM store it would not use.
func (c *Config) validateMCPRole() []error {
	var errs []error
	if c.RedisURL == "" {
		errs = append(errs, errors.New("CRM_MCP_REDIS_URL: required by the mcp role (codes, sessions, refresh tokens, revocations and rate limits must be shared by every replica)"))
	}
	if c.TokenKeys == "" {
		errs = append(errs, errors.New("CRM_MCP_TOKEN_KEYS: required by the mcp role (every replica must verify the access tokens the others issue)"))
	}
	if c.ServiceKeyFile == "" {
		errs = append(errs, errors.New("CRM_MCP_SERVICE_KEY_FILE: required by the mcp role (every replica must sign service tokens with the keys the CRM API fetches from any of them)"))
	}
	if c.APIURL == "" {
		errs = append(errs, errors.New("CRM_MCP_API_URL: required by the mcp role (the CRM API it calls)"))
	} else if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("CRM_MCP_API_URL: %q is not an http(s) URL", RedactURL(c.APIURL)))
	} else if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		errs = append(errs, fmt.Errorf("CRM_MCP_API_URL: %q must be scheme://host[:port] without path, query or credentials", RedactURL(c.APIURL)))
	}
	if c.DatabaseURL != "" || c.DatabaseOwnerURL != "" {
		errs = append(errs, errors.New("CRM_MCP_DATABASE_URL, CRM_MCP_DATABASE_OWNER_URL: the mcp role has no CRM store; set them on crm-mcp api"))
	}
	return errs
}

func validInstanceID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Error lists every configuration problem found.
type Error struct{ Problems []error }

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap exposes the individual problems to errors.Is / errors.As.
func (e *Error) Unwrap() []error { return e.Problems }

// LogValue renders the configuration for the start-up log, with secrets
// redacted.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("public_url", RedactURL(c.PublicURL)),
		slog.Any("allowed_origins", c.AllowedOrigins),
		slog.Any("allowed_hosts", c.AllowedHosts),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
		slog.Duration("read_header_timeout", c.ReadHeaderTimeout),
		slog.Duration("read_timeout", c.ReadTimeout),
		slog.Duration("idle_timeout", c.IdleTimeout),
		slog.Int("max_header_bytes", c.MaxHeaderBytes),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("shutdown_delay", c.ShutdownDelay),
		slog.String("log_level", c.LogLevel),
		slog.String("log_format", c.LogFormat),
		slog.String("data_dir", c.DataDir),
		slog.Bool("token_keys_set", c.TokenKeys != ""),
		slog.String("redis_url", RedactURL(c.RedisURL.Reveal())),
		slog.Bool("redis_cluster", c.RedisCluster),
		slog.String("database_url", RedactURL(c.DatabaseURL.Reveal())),
		slog.Bool("database_owner_url_set", c.DatabaseOwnerURL != ""),
		slog.Int("demo_people", c.DemoPeople),
		slog.Bool("demo_users", c.DemoUsers),
		slog.Any("cimd_allow_cidrs", c.CIMDAllowCIDRs),
		slog.Any("notify", c.Notify),
		slog.Any("rate_limits", c.RateLimit.Policies),
		slog.Any("trusted_proxies", c.RateLimit.TrustedProxies),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("role", c.Role),
		slog.String("api_url", RedactURL(c.APIURL)),
		slog.String("service_key_file", c.ServiceKeyFile),
		slog.String("instance_id", c.InstanceID),
	)
}

// RedactURL hides the password of a URL's userinfo and any query values
// (connection strings carry credentials in both places).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparseable URL redacted]"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q.Set(k, "REDACTED")
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isLoopbackName(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
