package engine

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/flows"
)

// Flow performs a change on an open session with the batch's policy,
// dry run, audit callbacks and evidence.
type Flow func(ctx context.Context, s Session, b flows.Batch) ([]core.Result, error)

// Run describes one change.
type Run struct {
	// Command names the run in the audit log (e.g. "offboard",
	// "apply 1a2b3c4d", "scim invite editor"). A dry run gets
	// " --dry-run" appended.
	Command string
	// Targets are the emails the run may act on, in order.
	Targets []string
	// Flow performs the change.
	Flow Flow
	// Policy is the run's safety policy.
	Policy core.Policy
	// DryRun reads the page and reports what would happen; it clicks
	// nothing.
	DryRun bool

	// Lock takes the workspace's lock and returns its release; nil takes
	// none.
	Lock func(ctx context.Context) (release func(), err error)
	// Audit opens the audit log (under the lock) and returns its close.
	Audit func() (log *audit.Log, closeLog func(), err error)
	// AuditName names the log in messages (its path); may be empty.
	AuditName string
	// AuditOptions go on the run's records (e.g. the SCIM request).
	AuditOptions []audit.RunOption
	// Sessions hands out the browser session.
	Sessions Sessions
	// Confirm, when set and the run is not a dry run, is called with the
	// results of a dry run of the flow; an error stops the run before
	// anything is clicked.
	Confirm func(ctx context.Context, plan []core.Result) error
	// EvidenceDir, when set, is where screenshots before and after each
	// destructive click go.
	EvidenceDir string
	// KeepArtifacts keeps the page's artifacts when the flow fails or a
	// target fails.
	KeepArtifacts bool
	// Log logs what the run cannot report in its outcome.
	Log *zap.Logger
}

// Stage is how far a run got.
type Stage int

// The stages of a run, in order.
const (
	StageLock    Stage = iota // taking the workspace lock
	StageAudit                // opening the audit log
	StageRecord               // writing the planned record
	StageSession              // getting a browser session
	StageConfirm              // the dry run and the question
	StageFlow                 // the flow ran
)

var stageNames = [...]string{"lock", "audit", "record", "session", "confirm", "flow"}

func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return fmt.Sprintf("stage(%d)", int(s))
}

// Outcome is what a run did.
type Outcome struct {
	// Stage is the stage the run stopped in; StageFlow when the flow ran.
	Stage Stage
	// Results hold one result per target: those the flow reported, and a
	// failed "not attempted" result for each target it did not reach.
	Results []core.Result
	// Err is why the run stopped early, or nil.
	Err error
	// AuditErr is the first error met writing the run's records after
	// its planned record: the results are what happened, the log does not
	// hold all of it.
	AuditErr error
	// RunID is the audit run's id, once its planned record is written.
	RunID string
	// Artifacts are the paths of the artifacts kept for a failure.
	Artifacts []string
}

// Execute runs r: lock, audit plan record, session, confirmation, flow
// with evidence and audit records per target, audit finish.
func Execute(ctx context.Context, r Run) Outcome {
	if r.Log == nil {
		r.Log = zap.NewNop()
	}
	if r.Lock != nil {
		release, err := r.Lock(ctx)
		if err != nil {
			return r.stopped(StageLock, fmt.Errorf("waiting for the workspace lock: %w", err))
		}
		defer release()
	}
	alog, closeLog, err := r.Audit()
	if err != nil {
		return r.stopped(StageAudit, fmt.Errorf("opening the audit log: %w", err))
	}
	defer closeLog()
	command := r.Command
	if r.DryRun {
		command += " --dry-run"
	}
	run := alog.Plan(ctx, command, r.Targets, r.AuditOptions...)
	if err := run.Err(); err != nil {
		// no record of the plan, no action: the browser does not even start
		return r.stopped(StageRecord, r.notRecorded(err))
	}
	return r.withSession(ctx, run)
}

// notRecorded is the error of a run whose planned record was not written.
func (r Run) notRecorded(err error) error {
	if r.AuditName != "" {
		return fmt.Errorf("%w: %s: nothing was done: %w", core.ErrNotRecorded, r.AuditName, err)
	}
	return fmt.Errorf("%w: nothing was done: %w", core.ErrNotRecorded, err)
}

