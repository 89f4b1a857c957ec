package flows

import (
	"context"
	"fmt"
	"time"

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
	loc, err := t.locate(ctx, email, "member")
	if err != nil {
		return err
	}
	if loc.Found == 0 {
		return fmt.Errorf("%w: %s left the page before its role could be changed", ErrNoSuchMember, email)
	}
	if roster.CanonicalRole(loc.Row.Role) == role {
		return nil // an earlier attempt went through, or someone else did it
	}
	if loc.Row.You && roster.CanonicalRole(loc.Row.Role) == roster.Admin && role != roster.Admin {
		return refusal("%s is the signed-in user; the agent never demotes its own account", email)
	}
	p, before, err := t.prepareClick(ctx, b, res, loc.Token, "role", "role dropdown", email)
	if err != nil {
		return err
	}
	if err := t.chooseRole(ctx, p.Kind, loc.Token, p, role, "the role dropdown of "+email); err != nil {
		return err
	}
	return t.awaitRole(ctx, email, role, before)
}

// chooseRole picks role in a role dropdown: a native select directly, a
// popup by opening it and clicking the option.
func (t *Team) chooseRole(ctx context.Context, kind, rowToken string, p *selectors.Point, role roster.Role, what string) error {
	if kind == "select" {
		if rowToken != "" {
			return selectors.SelectRole(ctx, t.b, rowToken, string(role))
		}
		return selectors.SelectByToken(ctx, t.b, p.Token, string(role))
	}
	if err := t.click(ctx, what, p); err != nil {
		return err
	}
	deadline := time.Now().Add(t.opts.Step)
	for {
		open, err := selectors.PopupOpen(ctx, t.b)
		if err != nil {
			return err
		}
		if open {
			break
		}
		if time.Now().After(deadline) {
			return t.errorf(agent.ErrPageChanged, "%s opened no listbox or menu within %s", what, t.opts.Step)
		}
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return err
		}
	}
	opt, err := selectors.PopupOption(ctx, t.b, string(role))
	if err != nil {
		_ = t.b.PressKey(ctx, "Escape")
		return err
	}
	return t.click(ctx, "the option "+string(role), opt)
}

// awaitRole waits until the member's row shows role, or the page reports
// an error.
func (t *Team) awaitRole(ctx context.Context, email string, role roster.Role, toastsBefore []string) error {
	deadline := time.Now().Add(t.opts.Step)
	for {
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return err
		}
		if msgs := t.newToasts(ctx, toastsBefore); len(msgs) > 0 && looksLikeError(msgs) {
			return pageError("changing the role of "+email, msgs)
		}
		loc, err := t.locate(ctx, email, "member")
		if err != nil {
			return err
		}
		if loc.Found == 1 && roster.CanonicalRole(loc.Row.Role) == role {
			// a failure may revert the dropdown a moment later
			if err := sleepCtx(ctx, 2*pollEvery); err != nil {
				return err
			}
			if msgs := t.newToasts(ctx, toastsBefore); len(msgs) > 0 && looksLikeError(msgs) {
				return pageError("changing the role of "+email, msgs)
			}
			again, err := t.locate(ctx, email, "member")
			if err != nil {
				return err
			}
			if again.Found == 1 && roster.CanonicalRole(again.Row.Role) == role {
				return nil
			}
		}
		if time.Now().After(deadline) {
			shown := ""
			if loc.Found == 1 {
				shown = loc.Row.Role
			}
			return t.errorf(agent.ErrNotVerified, "the row of %s shows %q, not %s, %s after choosing it", email, shown, role, t.opts.Step)
		}
	}
}
