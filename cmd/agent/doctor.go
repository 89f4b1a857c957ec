package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/textsafe"
	"github.com/clay-agent/clay-agent/agent/webhook"
	"github.com/clay-agent/clay-agent/flows"
)

// doctorCheck is one line of doctor's set-up checks.
type doctorCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// doctorReport is doctor's JSON output.
type doctorReport struct {
	Checks   []doctorCheck `json:"checks"`
	Controls []flows.Check `json:"controls"`
}

// doctorOptions are what `agent doctor` runs with.
type doctorOptions struct {
	streams streams
	// offline is --offline; output is -o.
	offline bool
	output  string
	// cfg is the configuration to check, settled in PreRunE.
	cfg agent.Config

	// findChrome looks for a browser when none is named.
	findChrome func() (string, error)
	// loadSession reads and checks the session file.
	loadSession func(path string) (*agent.StorageState, error)
	// getenv reads the webhook's URL.
	getenv func(string) string
	// reachable checks that the base URL answers within the timeout.
	reachable func(ctx context.Context, base string, timeout time.Duration) error
	// probe proves every control of the Team page.
	probe func(ctx context.Context) (*flows.Probe, error)
}

// newDoctorCmd builds `agent doctor`; runF, when not nil, runs instead of
// doctorRun. It checks the set-up, one line per check, without changing
// anything: the browser, the configuration, the session file, the webhook
// URL in CLAY_WEBHOOK when one is set (shown as webhook.Redact shows it)
// and, when it can, the Team page itself: every control each flow needs,
// proved on the live page without a destructive click (flows.Team.Probe).
func newDoctorCmd(a *app, runF func(context.Context, *doctorOptions) error) *cobra.Command {
	opts := &doctorOptions{
		streams:     a.streams(),
		findChrome:  agent.FindChrome,
		loadSession: func(p string) (*agent.StorageState, error) { return agent.LoadSession(p, a.now()) },
		getenv:      func(k string) string { return a.getenv(k) },
		reachable:   reachable,
		probe:       func(ctx context.Context) (*flows.Probe, error) { return a.probe(ctx, true) },
	}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the browser, the configuration, the session, the webhook and every control of the Team page",
		Long: `doctor checks the set-up (browser, configuration, session file, webhook URL,
reachability) and then proves, on the live Team page, every control the flows
need, without a destructive click: the heading and a complete scan of the list;
the + Invite button, and in its dialog the email field, the role dropdown and
Send invite (the dialog is closed with Cancel or Escape); for one member row that
is not the signed-in user, its role dropdown (a popup is opened and closed with
Escape, nothing selected) and its remove control (an actions menu is opened, its
Remove item found, and closed); for one pending invitation, its revoke control.

It prints a table of the controls: found, by which hook (text, ARIA name, title,
icon, structure), unique. Exit codes: 0 all good; 1 a set-up check failed; 3
signed out; 4 a control a flow needs is missing or ambiguous.`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			opts.cfg = a.config()
			return checkFormat(opts.output, "table", "json")
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.offline, "offline", false, "skip the checks that reach the network or start a browser")
	cmd.Flags().StringVarP(&opts.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// doctorRun runs the checks in order, each after those it needs: the
// network and the page only with a valid configuration, the page only
// with a usable session, neither --offline.
func doctorRun(ctx context.Context, opts *doctorOptions) error {
	d := &doctorChecks{opts: opts}
	d.checkBrowser()
	cerr := d.checkConfig()
	serr := d.checkSession()
	d.checkWebhook()
	if cerr == nil && !opts.offline {
		d.check("reachable", opts.reachable(ctx, opts.cfg.BaseURL, opts.cfg.StepTimeout), opts.cfg.BaseURL)
	}
	if cerr == nil && serr == nil && !opts.offline {
		d.checkTeamPage(ctx)
	}
	return d.finish()
}

// doctorChecks collects doctor's checks, printing each as it is made
// (table) or the whole report at the end (JSON), and the exit code they
// add up to.
type doctorChecks struct {
	opts *doctorOptions
	rep  doctorReport
	code int
	// cause is the error the run reports: the first failed check, or a
	// Team page that could not be probed.
	cause error
}

func (d *doctorChecks) json() bool { return d.opts.output == "json" }

// check records one check: ok with okDetail, or failed with err.
func (d *doctorChecks) check(name string, err error, okDetail string) {
	c := doctorCheck{Name: name, OK: err == nil, Detail: okDetail}
	if err != nil {
		c.Detail = err.Error()
		if d.code == exitOK {
			d.cause = err
		}
		d.code = worst(d.code, exitFailed)
	}
	d.rep.Checks = append(d.rep.Checks, c)
	if d.json() {
		return
	}
	// a detail may quote the page
	status := "ok  "
	if err != nil {
		status = "FAIL"
	}
	fmt.Fprintf(d.opts.streams.Out, "%s  %-12s %s\n", status, name, textsafe.Terminal(c.Detail))
}

// checkBrowser checks the browser: the DevTools endpoint or binary named,
// else one found on the machine.
func (d *doctorChecks) checkBrowser() {
	cfg := d.opts.cfg
	switch {
	case cfg.ChromeURL != "":
		d.check("browser", nil, "attaching to "+cfg.ChromeURL)
	case cfg.ChromePath != "":
		d.check("browser", nil, cfg.ChromePath)
	default:
		p, err := d.opts.findChrome()
		d.check("browser", err, p)
	}
}

// checkConfig checks the configuration and shows the Team page's URL.
func (d *doctorChecks) checkConfig() error {
	err := d.opts.cfg.Validate()
	teamURL, _ := d.opts.cfg.TeamURL()
	d.check("config", err, teamURL)
	return err
}

// checkSession checks the session file and says when its cookie expires.
func (d *doctorChecks) checkSession() error {
	state, err := d.opts.loadSession(d.opts.cfg.SessionFile)
	detail := ""
	if err == nil {
		detail = state.String()
		if c, ok := state.SessionCookie(); ok && !c.ExpiresAt().IsZero() {
			detail += "; session cookie expires " + c.ExpiresAt().UTC().Format(time.RFC3339)
		}
	}
	d.check("session", err, detail)
	return err
}

// checkWebhook checks the webhook's URL, when one is set.
func (d *doctorChecks) checkWebhook() {
	raw := d.opts.getenv(webhook.EnvURL)
	if raw == "" {
		return
	}
	hook, err := webhook.New(raw)
	if err != nil {
		d.check("webhook", fmt.Errorf("%s: %w", webhook.EnvURL, err), "")
		return
	}
	d.check("webhook", nil, hook.String()+" ("+webhook.EnvURL+")")
}

// checkTeamPage probes the Team page: a probe that cannot run fails with
// its own exit code (3 signed out), a control missing or ambiguous with 4.
func (d *doctorChecks) checkTeamPage(ctx context.Context) {
	probe, err := d.opts.probe(ctx)
	if err != nil {
		d.check("team page", err, "")
		d.code = worst(d.code, exitCode(err))
		d.cause = err
		return
	}
	d.rep.Controls = probe.Checks
	if drift := probe.Drift(); len(drift) > 0 {
		d.check("team page", fmt.Errorf("%w: %s", flows.ErrDrift, controlList(drift)), "")
		d.code = worst(d.code, exitPageChanged)
	} else {
		d.check("team page", nil, fmt.Sprintf("%d members, %d pending invitations; every control found", probe.Members, probe.Invitations))
	}
	if !d.json() {
		writeControls(d.opts.streams.Out, probe.Checks)
	}
}

// finish writes the JSON report, and returns the exit code the checks add
// up to with the cause's message.
func (d *doctorChecks) finish() error {
	if d.json() {
		if d.rep.Controls == nil {
			d.rep.Controls = []flows.Check{}
		}
		if err := writeJSON(d.opts.streams.Out, d.rep); err != nil {
			return err
		}
	}
	if d.code == exitOK {
		return nil
	}
	msg := "some checks failed"
	if d.cause != nil {
		msg = d.cause.Error()
	}
	return &exitError{code: d.code, msg: msg}
}

// probe opens the Team page and proves every control the flows need. With
// keep, a page that drifted leaves its screenshot and HTML as artifacts.
func (a *app) probe(ctx context.Context, keep bool) (*flows.Probe, error) {
	s, err := a.openSession(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	p, err := s.team.Probe(ctx)
	if err != nil {
		return nil, s.fail("doctor", err)
	}
	if keep && len(p.Drift()) > 0 {
		paths, _ := s.b.SaveArtifacts("doctor")
		a.noteArtifacts(paths)
	}
	return p, nil
}

// controlList names controls for a message.
func controlList(cs []flows.ProbeControl) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Label() + " (" + string(c) + ")"
	}
	return strings.Join(out, ", ")
}

// writeControls prints the probe's table: control, found, hook, unique,
// detail.
func writeControls(w io.Writer, cs []flows.Check) {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTROL\tFOUND\tHOOK\tUNIQUE\tDETAIL")
	for _, c := range cs {
		found, unique := yes(c.Found), yes(c.Unique)
		if c.Skipped {
			found, unique = "-", "-"
		}
		hook := c.Hook
		if hook == "" {
			hook = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Control, found, textsafe.Terminal(hook), unique, oneLine(c.Detail))
	}
	_ = tw.Flush()
}

func reachable(ctx context.Context, base string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, base, nil)
	if err != nil {
		return err
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", base, err)
	}
	resp.Body.Close()
	return nil
}
