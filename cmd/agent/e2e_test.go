package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
)

// agentEnvVars are every environment variable the CLI reads.
var agentEnvVars = []string{
	"CLAY_BASE_URL", "CLAY_WORKSPACE", "CLAY_SESSION", "CHROME_PATH",
	"CLAY_ARTIFACTS_DIR", "CLAY_CHROME_NO_SANDBOX", "CLAY_PASSWORD",
	envAuditKeyFile,
}

// clearAgentEnv blanks the CLI's environment variables for the test, so
// that the caller's shell (or CI) cannot change what a command line does.
func clearAgentEnv(t *testing.T) {
	t.Helper()
	for _, k := range agentEnvVars {
		t.Setenv(k, "")
	}
}

// cliResult is what one command line did.
type cliResult struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// oneErrorLine asserts that stderr holds exactly one line and that it says
// each of want, and returns that line.
func (r cliResult) oneErrorLine(t *testing.T, want ...string) string {
	t.Helper()
	lines := r.stderrLines()
	require.Len(t, lines, 1, "exactly one line on stderr:\n%s", r.stderr)
	for _, w := range want {
		assert.Contains(t, lines[0], w)
	}
	return lines[0]
}

// stderrLines returns the non-empty lines written to stderr.
func (r cliResult) stderrLines() []string {
	var out []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// runCLI runs one command line through run, the process's real entry
// point, with stdin as standard input.
func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
}

// runApp runs one command line the way run does, but with ctx instead of
// the signal context and with env as the only environment.
func runApp(ctx context.Context, env map[string]string, stdin string, args ...string) cliResult {
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(stdin), &stdout, &stderr)
	a.getenv = func(k string) string { return env[k] }
	start := time.Now()
	err := a.execute(ctx, args)
	code := exitCode(err)
	if err != nil {
		a.reportError(err, code)
	}
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
}

// e2e is a fixture server, a browser binary and a scratch directory for
// command lines that drive real headless Chromium.
type e2e struct {
	*fixturetest.Env
	chrome    string
	artifacts string
}

// startE2E starts a fixture server built with opts. It clears the CLI's
// environment after it has looked up the browser (which honours
// CHROME_PATH).
func startE2E(t *testing.T, opts ...fixtures.Option) *e2e {
	t.Helper()
	chrome := fixturetest.Chrome(t)
	clearAgentEnv(t)
	env := fixturetest.Start(t, opts...)
	return &e2e{Env: env, chrome: chrome, artifacts: filepath.Join(env.Dir, "artifacts")}
}

// globals are the global flags that point a command at the fixture.
func (e *e2e) globals() []string {
	return []string{
		"--base-url", e.URL(),
		"--workspace", e.Server.Workspace(),
		"--session", e.SessionFile,
		"--chrome", e.chrome,
		"--artifacts-dir", e.artifacts,
		"--timeout", "15s",
	}
}

// list builds `agent list` for the fixture with extra flags.
func (e *e2e) list(extra ...string) []string {
	return append(append([]string{"list"}, e.globals()...), extra...)
}
