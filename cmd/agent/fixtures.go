package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/fixtures"
)

// fixtureFlags are the fixture server's settings and faults as flags.
type fixtureFlags struct {
	rendition  string
	members    int
	workspace  string
	seatLimit  int
	pageSize   int
	latency    time.Duration
	faults     fixtures.Faults
	email, pwd string
	recording  string
	loginForm  string
	signIn     time.Duration
}

func (f *fixtureFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.rendition, "rendition", fixtures.RenditionTable, "Team page rendition: "+strings.Join(fixtures.Renditions(), ", ")+", or gen:SEED, a generated one (docs/locators.md)")
	fl.IntVar(&f.members, "members", 0, "number of members (default: the seed, with its awkward cases)")
	fl.StringVar(&f.workspace, "fixture-workspace", fixtures.DefaultWorkspace, "the fixture's workspace id")
	fl.IntVar(&f.seatLimit, "seat-limit", 0, "members plus invitations allowed (0: unlimited)")
	fl.IntVar(&f.pageSize, "page-size", fixtures.DefaultPageSize, "page size of the paged and pages renditions, batch size of feed")
	fl.DurationVar(&f.latency, "latency", 0, "added to every /v3 response")
	fl.DurationVar(&f.faults.SlowFirstByte, "slow-first-byte", 0, "fault: delay the Team page's HTML")
	fl.DurationVar(&f.faults.RowDelay, "row-delay", 0, "fault: delay the member rows")
	fl.IntVar(&f.faults.FailMutations, "fail-mutations", 0, "fault: the next N mutations answer 500")
	fl.BoolVar(&f.faults.ExpireSession, "expire-session", false, "fault: every session is expired")
	fl.IntVar(&f.faults.ExpireAfterMutations, "expire-after-mutations", 0, "fault: sessions expire after N successful mutations")
	fl.BoolVar(&f.faults.Drift, "drift", false, "fault: serve markup without the contract's hooks")
	fl.BoolVar(&f.faults.NoConfirmDialog, "no-confirm-dialog", false, "fault: remove/revoke open no confirmation dialog")
	fl.BoolVar(&f.faults.StickyDialog, "sticky-dialog", false, "fault: the confirmation dialog never closes")
	fl.BoolVar(&f.faults.IgnoreMutations, "ignore-mutations", false, "fault: mutations answer 200 and change nothing")
	fl.StringVar(&f.faults.InviteError, "invite-error", "", "fault: invitations fail with this message")
	fl.StringVar(&f.faults.RemoveError, "remove-error", "", "fault: removals fail with this message, shown inside the dialog")
	fl.BoolVar(&f.faults.BareRemove, "bare-remove", false, "fault: the rows' remove and revoke controls lose every hook (text, ARIA name, title, icon)")
	fl.BoolVar(&f.faults.DialogNamesOther, "dialog-names-other", false, "fault: the remove dialog names another member")
	fl.BoolVar(&f.faults.Chaos.Enabled, "chaos", false, "fault: re-render the rows and delay the API at random (seeded)")
	fl.Int64Var(&f.faults.Chaos.Seed, "chaos-seed", 1, "the seed of --chaos")
	fl.StringVar(&f.recording, "recording", "", "replay the Team page recorded by `agent record` in this directory (its own code, its recorded /v3 JSON)")
	fl.StringVar(&f.email, "login-email", fixtures.DefaultEmail, "the email the login page accepts")
	fl.StringVar(&f.pwd, "login-password", fixtures.DefaultPassword, "the password the login page accepts")
	fl.StringVar(&f.loginForm, "login-form", string(fixtures.LoginOnePage), "the login page's form: "+strings.Join(loginFormNames(), ", "))
	fl.DurationVar(&f.signIn, "signin-delay", 0, "delay each successful sign-in by this long, as a slow redirect to the app would")
}

func loginFormNames() []string {
	var names []string
	for _, f := range fixtures.LoginForms() {
		names = append(names, string(f))
	}
	return names
}

func (f *fixtureFlags) validate() error {
	if !fixtures.ValidRendition(f.rendition) {
		return usageError("unknown rendition %q (want %s, or gen:SEED with a number)", f.rendition, strings.Join(fixtures.Renditions(), ", "))
	}
	if !fixtures.ValidLoginForm(f.loginForm) {
		return usageError("unknown login form %q (want %s)", f.loginForm, strings.Join(loginFormNames(), ", "))
	}
	if f.signIn < 0 {
		return usageError("--signin-delay must not be negative, got %s", f.signIn)
	}
	if f.members < 0 || f.seatLimit < 0 || f.pageSize < 1 || f.faults.FailMutations < 0 {
		return usageError("--members, --seat-limit and --fail-mutations must not be negative, --page-size must be positive")
	}
	return nil
}

// server builds the fixture server, and with --recording, the recording it
// replays.
func (f *fixtureFlags) server() (*fixtures.Server, *fixtures.Recording, error) {
	opts := []fixtures.Option{
		fixtures.WithRendition(f.rendition),
		fixtures.WithMembers(f.members),
		fixtures.WithWorkspace(f.workspace),
		fixtures.WithSeatLimit(f.seatLimit),
		fixtures.WithPageSize(f.pageSize),
		fixtures.WithLatency(f.latency),
		fixtures.WithCredentials(f.email, f.pwd),
		fixtures.WithLoginForm(fixtures.LoginForm(f.loginForm)),
		fixtures.WithSignInDelay(f.signIn),
	}
	var rec *fixtures.Recording
	if f.recording != "" {
		var err error
		if rec, err = fixtures.OpenRecording(f.recording); err != nil {
			return nil, nil, usageError("--recording %s: %v", f.recording, err)
		}
		opts = append(opts, fixtures.WithRecording(rec))
	}
	s := fixtures.New(opts...)
	s.SetFaults(f.faults)
	return s, rec, nil
}

