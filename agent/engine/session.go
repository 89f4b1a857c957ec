package engine

import (
	"context"
	"errors"
	"sync"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/flows"
)

// Session is an open browser on the Team page.
type Session interface {
	// Team is the page's flows.
	Team() *flows.Team
	// SaveScreenshot keeps a screenshot of the page as dir/name.png and
	// returns its path.
	SaveScreenshot(ctx context.Context, dir, name string) (string, error)
	// SaveArtifacts keeps what a failure needs to be understood (a
	// screenshot, the page's HTML), labelled, and returns their paths.
	SaveArtifacts(label string) ([]string, error)
	// Close closes the browser.
	Close()
}

// Sessions hands out sessions to runs.
type Sessions interface {
	// Acquire returns a session ready for a run.
	Acquire(ctx context.Context) (Session, error)
	// Release gives back the session after a run that ended with err.
	Release(s Session, err error)
}

// OneShot opens a session for each run and closes it after.
type OneShot struct {
	Open func(ctx context.Context) (Session, error)
}

// Acquire opens a session.
func (o OneShot) Acquire(ctx context.Context) (Session, error) { return o.Open(ctx) }

// Release closes s.
func (OneShot) Release(s Session, _ error) { s.Close() }

// Keeper keeps one session open between runs, opening it on first use
// and again after an error that leaves it unusable (see Unusable). Runs
// that share a Keeper must not overlap; the mutex only guards the session
// against Close.
type Keeper struct {
	Open func(ctx context.Context) (Session, error)

	mu sync.Mutex
	s  Session
}

// Acquire returns the open session, opening one when there is none or the
// last one was dropped.
func (k *Keeper) Acquire(ctx context.Context) (Session, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.s != nil {
		return k.s, nil
	}
	s, err := k.Open(ctx)
	if err != nil {
		return nil, err
	}
	k.s = s
	return s, nil
}

// Release keeps s open unless err says it is unusable; then it closes it,
// so that the next Acquire starts a fresh browser.
func (k *Keeper) Release(s Session, err error) {
	if Unusable(err) {
		k.drop(s)
	}
}

// Drop closes the kept session after err when err leaves it unusable.
func (k *Keeper) Drop(err error) {
	if Unusable(err) {
		k.drop(nil)
	}
}

// drop closes the kept session if it is s (or any, for nil).
func (k *Keeper) drop(s Session) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.s != nil && (s == nil || k.s == s) {
		k.s.Close()
		k.s = nil
	}
}

// Close closes the kept session, if any.
func (k *Keeper) Close() { k.drop(nil) }

// Unusable reports whether err leaves a browser session unusable for the
// next run: the browser is gone, the sign-in expired, or a step ran out
// of time (the page may be anywhere).
func Unusable(err error) bool {
	return err != nil && (errors.Is(err, core.ErrBrowserGone) || errors.Is(err, core.ErrLoginRequired) || errors.Is(err, context.DeadlineExceeded))
}
