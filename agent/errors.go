package agent

import "github.com/clay-agent/clay-agent/agent/core"

// The kinds of error, defined in package core (which needs no browser) and
// named here too: errors.Is(err, agent.ErrRefused) and errors.Is(err,
// core.ErrRefused) are one test. cmd/agent maps them to exit codes in one
// place.
var (
	// ErrUsage marks bad input. Exit code 2.
	ErrUsage = core.ErrUsage
	// ErrLoginRequired means the session is missing, expired or rejected.
	// Exit code 3.
	ErrLoginRequired = core.ErrLoginRequired
	// ErrPageChanged means the page does not satisfy the contract. Exit
	// code 4.
	ErrPageChanged = core.ErrPageChanged
	// ErrRefused means a safety rule stopped a change. Exit code 5.
	ErrRefused = core.ErrRefused
	// ErrNotVerified means an action was taken but reading the page again
	// did not show the expected result. Exit code 6.
	ErrNotVerified = core.ErrNotVerified
	// ErrPageError means the page itself reported an error. Exit code 1.
	ErrPageError = core.ErrPageError
	// ErrTransient marks a failure worth retrying from a fresh read.
	ErrTransient = core.ErrTransient
	// ErrBrowserGone means the browser died or the connection to it broke in
	// the middle of a run. Exit code 1.
	ErrBrowserGone = core.ErrBrowserGone
)
