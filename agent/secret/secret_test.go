package secret_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/secret"
)

// content is what the test files hold; no error may quote it.
const content = "TOPSECRET-0123456789abcdef"

// writeFile writes data to dir/name with exactly mode.
func writeFile(t *testing.T, dir, name, data string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
	require.NoError(t, os.Chmod(p, mode))
	return p
}

// otherOwned is a regular file owned by another user than the test's:
// a fresh file given away when the test runs as root, else /etc/passwd
// (owned by root).
func otherOwned(t *testing.T, dir string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return "/etc/passwd"
	}
	p := writeFile(t, dir, "theirs", content, 0o600)
	require.NoError(t, os.Chown(p, 4242, 4242))
	return p
}

// kubernetesMount lays out dir the way a Kubernetes Secret volume does:
// dir/token → ..data/token, ..data → ..2026_01_01, the file inside.
func kubernetesMount(t *testing.T, dir string, mode os.FileMode) string {
	t.Helper()
	root := filepath.Join(dir, fmt.Sprintf("k8s-%o", mode))
	stamp := filepath.Join(root, "..2026_01_01_00_00_00.000")
	require.NoError(t, os.MkdirAll(stamp, 0o700))
	writeFile(t, stamp, "token", content+"\n", mode)
	require.NoError(t, os.Symlink(filepath.Base(stamp), filepath.Join(root, "..data")))
	require.NoError(t, os.Symlink(filepath.Join("..data", "token"), filepath.Join(root, "token")))
	return filepath.Join(root, "token")
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.Symlink(target, p))
		return p
	}
	ok600 := writeFile(t, dir, "ok600", content+"\n", 0o600)
	open644 := writeFile(t, dir, "open644", content, 0o644)
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir"), 0o700))
	link("loop-a", filepath.Join(dir, "loop-b"))
	link("loop-b", filepath.Join(dir, "loop-a"))

	tests := []struct {
		name string
		path string
		opts secret.Options
		want string // the value, when err is nil
		err  error
		msg  []string // what the message says besides the kind and the path
	}{
		{name: "0600", path: ok600, want: content + "\n"},
		{name: "0400", path: writeFile(t, dir, "ro400", content, 0o400), want: content},
		{name: "0600 trimmed", path: writeFile(t, dir, "trim", "\n\t "+content+" \r\n", 0o600), opts: secret.Options{Trim: true}, want: content},
		{name: "0644", path: open644, err: secret.ErrPermissive, msg: []string{"mode 0644", "chmod 600 " + open644}},
		{name: "0640", path: writeFile(t, dir, "group640", content, 0o640), err: secret.ErrPermissive, msg: []string{"mode 0640", "chmod 600 "}},
		{name: "0604", path: writeFile(t, dir, "other604", content, 0o604), err: secret.ErrPermissive, msg: []string{"mode 0604", "chmod 600 "}},
		{name: "0620 (group may write)", path: writeFile(t, dir, "gw620", content, 0o620), err: secret.ErrPermissive, msg: []string{"mode 0620"}},
		{name: "0700", path: writeFile(t, dir, "x700", content, 0o700), want: content},
		{name: "0710 (group bits of any kind)", path: writeFile(t, dir, "gx710", content, 0o710), err: secret.ErrPermissive, msg: []string{"mode 0710"}},
		{name: "link to a 0600 file", path: link("to-ok", ok600), want: content + "\n"},
		{name: "relative link to a 0600 file", path: link("rel-ok", "ok600"), want: content + "\n"},
		{name: "link to a 0644 file", path: link("to-open", open644), err: secret.ErrPermissive, msg: []string{"a link to " + open644, "mode 0644", "chmod 600 "}},
		{name: "Kubernetes Secret volume, 0400", path: kubernetesMount(t, dir, 0o400), opts: secret.Options{Trim: true}, want: content},
		{name: "Kubernetes Secret volume, 0644", path: kubernetesMount(t, dir, 0o644), err: secret.ErrPermissive, msg: []string{"a link to ", "..2026_01_01_00_00_00.000/token", "mode 0644"}},
		{name: "directory", path: filepath.Join(dir, "dir"), err: secret.ErrNotRegular, msg: []string{"is a directory"}},
		{name: "link to a directory", path: link("to-dir", filepath.Join(dir, "dir")), err: secret.ErrNotRegular, msg: []string{"is a directory"}},
		{name: "named pipe", path: fifo, err: secret.ErrNotRegular, msg: []string{"named pipe"}},
		{name: "device", path: "/dev/null", err: secret.ErrNotRegular, msg: []string{"a device"}},
		{name: "owned by another user", path: otherOwned(t, dir), err: secret.ErrNotOwned, msg: []string{"owned by uid", "chown"}},
		{name: "too large", path: writeFile(t, dir, "large", strings.Repeat("k", 33), 0o600), opts: secret.Options{MaxSize: 32}, err: secret.ErrTooLarge, msg: []string{"33 bytes, at most 32"}},
		{name: "at the size limit", path: writeFile(t, dir, "limit", strings.Repeat("k", 32), 0o600), opts: secret.Options{MaxSize: 32}, want: strings.Repeat("k", 32)},
		{name: "over the default limit", path: writeFile(t, dir, "huge", strings.Repeat("k", secret.DefaultMaxSize+1), 0o600), err: secret.ErrTooLarge},
		{name: "empty", path: writeFile(t, dir, "empty", "", 0o600), err: secret.ErrEmpty, msg: []string{"is empty"}},
		{name: "empty with trim", path: writeFile(t, dir, "empty-trim", "", 0o600), opts: secret.Options{Trim: true}, err: secret.ErrEmpty, msg: []string{"is empty"}},
		{name: "white space only, trimmed", path: writeFile(t, dir, "blank", " \n\t\n", 0o600), opts: secret.Options{Trim: true}, err: secret.ErrEmpty, msg: []string{"only white space"}},
		{name: "white space only, kept", path: writeFile(t, dir, "blank-kept", " \n", 0o600), want: " \n"},
		{name: "missing", path: filepath.Join(dir, "missing"), err: secret.ErrNotFound, msg: []string{"does not exist"}},
		{name: "under a file", path: filepath.Join(ok600, "x"), err: secret.ErrNotFound, msg: []string{"does not exist"}},
		{name: "dangling link", path: link("dangling", filepath.Join(dir, "gone")), err: secret.ErrNotFound, msg: []string{"does not exist"}},
		{name: "loop of links", path: filepath.Join(dir, "loop-a"), err: secret.ErrUnreadable, msg: []string{"cannot be read"}},
		{name: "no path", path: "", err: secret.ErrNotFound, msg: []string{"no test key file was named"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Kind = "test key"
			got, err := readWithin(t, tt.path, opts)
			if tt.err == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, string(got))
				return
			}
			require.Error(t, err)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, tt.err)
			assert.ErrorIs(t, err, core.ErrUsage, "a refused secret is bad input")
			for _, other := range []error{secret.ErrNotFound, secret.ErrNotRegular, secret.ErrPermissive, secret.ErrNotOwned,
				secret.ErrTooLarge, secret.ErrEmpty, secret.ErrUnreadable} {
				if other != tt.err {
					assert.NotErrorIs(t, err, other, "one reason only")
				}
			}
			msg := err.Error()
			assert.Contains(t, msg, "test key file", "the kind")
			assert.Contains(t, msg, tt.path, "the path")
			for _, m := range tt.msg {
				assert.Contains(t, msg, m)
			}
			assert.NotContains(t, msg, "TOPSECRET", "never the content")
		})
	}
}

