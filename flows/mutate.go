package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/selectors"
)

// maxResolves bounds how often one action resolves its target again when
// the page re-rendered it between pointing and clicking. Re-resolving never
// reloads the page.
const maxResolves = 6

// errMissed means the click guard stopped a click, or let none through:
// the page re-rendered the target between pointing and clicking. The
// target is resolved again.
var errMissed = errors.New("the click did not land on the target")

// clickGuarded clicks a point the page script armed the click guard for,
// and reports whether the click reached the described control. A click
// the guard stopped is errMissed with the guard's reason.
func (t *Team) clickGuarded(ctx context.Context, what string, p *selectors.Point) error {
	if err := t.b.ClickAt(ctx, what, p.X, p.Y); err != nil {
		return err
	}
	g, err := selectors.GuardResult(ctx, t.b)
	if err != nil {
		return t.explain(ctx, err)
	}
	if !g.OK {
		t.b.Logger().Info("a click was stopped before it reached the page; resolving the target again: " + what + ": " + g.Reason)
		return fmt.Errorf("%w: %w: %s: %s", agent.ErrTransient, errMissed, what, g.Reason)
	}
	return nil
}

// pointRow resolves control c of the row of loc among the rendered rows,
// locating the row (which may scroll or turn pages) when it is not
// rendered. errGone means a complete scan proved the row absent.
func (t *Team) pointRow(ctx context.Context, loc selectors.Locator, c selectors.Control) (*selectors.Point, error) {
	var last error
	for range maxResolves {
		p, err := selectors.PointControl(ctx, t.b, loc, c)
		if err != nil {
			if !errors.Is(err, agent.ErrTransient) || navigatedAway(err) {
				return nil, err
			}
			last = err
			continue
		}
		if !p.NotRendered() {
			return p, nil
		}
		l, err := t.locate(ctx, loc)
		if err != nil {
			return nil, err
		}
		if l.Found == 0 {
			return nil, errGone
		}
	}
	if last == nil {
		last = errors.New("the row kept leaving the page")
	}
	return nil, fmt.Errorf("%w: %s: %d tries: %w", agent.ErrTransient, loc, maxResolves, last)
}

// clickRow clicks control c of the row of loc: resolved again before every
// try, checked by the click guard when the click happens, and resolved
// again (at most maxResolves times) when the page re-rendered the row in
// between. first runs once, before the first click. A disabled control is
// returned unclicked with Disabled set.
func (t *Team) clickRow(ctx context.Context, loc selectors.Locator, c selectors.Control, what string, first func() error) (*selectors.Point, error) {
	var last error
	for range maxResolves {
		p, err := t.pointRow(ctx, loc, c)
		if err != nil || p.Disabled {
			return p, err
		}
		if first != nil {
			if err := first(); err != nil {
				return nil, err
			}
			first = nil
		}
		err = t.clickGuarded(ctx, what, p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, errMissed) {
			return nil, err
		}
		last = err
	}
	return nil, fmt.Errorf("%w: %w (after %d tries)", agent.ErrTransient, last, maxResolves)
}

// waitPopup waits for a listbox or menu to open after a click.
func (t *Team) waitPopup(ctx context.Context, what string) error {
	ok, err := poll(ctx, t.opts.Step, func() (bool, error) { return selectors.PopupOpen(ctx, t.b) })
	if err != nil {
		return err
	}
	if !ok {
		return t.errorf(agent.ErrPageChanged, "%s opened no listbox or menu within %s", what, t.opts.Step)
	}
	return nil
}

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

// explain returns err, or, when the evaluation failed because the page
// navigated, what the navigation means (see afterNavigation).
func (t *Team) explain(ctx context.Context, err error) error {
	if navigatedAway(err) {
		return t.afterNavigation(ctx, err)
	}
	return err
}

// afterNavigation explains an evaluation that failed because the page
// navigated: a login page means the session expired.
func (t *Team) afterNavigation(ctx context.Context, cause error) error {
	_ = sleepCtx(ctx, 200*time.Millisecond)
	if err := t.checkLogin(ctx); err != nil {
		return err
	}
	return fmt.Errorf("%w: the page navigated unexpectedly: %v", agent.ErrTransient, cause)
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

func (t *Team) toasts(ctx context.Context) []string {
	msgs, err := selectors.Toasts(ctx, t.b)
	if err != nil {
		return nil
	}
	return msgs
}

func (t *Team) newToasts(ctx context.Context, before []string) []string {
	var out []string
	for _, m := range t.toasts(ctx) {
		if !slices.Contains(before, m) {
			out = append(out, m)
		}
	}
	return out
}

// looksLikeError tells an error toast from a success one ("Member
// removed").
func looksLikeError(msgs []string) bool {
	for _, m := range msgs {
		l := strings.ToLower(m)
		for _, w := range []string{"error", "failed", "could not", "couldn't", "cannot", "can't", "unable", "wrong", "denied", "not allowed", "forbidden", "must", "needs at least", "try again", "no seats", "already"} {
			if strings.Contains(l, w) {
				return true
			}
		}
	}
	return false
}

func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// locate finds the row of loc, with the retry for a page that navigated
// under the script. Found is 0 only after a complete scan from the start
// of the list found no such row.
func (t *Team) locate(ctx context.Context, loc selectors.Locator) (*selectors.Located, error) {
	if err := t.ensure(ctx); err != nil {
		return nil, err
	}
	var l *selectors.Located
	err := t.retryNavigated(ctx, func() error {
		var err error
		l, err = selectors.Locate(ctx, t.b, loc, t.opts)
		return err
	})
	return l, err
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

func isEmailRune(r rune) bool {
	return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._%+-@", r))
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// mentions reports whether text holds s, ignoring case, with no part char
// right before or after it.
func mentions(text, s string, part func(rune) bool) bool {
	if s == "" {
		return false
	}
	lt, ls := []rune(strings.ToLower(text)), []rune(strings.ToLower(s))
	for i := 0; i+len(ls) <= len(lt); i++ {
		if !slices.Equal(lt[i:i+len(ls)], ls) {
			continue
		}
		before := i == 0 || !part(lt[i-1])
		after := i+len(ls) == len(lt) || !part(lt[i+len(ls)])
		if part(ls[len(ls)-1]) && i+len(ls) < len(lt) && lt[i+len(ls)] == '.' && i+len(ls)+1 < len(lt) && part(lt[i+len(ls)+1]) {
			after = false // "ann@acme.test" inside "ann@acme.test.org"
		}
		if before && after {
			return true
		}
	}
	return false
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

// startOnce returns the function that, before the first click on a
// target, records its start and a "before" screenshot. A start that
// cannot be recorded is an error: nothing is clicked.
func startOnce(ctx context.Context, b Batch, res *Result, email string) func() error {
	return func() error {
		if !res.Clicked {
			if err := b.start(email); err != nil {
				return err
			}
			b.evidence(ctx, res, email, "before")
		}
		res.Clicked = true
		return nil
	}
}
