package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/plan"
	"github.com/clay-agent/clay-agent/agent/schedule"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/webhook"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/flows"
)

// lockedBuffer is a bytes.Buffer that a running command writes to while
// the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningServe is `agent serve` running in the background.
type runningServe struct {
	base   string // http://host:port
	stderr *lockedBuffer
	done   chan cliResult
	cancel context.CancelFunc
}

var servingRE = regexp.MustCompile(`serving /healthz and /metrics on (http://\S+);`)

// startServe runs `agent serve` with args (which should listen on port 0)
// until stop is called, and waits until it listens.
func startServe(t *testing.T, env map[string]string, args ...string) *runningServe {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	s := &runningServe{stderr: stderr, done: make(chan cliResult, 1), cancel: cancel}
	go func() {
		a := newApp(strings.NewReader(""), stdout, stderr)
		a.getenv = func(k string) string { return env[k] }
		err := a.execute(ctx, append([]string{"serve"}, args...))
		code := exitCode(err)
		if err != nil {
			a.reportError(err, code)
		}
		s.done <- cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(time.Minute):
			t.Error("serve did not stop within a minute")
		}
	})
	s.waitListening(t, stdout)
	return s
}

// waitListening waits until serve says on stdout where it listens.
func (s *runningServe) waitListening(t *testing.T, stdout *lockedBuffer) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		if m := servingRE.FindStringSubmatch(stdout.String()); m != nil {
			s.base = m[1]
			return
		}
		select {
		case r := <-s.done:
			s.done <- r
			t.Fatalf("serve ended before listening: exit %d\n%s", r.code, r.stderr)
		case <-deadline:
			t.Fatalf("serve did not listen within 15s; stderr:\n%s", s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop cancels the context (or sends the signal) and returns the
// command's result.
func (s *runningServe) stop(t *testing.T, within time.Duration) cliResult {
	t.Helper()
	s.cancel()
	select {
	case r := <-s.done:
		s.done <- r
		return r
	case <-time.After(within):
		t.Fatalf("serve did not stop within %s; stderr:\n%s", within, s.stderr.String())
		return cliResult{}
	}
}

// get fetches a path and returns the status and body.
func (s *runningServe) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.base + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// health decodes /healthz.
func (s *runningServe) health(t *testing.T) (int, schedule.Status) {
	t.Helper()
	code, body := s.get(t, "/healthz")
	var st schedule.Status
	require.NoError(t, json.Unmarshal([]byte(body), &st), body)
	return code, st
}

// waitHealth polls /healthz until ok says so.
func (s *runningServe) waitHealth(t *testing.T, within time.Duration, ok func(code int, st schedule.Status) bool) (int, schedule.Status) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, st := s.health(t)
		if ok(code, st) {
			return code, st
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not reach the expected state within %s: %d %+v\nstderr:\n%s", within, code, st, s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveArgs points serve at the fixture, listening on a free port.
func (e *e2e) serveArgs(dir string, extra ...string) []string {
	return append(append([]string{"--listen", "127.0.0.1:0", "--dir", dir}, e.globals()...), extra...)
}

func TestServeSnapshotsOnScheduleAndServesHealthAndMetrics(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionTable))
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	dir := filepath.Join(e.Dir, "snapshots")
	w := watchBrowsers(t)
	s := startServe(t, nil, e.serveArgs(dir, "--snapshot-every", "200ms", "--run-on-start", "--"+testShortIntervalsFlag)...)

	// Runs take longer than the interval: the ones due meanwhile are
	// skipped, never run at once, and logged.
	code, st := s.waitHealth(t, 60*time.Second, func(_ int, st schedule.Status) bool {
		return !st.LastSuccess.IsZero() && st.MissedRuns > 0
	})
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, schedule.StatusOK, st.Status)
	assert.Empty(t, st.Reason)
	assert.False(t, st.NextRun.IsZero())

	code, metrics := s.get(t, "/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		fmt.Sprintf("\n%s %d\n", schedule.MetricMembers, len(e.Server.Members())),
		fmt.Sprintf("\n%s %d\n", schedule.MetricInvitations, len(e.Server.Invitations())),
		"\n" + schedule.MetricLastSuccess + " ",
		"\n" + schedule.MetricRuns + " ",
		"\n" + schedule.MetricMissed + " ",
		"\n" + schedule.MetricDuration + "_count ",
		"\n" + schedule.MetricWebhookFailures + " 0\n",
		"\ngo_goroutines ",
	} {
		assert.Contains(t, metrics, want)
	}
	assert.NotContains(t, metrics, schedule.MetricFailures+"{")

	r := s.stop(t, 60*time.Second)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "missed scheduled snapshot run")
	assert.Contains(t, r.stderr, "snapshot schedule stopped")
	_, err := http.Get(s.base + "/healthz")
	assert.Error(t, err, "the HTTP server is closed")
	w.assertNoneLeft(t)

	// Every file is a complete snapshot; no temporary file is left.
	names := dirNames(t, dir)
	require.NotEmpty(t, names)
	for _, name := range names {
		assertSnapshotFile(t, dir, filepath.Join(dir, name), len(e.Server.Members()), len(e.Server.Invitations()))
	}
	assertNoTempFiles(t, dir)
}

