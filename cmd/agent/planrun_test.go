package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/plan"
	"github.com/clay-agent/clay-agent/flows"
)

// idpOptions are validated identity flags for a test export.
func idpOptions(t *testing.T, file string, extra func(f *idpFlags)) idpFlags {
	t.Helper()
	f := idpFlags{sources: []string{idpTestdata(file)}, companyDomains: []string{"acme.test"}}
	if extra != nil {
		extra(&f)
	}
	require.NoError(t, f.validate(noEnv, testLog))
	return f
}

// newReconcileRunEnv is reconcile's Options over the seed roster.
func newReconcileRunEnv(t *testing.T, output string) (*reconcileOptions, *fakePage, *fakeOpener, *lockedBuffer) {
	t.Helper()
	st, out, _ := lockedStreams()
	page := &fakePage{roster: seedRoster()}
	opener := &fakeOpener{page: page}
	o := &reconcileOptions{streams: st, idp: idpOptions(t, "okta-users.json", nil), output: output, getenv: noEnv, log: testLog, open: opener.open}
	require.NoError(t, o.validate())
	return o, page, opener, out
}

// TestRunReconcilePrintsTheFindings: one finding per seat, in each
// format, from one listing of the page.
func TestRunReconcilePrintsTheFindings(t *testing.T) {
	for _, format := range []string{"table", "json", "csv"} {
		t.Run(format, func(t *testing.T) {
			o, page, _, out := newReconcileRunEnv(t, format)
			require.NoError(t, reconcileRun(t.Context(), o))
			got := map[string]string{}
			switch format {
			case "json":
				var rep struct {
					Findings []idp.Row `json:"findings"`
				}
				require.NoError(t, json.Unmarshal([]byte(out.String()), &rep))
				for _, r := range rep.Findings {
					got[r.Email] = string(r.Finding)
				}
			case "csv":
				rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
				require.NoError(t, err)
				require.Equal(t, []string{"email", "name", "kind", "role", "finding", "idp_status", "source"}, rows[0])
				for _, row := range rows[1:] {
					got[row[0]] = row[4]
				}
			default:
				for _, line := range strings.Split(out.String(), "\n") {
					if f := strings.Fields(line); len(f) > 1 && strings.Contains(f[1], "@") {
						got[f[1]] = f[0]
					}
				}
			}
			for email, want := range wantFindings {
				assert.Equal(t, string(want), got[email], email)
			}
			lists, closes, failed := page.counts()
			assert.Equal(t, 1, lists)
			assert.Equal(t, 1, closes)
			assert.Empty(t, failed)
		})
	}
}

// TestRunReconcileDetailedExitcode: with --detailed-exitcode a finding
// that is not active exits 7; without it, or when all are active, 0.
func TestRunReconcileDetailedExitcode(t *testing.T) {
	o, _, _, _ := newReconcileRunEnv(t, "table")
	require.NoError(t, reconcileRun(t.Context(), o))
	o.detailed = true
	var ee *exitError
	require.True(t, errors.As(reconcileRun(t.Context(), o), &ee))
	assert.Equal(t, exitFindings, ee.code)

	// only the active seats left
	o, page, _, _ := newReconcileRunEnv(t, "table")
	r := seedRoster()
	r.Members, r.Invitations = nil, nil
	for _, m := range seedRoster().Members {
		if wantFindings[m.Email] == idp.FindingActive {
			r.Members = append(r.Members, m)
		}
	}
	page.roster, o.detailed = r, true
	require.NoError(t, reconcileRun(t.Context(), o))
}

// TestRunReconcileReadsTheSourcesBeforeTheBrowser: a source that cannot
// be read is a usage error before any page is opened; a listing that
// fails keeps its artifacts under "reconcile".
func TestRunReconcileReadsTheSourcesBeforeTheBrowser(t *testing.T) {
	o, _, opener, out := newReconcileRunEnv(t, "table")
	o.idp.sources = []string{filepath.Join(t.TempDir(), "missing.csv")}
	require.ErrorIs(t, reconcileRun(t.Context(), o), agent.ErrUsage)
	assert.Zero(t, opener.opened(), "no browser for a bad source")
	assert.Empty(t, out.String())

	o, page, _, out := newReconcileRunEnv(t, "table")
	page.err = fmt.Errorf("%w: no list", agent.ErrPageChanged)
	require.ErrorIs(t, reconcileRun(t.Context(), o), agent.ErrPageChanged)
	_, _, failed := page.counts()
	assert.Equal(t, []string{"reconcile"}, failed)
	assert.Empty(t, out.String())
}

