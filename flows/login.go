package flows

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/selectors"
)

// DefaultSignInTimeout bounds the wait for the session once the password
// is sent: Clay's redirect to the app can take 10–15 s.
const DefaultSignInTimeout = 30 * time.Second

// WithSignInTimeout bounds the wait for the session once the password is
// sent (default DefaultSignInTimeout). The steps before it keep the step
// timeout.
func WithSignInTimeout(d time.Duration) Option {
	return func(t *Team) {
		if d > 0 {
			t.signIn = d
		}
	}
}

// loginPoll is how often the sign-in looks at the page while it waits.
const loginPoll = 100 * time.Millisecond

// Challenge is what a login page asks for that `agent login` cannot give.
type Challenge string

// The challenges `agent login` stops at.
const (
	// ChallengeOTP: a one-time code (a second factor).
	ChallengeOTP Challenge = "a one-time code"
	// ChallengeCaptcha: a CAPTCHA.
	ChallengeCaptcha Challenge = "a CAPTCHA"
	// ChallengeSSO: single sign-on, on a site of another origin.
	ChallengeSSO Challenge = "single sign-on on another site"
)

// SessionHelp says what to do when `agent login` cannot sign in.
const SessionHelp = "sign in with a browser and export the session into the session file instead (README.md, \"The session\")"

// ChallengeError is a login page that asks for something `agent login`
// cannot give: a one-time code, a CAPTCHA, or single sign-on on another
// origin. It wraps agent.ErrLoginRequired.
type ChallengeError struct {
	Challenge Challenge
	// Seen is what the page showed: the field, the frame or the text, or
	// the other site's address.
	Seen string
	// URL is the page's address.
	URL string
}

func (e *ChallengeError) Error() string {
	s := "the login page asks for " + string(e.Challenge)
	if e.Seen != "" {
		s += " (" + e.Seen + ")"
	}
	return s + " at " + agent.RedactURL(e.URL) + "; `agent login` signs in with an email and a password only: " + SessionHelp
}

// Unwrap returns agent.ErrLoginRequired.
func (e *ChallengeError) Unwrap() error { return agent.ErrLoginRequired }

// Login signs in through the login page that the Team page redirects to,
// waits for the session cookie and returns the browser's cookies. It
// fills in the one-page form (email and password together) and the
// two-step one (the email, Continue, then the password): the button it
// presses is the form's own or one named Continue, Next, Sign in or Log
// in, never one that names Google, SSO or another provider. The wait for
// the session after the password is bounded by WithSignInTimeout.
//
// A rejected email or password gives an error wrapping
// agent.ErrLoginRequired with the page's own message. A one-time code, a
// CAPTCHA or a page of another origin (single sign-on) stops it with a
// *ChallengeError, before the password is typed when the page shows it
// by then. A page without the fields or the button is an error wrapping
// agent.ErrPageChanged.
func (t *Team) Login(ctx context.Context, email, password string) ([]agent.Cookie, error) {
	if err := selectors.Install(ctx, t.b); err != nil {
		return nil, err
	}
	if err := t.b.Navigate(ctx, t.url); err != nil {
		return nil, err
	}
	t.loaded = true
	st, cookies, err := t.awaitLoginPage(ctx)
	if err != nil || cookies != nil {
		return cookies, err
	}
	emailTyped := false
	if st.Step == selectors.StepEmail {
		if err := t.typeEmail(ctx, email); err != nil {
			return nil, err
		}
		emailTyped = true
		before := t.loginMessages(ctx)
		if err := t.pressSignIn(ctx, selectors.LoginEmail); err != nil {
			return nil, err
		}
		if st, err = t.awaitPasswordStep(ctx, before); err != nil {
			return nil, err
		}
	}
	switch {
	case st.EmailField:
		// the one-page form, or a password step that shows the email again
		v, err := selectors.LoginEmailValue(ctx, t.b)
		if err != nil {
			return nil, err
		}
		if !sameEmail(v, email) {
			if err := t.typeEmail(ctx, email); err != nil {
				return nil, err
			}
		}
	case !emailTyped:
		return nil, t.loginErrorf(ctx, agent.ErrPageChanged, "the login page asks for a password but shows no email field")
	}
	if err := t.checkOrigin(ctx); err != nil {
		return nil, err
	}
	if err := selectors.FocusLoginField(ctx, t.b, selectors.LoginPassword); err != nil {
		return nil, err
	}
	if err := t.b.InsertText(ctx, "the password field", password); err != nil {
		return nil, err
	}
	before := t.loginMessages(ctx)
	if err := t.pressSignIn(ctx, selectors.LoginPassword); err != nil {
		return nil, err
	}
	return t.awaitSignIn(ctx, before)
}

func (t *Team) signInTimeout() time.Duration {
	if t.signIn > 0 {
		return t.signIn
	}
	return DefaultSignInTimeout
}

