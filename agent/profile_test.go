package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// shortTempDir points TMPDIR at a fresh directory with a short path:
// Chrome puts a unix socket under TMPDIR, and a socket path may not exceed
// 107 bytes.
func shortTempDir(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("/tmp", "ap")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	return tmp
}

// deadPid returns the pid of a process that has exited and was reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	pid := cmd.ProcessState.Pid()
	require.False(t, processAlive(pid), "pid %d was reused at once", pid)
	return pid
}

// plant creates the directory root/name with a file and a subdirectory
// in it, and returns its path.
func plant(t *testing.T, root, name string) string {
	t.Helper()
	dir := filepath.Join(root, name)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "Default", "Cache"), profileMode))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Default", "Cookies"), []byte("x"), 0o600))
	return dir
}

// profilesOf lists the profile directories of pid under root.
func profilesOf(t *testing.T, root string, pid int) []string {
	t.Helper()
	out, err := filepath.Glob(filepath.Join(root, fmt.Sprintf("profile-%d-*", pid)))
	require.NoError(t, err)
	return out
}

func TestSweepProfilesRemovesOnlyTheStaleOnes(t *testing.T) {
	shortTempDir(t)
	root := ProfileRoot()
	require.NoError(t, ensureProfileRoot(root))
	dead := deadPid(t)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "keep"), []byte("x"), 0o600))

	// a stale profile that a leftover browser process still uses
	busy := plant(t, root, fmt.Sprintf("profile-%d-3", dead))
	proc := exec.Command("sh", "-c", "sleep 60; :", "--user-data-dir="+busy)
	require.NoError(t, proc.Start())
	t.Cleanup(func() {
		_ = proc.Process.Kill()
		_ = proc.Wait()
	})
	require.Eventually(t, func() bool { return len(profileUsers()[busy]) > 0 }, 5*time.Second, 10*time.Millisecond)

	tests := []struct {
		name  string
		setup func(t *testing.T) string
		gone  bool
	}{
		{"of a process that is gone", func(t *testing.T) string {
			return plant(t, root, fmt.Sprintf("profile-%d-1", dead))
		}, true},
		{"of a second one that is gone", func(t *testing.T) string {
			return plant(t, root, fmt.Sprintf("profile-%d-2", dead))
		}, true},
		{"of this process", func(t *testing.T) string {
			return plant(t, root, fmt.Sprintf("profile-%d-1", os.Getpid()))
		}, false},
		{"of a live process", func(t *testing.T) string {
			return plant(t, root, fmt.Sprintf("profile-%d-1", os.Getppid()))
		}, false},
		{"still used by a browser process", func(t *testing.T) string { return busy }, false},
		{"a name without the random part", func(t *testing.T) string {
			return plant(t, root, fmt.Sprintf("profile-%d", dead))
		}, false},
		{"a name of another pattern", func(t *testing.T) string {
			return plant(t, root, fmt.Sprintf("chromedp-runner-%d-1", dead))
		}, false},
		{"a file", func(t *testing.T) string {
			p := filepath.Join(root, fmt.Sprintf("profile-%d-4", dead))
			require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
			return p
		}, false},
		{"a symbolic link to a directory", func(t *testing.T) string {
			p := filepath.Join(root, fmt.Sprintf("profile-%d-5", dead))
			require.NoError(t, os.Symlink(outside, p))
			return p
		}, false},
	}
	if os.Geteuid() == 0 {
		tests = append(tests, struct {
			name  string
			setup func(t *testing.T) string
			gone  bool
		}{"another user's", func(t *testing.T) string {
			p := plant(t, root, fmt.Sprintf("profile-%d-6", dead))
			require.NoError(t, os.Chown(p, 12345, 12345))
			return p
		}, false})
	}
	paths := make([]string, len(tests))
	for i, tc := range tests {
		paths[i] = tc.setup(t)
	}

	core, logs := observer.New(zapcore.DebugLevel)
	sweepProfiles(root, zap.New(core))

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := os.Lstat(paths[i])
			if tc.gone {
				assert.ErrorIs(t, err, os.ErrNotExist, "removed")
			} else {
				assert.NoError(t, err, "kept")
			}
		})
	}
	assert.FileExists(t, filepath.Join(outside, "keep"), "a symbolic link is never followed")
	assert.Len(t, logs.FilterMessageSnippet("removed the browser profile").All(), 2)
	assert.Len(t, logs.FilterMessageSnippet("still in use").All(), 1)
}