func TestServeHealthzSaysLoginRequired(t *testing.T) {
	e := startE2E(t)
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	e.Server.SetFaults(fixtures.Faults{ExpireSession: true})
	dir := filepath.Join(e.Dir, "snapshots")
	s := startServe(t, nil, e.serveArgs(dir, "--snapshot-every", "1h", "--run-on-start")...)

	code, st := s.waitHealth(t, 60*time.Second, func(code int, _ schedule.Status) bool {
		return code != http.StatusOK
	})
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, schedule.StatusFailing, st.Status)
	assert.Equal(t, "login required", st.Reason)
	assert.Contains(t, st.LastError, "agent login")

	hc := runApp(t.Context(), nil, "", "healthcheck", "--url", s.base+"/healthz")
	assert.Equal(t, exitFailed, hc.code)
	require.Len(t, hc.stderrLines(), 1, hc.stderr)
	assert.Contains(t, hc.stderr, "HTTP 503 Service Unavailable: login required")

	_, metrics := s.get(t, "/metrics")
	assert.Contains(t, metrics, schedule.MetricFailures+`{reason="login required"} 1`+"\n")
	assert.NotContains(t, metrics, "\n"+schedule.MetricLastSuccess+" 1")

	r := s.stop(t, 30*time.Second)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Empty(t, dirNames(t, dir), "no snapshot of a failed listing")
}

func TestServeAbandonsTheRunningSnapshotAtShutdown(t *testing.T) {
	e := startE2E(t)
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	// The rows take far longer to appear than the test waits.
	e.Server.SetFaults(fixtures.Faults{RowDelay: 5 * time.Minute})
	dir := filepath.Join(e.Dir, "snapshots")
	w := watchBrowsers(t)
	s := startServe(t, nil, e.serveArgs(dir, "--snapshot-every", "1h", "--run-on-start", "--grace-period", "200ms", "--timeout", "10m")...)

	s.waitHealth(t, 30*time.Second, func(_ int, st schedule.Status) bool { return st.Running })
	w.started(t, 30*time.Second)
	rowsHeld(t, e.Server) // well into the run: the browser is waiting for rows
	start := time.Now()
	r := s.stop(t, 2*time.Minute)
	assert.Less(t, time.Since(start), time.Minute, "the run was cancelled, not waited for")
	assert.Equal(t, exitFailed, r.code, "a snapshot cut short is not a clean stop\n%s", r.stderr)
	assert.Contains(t, r.stderr, "abandoning the running snapshot")
	assert.Contains(t, r.stderr, "did not finish within the grace period of 200ms")
	w.assertNoneLeft(t)
	assertNoTempFiles(t, dir)
	if _, err := os.Stat(dir); err == nil {
		assert.Empty(t, dirNames(t, dir), "an abandoned run writes no snapshot")
	}
}

