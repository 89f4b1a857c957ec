package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/schedule"
	"github.com/clay-agent/clay-agent/agent/schedule/clocktest"
	"github.com/clay-agent/clay-agent/agent/snapshot"
)

var (
	t0       = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	errLogin = errors.New("login required")
)

// classify is what cmd/agent would pass: sentinel errors to short names.
func classify(err error) string {
	if errors.Is(err, errLogin) {
		return "login required"
	}
	return ""
}

// run is one call of the fake job; the test decides how it ends.
type run struct {
	ctx    context.Context
	finish chan outcome
}

type outcome struct {
	res *snapshot.Result
	err error
}

func (r *run) succeed(members, invitations int) {
	ro := &roster.Roster{Workspace: "acme"}
	for i := range members {
		ro.Members = append(ro.Members, roster.Member{Email: fmt.Sprintf("m%d@example.com", i)})
	}
	for i := range invitations {
		ro.Invitations = append(ro.Invitations, roster.Invitation{Email: fmt.Sprintf("i%d@example.com", i)})
	}
	r.finish <- outcome{res: &snapshot.Result{Snapshot: "acme-1.json", Workspace: "acme", Roster: ro}}
}

func (r *run) fail(err error) { r.finish <- outcome{err: err} }

// harness runs a Runner with a fake clock and a job the test drives.
type harness struct {
	t        *testing.T
	clock    *clocktest.Clock
	runner   *schedule.Runner
	metrics  *schedule.Metrics
	logs     *observer.ObservedLogs
	started  chan *run
	inflight atomic.Int32
	maxIn    atomic.Int32
	calls    atomic.Int32
	cancel   context.CancelFunc
	done     chan struct{} // closed when Run returns
	runErr   error
}

func newHarness(t *testing.T, sched schedule.Schedule, opts ...schedule.Option) *harness {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	metrics, err := schedule.NewMetrics(nil)
	require.NoError(t, err)
	h := &harness{
		t:       t,
		clock:   clocktest.New(t0),
		metrics: metrics,
		logs:    logs,
		started: make(chan *run, 10),
		done:    make(chan struct{}),
	}
	job := func(ctx context.Context) (*snapshot.Result, error) {
		h.calls.Add(1)
		n := h.inflight.Add(1)
		defer h.inflight.Add(-1)
		for {
			m := h.maxIn.Load()
			if n <= m || h.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		r := &run{ctx: ctx, finish: make(chan outcome, 1)}
		h.started <- r
		select {
		case o := <-r.finish:
			return o.res, o.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	all := append([]schedule.Option{
		schedule.WithClock(h.clock),
		schedule.WithLogger(zap.New(core)),
		schedule.WithMetrics(metrics),
		schedule.WithClassifier(classify),
		schedule.WithGracePeriod(time.Minute),
	}, opts...)
	h.runner = schedule.NewRunner(sched, job, all...)
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		h.runErr = h.runner.Run(ctx)
	}()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
		}
	})
	h.waitForWaiters(1)
}

// waitForWaiters waits until n timers are pending on the fake clock.
func (h *harness) waitForWaiters(n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(h.t, h.clock.BlockUntilWaiters(ctx, n), "waiting for %d timers", n)
}

// tick advances the clock by d and waits until the runner waits again.
func (h *harness) tick(d time.Duration) {
	h.t.Helper()
	h.clock.Advance(d)
	h.waitForWaiters(1)
}

func (h *harness) nextRun() *run {
	h.t.Helper()
	select {
	case r := <-h.started:
		return r
	case <-time.After(5 * time.Second):
		h.t.Fatal("the job did not start")
		return nil
	}
}

func (h *harness) noRun() {
	h.t.Helper()
	select {
	case <-h.started:
		h.t.Fatal("the job started unexpectedly")
	case <-time.After(5 * time.Millisecond):
	}
}

func (h *harness) idle() {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return !h.runner.Status().Running }, 5*time.Second, time.Millisecond)
}

func (h *harness) stop() error {
	h.t.Helper()
	h.cancel()
	select {
	case <-h.done:
		return h.runErr
	case <-time.After(5 * time.Second):
		h.t.Fatal("Run did not return")
		return nil
	}
}

func (h *harness) messages(level zapcore.Level) []string {
	var out []string
	for _, e := range h.logs.All() {
		if e.Level == level {
			out = append(out, e.Message)
		}
	}
	return out
}

func every(t *testing.T, d time.Duration) schedule.Schedule {
	t.Helper()
	s, err := schedule.Every(d)
	require.NoError(t, err)
	return s
}

