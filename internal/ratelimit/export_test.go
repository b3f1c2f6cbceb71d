package ratelimit

import "github.com/prometheus/client_golang/prometheus"

// MemoryCount is the in-memory count of key under policy, -1 if absent.
func (l *Limiter) MemoryCount(policy, key string) int64 {
	l.mem.mu.Lock()
	defer l.mem.mu.Unlock()
	e := l.mem.entries[hashKey(policy, key)]
	if e == nil {
		return -1
	}
	return e.count
}

// RedisKey is the Redis key of key under policy.
func (l *Limiter) RedisKey(policy, key string) string {
	return l.redisKey(policy, hashKey(policy, key))
}

// FallbackGauge is the fallback_active gauge.
func (m *Metrics) FallbackGauge() prometheus.Gauge { return m.fallback }

// Decisions is the decisions counter.
func (m *Metrics) Decisions() *prometheus.CounterVec { return m.decisions }
