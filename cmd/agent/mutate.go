package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/engine"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/textsafe"
	"github.com/clay-agent/clay-agent/flows"
)

// mutateFlags are the settings every mutating command shares: safety,
// confirmation, audit, evidence and locking, bound to the change they
// describe.
type mutateFlags struct {
	change
	destructive bool
}

// defaultConfirmTimeout is how long the prompt waits for an answer.
const defaultConfirmTimeout = 5 * time.Minute

func (m *mutateFlags) register(cmd *cobra.Command, destructive bool) {
	m.destructive = destructive
	f := cmd.Flags()
	f.BoolVar(&m.yes, "yes", false, "do not ask for confirmation (required when not on a terminal)")
	f.BoolVar(&m.dryRun, "dry-run", false, "read the live page, print exactly what would happen, click nothing")
	f.StringVarP(&m.output, "output", "o", "table", "output format: table or json")
	if destructive {
		f.IntVar(&m.change.policy.MaxRemovals, "max-removals", flows.DefaultMaxRemovals, "refuse a run with more removals than this")
	}
	f.StringSliceVar(&m.change.policy.AllowDomains, "allow-domain", nil, "only touch emails in these domains (repeatable)")
	f.StringVar(&m.auditLog, "audit-log", "", "the audit log (env CLAY_AUDIT_LOG; default under the user's state directory)")
	f.StringVar(&m.auditKeyFile, "audit-key-file", "", "sign the audit records with the key in this file (env "+envAuditKeyFile+"; mode 0600, at least 32 bytes)")
	f.StringVar(&m.actor, "actor", "", "who runs this, for the audit log (default $USER)")
	f.StringVar(&m.evidenceDir, "evidence-dir", "", "where before/after screenshots go (env CLAY_EVIDENCE_DIR; default beside the audit log)")
	f.StringVar(&m.lockDir, "lock-dir", "", "where the per-workspace lock files go (default under the user's state directory)")
	f.DurationVar(&m.lockTimeout, "lock-timeout", 2*time.Minute, "how long to wait for another run against the same workspace")
	f.DurationVar(&m.confirmTimeout, "confirm-timeout", defaultConfirmTimeout, "how long the confirmation prompt waits for an answer (no answer is no)")
}

func (m *mutateFlags) validate(a *app) error {
	if err := checkFormat(m.output, "table", "json"); err != nil {
		return err
	}
	if n := m.change.policy.MaxRemovals; n < 0 || (n == 0 && m.destructive) {
		return usageError("--max-removals must be at least 1 (use --dry-run to change nothing)")
	}
	if m.lockTimeout < 0 {
		return usageError("--lock-timeout must not be negative")
	}
	if m.confirmTimeout <= 0 {
		return usageError("--confirm-timeout must be positive, got %s", m.confirmTimeout)
	}
	for _, d := range m.change.policy.AllowDomains {
		if !validDomain(d) {
			return usageError("--allow-domain %s is not a domain name (e.g. corp.com)", quoteFlagValue(d))
		}
	}
	// a bad key file is found before the lock is taken and the browser starts
	if _, err := a.readAuditKey("--audit-key-file", m.auditKeyFile); err != nil {
		return err
	}
	if !m.yes && !m.dryRun && !isTerminal(a.stdin) {
		return usageError("not on a terminal: pass --yes to confirm the change (or --dry-run to see it first)")
	}
	return nil
}

func (m *mutateFlags) policy() flows.Policy {
	return m.change.policy
}

// change is how one change runs: its safety policy, confirmation, output,
// audit, evidence and locking. The mutating commands take it from their
// flags; serve --auto-apply from its own settings.
type change struct {
	yes, dryRun  bool
	output       string
	policy       flows.Policy
	auditLog     string
	auditKeyFile string
	actor        string
	evidenceDir  string
	lockDir      string
	lockTimeout  time.Duration
	// confirmTimeout bounds the wait for an answer at the prompt.
	confirmTimeout time.Duration
}

// mutation is one run of a mutating command.
type mutation struct {
	a       *app
	flags   change
	command string
	targets []string
	// auditOptions go on every record of the run (e.g. the plan applied).
	auditOptions []audit.Option
	// run performs the flow with the given batch on an open session.
	run func(s *session, b flows.Batch) ([]flows.Result, error)
}

