package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/engine"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/flows"
)

// loginOptions are what `agent login` runs with.
type loginOptions struct {
	streams streams
	// email, passwordStdin and signInTimeout are the flags' values.
	email         string
	passwordStdin bool
	signInTimeout time.Duration
	// getenv reads CLAY_PASSWORD (the app's environment, looked up when
	// the command runs).
	getenv func(string) string

	// address, password, cfg and teamURL are settled by prepare.
	address, password string
	cfg               agent.Config
	teamURL           string

	// openBrowser starts a browser on the Team page's flows, without a
	// session; signIn signs in on it and returns the cookies.
	openBrowser func(ctx context.Context, cfg agent.Config, teamURL string, signInTimeout time.Duration) (engine.Session, error)
	signIn      func(ctx context.Context, s engine.Session, email, password string) ([]agent.Cookie, error)
	// saveSession writes the storage state to the session file.
	saveSession func(path string, state *agent.StorageState) error
	// artifacts keeps the page of a failed sign-in.
	artifacts artifactKeeper
}

// newLoginCmd builds `agent login`; runF, when not nil, runs instead of
// loginRun.
func newLoginCmd(a *app, runF func(context.Context, *loginOptions) error) *cobra.Command {
	opts := &loginOptions{streams: a.streams(), getenv: func(k string) string { return a.getenv(k) }, openBrowser: a.openLoginSession,
		signIn: signInOnTeam, saveSession: saveSessionFile, artifacts: a.artifactKeeper()}
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
		PreRunE: func(*cobra.Command, []string) error {
			return opts.prepare(a.config())
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.email, "email", "", "the account's email address")
	cmd.Flags().BoolVar(&opts.passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().DurationVar(&opts.signInTimeout, "signin-timeout", flows.DefaultSignInTimeout, "how long to wait for the session once the password is sent")
	return cmd
}

// prepare checks the flags, reads the password and checks the
// configuration, in that order, before any browser starts.
func (o *loginOptions) prepare(cfg agent.Config) error {
	addr, err := roster.ParseEmail(o.email)
	if err != nil {
		return usageError("--email: %v", err)
	}
	if o.signInTimeout <= 0 {
		return usageError("--signin-timeout must be positive, got %s", o.signInTimeout)
	}
	password, err := o.readPassword()
	if err != nil {
		return err
	}
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
	o.address, o.password, o.cfg, o.teamURL = addr, password, cfg, teamURL
	return nil
}

// loginRun signs in and saves the session; a failed sign-in keeps the
// page's artifacts and writes nothing.
func loginRun(ctx context.Context, opts *loginOptions) error {
	s, err := opts.openBrowser(ctx, opts.cfg, opts.teamURL, opts.signInTimeout)
	if err != nil {
		return err
	}
	defer s.Close()
	cookies, err := opts.signIn(ctx, s, opts.address, opts.password)
	if err != nil {
		return opts.artifacts.keep(s, "login", err)
	}
	state := &agent.StorageState{Cookies: cookies, Origins: []agent.Origin{}}
	if err := opts.saveSession(opts.cfg.SessionFile, state); err != nil {
		return err
	}
	fmt.Fprintf(opts.streams.Out, "signed in as %s; session saved to %s (mode 0600)\n", opts.address, opts.cfg.SessionFile)
	return nil
}

// openLoginSession starts a browser for cfg with no session and the Team
// page's flows waiting up to signInTimeout for a sign-in.
func (a *app) openLoginSession(ctx context.Context, cfg agent.Config, teamURL string, signInTimeout time.Duration) (engine.Session, error) {
	b, err := agent.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	team := flows.NewTeam(b, teamURL, flows.WithSignInTimeout(signInTimeout))
	return &session{a: a, b: b, team: team, cfg: cfg}, nil
}

// signInOnTeam signs in on the session's Team page.
func signInOnTeam(ctx context.Context, s engine.Session, email, password string) ([]agent.Cookie, error) {
	return s.Team().Login(ctx, email, password)
}

// saveSessionFile writes state to path (mode 0600), making its directory
// when there is none.
func saveSessionFile(path string, state *agent.StorageState) error {
	if err := agent.EnsureDir(dirOf(path)); err != nil {
		return err
	}
	return state.Save(path)
}

// readPassword reads the password: the first line of standard input with
// --password-stdin, else CLAY_PASSWORD.
func (o *loginOptions) readPassword() (string, error) {
	if o.passwordStdin {
		line, err := bufio.NewReader(o.streams.In).ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if err != nil {
				return "", usageError("--password-stdin: no password on standard input")
			}
			return "", usageError("--password-stdin: the password is empty")
		}
		return line, nil
	}
	if p := o.getenv("CLAY_PASSWORD"); p != "" {
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