// replaySession writes a storage state with a fresh session of srv for
// host into a new directory, and returns the file's path and a function
// that removes the directory.
func replaySession(srv *fixtures.Server, host string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "clay-replay-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	c := srv.NewSession()
	st := agent.StorageState{
		Cookies: []agent.Cookie{{
			Name: c.Name, Value: c.Value, Domain: host, Path: "/",
			Expires: float64(c.Expires.Unix()), HTTPOnly: true, SameSite: "Lax",
		}},
		Origins: []agent.Origin{},
	}
	data, err := json.Marshal(st)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	path := filepath.Join(dir, "session.json")
	if err := fsutil.CreateFileAtomic(path, data, 0o600); err != nil {
		cleanup()
		return "", nil, err
	}
	return path, cleanup, nil
}

// fixturesServeOptions are the settings and dependencies of `agent
// fixtures serve`.
type fixturesServeOptions struct {
	streams
	addr    string
	fixture fixtureFlags

	listenOn listenFunc
}

// newFixturesCmd builds `agent fixtures` and its subcommand serve.
func newFixturesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fixtures",
		Short: "The fixture server: a local stand-in for Clay's Team page",
	}
	cmd.AddCommand(newFixturesServeCmd(a, nil))
	return cmd
}

// newFixturesServeCmd builds `agent fixtures serve`; runF, when not nil,
// runs instead of fixturesServeRun.
func newFixturesServeCmd(a *app, runF func(context.Context, *fixturesServeOptions) error) *cobra.Command {
	o := &fixturesServeOptions{streams: a.streams(), listenOn: listenTCP}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the fixture Team page, its login page and its /v3 API",
		Example: `  agent fixtures serve --addr 127.0.0.1:8089 --rendition grid --members 2000
  agent fixtures serve --rendition paged --row-delay 2s --fail-mutations 1
  agent fixtures serve --rendition gen:42
  agent fixtures serve --login-form two-step --signin-delay 12s`,
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return o.fixture.validate() },
		RunE:    dispatchRun(o, runF, fixturesServeRun),
	}
	cmd.Flags().StringVar(&o.addr, "addr", "127.0.0.1:8089", "listen address")
	o.fixture.register(cmd)
	return cmd
}

// fixturesServeRun builds the fixture server, listens, says how to use it
// and serves until ctx ends.
func fixturesServeRun(ctx context.Context, o *fixturesServeOptions) error {
	srv, rec, err := o.fixture.server()
	if err != nil {
		return err
	}
	ln, err := o.listenOn(o.addr)
	if err != nil {
		return usageError("--addr %s: %v", o.addr, err)
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	if rec != nil {
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		sessionFile, cleanup, err := replaySession(srv, host)
		if err != nil {
			return fmt.Errorf("writing the replay's session file: %w", err)
		}
		defer cleanup()
		printReplayStart(o.Out, srv, rec, o.fixture.recording, base, sessionFile)
	} else {
		printFixtureStart(o.Out, srv, base)
	}
	return serveUntilDone(ctx, &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}, ln)
}

// printFixtureStart tells what the fixture server serves and how to sign
// in.
func printFixtureStart(w io.Writer, srv *fixtures.Server, base string) {
	email, pwd := srv.Credentials()
	fmt.Fprintf(w, "fixture server (%s rendition, %s login form, workspace %s) on %s\n", srv.Rendition(), srv.LoginForm(), srv.Workspace(), base)
	fmt.Fprintf(w, "  team page: %s%s\n  sign in:   %s / %s\n", base, srv.TeamPath(), email, pwd)
	if g, ok := fixtures.ParseGen(srv.Rendition()); ok {
		fmt.Fprintf(w, "  seed:      %d\n  choices:   %s\n", g.Seed, strings.TrimPrefix(g.String(), g.Name()+" "))
	}
}

// serveUntilDone serves hs on ln until ctx ends, then shuts it down.
func serveUntilDone(ctx context.Context, hs *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		return hs.Shutdown(shutdownCtx)
	}
}

// printReplayStart tells how to use a replay: what it serves, and next to
// the command to run, the workspace id, the base URL and the sign-in.
func printReplayStart(w io.Writer, srv *fixtures.Server, rec *fixtures.Recording, dir, base, sessionFile string) {
	m := rec.Manifest
	email, pwd := srv.Credentials()
	target := replayTarget(base, srv.Workspace(), rec.PagePath())
	fmt.Fprintf(w, "replaying the recording %s (%d members, %d invitations, recorded %s) on %s\n", dir, m.Members, m.Invitations, m.RecordedAt, base)
	fmt.Fprintf(w, "  workspace: %s (the recording's; the real id was rewritten)\n", srv.Workspace())
	fmt.Fprintf(w, "  team page: %s%s\n", base, rec.PagePath())
	if !rec.HasDocument() {
		fmt.Fprintf(w, "  the recording holds no document: the page is its rendered DOM, without its code\n")
	}
	fmt.Fprintf(w, "  session:   %s (valid while this server runs)\n", sessionFile)
	fmt.Fprintf(w, "  sign in:   %s / %s\n", email, pwd)
	fmt.Fprintf(w, "  run:       agent list %s --session %s\n", target, sessionFile)
	fmt.Fprintf(w, "  changes:   a recording is read-only: removing or editing a row the recording holds is replayed;\n")
	fmt.Fprintf(w, "             any other change is refused (405), and the agent exits 2\n")
}
