package config

import (
	"flag"
	"fmt"
	"log/slog"
	"time"
)

// Notify configures the notification streams (GET /mcp and
// subscriptions/listen).
type Notify struct {
	// Heartbeat is the interval of the ": ping" comment on idle streams
	// (proxies cut connections silent for 30–60 s). Default 25s.
	Heartbeat time.Duration
	// WriteTimeout bounds each write to a stream; a client that stops
	// reading is dropped. Default 10s.
	WriteTimeout time.Duration
	// Retry is the reconnect delay announced on shutdown (plus a jitter
	// of up to the same again). Default 2s.
	Retry time.Duration
	// MaxPerUser caps one user's streams per instance (429 beyond).
	// Default 5.
	MaxPerUser int
	// MaxStreams caps the streams of one instance (503 beyond). Default
	// 10000; each idle stream holds a file descriptor and ~10 KB.
	MaxStreams int
}

// bindNotify registers the notification flags on fs; the returned function
// validates the parsed values.
func bindNotify(fs *flag.FlagSet, l *loader, n *Notify) func() []error {
	fs.DurationVar(&n.Heartbeat, "sse-heartbeat", l.dur("CRM_MCP_SSE_HEARTBEAT", 25*time.Second), "heartbeat interval of notification streams (CRM_MCP_SSE_HEARTBEAT)")
	fs.DurationVar(&n.WriteTimeout, "sse-write-timeout", l.dur("CRM_MCP_SSE_WRITE_TIMEOUT", 10*time.Second), "per-write deadline on notification streams (CRM_MCP_SSE_WRITE_TIMEOUT)")
	fs.DurationVar(&n.Retry, "sse-retry", l.dur("CRM_MCP_SSE_RETRY", 2*time.Second), "reconnect delay sent on shutdown, plus jitter up to the same (CRM_MCP_SSE_RETRY)")
	perUser := fs.Int64("sse-max-per-user", l.integer("CRM_MCP_SSE_MAX_PER_USER", 5), "notification streams per user per instance (CRM_MCP_SSE_MAX_PER_USER)")
	total := fs.Int64("sse-max-streams", l.integer("CRM_MCP_SSE_MAX_STREAMS", 10_000), "notification streams per instance (CRM_MCP_SSE_MAX_STREAMS)")
	return func() []error {
		var errs []error
		n.MaxPerUser, n.MaxStreams = int(*perUser), int(*total)
		if *perUser < 1 || *perUser > 1000 {
			errs = append(errs, fmt.Errorf("CRM_MCP_SSE_MAX_PER_USER: %d is outside 1–1000", *perUser))
		}
		if *total < 1 || *total > 1_000_000 {
			errs = append(errs, fmt.Errorf("CRM_MCP_SSE_MAX_STREAMS: %d is outside 1–1000000", *total))
		}
		// Heartbeats above 30 s let common proxies (nginx 60 s, ALB 60 s)
		// cut quiet streams; allowed, but 10ms–10m bounds typos.
		for _, d := range []namedDuration{
			{"CRM_MCP_SSE_HEARTBEAT", n.Heartbeat},
			{"CRM_MCP_SSE_WRITE_TIMEOUT", n.WriteTimeout},
			{"CRM_MCP_SSE_RETRY", n.Retry},
		} {
			if d.d < 10*time.Millisecond || d.d > 10*time.Minute {
				errs = append(errs, fmt.Errorf("%s: %s is outside 10ms–10m", d.name, d.d))
			}
		}
		return errs
	}
}

// LogValue implements slog.LogValuer.
func (n Notify) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Duration("heartbeat", n.Heartbeat),
		slog.Duration("write_timeout", n.WriteTimeout),
		slog.Duration("retry", n.Retry),
		slog.Int("max_per_user", n.MaxPerUser),
		slog.Int("max_streams", n.MaxStreams),
	)
}