// awaitLoginPage waits, up to the step timeout, for the page the Team page
// led to: a step of a sign-in, or (cookies) the Team page itself with a
// session already there.
func (t *Team) awaitLoginPage(ctx context.Context) (*selectors.LoginState, []agent.Cookie, error) {
	var st *selectors.LoginState
	var cookies []agent.Cookie
	loc := t.url
	ok, err := poll(ctx, t.opts.Step, func() (bool, error) {
		var err error
		if loc, err = t.b.Location(ctx); err != nil {
			return false, nil // the page is navigating
		}
		if !sameOrigin(loc, t.url) {
			return false, &ChallengeError{Challenge: ChallengeSSO, Seen: "the Team page sent the browser there", URL: loc}
		}
		if !isLoginURL(loc, t.url) {
			// already signed in: the Team page stays, and the browser's
			// cookies are the session
			if info, err := selectors.Info(ctx, t.b); err == nil && !info.Login {
				if cookies, err = t.sessionCookie(ctx); err != nil || cookies != nil {
					return cookies != nil, err
				}
			}
		}
		if st, err = t.readLoginState(ctx, loc); err != nil || st == nil {
			return false, err
		}
		return st.Step == selectors.StepEmail || st.Step == selectors.StepPassword, nil
	}, withInterval(loginPoll))
	switch {
	case err != nil:
		return nil, nil, err
	case !ok:
		return nil, nil, fmt.Errorf("%w: the login page %s showed no email or password field within %s (an <input type=email> or a field labelled email, and an <input type=password>)", agent.ErrPageChanged, agent.RedactURL(loc), t.opts.Step)
	}
	return st, cookies, nil
}

// awaitPasswordStep waits, up to the step timeout, for the password field
// that Continue brings up, stopping at a refusal (a message not among
// before) or a challenge.
func (t *Team) awaitPasswordStep(ctx context.Context, before []string) (*selectors.LoginState, error) {
	var st *selectors.LoginState
	loc := t.url
	ok, err := poll(ctx, t.opts.Step, func() (bool, error) {
		var err error
		if loc, err = t.b.Location(ctx); err != nil {
			return false, nil
		}
		if !sameOrigin(loc, t.url) {
			return false, &ChallengeError{Challenge: ChallengeSSO, Seen: "after the email step", URL: loc}
		}
		if st, err = t.readLoginState(ctx, loc); err != nil || st == nil {
			return false, err
		}
		if st.Step == selectors.StepPassword {
			return true, nil
		}
		return false, t.refused(ctx, before)
	}, withInterval(loginPoll))
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("%w: no password field appeared on %s within %s after the email step", agent.ErrPageChanged, agent.RedactURL(loc), t.opts.Step)
	}
	return st, nil
}

// awaitSignIn waits, up to the sign-in timeout, until the browser leaves
// the login page with a session cookie, or the page shows why it does
// not: a message not among before, or a challenge.
func (t *Team) awaitSignIn(ctx context.Context, before []string) ([]agent.Cookie, error) {
	var cookies []agent.Cookie
	loc := t.url
	left, err := poll(ctx, t.signInTimeout(), func() (bool, error) {
		var err error
		if loc, err = t.b.Location(ctx); err != nil {
			return false, nil // the page is navigating
		}
		if !sameOrigin(loc, t.url) {
			// a sign-in may pass through another site once it holds the
			// session; one that leaves without it is single sign-on
			if cookies, err = t.sessionCookie(ctx); err != nil || cookies != nil {
				return false, err
			}
			return false, &ChallengeError{Challenge: ChallengeSSO, Seen: "after the password was sent", URL: loc}
		}
		st, err := t.readLoginState(ctx, loc)
		if err != nil || st == nil {
			return false, err
		}
		info, err := selectors.Info(ctx, t.b)
		if err != nil {
			if navigatedAway(err) {
				return false, nil
			}
			return false, err
		}
		if info.Login || isLoginURL(loc, t.url) {
			return false, t.refused(ctx, before)
		}
		cookies, err = t.sessionCookie(ctx)
		return cookies != nil, err
	}, withInterval(loginPoll))
	switch {
	case err != nil:
		return nil, err
	case !left:
		if cookies != nil {
			// the session came, the page did not settle on the app: the
			// session is what counts
			return cookies, nil
		}
		return nil, fmt.Errorf("%w: no session within %s after the password was sent (the page is at %s): a slower sign-in needs a longer sign-in timeout (--signin-timeout)", agent.ErrLoginRequired, t.signInTimeout(), agent.RedactURL(loc))
	}
	return cookies, nil
}

// readLoginState reads the login page's step. A CAPTCHA or a one-time code
// is a *ChallengeError; a page that is navigating answers nil.
func (t *Team) readLoginState(ctx context.Context, loc string) (*selectors.LoginState, error) {
	st, err := selectors.ReadLoginState(ctx, t.b)
	if err != nil {
		if navigatedAway(err) {
			return nil, nil
		}
		return nil, err
	}
	switch st.Step {
	case selectors.StepCaptcha:
		return nil, &ChallengeError{Challenge: ChallengeCaptcha, Seen: st.Seen, URL: loc}
	case selectors.StepOTP:
		return nil, &ChallengeError{Challenge: ChallengeOTP, Seen: st.Seen, URL: loc}
	}
	return st, nil
}

