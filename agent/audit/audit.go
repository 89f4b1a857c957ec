// Package audit keeps a tamper-evident record of what the agent did.
//
// The log is a JSON Lines file: one Record per line, appended and never
// rewritten. Each record carries in its "prev" field the SHA-256 (hex) of
// the bytes of the line before it, without the newline; the first line
// carries 64 zeros (Genesis). Editing, removing, inserting or reordering a
// line breaks the chain at the line after the change, and Verify reports
// it with a line number. The chain hash of the last line is the log's
// head: the prev the next record will carry.
//
// # Keyed records
//
// A Log opened WithKey also signs each record it writes: the record's
// "mac" field is the lowercase hex HMAC-SHA256, under the key, of the
// record's canonical bytes. The canonical bytes are the line as written
// without its "mac" member: the record encoded with json.Marshal with an
// empty MAC, which the encoding omits. The log writes "mac" as the last
// member, so a keyed line is its canonical bytes with the final "}"
// replaced by `,"mac":"<64 hex digits>"}`. The canonical bytes include
// "prev", so a MAC covers the whole chain before its record.
//
// Verifying with VerifyKey applies these rules:
//
//   - a record that carries a MAC must carry it in that form, and the MAC
//     must match;
//   - records before the first record with a MAC may have none (they were
//     written before the log had a key) and are covered by the chain only:
//     changing any of them breaks the chain into the first keyed record;
//   - from the first record with a MAC on, every record must carry one: a
//     record without a MAC after a keyed one was appended without the key;
//   - the last record must carry a valid MAC, so a log that holds no keyed
//     record (an empty one included) fails.
//
// Without VerifyKey, MACs are not checked; Summary.MACs counts them.
//
// # Anchors
//
// VerifyAnchor checks that a head kept earlier (an anchor) is the chain
// hash of a line of the log, which proves that nothing up to that line was
// removed or rewritten since the anchor was taken. Publish the head
// somewhere the log's writers cannot change it (`agent snapshot` sends it
// with its webhook and `agent serve` on /metrics) and verify against it
// later.
//
// # What the chain cannot show
//
// The hash chain alone cannot show lines cut from the end of the file, or
// a file rewritten from scratch with fresh hashes. The key adds that
// records cannot be added, rewritten or rewritten from scratch by anyone
// who does not hold the key: a forged record has no valid MAC, and a log
// that no longer ends with a keyed record fails. An anchor adds that
// nothing up to the anchored line was removed or rewritten, even by
// someone who holds the key. What remains undetectable: anyone holding the
// key can write records, or a whole new log, that verify; and records cut
// from the end of the log after the last anchor kept elsewhere (a log cut
// back to an earlier keyed record still verifies). Keep the key away from
// those who should not write the log, and keep anchors often.
//
// # Concurrency and crashes
//
// Appends are safe across goroutines and processes: each takes an
// exclusive flock(2) on the file, reads the last line to compute prev,
// writes the new line and fsyncs before unlocking.
//
// A crash in the middle of a write can leave a torn last line (part of a
// record, no newline). The next append ends that line with a newline and
// first writes a "recovered" record (OutcomeRecovered) whose prev is the
// hash of the torn bytes as they are and whose detail gives the torn
// line's length and line number; its own record follows. Nothing is lost
// or rewritten. Verify accepts a line that is not a record only when the
// next line is a recovered record that chains to it (which, in the keyed
// part of a log, must carry a valid MAC), and counts it in Summary.Sealed.
// A torn line without a recovered record after it fails verification with
// an error wrapping ErrTorn.
package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clay-agent/clay-agent/agent/secret"
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
	// OutcomeApproved records the approval of a plan (agent approve).
	OutcomeApproved = "approved"
	// OutcomeRecovered is the outcome of the record Append writes after a
	// torn line to seal it; see the package documentation.
	OutcomeRecovered = "recovered"
)

// Key sizes.
const (
	// MinKeyLen is the shortest key WithKey and ReadKeyFile accept.
	MinKeyLen = 32
	// MaxKeyLen is the longest key file ReadKeyFile reads.
	MaxKeyLen = 4096
)

// ErrKey is wrapped by the errors of a key that cannot be used: a key
// file that is missing, readable by others, empty, too short or too long,
// or a key that does not match the MAC of the log's last record.
var ErrKey = errors.New("unusable audit key")

