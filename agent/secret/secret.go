package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/clay-agent/clay-agent/agent/core"
)

// DefaultMaxSize is the size limit of a secret whose Options leave
// MaxSize unset.
const DefaultMaxSize = 64 << 10

// refusal is the type of the sentinel errors: each matches core.ErrUsage
// too, so a refused secret is bad input (exit code 2).
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// Unwrap makes errors.Is(err, core.ErrUsage) hold for every refusal.
func (r *refusal) Unwrap() error { return core.ErrUsage }

// The reasons a secret is refused. Every error Read and FromFileOrEnv
// return matches exactly one of them, and core.ErrUsage; check with
// errors.Is.
var (
	// ErrNotFound: no file was named, or the file (or the file a link
	// leads to) does not exist. The error also matches fs.ErrNotExist
	// when the file system said so.
	ErrNotFound error = &refusal{"secret file not found"}
	// ErrNotRegular: the file is a directory, a named pipe, a device or
	// a socket.
	ErrNotRegular error = &refusal{"secret file is not a regular file"}
	// ErrPermissive: group or others may read or write the file (any bit
	// of mode 0o077 is set). The message says how to fix it: chmod 600.
	ErrPermissive error = &refusal{"secret file is accessible by group or others"}
	// ErrNotOwned: the file belongs to another user than the effective
	// user the agent runs as.
	ErrNotOwned error = &refusal{"secret file is owned by another user"}
	// ErrTooLarge: the secret holds more than Options.MaxSize bytes.
	ErrTooLarge error = &refusal{"secret is too large"}
	// ErrEmpty: the file is empty, or holds only white space when
	// Options.Trim is set.
	ErrEmpty error = &refusal{"secret file is empty"}
	// ErrUnreadable: the file could not be resolved, opened or read (no
	// permission on it or on a directory above it, a loop of links, an
	// I/O error), or it was replaced while it was being opened.
	ErrUnreadable error = &refusal{"secret file cannot be read"}
)

// Options say what a secret is and how much of it there may be.
type Options struct {
	// Kind names the secret in messages, e.g. "session file", "audit
	// key", "SCIM token", "Okta API token". A kind that does not end in
	// "file" gets " file" added where the file is meant.
	Kind string
	// MaxSize is the most bytes the file may hold (before trimming);
	// DefaultMaxSize when zero or negative.
	MaxSize int64
	// Trim removes leading and trailing white space (a token file written
	// with echo ends in a newline). Without it the bytes are returned as
	// they are, a trailing newline included.
	Trim bool
}

func (o Options) maxSize() int64 {
	if o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return o.MaxSize
}

// fileName is the kind as the name of a file: "audit key file",
// "session file".
func (o Options) fileName() string {
	k := o.Kind
	if k == "" {
		k = "secret"
	}
	if strings.HasSuffix(k, "file") {
		return k
	}
	return k + " file"
}

// refused is an error of Read or FromFileOrEnv: what names the secret
// (its kind and path, or the variable it came from), detail ends the
// sentence. It matches its reason, the file system's error behind it when
// there is one, and core.ErrUsage. It never holds the secret.
type refused struct {
	what   string
	detail string
	reason error
	cause  error
}

func (e *refused) Error() string { return e.what + " " + e.detail }

// Unwrap returns the reason and, when there is one, the cause.
func (e *refused) Unwrap() []error {
	if e.cause == nil {
		return []error{e.reason}
	}
	return []error{e.reason, e.cause}
}

// file is what a refusal of the file at path says first: the kind, the
// path, and where a link led.
func (o Options) file(path, resolved string) string {
	s := o.fileName() + " " + path
	if resolved != "" && resolved != filepath.Clean(path) {
		s += " (a link to " + resolved + ")"
	}
	return s
}

// Read reads the secret in the file at path under the package's policy
// (see the package documentation) and returns its bytes, trimmed when
// opts.Trim is set. A file that breaks the policy is refused with an error
// matching one of the sentinel errors and core.ErrUsage; its message
// names opts.Kind and path and never the content.
func Read(path string, opts Options) ([]byte, error) {
	if path == "" {
		return nil, &refused{what: "no " + opts.fileName(), detail: "was named", reason: ErrNotFound}
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fsRefusal(opts.file(path, ""), err)
	}
	what := opts.file(path, resolved)
	st, err := os.Lstat(resolved)
	if err != nil {
		return nil, fsRefusal(what, err)
	}
	if err := check(st, path, opts); err != nil {
		err.what = what
		return nil, err
	}
	// O_NOFOLLOW: a link put in place of the checked file is not
	// followed; O_NONBLOCK: a named pipe put there does not block.
	f, err := os.OpenFile(resolved, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fsRefusal(what, err)
	}
	defer func() { _ = f.Close() }()
	// what was opened is what counts: check it again
	if st, err = f.Stat(); err != nil {
		return nil, fsRefusal(what, err)
	}
	if err := check(st, path, opts); err != nil {
		err.what = what
		return nil, err
	}
	return readOpen(f, what, opts)
}

