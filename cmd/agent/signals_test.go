package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/schedule"
	"github.com/clay-agent/clay-agent/fixtures"
)

// liveProcs returns the pids and command lines of the running (not
// zombie) processes whose command line contains marker.
func liveProcs(marker string) map[int]string {
	out := map[int]string{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		cmd := strings.ReplaceAll(string(raw), "\x00", " ")
		if !strings.Contains(cmd, marker) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "stat"))
		if err != nil {
			continue
		}
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		out[pid] = cmd
	}
	return out
}

// browserWatch records every browser process whose user data directory
// lies under one directory: the test points TMPDIR there, so that the
// browsers it starts, and only those, are recognizable by command line.
type browserWatch struct {
	marker   string
	tmp      string
	profiles string // where the browsers keep their profiles
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	seen     map[int]string
}

// watchBrowsers points TMPDIR at a fresh directory and samples the
// processes until stopped.
func watchBrowsers(t *testing.T) *browserWatch {
	t.Helper()
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc to look for browser processes")
	}
	// short: Chrome puts a unix socket under TMPDIR, and a socket path
	// may not exceed 107 bytes
	tmp, err := os.MkdirTemp("/tmp", "cw")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	w := &browserWatch{
		marker:   "--user-data-dir=" + agent.ProfileRoot() + string(filepath.Separator),
		tmp:      tmp,
		profiles: agent.ProfileRoot(),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		seen:     map[int]string{},
	}
	require.Empty(t, liveProcs(w.marker))
	go func() {
		defer close(w.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			for pid, cmd := range liveProcs(w.marker) {
				w.mu.Lock()
				w.seen[pid] = cmd
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(w.halt)
	return w
}

func (w *browserWatch) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// started waits until a browser of the test is running.
func (w *browserWatch) started(t *testing.T, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.seen) > 0
	}, within, 20*time.Millisecond, "the command never started a browser")
}

// exitGrace bounds how long the test's browser processes may take to be
// gone after the command returned: generous, because a loaded machine
// reaps slowly, and still far from the test's own timeout.
const exitGrace = 30 * time.Second

// rowsHeld waits until the fixture holds a read of the rows (its RowDelay
// fault): the command is then well into its run, waiting for the rows.
func rowsHeld(t *testing.T, s *fixtures.Server) {
	t.Helper()
	require.Eventually(t, func() bool { return s.HeldReads() > 0 }, time.Minute, 10*time.Millisecond,
		"the page never asked for its rows")
}

// assertNoneLeft asserts that every browser process the test started is
// gone within exitGrace, and that its profile was removed.
func (w *browserWatch) assertNoneLeft(t *testing.T) {
	t.Helper()
	w.halt()
	w.mu.Lock()
	seen := len(w.seen)
	w.mu.Unlock()
	require.Positive(t, seen, "no browser process was ever seen: the check would prove nothing")
	deadline := time.Now().Add(exitGrace)
	left := liveProcs(w.marker)
	for len(left) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		left = liveProcs(w.marker)
	}
	var desc []string
	for pid, cmd := range left {
		if len(cmd) > 160 {
			cmd = cmd[:160] + "…"
		}
		desc = append(desc, strconv.Itoa(pid)+": "+cmd)
	}
	assert.True(t, len(left) == 0, "browser processes left behind (%d seen in all):\n%s", seen, strings.Join(desc, "\n"))
	profiles, _ := filepath.Glob(filepath.Join(w.profiles, "profile-*"))
	assert.Empty(t, profiles, "the browser's profile was left behind")
	others, _ := filepath.Glob(filepath.Join(w.tmp, "chromedp-runner*"))
	assert.Empty(t, others, "a browser kept its profile elsewhere")
}

func TestListCancelledStopsPromptlyAndLeavesNoBrowser(t *testing.T) {
	for _, rendition := range []string{fixtures.RenditionGrid, fixtures.RenditionPaged} {
		t.Run(rendition, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(rendition))
			// The rows would come after a minute, the step timeout after two:
			// a list that ends well before either was stopped by the cancel.
			e.Server.SetFaults(fixtures.Faults{RowDelay: time.Minute})
			w := watchBrowsers(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			res := make(chan cliResult, 1)
			go func() { res <- runApp(ctx, nil, "", e.list("--timeout", "2m")...) }()
			w.started(t, time.Minute)
			rowsHeld(t, e.Server)
			cancelled := time.Now()
			cancel()
			select {
			case r := <-res:
				assert.NotEqual(t, exitOK, r.code, "a cancelled list must not succeed")
				assert.Empty(t, r.stdout, "no partial roster")
				assert.Less(t, time.Since(cancelled), 30*time.Second, "it must stop promptly")
			case <-time.After(50 * time.Second):
				t.Fatal("list did not return within 50s of the cancellation")
			}
			w.assertNoneLeft(t)
		})
	}
}

