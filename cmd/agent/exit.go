package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/textsafe"
)

// Exit codes (design.md).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitLogin       = 3
	exitPageChanged = 4
	exitRefused     = 5
	exitNotVerified = 6
	// exitFindings is reconcile's and plan's --detailed-exitcode: the run
	// worked and found something to act on.
	exitFindings = 7
)

// exitCode maps an error to the process's exit code. It is the only place
// that does.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case asExit(err) != nil:
		return asExit(err).code
	case errors.Is(err, agent.ErrUsage):
		return exitUsage
	case errors.Is(err, agent.ErrLoginRequired):
		return exitLogin
	case errors.Is(err, agent.ErrPageChanged):
		return exitPageChanged
	case errors.Is(err, agent.ErrRefused):
		return exitRefused
	case errors.Is(err, agent.ErrNotVerified):
		return exitNotVerified
	}
	return exitFailed
}

// exitKind names an exit code in machine-readable errors.
func exitKind(code int) string {
	switch code {
	case exitUsage:
		return "usage"
	case exitLogin:
		return "login-required"
	case exitPageChanged:
		return "page-changed"
	case exitRefused:
		return "refused"
	case exitNotVerified:
		return "not-verified"
	case exitFindings:
		return "findings"
	}
	return "failed"
}

// worst returns the exit code that wins when a run has several outcomes:
// the highest, except that any failure beats success.
func worst(codes ...int) int {
	w := exitOK
	for _, c := range codes {
		if c > w {
			w = c
		}
	}
	return w
}

// exitError carries an exit code decided by a command that already printed
// its results (e.g. the worst outcome of a batch).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func (a *app) reportError(err error, code int) {
	var ee *exitError
	if errors.As(err, &ee) && ee.msg == "" {
		// the command printed its outcome; with -o json the artifacts of
		// its failures still need a place on stderr
		if !a.jsonErrors || len(a.artifacts) == 0 {
			return
		}
		err = errors.New("some targets failed; see the results")
	}
	if a.jsonErrors {
		e := map[string]any{"message": err.Error(), "exit_code": code, "kind": exitKind(code)}
		if len(a.artifacts) > 0 {
			e["artifacts"] = a.artifacts
		}
		b, _ := json.Marshal(map[string]any{"error": e})
		fmt.Fprintln(a.stderr, string(b))
		return
	}
	// a message may quote the page (a sign-in error, a refused change)
	fmt.Fprintf(a.stderr, "agent: %s\n", textsafe.Terminal(err.Error()))
}

func asExit(err error) *exitError {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee
	}
	return nil
}