// readOpen reads the checked, open file f.
func readOpen(f *os.File, what string, opts Options) ([]byte, error) {
	limit := opts.maxSize()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fsRefusal(what, err)
	}
	if int64(len(data)) > limit {
		// it grew after the check
		return nil, &refused{what: what, detail: fmt.Sprintf("is too large (more than %d bytes)", limit), reason: ErrTooLarge}
	}
	if len(data) == 0 {
		return nil, &refused{what: what, detail: "is empty", reason: ErrEmpty}
	}
	if opts.Trim {
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			return nil, &refused{what: what, detail: "holds only white space", reason: ErrEmpty}
		}
	}
	return data, nil
}

// check applies the policy to what stat says of a file: its type, owner,
// mode and size, in that order. path is the name the fix is given for.
func check(st fs.FileInfo, path string, opts Options) *refused {
	mode := st.Mode()
	switch {
	case mode.IsDir():
		return &refused{detail: "is a directory", reason: ErrNotRegular}
	case !mode.IsRegular():
		return &refused{detail: "is " + typeName(mode) + ", not a regular file", reason: ErrNotRegular}
	}
	if uid, ok := owner(st); ok && uid != os.Geteuid() {
		return &refused{
			detail: fmt.Sprintf("is owned by uid %d, not by uid %d that the agent runs as (another user could change it); run: chown %d %s, or run the agent as its owner",
				uid, os.Geteuid(), os.Geteuid(), path),
			reason: ErrNotOwned,
		}
	}
	if perm := mode.Perm(); perm&0o077 != 0 {
		return &refused{
			detail: fmt.Sprintf("is accessible by group or others (mode %04o); run: chmod 600 %s", perm, path),
			reason: ErrPermissive,
		}
	}
	if limit := opts.maxSize(); st.Size() > limit {
		return &refused{detail: fmt.Sprintf("is too large (%d bytes, at most %d)", st.Size(), limit), reason: ErrTooLarge}
	}
	return nil
}

// owner is the uid that owns the file, where the system says.
func owner(st fs.FileInfo) (int, bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(sys.Uid), true
}

// typeName says what kind of file a mode that is not regular describes.
func typeName(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}

// fsRefusal turns the file system's error into a refusal: a missing file
// is ErrNotFound, anything else ErrUnreadable. The message keeps the
// system's reason (e.g. "permission denied"), not its repetition of the
// path.
func fsRefusal(what string, err error) *refused {
	reason := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		reason = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return &refused{what: what, detail: "does not exist", reason: ErrNotFound, cause: err}
	case errors.Is(err, syscall.ELOOP):
		return &refused{what: what, detail: "cannot be read: it is a loop of links, or was replaced by a link while it was opened", reason: ErrUnreadable, cause: err}
	}
	return &refused{what: what, detail: "cannot be read: " + reason.Error(), reason: ErrUnreadable, cause: err}
}

// FromFileOrEnv reads a secret that may come from a file or from the
// environment variable envName. A named file wins, and is read by Read
// under the same policy; from is then the file's path. Without a file the
// value is getenv(envName) (os.Getenv when getenv is nil), trimmed when
// opts.Trim is set, and from is "$"+envName. An unset or blank variable
// gives a nil value and no error: the caller knows which flag or
// variable to ask for. A value over opts.MaxSize is refused with
// ErrTooLarge.
func FromFileOrEnv(file, envName string, getenv func(string) string, opts Options) (value []byte, from string, err error) {
	if file != "" {
		v, err := Read(file, opts)
		if err != nil {
			return nil, file, err
		}
		return v, file, nil
	}
	from = "$" + envName
	if getenv == nil {
		getenv = os.Getenv
	}
	v := []byte(getenv(envName))
	if opts.Trim {
		v = bytes.TrimSpace(v)
	}
	if len(v) == 0 {
		return nil, from, nil
	}
	kind := opts.Kind
	if kind == "" {
		kind = "secret"
	}
	if limit := opts.maxSize(); int64(len(v)) > limit {
		return nil, from, &refused{what: "the " + kind + " in " + from,
			detail: fmt.Sprintf("is too large (%d bytes, at most %d)", len(v), limit), reason: ErrTooLarge}
	}
	return v, from, nil
}
