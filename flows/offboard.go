package flows

import (
	"context"
	"errors"
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

// Offboard removes each email's member row and revokes its pending
// invitation. An email that is absent counts as done (already-absent) and
// nothing is clicked. It refuses, without clicking anything, the
// signed-in user, the last Admin, emails outside the allowed domains and a
// run with more removals than the policy allows. Each change is verified
// in place, then all of them once more after reloading the page.
//
// The error is non-nil only when the run stopped early (login required,
// browser gone, cancelled); the results then cover the targets reached.
func (t *Team) Offboard(ctx context.Context, emails []string, b Batch) ([]Result, error) {
	r, targets, err := t.plan(ctx, emails)
	if err != nil {
		return nil, err
	}
	removals := 0
	for _, tg := range targets {
		if tg.err != nil || b.Policy.CheckDomain(tg.email) != nil {
			continue
		}
		if tg.member != nil && checkRemoval(r, *tg.member) == nil {
			removals++
		}
		if tg.invitation != nil {
			removals++
		}
	}
	tooMany := b.Policy.CheckRemovals(removals, "make %d removals")
	return t.runTargets(ctx, b, targets, func(tg target) Result {
		return t.offboardOne(ctx, b, r, tg, tooMany)
	})
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

func (t *Team) offboardOne(ctx context.Context, b Batch, r *roster.Roster, tg target, tooMany error) Result {
	before := tg.state()
	switch {
	case tg.err != nil:
		return failed(tg.email, before, tg.err)
	case b.Policy.CheckDomain(tg.email) != nil:
		return refused(tg.email, before, b.Policy.CheckDomain(tg.email))
	case tg.member == nil && tg.invitation == nil:
		return Result{Email: tg.email, Action: AlreadyAbsent, Detail: "no member and no pending invitation with this email", Before: before}
	}
	if tg.member != nil {
		if err := checkRemoval(r, *tg.member); err != nil {
			return refused(tg.email, before, err)
		}
	}
	if tooMany != nil {
		return refused(tg.email, before, tooMany)
	}
	if b.DryRun {
		return dryRunOffboard(tg)
	}
	res := Result{Email: tg.email, Before: before}
	if tg.member != nil {
		err := t.deleteRow(ctx, b, memberRow, whomFor(r, tg.email, tg.member.Name), &res)
		if err := finishDelete(&res, Removed, AlreadyAbsent, err); err != nil {
			return t.failure(ctx, b, res, err)
		}
		if res.Action == Removed {
			r.Members = removeMember(r.Members, tg.email)
			res.Detail = fmt.Sprintf("removed %s (%s)", tg.member.Name, tg.member.Role)
		} else {
			res.Detail = "a complete scan of the list no longer found the member when the removal started"
		}
	}
	if tg.invitation != nil {
		sub := Result{Email: tg.email, Clicked: res.Clicked}
		err := t.deleteRow(ctx, b, invitationRow, whomFor(r, tg.email, ""), &sub)
		res.Evidence = append(res.Evidence, sub.Evidence...)
		res.Clicked = sub.Clicked
		if err := finishDelete(&sub, RevokedInvitation, AlreadyAbsent, err); err != nil {
			if res.Action == Removed {
				err = fmt.Errorf("%s, but revoking the pending invitation failed: %w", res.Detail, err)
			}
			return t.failure(ctx, b, res, err)
		}
		if sub.Action == RevokedInvitation {
			if res.Action == "" || res.Action == AlreadyAbsent {
				res.Action = RevokedInvitation
			}
			res.Detail = appendDetail(res.Detail, "revoked the pending invitation ("+string(tg.invitation.Role)+")")
		}
	}
	if res.Action == "" {
		res.Action = AlreadyAbsent
	}
	if res.Clicked {
		b.evidence(ctx, &res, tg.email, "after")
	}
	return res
}

func dryRunOffboard(tg target) Result {
	res := Result{Email: tg.email, Before: tg.state()}
	switch {
	case tg.member != nil && tg.invitation != nil:
		res.Action = WouldRemoveRevoked
		res.Detail = fmt.Sprintf("would remove %s (%s) and revoke the pending invitation", tg.member.Name, tg.member.Role)
	case tg.member != nil:
		res.Action = WouldRemove
		res.Detail = fmt.Sprintf("would remove %s (%s)", tg.member.Name, tg.member.Role)
	default:
		res.Action = WouldRevoke
		res.Detail = fmt.Sprintf("would revoke the pending invitation (%s)", tg.invitation.Role)
	}
	return res
}

// failure turns an error into a refused or failed result, keeping
// evidence of the page when something was clicked.
func (t *Team) failure(ctx context.Context, b Batch, res Result, err error) Result {
	out := failed(res.Email, res.Before, err)
	if isRefusal(err) {
		out = refused(res.Email, res.Before, err)
	}
	out.Evidence = res.Evidence
	out.Clicked = res.Clicked
	if res.Clicked && !fatal(err) {
		b.evidence(ctx, &out, res.Email, "after")
	}
	return out
}

func isRefusal(err error) bool {
	return err != nil && errors.Is(err, agent.ErrRefused)
}

func removeMember(ms []roster.Member, email string) []roster.Member {
	out := ms[:0]
	for _, m := range ms {
		if !roster.SameEmail(m.Email, email) {
			out = append(out, m)
		}
	}
	return out
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
