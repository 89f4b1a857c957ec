package flows

import (
	"context"
	"fmt"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// Revoke revokes the pending invitation of each email, leaving members
// alone. An email with no pending invitation counts as done
// (already-absent) and nothing is clicked. The policy's domain and
// --max-removals rules apply; each revocation is verified in place and
// again after reloading the page.
func (t *Team) Revoke(ctx context.Context, emails []string, b Batch) ([]Result, error) {
	r, targets, err := t.plan(ctx, emails)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, tg := range targets {
		if tg.invitation != nil && tg.err == nil && b.Policy.CheckDomain(tg.email) == nil {
			n++
		}
	}
	tooMany := b.Policy.CheckRemovals(n, "revoke %d invitations")
	return t.runTargets(ctx, b, targets, func(tg target) Result {
		return t.revokeOne(ctx, b, r, tg, tooMany)
	})
}

func (t *Team) revokeOne(ctx context.Context, b Batch, r *roster.Roster, tg target, tooMany error) Result {
	before := State{Invitation: tg.invitation}
	switch {
	case tg.err != nil:
		return failed(tg.email, before, tg.err)
	case b.Policy.CheckDomain(tg.email) != nil:
		return refused(tg.email, before, b.Policy.CheckDomain(tg.email))
	case tg.invitation == nil:
		detail := "no pending invitation with this email"
		if tg.member != nil {
			detail += " (a member has it; use offboard to remove members)"
		}
		return Result{Email: tg.email, Action: AlreadyAbsent, Detail: detail, Before: before}
	case tooMany != nil:
		return refused(tg.email, before, tooMany)
	case b.DryRun:
		return Result{Email: tg.email, Action: WouldRevoke, Detail: fmt.Sprintf("would revoke the pending invitation (%s)", tg.invitation.Role), Before: before}
	}
	res := Result{Email: tg.email, Before: before}
	err := t.deleteRow(ctx, b, invitationRow, whomFor(r, tg.email, ""), &res)
	if err := finishDelete(&res, RevokedInvitation, AlreadyAbsent, err); err != nil {
		return t.failure(ctx, b, res, err)
	}
	if res.Action == RevokedInvitation {
		res.Detail = fmt.Sprintf("revoked the pending invitation (%s)", tg.invitation.Role)
	}
	if res.Clicked {
		b.evidence(ctx, &res, tg.email, "after")
	}
	return res
}
