package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/authserver"
	"github.com/crm-mcp/crm-mcp/internal/clientip"
	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/ratelimit"
	"github.com/crm-mcp/crm-mcp/internal/tenant"
)

// The /mcp policies (the authorization server's are authserver.AuthPolicies).
const (
	policyMCPUser   = "mcp_user"   // every POST /mcp, per user: HTTP 429
	policyMCPTenant = "mcp_tenant" // tool calls by weight, per tenant: tool error
	policyMCPTool   = "mcp_tool"   // tool calls by weight, per (user, tool): tool error
)

// rateLimiting is the process's rate limiting: one limiter (Redis with the
// in-memory fallback, or memory only without CRM_MCP_REDIS_URL) for every
// policy, the client-IP resolver, and the Prometheus registry.
type rateLimiting struct {
	limiter  *ratelimit.Limiter
	policies map[string]ratelimit.Policy
	resolver *clientip.Resolver
	cfg      config.RateLimit
	registry *prometheus.Registry
	client   goredis.UniversalClient // nil when memory-only
	metrics  *http.Server            // nil unless CRM_MCP_METRICS_ADDR
}

func newRateLimiting(cfg *config.Config, logger *slog.Logger) (_ *rateLimiting, err error) {
	rl := &rateLimiting{cfg: cfg.RateLimit, registry: prometheus.NewRegistry(), policies: map[string]ratelimit.Policy{}}
	for name, p := range cfg.RateLimit.Policies {
		rl.policies[name] = ratelimit.Policy{Name: name, Limit: p.Limit, Window: p.Window}
	}
	rl.resolver, err = clientip.New(cfg.RateLimit.TrustedProxies, clientip.Header(cfg.RateLimit.ProxyHeader))
	if err != nil {
		return nil, err
	}
	m, err := ratelimit.NewMetrics(rl.registry)
	if err != nil {
		return nil, err
	}
	opts := ratelimit.Options{Timeout: cfg.RateLimit.RedisTimeout, Metrics: m, Logger: logger}
	if cfg.RedisURL != "" {
		client, err := newRedisClient(cfg, redisTuning{noRetries: true})
		if err != nil {
			return nil, err
		}
		// The limiter's own client: every call bounded by the limiter's
		// short timeout (which needs ContextTimeoutEnabled), no retries
		// (a retry is the fallback's job), so a dead Redis costs one
		// timeout per request until the breaker opens.
		rl.client = client
		opts.Redis = rl.client
	}
	rl.limiter = ratelimit.New(opts)
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			rl.close()
			return nil, errors.New("listen on CRM_MCP_METRICS_ADDR: address unavailable")
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", rl.metricsHandler())
		rl.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
		go func() { _ = rl.metrics.Serve(ln) }()
	}
	return rl, nil
}

// metricsHandler serves the rate-limit metrics in the Prometheus format.
func (rl *rateLimiting) metricsHandler() http.Handler {
	return promhttp.HandlerFor(rl.registry, promhttp.HandlerOpts{})
}

func (rl *rateLimiting) close() error {
	var errs []error
	if rl.metrics != nil {
		errs = append(errs, rl.metrics.Close())
	}
	if rl.client != nil {
		errs = append(errs, rl.client.Close())
	}
	return errors.Join(errs...)
}

// auth is the authorization server's share.
func (rl *rateLimiting) auth() *authserver.RateLimits {
	return &authserver.RateLimits{Limiter: rl.limiter, Policies: rl.policies, ClientKey: rl.resolver.Key}
}

// mcpRequest is mcpserver.Options.RequestLimit: per user (hosted clients
// share egress IPs, so an IP key would lock out every user of a client);
// without a principal, per client IP.
func (rl *rateLimiting) mcpRequest(r *http.Request, h http.Header) (bool, time.Duration) {
	key := "ip\x00" + rl.resolver.Key(r)
	if p, ok := tenant.FromContext(r.Context()); ok {
		key = "user\x00" + p.TenantID + "\x00" + p.UserID
	}
	d := rl.limiter.Allow(r.Context(), rl.policies[policyMCPUser], key, 1)
	if !d.Allowed {
		ratelimit.SetHeaders(h, d)
	}
	return d.Allowed, d.RetryAfter()
}

// mcpTool is mcpserver.Options.ToolLimit: the call's weight (exports cost
// more) against the user's budget for this tool, then the tenant's.
func (rl *rateLimiting) mcpTool(ctx context.Context, tool string) (bool, time.Duration) {
	p, ok := tenant.FromContext(ctx)
	if !ok {
		return true, 0 // /mcp is behind bearer auth: only tests reach this
	}
	w := rl.cfg.Weight(tool)
	d := rl.limiter.Allow(ctx, rl.policies[policyMCPTool], p.TenantID+"\x00"+p.UserID+"\x00"+tool, w)
	if !d.Allowed {
		return false, d.RetryAfter()
	}
	d = rl.limiter.Allow(ctx, rl.policies[policyMCPTenant], p.TenantID, w)
	return d.Allowed, d.RetryAfter()
}