func TestEnsureProfileRoot(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string)
		wantErr error
	}{
		{"missing", func(*testing.T, string) {}, nil},
		{"private", func(t *testing.T, root string) { require.NoError(t, os.Mkdir(root, 0o700)) }, nil},
		{"open to others", func(t *testing.T, root string) {
			require.NoError(t, os.Mkdir(root, 0o700))
			require.NoError(t, os.Chmod(root, 0o777))
		}, nil},
		{"a symbolic link", func(t *testing.T, root string) { require.NoError(t, os.Symlink(t.TempDir(), root)) }, ErrProfileRoot},
		{"a file", func(t *testing.T, root string) { require.NoError(t, os.WriteFile(root, nil, 0o600)) }, ErrProfileRoot},
	}
	if os.Geteuid() == 0 {
		tests = append(tests, struct {
			name    string
			setup   func(t *testing.T, root string)
			wantErr error
		}{"another user's", func(t *testing.T, root string) {
			require.NoError(t, os.Mkdir(root, 0o700))
			require.NoError(t, os.Chown(root, 12345, 12345))
		}, ErrProfileRoot})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TMPDIR", t.TempDir())
			root := ProfileRoot()
			assert.Equal(t, "clay-agent-chrome-"+strconv.Itoa(os.Geteuid()), filepath.Base(root))
			tc.setup(t, root)
			err := ensureProfileRoot(root)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			st, err := os.Lstat(root)
			require.NoError(t, err)
			assert.True(t, st.IsDir())
			assert.Equal(t, profileMode, st.Mode().Perm())
		})
	}
}

// findChromeForTest returns the browser to test with, or skips the test
// (fails it under CI=true) when there is none.
func findChromeForTest(t *testing.T) string {
	t.Helper()
	chrome, err := FindChrome()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no browser: %v", err)
		}
		t.Skipf("no browser: %v", err)
	}
	return chrome
}

// TestBrowserProfileLifecycle starts real browsers: each removes the
// profiles that dead processes left, keeps its own profile while it runs,
// and removes it when it ends.
func TestBrowserProfileLifecycle(t *testing.T) {
	chrome := findChromeForTest(t)
	tests := []struct {
		name string
		end  func(b *Browser, cancel context.CancelFunc)
		// within bounds the wait for the removal: Close removes the
		// profile before it returns
		within time.Duration
	}{
		{"closed", func(b *Browser, _ context.CancelFunc) { b.Close() }, 0},
		{"context cancelled", func(_ *Browser, cancel context.CancelFunc) { cancel() }, 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shortTempDir(t)
			root := ProfileRoot()
			require.NoError(t, ensureProfileRoot(root))
			stale := plant(t, root, fmt.Sprintf("profile-%d-1", deadPid(t)))
			live := plant(t, root, fmt.Sprintf("profile-%d-1", os.Getpid()))

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b, err := Open(ctx, Config{ChromePath: chrome, StepTimeout: 10 * time.Second})
			require.NoError(t, err)
			defer b.Close()

			assert.NoDirExists(t, stale, "the profile of a process that is gone is removed")
			assert.DirExists(t, live, "the profile of a live process is kept")
			profiles := profilesOf(t, root, os.Getpid())
			require.Len(t, profiles, 2, "the planted one and the browser's own: %v", profiles)
			own := profiles[0]
			if own == live {
				own = profiles[1]
			}
			st, err := os.Stat(own)
			require.NoError(t, err)
			assert.Equal(t, profileMode, st.Mode().Perm())
			assert.NotEmpty(t, profileUsers()[own], "the browser runs with its own profile")

			tc.end(b, cancel)
			gone := func() bool {
				_, err := os.Lstat(own)
				return errors.Is(err, fs.ErrNotExist)
			}
			if tc.within == 0 {
				require.True(t, gone(), "the browser's profile is removed when it ends")
			} else {
				require.Eventually(t, gone, tc.within, 20*time.Millisecond, "the browser's profile is removed when it ends")
			}
			assert.Empty(t, profileUsers()[own], "no browser process is left")
			assert.Equal(t, []string{live}, profilesOf(t, root, os.Getpid()))
		})
	}
}

