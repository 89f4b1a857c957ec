// Package audit keeps a tamper-evident record of what the agent did.
//
// The log is a JSON Lines file: one Record per line, appended and never
// rewritten. Each record carries in its "prev" field the SHA-256 (hex) of
// the bytes of the line before it, without the newline; the first line
// carries 64 zeros (Genesis). Editing, removing, inserting or reordering a
// line breaks the chain at the line after the change, and Verify reports
// it with a line number.
//
// What the chain cannot show: lines cut from the end of the file, or a file
// rewritten from scratch with fresh hashes. To catch those, keep the head
// hash that VerifyChain returns somewhere the log's writers cannot change
// (a ticket, a monitoring system) and compare it later.
//
// Appends are safe across goroutines and processes: each takes an
// exclusive flock(2) on the file, reads the last line to compute prev,
// writes the new line and fsyncs before unlocking.
//
// A crash in the middle of a write can leave a torn last line (part of a
// record, no newline). The next append ends that line with a newline and
// chains to the hash of the torn bytes as they are, so new records stay
// linked and nothing is lost or rewritten; Verify reports the torn line as
// an error (wrapping ErrTorn and ErrTampered) with its line number, since it
// cannot tell a torn write from a damaged file.
package audit

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Genesis is the prev of the first line of a log.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Outcomes the Run helper writes, and common outcomes of the flows.
const (
	OutcomePlanned       = "planned"
	OutcomeStarted       = "started"
	OutcomeNotAttempted  = "not-attempted"
	OutcomeInterrupted   = "interrupted"
	OutcomeFinished      = "finished"
	OutcomeAborted       = "aborted"
	OutcomeRemoved       = "removed"
	OutcomeAlreadyAbsent = "already-absent"
	OutcomeRefused       = "refused"
	OutcomeFailed        = "failed"
	OutcomeDryRun        = "dry-run"
)

// Record is one line of the audit log.
type Record struct {
	// ID is unique and sorts by time; see NewID.
	ID string `json:"id"`
	// Time is when the record was written (UTC).
	Time time.Time `json:"time"`
	// Actor is who ran the command: --actor, or the login name.
	Actor string `json:"actor"`
	// Workspace is the Clay workspace acted on.
	Workspace string `json:"workspace"`
	// Command is the agent command, e.g. "offboard".
	Command string `json:"command"`
	// RunID groups the records of one run: the ID of its "planned" record.
	RunID string `json:"run_id,omitempty"`
	// Target is what the record is about, usually a member's email.
	Target string `json:"target"`
	// Targets lists every target of a run, on its "planned" record.
	Targets []string `json:"targets,omitempty"`
	// Before is the target's state before the action, as JSON, e.g.
	// {"member":{...}}, or null.
	Before json.RawMessage `json:"before"`
	// Outcome is what happened: removed, already-absent, refused, failed,
	// not-attempted, started, dry-run, and so on.
	Outcome string `json:"outcome"`
	// Detail explains the outcome in words.
	Detail string `json:"detail"`
	// Evidence lists files kept as proof: screenshots, page captures.
	Evidence []string `json:"evidence"`
	// Prev is the hex SHA-256 of the previous line, or Genesis.
	Prev string `json:"prev"`
}

// NewID returns a new record ID: the current UTC time to the millisecond
// and 32 random bits, e.g. "20261129T221500.123Z-3f9a1c0b". IDs sort by
// time and contain only characters that are safe in file names.
func NewID() string { return newID(time.Now()) }

func newID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return t.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// DefaultPath is where the log lives unless --audit-log or CLAY_AUDIT_LOG
// says otherwise: $XDG_STATE_HOME/clay-agent/audit.jsonl, else
// ~/.local/state/clay-agent/audit.jsonl, else clay-agent-audit.jsonl in the
// working directory when there is no home directory.
func DefaultPath() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "clay-agent", "audit.jsonl")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "clay-agent", "audit.jsonl")
	}
	return "clay-agent-audit.jsonl"
}

// DefaultActor is the actor recorded when none is given: $USER, else the
// login name of the current user, else "uid:<n>".
func DefaultActor() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid:%d", os.Getuid())
}

// Option configures a Log.
type Option func(*options)

type options struct {
	actor     string
	workspace string
	now       func() time.Time
	// beforeAppend, when set, may refuse a record before it is written.
	beforeAppend func(Record) error
}

// WithActor sets the actor recorded on records that have none. The
// default is DefaultActor().
func WithActor(actor string) Option { return func(o *options) { o.actor = actor } }

