// Package core holds the words every layer of the agent shares: the kinds
// of error the command line maps to exit codes, the actions a change
// reports and its results, and the safety policy of a run.
//
// It imports nothing of the browser, so that the domain packages (the SCIM
// service, plans, identity sources, snapshots) build and test without
// chromedp. Package agent and package flows re-export these names, so that
// errors.Is(err, agent.ErrRefused) and errors.Is(err, core.ErrRefused) are
// one test.
package core
