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
	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/textsafe"
	"github.com/clay-agent/clay-agent/flows"
)

// mutateFlags are the settings every mutating command shares: safety,
// confirmation, audit, evidence and locking.
type mutateFlags struct {
	yes          bool
	dryRun       bool
	output       string
	maxRemovals  int
	allowDomains []string
	auditLog     string
	auditKeyFile string
	actor        string
	evidenceDir  string
	lockDir      string
	lockTimeout  time.Duration
	// confirmTimeout bounds the wait for an answer at the prompt, which
	// holds the workspace lock.
	confirmTimeout time.Duration
	destructive    bool
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
		f.IntVar(&m.maxRemovals, "max-removals", flows.DefaultMaxRemovals, "refuse a run with more removals than this")
	}
	f.StringSliceVar(&m.allowDomains, "allow-domain", nil, "only touch emails in these domains (repeatable)")
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
	if m.maxRemovals < 0 || (m.maxRemovals == 0 && m.destructive) {
		return usageError("--max-removals must be at least 1 (use --dry-run to change nothing)")
	}
	if m.lockTimeout < 0 {
		return usageError("--lock-timeout must not be negative")
	}
	if m.confirmTimeout <= 0 {
		return usageError("--confirm-timeout must be positive, got %s", m.confirmTimeout)
	}
	for _, d := range m.allowDomains {
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
	return flows.Policy{MaxRemovals: m.maxRemovals, AllowDomains: m.allowDomains}
}

// mutation is one run of a mutating command.
type mutation struct {
	a       *app
	flags   *mutateFlags
	command string
	targets []string
	// auditOptions go on every record of the run (e.g. the plan applied).
	auditOptions []audit.Option
	// run performs the flow with the given batch on an open session.
	run func(s *session, b flows.Batch) ([]flows.Result, error)
}

