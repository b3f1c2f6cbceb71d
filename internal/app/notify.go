package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/crm-mcp/crm-mcp/internal/config"
	"github.com/crm-mcp/crm-mcp/internal/mcpserver"
	"github.com/crm-mcp/crm-mcp/internal/notify"
)

// toolsFingerprintKey records the fingerprint of the tool set the last
// started instance served (hash-tagged like the state store's keys).
const toolsFingerprintKey = "crm:{notify}:tools-fingerprint"

// notifier is the app's notification machinery: the hub of this
// instance's streams and the bus that fans events out (Redis pub/sub when
// CRM_MCP_REDIS_URL is set, else in process).
type notifier struct {
	cfg    config.Notify
	hub    *notify.Hub
	bus    notify.Bus
	redis  goredis.UniversalClient // nil in memory mode
	logger *slog.Logger
}

func newNotifier(cfg *config.Config, logger *slog.Logger) (*notifier, error) {
	n := &notifier{
		cfg:    cfg.Notify,
		hub:    notify.NewHub(notify.HubOptions{MaxPerUser: cfg.Notify.MaxPerUser, MaxStreams: cfg.Notify.MaxStreams}),
		logger: logger,
	}
	if cfg.RedisURL == "" {
		n.bus = notify.NewLocal(n.hub)
		return n, nil
	}
	client, err := newRedisClient(cfg, redisTuning{})
	if err != nil {
		return nil, err
	}
	n.redis = client
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bus, err := notify.NewRedisBus(ctx, n.redis, n.hub, notify.RedisOptions{Logger: logger})
	if err != nil {
		_ = n.redis.Close()
		return nil, errors.New("subscribe to notifications in Redis: unreachable or refused (check CRM_MCP_REDIS_URL)")
	}
	n.bus = bus
	return n, nil
}

// streamOptions configures mcpserver's notification streams.
func (n *notifier) streamOptions(revocations mcpserver.RevocationChecker, now func() time.Time) *mcpserver.StreamOptions {
	return &mcpserver.StreamOptions{
		Hub:          n.hub,
		Heartbeat:    n.cfg.Heartbeat,
		WriteTimeout: n.cfg.WriteTimeout,
		Retry:        n.cfg.Retry,
		Revocations:  revocations,
		Now:          now,
	}
}

// announceToolSet is what publishes in production: at start, the instance
// compares the fingerprint of its tool set with the one the previous
// instance recorded in Redis and, if it differs (a deploy added or changed
// tools), publishes a global tools/list_changed, so that clients holding
// streams on the instances still running refetch. In memory mode there is
// one process: a restart drops every stream and each reconnect starts with
// list_changed anyway.
func (n *notifier) announceToolSet(ctx context.Context, srv *mcp.Server) error {
	if n.redis == nil {
		return nil
	}
	fp, err := toolsFingerprint(ctx, srv)
	if err != nil {
		return err
	}
	prev, err := n.redis.SetArgs(ctx, toolsFingerprintKey, fp, goredis.SetArgs{Get: true, TTL: 30 * 24 * time.Hour}).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("record tool set fingerprint: %w", err)
	}
	if prev == fp || errors.Is(err, goredis.Nil) {
		return nil
	}
	n.logger.Info("tool set changed since the last start; announcing tools/list_changed")
	return n.bus.Publish(ctx, "", notify.ToolsListChanged)
}

// toolsFingerprint hashes the tool list as clients see it (names,
// descriptions, schemas, annotations), read through an in-memory session.
func toolsFingerprint(ctx context.Context, srv *mcp.Server) (string, error) {
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		return "", fmt.Errorf("fingerprint tools: %w", err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "crm-mcp-fingerprint", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		return "", fmt.Errorf("fingerprint tools: %w", err)
	}
	defer cs.Close()
	h := sha256.New()
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return "", fmt.Errorf("fingerprint tools: %w", err)
		}
		b, err := json.Marshal(tool)
		if err != nil {
			return "", fmt.Errorf("fingerprint tools: %w", err)
		}
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// closeStreams tells every stream to reconnect later (retry with jitter)
// and waits for them, so that http.Server.Shutdown, which waits for active
// handlers, is not held up by streams that never end on their own.
func (n *notifier) closeStreams(ctx context.Context) {
	if err := n.hub.Shutdown(ctx); err != nil {
		n.logger.Warn("notification streams still open at the drain bound", "open", n.hub.Active())
	}
}

func (n *notifier) close() error {
	err := n.bus.Close()
	if n.redis != nil {
		err = errors.Join(err, n.redis.Close())
	}
	return err
}

// Notifier publishes notification events to the streams of every instance:
// Publish(ctx, tenantID, notify.ToolsListChanged) reaches the streams of
// that tenant, or every stream with tenantID "".
func (a *App) Notifier() notify.Publisher { return a.notify.bus }

// Streams returns the hub of this instance's notification streams, for
// gauges and tests.
func (a *App) Streams() *notify.Hub { return a.notify.hub }

// announceToolSet runs [notifier.announceToolSet] bounded in time.
func (a *App) announceToolSet() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return a.notify.announceToolSet(ctx, a.mcp.MCP())
}
