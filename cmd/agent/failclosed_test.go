package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/fixtures"
)

// jsonError decodes the error object -o json writes on stderr.
func jsonError(t *testing.T, stderr string) (message string, code int) {
	t.Helper()
	var e struct {
		Error struct {
			Message  string `json:"message"`
			ExitCode int    `json:"exit_code"`
			Kind     string `json:"kind"`
		} `json:"error"`
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &e), "a JSON error on stderr: %q", stderr)
	return e.Error.Message, e.Error.ExitCode
}

// TestNoRemovalWithoutItsPlannedRecord: an audit log on a full disk
// cannot take the run's first record, so nothing is clicked (the browser
// does not even start), the exit code is 1, and with -o json the error is
// JSON too. An audit log that is a device (/dev/full, /dev/null) is
// refused as bad input before that (exit 2).
func TestNoRemovalWithoutItsPlannedRecord(t *testing.T) {
	for _, output := range []string{"table", "json"} {
		t.Run(output, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
			args := m.cmd("offboard", "--email", "john.smith@acme.test", "--yes", "-o", output)
			var stdout, stderr bytes.Buffer
			a := newApp(strings.NewReader(""), &stdout, &stderr)
			a.auditOptions = []audit.Option{audit.WithBeforeAppend(func(r audit.Record) error {
				if r.Outcome == audit.OutcomePlanned {
					return syscall.ENOSPC
				}
				return nil
			})}
			err := a.execute(context.Background(), args)
			code := exitCode(err)
			if err != nil {
				a.reportError(err, code)
			}
			r := cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
			assert.Equal(t, exitFailed, r.code, r.stderr)
			assert.True(t, serverHasMember(m.Server, "john.smith@acme.test"), "not removed")
			assert.Empty(t, m.Server.Mutations())
			if output == "json" {
				msg, code := jsonError(t, r.stderr)
				assert.Equal(t, exitFailed, code)
				assert.Contains(t, msg, "nothing was done")
				results := decodeResults(t, r.stdout)
				require.Len(t, results, 1)
				assert.Equal(t, "failed", results[0].Action)
			} else {
				assert.Contains(t, r.stderr, "nothing was done")
				assert.Contains(t, r.stdout, "failed")
			}
		})
	}
}

// TestAuditLogThatIsNoFileIsBadInput: a device, a symbolic link (which
// would append to whatever it points at) or a directory as the audit log
// is exit 2 before any browser, and the file a link points at is left
// as it was.
func TestAuditLogThatIsNoFileIsBadInput(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim.txt")
	require.NoError(t, os.WriteFile(victim, []byte("keep me\n"), 0o600))
	link := filepath.Join(dir, "link.jsonl")
	require.NoError(t, os.Symlink(victim, link))
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	for name, log := range map[string]string{"null device": "/dev/null", "full device": "/dev/full", "symbolic link": link, "directory": dir} {
		t.Run(name, func(t *testing.T) {
			args := append(m.cmd("offboard", "--email", "john.smith@acme.test", "--yes"), "--chrome", "/nonexistent/chrome")
			for i, a := range args {
				if a == "--audit-log" {
					args[i+1] = log
				}
			}
			r := runCLI(t, "", args...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			r.oneErrorLine(t, "--audit-log", log)
			assert.NotContains(t, r.stderr, "/nonexistent/chrome", "no browser was started")
		})
	}
	data, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "keep me\n", string(data), "nothing appended through the link")
	assert.Empty(t, m.Server.Mutations())
}

// TestAuditWriteFailsAfterARemoval: the record of a removal that happened
// cannot be written. The exit code is 1, the error names the removal, in
// the format asked for, and no later target is clicked, since its record
// could be lost as well.
func TestAuditWriteFailsAfterARemoval(t *testing.T) {
	for _, output := range []string{"table", "json"} {
		t.Run(output, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
			var stdout, stderr bytes.Buffer
			a := newApp(strings.NewReader(""), &stdout, &stderr)
			errFull := errors.New("no space left on device")
			a.auditOptions = []audit.Option{audit.WithBeforeAppend(func(r audit.Record) error {
				if r.Outcome == audit.OutcomeRemoved {
					return errFull
				}
				return nil
			})}
			err := a.execute(context.Background(), m.cmd("offboard",
				"--email", "john.smith@acme.test", "--email", "bob.oneil@acme.test", "--yes", "-o", output))
			code := exitCode(err)
			if err != nil {
				a.reportError(err, code)
			}
			assert.Equal(t, exitFailed, code, stderr.String())
			assert.False(t, serverHasMember(m.Server, "john.smith@acme.test"), "the first removal happened")
			assert.True(t, serverHasMember(m.Server, "bob.oneil@acme.test"), "nothing after the lost record")
			var msg string
			if output == "json" {
				msg, code = jsonError(t, stderr.String())
				assert.Equal(t, exitFailed, code)
				results := decodeResults(t, stdout.String())
				require.Len(t, results, 2)
				assert.Equal(t, "removed", results[0].Action)
				assert.Equal(t, "failed", results[1].Action)
			} else {
				msg = stderr.String()
				assert.Contains(t, stdout.String(), "removed")
			}
			assert.Contains(t, msg, "could not be written")
			assert.Contains(t, msg, "removed john.smith@acme.test", "the error names the action")
			assert.NotContains(t, msg, "bob.oneil@acme.test")
			recs := lastRun(t, m.records(t))
			assert.Contains(t, trail(recs), "started john.smith@acme.test")
			assert.NotContains(t, trail(recs), "started bob.oneil@acme.test")
		})
	}
}

// TestBlankOrWideningFlagValues: an empty value (an unset variable in a
// script) or a value that is not what the flag names is a usage error
// before anything starts, never the default.
func TestBlankOrWideningFlagValues(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	for _, tc := range []struct {
		name string
		args []string
		flag string
	}{
		{"empty allowed domain", []string{"--allow-domain", ""}, "--allow-domain"},
		{"blank allowed domain", []string{"--allow-domain", "  "}, "--allow-domain"},
		{"trailing comma", []string{"--allow-domain", "partner.test,"}, "--allow-domain"},
		{"a wildcard", []string{"--allow-domain", "*"}, "--allow-domain"},
		{"not a domain", []string{"--allow-domain", "partner"}, "--allow-domain"},
		{"empty audit log", []string{"--audit-log", ""}, "--audit-log"},
		{"empty actor", []string{"--actor", ""}, "--actor"},
		{"empty lock dir", []string{"--lock-dir", ""}, "--lock-dir"},
		{"empty session", []string{"--session", ""}, "--session"},
		{"empty workspace", []string{"--workspace", ""}, "--workspace"},
		{"zero confirm timeout", []string{"--confirm-timeout", "0s"}, "--confirm-timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(m.cmd("offboard", "--email", "new.hire@partner.test", "--yes"), tc.args...)
			r := runCLI(t, "", args...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.flag)
		})
	}
	assert.Empty(t, m.Server.Mutations(), "nothing was removed")
	_, err := os.Stat(m.auditLog)
	assert.ErrorIs(t, err, os.ErrNotExist, "refused before the audit log was opened")
}
