package flows

import (
	"context"
	"fmt"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/selectors"
)

// Invite sends an invitation: "+ Invite", the dialog's email field and
// role dropdown, "Send invite"; then it verifies the pending invitation.
// An address that is already a member or already invited counts as done
// (already-member, already-invited) and nothing is clicked; a different
// role is noted. An error the page shows (no seats left, invalid address)
// ends in a failed result with the page's own words. The error is non-nil
// only when the run stopped (login required, browser gone, cancelled).
func (t *Team) Invite(ctx context.Context, email string, role roster.Role, b Batch) (Result, error) {
	return t.runOne(ctx, b, email, func(_ *roster.Roster, tg target) Result {
		return t.inviteOne(ctx, b, tg, role)
	})
}

func (t *Team) inviteOne(ctx context.Context, b Batch, tg target, role roster.Role) Result {
	if res, done := inviteNeedsNoClick(b, tg, role); done {
		return res
	}
	res := Result{Email: tg.email, Before: tg.state()}
	if err := t.inviteWithRetry(ctx, b, tg.email, role, &res); err != nil {
		return t.failure(ctx, b, res, err)
	}
	l, err := t.locate(ctx, selectors.InvitationRow(tg.email))
	if err != nil {
		return t.failure(ctx, b, res, err)
	}
	if l.Found == 0 {
		return t.failure(ctx, b, res, t.errorf(agent.ErrNotVerified, "the invitation for %s is not among the pending invitations after the dialog closed (%s)", tg.email, l.Proof))
	}
	res.Action = Invited
	res.Detail = "invited as " + string(role)
	if got := roster.CanonicalRole(l.Row.Role); got != "" && got != role {
		res.Detail += fmt.Sprintf("; note: the pending invitation shows %s", got)
	}
	return res
}

// inviteNeedsNoClick returns the result of a target that is settled
// without a click (done): a failed read, a refused domain, an address
// already a member or invited, or a dry run.
func inviteNeedsNoClick(b Batch, tg target, role roster.Role) (Result, bool) {
	before := tg.state()
	switch {
	case tg.err != nil:
		return failed(tg.email, before, tg.err), true
	case b.Policy.CheckDomain(tg.email) != nil:
		return refused(tg.email, before, b.Policy.CheckDomain(tg.email)), true
	case tg.member != nil:
		res := Result{Email: tg.email, Action: AlreadyMember, Detail: fmt.Sprintf("already a member as %s", tg.member.Role), Before: before}
		if tg.member.Role != role {
			res.Detail += fmt.Sprintf(" (not %s; use set-role to change it)", role)
		}
		return res, true
	case tg.invitation != nil:
		res := Result{Email: tg.email, Action: AlreadyInvited, Detail: fmt.Sprintf("already invited as %s", tg.invitation.Role), Before: before}
		if tg.invitation.Role != role {
			res.Detail += fmt.Sprintf(" (not %s; revoke it and invite again to change the role)", role)
		}
		return res, true
	case b.DryRun:
		return Result{Email: tg.email, Action: WouldInvite, Detail: "would invite as " + string(role), Before: before}, true
	}
	return Result{}, false
}

// inviteWithRetry sends the invitation, retrying a transient failure. A
// retry after an attempt that may have sent it first reads the pending
// invitations and sends nothing when it is there.
func (t *Team) inviteWithRetry(ctx context.Context, b Batch, email string, role roster.Role, res *Result) error {
	loc := selectors.InvitationRow(email)
	sent := false
	return t.withRetry(ctx, b, "inviting "+email, func(ctx context.Context, n int) error {
		if sent {
			// an earlier attempt may have gone through: read before resending
			l, err := t.locate(ctx, loc)
			if err != nil {
				return err
			}
			if l.Found > 0 {
				return nil
			}
		}
		if !res.Clicked {
			if err := b.start(email); err != nil {
				return err
			}
		}
		res.Clicked = true
		return t.sendInvite(ctx, email, role, &sent)
	})
}

// sendInvite opens the invite dialog, fills it in and sends it; sent is
// set once Send invite was clicked.
func (t *Team) sendInvite(ctx context.Context, email string, role roster.Role, sent *bool) error {
	if err := t.openInviteDialog(ctx); err != nil {
		return err
	}
	if err := t.fillInvite(ctx, email, role); err != nil {
		return err
	}
	return t.submitInvite(ctx, email, sent)
}

