package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/plan"
	"github.com/clay-agent/clay-agent/agent/schedule"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/webhook"
	"github.com/clay-agent/clay-agent/flows"
)

// fakeProbe proves the page's controls: those drift(call) names are
// missing on the call-th probe (from 1).
type fakeProbe struct {
	mu    sync.Mutex
	calls int
	keeps []bool
	drift func(call int) []flows.ProbeControl
	err   error
}

func (p *fakeProbe) probe(_ context.Context, keep bool) (*flows.Probe, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.keeps = append(p.keeps, keep)
	if p.err != nil {
		return nil, p.err
	}
	missing := map[flows.ProbeControl]bool{}
	if p.drift != nil {
		for _, c := range p.drift(p.calls) {
			missing[c] = true
		}
	}
	out := &flows.Probe{}
	for _, c := range flows.ProbeControls {
		ok := !missing[c]
		out.Checks = append(out.Checks, flows.Check{Control: c, Found: ok, Unique: ok, Detail: "fake"})
	}
	return out, nil
}

func (p *fakeProbe) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// fakePlanApplier records the plans it is asked to apply.
type fakePlanApplier struct {
	mu   sync.Mutex
	runs []planApply
	err  error
}

func (f *fakePlanApplier) apply(_ context.Context, r planApply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, r)
	return f.err
}

func (f *fakePlanApplier) applied() []planApply {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]planApply(nil), f.runs...)
}

// serveRunEnv is serve's Options over fakes: a page, a probe, a plan
// applier, and a listener on the loopback interface.
type serveRunEnv struct {
	o        *serveOptions
	page     *fakePage
	opener   *fakeOpener
	probe    *fakeProbe
	applier  *fakePlanApplier
	listener *recordingListener
	out      *lockedBuffer
	errOut   *lockedBuffer
	tmp, dir string
}

func newServeRunEnv(t *testing.T) *serveRunEnv {
	t.Helper()
	st, out, errOut := lockedStreams()
	tmp := t.TempDir()
	e := &serveRunEnv{page: &fakePage{roster: seedRoster(), listed: make(chan struct{}, 64)}, probe: &fakeProbe{},
		applier: &fakePlanApplier{}, listener: &recordingListener{}, out: out, errOut: errOut,
		tmp: tmp, dir: filepath.Join(tmp, "snapshots")}
	e.opener = &fakeOpener{page: e.page}
	e.o = &serveOptions{streams: st, listen: "127.0.0.1:0", tz: "UTC", every: "1h", runOnStart: true, grace: time.Second,
		runTimeout: time.Minute, probe: true, autoMax: 3,
		snap:        snapshotSettings{dir: e.dir, lockDir: filepath.Join(tmp, "locks"), lockTimeout: time.Second},
		getenv:      noEnv,
		auditKey:    noAuditKey,
		checkConfig: func() error { return nil },
		taker: snapshotTaker{check: checkOK("1234"), open: e.opener.open, now: time.Now,
			auditHead: func(string, string) *snapshot.AuditHead { return nil }},
		probePage:    e.probe.probe,
		listenOn:     e.listener.listen,
		applyPlan:    e.applier.apply,
		auditLogPath: func(string) string { return filepath.Join(tmp, "state", "audit.jsonl") },
		now:          time.Now,
		log:          testLog,
	}
	return e
}

// start validates the options and runs serve until the test stops it.
func (e *serveRunEnv) start(t *testing.T) (*runningServe, *backgroundRun) {
	t.Helper()
	require.NoError(t, e.o.validate())
	run := runInBackground(t, func(ctx context.Context) error { return serveRun(ctx, e.o) })
	return &runningServe{base: waitFor(t, e.out, servingRE), stderr: e.errOut}, run
}

