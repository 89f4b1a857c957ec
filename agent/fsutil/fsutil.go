// Package fsutil writes files so that a reader or a crash never observes a
// half-written file: the data goes to a temporary file in the same
// directory, is flushed to disk, and only then takes the final name.
//
// Temporary files are named ".<base>.tmp-<random>". A crash can leave one
// behind; IsTemp recognises such names so that directory scans skip them.
package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// tempInfix separates the final base name from the random suffix in the
// name of a temporary file.
const tempInfix = ".tmp-"

// IsTemp reports whether name (a base name or a path) is a temporary file
// made by WriteFileAtomic or CreateFileAtomic.
func IsTemp(name string) bool {
	base := filepath.Base(name)
	return strings.HasPrefix(base, ".") && strings.Contains(base, tempInfix)
}

// WriteFileAtomic writes data to path, replacing any existing file. Readers
// see either the old content or the new one. The file gets mode perm
// exactly (the umask does not apply). On error the temporary file is
// removed and path is left as it was.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("fsutil: write %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("fsutil: write %s: %w", path, err)
	}
	return nil
}

// CreateFileAtomic is WriteFileAtomic for a file that must not exist yet.
// If path exists, it returns an error wrapping fs.ErrExist and leaves the
// existing file untouched. The check and the naming are one step
// (a hard link of the complete temporary file), so two writers racing for
// the same name cannot both win.
func CreateFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp) }()

	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("fsutil: create %s: %w", path, err)
		}
		// Some file systems do not support hard links. Claim the name
		// exclusively, then move the complete file over the claim.
		if err := claimAndRename(tmp, path); err != nil {
			return err
		}
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("fsutil: create %s: %w", path, err)
	}
	return nil
}

// claimAndRename creates path exclusively and renames tmp over it. A reader
// may briefly see an empty file at path, never a partial one.
func claimAndRename(tmp, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("fsutil: create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("fsutil: create %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("fsutil: create %s: %w", path, err)
	}
	return nil
}

// writeTemp writes data to a new temporary file next to path, flushes it
// and sets its mode. It returns the temporary file's path; on error nothing
// is left behind.
func writeTemp(path string, data []byte, perm os.FileMode) (tmpPath string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return "", fmt.Errorf("fsutil: write %q: %w", path, fs.ErrInvalid)
	}
	f, err := os.CreateTemp(dir, "."+base+tempInfix+"*")
	if err != nil {
		return "", fmt.Errorf("fsutil: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return "", fmt.Errorf("fsutil: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return "", fmt.Errorf("fsutil: sync %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return "", fmt.Errorf("fsutil: chmod %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return "", fmt.Errorf("fsutil: close %s: %w", path, err)
	}
	return f.Name(), nil
}

// syncDir flushes a directory so that a rename or link in it survives a
// crash. Windows cannot open directories for syncing; there it is a no-op.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("sync dir: %w", err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("close dir: %w", err)
	}
	return nil
}
