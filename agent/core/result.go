package core

import "github.com/clay-agent/clay-agent/agent/roster"

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

// FailedResult is the result of a target that could not be acted on
// because of err.
func FailedResult(email string, err error) Result {
	return Result{Email: email, Action: Failed, Detail: err.Error(), Err: err}
}
