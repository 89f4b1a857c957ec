package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/selectors"
)

// CloseGesture is a way of closing an open listbox or menu. Pages differ in
// which they honour: Escape, a click outside the popup, or a second click
// of the control that opened it.
type CloseGesture int32

// The gestures, in the order they are first tried.
const (
	// CloseEscape presses Escape.
	CloseEscape CloseGesture = iota
	// CloseOutside clicks a point the click guard proves inert: on no
	// control or field, in no row, outside the popup.
	CloseOutside
	// CloseTrigger clicks the popup's trigger (the row's role dropdown or
	// actions menu button) again, checked by the click guard.
	CloseTrigger
)

// closeGestures is the order in which gestures are tried when none has
// closed a popup of this page yet.
var closeGestures = []CloseGesture{CloseEscape, CloseOutside, CloseTrigger}

func (g CloseGesture) String() string {
	switch g {
	case CloseEscape:
		return "Escape"
	case CloseOutside:
		return "a click outside it"
	case CloseTrigger:
		return "a second click of its trigger"
	}
	return fmt.Sprintf("gesture %d", int32(g))
}

// popupCloseWait bounds the wait for a popup to close after one gesture.
// A popup that honours the gesture closes within a frame or two; one that
// does not is given no more than this before the next gesture is tried.
const popupCloseWait = 2 * time.Second

// errPopupOpen means that no gesture closed a popup: the page does not
// behave as the contract says (it wraps agent.ErrPageChanged).
var errPopupOpen = errors.New("the popup stayed open")

// closePopup closes the listbox or menu that control c of the row of loc
// opened, with whatever the page honours: the gesture that closed this
// page's last popup first, then Escape, a click on an inert point, and the
// trigger again. Each gesture is given its own bounded wait. It returns
// the gesture that closed the popup; a popup that none of them closes is
// an error wrapping agent.ErrPageChanged (and errPopupOpen).
func (t *Team) closePopup(ctx context.Context, loc selectors.Locator, c selectors.Control, what string) (CloseGesture, error) {
	wait := min(t.opts.Step, popupCloseWait)
	order := []CloseGesture{CloseGesture(t.popupGesture.Load())}
	for _, g := range closeGestures {
		if g != order[0] {
			order = append(order, g)
		}
	}
	var notes []string
	for _, g := range order {
		open, err := selectors.PopupOpen(ctx, t.b)
		if err != nil {
			return g, t.explain(ctx, err)
		}
		if !open {
			return g, nil
		}
		if err := t.closeWith(ctx, g, loc, c, what); err != nil {
			if stops(err) {
				return g, err
			}
			notes = append(notes, g.String()+": "+err.Error())
			continue
		}
		closed, err := poll(ctx, wait, func() (bool, error) {
			open, err := selectors.PopupOpen(ctx, t.b)
			return !open, err
		})
		if err != nil {
			return g, t.explain(ctx, err)
		}
		if closed {
			t.popupGesture.Store(int32(g))
			return g, nil
		}
		notes = append(notes, g.String()+": still open after "+wait.String())
	}
	return CloseEscape, t.errorf(fmt.Errorf("%w: %w", agent.ErrPageChanged, errPopupOpen),
		"%s did not close with Escape, a click outside it or its trigger (%s)", what, strings.Join(notes, "; "))
}

// closeWith makes gesture g once; an error means it could not be made (no
// inert point in view, the trigger not found or disabled).
func (t *Team) closeWith(ctx context.Context, g CloseGesture, loc selectors.Locator, c selectors.Control, what string) error {
	switch g {
	case CloseEscape:
		if err := selectors.ClosePopup(ctx, t.b); err != nil {
			return t.explain(ctx, err)
		}
		return nil
	case CloseOutside:
		for range maxResolves {
			p, err := selectors.InertPoint(ctx, t.b)
			if err != nil {
				return t.explain(ctx, err)
			}
			err = t.clickGuarded(ctx, "an empty spot of the page (to close "+what+")", p)
			if !errors.Is(err, errMissed) {
				return err
			}
			// the page changed under the point: find another one
		}
		return fmt.Errorf("%w: no click outside %s landed on an empty spot", errMissed, what)
	case CloseTrigger:
		if loc.Email == "" {
			return errors.New("no trigger to click")
		}
		p, err := t.clickRow(ctx, loc, c, what+" (again, to close it)", nil)
		if err != nil {
			return err
		}
		if p.Disabled {
			return fmt.Errorf("the trigger of %s is disabled", what)
		}
		return nil
	}
	return fmt.Errorf("unknown gesture %d", g)
}

// closeAfter closes the popup control c of the row of loc opened after
// cause ended what was done with it, and returns cause; a popup that could
// not be closed returns that error instead, as the next try would find the
// list still open (and its trigger would close it rather than open it).
// A popup already closed, by the page or by the click, needs nothing.
func (t *Team) closeAfter(ctx context.Context, loc selectors.Locator, c selectors.Control, what string, cause error) error {
	if _, err := t.closePopup(ctx, loc, c, what); err != nil {
		if stops(err) {
			return err
		}
		return fmt.Errorf("%w (and %w)", cause, err)
	}
	return cause
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

// chooseOption waits for the list a role dropdown opened and clicks the
// option for role. A failure closes the list (see closePopup); a list that
// cannot be closed is the error then, since the next try would toggle it.
func (t *Team) chooseOption(ctx context.Context, loc selectors.Locator, role roster.Role, what string) error {
	if err := t.waitPopup(ctx, what); err != nil {
		return err
	}
	opt, err := selectors.RoleOption(ctx, t.b, loc, string(role))
	if err != nil {
		return t.closeAfter(ctx, loc, selectors.Role, what, err)
	}
	if err := t.clickGuarded(ctx, "the option "+string(role), opt); err != nil {
		return t.closeAfter(ctx, loc, selectors.Role, what, err)
	}
	return nil
}