// execute is the shape every mutating command shares: lock the workspace,
// plan the audit run, open the browser, (on a terminal) show the plan and
// ask, run the flow with evidence and audit records per target, print the
// results and return the worst outcome's exit code.
func (mu *mutation) execute(ctx context.Context) error {
	a, m := mu.a, mu.flags
	cfg := a.config()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if _, err := agent.LoadSession(cfg.SessionFile, a.now()); err != nil {
		return err
	}
	lockDir := m.lockDir
	if lockDir == "" {
		lockDir = lock.DefaultDir()
	}
	lk, err := lock.Acquire(ctx, lock.PathFor(lockDir, cfg.Workspace), m.lockTimeout)
	if err != nil {
		return fmt.Errorf("waiting for the workspace lock: %w", err)
	}
	defer func() { _ = lk.Release() }()

	actor := m.actor
	if actor == "" {
		actor = audit.DefaultActor()
	}
	logPath := a.auditLogPath(m.auditLog)
	alog, err := a.openAuditLog(logPath, m.auditKeyFile, append(append([]audit.Option{audit.WithActor(actor), audit.WithWorkspace(cfg.Workspace)}, mu.auditOptions...), a.auditOptions...)...)
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	defer alog.Close()
	command := mu.command
	if m.dryRun {
		command += " --dry-run"
	}
	run := alog.Plan(ctx, command, mu.targets)
	if err := run.Err(); err != nil {
		// no record of the plan, no action: the browser does not even start
		err = fmt.Errorf("%w: %s: nothing was done: %w", flows.ErrNotRecorded, logPath, err)
		a.printResults(notAttempted(nil, mu.targets, err), m.output)
		return err
	}
	evidenceDir := m.evidenceDir
	if evidenceDir == "" {
		evidenceDir = a.getenv("CLAY_EVIDENCE_DIR")
	}
	if evidenceDir == "" {
		evidenceDir = filepath.Join(filepath.Dir(logPath), "evidence")
	}

	s, err := a.openSession(ctx)
	if err != nil {
		_ = run.Finish(err)
		if ctx.Err() != nil {
			// interrupted while the browser started: every target is
			// accounted for, in the format asked for
			a.printResults(notAttempted(nil, mu.targets, err), m.output)
		}
		return err
	}
	defer s.close()

	if !m.yes && !m.dryRun {
		plan, err := mu.run(s, flows.Batch{Policy: m.policy(), DryRun: true})
		if err != nil {
			_ = run.Finish(err)
			return s.fail(mu.command, err)
		}
		// the plan goes with the question to stderr: stdout carries only
		// the results, in the format asked for
		a.writeResults(a.stderr, plan, "table")
		yes, err := a.confirm(ctx, fmt.Sprintf("Proceed with %s on workspace %s?", mu.command, cfg.Workspace), m.confirmTimeout)
		if !yes {
			switch {
			case ctx.Err() != nil:
				err = fmt.Errorf("interrupted at the confirmation: nothing was changed: %w", context.Cause(ctx))
			case err != nil:
				err = fmt.Errorf("%w: nothing was changed", err)
			default:
				err = errors.New("not confirmed: nothing was changed")
			}
			_ = run.Finish(err)
			return err
		}
	}

	// a target's position in the run keeps evidence names apart when two
	// addresses differ only in characters a file name cannot hold
	// (a+b@x.com and a-b@x.com)
	position := make(map[string]int, len(mu.targets))
	for i, t := range mu.targets {
		position[t] = i + 1
	}
	batch := flows.Batch{
		Policy:   m.policy(),
		DryRun:   m.dryRun,
		OnStart:  auditStart(run),
		OnResult: auditResult(run, a.log),
		Evidence: func(ctx2 context.Context, target, when string) (string, error) {
			return s.b.SaveScreenshot(ctx2, evidenceDir, fmt.Sprintf("%s-%d-%s-%s", run.ID(), position[target], target, when))
		},
	}
	results, ferr := mu.run(s, batch)
	results = notAttempted(results, mu.targets, ferr)
	if ferr != nil {
		ferr = s.fail(mu.command, ferr)
	} else if anyFailed(results) {
		paths, _ := s.b.SaveArtifacts(mu.command)
		a.noteArtifacts(paths)
	}
	_ = run.Finish(ferr)
	a.printResults(results, m.output)
	code := resultsExit(results)
	if err := run.Err(); err != nil {
		// the results above are what happened; the log does not hold all of it
		msg := fmt.Sprintf("the audit log %s could not be written: %v; %s", logPath, err, actionsTaken(results))
		if ferr != nil && !errors.Is(ferr, flows.ErrNotRecorded) {
			msg += "; " + ferr.Error()
		}
		return &exitError{code: worst(code, exitCode(ferr), exitFailed), msg: msg}
	}
	if ferr != nil {
		code = worst(code, exitCode(ferr))
		return &exitError{code: code, msg: ferr.Error()}
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

// auditStart records, before the first click on a target, that the click
// is about to happen: no click without its record, and none after a record
// of the run was lost.
func auditStart(run *audit.Run) func(target string) error {
	return func(target string) error {
		if err := run.Err(); err != nil {
			return err
		}
		return run.Done(target, audit.OutcomeStarted, "about to click", nil, nil)
	}
}

// auditResult records each target's outcome as soon as it is known; a
// write error shows in run.Err, which the caller reports.
func auditResult(run *audit.Run, log *zap.Logger) func(flows.Result) {
	return func(r flows.Result) {
		if err := run.Done(r.Email, string(r.Action), r.Detail, r.Before, r.Evidence); err != nil {
			log.Error("audit", zap.Error(err))
		}
	}
}

// notAttempted adds a failed result for each target a stopped run did not
// reach, so that the output accounts for every target.
func notAttempted(results []flows.Result, targets []string, err error) []flows.Result {
	if err == nil {
		return results
	}
	done := map[string]bool{}
	for _, r := range results {
		done[r.Email] = true
	}
	for _, t := range targets {
		if !done[t] {
			results = append(results, flows.Result{Email: t, Action: flows.Failed, Detail: "not attempted: " + err.Error(), Err: err})
		}
	}
	return results
}

// actionsTaken names the targets a run clicked for, for a message that
// must say what was done when the audit log could not record it.
func actionsTaken(rs []flows.Result) string {
	var done []string
	for _, r := range rs {
		if r.Clicked {
			done = append(done, string(r.Action)+" "+r.Email)
		}
	}
	if len(done) == 0 {
		return "no target was acted on"
	}
	return "acted on in this run: " + strings.Join(done, ", ")
}

func anyFailed(rs []flows.Result) bool {
	for _, r := range rs {
		if r.Action == flows.Failed {
			return true
		}
	}
	return false
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