// readWithin reads within five seconds, failing the test otherwise (a
// named pipe must not block the read).
func readWithin(t *testing.T, path string, opts secret.Options) ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := secret.Read(path, opts)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("Read(%s) did not return within 5s", path)
		return nil, nil
	}
}

func TestReadMissingMatchesNotExist(t *testing.T) {
	_, err := secret.Read(filepath.Join(t.TempDir(), "missing"), secret.Options{Kind: "audit key"})
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorIs(t, err, secret.ErrNotFound)
	assert.Contains(t, err.Error(), "audit key file ")
}

func TestFromFileOrEnv(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good", " from-file \n", 0o600)
	open := writeFile(t, dir, "open", "from-file", 0o644)
	const env = "TEST_SECRET"
	tests := []struct {
		name     string
		file     string
		env      map[string]string
		opts     secret.Options
		want     []byte
		wantFrom string
		err      error
	}{
		{name: "the file wins over the variable", file: good, env: map[string]string{env: "from-env"}, opts: secret.Options{Trim: true},
			want: []byte("from-file"), wantFrom: good},
		{name: "a refused file is refused even with the variable set", file: open, env: map[string]string{env: "from-env"},
			wantFrom: open, err: secret.ErrPermissive},
		{name: "the variable without a file", env: map[string]string{env: "  from-env\n"}, opts: secret.Options{Trim: true},
			want: []byte("from-env"), wantFrom: "$" + env},
		{name: "the variable untrimmed", env: map[string]string{env: " from-env"}, want: []byte(" from-env"), wantFrom: "$" + env},
		{name: "neither", wantFrom: "$" + env},
		{name: "a blank variable is none", env: map[string]string{env: " \n"}, opts: secret.Options{Trim: true}, wantFrom: "$" + env},
		{name: "a variable too large", env: map[string]string{env: strings.Repeat("k", 9)}, opts: secret.Options{MaxSize: 8},
			wantFrom: "$" + env, err: secret.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Kind = "test token"
			got, from, err := secret.FromFileOrEnv(tt.file, env, func(k string) string { return tt.env[k] }, opts)
			assert.Equal(t, tt.wantFrom, from)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				assert.ErrorIs(t, err, core.ErrUsage)
				assert.Contains(t, err.Error(), "test token")
				assert.NotContains(t, err.Error(), "from-")
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestReadErrorsAreDistinct: each reason is bad input, and no reason
// matches another.
func TestReadErrorsAreDistinct(t *testing.T) {
	all := []error{secret.ErrNotFound, secret.ErrNotRegular, secret.ErrPermissive, secret.ErrNotOwned,
		secret.ErrTooLarge, secret.ErrEmpty, secret.ErrUnreadable}
	for i, a := range all {
		assert.ErrorIs(t, a, core.ErrUsage, a.Error())
		for j, b := range all {
			if i != j {
				assert.False(t, errors.Is(a, b), "%v is not %v", a, b)
			}
		}
	}
}
