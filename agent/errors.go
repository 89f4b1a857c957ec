package agent

import "errors"

// Sentinel errors. Callers wrap them with context using %w; cmd/agent maps
// them to exit codes in one place.
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
)