// WithWorkspace sets the workspace recorded on records that have none.
func WithWorkspace(workspace string) Option {
	return func(o *options) { o.workspace = workspace }
}

// WithClock sets the clock used to stamp records. The default is
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Log appends records to an audit log file. It is safe for concurrent use.
type Log struct {
	path string
	opts options

	mu sync.Mutex // serializes this process's appends; flock serializes processes
	f  *os.File
}

// Open opens the log at path for appending, creating its parent directory
// (mode 0700) and the file (mode 0600) if needed. It does not verify the
// existing content.
func Open(path string, opts ...Option) (*Log, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.actor == "" {
		o.actor = DefaultActor()
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: create directory for %s: %w", path, err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// Make the new file's name durable along with its first record.
		if err := syncDir(dir); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("audit: create %s: %w", path, err)
		}
	}
	return &Log{path: path, opts: o, f: f}, nil
}

// Path returns the log file's path.
func (l *Log) Path() string { return l.path }

// Append writes r as a new line and returns the record as stored. It fills
// ID, Time, Actor and Workspace when they are empty, and always sets Prev
// from the file's current last line (a Prev set by the caller is ignored:
// only the log knows what the last line is). A nil Evidence is stored as
// an empty list.
func (l *Log) Append(r Record) (Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return Record{}, fmt.Errorf("audit: append to %s: %w", l.path, os.ErrClosed)
	}
	if r.Time.IsZero() {
		r.Time = l.opts.now()
	}
	r.Time = r.Time.UTC()
	if r.ID == "" {
		r.ID = newID(r.Time)
	}
	if r.Actor == "" {
		r.Actor = l.opts.actor
	}
	if r.Workspace == "" {
		r.Workspace = l.opts.workspace
	}
	if r.Evidence == nil {
		r.Evidence = []string{}
	}

	if err := flock(l.f, syscall.LOCK_EX); err != nil {
		return Record{}, fmt.Errorf("audit: lock %s: %w", l.path, err)
	}
	defer func() { _ = flock(l.f, syscall.LOCK_UN) }()

	last, terminated, err := lastLine(l.f)
	if err != nil {
		return Record{}, fmt.Errorf("audit: read %s: %w", l.path, err)
	}
	r.Prev = Genesis
	if last != nil {
		r.Prev = hashLine(last)
	}
	if l.opts.beforeAppend != nil {
		if err := l.opts.beforeAppend(r); err != nil {
			return Record{}, fmt.Errorf("audit: write %s: %w", l.path, err)
		}
	}
	line, err := json.Marshal(r)
	if err != nil {
		return Record{}, fmt.Errorf("audit: encode record: %w", err)
	}
	buf := make([]byte, 0, len(line)+2)
	if !terminated {
		buf = append(buf, '\n') // end a torn line before starting ours
	}
	buf = append(buf, line...)
	buf = append(buf, '\n')
	if _, err := l.f.Write(buf); err != nil {
		return Record{}, fmt.Errorf("audit: write %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return Record{}, fmt.Errorf("audit: sync %s: %w", l.path, err)
	}
	return r, nil
}

// Close closes the log. Appending after Close fails with an error wrapping
// os.ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("audit: close %s: %w", l.path, err)
	}
	return nil
}

// hashLine is the chain hash of a line (without its newline).
func hashLine(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// flock applies a flock(2) operation, retrying when a signal interrupts it.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// tailChunk is how much lastLine reads at a time, from the end backwards.
const tailChunk = 4096

// lastLine returns the last line of f without its newline, and whether the
// file ends with a newline. An empty file gives a nil line and
// terminated=true.
func lastLine(f *os.File) (line []byte, terminated bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	end := fi.Size()
	if end == 0 {
		return nil, true, nil
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], end-1); err != nil {
		return nil, false, err
	}
	terminated = b[0] == '\n'
	if terminated {
		end--
	}
	line = []byte{}
	for pos := end; pos > 0; {
		n := min(int64(tailChunk), pos)
		pos -= n
		chunk := make([]byte, n)
		if _, err := f.ReadAt(chunk, pos); err != nil {
			return nil, false, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return append(chunk[i+1:], line...), terminated, nil
		}
		line = append(chunk, line...)
	}
	return line, terminated, nil
}

// syncDir flushes a directory so that a file created in it survives a
// crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// isHexDigest reports whether s looks like a lowercase hex SHA-256.
func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}
