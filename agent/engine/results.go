package engine

import (
	"strings"

	"github.com/clay-agent/clay-agent/agent/core"
)

// NotAttempted adds a failed result for each target a stopped run did not
// reach, so that the results account for every target.
func NotAttempted(results []core.Result, targets []string, err error) []core.Result {
	if err == nil {
		return results
	}
	done := map[string]bool{}
	for _, r := range results {
		done[r.Email] = true
	}
	for _, t := range targets {
		if !done[t] {
			results = append(results, core.Result{Email: t, Action: core.Failed, Detail: "not attempted: " + err.Error(), Err: err})
		}
	}
	return results
}

// ActionsTaken names the targets a run clicked for, for a message that
// must say what was done when the audit log could not record it.
func ActionsTaken(rs []core.Result) string {
	var done []string
	for _, r := range rs {
		if r.Clicked {
			done = append(done, string(r.Action)+" "+r.Email)
		}
	}
	if len(done) == 0 {
		return "no target was acted on"
	}
	return "acted on in this run: " + strings.Join(done, ", ")
}

// AnyFailed reports whether any result is a failure.
func AnyFailed(rs []core.Result) bool {
	for _, r := range rs {
		if r.Action == core.Failed {
			return true
		}
	}
	return false
}