// loginMessages reads the messages the login page shows now; they are
// not answers to what comes next.
func (t *Team) loginMessages(ctx context.Context) []string {
	msgs, err := selectors.LoginErrors(ctx, t.b)
	if err != nil {
		return nil
	}
	return msgs
}

// refused returns the sign-in's refusal when the login page shows a
// message it did not show before (e.g. "Incorrect email or password.").
func (t *Team) refused(ctx context.Context, before []string) error {
	msgs, err := selectors.LoginErrors(ctx, t.b)
	if err != nil {
		return nil
	}
	var fresh []string
	for _, m := range msgs {
		if !slices.Contains(before, m) {
			fresh = append(fresh, m)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	return fmt.Errorf("%w: sign-in refused: %s", agent.ErrLoginRequired, strings.Join(fresh, "; "))
}

// typeEmail types the email into the login page's email field and checks
// that the field holds it.
func (t *Team) typeEmail(ctx context.Context, email string) error {
	if err := selectors.FocusLoginField(ctx, t.b, selectors.LoginEmail); err != nil {
		return err
	}
	if err := t.b.InsertText(ctx, "the email field", email); err != nil {
		return err
	}
	v, err := selectors.LoginEmailValue(ctx, t.b)
	if err != nil {
		return err
	}
	if !sameEmail(v, email) {
		return t.loginErrorf(ctx, agent.ErrPageChanged, "the email field holds %q after typing %q into it", v, email)
	}
	return nil
}

// pressSignIn clicks the button that moves the step of field f on,
// waiting up to the step timeout while the page keeps it disabled. The
// click guard lets the click through only onto a button of that name;
// a click it stopped is made again.
func (t *Team) pressSignIn(ctx context.Context, f selectors.LoginField) error {
	var last error
	misses := 0
	ok, err := poll(ctx, t.opts.Step, func() (bool, error) {
		p, err := selectors.LoginSubmit(ctx, t.b, f)
		if err != nil {
			if errors.Is(err, agent.ErrTransient) {
				last = err
				return false, nil
			}
			return false, err
		}
		if p.Disabled {
			last = fmt.Errorf("the button %q is disabled", p.Name)
			return false, nil
		}
		what := fmt.Sprintf("the sign-in button %q", p.Name)
		if err := t.b.ClickAt(ctx, what, p.X, p.Y); err != nil {
			return false, err
		}
		g, err := selectors.GuardResult(ctx, t.b)
		if err != nil {
			if navigatedAway(err) {
				return true, nil // the click took the page elsewhere
			}
			return false, err
		}
		if !g.Armed || g.OK {
			// a new document has no armed guard: the click took the
			// page elsewhere
			return true, nil
		}
		if misses++; misses >= maxResolves {
			return false, fmt.Errorf("%w: %s: %s (%d tries)", agent.ErrTransient, what, g.Reason, misses)
		}
		last = fmt.Errorf("%s: %s", what, g.Reason)
		return false, nil
	}, withInterval(loginPoll))
	switch {
	case err != nil:
		return err
	case !ok:
		return t.loginErrorf(ctx, agent.ErrPageChanged, "the button after the %s field could not be pressed within %s: %v", f, t.opts.Step, last)
	}
	return nil
}

// checkOrigin stops with a *ChallengeError when the page is not on the
// Team page's origin, so that a password is never typed into another
// site.
func (t *Team) checkOrigin(ctx context.Context) error {
	loc, err := t.b.Location(ctx)
	if err != nil {
		return err
	}
	if !sameOrigin(loc, t.url) {
		return &ChallengeError{Challenge: ChallengeSSO, Seen: "where the password was to be typed", URL: loc}
	}
	return nil
}

// loginErrorf wraps sentinel with a message that names the login page.
func (t *Team) loginErrorf(ctx context.Context, sentinel error, format string, a ...any) error {
	loc, err := t.b.Location(ctx)
	if err != nil {
		loc = t.url
	}
	return fmt.Errorf("%w: %s (on %s)", sentinel, fmt.Sprintf(format, a...), agent.RedactURL(loc))
}

// sessionCookie returns the browser's cookies when they hold the session
// cookie, and nil otherwise.
func (t *Team) sessionCookie(ctx context.Context) ([]agent.Cookie, error) {
	cookies, err := t.b.Cookies(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cookies {
		if c.Name == agent.SessionCookieName {
			return cookies, nil
		}
	}
	return nil, nil
}

func sameEmail(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// originOf returns the scheme, host and port of raw, with the scheme's
// default port filled in; raw itself when it is not an absolute URL.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return agent.RedactURL(raw)
	}
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return strings.ToLower(u.Scheme) + "://" + host
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b string) bool {
	ua, err := url.Parse(a)
	if err != nil || ua.Host == "" {
		return false
	}
	return originOf(a) == originOf(b)
}