// ErrKeyRequired is returned by Open without a key for a log whose last
// record carries a MAC: records appended without the key would make the
// log fail verification.
var ErrKeyRequired = errors.New("the audit log is keyed")

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
	// Plan is the digest of the plan a run applies (agent apply), and
	// ApprovedBy who approved it; both empty for other runs.
	Plan       string `json:"plan,omitempty"`
	ApprovedBy string `json:"approved_by,omitempty"`
	// Request is the id of the request a run serves (a SCIM request), and
	// Client who sent it; both empty for command-line runs.
	Request string `json:"request,omitempty"`
	Client  string `json:"client,omitempty"`
	// Prev is the hex SHA-256 of the previous line, or Genesis.
	Prev string `json:"prev"`
	// MAC is the hex HMAC-SHA256 of the record's canonical bytes under the
	// log's key, or empty when the log has no key. It must stay the last
	// field: see the package documentation.
	MAC string `json:"mac,omitempty"`
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
	key       []byte
	// beforeAppend, when set, may refuse a record before it is written.
	beforeAppend func(Record) error
	// plan and approvedBy go on every record (see WithPlan).
	plan, approvedBy string
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

// WithKey makes the log sign every record it writes with an HMAC-SHA256
// under key, which must be at least MinKeyLen bytes. The key is copied.
func WithKey(key []byte) Option {
	return func(o *options) { o.key = bytes.Clone(key) }
}

// ReadKeyFile reads a key from the file at path, byte for byte (a
// trailing newline is part of the key). The file holds a secret and is
// read by secret.Read: a regular file (links followed) of the effective
// user that neither group nor others may access (mode 0600 or stricter),
// of at most MaxKeyLen bytes; and it must hold at least MinKeyLen. Errors
// wrap ErrKey, and secret's reason when the file was refused (e.g.
// secret.ErrPermissive), and never quote the file's content.
func ReadKeyFile(path string) ([]byte, error) {
	key, err := secret.Read(path, secret.Options{Kind: "audit key", MaxSize: MaxKeyLen})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("%w: audit key file %s %w", ErrKey, path, err)
	}
	return key, nil
}

// checkKey says what is wrong with a key's length, if anything, as the
// end of a sentence.
func checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return errors.New("is empty")
	case len(key) < MinKeyLen:
		return fmt.Errorf("holds %d bytes; a key needs at least %d (e.g. head -c 32 /dev/urandom)", len(key), MinKeyLen)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("holds more than %d bytes", MaxKeyLen)
	}
	return nil
}

// Log appends records to an audit log file. It is safe for concurrent use.
type Log struct {
	path string
	opts options

	mu sync.Mutex // serializes this process's appends; flock serializes processes
	f  *os.File
}

// Open opens the log at path for appending, creating its parent directory
// (mode 0700) and the file (mode 0600) if needed. It does not verify the
// existing content, but it looks at the last record: if that record
// carries a MAC, Open without a key fails with ErrKeyRequired, and Open
// with a key that does not match it fails with an error wrapping ErrKey.
func Open(path string, opts ...Option) (*Log, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.actor == "" {
		o.actor = DefaultActor()
	}
	if o.key != nil {
		if err := checkKey(o.key); err != nil {
			return nil, fmt.Errorf("%w: the key %w", ErrKey, err)
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: create directory for %s: %w", path, err)
	}
	fi, statErr := os.Lstat(path)
	if statErr == nil {
		if err := checkInfo(fi, path); err != nil {
			return nil, err
		}
	}
	// O_NOFOLLOW: a link put in the log's place between the check and
	// the open is refused too
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("audit: %w: %s is a symbolic link: give the log file itself", ErrNotRegular, path)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	if err := checkOpened(f, path); err != nil {
		_ = f.Close()
		return nil, err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// Make the new file's name durable along with its first record.
		if err := syncDir(dir); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("audit: create %s: %w", path, err)
		}
	}
	if err := checkLastRecordKey(f, o.key); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	return &Log{path: path, opts: o, f: f}, nil
}

// ErrNotRegular is wrapped by the errors of a log path that is not a
// regular file of the user: a symbolic link (which would append to
// whatever it points at), a device, a pipe, a directory, or a file owned
// by someone else.
var ErrNotRegular = errors.New("not a regular file of this user")

// CheckFile returns an error wrapping ErrNotRegular unless path is a
// regular file, not a symbolic link, owned by the user running the agent.
func CheckFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("audit: %s: %w", path, err)
	}
	return checkInfo(fi, path)
}

