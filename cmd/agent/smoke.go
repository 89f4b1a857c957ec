package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

func (a *app) smokeCommand() *cobra.Command {
	var rendition, email, password, output string
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
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(output, "table", "json"); err != nil {
				return err
			}
			if rendition != "all" && !fixtures.ValidRendition(rendition) {
				return usageError("unknown rendition %q (want all, %s)", rendition, strings.Join(fixtures.Renditions(), ", "))
			}
			if _, err := roster.ParseEmail(email); err != nil {
				return usageError("--login-email: %v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var steps []smokeStep
			if a.baseURL == agent.DefaultBaseURL {
				names := []string{rendition}
				if rendition == "all" {
					names = fixtures.Renditions()
				}
				for _, r := range names {
					got, err := a.smokeEmbedded(ctx, r)
					if err != nil {
						return err
					}
					steps = append(steps, got...)
				}
			} else {
				if err := probeFixture(ctx, a.baseURL); err != nil {
					return err
				}
				workspace := a.workspace
				if workspace == "" {
					workspace = fixtures.DefaultWorkspace
				}
				steps = a.smokeRun(ctx, a.baseURL, workspace, a.teamPath, email, password, "")
			}
			a.printSmoke(steps, output)
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
		},
	}
	cmd.Flags().StringVar(&rendition, "rendition", fixtures.RenditionGrid, "embedded server's rendition: all, "+strings.Join(fixtures.Renditions(), ", "))
	cmd.Flags().StringVar(&email, "login-email", fixtures.DefaultEmail, "the fixture account to sign in with")
	cmd.Flags().StringVar(&password, "login-password", fixtures.DefaultPassword, "the fixture account's password")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// smokeEmbedded starts the fixture server on a loopback port and runs the
// cycle against it.
func (a *app) smokeEmbedded(ctx context.Context, rendition string) ([]smokeStep, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the fixture server: %w", err)
	}
	srv := fixtures.New(fixtures.WithRendition(rendition))
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		sctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	email, password := srv.Credentials()
	return a.smokeRun(ctx, "http://"+ln.Addr().String(), srv.Workspace(), srv.TeamPath(), email, password, rendition), nil
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

// smokeRun runs the cycle in one browser and returns its steps; it stops
// at the first failed step and marks the rest skipped.
func (a *app) smokeRun(ctx context.Context, base, workspace, teamPath, email, password, rendition string) []smokeStep {
	names := []string{"start browser", "login", "list", "invite", "accept (fixture)", "set-role", "offboard", "invite again", "revoke", "list again"}
	var steps []smokeStep
	failed := false
	run := func(name string, f func(ctx context.Context) (string, error)) {
		st := smokeStep{Rendition: rendition, Step: name}
		if failed {
			st.Skipped, st.Detail = true, "skipped after a failure"
			steps = append(steps, st)
			return
		}
		start := time.Now()
		detail, err := f(ctx)
		st.Duration = time.Since(start)
		st.OK, st.Detail, st.err = err == nil, detail, err
		if err != nil {
			st.Detail = err.Error()
			failed = true
		}
		steps = append(steps, st)
	}
	cfg := a.config()
	cfg.BaseURL, cfg.Workspace, cfg.TeamPath = base, workspace, teamPath
	cfg.ArtifactsDir = filepath.Join(a.artifactsDir, "smoke")
	var b *agent.Browser
	var team *flows.Team
	run(names[0], func(ctx context.Context) (string, error) {
		teamURL, err := cfg.TeamURL()
		if err != nil {
			return "", err
		}
		if b, err = agent.Open(ctx, cfg); err != nil {
			return "", err
		}
		team = flows.NewTeam(b, teamURL)
		return teamURL, nil
	})
	if b != nil {
		defer b.Close()
	}
	var first *roster.Roster
	stamp := time.Now().UTC().Format("20060102t150405") + fmt.Sprintf("%04d", time.Now().Nanosecond()/100000)
	throwaway := "smoke-" + stamp + "@smoke.example.test"
	second := "smoke-" + stamp + "-b@smoke.example.test"
	batch := flows.Batch{}
	expect := func(res flows.Result, err error, want flows.Action) (string, error) {
		if err != nil {
			return "", err
		}
		if res.Action != want {
			if res.Err != nil {
				return "", res.Err
			}
			return "", fmt.Errorf("%w: %s: %s, want %s (%s)", agent.ErrNotVerified, res.Email, res.Action, want, res.Detail)
		}
		return res.Detail, nil
	}
	expectOne := func(rs []flows.Result, err error, want flows.Action) (string, error) {
		if err != nil {
			return "", err
		}
		if len(rs) != 1 {
			return "", fmt.Errorf("%w: %d results, want 1", agent.ErrNotVerified, len(rs))
		}
		return expect(rs[0], nil, want)
	}
	run(names[1], func(ctx context.Context) (string, error) {
		if _, err := team.Login(ctx, email, password); err != nil {
			return "", err
		}
		return "signed in as " + email, nil
	})
	run(names[2], func(ctx context.Context) (string, error) {
		r, err := team.List(ctx, workspace)
		if err != nil {
			return "", err
		}
		if _, ok := r.Self(); !ok || len(r.Members) == 0 {
			return "", fmt.Errorf("%w: the list shows no signed-in member", agent.ErrNotVerified)
		}
		first = r
		return fmt.Sprintf("%d members, %d invitations", len(r.Members), len(r.Invitations)), nil
	})
	run(names[3], func(ctx context.Context) (string, error) {
		res, err := team.Invite(ctx, throwaway, roster.Editor, batch)
		return expect(res, err, flows.Invited)
	})
	run(names[4], func(ctx context.Context) (string, error) {
		if err := acceptInvitation(ctx, base, throwaway); err != nil {
			return "", err
		}
		return throwaway + " accepted", team.Reload(ctx)
	})
	run(names[5], func(ctx context.Context) (string, error) {
		res, err := team.SetRole(ctx, throwaway, roster.Viewer, batch)
		return expect(res, err, flows.RoleChanged)
	})
	run(names[6], func(ctx context.Context) (string, error) {
		rs, err := team.Offboard(ctx, []string{throwaway}, batch)
		return expectOne(rs, err, flows.Removed)
	})
	run(names[7], func(ctx context.Context) (string, error) {
		res, err := team.Invite(ctx, second, roster.Viewer, batch)
		return expect(res, err, flows.Invited)
	})
	run(names[8], func(ctx context.Context) (string, error) {
		rs, err := team.Revoke(ctx, []string{second}, batch)
		return expectOne(rs, err, flows.RevokedInvitation)
	})
	run(names[9], func(ctx context.Context) (string, error) {
		if err := team.Reload(ctx); err != nil {
			return "", err
		}
		r, err := team.List(ctx, workspace)
		if err != nil {
			return "", err
		}
		for _, e := range []string{throwaway, second} {
			if len(r.FindMembers(e)) > 0 || len(r.FindInvitations(e)) > 0 {
				return "", fmt.Errorf("%w: %s is still on the page", agent.ErrNotVerified, e)
			}
		}
		if len(r.Members) != len(first.Members) || len(r.Invitations) != len(first.Invitations) {
			return "", fmt.Errorf("%w: %d members and %d invitations, want %d and %d as at the start", agent.ErrNotVerified, len(r.Members), len(r.Invitations), len(first.Members), len(first.Invitations))
		}
		return fmt.Sprintf("%d members, %d invitations, as at the start", len(r.Members), len(r.Invitations)), nil
	})
	if failed && b != nil {
		paths, _ := b.SaveArtifacts("smoke-" + rendition)
		a.noteArtifacts(paths)
	}
	return steps
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

func (a *app) printSmoke(steps []smokeStep, format string) {
	if format == "json" {
		_ = writeJSON(a.stdout, map[string]any{"steps": steps})
		return
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
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
