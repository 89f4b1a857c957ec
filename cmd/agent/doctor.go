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

// doctorCommand checks the set-up, one line per check, without changing
// anything: the browser, the configuration, the session file, the webhook
// URL in CLAY_WEBHOOK when one is set (shown as webhook.Redact shows it)
// and, when it can, the Team page itself: every control each flow needs,
// proved on the live page without a destructive click (flows.Team.Probe).
func (a *app) doctorCommand() *cobra.Command {
	var (
		offline bool
		output  string
	)
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
			return checkFormat(output, "table", "json")
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var rep doctorReport
			code := exitOK
			var cause error
			check := func(name string, err error, okDetail string) {
				c := doctorCheck{Name: name, OK: err == nil, Detail: okDetail}
				if err != nil {
					c.Detail = err.Error()
					if code == exitOK {
						cause = err
					}
					code = worst(code, exitFailed)
				}
				rep.Checks = append(rep.Checks, c)
				if output == "json" {
					return
				}
				// a detail may quote the page
				status := "ok  "
				if err != nil {
					status = "FAIL"
				}
				fmt.Fprintf(a.stdout, "%s  %-12s %s\n", status, name, textsafe.Terminal(c.Detail))
			}
			cfg := a.config()
			if cfg.ChromeURL != "" {
				check("browser", nil, "attaching to "+cfg.ChromeURL)
			} else if cfg.ChromePath != "" {
				check("browser", nil, cfg.ChromePath)
			} else {
				p, err := agent.FindChrome()
				check("browser", err, p)
			}
			cerr := cfg.Validate()
			teamURL, _ := cfg.TeamURL()
			check("config", cerr, teamURL)
			state, serr := agent.LoadSession(cfg.SessionFile, a.now())
			detail := ""
			if serr == nil {
				detail = state.String()
				if c, ok := state.SessionCookie(); ok && !c.ExpiresAt().IsZero() {
					detail += "; session cookie expires " + c.ExpiresAt().UTC().Format(time.RFC3339)
				}
			}
			check("session", serr, detail)
			if raw := a.getenv(webhook.EnvURL); raw != "" {
				hook, err := webhook.New(raw)
				if err != nil {
					check("webhook", fmt.Errorf("%s: %w", webhook.EnvURL, err), "")
				} else {
					check("webhook", nil, hook.String()+" ("+webhook.EnvURL+")")
				}
			}
			if cerr == nil && !offline {
				check("reachable", reachable(ctx, cfg.BaseURL, cfg.StepTimeout), cfg.BaseURL)
			}
			if cerr == nil && serr == nil && !offline {
				probe, err := a.probe(ctx, true)
				switch {
				case err != nil:
					check("team page", err, "")
					code = worst(code, exitCode(err))
					cause = err
				default:
					rep.Controls = probe.Checks
					if drift := probe.Drift(); len(drift) > 0 {
						check("team page", fmt.Errorf("%w: %s", flows.ErrDrift, controlList(drift)), "")
						code = worst(code, exitPageChanged)
					} else {
						check("team page", nil, fmt.Sprintf("%d members, %d pending invitations; every control found", probe.Members, probe.Invitations))
					}
					if output != "json" {
						writeControls(a.stdout, probe.Checks)
					}
				}
			}
			if output == "json" {
				if rep.Controls == nil {
					rep.Controls = []flows.Check{}
				}
				if err := writeJSON(a.stdout, rep); err != nil {
					return err
				}
			}
			if code != exitOK {
				msg := "some checks failed"
				if cause != nil {
					msg = cause.Error()
				}
				return &exitError{code: code, msg: msg}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "skip the checks that reach the network or start a browser")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
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
