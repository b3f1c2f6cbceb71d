package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Policy is one named limit: at most Limit units of cost per fixed Window.
type Policy struct {
	// Name identifies the policy in configuration, metrics and the
	// RateLimit-Policy header (e.g. "token", "mcp_user").
	Name string
	// Limit is the budget per window, at least 1.
	Limit int64
	// Window is the fixed window length, at least one millisecond.
	Window time.Duration
}

// Backend says which counter store answered a decision.
type Backend string

// The backends.
const (
	BackendRedis  Backend = "redis"
	BackendMemory Backend = "memory"
)

// Decision is the outcome of one [Limiter.Allow].
type Decision struct {
	// Allowed reports whether the request is within the policy. A refused
	// request consumed nothing.
	Allowed bool
	// Policy is the policy that decided.
	Policy Policy
	// Remaining is the budget left in the current window.
	Remaining int64
	// Reset is the time until the current window ends.
	Reset time.Duration
	// Backend is the counter store that answered.
	Backend Backend
}

// RetryAfter is how long a refused client should wait: until the window
// ends, at least one second. It is zero for an allowed request.
func (d Decision) RetryAfter() time.Duration {
	if d.Allowed {
		return 0
	}
	return max(d.Reset, time.Second)
}

// Defaults of [Options].
const (
	DefaultTimeout          = 75 * time.Millisecond
	DefaultMaxKeys          = 10_000
	DefaultFailureThreshold = 3
	DefaultCoolDown         = 2 * time.Second
	DefaultPrefix           = "crm:rl"
)

// Options configures a [Limiter].
type Options struct {
	// Redis holds the shared counters. If nil, the limiter is memory-only
	// (one process). The client must have ContextTimeoutEnabled, or the
	// timeout below does not bound its calls.
	Redis goredis.UniversalClient
	// Prefix starts every Redis key; it must not contain braces. If empty,
	// defaults to DefaultPrefix.
	Prefix string
	// Timeout bounds every Redis call; past it the decision falls back to
	// memory. If zero, defaults to DefaultTimeout.
	Timeout time.Duration
	// MaxKeys bounds the in-memory limiter. If zero, defaults to
	// DefaultMaxKeys.
	MaxKeys int
	// FailureThreshold is how many consecutive Redis failures open the
	// circuit breaker. If zero, defaults to DefaultFailureThreshold.
	FailureThreshold int
	// CoolDown is how long an open breaker skips Redis before one request
	// probes it again. If zero, defaults to DefaultCoolDown.
	CoolDown time.Duration
	// Now is the clock of the in-memory limiter and the breaker. If nil,
	// time.Now.
	Now func() time.Time
	// Metrics receives decision counts and the fallback state. If nil,
	// nothing is recorded.
	Metrics *Metrics
	// Logger receives the fallback warning, at most once per LogInterval.
	// If nil, nothing is logged.
	Logger *slog.Logger
	// LogInterval rate-limits the fallback log line. If zero, one minute.
	LogInterval time.Duration
}

// Limiter decides requests against policies. It is safe for concurrent use.
type Limiter struct {
	redis     goredis.UniversalClient
	prefix    string
	timeout   time.Duration
	threshold int
	coolDown  time.Duration
	now       func() time.Time
	mem       *memory
	metrics   *Metrics
	logger    *slog.Logger
	logEvery  time.Duration

	mu        sync.Mutex
	failures  int       // consecutive Redis failures
	openUntil time.Time // breaker open until; zero when closed
	probing   bool      // one probe in flight while half-open
	lastLog   time.Time
	fallback  atomic.Bool // the last decision came from memory because Redis failed
}

