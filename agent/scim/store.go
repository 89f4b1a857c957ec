package scim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The buckets of the state store. Keys of users and latest are user ids;
// keys of jobs and queue are job sequence numbers (8 bytes, big-endian);
// keys of removals and requests are a time (Unix nanoseconds, 8 bytes,
// big-endian) followed by a sequence number (8 bytes). Values are JSON.
var (
	// bucketUsers holds a userRecord per user.
	bucketUsers = []byte("users")
	// bucketJobs holds every job, pending or finished (pruned after
	// jobRetention).
	bucketJobs = []byte("jobs")
	// bucketQueue holds the sequence numbers of the pending jobs (queued
	// or running), with empty values.
	bucketQueue = []byte("queue")
	// bucketLatest maps a user id to the sequence number of the user's
	// latest job.
	bucketLatest = []byte("latest")
	// bucketRemovals holds the removals of the last hour (the breaker's
	// window), the value being the address removed.
	bucketRemovals = []byte("removals")
	// bucketRequests is the request log: a LogEntry per request (pruned
	// after requestRetention).
	bucketRequests = []byte("requests")
	// bucketMeta holds the store's format version and creation time.
	bucketMeta = []byte("meta")

	allBuckets = [][]byte{bucketUsers, bucketJobs, bucketQueue, bucketLatest, bucketRemovals, bucketRequests, bucketMeta}
)

// Keys of bucketMeta.
var (
	metaVersion = []byte("version")
	metaCreated = []byte("created")
	// metaRosterAt is when the users were last brought in line with a
	// roster read: what a restart answers reads from.
	metaRosterAt = []byte("roster_read_at")
)

// storeVersion is the format of the store.
const storeVersion = "1"

// Retention of finished jobs and of the request log.
const (
	jobRetention     = 7 * 24 * time.Hour
	requestRetention = 90 * 24 * time.Hour
)

// lockTimeout is how long opening waits for another process to release
// the file.
const lockTimeout = 2 * time.Second

// errStoreFormat means the file is a store of another format.
var errStoreFormat = errors.New("scim: unknown state store format")

// ErrStoreCorrupt means the state store's file is damaged: its pages do
// not hold together. The service cannot go on with it; errors that wrap
// it name the file and what to do.
var ErrStoreCorrupt = errors.New("the SCIM state store is corrupt")

// corruptError names the file and what to do with it.
func corruptError(path string, why any) error {
	return fmt.Errorf("%w: %s: %v: restore it from a backup, or move it away and start again with an empty store (the users are read again from the Clay roster, with new SCIM ids, and the identity provider matches them again by userName)", ErrStoreCorrupt, path, why)
}

// recoverCorrupt turns a panic of bbolt on a damaged page into an error
// wrapping ErrStoreCorrupt in *err, and marks the store corrupt. Deferred
// by every store operation that runs while the service serves.
func (s *store) recoverCorrupt(err *error) {
	if p := recover(); p != nil {
		e := corruptError(s.path, p)
		s.corrupt.CompareAndSwap(nil, &e)
		*err = e
	}
}

// corruptErr is the store's corruption, or nil.
func (s *store) corruptErr() error {
	if e := s.corrupt.Load(); e != nil {
		return *e
	}
	return nil
}

// check reads every page of the store and reports the first damage as an
// error wrapping ErrStoreCorrupt (and marks the store corrupt).
func (s *store) check() (err error) {
	defer s.recoverCorrupt(&err)
	return s.db.View(func(tx *bolt.Tx) error {
		var first error
		// drained to the end: the check reads the pages until it closes
		// the channel, and the transaction must outlive it
		for cerr := range tx.Check() {
			if first == nil {
				first = corruptError(s.path, cerr)
			}
		}
		if first != nil {
			s.corrupt.CompareAndSwap(nil, &first)
		}
		return first
	})
}

// store is the bbolt file.
type store struct {
	db      *bolt.DB
	path    string
	created time.Time
	seq     atomic.Uint64
	// logBytes is the size of the request log (keys and values), known
	// once logSized is set (both only touched inside write transactions,
	// logBytes read outside them too).
	logBytes atomic.Int64
	logSized bool
	// corrupt is set to the first sign that the file is corrupt.
	corrupt atomic.Pointer[error]

	// rosterAt is metaRosterAt as the store was opened (zero: the store
	// has never held a roster).
	rosterAt time.Time
}