func checkInfo(fi fs.FileInfo, path string) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("audit: %w: %s is a symbolic link: give the log file itself", ErrNotRegular, path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("audit: %w: %s is a %s, not a file", ErrNotRegular, path, fileKind(fi.Mode()))
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("audit: %w: %s belongs to uid %d, not to this user (uid %d)", ErrNotRegular, path, st.Uid, os.Geteuid())
	}
	return nil
}

func checkOpened(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("audit: %s: %w", path, err)
	}
	return checkInfo(fi, path)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// checkLastRecordKey makes sure that appending with key (nil for none)
// keeps the log verifiable: a log whose last record carries a MAC needs
// the key that made it. A torn last line is skipped for the record before
// it.
func checkLastRecordKey(f *os.File, key []byte) error {
	if err := flock(f, syscall.LOCK_SH); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer func() { _ = flock(f, syscall.LOCK_UN) }()
	line, start, terminated, err := lastLine(f)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	rec, derr := decodeRecord(line)
	if derr != nil && !terminated && start > 0 {
		// a torn line: the record before it decides
		line, _, err = lineEndingAt(f, start-1)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		rec, derr = decodeRecord(line)
	}
	if derr != nil || rec.MAC == "" {
		return nil
	}
	if key == nil {
		return fmt.Errorf("%w: its last record carries a MAC, and records appended without the key would fail verification", ErrKeyRequired)
	}
	if err := checkMAC(line, rec.MAC, key); err != nil {
		return fmt.Errorf("%w: the key does not match the MAC of the log's last record: %w", ErrKey, err)
	}
	return nil
}

// Path returns the log file's path.
func (l *Log) Path() string { return l.path }

// Append writes r as a new line and returns the record as stored. It fills
// ID, Time, Actor and Workspace when they are empty, and always sets Prev
// from the file's current last line (a Prev set by the caller is ignored:
// only the log knows what the last line is), and MAC when the log has a
// key (a MAC set by the caller is ignored). A nil Evidence is stored as an
// empty list. When the file ends with a torn line, Append first writes a
// recovered record that seals it; see the package documentation.
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
	if r.Plan == "" {
		r.Plan, r.ApprovedBy = l.opts.plan, l.opts.approvedBy
	}
	if r.Evidence == nil {
		r.Evidence = []string{}
	}

	if err := flock(l.f, syscall.LOCK_EX); err != nil {
		return Record{}, fmt.Errorf("audit: lock %s: %w", l.path, err)
	}
	defer func() { _ = flock(l.f, syscall.LOCK_UN) }()

	last, start, terminated, err := lastLine(l.f)
	if err != nil {
		return Record{}, fmt.Errorf("audit: read %s: %w", l.path, err)
	}
	prev := Genesis
	if last != nil {
		prev = hashLine(last)
	}
	var buf []byte
	if !terminated {
		buf = append(buf, '\n') // end an unterminated line before starting ours
		if _, derr := decodeRecord(last); derr != nil {
			// A torn line: seal it with a record that chains to it.
			seal, err := l.sealRecord(r, last, start)
			if err != nil {
				return Record{}, fmt.Errorf("audit: seal a torn line in %s: %w", l.path, err)
			}
			seal.Prev = prev
			line, _, err := l.encode(seal)
			if err != nil {
				return Record{}, err
			}
			buf = append(append(buf, line...), '\n')
			prev = hashLine(line)
		}
	}
	r.Prev = prev
	if l.opts.beforeAppend != nil {
		if err := l.opts.beforeAppend(r); err != nil {
			return Record{}, fmt.Errorf("audit: write %s: %w", l.path, err)
		}
	}
	line, mac, err := l.encode(r)
	if err != nil {
		return Record{}, err
	}
	r.MAC = mac
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

// sealRecord is the recovered record that seals the torn line of length
// len(torn) starting at offset start, written on behalf of r.
func (l *Log) sealRecord(r Record, torn []byte, start int64) (Record, error) {
	lineNo, err := countLines(l.f, start)
	if err != nil {
		return Record{}, err
	}
	return Record{
		ID:        newID(r.Time),
		Time:      r.Time,
		Actor:     r.Actor,
		Workspace: r.Workspace,
		Command:   r.Command,
		Outcome:   OutcomeRecovered,
		Detail: fmt.Sprintf("sealed a torn line of %d bytes at line %d (a write cut short); the line is kept as it was",
			len(torn), lineNo+1),
		Evidence: []string{},
	}, nil
}

