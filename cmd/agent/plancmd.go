package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/plan"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/textsafe"
	"github.com/clay-agent/clay-agent/flows"
)

// planOptions are the settings of `agent plan`.
type planOptions struct {
	idp             idpFlags
	out             string
	offboardUnknown bool
	maxRemovals     int
	allowDomains    []string
	detailed        bool
}

// buildOptions say what the plan may hold.
func (o *planOptions) buildOptions() plan.BuildOptions {
	return plan.BuildOptions{MaxRemovals: o.maxRemovals, AllowDomains: o.allowDomains, OffboardUnknown: o.offboardUnknown}
}

func (a *app) planCommand() *cobra.Command {
	o := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Turn a reconciliation into a plan of offboardings and revocations, for review",
		Long: `plan reconciles (as agent reconcile does) and turns the findings into actions:

  inactive-in-idp              → offboard
  invitation-inactive-in-idp   → revoke
  not-in-idp, invitation-not-in-idp
                               → offboard or revoke, only with --offboard-unknown
  external, invitation-external, unreadable
                               → never acted on, only reported

The signed-in user is never planned. The plan file (--out, mode 0600) holds the
version, the workspace, the time, the digest of the roster and of each source,
the actions and the safety limits in force. It changes nothing: review it, approve
it (agent approve), apply it (agent apply). With --detailed-exitcode it exits 7
when the plan has actions.`,
		Example: `  agent plan --idp okta-users.json --company-domain corp.com --out plan.json
  agent approve plan.json --by "Carol (IT)"
  agent apply plan.json --require-approval --yes`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if o.out == "" {
				return usageError("--out is required: where the plan file goes")
			}
			if o.maxRemovals < 1 {
				return usageError("--max-removals must be at least 1")
			}
			for _, d := range o.allowDomains {
				if !validDomain(d) {
					return usageError("--allow-domain %s is not a domain name (e.g. corp.com)", quoteFlagValue(d))
				}
			}
			return o.idp.validate(a)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPlan(cmd.Context(), o)
		},
	}
	o.idp.register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "", "the plan file to write")
	f.BoolVar(&o.offboardUnknown, "offboard-unknown", false, "also plan to offboard members (and revoke invitations) no source knows at a company domain")
	f.IntVar(&o.maxRemovals, "max-removals", flows.DefaultMaxRemovals, "the most removals the plan may hold; apply enforces it too")
	f.StringSliceVar(&o.allowDomains, "allow-domain", nil, "only plan for emails in these domains (repeatable); apply enforces it too")
	f.BoolVar(&o.detailed, "detailed-exitcode", false, "exit 7 when the plan has actions")
	return cmd
}

// runPlan reconciles, builds the plan, writes it and prints it.
func (a *app) runPlan(ctx context.Context, o *planOptions) error {
	rep, r, dirs, err := a.reconcileLive(ctx, &o.idp)
	if err != nil {
		return err
	}
	p, notes := plan.Build(r, dirs, rep, o.buildOptions(), a.now())
	if n := len(p.Actions); n > o.maxRemovals {
		return fmt.Errorf("%w: the plan would hold %d removals, more than --max-removals %d: nothing was written", agent.ErrRefused, n, o.maxRemovals)
	}
	digest, err := plan.Write(o.out, p)
	if err != nil {
		return err
	}
	writePlan(a.stdout, p, notes)
	fmt.Fprintf(a.stdout, "\nplan %s written to %s (digest %s)\n", plan.Summary(p), o.out, digest)
	if len(p.Actions) > 0 {
		fmt.Fprintf(a.stdout, "approve it with: agent approve %s\napply it with:   agent apply %s\n", o.out, o.out)
	}
	if o.detailed && len(p.Actions) > 0 {
		return &exitError{code: exitFindings}
	}
	return nil
}