// TestRunServeRefusesBadSchedule: every setting is checked before serve
// starts; a bad one is a usage error, and a good schedule is built.
func TestRunServeRefusesBadSchedule(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(o *serveOptions)
		sched string // "" when refused
	}{
		{name: "every hour", sched: "every 1h0m0s"},
		{name: "daily in a time zone", edit: func(o *serveOptions) { o.every, o.at, o.tz = "", "02:30", "Asia/Kolkata" }, sched: "daily at 02:30 Asia/Kolkata"},
		{name: "short interval for tests", edit: func(o *serveOptions) { o.every, o.shortIntervals = "200ms", true }, sched: "every 200ms"},
		{name: "no schedule", edit: func(o *serveOptions) { o.every = "" }},
		{name: "both schedules", edit: func(o *serveOptions) { o.at = "02:30" }},
		{name: "time zone with an interval", edit: func(o *serveOptions) { o.tzSet = true }},
		{name: "unknown time zone", edit: func(o *serveOptions) { o.every, o.at, o.tz = "", "02:30", "Mars/Olympus" }},
		{name: "empty time zone", edit: func(o *serveOptions) { o.every, o.at, o.tz = "", "02:30", "" }},
		{name: "hour out of range", edit: func(o *serveOptions) { o.every, o.at = "", "24:00" }},
		{name: "not HH:MM", edit: func(o *serveOptions) { o.every, o.at = "", "noon" }},
		{name: "zero interval", edit: func(o *serveOptions) { o.every = "0s" }},
		{name: "interval without a unit", edit: func(o *serveOptions) { o.every = "30" }},
		{name: "interval under a minute", edit: func(o *serveOptions) { o.every = "30s" }},
		{name: "probe interval under a minute", edit: func(o *serveOptions) { o.probeEvery = 10 * time.Second }},
		{name: "negative probe interval", edit: func(o *serveOptions) { o.probeEvery = -time.Minute }},
		{name: "probe interval without the probe", edit: func(o *serveOptions) { o.probeEvery, o.probe = time.Hour, false }},
		{name: "listen without a port", edit: func(o *serveOptions) { o.listen = "localhost" }},
		{name: "negative grace period", edit: func(o *serveOptions) { o.grace = -time.Second }},
		{name: "negative run timeout", edit: func(o *serveOptions) { o.runTimeout = -time.Second }},
		{name: "no --dir", edit: func(o *serveOptions) { o.snap.dir = "" }},
		{name: "a bad webhook", edit: func(o *serveOptions) { o.getenv = envOf(map[string]string{webhook.EnvURL: "hooks"}) }},
		{name: "auto-apply without sources", edit: func(o *serveOptions) { o.autoApply = true }},
		{name: "no removals allowed", edit: func(o *serveOptions) { o.autoMax = 0 }},
		{name: "a bad configuration", edit: func(o *serveOptions) {
			o.checkConfig = func() error { return fmt.Errorf("%w: no workspace", agent.ErrUsage) }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newServeRunEnv(t)
			if tc.edit != nil {
				tc.edit(e.o)
			}
			err := e.o.validate()
			if tc.sched == "" {
				require.ErrorIs(t, err, agent.ErrUsage)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.sched, fmt.Sprint(e.o.sched))
		})
	}
}

// TestRunServeStopsBeforeListening: a session that does not pass, a --dir
// it cannot write and an address it cannot listen on stop serve before
// it serves anything or takes a snapshot.
func TestRunServeStopsBeforeListening(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(e *serveRunEnv)
		want   error
		listen bool // whether it got as far as listening
		msg    string
	}{
		{name: "expired session", want: agent.ErrLoginRequired,
			edit: func(e *serveRunEnv) {
				e.o.taker.check = func() (string, error) { return "", fmt.Errorf("%w: expired", agent.ErrLoginRequired) }
			}},
		{name: "--dir that is a file", want: agent.ErrUsage, msg: "--dir",
			edit: func(e *serveRunEnv) {
				require.NoError(t, os.WriteFile(filepath.Join(e.tmp, "file"), nil, 0o600))
				e.o.snap.dir = filepath.Join(e.tmp, "file")
			}},
		{name: "address in use", want: agent.ErrUsage, listen: true, msg: "--listen 127.0.0.1:0",
			edit: func(e *serveRunEnv) { e.listener.err = errors.New("address already in use") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newServeRunEnv(t)
			tc.edit(e)
			require.NoError(t, e.o.validate())
			err := serveRun(t.Context(), e.o)
			require.ErrorIs(t, err, tc.want)
			assert.ErrorContains(t, err, tc.msg)
			if tc.listen {
				assert.Equal(t, []string{"127.0.0.1:0"}, e.listener.asked())
			} else {
				assert.Empty(t, e.listener.asked(), "it never listened")
			}
			assert.Empty(t, e.out.String(), "it never said it serves")
			assert.Zero(t, e.opener.opened(), "no snapshot was taken")
		})
	}
}

// TestRunServeSnapshotsOnStartAndServesHealth: with --run-on-start the
// first snapshot is taken at once, the probe follows it, /healthz and
// /metrics say so, and a stop is clean.
func TestRunServeSnapshotsOnStartAndServesHealth(t *testing.T) {
	e := newServeRunEnv(t)
	s, run := e.start(t)
	_, st := s.waitHealth(t, 20*time.Second, func(_ int, st schedule.Status) bool { return !st.LastSuccess.IsZero() })
	assert.Equal(t, schedule.StatusOK, st.Status)
	assert.Contains(t, e.out.String(), "snapshots of workspace 1234 into "+e.dir+", every 1h0m0s")
	require.Eventually(t, func() bool { return e.probe.count() == 1 }, 10*time.Second, 10*time.Millisecond, "the probe follows the snapshot")

	code, metrics := s.get(t, "/metrics")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, metrics, fmt.Sprintf("\n%s %d\n", schedule.MetricMembers, len(seedRoster().Members)))
	assert.Contains(t, metrics, "\n"+schedule.MetricPageControl+`{control="remove"} 1`+"\n")
	assert.Contains(t, metrics, "\ngo_goroutines ")

	require.NoError(t, run.stop(t))
	_, err := http.Get(s.base + "/healthz")
	assert.Error(t, err, "the HTTP server is closed")
	assert.Len(t, dirNames(t, e.dir), 1)
	assert.Equal(t, 1, e.probe.count(), "one probe per snapshot")
	assert.Empty(t, e.applier.applied(), "no --auto-apply, no plan")
}