// TestInterruptSignal sends the test process a real SIGINT while run, the
// process's entry point, is listing.
func TestInterruptSignal(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionGrid))
	e.Server.SetFaults(fixtures.Faults{RowDelay: time.Minute})
	w := watchBrowsers(t)
	// keep the signal from killing the test binary whatever happens
	guard := make(chan os.Signal, 4)
	signal.Notify(guard, os.Interrupt)
	defer signal.Stop(guard)

	res := make(chan cliResult, 1)
	go func() { res <- runCLI(t, "", e.list("--timeout", "2m")...) }()
	w.started(t, time.Minute)
	rowsHeld(t, e.Server)
	sent := time.Now()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	select {
	case r := <-res:
		assert.NotEqual(t, exitOK, r.code)
		assert.Contains(t, r.stderr, "agent: interrupted")
		assert.Empty(t, r.stdout)
		assert.Less(t, time.Since(sent), 30*time.Second, "it must stop promptly")
	case <-time.After(50 * time.Second):
		t.Fatal("list did not return within 50s of SIGINT")
	}
	w.assertNoneLeft(t)
}

func TestFailedListLeavesNoBrowser(t *testing.T) {
	tests := []struct {
		name   string
		faults fixtures.Faults
		code   int
	}{
		{"drifted page", fixtures.Faults{Drift: true}, exitPageChanged},
		{"expired session", fixtures.Faults{ExpireSession: true}, exitLogin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(fixtures.RenditionGrid))
			e.Server.SetFaults(tc.faults)
			w := watchBrowsers(t)
			r := runCLI(t, "", e.list("--timeout", "3s")...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			w.assertNoneLeft(t)
		})
	}
}

// startServeProcess runs `agent serve` with args through run, the
// process's entry point, so that a real signal to the test process stops
// it; stop sends SIGTERM. It waits until serve listens.
func startServeProcess(t *testing.T, args ...string) *runningServe {
	t.Helper()
	// keep the signal from killing the test binary whatever happens
	guard := make(chan os.Signal, 4)
	signal.Notify(guard, syscall.SIGTERM)
	t.Cleanup(func() { signal.Stop(guard) })

	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	s := &runningServe{
		stderr: stderr,
		done:   make(chan cliResult, 1),
		cancel: func() { require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM)) },
	}
	go func() {
		code := run(append([]string{"serve"}, args...), strings.NewReader(""), stdout, stderr)
		s.done <- cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}()
	t.Cleanup(func() {
		select {
		case r := <-s.done:
			s.done <- r
			return
		default:
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(time.Minute):
			t.Error("serve did not stop within a minute of SIGTERM")
		}
	})
	s.waitListening(t, stdout)
	return s
}

// TestServeExitCodeOnSIGTERM sends the test process a real SIGTERM while
// serve runs: a stop that loses nothing exits with 0, as a supervisor
// expects of a service it stops; one that had to cancel a running
// snapshot exits with 1 and says so.
func TestServeExitCodeOnSIGTERM(t *testing.T) {
	tests := []struct {
		name string
		// rowDelay slows the run in progress at SIGTERM; 0: none is
		// running
		rowDelay time.Duration
		grace    string
		code     int
		saved    bool
		want     []string
		notWant  []string
	}{
		{
			name: "idle", grace: "20s", code: exitOK,
			want:    []string{"snapshot schedule stopped"},
			notWant: []string{"agent: interrupted", "abandoning"},
		},
		{
			name: "run finishes within the grace period", rowDelay: 4 * time.Second, grace: "60s", code: exitOK, saved: true,
			want:    []string{"waiting for the running snapshot to finish", "snapshot taken", "snapshot schedule stopped"},
			notWant: []string{"agent: interrupted", "abandoning"},
		},
		{
			name: "run cut short", rowDelay: time.Minute, grace: "200ms", code: exitFailed,
			want: []string{
				"abandoning the running snapshot",
				"agent: the running snapshot was cancelled at shutdown: it did not finish within the grace period of 200ms",
				"agent: interrupted",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(fixtures.RenditionTable))
			t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
			e.Server.SetFaults(fixtures.Faults{RowDelay: tc.rowDelay})
			dir := filepath.Join(e.Dir, "snapshots")
			args := e.serveArgs(dir, "--snapshot-every", "1h", "--grace-period", tc.grace, "--timeout", "60s")
			var w *browserWatch
			if tc.rowDelay > 0 {
				w = watchBrowsers(t)
				args = append(args, "--run-on-start")
			}
			s := startServeProcess(t, args...)
			if w != nil {
				s.waitHealth(t, 30*time.Second, func(_ int, st schedule.Status) bool { return st.Running })
				w.started(t, 30*time.Second)
				rowsHeld(t, e.Server) // well into the run: the browser is waiting for rows
			}

			r := s.stop(t, 60*time.Second)
			assert.Equal(t, tc.code, r.code, r.stderr)
			for _, want := range tc.want {
				assert.Contains(t, r.stderr, want)
			}
			for _, not := range tc.notWant {
				assert.NotContains(t, r.stderr, not)
			}
			if tc.saved {
				assert.Len(t, dirNames(t, dir), 1, "the run finished and saved its snapshot")
			} else {
				assert.Empty(t, dirNames(t, dir), "no snapshot and no partial file")
			}
			assertNoTempFiles(t, dir)
			if w != nil {
				w.assertNoneLeft(t)
			}
		})
	}
}
