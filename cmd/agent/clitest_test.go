package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// cliWant is what a command line must have done: its exit code, and the
// texts its stdout and stderr must each contain.
type cliWant struct {
	code   int
	stdout []string
	stderr []string
	// quietStdout asserts that nothing was written to stdout.
	quietStdout bool
}

// assertCLI checks a command line's exit code and streams against want,
// printing both streams on a mismatch.
func assertCLI(t *testing.T, r cliResult, want cliWant) {
	t.Helper()
	streams := "stdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
	assert.Equal(t, want.code, r.code, "exit code\n%s", streams)
	for _, s := range want.stdout {
		assert.Contains(t, r.stdout, s, "stdout\n%s", streams)
	}
	for _, s := range want.stderr {
		assert.Contains(t, r.stderr, s, "stderr\n%s", streams)
	}
	if want.quietStdout {
		assert.Empty(t, r.stdout, "stdout\n%s", streams)
	}
}
