package flows

import (
	"context"
	"errors"
	"fmt"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/selectors"
)

// rowKind describes one kind of row a deletion targets.
type rowKind struct {
	kind     selectors.Kind
	noun     string            // for messages
	verb     string            // for messages: "removing", "revoking the pending invitation of"
	pattern  selectors.Pattern // the confirm button's name
	control  string            // the confirm button, for messages
	menuItem selectors.Pattern // the item of an actions menu
}

var (
	memberRow     = rowKind{selectors.Member, "member", "removing", selectors.ConfirmRemove, "Remove button of the confirmation dialog", selectors.MenuRemove}
	invitationRow = rowKind{selectors.Invitation, "pending invitation", "revoking the pending invitation of", selectors.ConfirmRevoke, "Revoke button of the confirmation dialog", selectors.MenuRevoke}
)

func (k rowKind) locator(email string) selectors.Locator {
	return selectors.Locator{Kind: k.kind, Email: email}
}

// errGone means a complete scan of the list, from its start to its proven
// end, found no row for the target before anything was confirmed.
var errGone = errors.New("row not on the page")

// deleteRow removes the row of email: its trash (or revoke) control, or
// the Remove item of its actions menu; the confirmation dialog, checked to
// be about the target; its confirm button; then it waits for the dialog to
// close and for the row to leave the page. Every attempt starts by
// locating the row, so a retry never confirms twice: a row that is gone
// after an earlier attempt confirmed counts as removed. It returns errGone
// when a complete scan found the row absent before anything was confirmed.
func (t *Team) deleteRow(ctx context.Context, b Batch, k rowKind, w whom, res *Result) error {
	loc := k.locator(w.email)
	confirmed := false
	err := t.withRetry(ctx, b, k.verb+" "+w.email, func(ctx context.Context, n int) error {
		l, err := t.locate(ctx, loc)
		if err != nil {
			return err
		}
		if l.Found == 0 {
			if confirmed {
				return nil // an earlier attempt's confirm went through
			}
			return errGone
		}
		if k.kind == selectors.Member && l.Row != nil && l.Row.You {
			return refusal("%s is the signed-in user; the agent never removes its own account", w.email)
		}
		before := t.toasts(ctx)
		if err := t.openConfirm(ctx, b, k, loc, res); err != nil {
			if errors.Is(err, errGone) && confirmed {
				return nil
			}
			return err
		}
		d, err := t.waitDialog(ctx, "the confirmation dialog for "+w.email)
		if err != nil {
			return err
		}
		if err := t.confirmDialog(ctx, d, loc, k, w); err != nil {
			return err
		}
		confirmed = true
		if err := t.settle(ctx, k.verb+" "+w.email, before); err != nil {
			return err
		}
		// the row was in view: it must leave the rendered rows (the reload
		// at the end of the run checks the whole list again)
		gone, err := poll(ctx, t.opts.Step, func() (bool, error) {
			after, err := selectors.Rendered(ctx, t.b, loc, t.opts)
			if err != nil {
				return false, t.explain(ctx, err)
			}
			return after.Found == 0, nil
		})
		if err != nil {
			return err
		}
		if !gone {
			return t.errorf(agent.ErrNotVerified, "the %s row of %s is still on the page %s after the confirmation dialog closed", k.noun, w.email, t.opts.Step)
		}
		return nil
	})
	if err != nil && confirmed && fatal(err) {
		return fmt.Errorf("%w: %s %s was confirmed, but it could not be verified: %w", agent.ErrNotVerified, k.verb, w.email, err)
	}
	return err
}

// openConfirm clicks the row's remove control, or opens its actions menu
// and clicks the menu's Remove item, so that the confirmation dialog
// opens. Each click is resolved from the locator and checked by the click
// guard; a menu whose item click missed is opened again.
func (t *Team) openConfirm(ctx context.Context, b Batch, k rowKind, loc selectors.Locator, res *Result) error {
	var last error
	for range maxResolves {
		p, err := t.clickRow(ctx, loc, selectors.Remove, "the remove control of "+loc.Email, startOnce(ctx, b, res, loc.Email))
		if err != nil {
			return err
		}
		if p.Disabled {
			return refusal("the page disables the remove control of %s (the last Admin or your own account)", loc.Email)
		}
		if !p.Menu {
			return nil
		}
		if err := t.waitPopup(ctx, "the actions menu of "+loc.Email); err != nil {
			return err
		}
		item, err := selectors.PopupItem(ctx, t.b, loc, k.menuItem, "Remove item of the actions menu")
		if err != nil {
			return t.closeAfter(ctx, loc, selectors.Remove, "the actions menu of "+loc.Email, err)
		}
		err = t.clickGuarded(ctx, "the Remove item of the actions menu of "+loc.Email, item)
		if err == nil {
			return nil
		}
		if err := t.closeAfter(ctx, loc, selectors.Remove, "the actions menu of "+loc.Email, err); !errors.Is(err, errMissed) {
			return err
		}
		last = err
	}
	return fmt.Errorf("%w: %w (after %d tries)", agent.ErrTransient, last, maxResolves)
}

// finishDelete turns deleteRow's error into the result's action.
func finishDelete(res *Result, done, absent Action, err error) error {
	switch {
	case err == nil:
		res.Action = done
		return nil
	case errors.Is(err, errGone):
		res.Action = absent
		return nil
	}
	return err
}
