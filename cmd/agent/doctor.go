package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/textsafe"
	"github.com/clay-agent/clay-agent/agent/webhook"
)

// doctorCommand checks the set-up, one line per check, without changing
// anything: the browser, the configuration, the session file, the webhook
// URL in CLAY_WEBHOOK when one is set (shown as webhook.Redact shows it)
// and, when it can, the Team page itself.
func (a *app) doctorCommand() *cobra.Command {
	var offline bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the browser, the configuration, the session, the webhook and the Team page",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			failed := 0
			check := func(name string, err error, okDetail string) {
				if err != nil {
					failed++
					// an error may quote the page
					fmt.Fprintf(a.stdout, "FAIL  %-12s %s\n", name, textsafe.Terminal(err.Error()))
					return
				}
				fmt.Fprintf(a.stdout, "ok    %-12s %s\n", name, textsafe.Terminal(okDetail))
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
				s, err := a.openSession(ctx)
				if err == nil {
					r, lerr := s.team.List(ctx, cfg.Workspace)
					if lerr == nil {
						check("team page", nil, fmt.Sprintf("%d members, %d pending invitations", len(r.Members), len(r.Invitations)))
					} else {
						check("team page", s.fail("doctor", lerr), "")
					}
					s.close()
				} else {
					check("team page", err, "")
				}
			}
			if failed > 0 {
				return &exitError{code: exitFailed, msg: fmt.Sprintf("%d checks failed", failed)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "skip the checks that reach the network or start a browser")
	return cmd
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