// openStore opens or creates the store at path. A damaged file is an
// error wrapping ErrStoreCorrupt: every page is checked before the
// service uses it.
func openStore(path string, now time.Time) (st *store, err error) {
	var db *bolt.DB
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				_ = db.Close()
			}
			st, err = nil, corruptError(path, p)
		}
	}()
	st, err = openStoreFile(path, now, &db)
	if err != nil {
		return nil, err
	}
	if err := st.check(); err != nil {
		_ = st.close()
		return nil, err
	}
	return st, nil
}

func openStoreFile(path string, now time.Time, dbp **bolt.DB) (*store, error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("scim: state directory: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	*dbp = db
	if err != nil {
		if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) {
			return nil, corruptError(path, err)
		}
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("scim: state store %s is in use by another process: %w", path, err)
		}
		return nil, fmt.Errorf("scim: open state store %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("scim: state store %s: %w", path, err)
	}
	// Request log entries of concurrent requests share a commit; one
	// request alone waits at most this long for company.
	db.MaxBatchDelay = time.Millisecond
	s := &store{db: db, path: path}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(metaVersion); v == nil {
			if err := meta.Put(metaVersion, []byte(storeVersion)); err != nil {
				return err
			}
			if err := meta.Put(metaCreated, []byte(now.UTC().Format(time.RFC3339Nano))); err != nil {
				return err
			}
		} else if string(v) != storeVersion {
			return fmt.Errorf("%w: version %q", errStoreFormat, v)
		}
		s.created, _ = time.Parse(time.RFC3339Nano, string(meta.Get(metaCreated)))
		if v := meta.Get(metaRosterAt); v != nil {
			s.rosterAt, _ = time.Parse(time.RFC3339Nano, string(v))
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("scim: state store %s: %w", path, err)
	}
	return s, nil
}

func (s *store) close() error { return s.db.Close() }

func seqKey(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

// timeKey is a key ordered by time, unique by the sequence number n.
// Times before 1970 count as 1970.
func timeKey(t time.Time, n uint64) []byte {
	if t.Before(time.Unix(0, 0)) {
		t = time.Unix(0, 0)
	}
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())), n)
}

func keyTime(k []byte) time.Time {
	if len(k) < 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("scim: decode %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// getUser returns the user whose id is id, or nil.
func getUser(tx *bolt.Tx, id string) (*userRecord, error) {
	var r userRecord
	ok, err := getJSON(tx.Bucket(bucketUsers), []byte(id), &r)
	if !ok || err != nil {
		return nil, err
	}
	if r.Doc == nil {
		r.Doc = map[string]any{}
	}
	return &r, nil
}

// putUser stores r. When old (the record as it was, nil for a new one)
// differs from r, r's LastModified becomes now.
func putUser(tx *bolt.Tx, old, r *userRecord, now time.Time) error {
	if old == nil || old.version() != r.version() {
		r.LastModified = now
	}
	if r.Created.IsZero() {
		r.Created = now
	}
	return putJSON(tx.Bucket(bucketUsers), []byte(r.ID), r)
}

func deleteUser(tx *bolt.Tx, id string) error {
	return tx.Bucket(bucketUsers).Delete([]byte(id))
}

// allUsers returns every user.
func allUsers(tx *bolt.Tx) ([]*userRecord, error) {
	var out []*userRecord
	err := tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
		var r userRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("scim: decode user: %w", err)
		}
		if r.Doc == nil {
			r.Doc = map[string]any{}
		}
		out = append(out, &r)
		return nil
	})
	return out, err
}

// getJob returns the job numbered seq, or nil.
func getJob(tx *bolt.Tx, seq uint64) (*job, error) {
	var j job
	ok, err := getJSON(tx.Bucket(bucketJobs), seqKey(seq), &j)
	if !ok || err != nil {
		return nil, err
	}
	return &j, nil
}

// putJob stores j, keeping the queue and the user's latest job in step.
// A job without a number gets the next one.
func putJob(tx *bolt.Tx, j *job) error {
	jobs := tx.Bucket(bucketJobs)
	if j.Seq == 0 {
		n, err := jobs.NextSequence()
		if err != nil {
			return err
		}
		j.Seq = n
		if err := tx.Bucket(bucketLatest).Put([]byte(j.UserID), seqKey(n)); err != nil {
			return err
		}
	}
	if err := putJSON(jobs, seqKey(j.Seq), j); err != nil {
		return err
	}
	if j.State == jobDone {
		return tx.Bucket(bucketQueue).Delete(seqKey(j.Seq))
	}
	return tx.Bucket(bucketQueue).Put(seqKey(j.Seq), nil)
}

