package scim

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names, for dashboards and alerts.
const (
	MetricRequests      = "clay_agent_scim_requests_total"
	MetricQueueDepth    = "clay_agent_scim_queue_depth"
	MetricActionSeconds = "clay_agent_scim_action_seconds"
	MetricBreakerOpen   = "clay_agent_scim_breaker_open"
)

// actionRoster is the op label of roster reads in MetricActionSeconds;
// actions are labelled invite, offboard, set-role and reinvite (the role
// change of a pending invitation, all its steps).
const actionRoster = "roster"

// metrics are the service's Prometheus metrics.
type metrics struct {
	requests *prometheus.CounterVec
	action   *prometheus.HistogramVec
}

// newMetrics registers the metrics on reg; depth and breakerOpen are read
// at each scrape.
func newMetrics(reg *prometheus.Registry, depth, breakerOpen func() float64) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRequests,
			Help: "SCIM requests answered, by operation and HTTP status.",
		}, []string{"op", "status"}),
		action: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricActionSeconds,
			Help:    "Duration of the actions on the workspace (invite, offboard, set-role) and of roster reads, in seconds.",
			Buckets: []float64{0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300},
		}, []string{"op"}),
	}
	collectors := []prometheus.Collector{
		m.requests, m.action,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricQueueDepth,
			Help: "Actions queued or running.",
		}, depth),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricBreakerOpen,
			Help: "1 while deprovisioning is paused by the removal circuit breaker, else 0.",
		}, breakerOpen),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("scim: register metrics: %w", err)
		}
	}
	return m, nil
}
