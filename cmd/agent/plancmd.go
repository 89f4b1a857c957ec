package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/plan"
	"github.com/clay-agent/clay-agent/agent/textsafe"
	"github.com/clay-agent/clay-agent/flows"
)

// planOptions are the settings and dependencies of `agent plan`.
type planOptions struct {
	streams
	idp             idpFlags
	out             string
	offboardUnknown bool
	maxRemovals     int
	allowDomains    []string
	detailed        bool

	getenv func(string) string
	log    *zap.Logger
	// checkSession checks the configuration and the session file before
	// any identity source is read.
	checkSession func() (string, error)
	open         readOpener
	now          func() time.Time
}

// buildOptions say what the plan may hold.
func (o *planOptions) buildOptions() plan.BuildOptions {
	return plan.BuildOptions{MaxRemovals: o.maxRemovals, AllowDomains: o.allowDomains, OffboardUnknown: o.offboardUnknown}
}

// planLong is plan's help.
const planLong = `plan reconciles (as agent reconcile does) and turns the findings into actions:

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
when the plan has actions.`

// planExample is plan's examples.
const planExample = `  agent plan --idp okta-users.json --company-domain corp.com --out plan.json
  agent approve plan.json --by "Carol (IT)"
  agent apply plan.json --require-approval --yes`

// newPlanCmd builds `agent plan`; runF, when not nil, runs instead of
// planRun.
func newPlanCmd(a *app, runF func(context.Context, *planOptions) error) *cobra.Command {
	o := &planOptions{streams: a.streams(), getenv: a.envValue, checkSession: a.checkSession, open: a.openReadSession, now: a.clock}
	cmd := &cobra.Command{
		Use:     "plan",
		Short:   "Turn a reconciliation into a plan of offboardings and revocations, for review",
		Long:    planLong,
		Example: planExample,
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			o.log = a.log
			return o.validate()
		},
		RunE: dispatchRun(o, runF, planRun),
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

// validate checks the flags before any source is read (exit 2).
func (o *planOptions) validate() error {
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
	return o.idp.validate(o.getenv, orNop(o.log))
}

// planRun reconciles, builds the plan, writes it and prints it.
func planRun(ctx context.Context, o *planOptions) error {
	rep, r, dirs, err := reconcileLive(ctx, &o.idp, o.checkSession, o.open)
	if err != nil {
		return err
	}
	p, notes := plan.Build(r, dirs, rep, o.buildOptions(), o.now())
	if n := len(p.Actions); n > o.maxRemovals {
		return fmt.Errorf("%w: the plan would hold %d removals, more than --max-removals %d: nothing was written", agent.ErrRefused, n, o.maxRemovals)
	}
	digest, err := plan.Write(o.out, p)
	if err != nil {
		return err
	}
	writePlan(o.Out, p, notes)
	fmt.Fprintf(o.Out, "\nplan %s written to %s (digest %s)\n", plan.Summary(p), o.out, digest)
	if len(p.Actions) > 0 {
		fmt.Fprintf(o.Out, "approve it with: agent approve %s\napply it with:   agent apply %s\n", o.out, o.out)
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

// approveOptions are the settings and dependencies of `agent approve`.
type approveOptions struct {
	streams
	// path is the plan file.
	path              string
	by                string
	auditLog, keyFile string

	now          func() time.Time
	openAudit    auditOpener
	auditLogPath func(flagValue string) string
	// defaultActor is who approves without --by.
	defaultActor func() string
}

// approveLong is approve's help.
const approveLong = `approve records that a person approved the plan file as it is now: its digest,
who (--by, default $USER) and when, in PLAN.approval.json beside it (mode 0600)
and in the audit log. agent apply --require-approval refuses a plan without an
approval, or one changed after it was approved (exit 5).`

// newApproveCmd builds `agent approve`; runF, when not nil, runs instead
// of approveRun.
func newApproveCmd(a *app, runF func(context.Context, *approveOptions) error) *cobra.Command {
	o := &approveOptions{streams: a.streams(), now: a.clock, openAudit: a.openAuditWith, auditLogPath: a.auditLogPath,
		defaultActor: audit.DefaultActor}
	cmd := &cobra.Command{
		Use:   "approve PLAN",
		Short: "Record who approved a plan (bound to the plan file's digest)",
		Long:  approveLong,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("approve takes the plan file, e.g. agent approve plan.json")
			}
			return nil
		},
		PreRunE: func(_ *cobra.Command, args []string) error {
			o.path = args[0]
			return nil
		},
		RunE: dispatchRun(o, runF, approveRun),
	}
	cmd.Flags().StringVar(&o.by, "by", "", "who approves (default $USER)")
	cmd.Flags().StringVar(&o.auditLog, "audit-log", "", "the audit log (env CLAY_AUDIT_LOG; default under the user's state directory)")
	cmd.Flags().StringVar(&o.keyFile, "audit-key-file", "", "sign the audit record with the key in this file (env "+envAuditKeyFile+")")
	return cmd
}

// approveRun records the approval of the plan: in the audit log first (no
// approval without its record), then in the file beside the plan.
func approveRun(_ context.Context, o *approveOptions) error {
	by := o.by
	if by == "" {
		by = o.defaultActor()
	}
	p, digest, err := plan.Read(o.path)
	if err != nil {
		return usageError("%v", err)
	}
	if err := plan.CheckTime(p, o.now(), 0); err != nil {
		return err
	}
	if err := o.record(p, digest, by); err != nil {
		return err
	}
	ap, err := plan.Approve(o.path, by, o.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "approved plan %s (%s) by %s at %s\n", ap.Plan, plan.Summary(p), textsafe.Terminal(ap.By), ap.At.Format(time.RFC3339))
	return nil
}

// record appends the approval's record to the audit log.
func (o *approveOptions) record(p *plan.Plan, digest, by string) error {
	alog, err := o.openAudit(o.auditLogPath(o.auditLog), o.keyFile, audit.WithActor(by), audit.WithWorkspace(p.Workspace), audit.WithPlan(digest, by))
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	defer alog.Close()
	if _, err := alog.Append(audit.Record{Command: "approve", Outcome: audit.OutcomeApproved,
		Detail: fmt.Sprintf("approved plan %s %s (%s)", digest, plan.Summary(p), o.path)}); err != nil {
		return fmt.Errorf("%w: nothing was approved: %w", flows.ErrNotRecorded, err)
	}
	return nil
}
