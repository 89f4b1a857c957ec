package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrRunFinished is returned by Done after Finish.
var ErrRunFinished = errors.New("audit: run already finished")

// Run records one run of a command over a list of targets so that a run
// cut short (a crash of Chrome, Ctrl-C, a timeout) still leaves a record of
// every target: what was done, what was under way, and what was never
// attempted.
//
// A run writes a "planned" record listing its targets, one or more records
// per target through Done, and on Finish a record for each target that has
// no final outcome, then a closing "finished" or "aborted" record. All of
// them share the planned record's ID as RunID.
//
// Write errors do not stop a run: each method returns its own error and
// Err reports the first one. A Run is safe for concurrent use.
type Run struct {
	log     *Log
	ctx     context.Context
	id      string
	command string
	targets []string
	// request and client name the request the run serves, if any.
	request, client string

	mu       sync.Mutex
	inPlan   map[string]bool
	order    []string          // planned targets, then others as first seen
	state    map[string]string // target -> last outcome
	err      error
	finished bool
}

// Plan starts a run of command over targets and writes its "planned"
// record. ctx is the run's context: if it is done when Finish is called
// with a nil error, the run still counts as aborted, with ctx's cause.
func (l *Log) Plan(ctx context.Context, command string, targets []string, opts ...RunOption) *Run {
	id := NewID()
	r := &Run{
		log:     l,
		ctx:     ctx,
		id:      id,
		command: command,
		targets: append([]string(nil), targets...),
		state:   make(map[string]string, len(targets)),
	}
	for _, o := range opts {
		o(r)
	}
	r.inPlan = make(map[string]bool, len(targets))
	for _, t := range targets {
		if !r.inPlan[t] {
			r.inPlan[t] = true
			r.order = append(r.order, t)
		}
	}
	_, err := l.Append(Record{
		ID:      id,
		RunID:   id,
		Command: command,
		Targets: r.targets,
		Outcome: OutcomePlanned,
		Detail:  fmt.Sprintf("%d target(s)", len(targets)),
		Request: r.request,
		Client:  r.client,
	})
	r.noteErr(err)
	return r
}

// RunOption configures a Run.
type RunOption func(*Run)

// WithRequest puts the id of the request a run serves, and the client
// that sent it, on every record of the run (e.g. a SCIM request).
func WithRequest(id, client string) RunOption {
	return func(r *Run) { r.request, r.client = id, client }
}

// ID returns the run's ID, which every record of the run carries as
// RunID. It is safe in file names, e.g. for evidence.
func (r *Run) ID() string { return r.id }

// Err returns the first error met while writing the run's records.
func (r *Run) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Run) noteErr(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// Done records an outcome for target: the state before the action (any
// value that encodes to JSON, or nil), what happened, and evidence files.
// Record OutcomeStarted before a change that cannot be undone, so that an
// interruption between it and the final outcome shows as "interrupted"
// (state unknown) rather than "not-attempted". Targets outside the plan
// are accepted.
func (r *Run) Done(target, outcome, detail string, before any, evidence []string) error {
	var raw json.RawMessage
	if before != nil {
		b, err := json.Marshal(before)
		if err != nil {
			err = fmt.Errorf("audit: encode state before for %s: %w", target, err)
			r.noteErr(err)
			return err
		}
		raw = b
	}
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return fmt.Errorf("%w: %s for %s not recorded", ErrRunFinished, outcome, target)
	}
	if _, ok := r.state[target]; !ok && !r.inPlan[target] {
		r.order = append(r.order, target)
	}
	r.state[target] = outcome
	r.mu.Unlock()

	_, err := r.log.Append(Record{
		RunID:    r.id,
		Command:  r.command,
		Target:   target,
		Before:   raw,
		Outcome:  outcome,
		Detail:   detail,
		Evidence: evidence,
		Request:  r.request,
		Client:   r.client,
	})
	r.noteErr(err)
	return err
}

// Finish closes the run. err is why the run ended early, or nil. For each
// planned target without a final outcome it writes "not-attempted" (never
// reached) or "interrupted" (last recorded as started, so the change may
// or may not have happened) with a detail like "interrupted: context
// canceled". Then it writes "aborted" (err, or the cause of the run's
// context) or "finished" with a count of outcomes. Calling Finish again
// does nothing.
func (r *Run) Finish(err error) error {
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return nil
	}
	r.finished = true
	order := append([]string(nil), r.order...)
	state := make(map[string]string, len(r.state))
	for k, v := range r.state {
		state[k] = v
	}
	r.mu.Unlock()

	cause := err
	if cause == nil && r.ctx != nil && r.ctx.Err() != nil {
		cause = context.Cause(r.ctx)
	}
	why := "the run ended before reaching it"
	if cause != nil {
		why = "interrupted: " + cause.Error()
	}

	var errs []error
	write := func(rec Record) {
		rec.RunID = r.id
		rec.Command = r.command
		rec.Request, rec.Client = r.request, r.client
		if _, err := r.log.Append(rec); err != nil {
			errs = append(errs, err)
		}
	}
	var outcomes []string
	counts := map[string]int{}
	count := func(o string) {
		if counts[o] == 0 {
			outcomes = append(outcomes, o)
		}
		counts[o]++
	}
	for _, t := range order {
		switch last, ok := state[t]; {
		case !ok:
			write(Record{Target: t, Outcome: OutcomeNotAttempted, Detail: why})
			count(OutcomeNotAttempted)
		case last == OutcomeStarted:
			write(Record{Target: t, Outcome: OutcomeInterrupted,
				Detail: why + "; the change may or may not have been made, check the current state"})
			count(OutcomeInterrupted)
		default:
			count(last)
		}
	}

	summary := make([]string, 0, len(outcomes))
	for _, o := range outcomes {
		summary = append(summary, fmt.Sprintf("%d %s", counts[o], o))
	}
	final := Record{Outcome: OutcomeFinished, Detail: strings.Join(summary, ", ")}
	if cause != nil {
		final.Outcome = OutcomeAborted
		final.Detail = cause.Error()
		if len(summary) > 0 {
			final.Detail += " (" + strings.Join(summary, ", ") + ")"
		}
	}
	write(final)

	werr := errors.Join(errs...)
	r.noteErr(werr)
	return werr
}