// New returns a Limiter. It panics if opts.Prefix contains a brace: a
// programmer error found at start.
func New(opts Options) *Limiter {
	if strings.ContainsAny(opts.Prefix, "{}") {
		panic("ratelimit: prefix must not contain braces")
	}
	l := &Limiter{
		redis: opts.Redis, prefix: opts.Prefix, timeout: opts.Timeout, threshold: opts.FailureThreshold,
		coolDown: opts.CoolDown, now: opts.Now, metrics: opts.Metrics, logger: opts.Logger, logEvery: opts.LogInterval,
	}
	if l.prefix == "" {
		l.prefix = DefaultPrefix
	}
	if l.timeout <= 0 {
		l.timeout = DefaultTimeout
	}
	if l.threshold <= 0 {
		l.threshold = DefaultFailureThreshold
	}
	if l.coolDown <= 0 {
		l.coolDown = DefaultCoolDown
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if l.logEvery <= 0 {
		l.logEvery = time.Minute
	}
	maxKeys := opts.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	l.mem = newMemory(maxKeys)
	return l
}

// Allow charges cost units of policy p to key and reports whether the
// request is within the limit. It never fails open: when Redis cannot
// answer within the timeout, this process's in-memory counters decide. A
// cost above p.Limit is always refused.
func (l *Limiter) Allow(ctx context.Context, p Policy, key string, cost int64) Decision {
	if cost < 1 {
		cost = 1
	}
	h := hashKey(p.Name, key)
	if l.redis != nil && l.useRedis() {
		d, err := l.allowRedis(ctx, p, h, cost)
		l.report(err)
		if err == nil {
			l.metrics.decision(d)
			return d
		}
	}
	d := l.mem.allow(p, h, cost, l.now())
	l.metrics.decision(d)
	return d
}

// FallbackActive reports whether Redis is configured and the last decision
// had to be answered from memory.
func (l *Limiter) FallbackActive() bool { return l.fallback.Load() }

// MemoryKeys is the number of keys the in-memory limiter holds.
func (l *Limiter) MemoryKeys() int { return l.mem.len() }

// useRedis is the circuit breaker: closed, every call goes to Redis; open,
// none until the cool-down ends; then exactly one call probes while the
// others keep answering from memory.
func (l *Limiter) useRedis() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.openUntil.IsZero() {
		return true
	}
	if l.probing || l.now().Before(l.openUntil) {
		return false
	}
	l.probing = true
	return true
}

// report feeds one Redis outcome to the breaker, the metrics and the log.
func (l *Limiter) report(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.probing = false
	if err == nil {
		if l.fallback.Swap(false) {
			l.metrics.setFallback(false)
			l.logger.Info("rate limiter back on redis")
		}
		l.failures, l.openUntil = 0, time.Time{}
		return
	}
	l.failures++
	reason := "error"
	if errors.Is(err, context.DeadlineExceeded) {
		reason = "timeout"
	}
	l.metrics.redisFailure(reason)
	if !l.fallback.Swap(true) {
		l.metrics.setFallback(true)
	}
	now := l.now()
	if l.failures >= l.threshold {
		l.openUntil = now.Add(l.coolDown)
	}
	if now.Sub(l.lastLog) >= l.logEvery {
		l.lastLog = now
		// No keys, no error text: the class is enough to act on.
		l.logger.Warn("rate limiter falling back to memory", "class", "ratelimit", "code", "fallback", "reason", reason)
	}
}

// hashKey names a counter without storing the key itself: SHA-256 of the
// policy and key, first 16 bytes.
func hashKey(policy, key string) [16]byte {
	s := sha256.New()
	s.Write([]byte(policy))
	s.Write([]byte{0})
	s.Write([]byte(key))
	var out [16]byte
	copy(out[:], s.Sum(nil))
	return out
}

// redisKey is P:{policy:hexhash}: one hash tag per counter, so the script
// touches one slot in Redis Cluster.
func (l *Limiter) redisKey(policy string, h [16]byte) string {
	return l.prefix + ":{" + policy + ":" + hex.EncodeToString(h[:]) + "}"
}

// allowRedis runs the fixed-window script.
func (l *Limiter) allowRedis(ctx context.Context, p Policy, h [16]byte, cost int64) (Decision, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	res, err := fixedWindow.Run(ctx, l.redis, []string{l.redisKey(p.Name, h)}, p.Window.Milliseconds(), p.Limit, cost).Int64Slice()
	if err != nil {
		return Decision{}, err
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("rate limit script: %d values", len(res))
	}
	return Decision{
		Allowed:   res[0] == 1,
		Policy:    p,
		Remaining: max(p.Limit-res[1], 0),
		Reset:     time.Duration(res[2]) * time.Millisecond,
		Backend:   BackendRedis,
	}, nil
}

// fixedWindow charges ARGV[3] to the fixed window of ARGV[1] ms containing
// Redis's own time, within the limit ARGV[2]. The counter is a hash {w:
// window start, c: count} that expires when its window ends; a refused
// request writes nothing. Returns {allowed, count, ms until the window ends}.
// Redis ≥ 5 replicates the script's effects, so reading TIME before a write
// is allowed.
var fixedWindow = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local win = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local start = now - (now % win)
local reset = start + win - now
local v = redis.call('HMGET', KEYS[1], 'w', 'c')
local count = 0
if tonumber(v[1]) == start then count = tonumber(v[2]) or 0 end
if count + cost > limit then
  return {0, count, reset}
end
count = count + cost
redis.call('HSET', KEYS[1], 'w', start, 'c', count)
redis.call('PEXPIRE', KEYS[1], reset)
return {1, count, reset}
`)
