package ratelimit

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the limiter's Prometheus series. A nil *Metrics records
// nothing.
type Metrics struct {
	decisions *prometheus.CounterVec
	failures  *prometheus.CounterVec
	fallback  prometheus.Gauge
}

// NewMetrics creates the series and registers them with reg:
//
//   - crm_mcp_ratelimit_decisions_total{policy,result,backend}: result is
//     "allowed" or "limited", backend "redis" or "memory";
//   - crm_mcp_ratelimit_redis_failures_total{reason}: "error" or "timeout";
//   - crm_mcp_ratelimit_fallback_active: 1 while decisions come from memory
//     because Redis failed.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_mcp_ratelimit_decisions_total",
			Help: "Rate-limit decisions by policy, result (allowed, limited) and backend (redis, memory).",
		}, []string{"policy", "result", "backend"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_mcp_ratelimit_redis_failures_total",
			Help: "Redis calls of the rate limiter that failed (error) or exceeded the timeout (timeout); each was answered from memory.",
		}, []string{"reason"}),
		fallback: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crm_mcp_ratelimit_fallback_active",
			Help: "1 while the rate limiter answers from per-instance memory because Redis is failing.",
		}),
	}
	for _, c := range []prometheus.Collector{m.decisions, m.failures, m.fallback} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) decision(d Decision) {
	if m == nil {
		return
	}
	result := "limited"
	if d.Allowed {
		result = "allowed"
	}
	m.decisions.WithLabelValues(d.Policy.Name, result, string(d.Backend)).Inc()
}

func (m *Metrics) redisFailure(reason string) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(reason).Inc()
}

func (m *Metrics) setFallback(on bool) {
	if m == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.fallback.Set(v)
}
