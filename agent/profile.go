package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Browser profiles. Each browser the agent starts keeps its profile
// (Chrome's user data directory: the session cookies the run installs,
// caches) in a directory of its own, profile-<pid>-<random>, under
// ProfileRoot. Close removes it. A process that never reaches Close (kill
// -9, a crash, the OOM killer) leaves it behind, so every start first
// removes the profiles of agents that are no longer running.

// profileRootPrefix starts the name of the directory, in os.TempDir(),
// that holds the profiles; the effective uid ends it, so that users who
// share /tmp never share it.
const profileRootPrefix = "clay-agent-chrome-"

// profileMode is the mode of the profile directories and their root.
const profileMode fs.FileMode = 0o700

// profileNameRE matches the name of a profile directory and captures the
// pid of the process that created it.
var profileNameRE = regexp.MustCompile(`^profile-([1-9][0-9]{0,9})-[0-9]+$`)

// Timing of the removal of a closed browser's profile: Chrome's own
// children (the zygote, the network service) can outlive the main process
// for a moment and write into the directory while it is removed.
const (
	profileRemoveLimit = 2 * time.Second
	leftoverPause      = 10 * time.Millisecond
	leftoverQuietRuns  = 3
)

// ErrProfileRoot means that the directory holding the browser profiles
// is not a private directory of the current user: a symbolic link, a file,
// or another user's directory.
var ErrProfileRoot = errors.New("the browser profile directory is not a private directory of this user")

// ProfileRoot returns the directory under which the agent keeps the
// profiles of the browsers it starts: clay-agent-chrome-<uid> in
// os.TempDir() ($TMPDIR, else /tmp).
func ProfileRoot() string {
	return filepath.Join(os.TempDir(), profileRootPrefix+strconv.Itoa(os.Geteuid()))
}

