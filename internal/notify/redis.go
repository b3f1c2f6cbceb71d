package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultChannel is the Redis pub/sub channel events travel on.
const DefaultChannel = "crm:notify"

// maxPayload bounds what a subscriber decodes: anyone able to PUBLISH on
// the channel could otherwise make every instance parse megabytes.
const maxPayload = 512

// RedisOptions configures a [RedisBus].
type RedisOptions struct {
	// Channel is the pub/sub channel. If empty, defaults to DefaultChannel.
	Channel string
	// PingEvery is how long the subscription may stay silent before it is
	// probed with a PING; a probe without an answer within another
	// PingEvery reconnects. If zero, defaults to 30s.
	PingEvery time.Duration
	// Logger receives connection problems (never payloads). If nil,
	// discards.
	Logger *slog.Logger
}

// RedisBus fans events out to every instance through Redis pub/sub. Each
// instance subscribes once and delivers what it receives to its own hub,
// including its own events (one delivery path).
//
// When the subscription is re-established after a connection loss, events
// published meanwhile are lost; the bus then delivers a global
// ToolsListChanged locally, so that clients refetch rather than stay stale.
type RedisBus struct {
	client  goredis.UniversalClient
	hub     *Hub
	channel string
	every   time.Duration
	logger  *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu sync.Mutex
	ps *goredis.PubSub // the current subscription; closed to unblock run
}

var _ Bus = (*RedisBus)(nil)

// wire is an event on the channel.
type wire struct {
	V      int    `json:"v"`
	Tenant string `json:"tenant"`
	Kind   string `json:"kind"`
}

// NewRedisBus subscribes to the channel and starts delivering to hub. It
// fails if the subscription cannot be confirmed before ctx ends. The client
// is not closed by the bus.
func NewRedisBus(ctx context.Context, client goredis.UniversalClient, hub *Hub, opts RedisOptions) (*RedisBus, error) {
	if opts.Channel == "" {
		opts.Channel = DefaultChannel
	}
	if opts.PingEvery <= 0 {
		opts.PingEvery = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ps := client.Subscribe(ctx, opts.Channel)
	if _, err := ps.ReceiveTimeout(ctx, 5*time.Second); err != nil { // the subscribe confirmation
		_ = ps.Close()
		return nil, fmt.Errorf("subscribe to notifications: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b := &RedisBus{client: client, hub: hub, channel: opts.Channel, every: opts.PingEvery,
		logger: opts.Logger, cancel: cancel, done: make(chan struct{}), ps: ps}
	go b.run(runCtx)
	return b, nil
}

// Publish implements [Publisher].
func (b *RedisBus) Publish(ctx context.Context, tenantID string, k Kind) error {
	msg, err := json.Marshal(wire{V: 1, Tenant: tenantID, Kind: k.String()})
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	if err := b.client.Publish(ctx, b.channel, msg).Err(); err != nil {
		return fmt.Errorf("publish notification: %w", err)
	}
	return nil
}

// Close implements [Bus]: it stops the subscriber and waits for it.
func (b *RedisBus) Close() error {
	b.once.Do(func() {
		b.cancel()
		b.mu.Lock()
		_ = b.ps.Close() // a blocked receive does not watch the context
		b.mu.Unlock()
		<-b.done
	})
	return nil
}

func (b *RedisBus) run(ctx context.Context) {
	defer close(b.done)
	b.mu.Lock()
	ps := b.ps
	b.mu.Unlock()
	confirmed := true // NewRedisBus consumed the first confirmation
	probing := false
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.every)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !probing {
				// Quiet channel: probe, so a half-open connection is noticed.
				probing = true
				_ = ps.Ping(ctx)
				continue
			}
			// A broken or silent connection: start over. go-redis
			// resubscribes on the next receive.
			b.logger.Warn("notification subscription lost; reconnecting", "err_type", fmt.Sprintf("%T", err))
			if probing {
				b.mu.Lock()
				_ = ps.Close()
				if ctx.Err() != nil {
					b.mu.Unlock()
					return
				}
				ps = b.client.Subscribe(ctx, b.channel)
				b.ps = ps
				b.mu.Unlock()
			}
			confirmed, probing = false, false
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		probing = false
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" && !confirmed {
				// Re-subscribed after a loss: whatever was published in
				// between is gone, so tell every client to refetch.
				b.hub.Deliver("", ToolsListChanged)
				b.logger.Info("notification subscription restored")
			}
			confirmed, backoff = true, 50*time.Millisecond
		case *goredis.Message:
			b.deliver(m.Payload)
		}
	}
}

func (b *RedisBus) deliver(payload string) {
	var w wire
	if len(payload) > maxPayload || json.Unmarshal([]byte(payload), &w) != nil || w.V != 1 {
		b.logger.Warn("notification ignored: malformed payload", "bytes", len(payload))
		return
	}
	if k := parseKind(w.Kind); k != 0 {
		b.hub.Deliver(w.Tenant, k)
	}
}