func TestServeDailyScheduleInATimeZone(t *testing.T) {
	clearAgentEnv(t)
	tmp := t.TempDir()
	files := sessionFiles(t, tmp)
	dir := filepath.Join(tmp, "snapshots")
	before := time.Now()
	s := startServe(t, nil, "--listen", "127.0.0.1:0", "--dir", dir, "--snapshot-at", "02:30", "--tz", "Asia/Kolkata",
		"--chrome", noBrowser, "--workspace", "1234", "--session", files["valid"], "--base-url", "http://127.0.0.1:9")

	code, st := s.health(t)
	assert.Equal(t, http.StatusOK, code, "nothing due yet is healthy")
	assert.Equal(t, schedule.StatusOK, st.Status)
	assert.True(t, st.LastRun.IsZero())
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	require.NoError(t, err)
	next := st.NextRun.In(kolkata)
	assert.Equal(t, 2, next.Hour())
	assert.Equal(t, 30, next.Minute())
	assert.True(t, next.After(before))
	assert.LessOrEqual(t, next.Sub(before), 24*time.Hour)

	r := s.stop(t, 10*time.Second)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "daily at 02:30 Asia/Kolkata")
	assert.NotContains(t, r.stderr, noBrowser, "no run was due")
	assert.Empty(t, dirNames(t, dir), "serve made sure it can write there, and left nothing")
}

