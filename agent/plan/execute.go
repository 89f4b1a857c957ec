package plan

import (
	"context"
	"fmt"
	"time"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// Team is what applying a plan needs of the Team page: a complete read,
// and the offboard and revoke flows run with a policy, reporting each
// outcome as soon as it is known.
type Team interface {
	List(ctx context.Context) (*roster.Roster, error)
	Offboard(ctx context.Context, emails []string, policy core.Policy, onResult func(core.Result)) ([]core.Result, error)
	Revoke(ctx context.Context, emails []string, policy core.Policy, onResult func(core.Result)) ([]core.Result, error)
}

// Applier applies one plan.
type Applier struct {
	Plan *Plan
	// Now is the clock; MaxAge bounds the plan's age.
	Now    func() time.Time
	MaxAge time.Duration
	// History is what the audit log and the ledger say of the plan.
	History *History
	// Ledger, kept in LedgerDir, records each target done as soon as it
	// is known, so that no later apply acts on it again.
	Ledger    *Ledger
	LedgerDir string
	// Policy is the operator's; the plan's limits can only tighten it.
	Policy core.Policy
	// DryRun changes nothing, the ledger included.
	DryRun bool
	// OnResult is called with each outcome as soon as it is known.
	OnResult func(core.Result)
	// OnLedgerError is told when the ledger could not be written (the
	// audit log still holds the outcome).
	OnLedgerError func(error)
}

// Apply reads the page, checks the plan against it, and runs the actions
// still to do through the offboard and revoke flows, under the stricter
// of the operator's policy and the plan's limits. The actions already
// done are reported as already absent; more removals than the policy
// allows refuse them all.
func (ap *Applier) Apply(ctx context.Context, t Team) ([]core.Result, error) {
	r, err := t.List(ctx)
	if err != nil {
		return nil, err
	}
	c, err := Check(ap.Plan, r, ap.Now(), ap.MaxAge, ap.History.Done)
	if err != nil {
		return nil, err
	}
	policy := ap.Policy.Stricter(core.Policy{MaxRemovals: ap.Plan.Limits.MaxRemovals, AllowDomains: ap.Plan.Limits.AllowDomains})
	report := ap.reporter()
	var results []core.Result
	for _, d := range c.Done {
		results = append(results, report(core.Result{Email: d.Email, Action: core.AlreadyAbsent, Detail: "already done: " + d.Email + " is gone since the plan was made"}))
	}
	var off, rev []string
	for _, act := range c.Do {
		if act.Action == Offboard {
			off = append(off, act.Email)
		} else {
			rev = append(rev, act.Email)
		}
	}
	if n := len(off) + len(rev); n > policy.MaxRemovals {
		// one bound over the whole plan, not per flow
		err := fmt.Errorf("%w: the plan holds %d removals still to do, more than %d (--max-removals and the plan's limit): nothing was removed", core.ErrRefused, n, policy.MaxRemovals)
		for _, e := range append(off, rev...) {
			results = append(results, report(core.Result{Email: e, Action: core.Refused, Detail: err.Error(), Err: err}))
		}
		return results, nil
	}
	for _, step := range []struct {
		emails []string
		run    func(context.Context, []string, core.Policy, func(core.Result)) ([]core.Result, error)
	}{{off, t.Offboard}, {rev, t.Revoke}} {
		if len(step.emails) == 0 {
			continue
		}
		rs, err := step.run(ctx, step.emails, policy, func(res core.Result) { report(res) })
		results = append(results, rs...)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// reporter passes each outcome on and, for a real run, notes each target
// done in the ledger.
func (ap *Applier) reporter() func(core.Result) core.Result {
	return func(res core.Result) core.Result {
		if ap.OnResult != nil {
			ap.OnResult(res)
		}
		if ap.DryRun || !IsDoneOutcome(string(res.Action)) {
			return res
		}
		if err := ap.Ledger.Note(ap.LedgerDir, Done{Email: res.Email, Outcome: string(res.Action), At: ap.Now().UTC()}); err != nil && ap.OnLedgerError != nil {
			ap.OnLedgerError(err)
		}
		return res
	}
}
