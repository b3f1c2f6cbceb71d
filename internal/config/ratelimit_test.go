package config_test

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/crm-mcp/crm-mcp/internal/config"
)

func TestRateLimitDefaults(t *testing.T) {
	c, err := config.Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rl := c.RateLimit
	want := map[string]config.RateLimitPolicy{
		"register": {Limit: 20, Window: time.Hour}, "token": {Limit: 50, Window: 15 * time.Minute},
		"login": {Limit: 50, Window: 15 * time.Minute}, "mcp_user": {Limit: 600, Window: time.Minute},
	}
	for name, p := range want {
		if rl.Policies[name] != p {
			t.Errorf("%s = %v, want %v", name, rl.Policies[name], p)
		}
	}
	if len(rl.Policies) != len(config.DefaultRateLimits) {
		t.Errorf("%d policies, want %d", len(rl.Policies), len(config.DefaultRateLimits))
	}
	if rl.RedisTimeout != 75*time.Millisecond || rl.ProxyHeader != "X-Forwarded-For" || len(rl.TrustedProxies) != 0 || c.MetricsAddr != "" {
		t.Errorf("defaults: %+v metrics %q", rl, c.MetricsAddr)
	}
	if rl.Weight("export_people_csv") != 10 || rl.Weight("search_people") != 1 {
		t.Errorf("weights: export %d, search %d", rl.Weight("export_people_csv"), rl.Weight("search_people"))
	}
}

func TestRateLimitSettings(t *testing.T) {
	c, err := config.Load([]string{"-rate-limits", "token=5/2s"}, env(map[string]string{
		"CRM_MCP_RATE_LIMITS":              "register=3/1m, mcp_tool=9/30s",
		"CRM_MCP_RATE_LIMIT_REDIS_TIMEOUT": "50ms",
		"CRM_MCP_TRUSTED_PROXIES":          "10.0.0.0/8, 192.0.2.7, 2001:db8::/32",
		"CRM_MCP_TRUSTED_PROXY_HEADER":     "forwarded",
		"CRM_MCP_TOOL_WEIGHTS":             "search_people=3,export*=20",
		"CRM_MCP_METRICS_ADDR":             "127.0.0.1:9100",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rl := c.RateLimit
	// The flag replaces the variable entirely, like every other setting.
	if rl.Policies["token"] != (config.RateLimitPolicy{Limit: 5, Window: 2 * time.Second}) || rl.Policies["register"] != config.DefaultRateLimits["register"] {
		t.Errorf("policies: token %v register %v", rl.Policies["token"], rl.Policies["register"])
	}
	wantProxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32")}
	if len(rl.TrustedProxies) != 3 || rl.TrustedProxies[0] != wantProxies[0] || rl.TrustedProxies[1] != wantProxies[1] || rl.TrustedProxies[2] != wantProxies[2] {
		t.Errorf("proxies %v", rl.TrustedProxies)
	}
	if rl.RedisTimeout != 50*time.Millisecond || rl.ProxyHeader != "Forwarded" || c.MetricsAddr != "127.0.0.1:9100" {
		t.Errorf("got %+v", rl)
	}
	if rl.Weight("search_people") != 3 || rl.Weight("export_x") != 20 || rl.Weight("get_person") != 1 {
		t.Error("weights not applied")
	}
}

func TestRateLimitInvalid(t *testing.T) {
	_, err := config.Load(nil, env(map[string]string{
		"CRM_MCP_RATE_LIMITS":              "tokn=5/1m,token=0/1m,login=5/100ms,consent=5",
		"CRM_MCP_RATE_LIMIT_REDIS_TIMEOUT": "10s",
		"CRM_MCP_TRUSTED_PROXIES":          "not-a-cidr",
		"CRM_MCP_TRUSTED_PROXY_HEADER":     "X-Real-IP",
		"CRM_MCP_TOOL_WEIGHTS":             "a*b=2,export*=0",
		"CRM_MCP_METRICS_ADDR":             "nope",
	}), io.Discard)
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`unknown policy "tokn"`, "token:", "login:", "consent:", "CRM_MCP_RATE_LIMIT_REDIS_TIMEOUT", `"not-a-cidr"`, "X-Real-IP", `"a*b=2"`, `"export*=0"`, "CRM_MCP_METRICS_ADDR"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(ce.Problems) != 10 {
		t.Errorf("%d problems, want 10:\n%s", len(ce.Problems), msg)
	}
}
