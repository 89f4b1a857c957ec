package scim

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// storeTx is a write transaction of the store as a request sees it: it
// reads the users and the queue, and writes users and jobs, all committed
// together or not at all.
type storeTx struct {
	tx *bolt.Tx
}

// update runs fn in one write transaction of the store; fn's error rolls
// back everything fn wrote.
func (s *store) update(fn func(t *storeTx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(&storeTx{tx: tx}) })
}

// user returns the user whose id is id, or nil.
func (t *storeTx) user(id string) (*userRecord, error) { return getUser(t.tx, id) }

// users returns every user.
func (t *storeTx) users() ([]*userRecord, error) { return allUsers(t.tx) }

// saveUser writes next, the record old (nil for a new user) once
// changed; next's LastModified becomes now when it differs from old.
func (t *storeTx) saveUser(old, next *userRecord, now time.Time) error {
	return putUser(t.tx, old, next, now)
}

// deleteUser removes the user's record.
func (t *storeTx) deleteUser(id string) error { return deleteUser(t.tx, id) }

// pendingJobs returns the queued and running jobs, oldest first.
func (t *storeTx) pendingJobs() ([]*job, error) { return pendingJobs(t.tx) }

// latestJob returns the latest job for the user id, or nil.
func (t *storeTx) latestJob(id string) (*job, error) { return latestJob(t.tx, id) }

// addJob queues j: it gets the next number, and becomes pending and its
// user's latest job.
func (t *storeTx) addJob(j *job) error { return putJob(t.tx, j) }

// markAnswered records that a request got the outcome of j.
func (t *storeTx) markAnswered(j *job) error {
	j.Answered = true
	return putJob(t.tx, j)
}