// newPlanRunEnv is plan's Options over the seed roster, writing into a
// scratch directory at a fixed time.
func newPlanRunEnv(t *testing.T) (*planOptions, *fakePage, *lockedBuffer) {
	t.Helper()
	st, out, _ := lockedStreams()
	page := &fakePage{roster: seedRoster()}
	o := &planOptions{streams: st, idp: idpOptions(t, "entra-users.csv", nil), out: filepath.Join(t.TempDir(), "plan.json"),
		maxRemovals: flows.DefaultMaxRemovals, getenv: noEnv, log: testLog, open: (&fakeOpener{page: page}).open,
		now: fixedClock(time.Now().UTC().Truncate(time.Second))}
	require.NoError(t, o.validate())
	return o, page, out
}

// TestRunPlanWritesThePlan: the plan holds the inactive seats' actions,
// is written where --out says and printed with its digest and the next
// steps; --detailed-exitcode exits 7 when it has actions.
func TestRunPlanWritesThePlan(t *testing.T) {
	o, _, out := newPlanRunEnv(t)
	require.NoError(t, planRun(t.Context(), o))
	p, digest, err := plan.Read(o.out)
	require.NoError(t, err)
	assert.Equal(t, []plan.Action{
		{Action: plan.Offboard, Email: "john.smith@acme.test", Reason: "inactive-in-idp", Kind: "member", Role: "Editor"},
		{Action: plan.Revoke, Email: "pending.one@acme.test", Reason: "invitation-inactive-in-idp", Kind: "invitation", Role: "Editor"},
	}, p.Actions)
	assert.Equal(t, o.now(), p.CreatedAt.UTC(), "made at the clock's time")
	assertCLI(t, cliResult{stdout: out.String()}, cliWant{stdout: []string{
		"tom.becker@acme.test: not planned",
		fmt.Sprintf("written to %s (digest %s)", o.out, digest),
		"approve it with: agent approve " + o.out,
	}})

	o.detailed = true
	var ee *exitError
	require.True(t, errors.As(planRun(t.Context(), o), &ee))
	assert.Equal(t, exitFindings, ee.code)

	// with --offboard-unknown, the seat no source knows is planned too
	o, _, _ = newPlanRunEnv(t)
	o.offboardUnknown = true
	require.NoError(t, planRun(t.Context(), o))
	p, _, err = plan.Read(o.out)
	require.NoError(t, err)
	assert.Contains(t, p.Targets(), "tom.becker@acme.test")
}

// TestRunPlanRefusesTooManyRemovals: a plan over --max-removals is
// refused whole and nothing is written.
func TestRunPlanRefusesTooManyRemovals(t *testing.T) {
	o, _, out := newPlanRunEnv(t)
	o.maxRemovals = 1
	require.ErrorIs(t, planRun(t.Context(), o), agent.ErrRefused)
	assert.NoFileExists(t, o.out)
	assert.Empty(t, out.String())

	for _, edit := range []func(o *planOptions){
		func(o *planOptions) { o.out = "" },
		func(o *planOptions) { o.maxRemovals = 0 },
		func(o *planOptions) { o.allowDomains = []string{" "} },
		func(o *planOptions) { o.idp.sources = nil },
	} {
		o, _, _ := newPlanRunEnv(t)
		edit(o)
		assert.ErrorIs(t, o.validate(), agent.ErrUsage)
	}
}

// planFixture is a plan file made by plan from the seed roster, and the
// audit log and key an approval and an apply use.
type planFixture struct {
	path, digest string
	p            *plan.Plan
	dir          string
	auditLog     string
	key          string
	app          *app
}

