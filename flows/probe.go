package flows

import (
	"context"
	"errors"
	"fmt"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/selectors"
)

// ProbeControl names a control of the Team page that a flow needs. Its
// value is short and stable: it labels metrics.
type ProbeControl string

// The controls a probe checks.
const (
	ProbeList        ProbeControl = "list"
	ProbeInvite      ProbeControl = "invite"
	ProbeInviteEmail ProbeControl = "invite-email"
	ProbeInviteRole  ProbeControl = "invite-role"
	ProbeSendInvite  ProbeControl = "send-invite"
	ProbeRole        ProbeControl = "role"
	ProbeRemove      ProbeControl = "remove"
	ProbeRemoveItem  ProbeControl = "remove-item"
	ProbeRevoke      ProbeControl = "revoke"
	ProbeRevokeItem  ProbeControl = "revoke-item"
)

// ProbeControls lists every control a probe may check, in its order.
var ProbeControls = []ProbeControl{ProbeList, ProbeInvite, ProbeInviteEmail, ProbeInviteRole, ProbeSendInvite,
	ProbeRole, ProbeRemove, ProbeRemoveItem, ProbeRevoke, ProbeRevokeItem}

// Label is the control in words.
func (c ProbeControl) Label() string {
	switch c {
	case ProbeList:
		return "the member list (heading and a complete scan)"
	case ProbeInvite:
		return "the + Invite button"
	case ProbeInviteEmail:
		return "the invite dialog's email field"
	case ProbeInviteRole:
		return "the invite dialog's role dropdown"
	case ProbeSendInvite:
		return "the invite dialog's Send invite button"
	case ProbeRole:
		return "a member row's role dropdown"
	case ProbeRemove:
		return "a member row's remove control"
	case ProbeRemoveItem:
		return "the Remove item of a member's actions menu"
	case ProbeRevoke:
		return "an invitation row's revoke control"
	case ProbeRevokeItem:
		return "the Revoke item of an invitation's actions menu"
	}
	return string(c)
}

// Check is what a probe found of one control.
type Check struct {
	Control ProbeControl `json:"control"`
	// Found is whether the control was identified by its hooks.
	Found bool `json:"found"`
	// Hook names what identified it (text, ARIA name, title, icon,
	// structure).
	Hook string `json:"hook"`
	// Unique is whether exactly one control matched.
	Unique bool `json:"unique"`
	// Skipped is set when the page gave nothing to check (no member but
	// the signed-in user, no pending invitation, an invite dialog without
	// a role dropdown).
	Skipped bool `json:"skipped"`
	// Detail says where it was checked, or what was wrong.
	Detail string `json:"detail"`
}

// OK reports whether a flow can rely on the control.
func (c Check) OK() bool { return c.Skipped || (c.Found && c.Unique) }

// Probe is the outcome of Team.Probe.
type Probe struct {
	Checks []Check `json:"checks"`
	// Members and Invitations count what the complete scan read.
	Members     int `json:"members"`
	Invitations int `json:"invitations"`
}

// Drift lists the controls a flow needs that are missing or ambiguous.
func (p *Probe) Drift() []ProbeControl {
	var out []ProbeControl
	for _, c := range p.Checks {
		if !c.OK() {
			out = append(out, c.Control)
		}
	}
	return out
}

// ErrDrift means a control a flow needs is missing or ambiguous on the
// live page. It wraps agent.ErrPageChanged (exit 4).
var ErrDrift = fmt.Errorf("%w: controls the flows need are missing or ambiguous", agent.ErrPageChanged)

// Probe proves, on the live page and without a destructive click, every
// control the flows need: the heading and a complete scan of the list;
// the + Invite button, and in its dialog the email field, the role
// dropdown and Send invite (the dialog is then closed with Cancel or
// Escape); for one member row that is not the signed-in user its role
// dropdown (a popup is opened and closed, selecting nothing, with Escape,
// a click on an empty spot or its trigger: whichever the page honours)
// and its remove control (an actions menu is opened, its Remove item
// found, and closed); for one pending invitation, its revoke control.
//
// A missing or ambiguous control is a failed Check, not an error. The
// error is for a probe that could not go on: signed out, the browser gone,
// cancelled.
func (t *Team) Probe(ctx context.Context) (*Probe, error) {
	p := &Probe{}
	r, err := t.List(ctx, "")
	if err != nil {
		if stops(err) {
			return nil, err
		}
		p.Checks = append(p.Checks, Check{Control: ProbeList, Detail: err.Error()})
		return p, nil
	}
	p.Members, p.Invitations = len(r.Members), len(r.Invitations)
	p.Checks = append(p.Checks, Check{Control: ProbeList, Found: true, Unique: true, Hook: "heading and complete scan",
		Detail: fmt.Sprintf("%d members, %d pending invitations", p.Members, p.Invitations)})
	for _, step := range []func(context.Context, *roster.Roster) ([]Check, error){t.probeInvite, t.probeMember, t.probeInvitation} {
		cs, err := step(ctx, r)
		if err != nil {
			return nil, err
		}
		p.Checks = append(p.Checks, cs...)
	}
	return p, nil
}

