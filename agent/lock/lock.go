// Package lock serializes runs of the agent against one workspace.
//
// A run takes an exclusive advisory lock (flock(2)) on a small file per
// workspace before it touches the Team page, and gives it up when it ends.
// The kernel drops the lock when the holder's file is closed, including
// when the process dies, so a crashed run never leaves a stale lock behind
// and the file itself is never deleted: deleting a lock file while another
// process waits on it would let two runs hold "the" lock at once.
//
// While it holds the lock, a run writes its pid and start time into the
// file, so that a run that gives up waiting can say who is in the way.
package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrLocked is wrapped by the error Acquire returns when another run still
// holds the lock after the timeout.
var ErrLocked = errors.New("workspace is locked by another run")

// pollInterval is how often Acquire retries a lock that is held.
const pollInterval = 50 * time.Millisecond

// Holder describes the run that holds a lock, as it recorded itself in the
// lock file.
type Holder struct {
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// LockedError is the error Acquire returns when it gives up waiting. It
// wraps ErrLocked.
type LockedError struct {
	// Path is the lock file.
	Path string
	// Holder is the run holding the lock; nil if the file did not say
	// (the holder had not written it yet, or it was unreadable).
	Holder *Holder
	// Waited is how long Acquire waited.
	Waited time.Duration
}

// Error says who holds the lock and for how long the caller waited, e.g.
// "another run (pid 1234, since 22:15:03) holds the lock /x.lock; gave up
// after 30s".
func (e *LockedError) Error() string {
	who := "another run"
	if e.Holder != nil {
		who = fmt.Sprintf("another run (pid %d, since %s)", e.Holder.PID, formatSince(e.Holder.Since, time.Now()))
	}
	return fmt.Sprintf("%s holds the lock %s; gave up after %s", who, e.Path, e.Waited.Round(time.Millisecond))
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// formatSince prints a clock time, with the date when it is not today.
func formatSince(t, now time.Time) string {
	t = t.Local()
	now = now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

// Lock is a held lock. Release it when the run ends.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes the exclusive lock on the file at path, creating the file
// (mode 0600) and its parent directory (mode 0700) if needed. If another
// run holds the lock, Acquire retries every 50ms until it gets the lock,
// timeout passes, or ctx is done. A timeout of zero or less means one try.
//
// On timeout it returns a *LockedError, which wraps ErrLocked and names the
// holder. When ctx ends first, the error wraps ctx's error.
func Acquire(ctx context.Context, path string, timeout time.Duration) (*Lock, error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("lock: waiting for %s: %w", path, context.Cause(ctx))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock: create directory for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: open %s: %w", path, err)
	}
	start := time.Now()
	deadline := start.Add(timeout)
	var timer *time.Timer
	for {
		ok, err := tryLock(f)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("lock: flock %s: %w", path, err)
		}
		if ok {
			break
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			holder := readHolder(f)
			_ = f.Close()
			return nil, &LockedError{Path: path, Holder: holder, Waited: time.Since(start)}
		}
		wait = min(wait, pollInterval)
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock: waiting for %s: %w", path, context.Cause(ctx))
		case <-timer.C:
		}
	}
	l := &Lock{f: f, path: path}
	if err := l.writeHolder(Holder{PID: os.Getpid(), Since: time.Now()}); err != nil {
		_ = l.Release()
		return nil, err
	}
	return l, nil
}

// tryLock makes one non-blocking attempt at the exclusive lock.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		default:
			return false, err
		}
	}
}

// writeHolder replaces the file's content with h.
func (l *Lock) writeHolder(h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("lock: encode holder: %w", err)
	}
	b = append(b, '\n')
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("lock: write %s: %w", l.path, err)
	}
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("lock: write %s: %w", l.path, err)
	}
	return nil
}

// readHolder reads the holder a locked file names, or nil if it names none.
func readHolder(f *os.File) *Holder {
	buf := make([]byte, 512)
	n, _ := f.ReadAt(buf, 0)
	var h Holder
	if err := json.Unmarshal(buf[:n], &h); err != nil || h.PID <= 0 {
		return nil
	}
	return &h
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// Release clears the holder from the file and gives up the lock. The file
// stays in place. Releasing a lock twice is a no-op.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	truncErr := f.Truncate(0)
	unlockErr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	closeErr := f.Close()
	if err := errors.Join(truncErr, unlockErr, closeErr); err != nil {
		return fmt.Errorf("lock: release %s: %w", l.path, err)
	}
	return nil
}

// maxNameLen bounds the workspace part of a lock file name.
const maxNameLen = 64

// PathFor returns the lock file for workspace inside dir:
// dir/workspace-<name>.lock. Characters other than ASCII letters, digits,
// '.', '_' and '-' become '_'. When that changes the name (or it is empty
// or too long), a short hash of the original is appended so that two
// different workspaces never share a lock file.
func PathFor(dir, workspace string) string {
	var b strings.Builder
	for _, r := range workspace {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name != workspace || name == "" || len(name) > maxNameLen {
		sum := sha256.Sum256([]byte(workspace))
		if len(name) > maxNameLen {
			name = name[:maxNameLen]
		}
		name += "-" + hex.EncodeToString(sum[:4])
	}
	return filepath.Join(dir, "workspace-"+name+".lock")
}

// DefaultDir is where lock files live unless the caller says otherwise:
// $XDG_STATE_HOME/clay-agent/locks, or ~/.local/state/clay-agent/locks, or
// a directory under the system temporary directory when there is no home.
func DefaultDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "clay-agent", "locks")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "clay-agent", "locks")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("clay-agent-%d", os.Getuid()), "locks")
}
