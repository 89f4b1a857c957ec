package flows

import (
	"context"
	"fmt"
	"strings"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/selectors"
)

// waitDialog waits for a dialog to open after a click. A dialog that does
// not open within the step timeout is an error wrapping
// agent.ErrPageChanged: the contract promised one.
func (t *Team) waitDialog(ctx context.Context, what string) (*selectors.Dialog, error) {
	var d *selectors.Dialog
	ok, err := poll(ctx, t.opts.Step, func() (bool, error) {
		var err error
		d, err = selectors.DialogState(ctx, t.b)
		if err != nil {
			return false, t.explain(ctx, err)
		}
		return d.Open, nil
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, t.errorf(agent.ErrPageChanged, "%s did not open within %s after the click", what, t.opts.Step)
	}
	return d, nil
}

// settle waits for the page to finish what a confirm click started: the
// dialog closes (done), or shows an error (which is read and returned
// after cancelling the dialog), or the page turns into a login page. A
// dialog that stays open without a word is an error wrapping
// agent.ErrNotVerified.
func (t *Team) settle(ctx context.Context, what string, toastsBefore []string) error {
	var d *selectors.Dialog
	var outcome error
	// the click needs a moment to take effect before the first look
	if err := sleepCtx(ctx, pollEvery); err != nil {
		return err
	}
	done, err := poll(ctx, t.opts.Step, func() (bool, error) {
		var err error
		d, err = selectors.DialogState(ctx, t.b)
		if err != nil {
			return false, t.explain(ctx, err)
		}
		if info, ierr := selectors.Info(ctx, t.b); ierr == nil && info.Login {
			return false, &selectors.LoginError{URL: info.URL}
		}
		if d.Open && len(d.Errors) > 0 {
			_ = selectors.CancelDialog(ctx, t.b)
			outcome = pageError(what, d.Errors)
			return true, nil
		}
		if !d.Open {
			if msgs := t.newToasts(ctx, toastsBefore); len(msgs) > 0 && looksLikeError(msgs) {
				outcome = pageError(what, msgs)
			}
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if !done {
		text := ""
		if d != nil {
			text = d.Text
		}
		_ = selectors.CancelDialog(ctx, t.b)
		return t.errorf(agent.ErrNotVerified, "%s: the dialog did not close within %s after confirming (it says: %q)", what, t.opts.Step, trim(text, 200))
	}
	return outcome
}

// whom is who a confirmation dialog may name: the target, and everyone
// else on the page.
type whom struct {
	email, name string
	// others are the emails and names of every other row.
	others []string
}

// named returns the first other person the dialog text names, if any. An
// email counts when the text holds it as a whole address; a name when the
// text holds it as whole words and it is not part of the target's own
// name.
func (w whom) named(text string) string {
	for _, o := range w.others {
		if o == "" || strings.EqualFold(o, w.email) || strings.EqualFold(o, w.name) {
			continue
		}
		if strings.Contains(o, "@") {
			if mentions(text, o, isEmailRune) {
				return o
			}
			continue
		}
		if len([]rune(o)) < 3 || (w.name != "" && mentions(w.name, o, isWordRune)) {
			continue
		}
		if mentions(text, o, isWordRune) {
			return o
		}
	}
	return ""
}

// namesTarget reports whether text names the target by email or name.
func (w whom) namesTarget(text string) bool {
	return mentions(text, w.email, isEmailRune) || (w.name != "" && mentions(text, w.name, isWordRune))
}

// confirmDialog checks whom the open confirmation dialog is about and
// clicks its confirm button. A dialog that names someone else is
// cancelled and nothing else is clicked (agent.ErrPageChanged). A dialog
// that names nobody is confirmed only when the target's row is still on
// the page.
func (t *Team) confirmDialog(ctx context.Context, d *selectors.Dialog, loc selectors.Locator, k rowKind, w whom) error {
	if other := w.named(d.Text); other != "" {
		_ = selectors.CancelDialog(ctx, t.b)
		return t.errorf(agent.ErrPageChanged, "the confirmation dialog names %s, not %s (%q); it was cancelled and nothing was confirmed", other, w.email, trim(d.Text, 200))
	}
	if !w.namesTarget(d.Text) {
		l, err := selectors.Rendered(ctx, t.b, loc, t.opts)
		if err != nil || l.Found != 1 {
			_ = selectors.CancelDialog(ctx, t.b)
			if err != nil {
				return err
			}
			return fmt.Errorf("%w: the confirmation dialog names nobody and %s is no longer on the page; it was cancelled", agent.ErrTransient, loc)
		}
	}
	p, err := selectors.DialogButton(ctx, t.b, k.pattern, k.control)
	if err != nil {
		_ = selectors.CancelDialog(ctx, t.b)
		return err
	}
	if err := t.clickGuarded(ctx, "the "+k.control, p); err != nil {
		_ = selectors.CancelDialog(ctx, t.b)
		return err
	}
	return nil
}

// whomFor lists who a confirmation dialog for email may name: the target
// (by email and name) and everyone else the page showed.
func whomFor(r *roster.Roster, email, name string) whom {
	w := whom{email: email, name: name}
	if r == nil {
		return w
	}
	for _, m := range r.Members {
		if !roster.SameEmail(m.Email, email) {
			w.others = append(w.others, m.Email, m.Name)
		}
	}
	for _, i := range r.Invitations {
		if !roster.SameEmail(i.Email, email) {
			w.others = append(w.others, i.Email)
		}
	}
	return w
}
