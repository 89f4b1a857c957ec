package flows

import (
	"context"
	"fmt"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// target is one email with what the page showed for it.
type target struct {
	email      string
	member     *roster.Member
	invitation *roster.Invitation
	err        error
}

// state is what the page showed for the target.
func (tg target) state() State { return State{Member: tg.member, Invitation: tg.invitation} }

// plan reads the Team page once and matches each email to its rows.
func (t *Team) plan(ctx context.Context, emails []string) (*roster.Roster, []target, error) {
	r, err := t.read(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	out := make([]target, 0, len(emails))
	for _, e := range emails {
		tg := target{email: e}
		ms := r.FindMembers(e)
		switch {
		case len(ms) > 1:
			tg.err = t.errorf(agent.ErrPageChanged, "%d member rows match %s; refusing to guess which one", len(ms), e)
		case len(ms) == 1:
			m := ms[0]
			tg.member = &m
		}
		is := r.FindInvitations(e)
		switch {
		case len(is) > 1 && tg.err == nil:
			tg.err = t.errorf(agent.ErrPageChanged, "%d pending invitations match %s; refusing to guess which one", len(is), e)
		case len(is) == 1:
			i := is[0]
			tg.invitation = &i
		}
		if tg.err == nil && tg.member == nil && tg.invitation == nil {
			// absent only if no row the page script could not read may be it
			if us := append(r.UnreadableFor("member", e), r.UnreadableFor("invitation", e)...); len(us) > 0 {
				tg.err = t.errorf(agent.ErrNotVerified, "no readable row shows %s, but %d row(s) with controls and no readable email could be it (%q); refusing to call it absent", e, len(us), us[0].Text)
			}
		}
		out = append(out, tg)
	}
	return r, out, nil
}

// runOne reads the page, runs one for the single target email and reports
// its result. The error is non-nil only when the run stopped.
func (t *Team) runOne(ctx context.Context, b Batch, email string, one func(*roster.Roster, target) Result) (Result, error) {
	r, targets, err := t.plan(ctx, []string{email})
	if err != nil {
		return Result{}, err
	}
	res := b.report(one(r, targets[0]))
	if res.Err != nil && fatal(res.Err) {
		return res, res.Err
	}
	return res, nil
}

// runTargets runs one for each target in order, reports each result as
// soon as it is known, stops at an error that ends the run, and (unless
// dry) verifies the removals once more after reloading the page.
func (t *Team) runTargets(ctx context.Context, b Batch, targets []target, one func(target) Result) ([]Result, error) {
	var results []Result
	for _, tg := range targets {
		if ctx.Err() != nil {
			return results, fmt.Errorf("%w: %w", errCancelled, ctx.Err())
		}
		res := one(tg)
		results = append(results, b.report(res))
		if res.Err != nil && fatal(res.Err) {
			return results, res.Err
		}
	}
	if b.DryRun {
		return results, nil
	}
	return t.verifyAbsent(ctx, b, results)
}

// verifyAbsent reloads the page and checks that every removal is still
// gone: a row that comes back (the server ignored the change) turns the
// result into a failure wrapping agent.ErrNotVerified.
func (t *Team) verifyAbsent(ctx context.Context, b Batch, results []Result) ([]Result, error) {
	changed := false
	for _, r := range results {
		changed = changed || r.Changed()
	}
	if !changed {
		return results, nil
	}
	if err := t.Reload(ctx); err != nil {
		return results, err
	}
	r, err := t.read(ctx, "")
	if err != nil {
		return results, err
	}
	for i, res := range results {
		if !res.Changed() {
			continue
		}
		var back []string
		if res.Action == Removed && len(r.FindMembers(res.Email)) > 0 {
			back = append(back, "member")
		}
		if len(r.FindInvitations(res.Email)) > 0 && (res.Action == RevokedInvitation || res.Before.Invitation != nil) {
			back = append(back, "pending invitation")
		}
		if len(back) > 0 {
			err := t.errorf(agent.ErrNotVerified, "after reloading the page the %v row of %s is back: the server did not keep the change", back, res.Email)
			nr := failed(res.Email, res.Before, err)
			nr.Evidence = res.Evidence
			nr.Clicked = true
			results[i] = b.report(nr)
		}
	}
	return results, nil
}
