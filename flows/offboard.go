package flows

import (
	"context"
	"fmt"

	"github.com/clay-agent/clay-agent/agent/roster"
)

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

func removeMember(ms []roster.Member, email string) []roster.Member {
	out := ms[:0]
	for _, m := range ms {
		if !roster.SameEmail(m.Email, email) {
			out = append(out, m)
		}
	}
	return out
}
