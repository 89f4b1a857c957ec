package scim

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Server is the SCIM service of one Clay workspace.
type Server struct {
	cfg     Config
	st      *store
	log     *zap.Logger
	metrics *metrics
	breaker *breaker
	limiter *limiter
	now     func() time.Time

	// mu guards the fields below, and serializes the requests' write
	// transactions with the worker's completions.
	mu          sync.Mutex
	waiters     map[uint64]*waiter
	round       *refreshRound
	rosterAt    time.Time
	rosterErr   error
	rosterErrAt time.Time
	busyOp      string
	busyWhat    string
	busySince   time.Time

	// stopAfter, set by tests, makes the worker stop as a crash would
	// right after it records that a reinvite job reached this step.
	stopAfter jobStep

	depth     atomic.Int64
	running   atomic.Bool
	wake      chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

// New checks cfg, opens the store (creating it on first start) and
// registers the metrics. Run starts the worker; Handler serves requests.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := openStore(cfg.StatePath, cfg.Now())
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		st:      st,
		log:     cfg.Logger.Named("scim"),
		limiter: newLimiter(cfg.RatePerClient, cfg.Burst),
		now:     cfg.Now,
		waiters: map[uint64]*waiter{},
		wake:    make(chan struct{}, 1),
		closed:  make(chan struct{}),
		// the roster a previous process kept answers reads at once; the
		// worker reads it again first thing
		rosterAt: st.rosterAt,
	}
	removals, depth, err := st.removalsAndDepth(cfg.Now().Add(-breakerWindow))
	if err != nil {
		_ = st.close()
		return nil, fmt.Errorf("scim: state store: %w", err)
	}
	s.depth.Store(int64(depth))
	s.breaker = newBreaker(cfg.MaxRemovalsPerHour, removals)
	s.metrics, err = newMetrics(cfg.Registry,
		func() float64 { return float64(s.depth.Load()) },
		func() float64 {
			if open, _ := s.breaker.open(s.now()); open {
				return 1
			}
			return 0
		})
	if err != nil {
		_ = st.close()
		return nil, err
	}
	return s, nil
}

// Close stops the server: requests still waiting are answered 503, and
// the store is closed. Jobs queued or running stay in the store and are
// resumed by the next Run. Cancel Run's context and wait for Run to
// return first for a clean stop.
func (s *Server) Close() error {
	err := ErrClosed
	s.closeOnce.Do(func() {
		close(s.closed)
		err = s.st.close()
	})
	if err != nil {
		return fmt.Errorf("scim: close: %w", err)
	}
	return nil
}

// trip reports that the breaker opened.
func (s *Server) trip(reason string) {
	s.log.Error("removal circuit breaker open", zap.String("reason", reason))
	if s.cfg.OnTrip != nil {
		s.cfg.OnTrip(reason)
	}
}

// Values of Health.Status.
const (
	HealthOK          = "ok"
	HealthUnavailable = "unavailable"
)

// Health is what /healthz reports.
type Health struct {
	// Status is HealthOK, or HealthUnavailable with a Reason.
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
	Workspace string `json:"workspace,omitempty"`
	DryRun    bool   `json:"dry_run"`
	// Worker is true while Run is serving jobs.
	Worker bool `json:"worker"`
	// QueueDepth counts the actions queued or running.
	QueueDepth int `json:"queue_depth"`
	// Busy names what the worker is doing, since BusySince.
	Busy      string    `json:"busy,omitempty"`
	BusySince time.Time `json:"busy_since,omitzero"`
	// RosterReadAt is when the roster was last read successfully.
	RosterReadAt time.Time `json:"roster_read_at,omitzero"`
	// RosterError is the last roster read's failure, when it failed.
	RosterError string `json:"roster_error,omitempty"`
	// BreakerOpen is true while deprovisioning is paused.
	BreakerOpen      bool `json:"breaker_open"`
	RemovalsLastHour int  `json:"removals_last_hour"`

	// busyOp is what Busy does without whom ("offboard").
	busyOp string
	// reasonKind is Reason without names or addresses.
	reasonKind string
}

// Public is the health without whom: what GET /healthz, which needs no
// token, shows. Busy names the operation only, and a failed roster read
// says that it failed, not what it said.
func (h Health) Public() Health {
	h.Busy = h.busyOp
	h.RosterError = ""
	if h.reasonKind != "" {
		h.Reason = h.reasonKind
	}
	return h
}

// OK reports whether the status is healthy.
func (h Health) OK() bool { return h.Status == HealthOK }

// Health returns the service's state. It is unavailable when the server
// is closed, the worker is not running or has been busy with one thing
// for longer than StuckAfter, the breaker is open, the last roster read
// failed, or no roster was ever read (a first start, with an empty store,
// before its first roster read).
func (s *Server) Health() Health {
	now := s.now()
	open, removals := s.breaker.open(now)
	s.mu.Lock()
	h := Health{
		Status:           HealthOK,
		Workspace:        s.cfg.Workspace,
		DryRun:           s.cfg.DryRun,
		Worker:           s.running.Load(),
		QueueDepth:       int(s.depth.Load()),
		Busy:             s.busyWhat,
		busyOp:           s.busyOp,
		BusySince:        s.busySince,
		RosterReadAt:     s.rosterAt,
		BreakerOpen:      open,
		RemovalsLastHour: removals,
	}
	if s.rosterErr != nil {
		h.RosterError = s.rosterErr.Error()
	}
	s.mu.Unlock()
	closed := false
	select {
	case <-s.closed:
		closed = true
	default:
	}
	corrupt := s.st.corruptErr()
	switch {
	case closed:
		h.Reason = "the server is closed"
	case corrupt != nil:
		h.Reason = corrupt.Error()
	case !h.Worker:
		h.Reason = "the worker is not running"
	case h.Busy != "" && now.Sub(h.BusySince) > s.cfg.StuckAfter:
		stuck := func(what string) string {
			return fmt.Sprintf("the worker is stuck: %s has been running for %s", what, now.Sub(h.BusySince).Round(time.Second))
		}
		h.Reason, h.reasonKind = stuck(h.Busy), stuck(h.busyOp)
	case open:
		h.Reason = s.breaker.reason()
	case h.RosterError != "":
		h.Reason = "the last roster read failed: " + h.RosterError
		h.reasonKind = "the last roster read failed"
	case h.RosterReadAt.IsZero():
		// a first start: reads would wait for the roster
		h.Reason = "the first roster read has not finished"
	}
	if h.Reason != "" {
		h.Status = HealthUnavailable
	}
	return h
}
