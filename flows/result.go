package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/core"
)

// The words of a result, defined in package core (which needs no browser).
type (
	// Action is what a flow did, or would do, to one target.
	Action = core.Action
	// State is what the page showed for a target before a flow acted.
	State = core.State
	// Result is the outcome for one target.
	Result = core.Result
)

// The actions a mutating flow reports.
const (
	Removed           = core.Removed
	RevokedInvitation = core.RevokedInvitation
	AlreadyAbsent     = core.AlreadyAbsent
	Invited           = core.Invited
	AlreadyMember     = core.AlreadyMember
	AlreadyInvited    = core.AlreadyInvited
	RoleChanged       = core.RoleChanged
	Unchanged         = core.Unchanged
	Refused           = core.Refused
	Failed            = core.Failed

	// With a dry run, the action that a real run would take.
	WouldRemove        = core.WouldRemove
	WouldRevoke        = core.WouldRevoke
	WouldInvite        = core.WouldInvite
	WouldChangeRole    = core.WouldChangeRole
	WouldRemoveRevoked = core.WouldRemoveRevoked
)

func refused(email string, before State, err error) Result {
	return Result{Email: email, Action: Refused, Detail: err.Error(), Before: before, Err: err}
}

func failed(email string, before State, err error) Result {
	return Result{Email: email, Action: Failed, Detail: err.Error(), Before: before, Err: err}
}

// refusal builds an error wrapping agent.ErrRefused.
func refusal(format string, a ...any) error { return core.Refusal(format, a...) }

// fatal reports whether err must stop a whole batch: the session is gone,
// the browser is gone, the run was cancelled, or an action could not be
// recorded before it was taken.
func fatal(err error) bool {
	return errors.Is(err, agent.ErrLoginRequired) || errors.Is(err, agent.ErrBrowserGone) ||
		errors.Is(err, errCancelled) || errors.Is(err, ErrNotRecorded)
}

var errCancelled = errors.New("cancelled")

// transientPageError reports whether a message shown by the page reads
// like a passing server failure, worth a retry from a fresh read.
func transientPageError(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"internal server error", "something went wrong", "try again", "temporar", "timed out", "timeout", "unavailable", "bad gateway", " 500", " 502", " 503", " 504", "(500)", "(502)", "(503)", "(504)"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// pageError wraps a message the page showed; a transient-looking one also
// wraps agent.ErrTransient.
func pageError(what string, msgs []string) error {
	msg := strings.Join(msgs, "; ")
	if transientPageError(msg) {
		return fmt.Errorf("%w: %w: %s: %s", agent.ErrPageError, agent.ErrTransient, what, msg)
	}
	return fmt.Errorf("%w: %s: %s", agent.ErrPageError, what, msg)
}

// failure turns an error into a refused or failed result, keeping
// evidence of the page when something was clicked.
func (t *Team) failure(ctx context.Context, b Batch, res Result, err error) Result {
	out := failed(res.Email, res.Before, err)
	if isRefusal(err) {
		out = refused(res.Email, res.Before, err)
	}
	out.Evidence = res.Evidence
	out.Clicked = res.Clicked
	if res.Clicked && !fatal(err) {
		b.evidence(ctx, &out, res.Email, "after")
	}
	return out
}

// isRefusal reports whether err wraps agent.ErrRefused.
func isRefusal(err error) bool {
	return err != nil && errors.Is(err, agent.ErrRefused)
}

// stops reports whether err ends a probe, or the closing of a popup,
// rather than failing one check or one gesture: the session or the
// browser is gone, or the context ended.
func stops(err error) bool {
	return errors.Is(err, agent.ErrLoginRequired) || errors.Is(err, agent.ErrBrowserGone) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
