package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/core"
)

// pruneEvery is how often the worker prunes the store.
const pruneEvery = time.Hour

// Run is the worker. It first resumes the jobs a previous process left
// queued or running, then serves jobs and roster reads until ctx is done.
// The running job is not cancelled with ctx: Run returns after it ends.
// It returns nil after ctx is done, ErrClosed once the server is closed,
// ErrAlreadyRunning if the worker is already running, and the store's
// error if the store fails.
func (s *Server) Run(ctx context.Context) (err error) {
	if !s.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer s.running.Store(false)
	defer s.recoverWorker(&err)
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	if err := s.resume(); err != nil {
		return s.stopped(err)
	}
	return s.serve(ctx)
}

// recoverWorker turns a panic of the worker into its error in *err:
// bbolt panics on a damaged page, and the worker then stops with an error
// naming the file while the process goes on answering health checks
// (unavailable) instead of dying. Deferred by Run.
func (s *Server) recoverWorker(err *error) {
	if p := recover(); p != nil {
		cerr := s.st.check()
		if cerr == nil {
			cerr = fmt.Errorf("scim: worker panic: %v", p)
		}
		*err = s.stopped(cerr)
	}
}

// resume logs the jobs a previous process left pending (the worker takes
// them first, being the oldest), asks for a roster read and prunes the
// store.
func (s *Server) resume() error {
	resumed, err := s.st.pendingJobs()
	if err != nil {
		return err
	}
	for _, j := range resumed {
		s.log.Info("resuming a job left by the previous process", zap.Uint64("job", j.Seq), zap.String("op", string(j.Op)),
			zap.String("email", j.Email), zap.String("state", string(j.State)), zap.Int("attempts", j.Attempts))
	}
	s.mu.Lock()
	s.askRefresh(false)
	s.mu.Unlock()
	return s.st.prune(s.now())
}

// serve is the worker's loop: it does one step after another, and waits
// for work when there is none.
func (s *Server) serve(ctx context.Context) error {
	work := context.WithoutCancel(ctx)
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	// keep the roster warm: reads answer from it without waiting
	warm := time.NewTicker(s.cfg.MaxRosterAge)
	defer warm.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.closed:
			return ErrClosed
		default:
		}
		did, err := s.step(work)
		if err != nil {
			return s.stopped(err)
		}
		if did {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.closed:
			return ErrClosed
		case <-s.wake:
		case <-warm.C:
			s.warmRoster()
		case <-prune.C:
			if err := s.st.prune(s.now()); err != nil {
				return s.stopped(err)
			}
		}
	}
}

// stopped is Run's error for a store failure.
func (s *Server) stopped(err error) error {
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	s.log.Error("the scim worker stops: state store failure", zap.Error(err))
	return fmt.Errorf("scim: worker: %w", err)
}

// step does one thing: a roster read a request waits for, else the next
// job, else a roster read asked after an action. It reports whether it
// did anything.
func (s *Server) step(ctx context.Context) (bool, error) {
	s.mu.Lock()
	r := s.round
	urgent := r != nil && r.urgent // askRefresh sets it under s.mu
	s.mu.Unlock()
	if urgent {
		return true, s.refresh(ctx)
	}
	j, err := s.st.firstPending()
	if err != nil {
		return false, err
	}
	if j != nil {
		return true, s.runJob(ctx, j)
	}
	if r != nil {
		return true, s.refresh(ctx)
	}
	return false, nil
}

func (s *Server) setBusy(op, what string) {
	s.mu.Lock()
	s.busyOp, s.busyWhat, s.busySince = op, what, s.now()
	s.mu.Unlock()
}

// runJob does j: marks it running, acts, and marks it done with the
// result applied to the user, in that order, each step committed before
// the next. Only a store failure is returned; the job then stays as it
// was in the store and is resumed by the next Run.
func (s *Server) runJob(ctx context.Context, j *job) error {
	if err := s.st.startJob(j, s.now()); err != nil {
		return err
	}
	s.setBusy(string(j.Op), j.String())
	res, o, err := s.perform(ctx, j)
	if err != nil {
		return err
	}
	counted := removal(j, o)
	now, err := s.finishJob(j, o, res, counted)
	if err != nil {
		return err
	}
	s.depth.Add(-1)
	if counted {
		s.breaker.add(now)
	}
	s.logOutcome(j, o)
	return nil
}

