package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
)

// writeAuditLog appends n records to a new log at path and returns its
// lines.
func writeAuditLog(t *testing.T, path string, n int) [][]byte {
	t.Helper()
	l, err := audit.Open(path, audit.WithActor("ops"), audit.WithWorkspace("1234"))
	require.NoError(t, err)
	for i := range n {
		_, err := l.Append(audit.Record{Command: "offboard", Target: strings.Repeat("x", i+1) + "@example.com", Outcome: audit.OutcomeRemoved})
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600))
}

func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	lines := writeAuditLog(t, good, 3)
	require.Len(t, lines, 3)
	sum := sha256.Sum256(lines[2])
	head := hex.EncodeToString(sum[:])

	edited := filepath.Join(dir, "edited.jsonl")
	tampered := append([][]byte(nil), lines...)
	tampered[1] = bytes.Replace(lines[1], []byte(`"removed"`), []byte(`"refused"`), 1)
	require.NotEqual(t, lines[1], tampered[1])
	writeLines(t, edited, tampered)

	removed := filepath.Join(dir, "removed.jsonl")
	writeLines(t, removed, [][]byte{lines[0], lines[2]})

	reordered := filepath.Join(dir, "reordered.jsonl")
	writeLines(t, reordered, [][]byte{lines[0], lines[2], lines[1]})

	garbage := filepath.Join(dir, "garbage.jsonl")
	writeLines(t, garbage, [][]byte{lines[0], []byte("not json")})

	empty := filepath.Join(dir, "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))

	tests := []struct {
		name   string
		path   string
		code   int
		stdout string
		want   []string // substrings of the one stderr line
	}{
		{name: "intact", path: good, code: exitOK, stdout: "ok: 3 records, head " + head + "\n"},
		{name: "empty", path: empty, code: exitOK, stdout: "ok: 0 records, head " + audit.Genesis + "\n"},
		{name: "a line edited", path: edited, code: exitFailed, want: []string{edited, "line 3", "lines 1-2 verified"}},
		{name: "a line removed", path: removed, code: exitFailed, want: []string{removed, "line 2", "(line 1 verified)"}},
		{name: "lines reordered", path: reordered, code: exitFailed, want: []string{reordered, "line 2"}},
		{name: "a line that is not a record", path: garbage, code: exitFailed, want: []string{garbage, "line 2", "not a valid record"}},
		{name: "no such file", path: filepath.Join(dir, "missing.jsonl"), code: exitUsage, want: []string{"missing.jsonl", "does not exist"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), nil, "", "audit", "verify", "--audit-log", tc.path)
			assert.Equal(t, tc.code, r.code, r.stderr)
			if tc.code == exitOK {
				assert.Equal(t, tc.stdout, r.stdout)
				assert.Empty(t, r.stderr)
				return
			}
			assert.Empty(t, r.stdout)
			r.oneErrorLine(t, tc.want...)
		})
	}
}

func TestAuditVerifyFindsTheLog(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	flagLog := filepath.Join(dir, "flag.jsonl")
	envLog := filepath.Join(dir, "env.jsonl")
	defaultLog := filepath.Join(dir, "state", "clay-agent", "audit.jsonl")
	writeAuditLog(t, flagLog, 1)
	writeAuditLog(t, envLog, 2)
	writeAuditLog(t, defaultLog, 3)

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		records string
	}{
		{"--audit-log", map[string]string{envAuditLog: envLog}, []string{"--audit-log", flagLog}, "ok: 1 records"},
		{"CLAY_AUDIT_LOG", map[string]string{envAuditLog: envLog}, nil, "ok: 2 records"},
		{"default path under XDG_STATE_HOME", nil, nil, "ok: 3 records"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), tc.env, "", append([]string{"audit", "verify"}, tc.args...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.True(t, strings.HasPrefix(r.stdout, tc.records+", head "), r.stdout)
		})
	}
}

func TestAuditLogPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/state")
	tests := []struct {
		name string
		flag string
		env  string
		want string
	}{
		{"flag wins", "/flag.jsonl", "/env.jsonl", "/flag.jsonl"},
		{"environment", "", "/env.jsonl", "/env.jsonl"},
		{"default", "", "", "/state/clay-agent/audit.jsonl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
			a.getenv = func(k string) string {
				if k == envAuditLog {
					return tc.env
				}
				return ""
			}
			assert.Equal(t, tc.want, a.auditLogPath(tc.flag))
		})
	}
}

func TestAuditCommandBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown subcommand", []string{"audit", "frobnicate"}, `unknown command "frobnicate" for "agent audit"`},
		{"argument to verify", []string{"audit", "verify", "log.jsonl"}, "takes no arguments"},
		{"unknown flag", []string{"audit", "verify", "--bogus"}, "unknown flag: --bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), nil, "", tc.args...)
			assert.Equal(t, exitUsage, r.code)
			lines := r.stderrLines()
			require.Len(t, lines, 1, r.stderr)
			assert.Contains(t, lines[0], tc.want)
		})
	}
}
