package snapshot

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// TimeLayout is the format of the UTC time in a snapshot's file name.
const TimeLayout = "20060102T150405Z"

// File and directory modes: a roster lists people's addresses.
const (
	FileMode os.FileMode = 0o600
	DirMode  os.FileMode = 0o700
)

// maxSeq bounds the suffixes Save tries when names collide.
const maxSeq = 1000

var (
	// ErrNoSnapshot is returned by Latest when no earlier snapshot of the
	// workspace exists.
	ErrNoSnapshot = errors.New("no earlier snapshot")
	// ErrInvalidSnapshot marks a file that is not a snapshot: it does not
	// parse, or its name does not follow the naming scheme.
	ErrInvalidSnapshot = errors.New("invalid snapshot")
	// ErrInvalidKeep is returned by Prune for a keep count below 1.
	ErrInvalidKeep = errors.New("keep must be at least 1")
)

// fileNameRE matches "<key>-<time>.json" and "<key>-<time>-<seq>.json".
var fileNameRE = regexp.MustCompile(`^(.+)-(\d{8}T\d{6}Z)(?:-(\d+))?\.json$`)

// Entry is a snapshot file found in a directory.
type Entry struct {
	// Path is the file's path.
	Path string
	// Key is the workspace as it appears in the file name (see FileKey).
	Key string
	// Time is the capture time to the second, from the name.
	Time time.Time
	// Seq tells snapshots taken in the same second apart: 1 for the first.
	Seq int
}

// compare orders entries oldest first.
func (e Entry) compare(o Entry) int {
	return cmp.Or(e.Time.Compare(o.Time), cmp.Compare(e.Seq, o.Seq), cmp.Compare(e.Path, o.Path))
}

// ParseFileName reads the parts of a snapshot's file name. path may be a
// base name or a path; temporary files are never snapshots.
func ParseFileName(path string) (Entry, error) {
	base := filepath.Base(path)
	if fsutil.IsTemp(base) || strings.HasPrefix(base, ".") {
		return Entry{}, fmt.Errorf("%w: %s is a temporary or hidden file", ErrInvalidSnapshot, base)
	}
	m := fileNameRE.FindStringSubmatch(base)
	if m == nil {
		return Entry{}, fmt.Errorf("%w: name %q is not <workspace>-<%s>.json", ErrInvalidSnapshot, base, TimeLayout)
	}
	t, err := time.Parse(TimeLayout, m[2])
	if err != nil {
		return Entry{}, fmt.Errorf("%w: name %q: %w", ErrInvalidSnapshot, base, err)
	}
	seq := 1
	if m[3] != "" {
		if seq, err = strconv.Atoi(m[3]); err != nil || seq < 2 {
			return Entry{}, fmt.Errorf("%w: name %q: bad sequence number", ErrInvalidSnapshot, base)
		}
	}
	return Entry{Path: path, Key: m[1], Time: t, Seq: seq}, nil
}

// FileKey is the form of a workspace name used in file names: letters,
// digits, '.', '-' and '_' are kept, any other run of characters becomes
// '_', and leading dots are dropped. An empty name becomes "workspace".
func FileKey(workspace string) string {
	var b strings.Builder
	pending := false
	for _, r := range strings.TrimSpace(workspace) {
		ok := r == '.' || r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			pending = true
			continue
		}
		if pending && b.Len() > 0 {
			b.WriteByte('_')
		}
		pending = false
		b.WriteRune(r)
	}
	key := strings.TrimLeft(b.String(), ".")
	if key == "" {
		return "workspace"
	}
	return key
}

// FileName is the name of the seq-th snapshot of workspace captured at t,
// e.g. "acme-20240131T235959Z.json", then "acme-20240131T235959Z-2.json".
func FileName(workspace string, t time.Time, seq int) string {
	name := FileKey(workspace) + "-" + t.UTC().Format(TimeLayout)
	if seq > 1 {
		name += "-" + strconv.Itoa(seq)
	}
	return name + ".json"
}

