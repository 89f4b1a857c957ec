package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/engine"
	"github.com/clay-agent/clay-agent/flows"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app holds the global settings and the process's streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time

	baseURL, workspace, teamPath string
	session, chrome, chromeURL   string
	artifactsDir                 string
	noSandbox                    bool
	timeout                      time.Duration
	logFormat                    string
	verbose                      int
	jsonErrors                   bool

	// auditOptions are added to those every audit log is opened with.
	auditOptions []audit.Option
	// scimBeforeAction, when set (by tests), is called before each action
	// of the SCIM service with its command ("invite Admin") and email.
	scimBeforeAction func(command, email string)

	root *cobra.Command
	log  *zap.Logger
	// artifacts are the files kept of a failure, for the error report.
	artifacts []string
}

// noteArtifacts reports the files kept of a failure: on stderr at once, or
// with -o json inside the JSON error.
func (a *app) noteArtifacts(paths []string) {
	if len(paths) == 0 {
		return
	}
	a.artifacts = append(a.artifacts, paths...)
	if !a.jsonErrors {
		fmt.Fprintf(a.stderr, "agent: artifacts of the failure: %s\n", strings.Join(paths, ", "))
	}
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
	a.root = a.rootCommand()
	return a
}

// usageError marks a command-line mistake (exit 2).
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", agent.ErrUsage, fmt.Sprintf(format, args...))
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "agent",
		Short: "Manage the members of a Clay workspace through its Team page",
		Long: `agent manages the members of a Clay workspace through Clay's own web console
(Settings → Team): Clay has no user-management API and no SCIM. It drives a
headless Chrome with a saved session, finds the page's controls by what they
say and what they are, verifies every change by reading the page again, and
writes an audit log.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup(cmd)
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError("%v", err)
	})
	f := root.PersistentFlags()
	f.StringVar(&a.baseURL, "base-url", agent.DefaultBaseURL, "the app's origin (env CLAY_BASE_URL)")
	f.StringVar(&a.workspace, "workspace", "", "the workspace id (env CLAY_WORKSPACE)")
	f.StringVar(&a.teamPath, "team-path", agent.DefaultTeamPath, "the Team page's path; {workspace} is replaced")
	f.StringVar(&a.session, "session", "", "the storage-state file holding the session (env CLAY_SESSION)")
	f.StringVar(&a.chrome, "chrome", "", "a local Chrome or Chromium binary (env CHROME_PATH); default: search")
	f.StringVar(&a.chromeURL, "chrome-url", "", "attach to a running Chrome's DevTools endpoint instead (http://host:9222)")
	f.BoolVar(&a.noSandbox, "no-sandbox", false, "start Chrome without its sandbox, for containers (env CLAY_CHROME_NO_SANDBOX=1)")
	f.DurationVar(&a.timeout, "timeout", agent.DefaultStepTimeout, "timeout of each browser step")
	f.StringVar(&a.artifactsDir, "artifacts-dir", "", "where failure screenshots, HTML and console logs go (env CLAY_ARTIFACTS_DIR; default ./artifacts)")
	f.StringVar(&a.logFormat, "log-format", "console", "log format on stderr: console or json")
	f.CountVarP(&a.verbose, "verbose", "v", "more logs (-v info, -vv debug)")

	root.AddCommand(a.commands()...)
	return root
}

// envFlags are the flags that fall back to an environment variable.
var envFlags = map[string]string{
	"base-url":      "CLAY_BASE_URL",
	"workspace":     "CLAY_WORKSPACE",
	"session":       "CLAY_SESSION",
	"chrome":        "CHROME_PATH",
	"artifacts-dir": "CLAY_ARTIFACTS_DIR",
	"no-sandbox":    "CLAY_CHROME_NO_SANDBOX",
}

// setup applies the environment (a flag wins over its variable), checks
// the global flags and builds the logger.
func (a *app) setup(cmd *cobra.Command) error {
	if err := checkBlankFlags(cmd.Flags()); err != nil {
		return err
	}
	var err error
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		env, ok := envFlags[fl.Name]
		if !ok || fl.Changed {
			return
		}
		if v := a.getenv(env); v != "" {
			if e := fl.Value.Set(v); e != nil && err == nil {
				err = usageError("%s=%q: %v", env, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	if a.timeout <= 0 {
		return usageError("--timeout must be positive, got %s", a.timeout)
	}
	if a.logFormat != "console" && a.logFormat != "json" {
		return usageError("--log-format must be console or json, got %q", a.logFormat)
	}
	if a.artifactsDir == "" {
		a.artifactsDir = "artifacts"
	}
	// the output format and the verbosity are decided here, once: errors
	// are JSON when the command's output is, and a server logs each run
	if fl := cmd.Flags().Lookup("output"); fl != nil {
		a.jsonErrors = fl.Value.String() == "json"
	}
	if min, err := strconv.Atoi(cmd.Annotations[annotationMinVerbosity]); err == nil && a.verbose < min {
		a.verbose = min
	}
	a.log = a.newLogger()
	return nil
}

func (a *app) newLogger() *zap.Logger {
	level := zapcore.WarnLevel
	switch {
	case a.verbose >= 2:
		level = zapcore.DebugLevel
	case a.verbose == 1:
		level = zapcore.InfoLevel
	}
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if a.logFormat == "json" {
		enc = zapcore.NewJSONEncoder(cfg)
	} else {
		cfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(cfg)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(a.stderr), level))
}

func (a *app) execute(ctx context.Context, args []string) error {
	a.root.SetArgs(args)
	err := a.root.ExecuteContext(ctx)
	if err != nil && !errors.Is(err, agent.ErrUsage) && isCobraUsage(err) {
		// one line, with cobra's "Did you mean" folded in
		return usageError("%s", strings.Join(strings.Fields(err.Error()), " "))
	}
	return err
}

// isCobraUsage recognizes cobra's own errors for a bad command line.
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// config builds the runtime's configuration from the global flags.
func (a *app) config() agent.Config {
	return agent.Config{
		BaseURL:      a.baseURL,
		Workspace:    a.workspace,
		TeamPath:     a.teamPath,
		SessionFile:  a.session,
		ChromePath:   a.chrome,
		ChromeURL:    a.chromeURL,
		StepTimeout:  a.timeout,
		ArtifactsDir: a.artifactsDir,
		NoSandbox:    a.noSandbox,
		Logger:       a.log,
	}
}

// session is an open Team page with its browser.
type session struct {
	a    *app
	b    *agent.Browser
	team *flows.Team
	cfg  agent.Config
}

// openSession checks everything it can before the browser starts (the
// configuration and the session file), then opens the browser and installs
// the session. It does not load the page yet.
func (a *app) openSession(ctx context.Context) (*session, error) {
	cfg := a.config()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	state, err := agent.LoadSession(cfg.SessionFile, a.now())
	if err != nil {
		return nil, err
	}
	teamURL, err := cfg.TeamURL()
	if err != nil {
		return nil, err
	}
	b, err := agent.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := b.SetSession(ctx, state); err != nil {
		b.Close()
		return nil, err
	}
	a.log.Info("browser ready", zap.String("team_url", teamURL), zap.Stringer("session", state))
	return &session{a: a, b: b, team: flows.NewTeam(b, teamURL), cfg: cfg}, nil
}

// fail keeps the failure's artifacts and prints where they are.
func (s *session) fail(label string, err error) error {
	return s.a.artifactKeeper().keep(s, label, err)
}

func (s *session) close() { s.b.Close() }

// The engine's view of a session.
var _ engine.Session = (*session)(nil)

// Team is the page's flows.
func (s *session) Team() *flows.Team { return s.team }

// SaveScreenshot keeps a screenshot of the page as dir/name.png.
func (s *session) SaveScreenshot(ctx context.Context, dir, name string) (string, error) {
	return s.b.SaveScreenshot(ctx, dir, name)
}

// SaveArtifacts keeps the page's screenshot and HTML, labelled.
func (s *session) SaveArtifacts(label string) ([]string, error) { return s.b.SaveArtifacts(label) }

// Close closes the browser.
func (s *session) Close() { s.close() }

// openEngineSession is openSession for the engine.
func (a *app) openEngineSession(ctx context.Context) (engine.Session, error) {
	s, err := a.openSession(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}
