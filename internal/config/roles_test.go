package config_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/config"
)

func TestLoadAPIDefaults(t *testing.T) {
	c, err := config.LoadAPI(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.Addr, c.PublicURL, c.JWKSURL, c.Store.DataDir, c.LogLevel, c.LogFormat}
	want := []string{"127.0.0.1:8081", "http://localhost:8080", "http://localhost:8080/.well-known/jwks.json", "./data", "info", "json"}
	if !slices.Equal(got, want) {
		t.Errorf("defaults = %q, want %q", got, want)
	}
	if c.WriteTimeout != 60*time.Second || c.ShutdownTimeout != 20*time.Second || c.MaxHeaderBytes != 64<<10 || c.Store.DatabaseURL != "" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestLoadAPIFlagsOverrideEnvironment(t *testing.T) {
	c, err := config.LoadAPI([]string{"-addr", "0.0.0.0:9090", "-jwks-url", "https://mcp.internal/.well-known/jwks.json"},
		env(map[string]string{
			"CRM_MCP_API_ADDR":           "127.0.0.1:7000",
			"CRM_MCP_PUBLIC_URL":         "https://mcp.example.com/",
			"CRM_MCP_JWKS_URL":           "https://ignored.example/jwks.json",
			"CRM_MCP_DATABASE_URL":       "postgres://app:pw@db:5432/crm",
			"CRM_MCP_DATABASE_OWNER_URL": "postgres://owner:pw2@db:5432/crm",
		}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9090" || c.PublicURL != "https://mcp.example.com" || c.JWKSURL != "https://mcp.internal/.well-known/jwks.json" {
		t.Errorf("got %+v", c)
	}
	if c.Store.DatabaseURL.Reveal() != "postgres://app:pw@db:5432/crm" || c.Store.DatabaseOwnerURL == "" {
		t.Errorf("store = %+v", c.Store)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("configuration", "config", c)
	printed := buf.String() + fmt.Sprintf("%v %+v %s", c, *c, c.Store.Describe())
	for _, secret := range []string{":pw@", "pw2"} {
		if strings.Contains(printed, secret) {
			t.Errorf("secret %q printed:\n%s", secret, printed)
		}
	}
}

// TestLoadAPIEveryProblemListed: one start reports all problems.
func TestLoadAPIEveryProblemListed(t *testing.T) {
	_, err := config.LoadAPI([]string{"stray"}, env(map[string]string{
		"CRM_MCP_API_ADDR":           "nonsense",
		"CRM_MCP_PUBLIC_URL":         "http://mcp.example.com",
		"CRM_MCP_JWKS_URL":           "http://mcp.example.com/.well-known/jwks.json",
		"CRM_MCP_DATABASE_URL":       "mysql://app:hunter2@db/crm",
		"CRM_MCP_DATABASE_OWNER_URL": "nope",
		"CRM_MCP_WRITE_TIMEOUT":      "soon",
		"CRM_MCP_SHUTDOWN_TIMEOUT":   "0s",
		"CRM_MCP_LOG_FORMAT":         "xml",
	}), io.Discard)
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("err = %v, want *config.Error", err)
	}
	msg := err.Error()
	names := []string{"unexpected arguments", "CRM_MCP_API_ADDR", "CRM_MCP_PUBLIC_URL", "CRM_MCP_JWKS_URL", "CRM_MCP_DATABASE_URL",
		"CRM_MCP_DATABASE_OWNER_URL", "CRM_MCP_WRITE_TIMEOUT", "CRM_MCP_SHUTDOWN_TIMEOUT", "CRM_MCP_LOG_FORMAT"}
	if len(cerr.Problems) != len(names) {
		t.Errorf("%d problems, want %d:\n%s", len(cerr.Problems), len(names), msg)
	}
	for _, name := range names {
		if !strings.Contains(msg, name) {
			t.Errorf("error does not name %s:\n%s", name, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error prints a password:\n%s", msg)
	}
}

func TestJWKSURLRules(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://mcp.example.com/.well-known/jwks.json", true},
		{"http://127.0.0.1:8080/.well-known/jwks.json", true},
		{"http://localhost:8080/.well-known/jwks.json", true},
		{"http://mcp.internal/.well-known/jwks.json", false}, // keys decide what is accepted: TLS off loopback
		{"https://user:pw@mcp.example.com/jwks", false},
		{"https://mcp.example.com/jwks#x", false},
		{"mcp.example.com/jwks", false},
	}
	for _, tt := range tests {
		_, err := config.LoadAPI(nil, env(map[string]string{"CRM_MCP_JWKS_URL": tt.url}), io.Discard)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

func TestLoadSeed(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		people   int
		tenants  []string
		problems int
	}{
		{"defaults", nil, nil, 5000, []string{"tnt_acme", "tnt_globex", "tnt_initech"}, 0},
		{"flags", []string{"-people", "10", "-tenants", "tnt_initech, tnt_acme"}, map[string]string{"CRM_MCP_DEMO_PEOPLE": "7"}, 10, []string{"tnt_acme", "tnt_initech"}, 0},
		{"environment", nil, map[string]string{"CRM_MCP_DEMO_PEOPLE": "7", "CRM_MCP_DEMO_TENANTS": "tnt_globex"}, 7, []string{"tnt_globex"}, 0},
		{"every problem", []string{"-tenants", "tnt_acme,acme,globex", "-data-dir", ""}, map[string]string{"CRM_MCP_DEMO_PEOPLE": "many", "CRM_MCP_DATABASE_OWNER_URL": "postgres://owner@db/crm"}, 0, nil, 5},
		{"no tenants", []string{"-tenants", ","}, nil, 0, nil, 1},
		{"people out of range", []string{"-people", "0"}, nil, 0, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.LoadSeed(tt.args, env(tt.env), io.Discard)
			if tt.problems > 0 {
				var cerr *config.Error
				if !errors.As(err, &cerr) || len(cerr.Problems) != tt.problems {
					t.Errorf("err = %v, want %d problems", err, tt.problems)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.People != tt.people || !slices.Equal(c.TenantIDs, tt.tenants) || c.Store.Describe() != "SQLite data/crm.db" {
				t.Errorf("got people %d tenants %q store %s; want %d %q", c.People, c.TenantIDs, c.Store.Describe(), tt.people, tt.tenants)
			}
		})
	}
}

// mcpEnv is a complete mcp-role environment.
func mcpEnv(override map[string]string) func(string) string {
	vars := map[string]string{
		"CRM_MCP_PUBLIC_URL":       "https://mcp.example.com",
		"CRM_MCP_REDIS_URL":        "redis://:pw@redis:6379/0",
		"CRM_MCP_TOKEN_KEYS":       "k1:" + strings.Repeat("A", 43),
		"CRM_MCP_SERVICE_KEY_FILE": "/run/secrets/service-keys.pem",
		"CRM_MCP_API_URL":          "http://crm-api.internal:8081/",
	}
	for k, v := range override {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	return env(vars)
}

func TestLoadMCP(t *testing.T) {
	c, err := config.LoadMCP([]string{"-instance-id", "mcp-a"}, mcpEnv(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.Role, c.APIURL, c.ServiceKeyFile, c.InstanceID}
	want := []string{"mcp", "http://crm-api.internal:8081", "/run/secrets/service-keys.pem", "mcp-a"}
	if !slices.Equal(got, want) {
		t.Errorf("role, api url, key file, instance = %q, want %q", got, want)
	}
	if c.DemoUsers {
		t.Error("the mcp role has no store to seed demo users into")
	}
	if s := fmt.Sprint(slog.Any("c", c)); strings.Contains(s, ":pw@") || strings.Contains(s, strings.Repeat("A", 43)) {
		t.Errorf("LogValue leaks a secret: %s", s)
	}
}

// TestLoadMCPErrors: what replicas must share is required, a CRM store is
// refused, and every problem is reported at once.
func TestLoadMCPErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"no redis", map[string]string{"CRM_MCP_REDIS_URL": ""}, []string{"CRM_MCP_REDIS_URL: required by the mcp role"}},
		{"no token keys", map[string]string{"CRM_MCP_TOKEN_KEYS": ""}, []string{"CRM_MCP_TOKEN_KEYS: required by the mcp role"}},
		{"no service key file", map[string]string{"CRM_MCP_SERVICE_KEY_FILE": ""}, []string{"CRM_MCP_SERVICE_KEY_FILE: required by the mcp role"}},
		{"no api url", map[string]string{"CRM_MCP_API_URL": ""}, []string{"CRM_MCP_API_URL: required by the mcp role"}},
		{"api url with a path", map[string]string{"CRM_MCP_API_URL": "http://api:8081/v1"}, []string{"CRM_MCP_API_URL: \"http://api:8081/v1\" must be scheme://host[:port]"}},
		{"api url not http", map[string]string{"CRM_MCP_API_URL": "ftp://api"}, []string{"CRM_MCP_API_URL: \"ftp://api\" is not an http(s) URL"}},
		{"a crm store", map[string]string{"CRM_MCP_DATABASE_URL": "postgres://app:pw@db/crm"}, []string{"the mcp role has no CRM store"}},
		{"bad instance id", map[string]string{"CRM_MCP_INSTANCE_ID": "a b"}, []string{"CRM_MCP_INSTANCE_ID"}},
		{"everything missing", map[string]string{"CRM_MCP_REDIS_URL": "", "CRM_MCP_TOKEN_KEYS": "", "CRM_MCP_SERVICE_KEY_FILE": "", "CRM_MCP_API_URL": ""},
			[]string{"CRM_MCP_REDIS_URL", "CRM_MCP_TOKEN_KEYS", "CRM_MCP_SERVICE_KEY_FILE", "CRM_MCP_API_URL", "4 problems"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.LoadMCP(nil, mcpEnv(tt.env), io.Discard)
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}

// TestServeKeepsItsDefaults: serve needs none of the mcp role's settings
// and keeps its service keys in the data dir unless told otherwise.
func TestServeKeepsItsDefaults(t *testing.T) {
	c, err := config.Load(nil, env(map[string]string{"CRM_MCP_DATA_DIR": "/var/lib/crm"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != "serve" || c.ServiceKeyFile != "/var/lib/crm/service-keys.pem" || c.APIURL != "" {
		t.Errorf("serve: role %q, key file %q, api url %q", c.Role, c.ServiceKeyFile, c.APIURL)
	}
	if _, err := config.Load([]string{"-api-url", "http://x"}, env(nil), io.Discard); err == nil {
		t.Error("serve accepted -api-url, a flag of the mcp role")
	}
}