func newPlanFixture(t *testing.T) *planFixture {
	t.Helper()
	o, _, _ := newPlanRunEnv(t)
	require.NoError(t, planRun(t.Context(), o))
	p, digest, err := plan.Read(o.out)
	require.NoError(t, err)
	dir := filepath.Dir(o.out)
	return &planFixture{path: o.out, digest: digest, p: p, dir: dir, auditLog: filepath.Join(dir, "state", "audit.jsonl"),
		key: writeKeyFile(t, filepath.Join(dir, "audit.key"), testAuditKey, 0o600), app: testApp(nil)}
}

// approve is approve's Options for the plan, by who, signing with the key
// when keyed.
func (f *planFixture) approve(by string, keyed bool) (*approveOptions, *lockedBuffer) {
	st, out, _ := lockedStreams()
	o := &approveOptions{streams: st, path: f.path, by: by, auditLog: f.auditLog, now: time.Now,
		openAudit: f.app.openAuditWith, auditLogPath: f.app.auditLogPath, defaultActor: func() string { return "ops" }}
	if keyed {
		o.keyFile = f.key
	}
	return o, out
}

// TestRunApproveRecordsBeforeApproving: the approval is in the audit log
// and beside the plan, by --by or the default actor; a plan that cannot
// be read or is dated in the future, and an audit record that cannot be
// written, approve nothing.
func TestRunApproveRecordsBeforeApproving(t *testing.T) {
	f := newPlanFixture(t)
	o, out := f.approve("", true)
	require.NoError(t, approveRun(t.Context(), o))
	assert.Contains(t, out.String(), fmt.Sprintf("approved plan %s (", f.digest))
	assert.Contains(t, out.String(), " by ops at ")
	ap, err := plan.CheckApproval(f.path, f.digest)
	require.NoError(t, err)
	assert.Equal(t, "ops", ap.By)
	recs := readAudit(t, f.auditLog)
	require.Len(t, recs, 1)
	assert.Equal(t, audit.OutcomeApproved, recs[0].Outcome)
	assert.Equal(t, f.digest, recs[0].Plan)

	t.Run("not a plan", func(t *testing.T) {
		o, _ := f.approve("Carol", true)
		o.path = f.key
		require.ErrorIs(t, approveRun(t.Context(), o), agent.ErrUsage)
	})
	t.Run("dated in the future", func(t *testing.T) {
		f := newPlanFixture(t)
		o, _ := f.approve("Carol", true)
		o.now = fixedClock(f.p.CreatedAt.Add(-time.Hour))
		require.ErrorIs(t, approveRun(t.Context(), o), plan.ErrStale)
		assert.NoFileExists(t, plan.ApprovalPath(f.path))
		assert.NoFileExists(t, f.auditLog, "no record")
	})
	t.Run("the record cannot be written", func(t *testing.T) {
		f := newPlanFixture(t)
		f.app.auditOptions = []audit.Option{audit.WithBeforeAppend(func(audit.Record) error { return errors.New("disk full") })}
		o, _ := f.approve("Carol", true)
		require.ErrorIs(t, approveRun(t.Context(), o), flows.ErrNotRecorded)
		assert.NoFileExists(t, plan.ApprovalPath(f.path), "no approval without its record")
	})
}

// applyOptionsFor is apply's Options for the plan, with a fake applier.
func (f *planFixture) applyOptionsFor(requireApproval, keyed bool) (*applyOptions, *fakePlanApplier) {
	st, _, _ := lockedStreams()
	applier := &fakePlanApplier{}
	o := &applyOptions{streams: st, requireApproval: requireApproval, maxAge: plan.DefaultMaxAge, path: f.path,
		workspace: func() string { return f.p.Workspace }, auditKey: f.app.readAuditKey, auditLogPath: f.app.auditLogPath,
		now: time.Now, applyPlan: applier.apply}
	o.mutate.yes = true
	o.mutate.auditLog = f.auditLog
	o.mutate.change.policy.MaxRemovals = 2
	if keyed {
		o.mutate.auditKeyFile = f.key
	}
	return o, applier
}

