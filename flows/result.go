package flows

import (
	"errors"
	"fmt"
	"strings"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// Action is what a flow did, or would do, to one target.
type Action string

// The actions a mutating flow reports.
const (
	Removed           Action = "removed"
	RevokedInvitation Action = "revoked-invitation"
	AlreadyAbsent     Action = "already-absent"
	Invited           Action = "invited"
	AlreadyMember     Action = "already-member"
	AlreadyInvited    Action = "already-invited"
	RoleChanged       Action = "role-changed"
	Unchanged         Action = "unchanged"
	Refused           Action = "refused"
	Failed            Action = "failed"

	// With a dry run, the action that a real run would take.
	WouldRemove        Action = "would-remove"
	WouldRevoke        Action = "would-revoke-invitation"
	WouldInvite        Action = "would-invite"
	WouldChangeRole    Action = "would-change-role"
	WouldRemoveRevoked Action = "would-remove-and-revoke"
)

// State is what the page showed for a target before a flow acted.
type State struct {
	Member     *roster.Member     `json:"member,omitempty"`
	Invitation *roster.Invitation `json:"invitation,omitempty"`
}

// Result is the outcome for one target.
type Result struct {
	Email    string   `json:"email"`
	Action   Action   `json:"action"`
	Detail   string   `json:"detail"`
	Evidence []string `json:"evidence"`
	Before   State    `json:"before"`
	// Err is the failure behind Refused and Failed; nil otherwise.
	Err error `json:"-"`
	// Clicked reports whether anything was clicked for this target.
	Clicked bool `json:"-"`
}

// Changed reports whether the result is a verified change.
func (r Result) Changed() bool {
	switch r.Action {
	case Removed, RevokedInvitation, Invited, RoleChanged:
		return true
	}
	return false
}

func refused(email string, before State, err error) Result {
	return Result{Email: email, Action: Refused, Detail: err.Error(), Before: before, Err: err}
}

func failed(email string, before State, err error) Result {
	return Result{Email: email, Action: Failed, Detail: err.Error(), Before: before, Err: err}
}

// refusal builds an error wrapping agent.ErrRefused.
func refusal(format string, a ...any) error {
	return fmt.Errorf("%w: %s", agent.ErrRefused, fmt.Sprintf(format, a...))
}

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
