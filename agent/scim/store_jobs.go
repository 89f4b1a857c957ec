package scim

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/clay-agent/clay-agent/agent/core"
)

// pendingJobs returns the queued and running jobs, oldest first.
func (s *store) pendingJobs() ([]*job, error) {
	var out []*job
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		out, err = pendingJobs(tx)
		return err
	})
	return out, err
}

// firstPending returns the oldest pending job, or nil.
func (s *store) firstPending() (*job, error) {
	var j *job
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		j, err = firstPending(tx)
		return err
	})
	return j, err
}

// removalsAndDepth returns the times of the removals since t and the
// number of pending jobs.
func (s *store) removalsAndDepth(t time.Time) ([]time.Time, int, error) {
	var removals []time.Time
	depth := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		removals = removalsSince(tx, t)
		depth = queueDepth(tx)
		return nil
	})
	return removals, depth, err
}

// startJob records that j starts running now, one attempt more.
func (s *store) startJob(j *job, now time.Time) error {
	j.start(now)
	return s.db.Update(func(tx *bolt.Tx) error { return putJob(tx, j) })
}

// saveJob records j as it is now: the next step of a running job.
func (s *store) saveJob(j *job) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putJob(tx, j) })
}

// finishJob records, in one transaction, that j ended at now with o: the
// job is done and leaves the queue, a removal is counted when
// countRemoval is set, and when o is a success the user's record takes
// the result res (or is deleted, for a DELETE).
func (s *store) finishJob(j *job, o *outcome, res core.Result, countRemoval bool, now time.Time) error {
	j.finish(now, o)
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := putJob(tx, j); err != nil {
			return err
		}
		if countRemoval {
			if err := s.addRemoval(tx, now, j.Email); err != nil {
				return err
			}
		}
		if o.OK {
			return applyResult(tx, j, res, now)
		}
		return nil
	})
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
	base, next := j.userAfter(rec, res)
	if next == nil || (base.version() == next.version() && !base.Created.IsZero()) {
		return nil
	}
	return putUser(tx, base, next, now)
}

// markAnswered records that a request got the outcome of the jobs
// numbered seqs; jobs missing, not done or already answered are left as
// they are.
func (s *store) markAnswered(seqs []uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, seq := range seqs {
			j, err := getJob(tx, seq)
			if err != nil {
				return err
			}
			if j == nil || j.State != jobDone || j.Answered {
				continue
			}
			j.Answered = true
			if err := putJob(tx, j); err != nil {
				return err
			}
		}
		return nil
	})
}
