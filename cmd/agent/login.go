package main

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

func (a *app) loginCommand() *cobra.Command {
	var email string
	var passwordStdin bool
	var signIn time.Duration
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in with email and password and save the session file (mode 0600)",
		Long: `login signs in through the login page that the Team page redirects to, waits
for the session cookie and writes the browser's storage state to --session with
mode 0600. The password comes from --password-stdin or CLAY_PASSWORD, never from
a flag.

It fills in a one-page form (email and password together) and a two-step one
(the email, Continue, then the password), and waits up to --signin-timeout for
the session once the password is sent. It never presses a button that names
Google, Microsoft, Apple, GitHub, SSO, SAML or Okta. A page that asks for a
one-time code, shows a CAPTCHA or leaves for another site (single sign-on)
stops it with exit code 3: such accounts export their session from a browser
instead (see the README).`,
		Example: `  printf '%s' "$PW" | agent login --email ops@corp.com --password-stdin --workspace 1234 --session ./session.json`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			addr, err := roster.ParseEmail(email)
			if err != nil {
				return usageError("--email: %v", err)
			}
			if signIn <= 0 {
				return usageError("--signin-timeout must be positive, got %s", signIn)
			}
			password, err := a.readPassword(passwordStdin)
			if err != nil {
				return err
			}
			cfg := a.config()
			if err := cfg.Validate(); err != nil {
				return err
			}
			if cfg.SessionFile == "" {
				return usageError("no session file to write: set --session or CLAY_SESSION")
			}
			teamURL, err := cfg.TeamURL()
			if err != nil {
				return err
			}
			b, err := agent.Open(ctx, cfg)
			if err != nil {
				return err
			}
			defer b.Close()
			team := flows.NewTeam(b, teamURL, flows.WithSignInTimeout(signIn))
			cookies, err := team.Login(ctx, addr, password)
			if err != nil {
				s := &session{a: a, b: b, team: team, cfg: cfg}
				return s.fail("login", err)
			}
			state := &agent.StorageState{Cookies: cookies, Origins: []agent.Origin{}}
			if err := agent.EnsureDir(dirOf(cfg.SessionFile)); err != nil {
				return err
			}
			if err := state.Save(cfg.SessionFile); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "signed in as %s; session saved to %s (mode 0600)\n", addr, cfg.SessionFile)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the account's email address")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().DurationVar(&signIn, "signin-timeout", flows.DefaultSignInTimeout, "how long to wait for the session once the password is sent")
	return cmd
}

func (a *app) readPassword(fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if err != nil {
				return "", usageError("--password-stdin: no password on standard input")
			}
			return "", usageError("--password-stdin: the password is empty")
		}
		return line, nil
	}
	if p := a.getenv("CLAY_PASSWORD"); p != "" {
		return p, nil
	}
	return "", usageError("no password: use --password-stdin or set CLAY_PASSWORD")
}

func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "."
	}
	return p[:i]
}
