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
	kind    string // "member" or "invitation"
	noun    string // for messages
	verb    string // for messages: "removing", "revoking the pending invitation of"
	pattern string // the confirm button's name
	control string // the confirm button, for messages
}

var (
	memberRow     = rowKind{"member", "member", "removing", selectors.ConfirmRemove, "Remove button of the confirmation dialog"}
	invitationRow = rowKind{"invitation", "pending invitation", "revoking the pending invitation of", selectors.ConfirmRevoke, "Revoke button of the confirmation dialog"}
)

// errGone means the row was not there when the attempt read the page.
var errGone = errors.New("row not on the page")

// deleteRow removes the row of email: its trash (or revoke) control, the
// confirmation dialog, its confirm button; then it waits for the dialog to
// close and verifies that the row is gone. Every attempt starts from
// locating the row, so a retry never confirms twice: a row that is gone
// after an earlier attempt confirmed counts as removed. It returns errGone
// when the row was absent before anything was confirmed.
func (t *Team) deleteRow(ctx context.Context, b Batch, k rowKind, email, name string, res *Result) error {
	confirmed := false
	err := t.withRetry(ctx, b, k.verb+" "+email, func(ctx context.Context, n int) error {
		loc, err := t.locate(ctx, email, k.kind)
		if err != nil {
			return err
		}
		if loc.Found == 0 {
			if confirmed {
				return nil // an earlier attempt's confirm went through
			}
			return t.confirmGone(ctx, k, email)
		}
		if k.kind == "member" && loc.Row != nil && loc.Row.You {
			return refusal("%s is the signed-in user; the agent never removes its own account", email)
		}
		p, before, err := t.prepareClick(ctx, b, res, loc.Token, "remove", "remove control", email)
		if err != nil {
			return err
		}
		if err := t.click(ctx, "the remove control of "+email, p); err != nil {
			return err
		}
		d, err := t.waitDialog(ctx, "the confirmation dialog for "+email)
		if err != nil {
			return err
		}
		if err := t.confirmDialog(ctx, d, k.pattern, k.control, []string{email, name}, nil); err != nil {
			return err
		}
		confirmed = true
		if err := t.settle(ctx, k.verb+" "+email, before); err != nil {
			return err
		}
		// the row was in view: it must have left the rendered rows (the
		// reload at the end of the run checks the whole list again)
		after, err := selectors.Rendered(ctx, t.b, email, k.kind, t.opts)
		if err != nil {
			if navigatedAway(err) {
				return t.afterNavigation(ctx, err)
			}
			return err
		}
		if after > 0 {
			return t.errorf(agent.ErrNotVerified, "the %s row of %s is still on the page after the confirmation dialog closed", k.noun, email)
		}
		return nil
	})
	if err != nil && confirmed && fatal(err) {
		return fmt.Errorf("%w: %s %s was confirmed, but it could not be verified: %w", agent.ErrNotVerified, k.verb, email, err)
	}
	return err
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

// confirmGone double-checks, with a full read of the list, that a row the
// first read showed is really gone before calling it absent: a row that is
// merely out of view must never be reported as already absent.
func (t *Team) confirmGone(ctx context.Context, k rowKind, email string) error {
	r, err := t.List(ctx, "")
	if err != nil {
		return err
	}
	n := len(r.FindMembers(email))
	if k.kind == "invitation" {
		n = len(r.FindInvitations(email))
	}
	if n > 0 {
		return t.errorf(agent.ErrPageChanged, "the %s row of %s is on the page but could not be brought into view to act on it", k.noun, email)
	}
	return errGone
}