// profileChildEnv makes TestProfileChildProcess open a browser, print its
// profile directory and wait to be killed.
const profileChildEnv = "CLAY_AGENT_TEST_PROFILE_CHILD"

// TestProfileChildProcess is the process that TestKilledProcessProfile
// kills; on its own it does nothing.
func TestProfileChildProcess(t *testing.T) {
	chrome := os.Getenv(profileChildEnv)
	if chrome == "" {
		t.Skip("only run as the child of TestKilledProcessProfile")
	}
	b, err := Open(context.Background(), Config{ChromePath: chrome, StepTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer b.Close()
	profiles := profilesOf(t, ProfileRoot(), os.Getpid())
	require.Len(t, profiles, 1)
	fmt.Println("profile:", profiles[0])
	time.Sleep(time.Minute)
}

// TestKilledProcessProfile kills (-9) a process while its browser runs:
// the profile it leaves behind is removed by the next browser start.
func TestKilledProcessProfile(t *testing.T) {
	chrome := findChromeForTest(t)
	shortTempDir(t)

	child := exec.Command(os.Args[0], "-test.run=^TestProfileChildProcess$", "-test.v")
	child.Env = append(os.Environ(), profileChildEnv+"="+chrome)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	})
	var stale string
	lines := bufio.NewScanner(out)
	for stale == "" && lines.Scan() {
		if p, ok := strings.CutPrefix(lines.Text(), "profile: "); ok {
			stale = p
		}
	}
	require.NotEmpty(t, stale, "the child never reported its profile")
	require.DirExists(t, stale)

	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	_ = child.Wait()
	require.Eventually(t, func() bool { return len(profileUsers()[stale]) == 0 },
		10*time.Second, 20*time.Millisecond, "the killed process's browser exits with it")
	assert.DirExists(t, stale, "kill -9 leaves the profile behind")

	b, err := Open(t.Context(), Config{ChromePath: chrome, StepTimeout: 10 * time.Second})
	require.NoError(t, err)
	b.Close()
	assert.NoDirExists(t, stale, "the next start removes it")
	assert.Empty(t, profilesOf(t, ProfileRoot(), os.Getpid()), "and its own is gone after Close")
}

// TestRemoveDirOutlastsALateWriter removes a directory that a dying
// process's last thread still writes into: files appear while it is
// removed, and the directory is made again after it is gone.
func TestRemoveDirOutlastsALateWriter(t *testing.T) {
	tests := []struct {
		name     string
		writeFor time.Duration // a writer beside the removal, for this long
		again    int           // the directory is made again after this many removals (-1: every one)
		wantErr  error
	}{
		{"nothing writes", 0, 0, nil},
		{"a writer that stops", 300 * time.Millisecond, 0, nil},
		{"made again after two removals", 0, 2, nil},
		{"made again after every removal", 0, -1, errProfileRewritten},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := plant(t, t.TempDir(), "profile-1-1")
			rewrite := func() {
				_ = os.MkdirAll(filepath.Join(dir, "Default"), profileMode)
				_ = os.WriteFile(filepath.Join(dir, "Default", "Network Persistent State"), []byte("x"), 0o600)
			}
			removals := 0
			afterRemoval = func(string) {
				removals++
				if tc.again < 0 || removals <= tc.again {
					rewrite()
				}
			}
			t.Cleanup(func() { afterRemoval = func(string) {} })
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				until := time.After(tc.writeFor)
				for {
					select {
					case <-stop:
						return
					case <-until:
						return
					default:
					}
					rewrite()
					time.Sleep(time.Millisecond)
				}
			}()
			err := removeDir(dir)
			close(stop)
			<-done
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.NoDirExists(t, dir)
			if tc.again > 0 {
				assert.Greater(t, removals, tc.again, "it removed the directory again each time it came back")
			}
		})
	}
}
