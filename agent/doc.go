// Package agent is the runtime of the Clay team agent: the browser's
// lifecycle, the session (a Playwright-compatible storage state), per-step
// timeouts, failure artifacts, and the sentinel errors that the command line
// maps to exit codes.
//
// It knows nothing about the Team page's markup; package selectors does.
// Package flows combines the two into the user-visible flows.
package agent
