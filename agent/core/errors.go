package core

import (
	"errors"
	"fmt"
)

// The kinds of error. Callers wrap them with context using %w; cmd/agent
// maps them to exit codes in one place.
var (
	// ErrUsage marks bad input: a flag, a file or a value that is wrong
	// before any browser starts. Exit code 2.
	ErrUsage = errors.New("bad input")
	// ErrLoginRequired means the session is missing, expired or rejected and
	// the page showed a login form. Exit code 3.
	ErrLoginRequired = errors.New("login required")
	// ErrPageChanged means the page does not satisfy the contract: a control
	// or row could not be identified by its hooks, or a match was ambiguous.
	// Exit code 4.
	ErrPageChanged = errors.New("page does not match the contract")
	// ErrRefused means a safety rule stopped a change. Exit code 5.
	ErrRefused = errors.New("refused by a safety rule")
	// ErrNotVerified means an action was taken but reading the page again
	// did not show the expected result. Exit code 6.
	ErrNotVerified = errors.New("not verified")
	// ErrPageError means the page itself reported an error (a toast or a
	// message inside a dialog). Exit code 1.
	ErrPageError = errors.New("the page reported an error")
	// ErrTransient marks a failure worth retrying from a fresh read of the
	// page: a 5xx shown by the page, a stale node, a navigation hiccup.
	ErrTransient = errors.New("transient failure")
	// ErrBrowserGone means the browser died or the connection to it broke in
	// the middle of a run. Exit code 1.
	ErrBrowserGone = errors.New("the browser is gone")
	// ErrNotRecorded means the record that an action was about to happen
	// could not be written, so the action was not taken. It ends a batch: no
	// target is acted on without its record.
	ErrNotRecorded = errors.New("the audit record could not be written")
)

// Refusal builds an error wrapping ErrRefused.
func Refusal(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

// Usage builds an error wrapping ErrUsage.
func Usage(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, a...))
}