// hookCheck turns what the page script found into a Check.
func hookCheck(c ProbeControl, h *selectors.Hook, where string) Check {
	out := Check{Control: c, Found: h.Found, Hook: h.Hook, Unique: h.Found && h.Count == 1, Detail: where}
	switch {
	case !h.Found && h.Message != "":
		out.Detail = h.Message
	case !h.Found:
		out.Detail = "not found " + where
	case h.Count > 1:
		out.Detail = fmt.Sprintf("%d controls match %s", h.Count, where)
	case h.Disabled:
		out.Detail += " (disabled there)"
	}
	return out
}

// failed is a Check for a control that could not be probed because of err.
func failedCheck(c ProbeControl, err error) Check { return Check{Control: c, Detail: err.Error()} }

func (t *Team) probeInvite(ctx context.Context, _ *roster.Roster) ([]Check, error) {
	h, err := selectors.ProbeInvite(ctx, t.b)
	if err != nil {
		return nil, t.explain(ctx, err)
	}
	button := hookCheck(ProbeInvite, &h.Button, "on the Team page")
	if !button.OK() {
		return []Check{button, failedCheck(ProbeInviteEmail, errors.New("not checked: the invite dialog could not be opened"))}, nil
	}
	err = t.clickPage(ctx, "the \"+ Invite\" button", func() (*selectors.Point, error) { return selectors.InviteButton(ctx, t.b) })
	if err == nil {
		_, err = t.waitDialog(ctx, "the invite dialog")
	}
	if err != nil {
		if stops(err) {
			return nil, err
		}
		return []Check{button, failedCheck(ProbeInviteEmail, err)}, nil
	}
	h, err = selectors.ProbeInvite(ctx, t.b)
	closeErr := t.closeDialog(ctx)
	if err != nil {
		return nil, t.explain(ctx, err)
	}
	out := []Check{button}
	if h.Email != nil {
		out = append(out, hookCheck(ProbeInviteEmail, h.Email, "in the invite dialog"))
	}
	if h.Role != nil {
		role := hookCheck(ProbeInviteRole, h.Role, "in the invite dialog")
		if !h.Role.Found {
			role = Check{Control: ProbeInviteRole, Skipped: true, Detail: "the invite dialog has no role dropdown: invitations go out as Editor"}
		}
		out = append(out, role)
	}
	if h.Send != nil {
		out = append(out, hookCheck(ProbeSendInvite, h.Send, "in the invite dialog"))
	}
	if closeErr != nil {
		if stops(closeErr) {
			return nil, closeErr
		}
		out = append(out, failedCheck(ProbeInvite, closeErr))
	}
	return out, nil
}

// closeDialog closes the open dialog with Cancel or Escape and waits until
// it is gone.
func (t *Team) closeDialog(ctx context.Context) error {
	if err := selectors.CancelDialog(ctx, t.b); err != nil {
		return t.explain(ctx, err)
	}
	closed, err := poll(ctx, t.opts.Step, func() (bool, error) {
		d, err := selectors.DialogState(ctx, t.b)
		if err != nil {
			return false, t.explain(ctx, err)
		}
		return !d.Open, nil
	})
	if err != nil {
		return err
	}
	if !closed {
		return t.errorf(agent.ErrPageChanged, "the dialog did not close with Cancel or Escape within %s", t.opts.Step)
	}
	return nil
}