// writePlan prints the actions and the notes for a person to read.
func writePlan(w io.Writer, p *plan.Plan, notes []string) {
	fmt.Fprintf(w, "workspace %s, made %s from %d source(s)\n\n", textsafe.Terminal(p.Workspace), p.CreatedAt.Format(time.RFC3339), len(p.Sources))
	if len(p.Actions) == 0 {
		fmt.Fprintln(w, "no actions: nobody to offboard")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ACTION\tEMAIL\tKIND\tROLE\tREASON")
		for _, a := range p.Actions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Action, textsafe.Terminal(a.Email), a.Kind, textsafe.Terminal(a.Role), a.Reason)
		}
		_ = tw.Flush()
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, "note: "+oneLine(n))
		}
	}
}

func (a *app) approveCommand() *cobra.Command {
	var by, auditLog, keyFile string
	cmd := &cobra.Command{
		Use:   "approve PLAN",
		Short: "Record who approved a plan (bound to the plan file's digest)",
		Long: `approve records that a person approved the plan file as it is now: its digest,
who (--by, default $USER) and when, in PLAN.approval.json beside it (mode 0600)
and in the audit log. agent apply --require-approval refuses a plan without an
approval, or one changed after it was approved (exit 5).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("approve takes the plan file, e.g. agent approve plan.json")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if by == "" {
				by = audit.DefaultActor()
			}
			p, digest, err := plan.Read(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			if err := plan.CheckTime(p, a.now(), 0); err != nil {
				return err
			}
			alog, err := a.openAuditLog(a.auditLogPath(auditLog), keyFile, append([]audit.Option{audit.WithActor(by), audit.WithWorkspace(p.Workspace), audit.WithPlan(digest, by)}, a.auditOptions...)...)
			if err != nil {
				return fmt.Errorf("opening the audit log: %w", err)
			}
			defer alog.Close()
			// the audit record first: no approval without its record
			if _, err := alog.Append(audit.Record{Command: "approve", Outcome: audit.OutcomeApproved,
				Detail: fmt.Sprintf("approved plan %s %s (%s)", digest, plan.Summary(p), args[0])}); err != nil {
				return fmt.Errorf("%w: nothing was approved: %w", flows.ErrNotRecorded, err)
			}
			ap, err := plan.Approve(args[0], by, a.now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "approved plan %s (%s) by %s at %s\n", ap.Plan, plan.Summary(p), textsafe.Terminal(ap.By), ap.At.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who approves (default $USER)")
	cmd.Flags().StringVar(&auditLog, "audit-log", "", "the audit log (env CLAY_AUDIT_LOG; default under the user's state directory)")
	cmd.Flags().StringVar(&keyFile, "audit-key-file", "", "sign the audit record with the key in this file (env "+envAuditKeyFile+")")
	return cmd
}

// applyOptions are the settings of `agent apply` beyond those of every
// mutating command, and what loading the plan found.
type applyOptions struct {
	requireApproval bool
	maxAge          time.Duration
	// path, p and digest are the plan file, the plan and its digest.
	path   string
	p      *plan.Plan
	digest string
	// approver is who approved the plan, "" when nobody did.
	approver string
	// ledgerDir is where the ledgers of applied plans are kept: plans/
	// beside the audit log.
	ledgerDir string
	// history is what the audit log and the ledger say of the plan.
	history *plan.History
	ledger  *plan.Ledger
}

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

func (a *app) applyCommand() *cobra.Command {
	o := &applyOptions{}
	mf := &mutateFlags{}
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
			if err := mf.validate(a); err != nil {
				return err
			}
			if o.maxAge <= 0 {
				return usageError("--max-plan-age must be positive, got %s", o.maxAge)
			}
			o.path = args[0]
			return a.loadPlan(o, mf)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			mu := &mutation{a: a, flags: mf.change, command: "apply " + plan.ShortDigest(o.digest), targets: o.p.Targets(),
				auditOptions: []audit.Option{audit.WithPlan(o.digest, o.approver)},
				run: func(s *session, b flows.Batch) ([]flows.Result, error) {
					return a.applyPlan(ctx, s, o.p, o, mf.policy(), b)
				}}
			return mu.execute(ctx)
		},
	}
	mf.register(cmd, true)
	cmd.Flags().BoolVar(&o.requireApproval, "require-approval", false, "refuse a plan that is not approved, or changed after its approval (exit 5)")
	cmd.Flags().DurationVar(&o.maxAge, "max-plan-age", plan.DefaultMaxAge, "refuse a plan older than this (exit 5)")
	return cmd
}

// loadPlan reads the plan at o.path and everything the audit log and the
// ledger say of it, and refuses, before the browser starts, a plan made
// for another workspace, applied already, too old, or changed after its
// approval; with --require-approval, one without a keyed approval.
func (a *app) loadPlan(o *applyOptions, mf *mutateFlags) error {
	var err error
	if o.p, o.digest, err = plan.Read(o.path); err != nil {
		return usageError("%v", err)
	}
	if ws := a.config().Workspace; ws != "" && ws != o.p.Workspace {
		return fmt.Errorf("%w: it was made for workspace %s, not %s", plan.ErrOtherWorkspace, o.p.Workspace, ws)
	}
	key, err := a.readAuditKey("--audit-key-file", mf.auditKeyFile)
	if err != nil {
		return err
	}
	if o.requireApproval && key == nil {
		return usageError("--require-approval needs the audit key (--audit-key-file or %s): without it, whoever can edit the plan can write its approval too", envAuditKeyFile)
	}
	if err := o.readHistory(a.auditLogPath(mf.auditLog), key); err != nil {
		return err
	}
	if err := plan.CheckApplied(o.p, o.history.Done); err != nil {
		return err
	}
	if err := plan.CheckTime(o.p, a.now(), o.maxAge); err != nil {
		return err
	}
	// the file beside the plan says which plan was approved, and names a
	// plan changed after its approval (refused with or without
	// --require-approval); the keyed record in the audit log is what
	// makes it an approval
	if _, err := plan.CheckApproval(o.path, o.digest); err != nil && !errors.Is(err, plan.ErrNotApproved) {
		return err
	}
	return o.findApprover(a.now())
}

// readHistory reads what the audit log at logPath and the ledger beside
// it say of the plan.
func (o *applyOptions) readHistory(logPath string, key []byte) error {
	var err error
	if o.history, err = plan.ReadHistory(logPath, key, o.digest); err != nil {
		return err
	}
	o.ledgerDir = filepath.Join(filepath.Dir(logPath), "plans")
	if o.ledger, err = plan.ReadLedger(o.ledgerDir, o.digest); err != nil {
		return err
	}
	o.ledger.Workspace = o.p.Workspace
	o.history.Merge(o.ledger)
	return nil
}

// findApprover is the plan's last approver; with --require-approval, the
// one whose approval is keyed, or an error.
func (o *applyOptions) findApprover(now time.Time) error {
	if !o.requireApproval {
		if n := len(o.history.Approvals); n > 0 {
			o.approver = o.history.Approvals[n-1].By
		}
		return nil
	}
	ap, err := o.history.KeyedApproval(o.p.Workspace, now)
	if err != nil {
		return err
	}
	o.approver = ap.By
	return nil
}

// applyPlan applies p on the session's page through agent/plan, with the
// batch's audit callbacks and evidence.
func (a *app) applyPlan(ctx context.Context, s *session, p *plan.Plan, o *applyOptions, policy flows.Policy, b flows.Batch) ([]flows.Result, error) {
	ap := &plan.Applier{Plan: p, Now: a.now, MaxAge: o.maxAge, History: o.history, Ledger: o.ledger, LedgerDir: o.ledgerDir,
		Policy: policy, DryRun: b.DryRun, OnResult: b.OnResult,
		OnLedgerError: func(err error) {
			a.log.Error("the plan's ledger could not be written (the audit log holds the outcome)", zap.Error(err))
		}}
	return ap.Apply(ctx, batchTeam{s: s, b: b})
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
