package config_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.PublicURL != "http://localhost:8080" || c.MCPURL() != "http://localhost:8080/mcp" {
		t.Errorf("defaults: addr %s public %s", c.Addr, c.PublicURL)
	}
	if c.MaxBodyBytes != 1<<20 || c.ReadHeaderTimeout != 5*time.Second || c.MaxHeaderBytes != 64<<10 {
		t.Errorf("defaults: %+v", c)
	}
	if !c.LoopbackBind() || c.PublicOrigin() != "http://localhost:8080" || c.PublicHost() != "localhost:8080" {
		t.Errorf("derived: loopback %v origin %s host %s", c.LoopbackBind(), c.PublicOrigin(), c.PublicHost())
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c, err := config.Load([]string{"-addr", "0.0.0.0:9000", "-log-format", "text"},
		env(map[string]string{
			"CRM_MCP_ADDR":            "127.0.0.1:7000",
			"CRM_MCP_PUBLIC_URL":      "https://mcp.example.com/",
			"CRM_MCP_ALLOWED_ORIGINS": "https://a.example, https://b.example",
			"CRM_MCP_READ_TIMEOUT":    "45s",
		}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.LoopbackBind() {
		t.Errorf("addr = %s (loopback %v)", c.Addr, c.LoopbackBind())
	}
	if c.PublicURL != "https://mcp.example.com" || c.ReadTimeout != 45*time.Second || c.LogFormat != "text" {
		t.Errorf("got %+v", c)
	}
	if strings.Join(c.AllowedOrigins, "|") != "https://a.example|https://b.example" {
		t.Errorf("origins = %q", c.AllowedOrigins)
	}
}

// TestEveryProblemListed: one start reports all problems, not the first.
func TestEveryProblemListed(t *testing.T) {
	_, err := config.Load(nil, env(map[string]string{
		"CRM_MCP_ADDR":            "nonsense",
		"CRM_MCP_PUBLIC_URL":      "http://user:hunter2@mcp.example.com",
		"CRM_MCP_READ_TIMEOUT":    "soon",
		"CRM_MCP_MAX_BODY_BYTES":  "12",
		"CRM_MCP_LOG_LEVEL":       "loud",
		"CRM_MCP_ALLOWED_ORIGINS": "ftp://x",
	}), io.Discard)
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("err = %v, want *config.Error", err)
	}
	if len(cerr.Problems) != 6 {
		t.Errorf("%d problems, want 6:\n%v", len(cerr.Problems), err)
	}
	msg := err.Error()
	for _, name := range []string{"CRM_MCP_ADDR", "CRM_MCP_PUBLIC_URL", "CRM_MCP_READ_TIMEOUT", "CRM_MCP_MAX_BODY_BYTES", "CRM_MCP_LOG_LEVEL", "CRM_MCP_ALLOWED_ORIGINS"} {
		if !strings.Contains(msg, name) {
			t.Errorf("error does not name %s:\n%s", name, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error prints a password:\n%s", msg)
	}
}

func TestPublicURLRules(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://mcp.example.com", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://mcp.example.com", false}, // tokens only over TLS off loopback
		{"https://mcp.example.com/base", false},
		{"https://mcp.example.com?x=1", false},
		{"mcp.example.com", false},
	}
	for _, tt := range tests {
		_, err := config.Load(nil, env(map[string]string{"CRM_MCP_PUBLIC_URL": tt.url}), io.Discard)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://:s3cret@127.0.0.1:6379/0", "redis://:REDACTED@127.0.0.1:6379/0"},
		{"postgres://app:pw@db/crm?sslmode=require&password=pw2", "postgres://app:REDACTED@db/crm?password=REDACTED&sslmode=REDACTED"},
		{"https://mcp.example.com", "https://mcp.example.com"},
		{"https://user@mcp.example.com", "https://user@mcp.example.com"},
	}
	for _, tt := range tests {
		if got := config.RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(config.RedactURL(tt.in), "s3cret") || strings.Contains(config.RedactURL(tt.in), ":pw@") {
			t.Errorf("secret survived in %q", config.RedactURL(tt.in))
		}
	}
}

func TestUnknownFlag(t *testing.T) {
	if _, err := config.Load([]string{"-no-such-flag"}, env(nil), io.Discard); err == nil {
		t.Error("want an error for an unknown flag")
	}
	if _, err := config.Load([]string{"extra"}, env(nil), io.Discard); err == nil {
		t.Error("want an error for a stray argument")
	}
}

// TestSecretsNeverPrinted: the token keys and the Redis password appear in
// no printed form of the configuration.
func TestSecretsNeverPrinted(t *testing.T) {
	c, err := config.Load(nil, env(map[string]string{
		"CRM_MCP_TOKEN_KEYS": "k1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw",
		"CRM_MCP_REDIS_URL":  "redis://:hunter2@127.0.0.1:6379/0",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenKeys.Reveal() == "" || !strings.Contains(c.RedisURL.Reveal(), "hunter2") {
		t.Fatal("secrets not loaded")
	}
	var buf strings.Builder
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("configuration", "config", c)
	printed := buf.String() + fmt.Sprintf("%v %+v %s", c, *c, c.TokenKeys)
	for _, secret := range []string{"c2VjcmV0", "hunter2"} {
		if strings.Contains(printed, secret) {
			t.Errorf("secret %q printed:\n%s", secret, printed)
		}
	}
	if !strings.Contains(buf.String(), `"redis_url":"redis://:REDACTED@127.0.0.1:6379/0"`) {
		t.Errorf("redis URL not shown redacted:\n%s", buf.String())
	}
}

func TestDemoUsersDefault(t *testing.T) {
	tests := []struct {
		addr, demo string
		want       bool
	}{
		{"127.0.0.1:8080", "", true},
		{"0.0.0.0:8080", "", false},
		{"0.0.0.0:8080", "true", true},
		{"127.0.0.1:8080", "false", false},
	}
	for _, tt := range tests {
		c, err := config.Load(nil, env(map[string]string{"CRM_MCP_ADDR": tt.addr, "CRM_MCP_DEMO_USERS": tt.demo}), io.Discard)
		if err != nil || c.DemoUsers != tt.want {
			t.Errorf("addr %s demo %q: DemoUsers = %v (%v), want %v", tt.addr, tt.demo, c != nil && c.DemoUsers, err, tt.want)
		}
	}
	if _, err := config.Load(nil, env(map[string]string{"CRM_MCP_REDIS_URL": "http://x", "CRM_MCP_CIMD_ALLOW_CIDRS": "nope"}), io.Discard); err == nil || !strings.Contains(err.Error(), "2 problems") {
		t.Errorf("bad redis URL and CIDR: %v", err)
	}
}

func TestRedisCluster(t *testing.T) {
	c, err := config.Load(nil, env(map[string]string{
		"CRM_MCP_REDIS_URL":     "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002",
		"CRM_MCP_REDIS_CLUSTER": "true",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.RedisCluster {
		t.Error("CRM_MCP_REDIS_CLUSTER=true not set")
	}
	if c, err := config.Load(nil, env(nil), io.Discard); err != nil || c.RedisCluster {
		t.Errorf("default RedisCluster = %v, %v; want false", c.RedisCluster, err)
	}
	if _, err := config.Load(nil, env(map[string]string{"CRM_MCP_REDIS_CLUSTER": "maybe"}), io.Discard); err == nil || !strings.Contains(err.Error(), "CRM_MCP_REDIS_CLUSTER") {
		t.Errorf("CRM_MCP_REDIS_CLUSTER=maybe: err = %v", err)
	}
}
