package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/selectors"
)

// pollEvery is how often a flow looks at the page while waiting for it to
// react to a click.
const pollEvery = 40 * time.Millisecond

// click clicks a control the page script pointed at.
func (t *Team) click(ctx context.Context, what string, p *selectors.Point) error {
	return t.b.ClickAt(ctx, what, p.X, p.Y)
}

// waitDialog waits for a dialog to open after a click. A dialog that does
// not open within the step timeout is an error wrapping
// agent.ErrPageChanged: the contract promised one.
func (t *Team) waitDialog(ctx context.Context, what string) (*selectors.Dialog, error) {
	deadline := time.Now().Add(t.opts.Step)
	for {
		d, err := selectors.DialogState(ctx, t.b)
		if err != nil {
			if navigatedAway(err) {
				return nil, t.afterNavigation(ctx, err)
			}
			return nil, err
		}
		if d.Open {
			return d, nil
		}
		if time.Now().After(deadline) {
			return nil, t.errorf(agent.ErrPageChanged, "%s did not open within %s after the click", what, t.opts.Step)
		}
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return nil, err
		}
	}
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
// dialog closes (done), or shows an error (which is read and returned), or
// the page turns into a login page. A dialog that stays open without a
// word is an error wrapping agent.ErrNotVerified.
func (t *Team) settle(ctx context.Context, what string, toastsBefore []string) error {
	deadline := time.Now().Add(t.opts.Step)
	for {
		if err := sleepCtx(ctx, pollEvery); err != nil {
			return err
		}
		d, err := selectors.DialogState(ctx, t.b)
		if err != nil {
			if navigatedAway(err) {
				return t.afterNavigation(ctx, err)
			}
			return err
		}
		if info, ierr := selectors.Info(ctx, t.b); ierr == nil && info.Login {
			return &selectors.LoginError{URL: info.URL}
		}
		if d.Open && len(d.Errors) > 0 {
			_ = selectors.CancelDialog(ctx, t.b)
			return pageError(what, d.Errors)
		}
		if !d.Open {
			if msgs := t.newToasts(ctx, toastsBefore); len(msgs) > 0 && looksLikeError(msgs) {
				return pageError(what, msgs)
			}
			return nil
		}
		if time.Now().After(deadline) {
			text := d.Text
			_ = selectors.CancelDialog(ctx, t.b)
			return t.errorf(agent.ErrNotVerified, "%s: the dialog did not close within %s after confirming (it says: %q)", what, t.opts.Step, trim(text, 200))
		}
	}
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

// locate finds the row of email (kind "member" or "invitation") with the
// retry for a page that navigated under the script.
func (t *Team) locate(ctx context.Context, email, kind string) (*selectors.Located, error) {
	if err := t.ensure(ctx); err != nil {
		return nil, err
	}
	var loc *selectors.Located
	err := t.retryNavigated(ctx, func() error {
		var err error
		loc, err = selectors.Locate(ctx, t.b, email, kind, t.opts)
		return err
	})
	return loc, err
}

// confirmDialog checks that the open confirmation dialog is about the
// target and clicks its confirm button.
func (t *Team) confirmDialog(ctx context.Context, d *selectors.Dialog, pattern, control string, mentions []string, others []string) error {
	text := strings.ToLower(d.Text)
	for _, o := range others {
		if o != "" && strings.Contains(text, strings.ToLower(o)) && !containsAny(text, mentions) {
			_ = selectors.CancelDialog(ctx, t.b)
			return t.errorf(agent.ErrPageChanged, "the confirmation dialog names %s, not the target (%q); nothing was confirmed", o, trim(d.Text, 200))
		}
	}
	p, err := selectors.DialogButton(ctx, t.b, pattern, control)
	if err != nil {
		_ = selectors.CancelDialog(ctx, t.b)
		return err
	}
	return t.click(ctx, control, p)
}

func containsAny(text string, words []string) bool {
	for _, w := range words {
		if w != "" && strings.Contains(text, strings.ToLower(w)) {
			return true
		}
	}
	return false
}

// prepareClick points at a row control ("remove" or "role") and, before
// the first click on the target, records the start and a "before"
// screenshot. A control the page disabled is refused. It returns the point
// and the messages shown before the click, so that only new ones count.
func (t *Team) prepareClick(ctx context.Context, b Batch, res *Result, token, control, what, email string) (*selectors.Point, []string, error) {
	p, err := selectors.RowControl(ctx, t.b, token, control)
	if err != nil {
		return nil, nil, err
	}
	if p.Disabled {
		return nil, nil, refusal("the page disables the %s of %s (the last Admin or your own account)", what, email)
	}
	before := t.toasts(ctx)
	if !res.Clicked {
		b.start(email)
		b.evidence(ctx, res, email, "before")
	}
	res.Clicked = true
	return p, before, nil
}
