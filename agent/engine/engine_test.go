package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/flows"
)

// recorder notes the steps of a run in the order they happen.
type recorder struct{ steps []string }

func (r *recorder) note(format string, a ...any) {
	r.steps = append(r.steps, fmt.Sprintf(format, a...))
}

// fakeSession is a session without a browser; it notes what the engine
// asks of it.
type fakeSession struct{ rec *recorder }

func (s *fakeSession) Team() *flows.Team { return nil }
func (s *fakeSession) SaveScreenshot(_ context.Context, dir, name string) (string, error) {
	s.rec.note("screenshot %s", name)
	return filepath.Join(dir, name+".png"), nil
}
func (s *fakeSession) SaveArtifacts(label string) ([]string, error) {
	s.rec.note("artifacts %s", label)
	return []string{"/artifacts/" + label + ".html"}, nil
}
func (s *fakeSession) Close() { s.rec.note("close") }

// fakeSessions hands out one fakeSession, or fails with err.
type fakeSessions struct {
	rec *recorder
	err error
}

func (f fakeSessions) Acquire(context.Context) (Session, error) {
	f.rec.note("session")
	if f.err != nil {
		return nil, f.err
	}
	return &fakeSession{rec: f.rec}, nil
}
func (f fakeSessions) Release(s Session, err error) { f.rec.note("release %v", err != nil) }

// removeAll is a flow that removes its targets in order, stopping with
// stop on the target named stopAt (after its click started).
func removeAll(rec *recorder, targets []string, stopAt string, stop error) Flow {
	return func(ctx context.Context, s Session, b flows.Batch) ([]core.Result, error) {
		rec.note("flow dry=%v", b.DryRun)
		var out []core.Result
		for _, t := range targets {
			if b.DryRun {
				out = append(out, core.Result{Email: t, Action: core.WouldRemove})
				continue
			}
			if err := b.OnStart(t); err != nil {
				return out, err
			}
			if t == stopAt {
				return out, stop
			}
			if b.Evidence != nil {
				_, _ = b.Evidence(ctx, t, "before")
			}
			r := core.Result{Email: t, Action: core.Removed, Clicked: true}
			b.OnResult(r)
			out = append(out, r)
		}
		return out, nil
	}
}

// testRun is a run of offboard over three targets with a real audit log
// in dir and every step noted in rec.
func testRun(t *testing.T, rec *recorder, dir string) Run {
	t.Helper()
	targets := []string{"a@acme.test", "b@acme.test", "c@acme.test"}
	return Run{
		Command: "offboard",
		Targets: targets,
		Policy:  core.Policy{MaxRemovals: 5},
		Lock: func(context.Context) (func(), error) {
			rec.note("lock")
			return func() { rec.note("unlock") }, nil
		},
		Audit: func() (*audit.Log, func(), error) {
			rec.note("audit")
			l, err := audit.Open(filepath.Join(dir, "audit.jsonl"))
			if err != nil {
				return nil, nil, err
			}
			return l, func() { _ = l.Close() }, nil
		},
		Sessions:      fakeSessions{rec: rec},
		Flow:          removeAll(rec, targets, "", nil),
		EvidenceDir:   filepath.Join(dir, "evidence"),
		KeepArtifacts: true,
	}
}

// records reads the audit log back as "target outcome" lines.
func records(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_, err := audit.VerifyChainFile(filepath.Join(dir, "audit.jsonl"), audit.VerifyVisit(func(rec audit.Record, _ bool) {
		out = append(out, strings.TrimSpace(rec.Target+" "+rec.Outcome))
	}))
	require.NoError(t, err)
	return out
}

// TestExecuteOrder: lock, audit, planned record, session, the dry run and
// the question, the flow with a record before each click and after each
// outcome, the finish, the session's release and the unlock, in that
// order.
func TestExecuteOrder(t *testing.T) {
	rec, dir := &recorder{}, t.TempDir()
	r := testRun(t, rec, dir)
	r.Confirm = func(_ context.Context, plan []core.Result) error {
		rec.note("confirm %d", len(plan))
		return nil
	}
	out := Execute(context.Background(), r)
	require.NoError(t, out.Err)
	require.NoError(t, out.AuditErr)
	assert.Equal(t, StageFlow, out.Stage)
	require.Len(t, out.Results, 3)
	want := []string{"lock", "audit", "session", "flow dry=true", "confirm 3", "flow dry=false",
		"screenshot " + out.RunID + "-1-a@acme.test-before",
		"screenshot " + out.RunID + "-2-b@acme.test-before",
		"screenshot " + out.RunID + "-3-c@acme.test-before",
		"release false", "unlock"}
	assert.Equal(t, want, rec.steps)
	assert.Equal(t, []string{"planned",
		"a@acme.test started", "a@acme.test removed",
		"b@acme.test started", "b@acme.test removed",
		"c@acme.test started", "c@acme.test removed", "finished"}, records(t, dir))
}

