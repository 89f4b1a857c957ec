package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/textsafe"
)

// reconcileOptions are the settings and dependencies of `agent
// reconcile`.
type reconcileOptions struct {
	streams
	idp      idpFlags
	output   string
	csvRaw   bool
	detailed bool

	getenv func(string) string
	log    *zap.Logger
	// checkSession checks the configuration and the session file before
	// any identity source is read.
	checkSession func() (string, error)
	open         readOpener
}

// reconcileLong is reconcile's help.
const reconcileLong = `reconcile reads the identity sources (--idp, repeatable: a person is active if
any source says so), then the Team page once, and prints one finding per member
and per pending invitation:

  active            active in the identity provider
  inactive-in-idp   the source says disabled, suspended or deprovisioned, yet the
                    person still has a seat
  not-in-idp        no source knows the address, and it is at a company domain
  external          no source knows the address, and it is not at a company
                    domain (contractors, guests)
  unreadable        a row whose address the agent could not read

Invitations get the same words with an "invitation-" prefix. Addresses compare
whole and ignoring case, with the aliases the sources give (Entra proxyAddresses
and otherMails, Okta login and secondEmail) and --domain-alias. Bad sources exit
with 2 before any browser starts; a live directory that fails midway exits with
1 and no findings. Exit 0 whenever the reconciliation ran; with
--detailed-exitcode, 7 when any finding is not active.`

// reconcileExample is reconcile's examples.
const reconcileExample = `  agent reconcile --idp entra-users.csv --company-domain corp.com
  agent reconcile --idp okta:https://corp.okta.com --okta-token-file /run/secrets/okta -o json
  agent reconcile --idp users.csv --idp-column email=Mail,status=State --idp-active enabled`

// newReconcileCmd builds `agent reconcile`; runF, when not nil, runs
// instead of reconcileRun.
func newReconcileCmd(a *app, runF func(context.Context, *reconcileOptions) error) *cobra.Command {
	o := &reconcileOptions{streams: a.streams(), getenv: a.envValue, checkSession: a.checkSession, open: a.openReadSession}
	cmd := &cobra.Command{
		Use:     "reconcile",
		Short:   "Compare Clay's members with the identity provider: who should not have a seat",
		Long:    reconcileLong,
		Example: reconcileExample,
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			o.log = a.log
			return o.validate()
		},
		RunE: dispatchRun(o, runF, reconcileRun),
	}
	o.idp.register(cmd.Flags())
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table, json or csv")
	registerCSVRaw(cmd, &o.csvRaw)
	cmd.Flags().BoolVar(&o.detailed, "detailed-exitcode", false, "exit 7 when any finding is not active")
	return cmd
}

// validate checks the flags before any source is read (exit 2).
func (o *reconcileOptions) validate() error {
	if err := checkFormat(o.output); err != nil {
		return err
	}
	if err := checkCSVRaw(o.csvRaw, o.output); err != nil {
		return err
	}
	return o.idp.validate(o.getenv, orNop(o.log))
}

// reconcileRun loads the sources, reads the Team page and prints the
// findings.
func reconcileRun(ctx context.Context, o *reconcileOptions) error {
	rep, _, _, err := reconcileLive(ctx, &o.idp, o.checkSession, o.open)
	if err != nil {
		return err
	}
	if err := writeReport(o.Out, rep, o.output, o.csvRaw); err != nil {
		return err
	}
	if o.detailed && notAllActive(rep) {
		return &exitError{code: exitFindings}
	}
	return nil
}

// reconcileLive checks the session file with checkSession (when not nil)
// and loads the sources first (bad input never starts a browser, and a
// refused session file never reaches an identity provider), then reads the
// Team page opened with open and reconciles it.
func reconcileLive(ctx context.Context, f *idpFlags, checkSession func() (string, error), open readOpener) (*idp.Report, *roster.Roster, []*idp.Directory, error) {
	if checkSession != nil {
		if _, err := checkSession(); err != nil {
			return nil, nil, nil, err
		}
	}
	dirs, err := f.load(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	page, err := open(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	defer page.Close()
	r, err := page.List(ctx)
	if err != nil {
		return nil, nil, nil, page.Fail("reconcile", err)
	}
	rep, err := f.reconcile(r, dirs)
	if err != nil {
		return nil, nil, nil, err
	}
	return rep, r, dirs, nil
}

// notAllActive reports whether any finding is not active.
func notAllActive(rep *idp.Report) bool {
	for _, row := range rep.Findings {
		if row.Finding != idp.FindingActive && row.Finding != idp.FindingInvitationActive {
			return true
		}
	}
	return false
}

// writeReport prints the findings as a table (escaped), JSON (exact) or
// CSV (formulas neutralised unless csvRaw).
func writeReport(w io.Writer, rep *idp.Report, format string, csvRaw bool) error {
	switch format {
	case "json":
		out := struct {
			Findings []idp.Row           `json:"findings"`
			Summary  map[idp.Finding]int `json:"summary"`
		}{Findings: rep.Findings, Summary: rep.Summary}
		if out.Findings == nil {
			out.Findings = []idp.Row{}
		}
		if out.Summary == nil {
			out.Summary = map[idp.Finding]int{}
		}
		return writeJSON(w, out)
	case "csv":
		cw := &csvWriter{w: csv.NewWriter(w), raw: csvRaw}
		cw.w.UseCRLF = true
		if err := cw.write("email", "name", "kind", "role", "finding", "idp_status", "source"); err != nil {
			return err
		}
		for _, r := range rep.Findings {
			if err := cw.write(r.Email, r.Name, string(r.Kind), string(r.Role), string(r.Finding), r.IdPStatus, r.Source); err != nil {
				return err
			}
		}
		cw.w.Flush()
		return cw.w.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINDING\tEMAIL\tROLE\tIDP STATUS\tSOURCE\tNAME")
	for _, r := range rep.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Finding, textsafe.Terminal(r.Email), textsafe.Terminal(string(r.Role)),
			orDash(textsafe.Terminal(r.IdPStatus)), orDash(textsafe.Terminal(r.Source)), oneLine(r.Name))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, f := range idp.Findings {
		if n := rep.Summary[f]; n > 0 {
			fmt.Fprintf(w, "%d %s\n", n, f)
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
