package config

import (
	"flag"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RateLimitPolicy is one fixed-window limit: Limit units per Window.
type RateLimitPolicy struct {
	Limit  int64
	Window time.Duration
}

func (p RateLimitPolicy) String() string {
	return strconv.FormatInt(p.Limit, 10) + "/" + p.Window.String()
}

// ToolWeight is the cost of one call of the tools matching Pattern: a tool
// name, or a prefix ending in "*".
type ToolWeight struct {
	Pattern string
	Weight  int64
}

// RateLimit configures rate limiting.
type RateLimit struct {
	// Policies by name; every name in DefaultRateLimits is present.
	Policies map[string]RateLimitPolicy
	// RedisTimeout bounds each limiter call to Redis; past it the limiter
	// answers from per-instance memory. Default 75 ms.
	RedisTimeout time.Duration
	// TrustedProxies are the proxies whose forwarding header is believed.
	TrustedProxies []netip.Prefix
	// ProxyHeader is the header they write: X-Forwarded-For or Forwarded.
	ProxyHeader string
	// ToolWeights price tool calls; the first match wins, others cost 1.
	ToolWeights []ToolWeight
}

// DefaultRateLimits are the policies and their defaults (see README). The
// auth endpoints are keyed by client IP; token_client by client_id,
// login_account by (IP, account), mcp_user by user, mcp_tenant by tenant,
// mcp_tool by (user, tool).
var DefaultRateLimits = map[string]RateLimitPolicy{
	"register":      {20, time.Hour},
	"authorize":     {50, 15 * time.Minute},
	"token":         {50, 15 * time.Minute},
	"token_client":  {1000, 15 * time.Minute},
	"revoke":        {50, 15 * time.Minute},
	"login":         {50, 15 * time.Minute},
	"login_account": {10, 15 * time.Minute},
	"consent":       {50, 15 * time.Minute},
	"mcp_user":      {600, time.Minute},
	"mcp_tenant":    {6000, time.Minute},
	"mcp_tool":      {120, time.Minute},
}

// DefaultToolWeights makes exports cost ten calls.
const DefaultToolWeights = "export*=10"

// Weight is the cost of one call of tool.
func (r RateLimit) Weight(tool string) int64 {
	for _, w := range r.ToolWeights {
		if p, ok := strings.CutSuffix(w.Pattern, "*"); ok && strings.HasPrefix(tool, p) || w.Pattern == tool {
			return w.Weight
		}
	}
	return 1
}

// rateLimitFlags holds the raw rate-limit settings between flag parsing and
// validation.
type rateLimitFlags struct {
	limits, proxies, header, weights, metrics *string
	timeout                                   *time.Duration
}

func addRateLimitFlags(fs *flag.FlagSet, l *loader) *rateLimitFlags {
	return &rateLimitFlags{
		limits:  fs.String("rate-limits", l.env("CRM_MCP_RATE_LIMITS", ""), "policy overrides name=N/duration,... e.g. token=50/15m (CRM_MCP_RATE_LIMITS)"),
		timeout: fs.Duration("rate-limit-redis-timeout", l.dur("CRM_MCP_RATE_LIMIT_REDIS_TIMEOUT", 75*time.Millisecond), "bound on each limiter call to Redis before the in-memory fallback answers (CRM_MCP_RATE_LIMIT_REDIS_TIMEOUT)"),
		proxies: fs.String("trusted-proxies", l.env("CRM_MCP_TRUSTED_PROXIES", ""), "comma-separated proxy CIDRs whose forwarding header is trusted (CRM_MCP_TRUSTED_PROXIES)"),
		header:  fs.String("trusted-proxy-header", l.env("CRM_MCP_TRUSTED_PROXY_HEADER", "X-Forwarded-For"), "header the trusted proxies append to: X-Forwarded-For or Forwarded (CRM_MCP_TRUSTED_PROXY_HEADER)"),
		weights: fs.String("tool-weights", l.env("CRM_MCP_TOOL_WEIGHTS", DefaultToolWeights), "tool call costs pattern=N,... (prefix* allowed) (CRM_MCP_TOOL_WEIGHTS)"),
		metrics: fs.String("metrics-addr", l.env("CRM_MCP_METRICS_ADDR", ""), "listen address of the Prometheus /metrics listener; empty = off (CRM_MCP_METRICS_ADDR)"),
	}
}

// finish validates the raw settings into c.
func (f *rateLimitFlags) finish(c *Config) []error {
	var errs []error
	rl := RateLimit{Policies: maps.Clone(DefaultRateLimits), RedisTimeout: *f.timeout}
	for _, item := range splitList(*f.limits) {
		name, spec, _ := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if _, known := DefaultRateLimits[name]; !known {
			errs = append(errs, fmt.Errorf("CRM_MCP_RATE_LIMITS: unknown policy %q (known: %s)", name, strings.Join(slices.Sorted(maps.Keys(DefaultRateLimits)), ", ")))
			continue
		}
		p, err := parsePolicy(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("CRM_MCP_RATE_LIMITS: %s: %w", name, err))
			continue
		}
		rl.Policies[name] = p
	}
	if rl.RedisTimeout < time.Millisecond || rl.RedisTimeout > 5*time.Second {
		errs = append(errs, fmt.Errorf("CRM_MCP_RATE_LIMIT_REDIS_TIMEOUT: %s is outside 1ms–5s", rl.RedisTimeout))
	}
	for _, s := range splitList(*f.proxies) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("CRM_MCP_TRUSTED_PROXIES: %q is not an address or CIDR", s))
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		rl.TrustedProxies = append(rl.TrustedProxies, p.Masked())
	}
	switch strings.ToLower(*f.header) {
	case "x-forwarded-for":
		rl.ProxyHeader = "X-Forwarded-For"
	case "forwarded":
		rl.ProxyHeader = "Forwarded"
	default:
		errs = append(errs, fmt.Errorf("CRM_MCP_TRUSTED_PROXY_HEADER: %q is not X-Forwarded-For or Forwarded", *f.header))
	}
	for _, item := range splitList(*f.weights) {
		pat, n, _ := strings.Cut(item, "=")
		w, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		pat = strings.TrimSpace(pat)
		if err != nil || w < 1 || w > 1000 || pat == "" || strings.Contains(strings.TrimSuffix(pat, "*"), "*") {
			errs = append(errs, fmt.Errorf("CRM_MCP_TOOL_WEIGHTS: %q is not name=N or prefix*=N with N in 1–1000", item))
			continue
		}
		rl.ToolWeights = append(rl.ToolWeights, ToolWeight{Pattern: pat, Weight: w})
	}
	c.RateLimit = rl
	c.MetricsAddr = *f.metrics
	if c.MetricsAddr != "" {
		errs = append(errs, validateAddr("CRM_MCP_METRICS_ADDR", c.MetricsAddr)...)
	}
	return errs
}

// parsePolicy parses "N/duration", e.g. "50/15m".
func parsePolicy(spec string) (RateLimitPolicy, error) {
	n, d, ok := strings.Cut(strings.TrimSpace(spec), "/")
	limit, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || limit < 1 {
		return RateLimitPolicy{}, fmt.Errorf("%q is not N/duration with N ≥ 1 (e.g. 50/15m)", spec)
	}
	window, err := time.ParseDuration(d)
	if err != nil || window < time.Second || window > 24*time.Hour {
		return RateLimitPolicy{}, fmt.Errorf("%q: the window must be a duration in 1s–24h", spec)
	}
	return RateLimitPolicy{Limit: limit, Window: window}, nil
}