// TestRunServeReportsAFailedSnapshotOnHealthz: a snapshot that fails
// makes /healthz answer 503 with its reason; no probe follows it, and the
// stop is clean.
func TestRunServeReportsAFailedSnapshotOnHealthz(t *testing.T) {
	e := newServeRunEnv(t)
	e.page.err = fmt.Errorf("%w: run agent login", agent.ErrLoginRequired)
	s, run := e.start(t)
	code, st := s.waitHealth(t, 20*time.Second, func(code int, _ schedule.Status) bool { return code != http.StatusOK })
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "login required", st.Reason)
	_, _, failed := e.page.counts()
	assert.Equal(t, []string{"snapshot"}, failed, "the failure's artifacts are kept")
	require.NoError(t, run.stop(t))
	assert.Zero(t, e.probe.count(), "no probe after a failed snapshot")
	assert.Empty(t, dirNames(t, e.dir))
}

// TestRunServeReportsDriftOnce: a probe on its own interval that finds a
// control missing marks the drift on /healthz and posts it once when it
// begins and once when it ends.
func TestRunServeReportsDriftOnce(t *testing.T) {
	hook := newWebhookRecorder(t, http.StatusOK)
	e := newServeRunEnv(t)
	e.o.runOnStart, e.o.probeEvery, e.o.shortIntervals = false, 20*time.Millisecond, true
	e.o.snap.webhookURL = hook.URL
	e.probe.drift = func(call int) []flows.ProbeControl {
		if call >= 2 && call <= 4 {
			return []flows.ProbeControl{flows.ProbeRemove}
		}
		return nil
	}
	_, run := e.start(t)
	require.Eventually(t, func() bool { return len(hook.posts()) >= 2 && e.probe.count() >= 6 }, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, run.stop(t))
	var drifts []map[string]any
	for _, body := range hook.posts() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m))
		d, _ := m["drift"].(map[string]any)
		drifts = append(drifts, d)
	}
	require.Len(t, drifts, 2, "one post when the drift began, one when it ended")
	assert.Equal(t, []any{string(flows.ProbeRemove)}, drifts[0]["began"])
	assert.Equal(t, []any{string(flows.ProbeRemove)}, drifts[1]["ended"])
	assert.Zero(t, e.opener.opened(), "no snapshot was due")
	e.probe.mu.Lock()
	keeps := e.probe.keeps
	e.probe.mu.Unlock()
	assert.Equal(t, []bool{true, true, false, false}, keeps[:4], "artifacts are kept of a drift's first probe only")
}

// TestRunServeAutoApplies: with --idp the snapshot is reconciled; the
// findings go to /metrics and, the new ones, to the webhook, and
// --auto-apply applies a plan of the inactive seats, written beside the
// snapshots.
func TestRunServeAutoApplies(t *testing.T) {
	hook := newWebhookRecorder(t, http.StatusOK)
	e := newServeRunEnv(t)
	e.o.probe = false
	e.o.snap.webhookURL = hook.URL
	e.o.idp.sources = []string{idpTestdata("okta-users.json")}
	e.o.idp.companyDomains = []string{"acme.test"}
	e.o.autoApply = true
	s, run := e.start(t)
	s.waitHealth(t, 20*time.Second, func(_ int, st schedule.Status) bool { return !st.LastSuccess.IsZero() })
	_, metrics := s.get(t, "/metrics")
	assert.Contains(t, metrics, "\nclay_agent_seats{finding=\"inactive-in-idp\"} 1\n")
	assert.Contains(t, metrics, "\nclay_agent_seats{finding=\"invitation-inactive-in-idp\"} 1\n")
	require.NoError(t, run.stop(t))

	runs := e.applier.applied()
	require.Len(t, runs, 1)
	r := runs[0]
	var targets []string
	for _, a := range r.plan.p.Actions {
		targets = append(targets, string(a.Action)+" "+a.Email)
	}
	assert.ElementsMatch(t, []string{"offboard john.smith@acme.test", "revoke pending.one@acme.test"}, targets)
	assert.Equal(t, autoApprover, r.plan.approver)
	assert.True(t, r.change.yes, "nobody to ask")
	assert.Equal(t, 3, r.change.policy.MaxRemovals)
	assert.Equal(t, filepath.Join(e.tmp, "state", "plans"), r.plan.ledgerDir, "the ledger beside the audit log")
	plans, err := filepath.Glob(filepath.Join(e.dir, "plans", "auto-*.json"))
	require.NoError(t, err)
	require.Len(t, plans, 1)
	_, digest, err := plan.Read(plans[0])
	require.NoError(t, err)
	assert.Equal(t, digest, r.plan.digest, "the plan applied is the file written")

	require.Len(t, hook.posts(), 1, "one message with the new findings")
	var body map[string]any
	require.NoError(t, json.Unmarshal(hook.posts()[0], &body))
	findings, _ := body["findings"].(map[string]any)
	news, _ := findings["new"].([]any)
	assert.Len(t, news, 5)
}