// perform acts on j, unless j is an offboarding the breaker stops, and
// returns the backend's result and the job's outcome. Only a store
// failure is an error: the job then stays as the store holds it.
func (s *Server) perform(ctx context.Context, j *job) (core.Result, *outcome, error) {
	if j.Op == opOffboard {
		if ok, reason, retry, trip := s.breaker.allow(s.now()); !ok {
			if trip {
				s.trip(reason)
			}
			e := newError(http.StatusServiceUnavailable, typeNone, "%s", reason)
			e.retryAfter = retry
			return core.Result{}, failedOutcome(core.Refused, e), nil
		}
	}
	var res core.Result
	var err error
	switch {
	case s.cfg.DryRun:
		res, err = s.dryRun(j)
	case j.Op == opReinvite:
		return s.reinvite(ctx, j)
	default:
		start := time.Now()
		res, err = s.act(ctx, j)
		s.metrics.action.WithLabelValues(string(j.Op)).Observe(time.Since(start).Seconds())
	}
	return res, outcomeOf(j, res, err), nil
}

// finishJob records the end of j and answers the requests waiting for
// it, serialized with the requests' transactions. It returns when j was
// finished.
func (s *Server) finishJob(j *job, o *outcome, res core.Result, counted bool) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	err := s.st.finishJob(j, o, res, counted && !s.cfg.DryRun, now)
	s.busyOp, s.busyWhat, s.busySince = "", "", time.Time{}
	if err != nil {
		return now, err
	}
	if w := s.waiters[j.Seq]; w != nil {
		w.out = o
		close(w.done)
		delete(s.waiters, j.Seq)
	}
	// a reinvite that failed may have changed the page too
	if (o.OK || j.Op == opReinvite) && !s.cfg.DryRun {
		s.askRefresh(false)
	}
	return now, nil
}

// logOutcome logs how j ended.
func (s *Server) logOutcome(j *job, o *outcome) {
	fields := []zap.Field{zap.Uint64("job", j.Seq), zap.String("op", string(j.Op)), zap.String("email", j.Email),
		zap.String("action", string(o.Action)), zap.Int("attempts", j.Attempts), zap.String("request_id", j.Request.ID),
		zap.String("client", j.Request.Client), zap.Bool("dry_run", s.cfg.DryRun)}
	if o.OK {
		s.log.Info("scim action done", fields...)
	} else {
		s.log.Warn("scim action failed", append(fields, zap.Int("status", o.Status), zap.String("detail", o.Detail))...)
	}
}

// errBackendPanic marks a backend call that panicked.
var errBackendPanic = errors.New("the backend panicked")

// act calls the backend for j.
func (s *Server) act(ctx context.Context, j *job) (core.Result, error) {
	return s.safely(j, func() (core.Result, error) {
		switch j.Op {
		case opInvite:
			return s.cfg.Backend.Invite(ctx, j.Request, j.Email, j.Role)
		case opOffboard:
			return s.cfg.Backend.Offboard(ctx, j.Request, j.Email)
		case opSetRole:
			return s.cfg.Backend.SetRole(ctx, j.Request, j.Email, j.Role)
		}
		return core.Result{}, fmt.Errorf("%w: job op %q", errUnexpected, j.Op)
	})
}

// safely makes a backend call for j. A panic is the job's failure, not
// the worker's end.
func (s *Server) safely(j *job, call func() (core.Result, error)) (res core.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("backend panic", zap.Uint64("job", j.Seq), zap.Any("panic", p))
			res, err = core.Result{Email: j.Email, Action: core.Failed}, fmt.Errorf("%w: %v", errBackendPanic, p)
		}
	}()
	return call()
}

// dryRun returns what j would do, judged from the user's state in the
// store.
func (s *Server) dryRun(j *job) (core.Result, error) {
	rec, err := s.st.user(j.UserID)
	if err != nil {
		return core.Result{}, err
	}
	var st state
	if rec != nil {
		st = rec.state()
	}
	res := core.Result{Email: j.Email, Action: dryRunAction(j, st)}
	res.Detail = "dry run: " + string(res.Action)
	s.log.Info("dry run: no action taken", zap.Uint64("job", j.Seq), zap.String("op", string(j.Op)),
		zap.String("email", j.Email), zap.String("would", string(res.Action)))
	return res, nil
}

// dryRunAction returns what j would do to a user in the state st.
func dryRunAction(j *job, st state) core.Action {
	switch j.Op {
	case opInvite:
		switch {
		case st.Active && st.Pending:
			return core.AlreadyInvited
		case st.Active:
			return core.AlreadyMember
		}
		return core.WouldInvite
	case opOffboard:
		switch {
		case st.Active && st.Pending:
			return core.WouldRevoke
		case st.Active:
			return core.WouldRemove
		}
		return core.AlreadyAbsent
	case opSetRole, opReinvite:
		if st.Role == j.Role {
			return core.Unchanged
		}
		return core.WouldChangeRole
	}
	return ""
}