// openInviteDialog waits for the list, clicks "+ Invite" and waits for
// the dialog.
func (t *Team) openInviteDialog(ctx context.Context) error {
	if err := t.ensure(ctx); err != nil {
		return err
	}
	err := t.retryNavigated(ctx, func() error {
		_, err := selectors.WaitReady(ctx, t.b, selectors.Options{Step: t.opts.Step, Total: t.opts.Step * 2})
		return err
	})
	if err != nil {
		return err
	}
	if err := t.clickPage(ctx, "the \"+ Invite\" button", func() (*selectors.Point, error) { return selectors.InviteButton(ctx, t.b) }); err != nil {
		return err
	}
	_, err = t.waitDialog(ctx, "the invite dialog")
	return err
}

// cancelInvite cancels the open invite dialog and returns err.
func (t *Team) cancelInvite(ctx context.Context, err error) error {
	_ = selectors.CancelDialog(ctx, t.b)
	return err
}

// fillInvite types email into the open invite dialog, checks that the
// field holds it, and chooses role. A failure cancels the dialog, except
// one of the typing itself.
func (t *Team) fillInvite(ctx context.Context, email string, role roster.Role) error {
	if err := selectors.FocusInviteEmail(ctx, t.b); err != nil {
		return t.cancelInvite(ctx, err)
	}
	if err := t.b.InsertText(ctx, "the invite dialog's email field", email); err != nil {
		return err
	}
	if got, err := selectors.InviteEmailValue(ctx, t.b); err != nil || !roster.SameEmail(got, email) {
		if err != nil {
			return t.cancelInvite(ctx, err)
		}
		return t.cancelInvite(ctx, t.errorf(agent.ErrPageChanged, "the invite dialog's email field reads %q after typing %s", got, email))
	}
	return t.chooseInviteRole(ctx, role)
}

// chooseInviteRole chooses role in the invite dialog's role dropdown: a
// native select directly, a popup by clicking it and then the option. A
// dialog without a dropdown invites as Editor only. A failure cancels
// the dialog.
func (t *Team) chooseInviteRole(ctx context.Context, role roster.Role) error {
	rc, err := selectors.InviteRoleControl(ctx, t.b)
	if err != nil {
		return t.cancelInvite(ctx, err)
	}
	switch {
	case rc.None && role != roster.Editor:
		return t.cancelInvite(ctx, t.errorf(agent.ErrPageChanged, "the invite dialog has no role dropdown, so it cannot invite as %s", role))
	case rc.None:
		_, _ = selectors.GuardResult(ctx, t.b)
	case roster.CanonicalRole(rc.Current) == role:
		_, _ = selectors.GuardResult(ctx, t.b)
	case rc.Kind == "select":
		if err := selectors.InviteSelectRole(ctx, t.b, string(role)); err != nil {
			return t.cancelInvite(ctx, err)
		}
	default:
		p := &selectors.Point{X: rc.X, Y: rc.Y}
		if err := t.clickGuarded(ctx, "the invite dialog's role dropdown", p); err != nil {
			return t.cancelInvite(ctx, err)
		}
		if err := t.chooseOption(ctx, selectors.Locator{}, role, "the invite dialog's role dropdown"); err != nil {
			return t.cancelInvite(ctx, err)
		}
	}
	return nil
}

// submitInvite clicks Send invite (setting sent), waits for the dialog to
// settle and for the pending invitation's row to show.
func (t *Team) submitInvite(ctx context.Context, email string, sent *bool) error {
	if err := sleepCtx(ctx, pollEvery); err != nil {
		return err
	}
	before := t.toasts(ctx)
	send, err := selectors.DialogButton(ctx, t.b, selectors.SendInvite, "Send invite button")
	if err != nil {
		return t.cancelInvite(ctx, err)
	}
	if err := t.clickGuarded(ctx, "the Send invite button", send); err != nil {
		return t.cancelInvite(ctx, err)
	}
	*sent = true
	if err := t.settle(ctx, "inviting "+email, before); err != nil {
		return err
	}
	_, err = poll(ctx, t.opts.Step, func() (bool, error) {
		l, err := selectors.Rendered(ctx, t.b, selectors.InvitationRow(email), t.opts)
		return err == nil && l.Found > 0, err
	})
	return err
}