// pendingJobs returns the queued and running jobs, oldest first.
func pendingJobs(tx *bolt.Tx) ([]*job, error) {
	var out []*job
	c := tx.Bucket(bucketQueue).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		j, err := getJob(tx, binary.BigEndian.Uint64(k))
		if err != nil {
			return nil, err
		}
		if j != nil {
			out = append(out, j)
		}
	}
	return out, nil
}

// firstPending returns the oldest pending job, or nil.
func firstPending(tx *bolt.Tx) (*job, error) {
	k, _ := tx.Bucket(bucketQueue).Cursor().First()
	if k == nil {
		return nil, nil
	}
	return getJob(tx, binary.BigEndian.Uint64(k))
}

// queueDepth counts the pending jobs.
func queueDepth(tx *bolt.Tx) int {
	return tx.Bucket(bucketQueue).Stats().KeyN
}

// latestJob returns the latest job for the user id, or nil.
func latestJob(tx *bolt.Tx, id string) (*job, error) {
	k := tx.Bucket(bucketLatest).Get([]byte(id))
	if len(k) != 8 {
		return nil, nil
	}
	return getJob(tx, binary.BigEndian.Uint64(k))
}

// addRemoval records a removal at t.
func (s *store) addRemoval(tx *bolt.Tx, t time.Time, email string) error {
	return tx.Bucket(bucketRemovals).Put(timeKey(t, s.seq.Add(1)), []byte(email))
}

// removalsSince returns the times of the removals since t.
func removalsSince(tx *bolt.Tx, t time.Time) []time.Time {
	var out []time.Time
	c := tx.Bucket(bucketRemovals).Cursor()
	for k, _ := c.Seek(timeKey(t, 0)); k != nil; k, _ = c.Next() {
		out = append(out, keyTime(k))
	}
	return out
}

// logRequest appends e to the request log, then drops its oldest
// entries while the log holds more than maxBytes (keys and values).
// Concurrent calls share a commit.
func (s *store) logRequest(e *LogEntry, maxBytes int64) (err error) {
	defer s.recoverCorrupt(&err)
	key := timeKey(e.Time, s.seq.Add(1))
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	var delta int64
	err = s.db.Batch(func(tx *bolt.Tx) error {
		// Batch may run this again: count from scratch each time
		delta = 0
		b := tx.Bucket(bucketRequests)
		if !s.logSized {
			var n int64
			if err := b.ForEach(func(k, v []byte) error { n += int64(len(k) + len(v)); return nil }); err != nil {
				return err
			}
			s.logBytes.Store(n)
			s.logSized = true
		}
		if err := b.Put(key, data); err != nil {
			return err
		}
		delta += int64(len(key) + len(data))
		if maxBytes <= 0 || s.logBytes.Load()+delta <= maxBytes {
			return nil
		}
		// evict down to nine tenths of the cap, so that eviction is not
		// a cost of every request
		var old [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil && s.logBytes.Load()+delta > maxBytes*9/10; k, v = c.Next() {
			old = append(old, bytes.Clone(k))
			delta -= int64(len(k) + len(v))
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.logBytes.Add(delta)
	}
	return err
}

// requests returns the request log from t on, oldest first.
func (s *store) requests(t time.Time) ([]LogEntry, error) {
	var out []LogEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRequests).Cursor()
		for k, v := c.Seek(timeKey(t, 0)); k != nil; k, v = c.Next() {
			var e LogEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("scim: decode request log: %w", err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// prune deletes finished jobs, log entries and removals past their
// retention.
func (s *store) prune(now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := deleteBefore(tx.Bucket(bucketRequests), timeKey(now.Add(-requestRetention), 0)); err != nil {
			return err
		}
		// the next log entry counts the log again: retention shrank it
		s.logSized = false
		if err := deleteBefore(tx.Bucket(bucketRemovals), timeKey(now.Add(-breakerWindow), 0)); err != nil {
			return err
		}
		jobs := tx.Bucket(bucketJobs)
		var old [][]byte
		err := jobs.ForEach(func(k, v []byte) error {
			var j job
			if err := json.Unmarshal(v, &j); err == nil && j.State == jobDone && now.Sub(j.Finished) > jobRetention {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := jobs.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// deleteBefore deletes the keys of b less than limit.
func deleteBefore(b *bolt.Bucket, limit []byte) error {
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0; k, _ = c.Next() {
		old = append(old, bytes.Clone(k))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
