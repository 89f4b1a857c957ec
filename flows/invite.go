package flows

import (
	"context"
	"fmt"
	"time"

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
	sent := false
	err := t.withRetry(ctx, b, "inviting "+tg.email, func(ctx context.Context, n int) error {
		if sent {
			// an earlier attempt may have gone through: read before resending
			loc, err := t.locate(ctx, tg.email, "invitation")
			if err != nil {
				return err
			}
			if loc.Found > 0 {
				return nil
			}
		}
		if !res.Clicked {
			b.start(tg.email)
		}
		res.Clicked = true
		return t.sendInvite(ctx, tg.email, role, &sent)
	})
	if err != nil {
		return t.failure(ctx, b, res, err)
	}
	loc, err := t.locate(ctx, tg.email, "invitation")
	if err != nil {
		return t.failure(ctx, b, res, err)
	}
	if loc.Found == 0 {
		return t.failure(ctx, b, res, t.errorf(agent.ErrNotVerified, "the invitation for %s is not among the pending invitations after the dialog closed", tg.email))
	}
	res.Action = Invited
	res.Detail = "invited as " + string(role)
	if got := roster.CanonicalRole(loc.Row.Role); got != "" && got != role {
		res.Detail += fmt.Sprintf("; note: the pending invitation shows %s", got)
	}
	return res
}

func (t *Team) sendInvite(ctx context.Context, email string, role roster.Role, sent *bool) error {
	if err := t.ensure(ctx); err != nil {
		return err
	}
	var p *selectors.Point
	err := t.retryNavigated(ctx, func() error {
		var err error
		if _, err = selectors.WaitReady(ctx, t.b, selectors.Options{Step: t.opts.Step, Total: t.opts.Step * 2}); err != nil {
			return err
		}
		p, err = selectors.InviteButton(ctx, t.b)
		return err
	})
	if err != nil {
		return err
	}
	if err := t.click(ctx, "the \"+ Invite\" button", p); err != nil {
		return err
	}
	if _, err := t.waitDialog(ctx, "the invite dialog"); err != nil {
		return err
	}
	field, err := selectors.DialogEmailInput(ctx, t.b)
	if err != nil {
		_ = selectors.CancelDialog(ctx, t.b)
		return err
	}
	if err := t.b.InsertText(ctx, "the invite dialog's email field", email); err != nil {
		return err
	}
	if got, err := selectors.ValueOf(ctx, t.b, field.Token); err != nil || !roster.SameEmail(got, email) {
		_ = selectors.CancelDialog(ctx, t.b)
		if err != nil {
			return err
		}
		return t.errorf(agent.ErrPageChanged, "the invite dialog's email field reads %q after typing %s", got, email)
	}
	rc, err := selectors.DialogRoleControl(ctx, t.b)
	if err != nil {
		_ = selectors.CancelDialog(ctx, t.b)
		return err
	}
	switch {
	case rc.None && role != roster.Editor:
		_ = selectors.CancelDialog(ctx, t.b)
		return t.errorf(agent.ErrPageChanged, "the invite dialog has no role dropdown, so it cannot invite as %s", role)
	case rc.None:
	case roster.CanonicalRole(rc.Current) != role:
		pt := &selectors.Point{X: rc.X, Y: rc.Y, Token: rc.Token}
		if err := t.chooseRole(ctx, rc.Kind, "", pt, role, "the invite dialog's role dropdown"); err != nil {
			_ = selectors.CancelDialog(ctx, t.b)
			return err
		}
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return err
		}
	}
	before := t.toasts(ctx)
	send, err := selectors.DialogButton(ctx, t.b, selectors.SendInvite, "Send invite button")
	if err != nil {
		_ = selectors.CancelDialog(ctx, t.b)
		return err
	}
	if err := t.click(ctx, "the Send invite button", send); err != nil {
		return err
	}
	*sent = true
	if err := t.settle(ctx, "inviting "+email, before); err != nil {
		return err
	}
	return waitFor(ctx, t.opts.Step, func() (bool, error) {
		loc, err := t.locate(ctx, email, "invitation")
		return err == nil && loc.Found > 0, err
	})
}

// waitFor polls cond until it holds, fails, or d passes; running out of
// time is not an error here: the caller verifies.
func waitFor(ctx context.Context, d time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return nil
		}
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return err
		}
	}
}