// execute is the shape every mutating command shares: it checks what it
// can before the lock is taken, runs the change through the engine (lock,
// audit plan, browser, confirmation on a terminal, flow with evidence and
// audit records per target), prints the results and returns the worst
// outcome's exit code.
func (mu *mutation) execute(ctx context.Context) error {
	cfg := mu.a.config()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if _, err := agent.LoadSession(cfg.SessionFile, mu.a.now()); err != nil {
		return err
	}
	logPath := mu.a.auditLogPath(mu.flags.auditLog)
	out := engine.Execute(ctx, mu.describe(cfg, logPath))
	mu.a.noteArtifacts(out.Artifacts)
	return mu.report(ctx, out, logPath)
}

// describe is the engine's description of the run.
func (mu *mutation) describe(cfg agent.Config, logPath string) engine.Run {
	a, m := mu.a, mu.flags
	actor := m.actor
	if actor == "" {
		actor = audit.DefaultActor()
	}
	opts := append(append([]audit.Option{audit.WithActor(actor), audit.WithWorkspace(cfg.Workspace)}, mu.auditOptions...), a.auditOptions...)
	r := engine.Run{
		Command: mu.command, Targets: mu.targets, Policy: m.policy, DryRun: m.dryRun,
		Lock: workspaceLock(lock.PathFor(m.lockDirOrDefault(), cfg.Workspace), m.lockTimeout),
		Audit: func() (*audit.Log, func(), error) {
			alog, err := a.openAuditLog(logPath, m.auditKeyFile, opts...)
			if err != nil {
				return nil, nil, err
			}
			return alog, func() { _ = alog.Close() }, nil
		},
		AuditName:     logPath,
		Sessions:      engine.OneShot{Open: a.openEngineSession},
		EvidenceDir:   m.evidenceDirFor(a, logPath),
		KeepArtifacts: true,
		Log:           a.log,
		Flow: func(_ context.Context, s engine.Session, b flows.Batch) ([]flows.Result, error) {
			return mu.run(s.(*session), b)
		},
	}
	if !m.yes && !m.dryRun {
		r.Confirm = mu.confirm(cfg.Workspace)
	}
	return r
}

// confirm shows the plan and asks on the terminal; no is an error that
// says nothing was changed.
func (mu *mutation) confirm(workspace string) func(context.Context, []flows.Result) error {
	return func(ctx context.Context, plan []flows.Result) error {
		// the plan goes with the question to stderr: stdout carries only
		// the results, in the format asked for
		mu.a.writeResults(mu.a.stderr, plan, "table")
		yes, err := mu.a.confirm(ctx, fmt.Sprintf("Proceed with %s on workspace %s?", mu.command, workspace), mu.flags.confirmTimeout)
		switch {
		case yes:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("interrupted at the confirmation: nothing was changed: %w", context.Cause(ctx))
		case err != nil:
			return fmt.Errorf("%w: nothing was changed", err)
		default:
			return errors.New("not confirmed: nothing was changed")
		}
	}
}