func TestServeBadInputExitsBeforeStarting(t *testing.T) {
	clearAgentEnv(t)
	tmp := t.TempDir()
	state := filepath.Join(tmp, "state")
	t.Setenv("XDG_STATE_HOME", state)
	files := sessionFiles(t, tmp)
	dir := filepath.Join(tmp, "snapshots")
	args := func(session string, extra ...string) []string {
		return append([]string{"serve", "--listen", "127.0.0.1:0", "--dir", dir, "--chrome", noBrowser,
			"--base-url", "http://127.0.0.1:9", "--workspace", "1234", "--session", session, "--run-on-start"}, extra...)
	}
	valid := files["valid"]
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{name: "no schedule", args: args(valid), code: 2, want: []string{"--snapshot-at HH:MM", "--snapshot-every"}},
		{name: "both schedules", args: args(valid, "--snapshot-at", "02:30", "--snapshot-every", "1h"), code: 2, want: []string{"not both"}},
		{name: "hour out of range", args: args(valid, "--snapshot-at", "24:00"), code: 2, want: []string{"--snapshot-at", "24:00"}},
		{name: "minute out of range", args: args(valid, "--snapshot-at", "02:60"), code: 2, want: []string{"--snapshot-at"}},
		{name: "not HH:MM", args: args(valid, "--snapshot-at", "2:3"), code: 2, want: []string{"--snapshot-at", "not HH:MM"}},
		{name: "a word", args: args(valid, "--snapshot-at", "noon"), code: 2, want: []string{"not HH:MM"}},
		{name: "unknown time zone", args: args(valid, "--snapshot-at", "02:30", "--tz", "Mars/Olympus"), code: 2, want: []string{`--tz "Mars/Olympus"`}},
		{name: "empty time zone", args: args(valid, "--snapshot-at", "02:30", "--tz", ""), code: 2, want: []string{"--tz"}},
		{name: "time zone with an interval", args: args(valid, "--snapshot-every", "1h", "--tz", "UTC"), code: 2, want: []string{"--tz applies to --snapshot-at only"}},
		{name: "zero interval", args: args(valid, "--snapshot-every", "0s"), code: 2, want: []string{"--snapshot-every", "not positive"}},
		{name: "an interval under a minute", args: args(valid, "--snapshot-every", "1ns"), code: 2, want: []string{"--snapshot-every 1ns", "shorter than 1m0s"}},
		{name: "a probe interval under a minute", args: args(valid, "--snapshot-every", "1h", "--probe-every", "10s"), code: 2, want: []string{"--probe-every 10s", "shorter than"}},
		{name: "negative interval", args: args(valid, "--snapshot-every", "-5m"), code: 2, want: []string{"--snapshot-every", "not positive"}},
		{name: "interval without a unit", args: args(valid, "--snapshot-every", "30"), code: 2, want: []string{"--snapshot-every"}},
		{name: "listen address without a port", args: args(valid, "--snapshot-every", "1h", "--listen", "localhost"), code: 2, want: []string{"--listen", "HOST:PORT"}},
		{name: "negative grace period", args: args(valid, "--snapshot-every", "1h", "--grace-period", "-1s"), code: 2, want: []string{"--grace-period"}},
		{name: "negative run timeout", args: args(valid, "--snapshot-every", "1h", "--run-timeout", "-1s"), code: 2, want: []string{"--run-timeout"}},
		{name: "no --dir", args: []string{"serve", "--snapshot-every", "1h", "--chrome", noBrowser, "--workspace", "1234", "--session", valid}, code: 2, want: []string{"--dir is required"}},
		{name: "negative --keep", args: args(valid, "--snapshot-every", "1h", "--keep", "-3"), code: 2, want: []string{"--keep"}},
		{name: "bad webhook", args: args(valid, "--snapshot-every", "1h", "--webhook", "mailto:ops@example.com"), code: 2, want: []string{"invalid webhook URL"}},
		{name: "bad CLAY_WEBHOOK", env: map[string]string{"CLAY_WEBHOOK": "hooks"}, args: args(valid, "--snapshot-every", "1h"), code: 2, want: []string{"CLAY_WEBHOOK"}},
		{name: "positional argument", args: args(valid, "--snapshot-every", "1h", "now"), code: 2, want: []string{"takes no arguments"}},
		{name: "no workspace", args: []string{"serve", "--dir", dir, "--snapshot-every", "1h", "--chrome", noBrowser, "--session", valid}, code: 2, want: []string{"no workspace"}},
		{name: "no session", args: []string{"serve", "--dir", dir, "--snapshot-every", "1h", "--chrome", noBrowser, "--workspace", "1234"}, code: 2, want: []string{"no session file"}},
		{name: "missing session file", args: args(files["missing"], "--snapshot-every", "1h"), code: 2, want: []string{"does not exist"}},
		{name: "session file readable by others", args: args(files["open"], "--snapshot-every", "1h"), code: 2, want: []string{"chmod 600"}},
		{name: "expired session", args: args(files["expired"], "--snapshot-at", "02:30"), code: 3, want: []string{"expired", "agent login"}},
		{name: "--dir that is a file", args: append(args(valid, "--snapshot-every", "1h"), "--dir", files["valid"]), code: 2, want: []string{"--dir " + files["valid"]}},
	}
	if os.Geteuid() != 0 {
		// root writes anywhere whatever the mode
		readOnly := filepath.Join(tmp, "read-only")
		require.NoError(t, os.Mkdir(readOnly, 0o500))
		tests = append(tests, struct {
			name string
			env  map[string]string
			args []string
			code int
			want []string
		}{name: "--dir that is not writable", args: append(args(valid, "--snapshot-every", "1h"), "--dir", readOnly), code: 2, want: []string{"not writable"}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), tc.env, "", tc.args...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			r.oneErrorLine(t, tc.want...)
			assert.Empty(t, r.stdout, "it never started listening")
			assert.NotContains(t, r.stderr, noBrowser)
			assert.NotContains(t, r.stderr, secretValue)
			assert.NoDirExists(t, dir)
			assert.NoDirExists(t, state)
		})
	}
}

func TestServeListenAddressInUse(t *testing.T) {
	clearAgentEnv(t)
	tmp := t.TempDir()
	files := sessionFiles(t, tmp)
	first := startServe(t, nil, "--listen", "127.0.0.1:0", "--dir", tmp, "--snapshot-every", "1h",
		"--chrome", noBrowser, "--workspace", "1234", "--session", files["valid"])
	addr := strings.TrimPrefix(first.base, "http://")
	r := runApp(t.Context(), nil, "", "serve", "--listen", addr, "--dir", tmp, "--snapshot-every", "1h",
		"--chrome", noBrowser, "--workspace", "1234", "--session", files["valid"])
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--listen "+addr)
	assert.Empty(t, r.stdout)
}