func (t *Team) probeMember(ctx context.Context, r *roster.Roster) ([]Check, error) {
	var email string
	for _, m := range r.Members {
		if !m.You {
			email = m.Email
			break
		}
	}
	if email == "" {
		skip := "no member but the signed-in user to check it on"
		return []Check{{Control: ProbeRole, Skipped: true, Detail: skip}, {Control: ProbeRemove, Skipped: true, Detail: skip}}, nil
	}
	loc := selectors.MemberRow(email)
	hooks, err := t.probeRow(ctx, loc)
	if err != nil {
		if stops(err) {
			return nil, err
		}
		return []Check{failedCheck(ProbeRole, err), failedCheck(ProbeRemove, err)}, nil
	}
	where := "in the row of " + email
	role := hookCheck(ProbeRole, &hooks.Role, where)
	var out []Check
	if role.OK() && hooks.Role.Kind == "popup" && !hooks.Role.Disabled {
		if _, g, err := t.openAndClose(ctx, loc, selectors.Role, "", "the role dropdown of "+email); err != nil {
			if stops(err) {
				return nil, err
			}
			role = failedCheck(ProbeRole, err)
		} else {
			role.Detail += "; opened and closed with " + g.String() + ", nothing selected"
		}
	}
	out = append(out, role)
	remove := hookCheck(ProbeRemove, &hooks.Remove, where)
	if hooks.Remove.Menu {
		remove.Detail += " (an actions menu)"
	}
	out = append(out, remove)
	if remove.OK() && hooks.Remove.Menu && !hooks.Remove.Disabled {
		out = append(out, t.probeMenuItem(ctx, loc, ProbeRemoveItem, selectors.MenuRemove, "the actions menu of "+email))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (t *Team) probeInvitation(ctx context.Context, r *roster.Roster) ([]Check, error) {
	if len(r.Invitations) == 0 {
		return []Check{{Control: ProbeRevoke, Skipped: true, Detail: "no pending invitation to check it on"}}, nil
	}
	email := r.Invitations[0].Email
	loc := selectors.InvitationRow(email)
	hooks, err := t.probeRow(ctx, loc)
	if err != nil {
		if stops(err) {
			return nil, err
		}
		return []Check{failedCheck(ProbeRevoke, err)}, nil
	}
	revoke := hookCheck(ProbeRevoke, &hooks.Remove, "in the invitation row of "+email)
	if hooks.Remove.Menu {
		revoke.Detail += " (an actions menu)"
	}
	out := []Check{revoke}
	if revoke.OK() && hooks.Remove.Menu && !hooks.Remove.Disabled {
		out = append(out, t.probeMenuItem(ctx, loc, ProbeRevokeItem, selectors.MenuRevoke, "the actions menu of the invitation for "+email))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// probeRow brings the row of loc into view and describes its controls.
func (t *Team) probeRow(ctx context.Context, loc selectors.Locator) (*selectors.RowHooks, error) {
	for range maxResolves {
		l, err := t.locate(ctx, loc)
		if err != nil {
			return nil, err
		}
		if l.Found == 0 {
			return nil, t.errorf(agent.ErrPageChanged, "%s left the list while it was probed", loc)
		}
		h, err := selectors.ProbeRow(ctx, t.b, loc)
		if err != nil {
			return nil, t.explain(ctx, err)
		}
		if h.Rendered {
			return h, nil
		}
	}
	return nil, fmt.Errorf("%w: %s kept leaving the page while it was probed", agent.ErrTransient, loc)
}

// probeMenuItem opens the actions menu of the row of loc, finds the item
// matching pattern without clicking it, and closes the menu (see
// closePopup).
func (t *Team) probeMenuItem(ctx context.Context, loc selectors.Locator, c ProbeControl, pattern selectors.Pattern, what string) Check {
	item, g, err := t.openAndClose(ctx, loc, selectors.Remove, pattern, what)
	if err != nil {
		return failedCheck(c, err)
	}
	ch := hookCheck(c, item, "in "+what)
	ch.Detail += "; opened and closed with " + g.String()
	return ch
}

// openAndClose clicks control c of the row of loc (a role dropdown that
// opens a list, or an actions menu), waits for the list, describes the
// item matching pattern when one is given, and closes the list with the
// first gesture the page honours (see closePopup), checking that it closed
// and that nothing was chosen. It never clicks an item. It returns the
// gesture that closed the list.
func (t *Team) openAndClose(ctx context.Context, loc selectors.Locator, c selectors.Control, pattern selectors.Pattern, what string) (*selectors.Hook, CloseGesture, error) {
	before, err := selectors.Rendered(ctx, t.b, loc, t.opts)
	if err != nil {
		return nil, 0, t.explain(ctx, err)
	}
	if _, err := t.clickRow(ctx, loc, c, what, nil); err != nil {
		return nil, 0, err
	}
	if err := t.waitPopup(ctx, what); err != nil {
		return nil, 0, err
	}
	var item *selectors.Hook
	var itemErr error
	if pattern != "" {
		item, itemErr = selectors.ProbeItem(ctx, t.b, pattern)
	}
	g, err := t.closePopup(ctx, loc, c, what)
	if err != nil {
		return nil, g, err
	}
	if itemErr != nil {
		return nil, g, t.explain(ctx, itemErr)
	}
	after, err := selectors.Rendered(ctx, t.b, loc, t.opts)
	if err != nil {
		return nil, g, t.explain(ctx, err)
	}
	if before.Row != nil && after.Row != nil && before.Row.Role != after.Row.Role {
		return nil, g, t.errorf(agent.ErrPageChanged, "%s changed the row's role from %s to %s although nothing was chosen", what, before.Row.Role, after.Row.Role)
	}
	return item, g, nil
}