// withSession runs the confirmation and the flow on a session, and
// finishes the audit run.
func (r Run) withSession(ctx context.Context, run *audit.Run) Outcome {
	s, err := r.Sessions.Acquire(ctx)
	if err != nil {
		_ = run.Finish(err)
		out := r.stopped(StageSession, err)
		out.RunID = run.ID()
		return out
	}
	var out Outcome
	if r.Confirm != nil && !r.DryRun {
		if out, ok := r.confirm(ctx, s, run); !ok {
			r.Sessions.Release(s, out.Err)
			return out
		}
	}
	out = r.flow(ctx, s, run)
	r.Sessions.Release(s, out.Err)
	return out
}

// confirm runs the flow dry and asks; ok is false when the run stops
// here, with its outcome.
func (r Run) confirm(ctx context.Context, s Session, run *audit.Run) (Outcome, bool) {
	plan, err := r.Flow(ctx, s, flows.Batch{Policy: r.Policy, DryRun: true})
	dryRunFailed := err != nil
	if !dryRunFailed {
		if err = r.Confirm(ctx, plan); err == nil {
			return Outcome{}, true
		}
	}
	_ = run.Finish(err)
	out := r.stopped(StageConfirm, err)
	out.RunID = run.ID()
	if dryRunFailed {
		out.Artifacts = r.artifacts(s, err)
	}
	return out, false
}

// flow runs the flow for real (or dry), audited per target.
func (r Run) flow(ctx context.Context, s Session, run *audit.Run) Outcome {
	batch := flows.Batch{
		Policy:   r.Policy,
		DryRun:   r.DryRun,
		OnStart:  auditStart(run),
		OnResult: auditResult(run, r.Log),
		Evidence: r.evidence(s, run),
	}
	results, ferr := r.Flow(ctx, s, batch)
	out := Outcome{Stage: StageFlow, Results: NotAttempted(results, r.Targets, ferr), Err: ferr, RunID: run.ID()}
	switch {
	case ferr != nil:
		out.Artifacts = r.artifacts(s, ferr)
	case AnyFailed(out.Results) && r.KeepArtifacts:
		out.Artifacts = r.keep(s)
	}
	_ = run.Finish(ferr)
	out.AuditErr = run.Err()
	return out
}

// evidence names each screenshot by the run, the target's position in
// the run, the target and when it was taken: the position keeps names
// apart when two addresses differ only in characters a file name cannot
// hold (a+b@x.com and a-b@x.com).
func (r Run) evidence(s Session, run *audit.Run) func(context.Context, string, string) (string, error) {
	if r.EvidenceDir == "" {
		return nil
	}
	position := make(map[string]int, len(r.Targets))
	for i, t := range r.Targets {
		position[t] = i + 1
	}
	return func(ctx context.Context, target, when string) (string, error) {
		return s.SaveScreenshot(ctx, r.EvidenceDir, fmt.Sprintf("%s-%d-%s-%s", run.ID(), position[target], target, when))
	}
}

// artifacts keeps the artifacts of a failed flow, when asked to.
func (r Run) artifacts(s Session, err error) []string {
	if err == nil || !r.KeepArtifacts {
		return nil
	}
	return r.keep(s)
}

func (r Run) keep(s Session) []string {
	paths, err := s.SaveArtifacts(r.Command)
	if err != nil {
		r.Log.Warn("artifacts", zap.Error(err))
	}
	return paths
}

// stopped is the outcome of a run that stopped at stage before its flow
// ran: every target is accounted for as not attempted.
func (r Run) stopped(stage Stage, err error) Outcome {
	return Outcome{Stage: stage, Results: NotAttempted(nil, r.Targets, err), Err: err}
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
// write error shows in run.Err, which the outcome reports.
func auditResult(run *audit.Run, log *zap.Logger) func(core.Result) {
	return func(res core.Result) {
		if err := run.Done(res.Email, string(res.Action), res.Detail, res.Before, res.Evidence); err != nil {
			log.Error("audit", zap.Error(err))
		}
	}
}
