package schedule

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/snapshot"
)

// DefaultGracePeriod is how long Run lets a running snapshot finish after
// shutdown was asked for, before it cancels the snapshot's context.
const DefaultGracePeriod = 20 * time.Second

// maxWait is the longest the runner sleeps before it looks at the wall
// clock again. Timers follow a clock that stops while the machine is
// suspended; the wall clock does not.
const maxWait = time.Minute

// maxMissedCount bounds the count of due times skipped while the process
// was not awake; beyond it the count is a lower bound.
const maxMissedCount = 100_000

// ErrAlreadyRunning is returned by Run when the Runner is already running
// or has run.
var ErrAlreadyRunning = errors.New("runner already started")

// ErrRunAbandoned is returned by Run when, at shutdown, the running
// snapshot did not finish within the grace period and its context was
// cancelled: the shutdown was orderly, but a snapshot was lost.
var ErrRunAbandoned = errors.New("the running snapshot was cancelled at shutdown")

// Job takes one snapshot.
type Job func(ctx context.Context) (*snapshot.Result, error)

// Classifier names the reason for a failure, for /healthz and the
// failures metric: "login required", "page changed" and the like. Keep the
// set of names small; each is a metric label value.
type Classifier func(error) string

// DefaultClassifier says "cancelled" for a cancelled context, "timeout"
// for an expired one, and "error" for anything else.
func DefaultClassifier(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "error"
	}
}

// Option configures a Runner.
type Option func(*Runner)

// WithClock sets the clock; the default is RealClock.
func WithClock(c Clock) Option {
	return func(r *Runner) {
		if c != nil {
			r.clock = c
		}
	}
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *zap.Logger) Option {
	return func(r *Runner) {
		if l != nil {
			r.log = l
		}
	}
}

// WithMetrics records every run in m.
func WithMetrics(m *Metrics) Option {
	return func(r *Runner) { r.metrics = m }
}

// WithClassifier sets how failures are named. An empty name from c becomes
// DefaultClassifier's.
func WithClassifier(c Classifier) Option {
	return func(r *Runner) {
		if c != nil {
			r.classify = c
		}
	}
}

// WithGracePeriod sets how long a running snapshot may go on after Run's
// context is cancelled before its own context is cancelled. Zero cancels
// it at once.
func WithGracePeriod(d time.Duration) Option {
	return func(r *Runner) { r.grace = max(d, 0) }
}

// WithRunTimeout bounds each run; zero (the default) means no bound.
func WithRunTimeout(d time.Duration) Option {
	return func(r *Runner) { r.timeout = max(d, 0) }
}

// WithRunOnStart makes Run take a snapshot as soon as it starts, besides
// those on the schedule.
func WithRunOnStart(on bool) Option {
	return func(r *Runner) { r.runOnStart = on }
}

// WithDrift makes the Runner's status report the page drift d holds.
func WithDrift(d *Drift) Option {
	return func(r *Runner) { r.drift = d }
}

// Runner runs a Job on a Schedule, one run at a time, and keeps the state
// that /healthz reports.
type Runner struct {
	sched      Schedule
	job        Job
	clock      Clock
	log        *zap.Logger
	metrics    *Metrics
	classify   Classifier
	grace      time.Duration
	timeout    time.Duration
	runOnStart bool
	drift      *Drift

	started atomic.Bool
	mu      sync.Mutex
	running bool
	state   Status
}