// encode returns the line that stores r, and its MAC: the canonical
// bytes with the MAC under the log's key, or as they are (and no MAC) when
// the log has no key. r.MAC is ignored.
func (l *Log) encode(r Record) (line []byte, mac string, err error) {
	r.MAC = ""
	canonical, err := json.Marshal(r)
	if err != nil {
		return nil, "", fmt.Errorf("audit: encode record: %w", err)
	}
	if l.opts.key == nil {
		return canonical, "", nil
	}
	mac = computeMAC(canonical, l.opts.key)
	return withMAC(canonical, mac), mac, nil
}

// macMember starts the "mac" member that a keyed line ends with.
const macMember = `,"mac":"`

// macHexLen is the length of a MAC in hex.
const macHexLen = 2 * sha256.Size

// computeMAC is the hex HMAC-SHA256 of canonical under key.
func computeMAC(canonical, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(canonical)
	return hex.EncodeToString(m.Sum(nil))
}

// withMAC turns canonical bytes (a JSON object) into a keyed line by
// adding the "mac" member as the object's last.
func withMAC(canonical []byte, mac string) []byte {
	out := make([]byte, 0, len(canonical)+len(macMember)+len(mac)+2)
	out = append(out, canonical[:len(canonical)-1]...)
	out = append(out, macMember...)
	out = append(out, mac...)
	return append(out, `"}`...)
}

// errMACMismatch says that a MAC does not match its record.
var errMACMismatch = errors.New("the MAC does not match the record (a wrong key, or the record was changed)")

// checkMAC checks the MAC of a keyed line, whose decoded "mac" is mac: it
// must be the line's last member, in the form the log writes, and match
// the HMAC of the rest of the line under key.
func checkMAC(line []byte, mac string, key []byte) error {
	tail := macMember + mac + `"}`
	if len(mac) != macHexLen || !isHexDigest(mac) || !bytes.HasSuffix(line, []byte(tail)) ||
		len(line) <= len(tail) {
		return errors.New(`the "mac" field is not the 64 hex digits the log writes as the record's last field`)
	}
	canonical := append(bytes.Clone(line[:len(line)-len(tail)]), '}')
	want := computeMAC(canonical, key)
	if !hmac.Equal([]byte(want), []byte(mac)) {
		return errMACMismatch
	}
	return nil
}

// decodeRecord parses one line as a record: one JSON object and nothing
// after it.
func decodeRecord(line []byte) (Record, error) {
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&rec); err != nil {
		return Record{}, err
	}
	if dec.More() {
		return Record{}, errTrailingData
	}
	return rec, nil
}

// errTrailingData is decodeRecord's error for data after the record.
var errTrailingData = errors.New("unexpected data after the record")

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

// lastLine returns the last line of f without its newline, the offset at
// which it starts, and whether the file ends with a newline. An empty file
// gives a nil line and terminated=true.
func lastLine(f *os.File) (line []byte, start int64, terminated bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, false, err
	}
	end := fi.Size()
	if end == 0 {
		return nil, 0, true, nil
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], end-1); err != nil {
		return nil, 0, false, err
	}
	terminated = b[0] == '\n'
	if terminated {
		end--
	}
	line, start, err = lineEndingAt(f, end)
	return line, start, terminated, err
}

// lineEndingAt returns the line of f that ends just before offset end
// (where its newline is, or the end of the file), and the offset at which
// it starts.
func lineEndingAt(f *os.File, end int64) (line []byte, start int64, err error) {
	line = []byte{}
	for pos := end; pos > 0; {
		n := min(int64(tailChunk), pos)
		pos -= n
		chunk := make([]byte, n)
		if _, err := f.ReadAt(chunk, pos); err != nil {
			return nil, 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return append(chunk[i+1:], line...), pos + int64(i) + 1, nil
		}
		line = append(chunk, line...)
	}
	return line, 0, nil
}

// countLines counts the newlines in the first end bytes of f.
func countLines(f *os.File, end int64) (int, error) {
	n := 0
	chunk := make([]byte, 64*1024)
	for pos := int64(0); pos < end; {
		k, err := f.ReadAt(chunk[:min(int64(len(chunk)), end-pos)], pos)
		n += bytes.Count(chunk[:k], []byte{'\n'})
		pos += int64(k)
		if err != nil && !(errors.Is(err, io.EOF) && pos >= end) {
			return 0, err
		}
	}
	return n, nil
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