// Save writes r to a new file in dir, creating dir with mode 0700 if
// needed. The name comes from r.Workspace and r.CapturedAt (now, when
// zero); a name that exists gets the next sequence number, so no file is
// ever overwritten. The write is atomic: a crash leaves either no file or
// the complete one (plus, at worst, a temporary file that List ignores).
func Save(dir string, r *roster.Roster) (string, error) {
	if r == nil {
		return "", errors.New("snapshot: save: nil roster")
	}
	snap := *r
	if snap.CapturedAt.IsZero() {
		snap.CapturedAt = time.Now()
	}
	snap.CapturedAt = snap.CapturedAt.UTC()
	snap.Members = orEmpty(snap.Members)
	snap.Invitations = orEmpty(snap.Invitations)
	data, err := json.MarshalIndent(&snap, "", "  ")
	if err != nil {
		return "", fmt.Errorf("snapshot: encode: %w", err)
	}
	data = append(data, '\n')
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return "", fmt.Errorf("snapshot: create directory: %w", err)
	}
	for seq := 1; seq <= maxSeq; seq++ {
		path := filepath.Join(dir, FileName(snap.Workspace, snap.CapturedAt, seq))
		err := fsutil.CreateFileAtomic(path, data, FileMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("snapshot: save: %w", err)
		}
		return path, nil
	}
	return "", fmt.Errorf("snapshot: save: %d snapshots of %q within one second: %w", maxSeq, snap.Workspace, fs.ErrExist)
}

// Load reads a snapshot file. Content that does not parse as a roster is
// reported with ErrInvalidSnapshot.
func Load(path string) (*roster.Roster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("snapshot: load: %w", err)
	}
	var r roster.Roster
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("snapshot: load %s: %w: %w", path, ErrInvalidSnapshot, err)
	}
	if r.CapturedAt.IsZero() && r.Members == nil && r.Invitations == nil {
		return nil, fmt.Errorf("snapshot: load %s: %w: not a roster", path, ErrInvalidSnapshot)
	}
	return &r, nil
}

// List returns the snapshot files of workspace in dir, oldest first. Files
// of other workspaces, temporary files and names that do not follow the
// scheme are left out; contents are not read. A missing dir is empty.
func List(dir, workspace string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot: list: %w", err)
	}
	key := FileKey(workspace)
	var out []Entry
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		e, err := ParseFileName(filepath.Join(dir, de.Name()))
		if err != nil || e.Key != key {
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, Entry.compare)
	return out, nil
}

// Latest returns the newest snapshot of workspace in dir that is older than
// before (a snapshot's path or name; "" means no bound). Files that do not
// parse, or that hold another workspace whose name maps to the same file
// key, are skipped. With nothing left it returns ErrNoSnapshot.
func Latest(dir, workspace, before string) (string, *roster.Roster, error) {
	entries, err := List(dir, workspace)
	if err != nil {
		return "", nil, err
	}
	if before != "" {
		bound, err := ParseFileName(before)
		if err != nil {
			return "", nil, fmt.Errorf("snapshot: latest before %s: %w", before, err)
		}
		entries = slices.DeleteFunc(entries, func(e Entry) bool {
			return cmp.Or(e.Time.Compare(bound.Time), cmp.Compare(e.Seq, bound.Seq)) >= 0
		})
	}
	want := strings.TrimSpace(workspace)
	for _, e := range slices.Backward(entries) {
		r, err := Load(e.Path)
		switch {
		case errors.Is(err, ErrInvalidSnapshot), errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return "", nil, err
		case strings.TrimSpace(r.Workspace) != want:
			continue
		}
		return e.Path, r, nil
	}
	return "", nil, fmt.Errorf("snapshot: %q in %s: %w", workspace, dir, ErrNoSnapshot)
}

// Prune removes all but the newest keep snapshots of workspace in dir,
// going by file names, and returns the removed paths. Other workspaces'
// files and temporary files are never touched.
func Prune(dir, workspace string, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("snapshot: prune: %w (got %d)", ErrInvalidKeep, keep)
	}
	entries, err := List(dir, workspace)
	if err != nil {
		return nil, err
	}
	if len(entries) <= keep {
		return nil, nil
	}
	var (
		removed []string
		errs    []error
	)
	for _, e := range entries[:len(entries)-keep] {
		if err := os.Remove(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Path)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("snapshot: prune: %w", err)
	}
	return removed, nil
}