func TestRunnerRunsOnSchedule(t *testing.T) {
	h := newHarness(t, every(t, time.Hour))
	h.start()

	st := h.runner.Status()
	assert.Equal(t, schedule.StatusOK, st.Status, "healthy before anything is due")
	assert.Equal(t, t0.Add(time.Hour), st.NextRun)
	h.clock.Advance(59 * time.Minute)
	h.noRun()

	h.tick(time.Minute)
	h.nextRun().succeed(3, 1)
	h.idle()
	st = h.runner.Status()
	assert.Equal(t, schedule.StatusOK, st.Status)
	assert.Equal(t, t0.Add(time.Hour), st.LastSuccess)
	assert.Equal(t, t0.Add(2*time.Hour), st.NextRun)

	h.tick(time.Hour)
	h.nextRun().fail(fmt.Errorf("list: %w", errLogin))
	h.idle()
	st = h.runner.Status()
	assert.Equal(t, schedule.StatusFailing, st.Status)
	assert.Equal(t, "login required", st.Reason)
	assert.Equal(t, "list: login required", st.LastError)
	assert.Equal(t, t0.Add(time.Hour), st.LastSuccess, "the last success is kept")

	h.tick(time.Hour)
	h.nextRun().succeed(3, 0)
	h.idle()
	st = h.runner.Status()
	assert.Equal(t, schedule.StatusOK, st.Status, "a success clears the failure")
	assert.Empty(t, st.Reason)
	assert.Empty(t, st.LastError)

	require.NoError(t, h.stop())
	assert.EqualValues(t, 3, h.calls.Load())
	assert.Zero(t, h.runner.Status().MissedRuns)
}

func TestRunnerNeverRunsTwiceAtOnce(t *testing.T) {
	h := newHarness(t, every(t, time.Hour))
	h.start()

	h.tick(time.Hour)
	first := h.nextRun()
	// Two more due times pass while the first run is still going.
	h.tick(time.Hour)
	h.tick(time.Hour)
	h.noRun()
	assert.Equal(t, 2, h.runner.Status().MissedRuns)
	assert.Equal(t, []string{
		"missed scheduled snapshot run: the previous run is still going",
		"missed scheduled snapshot run: the previous run is still going",
	}, h.messages(zapcore.WarnLevel))

	first.succeed(1, 0)
	h.idle()
	h.tick(time.Hour)
	h.nextRun().succeed(1, 0)
	h.idle()

	assert.EqualValues(t, 2, h.calls.Load())
	assert.EqualValues(t, 1, h.maxIn.Load(), "never two runs at once")
}

func TestRunnerLogsRunsMissedWhileAsleep(t *testing.T) {
	h := newHarness(t, every(t, time.Hour))
	h.start()

	// The machine was suspended: the clock jumps over three due times.
	h.tick(3*time.Hour + 30*time.Minute)
	h.nextRun().succeed(1, 0)
	h.idle()
	h.noRun()

	st := h.runner.Status()
	assert.Equal(t, 2, st.MissedRuns, "1h and 2h were slept through; 3h runs now")
	assert.Equal(t, t0.Add(4*time.Hour), st.NextRun)
	warn := h.logs.FilterMessageSnippet("not awake").All()
	require.Len(t, warn, 1)
	assert.EqualValues(t, 2, warn[0].ContextMap()["missed"])
	assert.EqualValues(t, 1, h.calls.Load())
}

func TestRunnerDaily(t *testing.T) {
	s, err := schedule.ParseDaily("09:30", time.UTC)
	require.NoError(t, err)
	h := newHarness(t, s)
	h.start()

	assert.Equal(t, t0.Add(30*time.Minute), h.runner.Status().NextRun)
	h.tick(30 * time.Minute)
	h.nextRun().succeed(1, 0)
	h.idle()
	assert.Equal(t, t0.Add(24*time.Hour+30*time.Minute), h.runner.Status().NextRun)
}

func TestRunnerRunOnStart(t *testing.T) {
	h := newHarness(t, every(t, time.Hour), schedule.WithRunOnStart(true))
	h.start()
	h.nextRun().succeed(1, 0)
	h.idle()
	assert.Equal(t, t0, h.runner.Status().LastSuccess)
	assert.Equal(t, t0.Add(time.Hour), h.runner.Status().NextRun)
}

func TestRunnerShutdownLetsTheRunFinish(t *testing.T) {
	h := newHarness(t, every(t, time.Hour))
	h.start()
	h.tick(time.Hour)
	r := h.nextRun()

	h.cancel()
	// The stale tick timer and the grace period timer.
	h.waitForWaiters(2)
	require.NoError(t, r.ctx.Err(), "the run is not cancelled within the grace period")
	r.succeed(2, 0)

	require.NoError(t, h.stop())
	st := h.runner.Status()
	assert.Equal(t, t0.Add(time.Hour), st.LastSuccess)
	assert.True(t, st.NextRun.IsZero())
}

