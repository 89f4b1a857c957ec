package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// jobOp is the action of a job.
type jobOp string

const (
	opInvite   jobOp = "invite"
	opOffboard jobOp = "offboard"
	opSetRole  jobOp = "set-role"
)

// jobState is where a job is in its life.
type jobState string

const (
	jobQueued  jobState = "queued"
	jobRunning jobState = "running"
	jobDone    jobState = "done"
)

// recentJobWindow is how long a finished job answers a repeat of the
// request that queued it (a client retrying after a 503).
const recentJobWindow = time.Hour

// job is one action on the workspace, kept in the store from the request
// that asks for it until it is done.
type job struct {
	Seq    uint64      `json:"seq"`
	Op     jobOp       `json:"op"`
	UserID string      `json:"user_id"`
	Email  string      `json:"email"`
	Role   roster.Role `json:"role,omitempty"`
	// Delete removes the user's resource once offboarded (DELETE).
	Delete   bool      `json:"delete,omitempty"`
	Request  Request   `json:"request"`
	State    jobState  `json:"state"`
	Attempts int       `json:"attempts"`
	Enqueued time.Time `json:"enqueued"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Outcome  *outcome  `json:"outcome,omitempty"`
	// Answered is set once a request got the job's outcome (not a 503):
	// a later identical request is then a new request, not a repeat of an
	// unanswered one, and gets the answer its state calls for (a 409 for
	// a second POST of the same user).
	Answered bool `json:"answered,omitempty"`
}

func (j *job) String() string {
	if j.Op == opOffboard {
		return fmt.Sprintf("%s %s", j.Op, j.Email)
	}
	return fmt.Sprintf("%s %s as %s", j.Op, j.Email, j.Role)
}

// outcome is how a job ended, and what the requests it serves answer.
type outcome struct {
	OK     bool        `json:"ok"`
	Action core.Action `json:"action,omitempty"`
	Detail string      `json:"detail,omitempty"`
	// Status, ScimType and RetryAfter (seconds) are the error answer
	// when OK is false.
	Status     int      `json:"status,omitempty"`
	ScimType   scimType `json:"scim_type,omitempty"`
	RetryAfter int      `json:"retry_after,omitempty"`
}

// apiError returns the answer of a failed outcome.
func (o *outcome) apiError() *apiError {
	return &apiError{status: o.Status, scimType: o.ScimType, detail: o.Detail, retryAfter: time.Duration(o.RetryAfter) * time.Second}
}

func failedOutcome(action core.Action, e *apiError) *outcome {
	return &outcome{Action: action, Detail: e.detail, Status: e.status, ScimType: e.scimType,
		RetryAfter: int((e.retryAfter + time.Second - 1) / time.Second)}
}

// successes are the results that count as success for each action.
var successes = map[jobOp][]core.Action{
	opInvite:   {core.Invited, core.AlreadyInvited, core.AlreadyMember, core.WouldInvite},
	opOffboard: {core.Removed, core.RevokedInvitation, core.AlreadyAbsent, core.WouldRemove, core.WouldRevoke, core.WouldRemoveRevoked},
	opSetRole:  {core.RoleChanged, core.Unchanged, core.WouldChangeRole},
}

// errUnexpected marks a result the backend should not have returned.
var errUnexpected = errors.New("unexpected result")

// outcomeOf maps the backend's answer for j.
func outcomeOf(j *job, res core.Result, err error) *outcome {
	if err == nil && res.Err == nil && slices.Contains(successes[j.Op], res.Action) {
		return &outcome{OK: true, Action: res.Action, Detail: res.Detail}
	}
	cause := err
	if cause == nil {
		cause = res.Err
	}
	if cause == nil {
		cause = fmt.Errorf("%w %q: %s", errUnexpected, res.Action, res.Detail)
	}
	if res.Action == core.Refused && !errors.Is(cause, core.ErrRefused) {
		cause = fmt.Errorf("%w: %w", core.ErrRefused, cause)
	}
	action := res.Action
	if action == "" {
		action = core.Failed
	}
	return failedOutcome(action, failure(j.String(), cause))
}

// removal reports whether a finished offboarding counts against the
// breaker: a verified removal or revocation (or, in a dry run, one that
// would be), and an already-absent result of a job resumed after a crash,
// whose first attempt may have been the removal.
func removal(j *job, o *outcome) bool {
	if j.Op != opOffboard || !o.OK {
		return false
	}
	switch o.Action {
	case core.Removed, core.RevokedInvitation, core.WouldRemove, core.WouldRevoke, core.WouldRemoveRevoked:
		return true
	case core.AlreadyAbsent:
		return j.Attempts > 1
	}
	return false
}

// effect returns the state a user will be in once j is done.
func (j *job) effect(st state) state {
	switch j.Op {
	case opInvite:
		if !st.Active {
			st.Pending = true
		}
		st.Active, st.Role = true, j.Role
	case opOffboard:
		st.Active, st.Pending = false, false
	case opSetRole:
		st.Role = j.Role
	}
	return st
}

// waiter is how requests wait for a job.
type waiter struct {
	seq  uint64
	done chan struct{}
	out  *outcome
}

// queuer is the write transaction of a request: it reads the queue and
// adds jobs to it.
type queuer struct {
	s       *Server
	tx      *bolt.Tx
	now     time.Time
	req     Request
	pending []*job
	loaded  bool
	waits   []uint64
	added   []*job
	trips   []string
}

// pendingFor returns the pending jobs for the user id, oldest first.
func (q *queuer) pendingFor(id string) ([]*job, error) {
	if !q.loaded {
		p, err := pendingJobs(q.tx)
		if err != nil {
			return nil, err
		}
		q.pending, q.loaded = p, true
	}
	var out []*job
	for _, j := range q.pending {
		if j.UserID == id {
			out = append(out, j)
		}
	}
	return out, nil
}

// effective returns the state of the user rec (nil: unknown) once the
// pending jobs for it are done.
func effective(rec *userRecord, pending []*job) state {
	var st state
	if rec != nil {
		st = rec.state()
	}
	for _, j := range pending {
		st = j.effect(st)
	}
	return st
}

// wait makes the request wait for j.
func (q *queuer) wait(j *job) {
	if !slices.Contains(q.waits, j.Seq) {
		q.waits = append(q.waits, j.Seq)
	}
}

// waitPending makes the request wait for the latest of pending, if any:
// a request that needs no action of its own still answers once the
// user's earlier actions are done.
func (q *queuer) waitPending(pending []*job) {
	if len(pending) > 0 {
		q.wait(pending[len(pending)-1])
	}
}

// enqueue adds a job for the request and makes it wait for it.
func (q *queuer) enqueue(j *job) error {
	j.State, j.Enqueued, j.Request = jobQueued, q.now, q.req
	if err := putJob(q.tx, j); err != nil {
		return err
	}
	q.pending = append(q.pending, j)
	q.added = append(q.added, j)
	q.wait(j)
	return nil
}

// allowRemoval asks the breaker whether an offboarding may be queued.
func (q *queuer) allowRemoval() *apiError {
	ok, reason, retry, trip := q.s.breaker.allow(q.now)
	if ok {
		return nil
	}
	if trip {
		q.trips = append(q.trips, reason)
	}
	e := newError(http.StatusServiceUnavailable, typeNone, "%s", reason)
	e.retryAfter = retry
	return e
}

// txn runs fn in a write transaction, serialized with the worker's
// completions, and returns the waiters of the jobs fn queued or joined.
// fn's error rolls the transaction back.
func (s *Server) txn(req Request, fn func(q *queuer) error) ([]*waiter, []*job, error) {
	s.mu.Lock()
	q := &queuer{s: s, now: s.now(), req: req}
	err := s.st.db.Update(func(tx *bolt.Tx) error {
		q.tx = tx
		return fn(q)
	})
	var ws []*waiter
	if err == nil {
		for _, seq := range q.waits {
			w := s.waiters[seq]
			if w == nil {
				w = &waiter{seq: seq, done: make(chan struct{})}
				s.waiters[seq] = w
			}
			ws = append(ws, w)
		}
		s.depth.Add(int64(len(q.added)))
	}
	s.mu.Unlock()
	for _, reason := range q.trips {
		s.trip(reason)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(q.added) > 0 {
		for _, j := range q.added {
			s.log.Info("scim action queued", zap.Uint64("job", j.Seq), zap.String("op", string(j.Op)),
				zap.String("email", j.Email), zap.String("role", string(j.Role)), zap.String("request_id", req.ID))
		}
		s.wakeWorker()
	}
	return ws, q.added, nil
}

// await waits for the jobs of ws, at most MutationWait, and returns the
// first failure.
func (s *Server) await(ctx context.Context, ws []*waiter) *apiError {
	if len(ws) == 0 {
		return nil
	}
	timer := time.NewTimer(callOf(ctx).wait(s.cfg.MutationWait))
	defer timer.Stop()
	for _, w := range ws {
		select {
		case <-w.done:
			if !w.out.OK {
				s.markAnswered(ws)
				return w.out.apiError()
			}
			continue
		case <-timer.C:
		case <-ctx.Done():
		case <-s.closed:
			return errShuttingDown()
		}
		return busy(s.cfg.MutationWait, "the action is still running (job %d); it goes on, and a repeat of this request waits for it", w.seq)
	}
	s.markAnswered(ws)
	return nil
}

// markAnswered records that a request got the outcome of the finished
// jobs of ws. A failure to record it only costs a repeat its shortcut.
func (s *Server) markAnswered(ws []*waiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.db.Update(func(tx *bolt.Tx) error {
		for _, w := range ws {
			select {
			case <-w.done:
			default:
				continue
			}
			j, err := getJob(tx, w.seq)
			if err != nil || j == nil || j.State != jobDone || j.Answered {
				if err != nil {
					return err
				}
				continue
			}
			j.Answered = true
			if err := putJob(tx, j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Warn("recording that a job was answered failed", zap.Error(err))
	}
}

func (s *Server) wakeWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// refreshRound is one roster read that requests wait for.
type refreshRound struct {
	urgent bool
	done   chan struct{}
	err    error
}

// askRefresh asks the worker for a roster read: urgent when a request
// waits for it (it then goes before queued actions). Callers hold s.mu.
func (s *Server) askRefresh(urgent bool) *refreshRound {
	if s.round == nil {
		s.round = &refreshRound{done: make(chan struct{})}
	}
	s.round.urgent = s.round.urgent || urgent
	return s.round
}

// rosterRetry is how long a failed roster read answers reads before one
// is tried again.
const rosterRetry = 10 * time.Second

// ensureFresh makes sure there is a kept roster to answer from. A roster
// older than MaxRosterAge is read again through the worker, in the
// background: the request is answered from the kept one at once, so that
// reads never wait for the browser (the worker also reads the roster again
// on its own whenever it is idle and the roster is that old). Only the
// first read after a start, with no roster yet, waits for one.
func (s *Server) ensureFresh(ctx context.Context) *apiError {
	s.mu.Lock()
	now := s.now()
	if !s.rosterAt.IsZero() {
		// a failed read is not tried again before rosterRetry
		failing := s.rosterErr != nil && now.Sub(s.rosterErrAt) < rosterRetry
		if now.Sub(s.rosterAt) > s.cfg.MaxRosterAge && !failing {
			s.askRefresh(false)
			s.mu.Unlock()
			s.wakeWorker()
			return nil
		}
		s.mu.Unlock()
		return nil
	}
	if s.rosterErr != nil && now.Sub(s.rosterErrAt) < rosterRetry {
		err := s.rosterErr
		s.mu.Unlock()
		return failure("read the Clay roster", err)
	}
	r := s.askRefresh(true)
	s.mu.Unlock()
	s.wakeWorker()
	timer := time.NewTimer(callOf(ctx).wait(s.cfg.MutationWait))
	defer timer.Stop()
	select {
	case <-r.done:
		if r.err != nil {
			return failure("read the Clay roster", r.err)
		}
		return nil
	case <-timer.C:
	case <-ctx.Done():
	case <-s.closed:
		return errShuttingDown()
	}
	return busy(s.cfg.MutationWait, "reading the Clay roster takes longer than %s; it goes on", s.cfg.MutationWait)
}

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
	defer func() {
		// bbolt panics on a damaged page: the worker stops with an error
		// naming the file, and the process goes on answering health
		// checks (unavailable) instead of dying
		if p := recover(); p != nil {
			cerr := s.st.check()
			if cerr == nil {
				cerr = fmt.Errorf("scim: worker panic: %v", p)
			}
			err = s.stopped(cerr)
		}
	}()
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	var resumed []*job
	if err := s.st.db.View(func(tx *bolt.Tx) (err error) {
		resumed, err = pendingJobs(tx)
		return err
	}); err != nil {
		return s.stopped(err)
	}
	for _, j := range resumed {
		s.log.Info("resuming a job left by the previous process", zap.Uint64("job", j.Seq), zap.String("op", string(j.Op)),
			zap.String("email", j.Email), zap.String("state", string(j.State)), zap.Int("attempts", j.Attempts))
	}
	s.mu.Lock()
	s.askRefresh(false)
	s.mu.Unlock()
	if err := s.st.prune(s.now()); err != nil {
		return s.stopped(err)
	}
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
			s.mu.Lock()
			if s.now().Sub(s.rosterAt) >= s.cfg.MaxRosterAge {
				s.askRefresh(false)
			}
			s.mu.Unlock()
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
	var j *job
	if err := s.st.db.View(func(tx *bolt.Tx) (err error) {
		j, err = firstPending(tx)
		return err
	}); err != nil {
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

// refresh reads the roster and brings the users in the store in line
// with it. Only a store failure is returned.
func (s *Server) refresh(ctx context.Context) error {
	s.mu.Lock()
	r := s.round
	s.round = nil
	s.busyOp, s.busyWhat, s.busySince = "read the Clay roster", "read the Clay roster", s.now()
	s.mu.Unlock()

	start := time.Now()
	ro, err := s.readRoster(ctx)
	s.metrics.action.WithLabelValues(actionRoster).Observe(time.Since(start).Seconds())
	var storeErr error
	if err == nil && ro == nil {
		err = fmt.Errorf("%w: no roster", errUnexpected)
	}
	if err == nil {
		storeErr = s.st.db.Update(func(tx *bolt.Tx) error { return syncRoster(tx, ro, s.now()) })
		err = storeErr
	}
	s.mu.Lock()
	s.busyOp, s.busyWhat, s.busySince = "", "", time.Time{}
	if err != nil {
		s.rosterErr, s.rosterErrAt = err, s.now()
	} else {
		s.rosterAt, s.rosterErr = s.now(), nil
	}
	if r != nil {
		r.err = err
		close(r.done)
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("reading the Clay roster failed", zap.Error(err))
	} else {
		s.log.Debug("read the Clay roster", zap.Int("members", len(ro.Members)), zap.Int("invitations", len(ro.Invitations)))
	}
	return storeErr
}

// readRoster calls the backend for the roster; a panic is a failed read.
func (s *Server) readRoster(ctx context.Context) (ro *roster.Roster, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("backend panic", zap.String("op", actionRoster), zap.Any("panic", p))
			ro, err = nil, fmt.Errorf("%w: %v", errBackendPanic, p)
		}
	}()
	return s.cfg.Backend.Roster(ctx)
}

// syncRoster brings the users in line with the roster r: every member
// and invitation is an active user (created when new); a user who is in
// neither is inactive, unless an unreadable row of the page could be
// theirs.
func syncRoster(tx *bolt.Tx, r *roster.Roster, now time.Time) error {
	present := map[string]state{}
	emails := map[string]string{}
	names := map[string]string{}
	for _, i := range r.Invitations {
		email := roster.NormalizeEmail(i.Email)
		id := UserID(email)
		present[id], emails[id] = state{Active: true, Pending: true, Role: i.Role}, email
	}
	for _, m := range r.Members {
		email := roster.NormalizeEmail(m.Email)
		id := UserID(email)
		present[id], emails[id], names[id] = state{Active: true, Role: m.Role}, email, m.Name
	}
	users, err := allUsers(tx)
	if err != nil {
		return err
	}
	known := make(map[string]bool, len(users))
	for _, u := range users {
		known[u.ID] = true
		next := u.clone()
		if st, ok := present[u.ID]; ok {
			next.Active, next.Pending, next.Role = st.Active, st.Pending, st.Role
			if _, has := next.Doc["displayName"]; !has && names[u.ID] != "" {
				next.Doc["displayName"] = names[u.ID]
			}
		} else if len(r.UnreadableFor("member", u.Email)) == 0 && len(r.UnreadableFor("invitation", u.Email)) == 0 {
			next.Active, next.Pending = false, false
		}
		if next.version() != u.version() {
			if err := putUser(tx, u, next, now); err != nil {
				return err
			}
		}
	}
	for _, id := range sortedKeys(present) {
		if known[id] {
			continue
		}
		st, email := present[id], emails[id]
		doc := map[string]any{
			"userName": email,
			"emails":   []any{map[string]any{"value": email, "type": "work", "primary": true}},
		}
		if names[id] != "" {
			doc["displayName"] = names[id]
		}
		rec := &userRecord{ID: id, Email: email, Doc: doc, Active: true, Pending: st.Pending, Role: st.Role}
		if err := putUser(tx, nil, rec, now); err != nil {
			return err
		}
	}
	return nil
}

// runJob does j: marks it running, acts, and marks it done with the
// result applied to the user, in that order, each step committed before
// the next. Only a store failure is returned; the job then stays as it
// was in the store and is resumed by the next Run.
func (s *Server) runJob(ctx context.Context, j *job) error {
	j.State, j.Started = jobRunning, s.now()
	j.Attempts++
	if err := s.st.db.Update(func(tx *bolt.Tx) error { return putJob(tx, j) }); err != nil {
		return err
	}
	s.setBusy(string(j.Op), j.String())

	var res core.Result
	var o *outcome
	if j.Op == opOffboard {
		if ok, reason, retry, trip := s.breaker.allow(s.now()); !ok {
			if trip {
				s.trip(reason)
			}
			e := newError(http.StatusServiceUnavailable, typeNone, "%s", reason)
			e.retryAfter = retry
			o = failedOutcome(core.Refused, e)
		}
	}
	if o == nil {
		var err error
		if s.cfg.DryRun {
			res, err = s.dryRun(j)
		} else {
			start := time.Now()
			res, err = s.act(ctx, j)
			s.metrics.action.WithLabelValues(string(j.Op)).Observe(time.Since(start).Seconds())
		}
		o = outcomeOf(j, res, err)
	}
	counted := removal(j, o)

	s.mu.Lock()
	now := s.now()
	j.State, j.Finished, j.Outcome = jobDone, now, o
	err := s.st.db.Update(func(tx *bolt.Tx) error {
		if err := putJob(tx, j); err != nil {
			return err
		}
		if counted && !s.cfg.DryRun {
			if err := s.st.addRemoval(tx, now, j.Email); err != nil {
				return err
			}
		}
		if o.OK {
			return applyResult(tx, j, res, now)
		}
		return nil
	})
	if err != nil {
		s.busyOp, s.busyWhat, s.busySince = "", "", time.Time{}
		s.mu.Unlock()
		return err
	}
	if w := s.waiters[j.Seq]; w != nil {
		w.out = o
		close(w.done)
		delete(s.waiters, j.Seq)
	}
	s.busyOp, s.busyWhat, s.busySince = "", "", time.Time{}
	if o.OK && !s.cfg.DryRun {
		s.askRefresh(false)
	}
	s.mu.Unlock()
	s.depth.Add(-1)
	if counted {
		s.breaker.add(now)
	}
	fields := []zap.Field{zap.Uint64("job", j.Seq), zap.String("op", string(j.Op)), zap.String("email", j.Email),
		zap.String("action", string(o.Action)), zap.Int("attempts", j.Attempts), zap.String("request_id", j.Request.ID),
		zap.String("client", j.Request.Client), zap.Bool("dry_run", s.cfg.DryRun)}
	if o.OK {
		s.log.Info("scim action done", fields...)
	} else {
		s.log.Warn("scim action failed", append(fields, zap.Int("status", o.Status), zap.String("detail", o.Detail))...)
	}
	return nil
}

// errBackendPanic marks a backend call that panicked.
var errBackendPanic = errors.New("the backend panicked")

// act calls the backend for j. A panic is the job's failure, not the
// worker's end.
func (s *Server) act(ctx context.Context, j *job) (res core.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("backend panic", zap.Uint64("job", j.Seq), zap.Any("panic", p))
			res, err = core.Result{Email: j.Email, Action: core.Failed}, fmt.Errorf("%w: %v", errBackendPanic, p)
		}
	}()
	switch j.Op {
	case opInvite:
		return s.cfg.Backend.Invite(ctx, j.Request, j.Email, j.Role)
	case opOffboard:
		return s.cfg.Backend.Offboard(ctx, j.Request, j.Email)
	case opSetRole:
		return s.cfg.Backend.SetRole(ctx, j.Request, j.Email, j.Role)
	}
	return core.Result{}, fmt.Errorf("%w: job op %q", errUnexpected, j.Op)
}

// dryRun returns what j would do, judged from the user's state in the
// store.
func (s *Server) dryRun(j *job) (core.Result, error) {
	var rec *userRecord
	if err := s.st.db.View(func(tx *bolt.Tx) (err error) {
		rec, err = getUser(tx, j.UserID)
		return err
	}); err != nil {
		return core.Result{}, err
	}
	var st state
	if rec != nil {
		st = rec.state()
	}
	res := core.Result{Email: j.Email}
	switch j.Op {
	case opInvite:
		switch {
		case st.Active && st.Pending:
			res.Action = core.AlreadyInvited
		case st.Active:
			res.Action = core.AlreadyMember
		default:
			res.Action = core.WouldInvite
		}
	case opOffboard:
		switch {
		case st.Active && st.Pending:
			res.Action = core.WouldRevoke
		case st.Active:
			res.Action = core.WouldRemove
		default:
			res.Action = core.AlreadyAbsent
		}
	case opSetRole:
		res.Action = core.WouldChangeRole
		if st.Role == j.Role {
			res.Action = core.Unchanged
		}
	}
	res.Detail = "dry run: " + string(res.Action)
	s.log.Info("dry run: no action taken", zap.Uint64("job", j.Seq), zap.String("op", string(j.Op)),
		zap.String("email", j.Email), zap.String("would", string(res.Action)))
	return res, nil
}

// applyResult records the user's new state after j succeeded with res.
func applyResult(tx *bolt.Tx, j *job, res core.Result, now time.Time) error {
	rec, err := getUser(tx, j.UserID)
	if err != nil {
		return err
	}
	if j.Op == opOffboard && j.Delete {
		return deleteUser(tx, j.UserID)
	}
	if rec == nil {
		if j.Op != opInvite {
			return nil
		}
		rec = &userRecord{ID: j.UserID, Email: j.Email, Doc: map[string]any{
			"userName": j.Email,
			"emails":   []any{map[string]any{"value": j.Email, "type": "work", "primary": true}},
		}}
	}
	next := rec.clone()
	switch j.Op {
	case opInvite:
		next.Active, next.Pending, next.Role = true, true, j.Role
		switch {
		case res.Action == core.AlreadyMember:
			next.Pending = false
			if res.Before.Member != nil && res.Before.Member.Role != "" {
				next.Role = res.Before.Member.Role
			}
		case res.Action == core.AlreadyInvited && res.Before.Invitation != nil && res.Before.Invitation.Role != "":
			next.Role = res.Before.Invitation.Role
		}
	case opOffboard:
		next.Active, next.Pending = false, false
	case opSetRole:
		next.Role = j.Role
	}
	if rec.version() == next.version() && !rec.Created.IsZero() {
		return nil
	}
	return putUser(tx, rec, next, now)
}
