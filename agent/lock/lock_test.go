package lock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helperEnv names the environment variable that turns this test binary into
// a process that holds a lock until it is killed.
const helperEnv = "CLAY_LOCK_TEST_HOLD"

// TestHelperHoldLock is not a test: run as a child process with helperEnv
// set to a lock path, it takes the lock, prints "locked", and waits to be
// killed.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	l, err := Acquire(context.Background(), path, 5*time.Second)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_ = l // held until the process dies
	time.Sleep(time.Minute)
	os.Exit(2)
}

// startHolder runs the test binary as a child that holds the lock at path.
func startHolder(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)
	return cmd
}

func TestAcquireRelease(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	path := PathFor(dir, "1234")

	l, err := Acquire(context.Background(), path, time.Second)
	require.NoError(t, err)
	assert.Equal(t, path, l.Path())

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	content, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(content), fmt.Sprintf(`"pid":%d`, os.Getpid()))

	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "a second release is a no-op")
	content, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Empty(t, content, "release clears the holder")
	_, err = os.Stat(path)
	assert.NoError(t, err, "the file stays in place")
}

func TestSecondAcquireWaitsThenFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.lock")
	first, err := Acquire(context.Background(), path, time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Release() })

	tests := []struct {
		name    string
		timeout time.Duration
		minWait time.Duration
	}{
		{"no wait", 0, 0},
		{"waits for the timeout", 300 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			second, err := Acquire(context.Background(), path, tt.timeout)
			elapsed := time.Since(start)
			require.Error(t, err)
			assert.Nil(t, second)
			assert.True(t, errors.Is(err, ErrLocked), "got %v", err)
			assert.GreaterOrEqual(t, elapsed, tt.minWait)
			assert.Less(t, elapsed, tt.minWait+30*time.Second, "it gives up instead of waiting for the holder")

			var le *LockedError
			require.True(t, errors.As(err, &le))
			require.NotNil(t, le.Holder)
			assert.Equal(t, os.Getpid(), le.Holder.PID)
			msg := err.Error()
			assert.Contains(t, msg, fmt.Sprintf("another run (pid %d, since ", os.Getpid()))
			assert.Contains(t, msg, "holds the lock "+path)
			assert.Contains(t, msg, "gave up after")
		})
	}
}

func TestAcquireSucceedsAfterRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.lock")
	first, err := Acquire(context.Background(), path, time.Second)
	require.NoError(t, err)

	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = first.Release()
	}()
	start := time.Now()
	second, err := Acquire(context.Background(), path, 5*time.Second)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "the second run waited")
	require.NoError(t, second.Release())
}

func TestAcquireContextCanceled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.lock")
	first, err := Acquire(context.Background(), path, time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Release() })

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = Acquire(ctx, path, time.Minute)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	assert.False(t, errors.Is(err, ErrLocked))
	assert.Less(t, time.Since(start), 30*time.Second, "the cancellation, not the one-minute wait, ended it")
}

func TestAcquireWithDoneContextTakesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.lock")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Acquire(ctx, path, time.Second)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)

	l, err := Acquire(context.Background(), path, 0)
	require.NoError(t, err, "the canceled call left the lock free")
	require.NoError(t, l.Release())
}

func TestLockReleasedWhenHolderDies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.lock")
	holder := startHolder(t, path)

	_, err := Acquire(context.Background(), path, 100*time.Millisecond)
	require.True(t, errors.Is(err, ErrLocked), "got %v", err)
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d,", holder.Process.Pid))

	require.NoError(t, holder.Process.Kill())
	_ = holder.Wait()

	l, err := Acquire(context.Background(), path, 2*time.Second)
	require.NoError(t, err)
	require.NoError(t, l.Release())
}

func TestPathFor(t *testing.T) {
	tests := []struct {
		workspace string
		want      string // base name; "" means only check the shape
	}{
		{"1234", "workspace-1234.lock"},
		{"acme-prod_2.eu", "workspace-acme-prod_2.eu.lock"},
		{"../../etc/passwd", ""},
		{"a/b", ""},
		{"", ""},
		{strings.Repeat("x", 200), ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.workspace, func(t *testing.T) {
			p := PathFor("/var/lock/clay", tt.workspace)
			assert.Equal(t, "/var/lock/clay", filepath.Dir(p), "stays inside dir")
			base := filepath.Base(p)
			if tt.want != "" {
				assert.Equal(t, tt.want, base)
			}
			assert.Regexp(t, `^workspace-[A-Za-z0-9._-]+\.lock$`, base)
			assert.LessOrEqual(t, len(base), 100)
			if other, ok := seen[base]; ok {
				t.Errorf("%q and %q share %s", tt.workspace, other, base)
			}
			seen[base] = tt.workspace
		})
	}
	assert.NotEqual(t, PathFor("d", "a/b"), PathFor("d", "a_b"), "sanitizing does not merge workspaces")
}

func TestFormatSince(t *testing.T) {
	now := time.Date(2026, 11, 29, 22, 30, 0, 0, time.Local)
	tests := []struct {
		since time.Time
		want  string
	}{
		{time.Date(2026, 11, 29, 22, 15, 3, 0, time.Local), "22:15:03"},
		{time.Date(2026, 11, 28, 23, 59, 0, 0, time.Local), "2026-11-28 23:59:00"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, formatSince(tt.since, now))
	}
}
