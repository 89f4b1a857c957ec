// Command agent manages the members of a Clay workspace through Clay's own
// web console (Settings → Team), because Clay has no user-management API
// and no SCIM. It lists, invites, offboards and changes roles with a
// headless Chrome, verifies every change by reading the page again, and
// keeps an audit log.
//
// This package is wiring only: flags, environment, output and exit codes.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the process's exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := newApp(stdin, stdout, stderr)
	err := app.execute(ctx, args)
	code := exitCode(err)
	if err != nil {
		app.reportError(err, code)
	}
	// A command that returns cleanly after a signal (serve shutting down on
	// SIGTERM) has done what was asked; one that fails was interrupted.
	if ctx.Err() != nil && err != nil {
		fmt.Fprintln(stderr, "agent: interrupted")
	}
	return code
}