// newProfile removes the stale profiles under ProfileRoot and creates a
// profile directory for a browser of this process.
func newProfile(log *zap.Logger) (string, error) {
	root := ProfileRoot()
	if err := ensureProfileRoot(root); err != nil {
		return "", err
	}
	sweepProfiles(root, log)
	dir, err := os.MkdirTemp(root, fmt.Sprintf("profile-%d-", os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("creating the browser profile: %w", err)
	}
	return dir, nil
}

// ensureProfileRoot creates root with mode 0700, or checks that the
// existing one is a directory of the current user, not a symbolic link,
// and makes it private.
func ensureProfileRoot(root string) error {
	if err := os.Mkdir(root, profileMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating the browser profile directory: %w", err)
	}
	info, err := os.Lstat(root)
	if err != nil {
		return fmt.Errorf("the browser profile directory: %w", err)
	}
	if !info.IsDir() || !ownedBy(info, os.Geteuid()) {
		return fmt.Errorf("%w: %s (remove it, or point TMPDIR elsewhere)", ErrProfileRoot, root)
	}
	if info.Mode().Perm() != profileMode {
		if err := os.Chmod(root, profileMode); err != nil {
			return fmt.Errorf("the browser profile directory: %w", err)
		}
	}
	return nil
}

// sweepProfiles removes the profiles under root that a process no longer
// running created. It leaves alone every entry whose name is not a
// profile's, that is not a directory (a symbolic link is not followed),
// that belongs to another user, whose process is alive (or might be: only
// ESRCH proves it gone), or that a browser still uses. Failures are logged
// at debug level: the next start tries again.
func sweepProfiles(root string, log *zap.Logger) {
	ents, err := os.ReadDir(root)
	if err != nil {
		log.Debug("listing the browser profiles", zap.String("dir", root), zap.Error(err))
		return
	}
	self, uid := os.Getpid(), os.Geteuid()
	var inUse map[string][]int
	for _, ent := range ents {
		m := profileNameRE.FindStringSubmatch(ent.Name())
		if m == nil || ent.Type() != fs.ModeDir {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == self || processAlive(pid) {
			continue
		}
		dir := filepath.Join(root, ent.Name())
		info, err := os.Lstat(dir)
		if err != nil || !info.IsDir() || !ownedBy(info, uid) {
			continue
		}
		if inUse == nil {
			inUse = profileUsers()
		}
		if pids := inUse[dir]; len(pids) > 0 {
			log.Debug("a stale browser profile is still in use; it is left for a later start",
				zap.String("dir", dir), zap.Ints("pids", pids))
			continue
		}
		if err := removeDir(dir); err != nil {
			log.Debug("removing a stale browser profile", zap.String("dir", dir), zap.Error(err))
			continue
		}
		log.Debug("removed the browser profile of a process that is gone", zap.String("dir", dir), zap.Int("pid", pid))
	}
}

// removeProfile removes the profile of a browser that has exited: it
// kills the browser's processes that are left, then removes the directory.
// A failure is logged at debug level; a later start removes what is left.
func removeProfile(dir string, log *zap.Logger) {
	killProfileUsers(dir)
	if err := removeDir(dir); err != nil {
		log.Debug("removing the browser profile", zap.String("dir", dir), zap.Error(err))
	}
}

// removeDir removes dir and everything in it, for a browser whose
// processes are gone or going. A process that is exiting can still write:
// once its main thread has ended, /proc shows no command line for it, yet
// its other threads finish their work (Chrome's network service saves its
// state as it shuts down), so a file can appear while the directory is
// removed, and a directory can be made again right after. removeDir tries
// again until the directory has stayed absent a few looks in a row, for
// at most profileRemoveLimit, and returns the last error if it never did.
func removeDir(dir string) error {
	deadline := time.Now().Add(profileRemoveLimit)
	var err error
	for quiet := 0; ; time.Sleep(leftoverPause) {
		if _, serr := os.Lstat(dir); errors.Is(serr, fs.ErrNotExist) {
			if quiet++; quiet == leftoverQuietRuns {
				return nil
			}
			continue
		}
		quiet = 0
		if !time.Now().Before(deadline) {
			if err != nil {
				return fmt.Errorf("%w: %w", errProfileRewritten, err)
			}
			return errProfileRewritten
		}
		err = os.RemoveAll(dir)
		afterRemoval(dir)
	}
}

// afterRemoval runs after each removal of removeDir; tests set it to play
// a writer that makes the directory again, at a moment of their choosing
// instead of one the scheduler picks.
var afterRemoval = func(string) {}

// errProfileRewritten means that a profile directory was still there, or
// there again, when the time for its removal ran out.
var errProfileRewritten = errors.New("the directory was written again after its removal")

// killProfileUsers kills the processes left that run with dir as their
// user data directory, looking again until it finds none a few times in a
// row: a child can fork just as its parent dies.
func killProfileUsers(dir string) {
	deadline := time.Now().Add(profileRemoveLimit)
	for quiet := 0; quiet < leftoverQuietRuns && time.Now().Before(deadline); time.Sleep(leftoverPause) {
		pids := profileUsers()[dir]
		if len(pids) == 0 {
			quiet++
			continue
		}
		quiet = 0
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// profileUsers maps each user data directory given on a running process's
// command line (--user-data-dir=DIR) to the pids that use it. Without
// /proc it finds nothing.
func profileUsers() map[string][]int {
	out := map[string][]int{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	const flag = "--user-data-dir="
	self := os.Getpid()
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == self {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for arg := range bytes.SplitSeq(raw, []byte{0}) {
			if dir, ok := strings.CutPrefix(string(arg), flag); ok {
				out[dir] = append(out[dir], pid)
				break
			}
		}
	}
	return out
}

// processAlive reports whether a process with pid may exist. Only ESRCH
// proves that it does not: EPERM means another user's process.
func processAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// ownedBy reports whether info belongs to the user uid.
func ownedBy(info fs.FileInfo, uid int) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid
}