// TestServePublishesTheAuditHead: a scheduled snapshot publishes the
// audit log's head on /metrics and in the webhook's payload; the
// webhook's secret URL shows in no log.
func TestServePublishesTheAuditHead(t *testing.T) {
	e := startE2E(t)
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	dir := filepath.Join(e.Dir, "snapshots")
	writeEarlierSnapshot(t, dir)
	logPath := filepath.Join(e.Dir, "audit.jsonl")
	lines := writeAuditLog(t, logPath, 4)
	head := chainHash(lines[3])

	// A webhook that refuses the post and quotes its secret path back.
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		http.Error(w, "Cannot POST "+r.URL.RequestURI(), http.StatusNotFound)
	}))
	t.Cleanup(hook.Close)
	hookURL := "http://alice:hunter2@" + strings.TrimPrefix(hook.URL, "http://") + "/services/T0SECRET/B0SECRET/XXXXSECRETTOKEN?sig=SIGSECRET"

	s := startServe(t, map[string]string{envAuditLog: logPath, webhook.EnvURL: hookURL},
		e.serveArgs(dir, "--snapshot-every", "1h", "--run-on-start", "-vv")...)
	s.waitHealth(t, 60*time.Second, func(_ int, st schedule.Status) bool { return !st.LastSuccess.IsZero() })

	_, metrics := s.get(t, "/metrics")
	assert.Contains(t, metrics, "\n"+schedule.MetricAuditHead+`{head="`+head+`"} 1`+"\n")
	assert.Contains(t, metrics, "\n"+schedule.MetricAuditRecords+" 4\n")
	assert.Contains(t, metrics, "\n"+schedule.MetricAuditFailures+" 0\n")
	assert.Contains(t, metrics, "\n"+schedule.MetricWebhookFailures+" 1\n")

	mu.Lock()
	require.Len(t, bodies, 1, "a 404 is not retried")
	var payload snapshot.Payload
	require.NoError(t, json.Unmarshal(bodies[0], &payload))
	mu.Unlock()
	assert.Equal(t, &snapshot.AuditHead{Log: logPath, Head: head, Records: 4}, payload.Audit)
	assert.Contains(t, payload.Text, "Audit log: 4 records, head "+head+".")

	r := s.stop(t, 60*time.Second)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "webhook failed; the snapshot is kept")
	assert.Contains(t, r.stderr, head, "the run's log names the head")
	for _, secret := range secretWebhookParts {
		assert.NotContains(t, r.stdout+r.stderr, secret)
	}
}

// TestServeReportsPageDrift: serve probes the Team page's controls; when
// the remove controls lose their hooks it says so on /healthz, /metrics
// and the webhook, once when the drift begins and once when it ends,
// never on every probe in between, and no probe sends a mutation.
func TestServeReportsPageDrift(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionGrid))
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	e.Server.SetFaults(fixtures.Faults{BareRemove: true})
	var (
		mu     sync.Mutex
		drifts []map[string]any
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if d, ok := body["drift"].(map[string]any); ok {
			mu.Lock()
			drifts = append(drifts, d)
			mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)
	posts := func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), drifts...)
	}

	s := startServe(t, map[string]string{webhook.EnvURL: hook.URL},
		e.serveArgs(filepath.Join(e.Dir, "snapshots"), "--snapshot-every", "1h", "--probe-every", "100ms", "--"+testShortIntervalsFlag)...)
	code, st := s.waitHealth(t, 60*time.Second, func(_ int, st schedule.Status) bool { return len(st.Drift) > 0 })
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, schedule.ReasonDrift, st.Reason)
	assert.Contains(t, st.Drift, string(flows.ProbeRemove))
	first := st.LastProbe
	// more probes while the drift lasts
	s.waitHealth(t, 60*time.Second, func(_ int, st schedule.Status) bool { return st.LastProbe.After(first) && len(st.Drift) > 0 })

	_, metrics := s.get(t, "/metrics")
	assert.Contains(t, metrics, "\n"+schedule.MetricPageControl+`{control="remove"} 0`+"\n")
	assert.Contains(t, metrics, "\n"+schedule.MetricPageControl+`{control="list"} 1`+"\n")

	e.Server.SetFaults(fixtures.Faults{})
	code, st = s.waitHealth(t, 60*time.Second, func(_ int, st schedule.Status) bool { return len(st.Drift) == 0 })
	assert.Equal(t, http.StatusOK, code)
	recovered := st.LastProbe
	s.waitHealth(t, 60*time.Second, func(_ int, st schedule.Status) bool { return st.LastProbe.After(recovered) })
	_, metrics = s.get(t, "/metrics")
	assert.Contains(t, metrics, "\n"+schedule.MetricPageControl+`{control="remove"} 1`+"\n")

	got := posts()
	require.Len(t, got, 2, "one message when the drift began, one when it ended: %v", got)
	assert.Contains(t, got[0]["began"], string(flows.ProbeRemove))
	assert.Contains(t, got[1]["ended"], string(flows.ProbeRemove))
	assert.Empty(t, e.Server.Mutations(), "a probe changes nothing")
	r := s.stop(t, 60*time.Second)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "page drift began")
}

