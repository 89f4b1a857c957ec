package schedule

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricPageControl is 1 for each control of the Team page the last probe
// found, by its hooks and unique, and 0 for each it did not.
const MetricPageControl = "clay_agent_page_control_ok"

// Drift keeps what the last probe of the Team page found: which controls
// the flows need are missing or ambiguous. A Runner given one with
// WithDrift reports drift on /healthz (503, reason "page drift" and the
// controls' names), and Metrics publish each control's state. It is safe
// for concurrent use.
type Drift struct {
	mu      sync.Mutex
	failing map[string]string // control -> what was wrong
	probed  time.Time
	gauge   *prometheus.GaugeVec
}

// NewDrift returns an empty Drift whose control states go on m's registry
// (none when m is nil).
func NewDrift(m *Metrics) (*Drift, error) {
	d := &Drift{failing: map[string]string{}}
	if m == nil {
		return d, nil
	}
	d.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricPageControl,
		Help: "1 when the last probe of the Team page found the control (by its hooks, unique), 0 when it did not.",
	}, []string{"control"})
	if err := m.registry.Register(d.gauge); err != nil {
		return nil, err
	}
	return d, nil
}

// Observe records a probe taken at t: controls maps each control checked to
// whether a flow can rely on it, and detail says what was wrong with those
// that failed. It returns the controls whose drift began and ended with
// this probe, sorted.
func (d *Drift) Observe(t time.Time, controls map[string]bool, detail map[string]string) (began, ended []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.probed = t
	for c, ok := range controls {
		_, was := d.failing[c]
		switch {
		case !ok && !was:
			began = append(began, c)
			d.failing[c] = detail[c]
		case !ok:
			d.failing[c] = detail[c]
		case was:
			ended = append(ended, c)
			delete(d.failing, c)
		}
		if d.gauge != nil {
			v := 0.0
			if ok {
				v = 1
			}
			d.gauge.WithLabelValues(c).Set(v)
		}
	}
	sort.Strings(began)
	sort.Strings(ended)
	return began, ended
}

// Failing returns the controls the last probes found missing or
// ambiguous, sorted.
func (d *Drift) Failing() []string {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.failing))
	for c := range d.failing {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// LastProbe is when the last probe was recorded; zero before the first.
func (d *Drift) LastProbe() time.Time {
	if d == nil {
		return time.Time{}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.probed
}
