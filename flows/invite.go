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
	before := tg.state()
	switch {
	case tg.err != nil:
		return failed(tg.email, before, tg.err)
	case b.Policy.CheckDomain(tg.email) != nil:
		return refused(tg.email, before, b.Policy.CheckDomain(tg.email))
	case tg.member != nil:
		res := Result{Email: tg.email, Action: AlreadyMember, Detail: fmt.Sprintf("already a member as %s", tg.member.Role), Before: before}
		if tg.member.Role != role {
			res.Detail += fmt.Sprintf(" (not %s; use set-role to change it)", role)
		}
		return res
	case tg.invitation != nil:
		res := Result{Email: tg.email, Action: AlreadyInvited, Detail: fmt.Sprintf("already invited as %s", tg.invitation.Role), Before: before}
		if tg.invitation.Role != role {
			res.Detail += fmt.Sprintf(" (not %s; revoke it and invite again to change the role)", role)
		}
		return res
	case b.DryRun:
		return Result{Email: tg.email, Action: WouldInvite, Detail: "would invite as " + string(role), Before: before}
	}
	res := Result{Email: tg.email, Before: before}
	loc := selectors.InvitationRow(tg.email)
	sent := false
	err := t.withRetry(ctx, b, "inviting "+tg.email, func(ctx context.Context, n int) error {
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
			if err := b.start(tg.email); err != nil {
				return err
			}
		}
		res.Clicked = true
		return t.sendInvite(ctx, tg.email, role, &sent)
	})
	if err != nil {
		return t.failure(ctx, b, res, err)
	}
	l, err := t.locate(ctx, loc)
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

func (t *Team) sendInvite(ctx context.Context, email string, role roster.Role, sent *bool) error {
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
	if _, err := t.waitDialog(ctx, "the invite dialog"); err != nil {
		return err
	}
	cancel := func(err error) error {
		_ = selectors.CancelDialog(ctx, t.b)
		return err
	}
	if err := selectors.FocusInviteEmail(ctx, t.b); err != nil {
		return cancel(err)
	}
	if err := t.b.InsertText(ctx, "the invite dialog's email field", email); err != nil {
		return err
	}
	if got, err := selectors.InviteEmailValue(ctx, t.b); err != nil || !roster.SameEmail(got, email) {
		if err != nil {
			return cancel(err)
		}
		return cancel(t.errorf(agent.ErrPageChanged, "the invite dialog's email field reads %q after typing %s", got, email))
	}
	rc, err := selectors.InviteRoleControl(ctx, t.b)
	if err != nil {
		return cancel(err)
	}
	switch {
	case rc.None && role != roster.Editor:
		return cancel(t.errorf(agent.ErrPageChanged, "the invite dialog has no role dropdown, so it cannot invite as %s", role))
	case rc.None:
		_, _ = selectors.GuardResult(ctx, t.b)
	case roster.CanonicalRole(rc.Current) == role:
		_, _ = selectors.GuardResult(ctx, t.b)
	case rc.Kind == "select":
		if err := selectors.InviteSelectRole(ctx, t.b, string(role)); err != nil {
			return cancel(err)
		}
	default:
		p := &selectors.Point{X: rc.X, Y: rc.Y}
		if err := t.clickGuarded(ctx, "the invite dialog's role dropdown", p); err != nil {
			return cancel(err)
		}
		if err := t.chooseOption(ctx, selectors.Locator{}, role, "the invite dialog's role dropdown"); err != nil {
			return cancel(err)
		}
	}
	if err := sleepCtx(ctx, pollEvery); err != nil {
		return err
	}
	before := t.toasts(ctx)
	send, err := selectors.DialogButton(ctx, t.b, selectors.SendInvite, "Send invite button")
	if err != nil {
		return cancel(err)
	}
	if err := t.clickGuarded(ctx, "the Send invite button", send); err != nil {
		return cancel(err)
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