// report prints what the run did, in the format asked for, and returns
// the run's error with the worst outcome's exit code.
func (mu *mutation) report(ctx context.Context, out engine.Outcome, logPath string) error {
	switch out.Stage {
	case engine.StageLock, engine.StageAudit, engine.StageConfirm:
		return out.Err
	case engine.StageRecord:
		mu.a.printResults(out.Results, mu.flags.output)
		return out.Err
	case engine.StageSession:
		if ctx.Err() != nil {
			// interrupted while the browser started: every target is
			// accounted for, in the format asked for
			mu.a.printResults(out.Results, mu.flags.output)
		}
		return out.Err
	}
	mu.a.printResults(out.Results, mu.flags.output)
	code := resultsExit(out.Results)
	if out.AuditErr != nil {
		// the results above are what happened; the log does not hold all of it
		msg := fmt.Sprintf("the audit log %s could not be written: %v; %s", logPath, out.AuditErr, engine.ActionsTaken(out.Results))
		if out.Err != nil && !errors.Is(out.Err, flows.ErrNotRecorded) {
			msg += "; " + out.Err.Error()
		}
		return &exitError{code: worst(code, exitCode(out.Err), exitFailed), msg: msg}
	}
	if out.Err != nil {
		return &exitError{code: worst(code, exitCode(out.Err)), msg: out.Err.Error()}
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

// workspaceLock takes the lock file at path, waiting at most timeout.
func workspaceLock(path string, timeout time.Duration) func(context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		lk, err := lock.Acquire(ctx, path, timeout)
		if err != nil {
			return nil, err
		}
		return func() { _ = lk.Release() }, nil
	}
}

// lockDirOrDefault is --lock-dir, or the user's state directory's.
func (m change) lockDirOrDefault() string {
	if m.lockDir == "" {
		return lock.DefaultDir()
	}
	return m.lockDir
}

// evidenceDirFor is --evidence-dir, CLAY_EVIDENCE_DIR, or evidence/
// beside the audit log.
func (m change) evidenceDirFor(a *app, logPath string) string {
	switch {
	case m.evidenceDir != "":
		return m.evidenceDir
	case a.getenv("CLAY_EVIDENCE_DIR") != "":
		return a.getenv("CLAY_EVIDENCE_DIR")
	}
	return filepath.Join(filepath.Dir(logPath), "evidence")
}

// resultsExit is the worst outcome's exit code.
func resultsExit(rs []flows.Result) int {
	code := exitOK
	for _, r := range rs {
		switch r.Action {
		case flows.Refused:
			code = worst(code, exitRefused)
		case flows.Failed:
			c := exitCode(r.Err)
			if c == exitOK {
				c = exitFailed
			}
			code = worst(code, c)
		}
	}
	return code
}

type resultJSON struct {
	Email    string   `json:"email"`
	Action   string   `json:"action"`
	Detail   string   `json:"detail"`
	Evidence []string `json:"evidence"`
}

func (a *app) printResults(rs []flows.Result, format string) {
	a.writeResults(a.stdout, rs, format)
}

// writeResults writes one line per target, or the JSON form, to w. The
// lines show emails and details escaped by textsafe.
func (a *app) writeResults(w io.Writer, rs []flows.Result, format string) {
	if format == "json" {
		out := struct {
			Results []resultJSON `json:"results"`
		}{Results: make([]resultJSON, 0, len(rs))}
		for _, r := range rs {
			ev := r.Evidence
			if ev == nil {
				ev = []string{}
			}
			out.Results = append(out.Results, resultJSON{Email: r.Email, Action: string(r.Action), Detail: r.Detail, Evidence: ev})
		}
		_ = writeJSON(w, out)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Action, textsafe.Terminal(r.Email), oneLine(r.Detail))
	}
	_ = tw.Flush()
}

// errNoAnswer means the confirmation prompt got no answer in time.
var errNoAnswer = errors.New("no answer at the confirmation")

// confirm asks a yes/no question on the terminal. An interrupt (ctx done)
// while it waits for the answer counts as no; so does no answer within
// timeout, with an error wrapping errNoAnswer.
func (a *app) confirm(ctx context.Context, question string, timeout time.Duration) (bool, error) {
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(a.stdin).ReadString('\n')
		answer <- line
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var line string
	select {
	case line = <-answer:
	case <-ctx.Done():
		fmt.Fprintln(a.stderr)
		return false, nil
	case <-timer.C:
		fmt.Fprintln(a.stderr)
		return false, fmt.Errorf("%w within %s (--confirm-timeout)", errNoAnswer, timeout)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// readTargets collects emails from --email flags and --from-file (one per
// line, # comments and blank lines ignored, "-" for standard input).
func (a *app) readTargets(emails []string, fromFile string, m *mutateFlags) ([]string, error) {
	out := append([]string(nil), emails...)
	if fromFile == "" {
		return out, nil
	}
	if fromFile == "-" && !m.yes && !m.dryRun {
		return nil, usageError("--from-file - reads the targets from standard input, which then cannot answer the confirmation: pass --yes (or --dry-run)")
	}
	var r io.Reader
	if fromFile == "-" {
		r = a.stdin
	} else {
		f, err := os.Open(fromFile)
		if err != nil {
			return nil, usageError("--from-file: %v", err)
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := stripComment(sc.Text())
		if line != "" {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, usageError("--from-file: %v", err)
	}
	return out, nil
}

// stripComment drops a comment from a line of a targets file: "#" at the
// start of the line or after white space starts one; a "#" inside an
// address (a#b@corp.com is valid) does not.
func stripComment(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "#") {
		return ""
	}
	for i := 1; i < len(line); i++ {
		if line[i] == '#' && (line[i-1] == ' ' || line[i-1] == '\t') {
			return strings.TrimSpace(line[:i])
		}
	}
	return line
}
