// Package flows holds the user-visible flows of the agent, one file each:
// list, invite, remove, set role and revoke. Every flow reads the page's
// state, decides, acts and verifies by reading again (see design.md). The
// flows drive an *agent.Browser and find the page's controls through
// package selectors; they never touch flags or files.
package flows

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/selectors"
)

// Team is one open Team page in one browser tab.
type Team struct {
	b      *agent.Browser
	url    string
	opts   selectors.Options
	now    func() time.Time
	loaded bool
	signIn time.Duration // bounds the wait for the session after the password
	// popupGesture is the CloseGesture that closed this page's last popup:
	// the first one tried for the next.
	popupGesture atomic.Int32
}

// Option configures a Team.
type Option func(*Team)

// WithTotalTimeout bounds a whole read of the page (all pages, all
// scrolling). Each step inside it keeps its own timeout.
func WithTotalTimeout(d time.Duration) Option {
	return func(t *Team) { t.opts.Total = d }
}

// WithClock sets the clock used for capture times.
func WithClock(now func() time.Time) Option {
	return func(t *Team) { t.now = now }
}

// DefaultTotalTimeout bounds a whole read of a large Team page.
const DefaultTotalTimeout = 10 * time.Minute

// NewTeam prepares the Team page at teamURL in b's tab.
func NewTeam(b *agent.Browser, teamURL string, opts ...Option) *Team {
	step := b.Config().StepTimeout
	if step <= 0 {
		step = agent.DefaultStepTimeout
	}
	t := &Team{b: b, url: teamURL, opts: selectors.Options{Step: step, Total: DefaultTotalTimeout}, now: time.Now}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Browser returns the browser the page runs in.
func (t *Team) Browser() *agent.Browser { return t.b }

// URL returns the Team page's address.
func (t *Team) URL() string { return t.url }

var loginPath = regexp.MustCompile(`(?i)/(login|log-in|signin|sign-in|sign_in|auth)(/|$|\?)`)

// Open loads the Team page. A login page in its place stops at once with an
// error wrapping agent.ErrLoginRequired.
func (t *Team) Open(ctx context.Context) error {
	if err := selectors.Install(ctx, t.b); err != nil {
		return err
	}
	if err := t.b.Navigate(ctx, t.url); err != nil {
		return err
	}
	t.loaded = true
	return t.checkLogin(ctx)
}

// Reload loads the Team page again, e.g. to see the server's state after an
// action.
func (t *Team) Reload(ctx context.Context) error {
	t.loaded = false
	return t.Open(ctx)
}

func (t *Team) checkLogin(ctx context.Context) error {
	loc, err := t.b.Location(ctx)
	if err != nil {
		return err
	}
	if isLoginURL(loc, t.url) {
		return &selectors.LoginError{URL: loc}
	}
	info, err := selectors.Info(ctx, t.b)
	if err != nil {
		return err
	}
	if info.Login {
		return &selectors.LoginError{URL: info.URL}
	}
	return nil
}

func isLoginURL(loc, team string) bool {
	lu, err := url.Parse(loc)
	if err != nil {
		return false
	}
	tu, _ := url.Parse(team)
	if tu != nil && lu.Path == tu.Path {
		return false
	}
	return loginPath.MatchString(lu.Path + "/")
}

// ensure loads the page when it is not loaded yet.
func (t *Team) ensure(ctx context.Context) error {
	if t.loaded {
		return nil
	}
	return t.Open(ctx)
}

// retryNavigated runs f; when the page navigated under it (a client-side
// redirect, e.g. to a login page), it checks for a login page and runs f
// once more.
func (t *Team) retryNavigated(ctx context.Context, f func() error) error {
	err := f()
	if err == nil || !navigatedAway(err) {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Millisecond):
	}
	if lerr := t.checkLogin(ctx); lerr != nil {
		return lerr
	}
	return f()
}

func navigatedAway(err error) bool {
	var se *selectors.Error
	if errors.As(err, &se) || errors.Is(err, agent.ErrBrowserGone) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "context was destroyed") || strings.Contains(s, "navigated") ||
		strings.Contains(s, "Cannot find context") || strings.Contains(s, "Execution context")
}

// errorf wraps a sentinel with context that names the page.
func (t *Team) errorf(sentinel error, format string, a ...any) error {
	return fmt.Errorf("%w: %s (on %s)", sentinel, fmt.Sprintf(format, a...), agent.RedactURL(t.url))
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
