package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/plan"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

// applyOptions are the settings and dependencies of `agent apply`: those
// of every mutating command, and its own.
type applyOptions struct {
	streams
	mutate          mutateFlags
	requireApproval bool
	maxAge          time.Duration
	// path is the plan file.
	path string

	// workspace is the workspace the global flags name, "" when none.
	workspace    func() string
	auditKey     auditKeyReader
	auditLogPath func(flagValue string) string
	now          func() time.Time
	// applyPlan runs the apply through the engine.
	applyPlan planApplier
}

// loadedPlan is a plan read for an apply, with what the audit log and the
// ledger say of it.
type loadedPlan struct {
	p      *plan.Plan
	digest string
	// approver is who approved the plan, "" when nobody did.
	approver string
	maxAge   time.Duration
	// ledgerDir is where the ledgers of applied plans are kept: plans/
	// beside the audit log.
	ledgerDir string
	// history is what the audit log and the ledger say of the plan.
	history *plan.History
	ledger  *plan.Ledger
}

// planApply is one apply of a loaded plan, run as the change says.
type planApply struct {
	plan   *loadedPlan
	change change
}

// planApplier applies a plan: under the workspace lock, audited with the
// plan's digest and approver, through the engine.
type planApplier func(ctx context.Context, r planApply) error

// applyLong is apply's help.
const applyLong = `apply reads the page again, drops the actions that are already done (the target
is gone) and says so, and refuses the whole plan (exit 5) when it is older than
--max-plan-age or dated in the future, when a target's role or state changed in a
way the plan did not see (listing the differences), or when any seat the plan does
not target changed since it was made. A plan is applied once: an apply whose every
action was done before is refused, and a seat an earlier apply of the plan took away
is never taken again (the audit log and plans/ beside it record each target done).
Then it offboards and revokes as agent offboard and agent revoke do, with every
safety rule: never the signed-in user or the last Admin, --max-removals (the
plan's and the flag's, the stricter wins), --allow-domain. Each audit record
carries the plan's digest and its approver. With --require-approval (which needs
the audit key) a plan is applied only when the audit log holds its approval
signed with that key; a plan changed after its approval is refused always.`

// newApplyCmd builds `agent apply`; runF, when not nil, runs instead of
// applyRun.
func newApplyCmd(a *app, runF func(context.Context, *applyOptions) error) *cobra.Command {
	o := &applyOptions{streams: a.streams(), workspace: a.workspaceID, auditKey: a.readAuditKey,
		auditLogPath: a.auditLogPath, now: a.clock, applyPlan: a.applyPlanRun}
	cmd := &cobra.Command{
		Use:   "apply PLAN",
		Short: "Apply a reviewed plan: offboard and revoke as it says, verified and audited",
		Long:  applyLong,
		Example: `  agent apply plan.json --dry-run
  agent apply plan.json --require-approval --yes`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("apply takes the plan file, e.g. agent apply plan.json")
			}
			return nil
		},
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := o.mutate.validate(a); err != nil {
				return err
			}
			if o.maxAge <= 0 {
				return usageError("--max-plan-age must be positive, got %s", o.maxAge)
			}
			o.path = args[0]
			return nil
		},
		RunE: dispatchRun(o, runF, applyRun),
	}
	o.mutate.register(cmd, true)
	cmd.Flags().BoolVar(&o.requireApproval, "require-approval", false, "refuse a plan that is not approved, or changed after its approval (exit 5)")
	cmd.Flags().DurationVar(&o.maxAge, "max-plan-age", plan.DefaultMaxAge, "refuse a plan older than this (exit 5)")
	return cmd
}

// applyRun loads the plan, refusing it before the browser starts when it
// may not be applied, and applies it.
func applyRun(ctx context.Context, o *applyOptions) error {
	lp, err := o.loadPlan()
	if err != nil {
		return err
	}
	return o.applyPlan(ctx, planApply{plan: lp, change: o.mutate.change})
}