// NewRunner returns a Runner for job on sched.
func NewRunner(sched Schedule, job Job, opts ...Option) *Runner {
	r := &Runner{
		sched:    sched,
		job:      job,
		clock:    RealClock{},
		log:      zap.NewNop(),
		classify: DefaultClassifier,
		grace:    DefaultGracePeriod,
	}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// Run runs the job whenever the schedule says until ctx is cancelled. A
// run that is due while the previous one is still going is skipped, and so
// are runs that fell due while the process was not awake (a suspended
// machine, a stalled clock): only the latest of those is made up. Every
// skipped run is logged as missed.
//
// When ctx is cancelled, Run stops scheduling and waits for the running
// job, if any, for the grace period; then it cancels the job's context and
// waits for the job to return. It returns nil after a clean shutdown (no
// job running, the running one finished within the grace period, or it
// returned success after the cancel: its snapshot was saved), an error
// wrapping ErrRunAbandoned when it had to cancel the running job and the
// job failed, and ErrAlreadyRunning if called a second time.
func (r *Runner) Run(ctx context.Context) error {
	if r.sched == nil || r.job == nil {
		return fmt.Errorf("%w: no schedule or no job", ErrInvalidSchedule)
	}
	if !r.started.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	var wg sync.WaitGroup

	next := r.sched.Next(r.now())
	r.setNext(next)
	r.log.Info("snapshot schedule started", zap.Stringer("schedule", r.sched), zap.Time("next_run", next))
	if r.runOnStart {
		r.tryStart(jobCtx, &wg, r.now())
	}
	for {
		select {
		case <-ctx.Done():
			if r.shutdown(cancelJobs, &wg) {
				return fmt.Errorf("%w: it did not finish within the grace period of %s", ErrRunAbandoned, r.grace)
			}
			return nil
		case <-r.clock.After(min(next.Sub(r.now()), maxWait)):
		}
		now := r.now()
		if now.Before(next) {
			continue
		}
		// Every due time up to now but the latest was slept through.
		due, missed := next, 0
		next = r.sched.Next(due)
		for !next.After(now) {
			if missed++; missed >= maxMissedCount {
				next = r.sched.Next(now)
				break
			}
			due, next = next, r.sched.Next(next)
		}
		r.setNext(next)
		if missed > 0 {
			r.log.Warn("missed scheduled snapshot runs: the process was not awake when they were due",
				zap.Int("missed", missed), zap.Time("running_for", due), zap.Time("next_run", next))
			r.addMissed(missed)
		}
		if !r.tryStart(jobCtx, &wg, due) {
			r.log.Warn("missed scheduled snapshot run: the previous run is still going",
				zap.Time("due", due), zap.Time("next_run", next))
			r.addMissed(1)
		}
	}
}

// shutdown waits for the running job, cancelling it after the grace
// period, and reports whether it had to cancel it.
func (r *Runner) shutdown(cancelJobs context.CancelFunc, wg *sync.WaitGroup) (abandoned bool) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	defer r.setNext(time.Time{})
	select {
	case <-done:
		r.log.Info("snapshot schedule stopped")
		return false
	default:
	}
	if r.grace > 0 {
		r.log.Info("waiting for the running snapshot to finish", zap.Duration("grace_period", r.grace))
		select {
		case <-done:
			r.log.Info("snapshot schedule stopped")
			return false
		case <-r.clock.After(r.grace):
		}
	}
	r.log.Warn("abandoning the running snapshot")
	cancelJobs()
	<-done
	r.mu.Lock()
	saved := r.state.Status == StatusOK
	r.mu.Unlock()
	if saved {
		// the job returned success after the cancel: its snapshot was
		// saved, and only what it does after saving was cut short
		r.log.Info("the running snapshot was saved before the shutdown cut it short; what follows a snapshot (the probe of the page's controls) did not finish")
		r.log.Info("snapshot schedule stopped")
		return false
	}
	r.log.Info("snapshot schedule stopped")
	return true
}

// tryStart starts the job unless one is running, and reports whether it
// did.
func (r *Runner) tryStart(ctx context.Context, wg *sync.WaitGroup, due time.Time) bool {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return false
	}
	r.running = true
	r.state.Running = true
	r.mu.Unlock()

	wg.Add(1)
	go func() {
		defer wg.Done()
		r.runOnce(ctx, due)
	}()
	return true
}

// runOnce runs the job and records the outcome.
func (r *Runner) runOnce(ctx context.Context, due time.Time) {
	if r.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	start := r.clock.Now()
	r.log.Info("snapshot started", zap.Time("due", due))
	res, err := r.call(ctx)
	end := r.clock.Now()
	took := end.Sub(start)

	reason := ""
	if err != nil {
		if reason = r.classify(err); reason == "" {
			reason = DefaultClassifier(err)
		}
		r.log.Error("snapshot failed", zap.String("reason", reason), zap.Error(err), zap.Duration("took", took))
	} else {
		fields := []zap.Field{zap.Duration("took", took)}
		if res != nil {
			fields = append(fields,
				zap.String("snapshot", res.Snapshot),
				zap.String("previous", res.Previous),
				zap.Int("changes", res.Changes.Count()))
			if res.WebhookErr != nil {
				r.log.Warn("webhook failed; the snapshot is kept", zap.String("snapshot", res.Snapshot), zap.Error(res.WebhookErr))
			}
			if res.PruneErr != nil {
				r.log.Warn("pruning old snapshots failed", zap.Error(res.PruneErr))
			}
			switch a := res.Audit; {
			case a == nil:
			case a.Error != "":
				r.log.Warn("the audit log could not be verified; no head published", zap.String("audit_log", a.Log), zap.String("error", a.Error))
			default:
				fields = append(fields, zap.String("audit_head", a.Head), zap.Int("audit_records", a.Records))
			}
		}
		r.log.Info("snapshot taken", fields...)
	}
	r.metrics.observe(end, took, res, err, reason)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.running = false
	r.state.Running = false
	r.state.LastRun = start
	if err != nil {
		r.state.Status = StatusFailing
		r.state.Reason = reason
		r.state.LastError = err.Error()
		return
	}
	r.state.Status = StatusOK
	r.state.Reason = ""
	r.state.LastError = ""
	r.state.LastSuccess = end
}

// call runs the job, turning a panic into an error so that one bad run
// does not end the server.
func (r *Runner) call(ctx context.Context) (res *snapshot.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("schedule: snapshot job panicked: %v", p)
		}
	}()
	return r.job(ctx)
}

// now reads the wall clock, without the monotonic reading, so that time
// spent suspended counts.
func (r *Runner) now() time.Time { return r.clock.Now().Round(0) }

func (r *Runner) setNext(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.NextRun = t
}

func (r *Runner) addMissed(n int) {
	r.metrics.observeMissed(n)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.MissedRuns += n
}
