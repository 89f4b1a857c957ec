package schedule

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/clay-agent/clay-agent/agent/snapshot"
)

// Metric names, for dashboards and alerts.
const (
	MetricRuns            = "clay_agent_snapshot_runs_total"
	MetricFailures        = "clay_agent_snapshot_failures_total"
	MetricLastSuccess     = "clay_agent_snapshot_last_success_timestamp_seconds"
	MetricMembers         = "clay_agent_members"
	MetricInvitations     = "clay_agent_invitations"
	MetricDuration        = "clay_agent_snapshot_duration_seconds"
	MetricMissed          = "clay_agent_snapshot_missed_runs_total"
	MetricWebhookFailures = "clay_agent_webhook_failures_total"
	MetricAuditRecords    = "clay_agent_audit_records"
	MetricAuditHead       = "clay_agent_audit_head_info"
	MetricAuditFailures   = "clay_agent_audit_check_failures_total"
)

// Metrics are the Prometheus metrics of scheduled snapshots. They live on
// their own registry, not the global one.
type Metrics struct {
	registry        *prometheus.Registry
	runs            prometheus.Counter
	failures        *prometheus.CounterVec
	lastSuccess     prometheus.Gauge
	members         prometheus.Gauge
	invitations     prometheus.Gauge
	duration        prometheus.Histogram
	missed          prometheus.Counter
	webhookFailures prometheus.Counter
	auditRecords    prometheus.Gauge
	auditHead       *prometheus.GaugeVec
	auditFailures   prometheus.Counter
}

// NewMetrics registers the metrics on reg; a nil reg gets a new registry.
// It fails if reg already holds metrics of the same names.
func NewMetrics(reg *prometheus.Registry) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		registry: reg,
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricRuns,
			Help: "Scheduled snapshot runs that finished, successful or not.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricFailures,
			Help: "Scheduled snapshot runs that failed, by reason.",
		}, []string{"reason"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricLastSuccess,
			Help: "Unix time at which the last successful snapshot finished.",
		}),
		members: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricMembers,
			Help: "Members of the workspace in the last successful snapshot.",
		}),
		invitations: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricInvitations,
			Help: "Pending invitations in the last successful snapshot.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    MetricDuration,
			Help:    "Duration of snapshot runs in seconds.",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600},
		}),
		missed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricMissed,
			Help: "Scheduled runs skipped because the previous run was still going or the process was not awake.",
		}),
		webhookFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricWebhookFailures,
			Help: "Snapshots whose changes could not be posted to the webhook.",
		}),
		auditRecords: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricAuditRecords,
			Help: "Records in the audit log's hash chain, as of the last successful snapshot that could read it.",
		}),
		auditHead: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricAuditHead,
			Help: "Always 1, with the audit log's head (the chain hash of its last line) as of the last successful snapshot; absent when the log was missing or did not verify.",
		}, []string{"head"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricAuditFailures,
			Help: "Snapshots for which the audit log could not be read or did not verify.",
		}),
	}
	for _, c := range []prometheus.Collector{
		m.runs, m.failures, m.lastSuccess, m.members, m.invitations, m.duration, m.missed, m.webhookFailures,
		m.auditRecords, m.auditHead, m.auditFailures,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("schedule: register metrics: %w", err)
		}
	}
	return m, nil
}

// Registry returns the registry the metrics are on, so that callers can
// add collectors of their own (e.g. collectors.NewGoCollector).
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// observe records a finished run. A nil m records nothing.
func (m *Metrics) observe(end time.Time, took time.Duration, res *snapshot.Result, err error, reason string) {
	if m == nil {
		return
	}
	m.runs.Inc()
	m.duration.Observe(took.Seconds())
	if err != nil {
		m.failures.WithLabelValues(reason).Inc()
		return
	}
	m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	if res != nil && res.Roster != nil {
		m.members.Set(float64(len(res.Roster.Members)))
		m.invitations.Set(float64(len(res.Roster.Invitations)))
	}
	if res != nil && res.WebhookErr != nil {
		m.webhookFailures.Inc()
	}
	if res != nil {
		m.observeAudit(res.Audit)
	}
}

// observeAudit publishes the audit log's head of a successful run,
// replacing the one before: none when the log was missing (h is nil) or
// could not be checked.
func (m *Metrics) observeAudit(h *snapshot.AuditHead) {
	m.auditHead.Reset()
	switch {
	case h == nil:
	case h.Error != "":
		m.auditFailures.Inc()
	default:
		m.auditRecords.Set(float64(h.Records))
		m.auditHead.WithLabelValues(h.Head).Set(1)
	}
}

// observeMissed counts skipped runs. A nil m records nothing.
func (m *Metrics) observeMissed(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.missed.Add(float64(n))
}