// TestExecuteAborts: a run that stops at any stage accounts for every
// target, writes the records that say what was and was not done, and
// releases what it took.
func TestExecuteAborts(t *testing.T) {
	gone := fmt.Errorf("%w: the tab crashed", core.ErrBrowserGone)
	tests := []struct {
		name      string
		change    func(r *Run, rec *recorder)
		stage     Stage
		wantErr   error
		steps     []string
		records   []string
		artifacts bool
	}{
		{
			name: "the lock is held",
			change: func(r *Run, rec *recorder) {
				r.Lock = func(context.Context) (func(), error) { rec.note("lock"); return nil, context.DeadlineExceeded }
			},
			stage: StageLock, wantErr: context.DeadlineExceeded,
			steps: []string{"lock"},
		},
		{
			name: "the audit log cannot be opened",
			change: func(r *Run, rec *recorder) {
				r.Audit = func() (*audit.Log, func(), error) { rec.note("audit"); return nil, nil, audit.ErrKey }
			},
			stage: StageAudit, wantErr: audit.ErrKey,
			steps: []string{"lock", "audit", "unlock"},
		},
		{
			name:   "the browser does not start",
			change: func(r *Run, rec *recorder) { r.Sessions = fakeSessions{rec: rec, err: gone} },
			stage:  StageSession, wantErr: core.ErrBrowserGone,
			steps:   []string{"lock", "audit", "session", "unlock"},
			records: []string{"planned", "a@acme.test not-attempted", "b@acme.test not-attempted", "c@acme.test not-attempted", "aborted"},
		},
		{
			name: "the operator says no",
			change: func(r *Run, rec *recorder) {
				r.Confirm = func(context.Context, []core.Result) error {
					rec.note("confirm")
					return core.ErrRefused
				}
			},
			stage: StageConfirm, wantErr: core.ErrRefused,
			steps:   []string{"lock", "audit", "session", "flow dry=true", "confirm", "release true", "unlock"},
			records: []string{"planned", "a@acme.test not-attempted", "b@acme.test not-attempted", "c@acme.test not-attempted", "aborted"},
		},
		{
			name: "the browser dies on the second target",
			change: func(r *Run, rec *recorder) {
				r.EvidenceDir = ""
				r.Flow = removeAll(rec, r.Targets, "b@acme.test", gone)
			},
			stage: StageFlow, wantErr: core.ErrBrowserGone, artifacts: true,
			steps:   []string{"lock", "audit", "session", "flow dry=false", "artifacts offboard", "release true", "unlock"},
			records: []string{"planned", "a@acme.test started", "a@acme.test removed", "b@acme.test started", "b@acme.test interrupted", "c@acme.test not-attempted", "aborted"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, dir := &recorder{}, t.TempDir()
			r := testRun(t, rec, dir)
			tc.change(&r, rec)
			out := Execute(context.Background(), r)
			assert.Equal(t, tc.stage, out.Stage)
			require.ErrorIs(t, out.Err, tc.wantErr)
			assert.Equal(t, tc.steps, rec.steps)
			require.Len(t, out.Results, 3, "every target is accounted for")
			for _, res := range out.Results[len(out.Results)-1:] {
				assert.Equal(t, core.Failed, res.Action)
				assert.ErrorIs(t, res.Err, tc.wantErr)
			}
			assert.Equal(t, tc.artifacts, len(out.Artifacts) > 0)
			if tc.records != nil {
				assert.Equal(t, tc.records, records(t, dir))
			}
		})
	}
}

// TestExecuteNotRecorded: when the planned record cannot be written the
// browser never starts and the error wraps ErrNotRecorded.
func TestExecuteNotRecorded(t *testing.T) {
	rec, dir := &recorder{}, t.TempDir()
	r := testRun(t, rec, dir)
	open := r.Audit
	r.Audit = func() (*audit.Log, func(), error) {
		l, closeLog, err := open()
		require.NoError(t, err)
		closeLog() // a closed log refuses every record
		return l, func() {}, nil
	}
	out := Execute(context.Background(), r)
	assert.Equal(t, StageRecord, out.Stage)
	require.ErrorIs(t, out.Err, core.ErrNotRecorded)
	assert.NotContains(t, rec.steps, "session")
	require.Len(t, out.Results, 3)
}

// TestKeeper: one session serves several runs; an error that leaves it
// unusable closes it and the next run opens a fresh one.
func TestKeeper(t *testing.T) {
	rec := &recorder{}
	opened := 0
	k := &Keeper{Open: func(context.Context) (Session, error) {
		opened++
		return &fakeSession{rec: rec}, nil
	}}
	ctx := context.Background()
	s1, err := k.Acquire(ctx)
	require.NoError(t, err)
	k.Release(s1, errors.New("a target was refused"))
	s2, err := k.Acquire(ctx)
	require.NoError(t, err)
	assert.Same(t, s1, s2, "an ordinary failure keeps the browser")
	k.Release(s2, fmt.Errorf("%w: crashed", core.ErrBrowserGone))
	assert.Equal(t, []string{"close"}, rec.steps)
	s3, err := k.Acquire(ctx)
	require.NoError(t, err)
	assert.NotSame(t, s1, s3)
	assert.Equal(t, 2, opened)
	k.Close()
	assert.Equal(t, []string{"close", "close"}, rec.steps)
}