// TestRunApplyRefusesUnapproved: with --require-approval a plan is
// applied only with an approval signed with the audit key; without the
// key it is a usage error. Nothing reaches the engine.
func TestRunApplyRefusesUnapproved(t *testing.T) {
	tests := []struct {
		name    string
		approve func(f *planFixture)
		keyed   bool
		want    error
	}{
		{name: "no approval", keyed: true, want: plan.ErrNotApproved},
		{name: "an approval recorded elsewhere, without the key", keyed: true, want: plan.ErrNotApproved, approve: func(f *planFixture) {
			o, _ := f.approve("Mallory", false)
			o.auditLog = filepath.Join(f.dir, "other-audit.jsonl")
			require.NoError(t, approveRun(t.Context(), o))
			require.FileExists(t, plan.ApprovalPath(f.path))
		}},
		{name: "no key to check an approval with", keyed: false, want: agent.ErrUsage, approve: func(f *planFixture) {
			o, _ := f.approve("Carol", true)
			require.NoError(t, approveRun(t.Context(), o))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newPlanFixture(t)
			if tc.approve != nil {
				tc.approve(f)
			}
			o, applier := f.applyOptionsFor(true, tc.keyed)
			require.ErrorIs(t, applyRun(t.Context(), o), tc.want)
			assert.Empty(t, applier.applied(), "nothing reached the engine")
		})
	}
}

// TestRunApplyAppliesTheApprovedPlan: the plan goes to the engine with its
// digest, its keyed approver and the change the flags describe.
func TestRunApplyAppliesTheApprovedPlan(t *testing.T) {
	f := newPlanFixture(t)
	ao, _ := f.approve("Carol", true)
	require.NoError(t, approveRun(t.Context(), ao))
	o, applier := f.applyOptionsFor(true, true)
	require.NoError(t, applyRun(t.Context(), o))
	runs := applier.applied()
	require.Len(t, runs, 1)
	r := runs[0]
	assert.Equal(t, f.digest, r.plan.digest)
	assert.Equal(t, "Carol", r.plan.approver)
	assert.Equal(t, f.p.Targets(), r.plan.p.Targets())
	assert.Equal(t, o.mutate.change, r.change)
	assert.Equal(t, filepath.Join(filepath.Dir(f.auditLog), "plans"), r.plan.ledgerDir)
	assert.Empty(t, r.plan.history.Done, "nothing of it was done yet")

	// without --require-approval the last approver is named all the same
	o, applier = f.applyOptionsFor(false, false)
	require.NoError(t, applyRun(t.Context(), o))
	assert.Equal(t, "Carol", applier.applied()[0].plan.approver)
}

// TestRunApplyRefusesAPlanItMayNotApply: a plan for another workspace,
// too old, changed after its approval, or applied already is refused
// before the engine.
func TestRunApplyRefusesAPlanItMayNotApply(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, f *planFixture, o *applyOptions)
		want error
	}{
		{name: "another workspace", want: plan.ErrOtherWorkspace, edit: func(_ *testing.T, _ *planFixture, o *applyOptions) {
			o.workspace = func() string { return "9999" }
		}},
		{name: "too old", want: plan.ErrStale, edit: func(_ *testing.T, _ *planFixture, o *applyOptions) { o.maxAge = time.Nanosecond }},
		{name: "not a plan", want: agent.ErrUsage, edit: func(_ *testing.T, f *planFixture, o *applyOptions) { o.path = f.key }},
		{name: "changed after its approval", want: plan.ErrApprovalMismatch, edit: func(t *testing.T, f *planFixture, _ *applyOptions) {
			ao, _ := f.approve("Carol", true)
			require.NoError(t, approveRun(t.Context(), ao))
			changed := *f.p
			changed.Actions = changed.Actions[:1]
			_, err := plan.Write(f.path, &changed)
			require.NoError(t, err)
		}},
		{name: "applied already", want: plan.ErrAlreadyApplied, edit: func(t *testing.T, f *planFixture, _ *applyOptions) {
			dir := filepath.Join(filepath.Dir(f.auditLog), "plans")
			require.NoError(t, os.MkdirAll(dir, 0o700))
			l, err := plan.ReadLedger(dir, f.digest)
			require.NoError(t, err)
			for _, a := range f.p.Actions {
				require.NoError(t, l.Note(dir, plan.Done{Email: a.Email, Outcome: "removed", At: time.Now().UTC()}))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newPlanFixture(t)
			o, applier := f.applyOptionsFor(false, true)
			tc.edit(t, f, o)
			require.ErrorIs(t, applyRun(t.Context(), o), tc.want)
			assert.Empty(t, applier.applied())
		})
	}
}
