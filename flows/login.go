package flows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/selectors"
)

// Login signs in through the login page that the Team page redirects to,
// waits for the session cookie and returns the browser's cookies. A
// rejected password gives an error wrapping agent.ErrLoginRequired with
// the page's own message.
func (t *Team) Login(ctx context.Context, email, password string) ([]agent.Cookie, error) {
	if err := t.b.Navigate(ctx, t.url); err != nil {
		return nil, err
	}
	t.loaded = true
	loc, err := t.b.Location(ctx)
	if err != nil {
		return nil, err
	}
	info, err := selectors.Info(ctx, t.b)
	if err != nil {
		return nil, err
	}
	if !info.Login && !isLoginURL(loc, t.url) {
		// already signed in: the browser's cookies are the session
		return t.sessionCookies(ctx)
	}
	if err := waitLoginForm(ctx, t); err != nil {
		return nil, err
	}
	if err := selectors.FocusLoginField(ctx, t.b, selectors.LoginEmail); err != nil {
		return nil, err
	}
	if err := t.b.InsertText(ctx, "the email field", email); err != nil {
		return nil, err
	}
	if err := selectors.FocusLoginField(ctx, t.b, selectors.LoginPassword); err != nil {
		return nil, err
	}
	if err := t.b.InsertText(ctx, "the password field", password); err != nil {
		return nil, err
	}
	p, err := selectors.LoginSubmit(ctx, t.b)
	if err != nil {
		return nil, err
	}
	if err := t.b.ClickAt(ctx, "the sign-in button", p.X, p.Y); err != nil {
		return nil, err
	}
	return t.awaitSignIn(ctx)
}

func waitLoginForm(ctx context.Context, t *Team) error {
	var last error
	ok, err := pollUntil(ctx, t.opts.Step, func() (bool, error) {
		last = selectors.FindLoginForm(ctx, t.b)
		return last == nil, nil
	})
	if err != nil {
		return err
	}
	if !ok {
		return last
	}
	return nil
}

// awaitSignIn waits until the browser leaves the login page with a
// session cookie, or the page shows why it did not.
func (t *Team) awaitSignIn(ctx context.Context) ([]agent.Cookie, error) {
	loc := ""
	var refused error
	left, err := pollUntil(ctx, t.opts.Step, func() (bool, error) {
		var err error
		loc, err = t.b.Location(ctx)
		if err != nil {
			return false, nil // the page is navigating
		}
		if !isLoginURL(loc, t.url) {
			if info, ierr := selectors.Info(ctx, t.b); ierr == nil && !info.Login {
				return true, nil
			}
		}
		if msgs, merr := selectors.LoginErrors(ctx, t.b); merr == nil && len(msgs) > 0 {
			refused = fmt.Errorf("%w: sign-in refused: %s", agent.ErrLoginRequired, strings.Join(msgs, "; "))
			return true, nil
		}
		return false, nil
	})
	switch {
	case err != nil:
		return nil, err
	case refused != nil:
		return nil, refused
	case !left:
		return nil, fmt.Errorf("%w: still on the login page %s after %s; the account may need SSO or a second factor, which `agent login` cannot do: export the session from a browser instead", agent.ErrLoginRequired, agent.RedactURL(loc), t.opts.Step)
	}
	return t.sessionCookies(ctx)
}

func (t *Team) sessionCookies(ctx context.Context) ([]agent.Cookie, error) {
	var cookies []agent.Cookie
	ok, err := pollUntil(ctx, t.opts.Step, func() (bool, error) {
		var err error
		if cookies, err = t.b.Cookies(ctx); err != nil {
			return false, err
		}
		for _, c := range cookies {
			if c.Name == agent.SessionCookieName {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: signed in, but no %s cookie was set", agent.ErrLoginRequired, agent.SessionCookieName)
	}
	return cookies, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
