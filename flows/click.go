package flows

import (
	"context"
	"errors"
	"fmt"

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

// clickPage clicks a control the page script pointed at and armed the click
// guard for, pointing again when the guard stopped the click.
func (t *Team) clickPage(ctx context.Context, what string, point func() (*selectors.Point, error)) error {
	var last error
	for range maxResolves {
		p, err := point()
		if err != nil {
			return err
		}
		err = t.clickGuarded(ctx, what, p)
		if err == nil || !errors.Is(err, errMissed) {
			return err
		}
		last = err
	}
	return fmt.Errorf("%w: %w (after %d tries)", agent.ErrTransient, last, maxResolves)
}
