package app

import (
	"errors"

	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/config"
)

// redisTuning is what a component changes on its own Redis client.
type redisTuning struct {
	// noRetries disables go-redis's retries (the rate limiter falls back
	// to memory instead of retrying).
	noRetries bool
}

// newRedisClient returns a client for CRM_MCP_REDIS_URL: a Redis Cluster
// client when CRM_MCP_REDIS_CLUSTER is set (the URL names seed nodes, extra
// ones as addr= parameters; the client discovers the rest and follows
// MOVED/ASK), else a single-node client. Context deadlines are always
// honoured: without ContextTimeoutEnabled a blackholed Redis hangs callers
// until the socket timeouts. The error never repeats the URL (it may hold
// a password).
func newRedisClient(cfg *config.Config, tune redisTuning) (goredis.UniversalClient, error) {
	if cfg.RedisCluster {
		opts, err := goredis.ParseClusterURL(cfg.RedisURL.Reveal())
		if err != nil {
			return nil, errors.New("parse CRM_MCP_REDIS_URL as Redis Cluster seeds: invalid URL")
		}
		opts.ContextTimeoutEnabled = true
		if tune.noRetries {
			opts.MaxRetries = -1
			// MOVED/ASK redirections are followed up to MaxRedirects
			// times regardless; keep them.
		}
		return goredis.NewClusterClient(opts), nil
	}
	opts, err := goredis.ParseURL(cfg.RedisURL.Reveal())
	if err != nil {
		return nil, errors.New("parse CRM_MCP_REDIS_URL: invalid URL")
	}
	opts.ContextTimeoutEnabled = true
	if tune.noRetries {
		opts.MaxRetries = -1
	}
	return goredis.NewClient(opts), nil
}
