package fsutil_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/fsutil"
)

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name     string
		existing []byte
		perm     os.FileMode
	}{
		{name: "new file", perm: 0o600},
		{name: "replaces existing", existing: []byte("old content that is longer"), perm: 0o640},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if tt.existing != nil {
				require.NoError(t, os.WriteFile(path, tt.existing, 0o644))
			}

			require.NoError(t, fsutil.WriteFileAtomic(path, []byte(`{"ok":true}`), tt.perm))

			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, `{"ok":true}`, string(got))
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(path)
				require.NoError(t, err)
				assert.Equal(t, tt.perm, fi.Mode().Perm())
			}
			assert.Equal(t, []string{"state.json"}, entries(t, dir), "no temporary file is left")
		})
	}
}

func TestWriteFileAtomicErrorLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	// A non-empty directory at the target makes the final rename fail.
	target := filepath.Join(dir, "target")
	require.NoError(t, os.MkdirAll(filepath.Join(target, "child"), 0o700))

	err := fsutil.WriteFileAtomic(target, []byte("data"), 0o600)
	require.Error(t, err)
	assert.Equal(t, []string{"target"}, entries(t, dir))
	fi, err := os.Stat(target)
	require.NoError(t, err)
	assert.True(t, fi.IsDir(), "the target is untouched")
}

func TestWriteFileAtomicMissingDir(t *testing.T) {
	err := fsutil.WriteFileAtomic(filepath.Join(t.TempDir(), "nope", "f"), []byte("x"), 0o600)
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestCreateFileAtomic(t *testing.T) {
	tests := []struct {
		name     string
		existing []byte
		wantErr  error
		want     string
	}{
		{name: "new file", want: "new"},
		{name: "existing file is never overwritten", existing: []byte("old"), wantErr: fs.ErrExist, want: "old"},
		{name: "existing empty file is never overwritten", existing: []byte{}, wantErr: fs.ErrExist, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "snap.json")
			if tt.existing != nil {
				require.NoError(t, os.WriteFile(path, tt.existing, 0o600))
			}

			err := fsutil.CreateFileAtomic(path, []byte("new"), 0o600)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
			assert.Equal(t, []string{"snap.json"}, entries(t, dir), "no temporary file is left")
		})
	}
}

func TestCreateFileAtomicRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "once.json")
	const writers = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		errs []error
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := fsutil.CreateFileAtomic(path, []byte{byte('a' + i)}, 0o600)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, wins)
	require.Len(t, errs, writers-1)
	for _, err := range errs {
		assert.ErrorIs(t, err, fs.ErrExist)
	}
	assert.Equal(t, []string{"once.json"}, entries(t, dir))
}

func TestIsTemp(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{".acme-20240101T000000Z.json.tmp-123456", true},
		{"/some/dir/.state.json.tmp-9", true},
		{"acme-20240101T000000Z.json", false},
		{".hidden.json", false},
		{"state.json.tmp-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, fsutil.IsTemp(tt.name))
		})
	}
}