// loadPlan reads the plan at o.path and everything the audit log and the
// ledger say of it, and refuses a plan made for another workspace,
// applied already, too old, or changed after its approval; with
// --require-approval, one without a keyed approval.
func (o *applyOptions) loadPlan() (*loadedPlan, error) {
	lp := &loadedPlan{maxAge: o.maxAge}
	var err error
	if lp.p, lp.digest, err = plan.Read(o.path); err != nil {
		return nil, usageError("%v", err)
	}
	if ws := o.workspace(); ws != "" && ws != lp.p.Workspace {
		return nil, fmt.Errorf("%w: it was made for workspace %s, not %s", plan.ErrOtherWorkspace, lp.p.Workspace, ws)
	}
	key, err := o.auditKey("--audit-key-file", o.mutate.auditKeyFile)
	if err != nil {
		return nil, err
	}
	if o.requireApproval && key == nil {
		return nil, usageError("--require-approval needs the audit key (--audit-key-file or %s): without it, whoever can edit the plan can write its approval too", envAuditKeyFile)
	}
	if err := lp.readHistory(o.auditLogPath(o.mutate.auditLog), key); err != nil {
		return nil, err
	}
	if err := plan.CheckApplied(lp.p, lp.history.Done); err != nil {
		return nil, err
	}
	if err := plan.CheckTime(lp.p, o.now(), o.maxAge); err != nil {
		return nil, err
	}
	// the file beside the plan says which plan was approved, and names a
	// plan changed after its approval (refused with or without
	// --require-approval); the keyed record in the audit log is what
	// makes it an approval
	if _, err := plan.CheckApproval(o.path, lp.digest); err != nil && !errors.Is(err, plan.ErrNotApproved) {
		return nil, err
	}
	if err := lp.findApprover(o.requireApproval, o.now()); err != nil {
		return nil, err
	}
	return lp, nil
}

// readHistory reads what the audit log at logPath and the ledger beside
// it say of the plan.
func (lp *loadedPlan) readHistory(logPath string, key []byte) error {
	var err error
	if lp.history, err = plan.ReadHistory(logPath, key, lp.digest); err != nil {
		return err
	}
	lp.ledgerDir = filepath.Join(filepath.Dir(logPath), "plans")
	if lp.ledger, err = plan.ReadLedger(lp.ledgerDir, lp.digest); err != nil {
		return err
	}
	lp.ledger.Workspace = lp.p.Workspace
	lp.history.Merge(lp.ledger)
	return nil
}

// findApprover is the plan's last approver; with requireApproval, the
// one whose approval is keyed, or an error.
func (lp *loadedPlan) findApprover(requireApproval bool, now time.Time) error {
	if !requireApproval {
		if n := len(lp.history.Approvals); n > 0 {
			lp.approver = lp.history.Approvals[n-1].By
		}
		return nil
	}
	ap, err := lp.history.KeyedApproval(lp.p.Workspace, now)
	if err != nil {
		return err
	}
	lp.approver = ap.By
	return nil
}

// applyPlanRun is the app's planApplier: a mutation whose flow applies
// the plan on the session's page.
func (a *app) applyPlanRun(ctx context.Context, r planApply) error {
	lp := r.plan
	mu := &mutation{a: a, flags: r.change, command: "apply " + plan.ShortDigest(lp.digest), targets: lp.p.Targets(),
		auditOptions: []audit.Option{audit.WithPlan(lp.digest, lp.approver)},
		run: func(s *session, b flows.Batch) ([]flows.Result, error) {
			return lp.apply(ctx, batchTeam{s: s, b: b}, r.change.policy, b, a.now, a.log)
		}}
	return mu.execute(ctx)
}

// apply applies the plan on the team through agent/plan, with the batch's
// dry run and audit callback.
func (lp *loadedPlan) apply(ctx context.Context, team plan.Team, policy flows.Policy, b flows.Batch, now func() time.Time, log *zap.Logger) ([]flows.Result, error) {
	ap := &plan.Applier{Plan: lp.p, Now: now, MaxAge: lp.maxAge, History: lp.history, Ledger: lp.ledger, LedgerDir: lp.ledgerDir,
		Policy: policy, DryRun: b.DryRun, OnResult: b.OnResult,
		OnLedgerError: func(err error) {
			log.Error("the plan's ledger could not be written (the audit log holds the outcome)", zap.Error(err))
		}}
	return ap.Apply(ctx, team)
}

// batchTeam is the session's Team page as agent/plan uses it: each flow
// runs with the batch, under the policy and reporting to the callback
// the plan gives.
type batchTeam struct {
	s *session
	b flows.Batch
}

func (t batchTeam) List(ctx context.Context) (*roster.Roster, error) {
	return t.s.team.List(ctx, t.s.cfg.Workspace)
}

func (t batchTeam) Offboard(ctx context.Context, emails []string, policy flows.Policy, onResult func(flows.Result)) ([]flows.Result, error) {
	return t.s.team.Offboard(ctx, emails, t.with(policy, onResult))
}

func (t batchTeam) Revoke(ctx context.Context, emails []string, policy flows.Policy, onResult func(flows.Result)) ([]flows.Result, error) {
	return t.s.team.Revoke(ctx, emails, t.with(policy, onResult))
}

func (t batchTeam) with(policy flows.Policy, onResult func(flows.Result)) flows.Batch {
	b := t.b
	b.Policy, b.OnResult = policy, onResult
	return b
}
