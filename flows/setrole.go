package flows

import (
	"context"
	"errors"
	"fmt"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/selectors"
)

// SetRole changes a member's role with the row's role dropdown, in either
// form (a native select, or a button that opens a listbox or menu), and
// verifies the row shows the new role. The same role as now is a no-op
// (unchanged). Demoting the signed-in user or the last Admin is refused.
// The error is non-nil only when the run stopped (login required, browser
// gone, cancelled).
func (t *Team) SetRole(ctx context.Context, email string, role roster.Role, b Batch) (Result, error) {
	return t.runOne(ctx, b, email, func(r *roster.Roster, tg target) Result {
		return t.setRoleOne(ctx, b, r, tg, role)
	})
}

func (t *Team) setRoleOne(ctx context.Context, b Batch, r *roster.Roster, tg target, role roster.Role) Result {
	before := tg.state()
	switch {
	case tg.err != nil:
		return failed(tg.email, before, tg.err)
	case b.Policy.CheckDomain(tg.email) != nil:
		return refused(tg.email, before, b.Policy.CheckDomain(tg.email))
	case tg.member == nil:
		msg := "no member with this email"
		if tg.invitation != nil {
			msg += " (there is a pending invitation; revoke it and invite again with the new role)"
		}
		return failed(tg.email, before, fmt.Errorf("%w: %s", ErrNoSuchMember, msg))
	case tg.member.Role == role:
		return Result{Email: tg.email, Action: Unchanged, Detail: "already " + string(role), Before: before}
	}
	if err := checkRoleChange(r, *tg.member, role); err != nil {
		return refused(tg.email, before, err)
	}
	if b.DryRun {
		return Result{Email: tg.email, Action: WouldChangeRole, Detail: fmt.Sprintf("would change %s from %s to %s", tg.member.Name, tg.member.Role, role), Before: before}
	}
	res := Result{Email: tg.email, Before: before}
	err := t.withRetry(ctx, b, "changing the role of "+tg.email, func(ctx context.Context, n int) error {
		return t.changeRole(ctx, b, tg.email, role, &res)
	})
	if err != nil {
		return t.failure(ctx, b, res, err)
	}
	res.Action = RoleChanged
	res.Detail = fmt.Sprintf("changed %s from %s to %s", tg.member.Name, tg.member.Role, role)
	b.evidence(ctx, &res, tg.email, "after")
	return res
}

// ErrNoSuchMember is returned for a role change of an email that is no
// member. Exit code 1.
var ErrNoSuchMember = fmt.Errorf("no such member")

func (t *Team) changeRole(ctx context.Context, b Batch, email string, role roster.Role, res *Result) error {
	loc := selectors.MemberRow(email)
	l, err := t.locate(ctx, loc)
	if err != nil {
		return err
	}
	if l.Found == 0 {
		return fmt.Errorf("%w: a complete scan of the list no longer found %s when the role change started", ErrNoSuchMember, email)
	}
	if roster.CanonicalRole(l.Row.Role) == role {
		return nil // an earlier attempt went through, or someone else did it
	}
	if l.Row.You && roster.CanonicalRole(l.Row.Role) == roster.Admin && role != roster.Admin {
		return refusal("%s is the signed-in user; the agent never demotes its own account", email)
	}
	before := t.toasts(ctx)
	if err := t.pickRole(ctx, loc, role, startOnce(ctx, b, res, email)); err != nil {
		return err
	}
	return t.awaitRole(ctx, loc, role, before)
}

// pickRole chooses role in the role dropdown of the row of loc: a native
// select directly, resolving the row in the same step; a popup by clicking
// it and then the option, each click resolved from the locator and checked
// by the click guard.
func (t *Team) pickRole(ctx context.Context, loc selectors.Locator, role roster.Role, first func() error) error {
	var last error
	for range maxResolves {
		p, err := t.pointRow(ctx, loc, selectors.Role)
		if err != nil {
			return err
		}
		if p.Disabled {
			return refusal("the page disables the role dropdown of %s (the last Admin or your own account)", loc.Email)
		}
		if err := first(); err != nil {
			return err
		}
		if p.Kind == "select" {
			if _, err := selectors.GuardResult(ctx, t.b); err != nil { // no click: disarm
				return err
			}
			ok, err := selectors.SelectRole(ctx, t.b, loc.Email, string(role))
			if err != nil || ok {
				return err
			}
			last = fmt.Errorf("%w: the row of %s left the page while its role was chosen", errMissed, loc.Email)
			continue
		}
		if err := t.clickGuarded(ctx, "the role dropdown of "+loc.Email, p); err != nil {
			if !errors.Is(err, errMissed) {
				return err
			}
			last = err
			continue
		}
		err = t.chooseOption(ctx, loc, role, "the role dropdown of "+loc.Email)
		if err == nil || !errors.Is(err, errMissed) {
			return err
		}
		last = err
	}
	return fmt.Errorf("%w: %w (after %d tries)", agent.ErrTransient, last, maxResolves)
}

// awaitRole waits until the member's row shows role, twice in a row (a
// failure may revert the dropdown a moment later), or the page reports an
// error.
func (t *Team) awaitRole(ctx context.Context, loc selectors.Locator, role roster.Role, toastsBefore []string) error {
	shown := ""
	streak := 0
	ok, err := poll(ctx, t.opts.Step, func() (bool, error) {
		if msgs := t.newToasts(ctx, toastsBefore); len(msgs) > 0 && looksLikeError(msgs) {
			return false, pageError("changing the role of "+loc.Email, msgs)
		}
		l, err := selectors.Rendered(ctx, t.b, loc, t.opts)
		if err == nil && l.Found == 0 {
			l, err = t.locate(ctx, loc)
		}
		if err != nil {
			return false, err
		}
		if l.Found != 1 {
			return false, nil
		}
		shown = l.Row.Role
		if roster.CanonicalRole(shown) != role {
			streak = 0
			return false, nil
		}
		streak++
		return streak >= 2, nil
	})
	if err != nil {
		return err
	}
	if !ok {
		return t.errorf(agent.ErrNotVerified, "the row of %s shows %q, not %s, %s after choosing it", loc.Email, shown, role, t.opts.Step)
	}
	return nil
}
