package scim

import (
	"context"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"
)

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
	tx      *storeTx
	now     time.Time
	req     Request
	pending []*job
	loaded  bool
	waits   []uint64
	added   []*job
	trips   []string
	// conflicts are the users the request leaves in more than one role
	// group, logged once it is committed.
	conflicts []roleConflict
}

// pendingFor returns the pending jobs for the user id, oldest first.
func (q *queuer) pendingFor(id string) ([]*job, error) {
	if !q.loaded {
		p, err := q.tx.pendingJobs()
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
	if err := q.tx.addJob(j); err != nil {
		return err
	}
	q.pending = append(q.pending, j)
	q.added = append(q.added, j)
	q.wait(j)
	return nil
}

// answerRepeat answers a repeat of a request that was answered 503 while
// its job ran: when the user's latest job is one that matches, succeeded
// less than recentJobWindow ago and was not answered yet, it is marked
// answered, and answerRepeat reports true.
func (q *queuer) answerRepeat(id string, matches func(j *job) bool) (bool, error) {
	last, err := q.tx.latestJob(id)
	if err != nil {
		return false, err
	}
	if last == nil || !matches(last) || !last.unansweredSuccess(q.now) {
		return false, nil
	}
	return true, q.tx.markAnswered(last)
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
	err := s.st.update(func(t *storeTx) error {
		q.tx = t
		return fn(q)
	})
	var ws []*waiter
	if err == nil {
		ws = s.waitersFor(q.waits)
		s.depth.Add(int64(len(q.added)))
	}
	s.mu.Unlock()
	for _, reason := range q.trips {
		s.trip(reason)
	}
	if err != nil {
		return nil, nil, err
	}
	for _, c := range q.conflicts {
		s.log.Warn("a user is in more than one role group: the most privileged role wins", zap.String("email", c.email),
			zap.Strings("groups", c.groups), zap.String("role", string(c.role)), zap.String("request_id", req.ID))
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

// waitersFor returns the waiters of the jobs numbered seqs, made when
// missing. Callers hold s.mu.
func (s *Server) waitersFor(seqs []uint64) []*waiter {
	var ws []*waiter
	for _, seq := range seqs {
		w := s.waiters[seq]
		if w == nil {
			w = &waiter{seq: seq, done: make(chan struct{})}
			s.waiters[seq] = w
		}
		ws = append(ws, w)
	}
	return ws
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
	// the worker closes done under s.mu: which jobs are finished does not
	// change while it is held
	var seqs []uint64
	for _, w := range ws {
		select {
		case <-w.done:
			seqs = append(seqs, w.seq)
		default:
		}
	}
	if err := s.st.markAnswered(seqs); err != nil {
		s.log.Warn("recording that a job was answered failed", zap.Error(err))
	}
}

func (s *Server) wakeWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