// TestServeReconcilesAndAutoApplies: with --idp, each snapshot is
// reconciled: the findings go on /metrics, the new ones to the webhook,
// and --auto-apply offboards the inactive-in-idp seats through a plan,
// audited with its digest.
func TestServeReconcilesAndAutoApplies(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionTable))
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	logPath := filepath.Join(e.Dir, "audit.jsonl")
	var (
		mu       sync.Mutex
		findings []map[string]any
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if f, ok := body["findings"].(map[string]any); ok {
			mu.Lock()
			findings = append(findings, f)
			mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)
	dir := filepath.Join(e.Dir, "snapshots")
	s := startServe(t, map[string]string{webhook.EnvURL: hook.URL, envAuditLog: logPath},
		e.serveArgs(dir, "--snapshot-every", "1h", "--run-on-start", "--probe=false",
			"--idp", idpTestdata("okta-users.json"), "--company-domain", "acme.test", "--auto-apply")...)
	s.waitHealth(t, 90*time.Second, func(_ int, st schedule.Status) bool { return !st.LastSuccess.IsZero() })

	_, metrics := s.get(t, "/metrics")
	assert.Contains(t, metrics, "\nclay_agent_seats{finding=\"inactive-in-idp\"} 1\n")
	assert.Contains(t, metrics, "\nclay_agent_seats{finding=\"not-in-idp\"} 1\n")
	assert.Contains(t, metrics, "\nclay_agent_seats{finding=\"invitation-inactive-in-idp\"} 1\n")

	mu.Lock()
	require.Len(t, findings, 1, "one message with the new findings")
	news, _ := findings[0]["new"].([]any)
	mu.Unlock()
	assert.Len(t, news, 5, "inactive-in-idp, not-in-idp, external and two invitations: %v", news)

	assert.False(t, serverHasMember(e.Server, "john.smith@acme.test"), "auto-apply offboarded the inactive seat")
	_, pending := serverInvitation(e.Server, "pending.one@acme.test")
	assert.False(t, pending)
	assert.True(t, serverHasMember(e.Server, "tom.becker@acme.test"), "not-in-idp is never auto-applied")
	plans, err := filepath.Glob(filepath.Join(dir, "plans", "auto-*.json"))
	require.NoError(t, err)
	require.Len(t, plans, 1)
	_, digest, err := plan.Read(plans[0])
	require.NoError(t, err)
	recs := lastRun(t, readAudit(t, logPath))
	assert.Contains(t, trail(recs), "removed john.smith@acme.test")
	for _, rec := range recs {
		assert.Equal(t, digest, rec.Plan)
		assert.Equal(t, autoApprover, rec.ApprovedBy)
	}
	r := s.stop(t, 60*time.Second)
	assert.Equal(t, exitOK, r.code, r.stderr)

	// After a restart, the findings already reported are not posted again.
	s = startServe(t, map[string]string{webhook.EnvURL: hook.URL, envAuditLog: logPath},
		e.serveArgs(dir, "--snapshot-every", "1h", "--run-on-start", "--probe=false",
			"--idp", idpTestdata("okta-users.json"), "--company-domain", "acme.test")...)
	s.waitHealth(t, 90*time.Second, func(_ int, st schedule.Status) bool { return !st.LastSuccess.IsZero() })
	r = s.stop(t, 60*time.Second)
	assert.Equal(t, exitOK, r.code, r.stderr)
	mu.Lock()
	assert.Len(t, findings, 1, "nothing new to post after the restart")
	mu.Unlock()
}