func TestRunnerShutdownAbandonsTheRunAfterTheGracePeriod(t *testing.T) {
	dir := t.TempDir()
	listing := make(chan struct{})
	list := func(ctx context.Context) (*roster.Roster, error) {
		close(listing)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	core, _ := observer.New(zapcore.DebugLevel)
	metrics, err := schedule.NewMetrics(nil)
	require.NoError(t, err)
	clock := clocktest.New(t0)
	runner := schedule.NewRunner(every(t, time.Hour),
		func(ctx context.Context) (*snapshot.Result, error) { return snapshot.Take(ctx, list, dir) },
		schedule.WithClock(clock), schedule.WithLogger(zap.New(core)), schedule.WithMetrics(metrics),
		schedule.WithGracePeriod(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	wait := func(n int) {
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer wcancel()
		require.NoError(t, clock.BlockUntilWaiters(wctx, n))
	}

	wait(1)
	clock.Advance(time.Hour)
	<-listing
	cancel() // SIGTERM
	wait(2)
	select {
	case <-done:
		t.Fatal("Run returned before the grace period ended")
	case <-time.After(5 * time.Millisecond):
	}
	clock.Advance(time.Minute)

	select {
	case err := <-done:
		require.ErrorIs(t, err, schedule.ErrRunAbandoned, "a run cut short is not a clean stop")
		assert.Contains(t, err.Error(), "grace period of 1m0s")
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the grace period")
	}
	st := runner.Status()
	assert.Equal(t, schedule.StatusFailing, st.Status)
	assert.Equal(t, "cancelled", st.Reason)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "no snapshot and no partial file")
}

func TestRunnerShutdownWithoutGraceCancelsAtOnce(t *testing.T) {
	h := newHarness(t, every(t, time.Hour), schedule.WithGracePeriod(0))
	h.start()
	h.tick(time.Hour)
	r := h.nextRun()

	require.ErrorIs(t, h.stop(), schedule.ErrRunAbandoned)
	assert.ErrorIs(t, r.ctx.Err(), context.Canceled)
}

func TestRunnerSurvivesAPanic(t *testing.T) {
	clock := clocktest.New(t0)
	var calls atomic.Int32
	runner := schedule.NewRunner(every(t, time.Hour), func(context.Context) (*snapshot.Result, error) {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		return &snapshot.Result{}, nil
	}, schedule.WithClock(clock))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = runner.Run(ctx)
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()

	require.NoError(t, clock.BlockUntilWaiters(wctx, 1))
	clock.Advance(time.Hour)
	require.Eventually(t, func() bool { return runner.Status().Status == schedule.StatusFailing }, 5*time.Second, time.Millisecond)
	st := runner.Status()
	assert.Equal(t, "error", st.Reason)
	assert.Contains(t, st.LastError, "panicked: boom")

	require.NoError(t, clock.BlockUntilWaiters(wctx, 1))
	clock.Advance(time.Hour)
	require.Eventually(t, func() bool { return runner.Status().Status == schedule.StatusOK }, 5*time.Second, time.Millisecond)
}

func TestRunnerRunsOnlyOnce(t *testing.T) {
	h := newHarness(t, every(t, time.Hour))
	h.start()
	assert.ErrorIs(t, h.runner.Run(context.Background()), schedule.ErrAlreadyRunning)
}

func TestDefaultClassifier(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("list: %w", context.Canceled), "cancelled"},
		{fmt.Errorf("list: %w", context.DeadlineExceeded), "timeout"},
		{errLogin, "error"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, schedule.DefaultClassifier(tt.err), tt.err.Error())
	}
}

func TestRunnerNeedsScheduleAndJob(t *testing.T) {
	tests := []struct {
		name  string
		sched schedule.Schedule
		job   schedule.Job
	}{
		{name: "no schedule", job: func(context.Context) (*snapshot.Result, error) { return nil, nil }},
		{name: "no job", sched: every(t, time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schedule.NewRunner(tt.sched, tt.job).Run(context.Background())
			assert.ErrorIs(t, err, schedule.ErrInvalidSchedule)
		})
	}
}

// TestRunnerShutdownAfterTheSnapshotWasSaved: a shutdown that cancels a
// job after its snapshot was saved (during the probe that follows) is a
// clean stop that says what happened, not "the running snapshot was
// cancelled".
func TestRunnerShutdownAfterTheSnapshotWasSaved(t *testing.T) {
	saved := make(chan struct{})
	job := func(ctx context.Context) (*snapshot.Result, error) {
		close(saved) // saved; the probe after it waits for the page
		<-ctx.Done()
		return &snapshot.Result{Snapshot: "d/acme-1.json"}, nil
	}
	core, logs := observer.New(zapcore.InfoLevel)
	runner := schedule.NewRunner(every(t, time.Hour), job, schedule.WithClock(clocktest.New(t0)),
		schedule.WithGracePeriod(0), schedule.WithRunOnStart(true), schedule.WithLogger(zap.New(core)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	select {
	case <-saved:
	case <-time.After(5 * time.Second):
		t.Fatal("the job did not start")
	}
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "nothing was lost")
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	var said []string
	for _, e := range logs.All() {
		said = append(said, e.Message)
	}
	assert.Contains(t, strings.Join(said, "\n"), "the running snapshot was saved")
	assert.Equal(t, schedule.StatusOK, runner.Status().Status)
}
