package schedule

import (
	"encoding/json"
	"net/http"
	"time"
)

// Values of Status.Status.
const (
	StatusOK      = "ok"
	StatusFailing = "failing"
)

// Status is what /healthz reports.
type Status struct {
	// Status is "ok" when the last run succeeded or none has finished yet,
	// "failing" otherwise.
	Status string `json:"status"`
	// Reason names the last failure, e.g. "login required".
	Reason string `json:"reason,omitempty"`
	// LastError is the last failure's message.
	LastError string `json:"last_error,omitempty"`
	// LastRun is when the last finished run started.
	LastRun time.Time `json:"last_run,omitzero"`
	// LastSuccess is when the last successful run finished.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// NextRun is when the next run is due; zero when not running.
	NextRun time.Time `json:"next_run,omitzero"`
	// Running is true while a run is going on.
	Running bool `json:"running"`
	// MissedRuns counts the runs skipped so far.
	MissedRuns int `json:"missed_runs"`
	// Drift names the controls of the Team page that the last probe found
	// missing or ambiguous: the flows that need them would fail.
	Drift []string `json:"drift,omitempty"`
	// LastProbe is when the Team page's controls were last probed.
	LastProbe time.Time `json:"last_probe,omitzero"`
}

// ReasonDrift is the reason of a status that is failing only because the
// page drifted.
const ReasonDrift = "page drift"

// OK reports whether the status is healthy.
func (s Status) OK() bool { return s.Status != StatusFailing }

// Status returns the current state.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.state
	if s.Status == "" {
		s.Status = StatusOK
	}
	s.LastProbe = r.drift.LastProbe()
	if s.Drift = r.drift.Failing(); len(s.Drift) > 0 {
		if s.Status == StatusOK {
			s.Reason = ReasonDrift
		}
		s.Status = StatusFailing
	}
	return s
}

// Health returns the /healthz handler: 200 with the Status as JSON when
// healthy, 503 when the last run failed or the page drifted.
func (r *Runner) Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s := r.Status()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if s.OK() {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(s)
	})
}

// NewServeMux serves GET /healthz from r and, when m is not nil, GET
// /metrics from m.
func NewServeMux(r *Runner, m *Metrics) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", r.Health())
	if m != nil {
		mux.Handle("GET /metrics", m.Handler())
	}
	return mux
}
