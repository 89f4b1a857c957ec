package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/flows"
)

// smokeStep is one verified step of a smoke run.
type smokeStep struct {
	Rendition string        `json:"rendition,omitempty"`
	Step      string        `json:"step"`
	OK        bool          `json:"ok"`
	Skipped   bool          `json:"skipped,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
	Detail    string        `json:"detail"`
	err       error
}

// smokeTeam is what a smoke run does on the Team page: every flow, as
// flows.Team has them.
type smokeTeam interface {
	Login(ctx context.Context, email, password string) ([]agent.Cookie, error)
	List(ctx context.Context, workspace string) (*roster.Roster, error)
	Invite(ctx context.Context, email string, role roster.Role, b flows.Batch) (flows.Result, error)
	SetRole(ctx context.Context, email string, role roster.Role, b flows.Batch) (flows.Result, error)
	Offboard(ctx context.Context, emails []string, b flows.Batch) ([]flows.Result, error)
	Revoke(ctx context.Context, emails []string, b flows.Batch) ([]flows.Result, error)
	Reload(ctx context.Context) error
}

// smokeBrowser is a browser on a fixture's Team page.
type smokeBrowser interface {
	smokeTeam
	// SaveArtifacts keeps the page's screenshot and HTML, labelled.
	SaveArtifacts(label string) ([]string, error)
	// Close closes the browser.
	Close()
}

// smokeTarget is the fixture server a smoke run drives and the account
// it signs in with.
type smokeTarget struct {
	base, workspace, teamPath string
	email, password           string
	// rendition names the embedded server's rendition; "" for a server
	// given with --base-url.
	rendition string
}

// smokeOptions are what `agent smoke` runs with.
type smokeOptions struct {
	streams streams
	// rendition, email, password and output are the flags' values.
	rendition, email, password, output string
	// baseURL, workspace and teamPath are the global flags; cfg the
	// browser's configuration, which each run points at its fixture.
	// They are settled in PreRunE.
	baseURL, workspace, teamPath string
	cfg                          agent.Config

	// startFixture starts the embedded fixture server with a rendition
	// and returns it with its stop; probeFixture refuses a server that is
	// not a fixture server.
	startFixture func(rendition string) (smokeTarget, func(), error)
	probeFixture func(ctx context.Context, base string) error
	// openBrowser starts a browser on the Team page at teamURL.
	openBrowser func(ctx context.Context, cfg agent.Config, teamURL string) (smokeBrowser, error)
	// accept has the fixture accept an invitation.
	accept func(ctx context.Context, base, email string) error
	// now times the steps and stamps the throwaway addresses.
	now func() time.Time
	// noteArtifacts reports the artifacts of a failed run.
	noteArtifacts func(paths []string)
}

// prepare checks the flags and settles the fixture and the browser's
// configuration from the app's.
func (o *smokeOptions) prepare(a *app) error {
	if err := checkFormat(o.output, "table", "json"); err != nil {
		return err
	}
	if o.rendition != "all" && !fixtures.ValidRendition(o.rendition) {
		return usageError("unknown rendition %q (want all, %s)", o.rendition, strings.Join(fixtures.Renditions(), ", "))
	}
	if _, err := roster.ParseEmail(o.email); err != nil {
		return usageError("--login-email: %v", err)
	}
	o.baseURL, o.workspace, o.teamPath = a.baseURL, a.workspace, a.teamPath
	o.cfg = a.config()
	o.cfg.ArtifactsDir = filepath.Join(a.artifactsDir, "smoke")
	return nil
}

// newSmokeCmd builds `agent smoke`; runF, when not nil, runs instead of
// smokeRun.
func newSmokeCmd(a *app, runF func(context.Context, *smokeOptions) error) *cobra.Command {
	opts := &smokeOptions{streams: a.streams(), startFixture: startEmbeddedFixture, probeFixture: probeFixture,
		openBrowser: openSmokeBrowser, accept: acceptInvitation, now: time.Now, noteArtifacts: a.noteArtifacts}
	cmd := &cobra.Command{
		Use:   "smoke",
		Short: "Run every flow against a fixture server and verify each step",
		Long: `smoke runs login → list → invite → set-role → offboard → revoke → list on a
throwaway address and verifies each step, printing a table of the steps with
their timings. Without --base-url it starts the embedded fixture server (for
--rendition all, once per rendition); with one, it runs against that server,
which must be a fixture server (agent fixtures serve): smoke invites and removes
addresses and never runs against a real workspace. Exit 0 only if every step
verified.`,
		Example: `  agent smoke
  agent smoke --rendition all -o json
  agent smoke --base-url http://fixtures:8089`,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			return opts.prepare(a)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return smokeRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.rendition, "rendition", fixtures.RenditionGrid, "embedded server's rendition: all, "+strings.Join(fixtures.Renditions(), ", "))
	cmd.Flags().StringVar(&opts.email, "login-email", fixtures.DefaultEmail, "the fixture account to sign in with")
	cmd.Flags().StringVar(&opts.password, "login-password", fixtures.DefaultPassword, "the fixture account's password")
	cmd.Flags().StringVarP(&opts.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// smokeRun runs the cycle on each fixture, prints the steps and exits
// with the worst step's code.
func smokeRun(ctx context.Context, opts *smokeOptions) error {
	steps, err := opts.runAll(ctx)
	if err != nil {
		return err
	}
	writeSmoke(opts.streams.Out, steps, opts.output)
	return smokeExit(steps)
}

// runAll runs the cycle on the embedded server, once per rendition, or on
// the fixture server at --base-url.
func (o *smokeOptions) runAll(ctx context.Context) ([]smokeStep, error) {
	if o.baseURL != agent.DefaultBaseURL {
		if err := o.probeFixture(ctx, o.baseURL); err != nil {
			return nil, err
		}
		workspace := o.workspace
		if workspace == "" {
			workspace = fixtures.DefaultWorkspace
		}
		return o.cycle(ctx, smokeTarget{base: o.baseURL, workspace: workspace, teamPath: o.teamPath, email: o.email, password: o.password}), nil
	}
	names := []string{o.rendition}
	if o.rendition == "all" {
		names = fixtures.Renditions()
	}
	var steps []smokeStep
	for _, r := range names {
		got, err := o.cycleEmbedded(ctx, r)
		if err != nil {
			return nil, err
		}
		steps = append(steps, got...)
	}
	return steps, nil
}

// cycleEmbedded starts the embedded fixture server with a rendition, runs
// the cycle against it and stops it.
func (o *smokeOptions) cycleEmbedded(ctx context.Context, rendition string) ([]smokeStep, error) {
	target, stop, err := o.startFixture(rendition)
	if err != nil {
		return nil, err
	}
	defer stop()
	return o.cycle(ctx, target), nil
}

// smokeExit is the run's exit: the worst code of the failed steps (1 for
// a failure with no code of its own).
func smokeExit(steps []smokeStep) error {
	code := exitOK
	for _, s := range steps {
		if !s.OK && !s.Skipped {
			c := exitCode(s.err)
			if c == exitOK {
				c = exitFailed
			}
			code = worst(code, c)
		}
	}
	if code != exitOK {
		return &exitError{code: code, msg: "smoke run failed"}
	}
	return nil
}

// startEmbeddedFixture starts the fixture server with a rendition on a
// loopback port.
func startEmbeddedFixture(rendition string) (smokeTarget, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return smokeTarget{}, nil, fmt.Errorf("starting the fixture server: %w", err)
	}
	srv := fixtures.New(fixtures.WithRendition(rendition))
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	stop := func() {
		sctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}
	email, password := srv.Credentials()
	return smokeTarget{base: "http://" + ln.Addr().String(), workspace: srv.Workspace(), teamPath: srv.TeamPath(),
		email: email, password: password, rendition: rendition}, stop, nil
}

// probeFixture refuses a server without the fixture's control endpoint.
func probeFixture(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+fixtures.ControlAcceptPath, strings.NewReader("{}"))
	if err != nil {
		return usageError("--base-url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reaching %s: %w", base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		return usageError("%s is not a fixture server (agent fixtures serve): smoke invites and removes addresses and runs only against one", base)
	}
	return nil
}

// teamBrowser is a browser with the Team page's flows on it.
type teamBrowser struct {
	*flows.Team
	b *agent.Browser
}

// SaveArtifacts keeps the page's screenshot and HTML, labelled.
func (t *teamBrowser) SaveArtifacts(label string) ([]string, error) { return t.b.SaveArtifacts(label) }

// Close closes the browser.
func (t *teamBrowser) Close() { t.b.Close() }

// openSmokeBrowser starts a browser for cfg on the Team page at teamURL.
func openSmokeBrowser(ctx context.Context, cfg agent.Config, teamURL string) (smokeBrowser, error) {
	b, err := agent.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &teamBrowser{Team: flows.NewTeam(b, teamURL), b: b}, nil
}

func acceptInvitation(ctx context.Context, base, email string) error {
	body := fmt.Sprintf(`{"email":%q}`, email)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+fixtures.ControlAcceptPath, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("the fixture could not accept the invitation: " + resp.Status)
	}
	return nil
}

// writeSmoke prints the steps as JSON or as a table with their timings
// and the total.
func writeSmoke(w io.Writer, steps []smokeStep, format string) {
	if format == "json" {
		_ = writeJSON(w, map[string]any{"steps": steps})
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RENDITION\tSTEP\tRESULT\tTIME\tDETAIL")
	var total time.Duration
	for _, s := range steps {
		result := "ok"
		switch {
		case s.Skipped:
			result = "skipped"
		case !s.OK:
			result = "FAILED"
		}
		r := s.Rendition
		if r == "" {
			r = "-"
		}
		total += s.Duration
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r, s.Step, result, s.Duration.Round(time.Millisecond), oneLine(s.Detail))
	}
	fmt.Fprintf(tw, "\t\t\t%s\ttotal\n", total.Round(time.Millisecond))
	_ = tw.Flush()
}
