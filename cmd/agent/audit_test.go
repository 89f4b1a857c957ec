package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
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
	link := filepath.Join(dir, "link.jsonl")
	require.NoError(t, os.Symlink(good, link))

	// a head is expected: a log with no records cannot hold it
	for _, p := range []string{empty, filepath.Join(dir, "missing.jsonl")} {
		r := runApp(t.Context(), nil, "", "audit", "verify", "--audit-log", p, "--head", head)
		assert.Equal(t, exitFailed, r.code, r.stderr)
		assert.NotContains(t, r.stdout, "ok")
	}

	tests := []struct {
		name   string
		path   string
		code   int
		stdout string
		want   []string // substrings of the one stderr line
	}{
		{name: "intact", path: good, code: exitOK, stdout: "ok: 3 records, head " + head + "\n"},
		{name: "empty", path: empty, code: exitOK, stdout: "no records: " + empty + " is empty\n"},
		{name: "no such file", path: filepath.Join(dir, "missing.jsonl"), code: exitOK, stdout: "no records: " + filepath.Join(dir, "missing.jsonl") + " does not exist\n"},
		{name: "a device", path: "/dev/null", code: exitUsage, want: []string{"/dev/null", "character device"}},
		{name: "a symbolic link", path: link, code: exitUsage, want: []string{link, "symbolic link"}},
		{name: "a line edited", path: edited, code: exitFailed, want: []string{edited, "line 3", "lines 1-2 verified"}},
		{name: "a line removed", path: removed, code: exitFailed, want: []string{removed, "line 2", "(line 1 verified)"}},
		{name: "lines reordered", path: reordered, code: exitFailed, want: []string{reordered, "line 2"}},
		{name: "a line that is not a record", path: garbage, code: exitFailed, want: []string{garbage, "line 2", "not a valid record"}},
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

// testAuditKey is the content of the key files of the tests.
const testAuditKey = "KEYSECRET-0123456789abcdef0123456789abcdef"

// writeKeyFile writes a key file with the given content and mode.
func writeKeyFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode))
	return path
}

// writeKeyedAuditLog appends n records signed with key to the log at path
// and returns all its lines.
func writeKeyedAuditLog(t *testing.T, path string, key []byte, n int) [][]byte {
	t.Helper()
	l, err := audit.Open(path, audit.WithActor("ops"), audit.WithWorkspace("1234"), audit.WithKey(key))
	require.NoError(t, err)
	for i := range n {
		_, err := l.Append(audit.Record{Command: "offboard", Target: fmt.Sprintf("k%d@example.com", i), Outcome: audit.OutcomeRemoved})
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func chainHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

func TestAuditVerifyWithKey(t *testing.T) {
	dir := t.TempDir()
	key := writeKeyFile(t, filepath.Join(dir, "key"), testAuditKey, 0o600)
	wrongKey := writeKeyFile(t, filepath.Join(dir, "wrong"), strings.Repeat("w", 40), 0o600)
	openKey := writeKeyFile(t, filepath.Join(dir, "open"), testAuditKey, 0o644)
	shortKey := writeKeyFile(t, filepath.Join(dir, "short"), "KEYSECRET-short", 0o600)

	// two records from before the key, then three keyed ones
	good := filepath.Join(dir, "good.jsonl")
	writeAuditLog(t, good, 2)
	lines := writeKeyedAuditLog(t, good, []byte(testAuditKey), 3)
	require.Len(t, lines, 5)
	head := chainHash(lines[4])

	// a record appended by someone without the key, with the right prev
	forged := filepath.Join(dir, "forged.jsonl")
	f, err := json.Marshal(audit.Record{ID: "x", Command: "offboard", Target: "mallory@example.com", Outcome: audit.OutcomeRemoved,
		Evidence: []string{}, Prev: head})
	require.NoError(t, err)
	writeLines(t, forged, append(append([][]byte(nil), lines...), f))

	// the last record rewritten, its MAC kept
	rewritten := filepath.Join(dir, "rewritten.jsonl")
	writeLines(t, rewritten, append(append([][]byte(nil), lines[:4]...), bytes.Replace(lines[4], []byte("k2@"), []byte("zz@"), 1)))

	// a log that never had a key
	plain := filepath.Join(dir, "plain.jsonl")
	writeAuditLog(t, plain, 2)

	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout string
		want   []string // substrings of the one stderr line
	}{
		{name: "with the key", args: []string{"--audit-log", good, "--key-file", key}, code: exitOK,
			stdout: "ok: 5 records, head " + head + "\nMACs: valid on all 3 records from line 3 on; lines 1-2 were written without a key and are covered by the chain only\n"},
		{name: "the key from the environment", env: map[string]string{envAuditKeyFile: key}, args: []string{"--audit-log", good}, code: exitOK,
			stdout: "ok: 5 records, head " + head + "\nMACs: valid on all 3 records from line 3 on; lines 1-2 were written without a key and are covered by the chain only\n"},
		{name: "without a key", args: []string{"--audit-log", good}, code: exitOK,
			stdout: "ok: 5 records, head " + head + "\nMACs: not checked (no --key-file); 3 of 5 records carry one\n"},
		{name: "wrong key", args: []string{"--audit-log", good, "--key-file", wrongKey}, code: exitFailed,
			want: []string{good, "line 3", "MAC does not match", "(lines 1-2 verified)"}},
		{name: "forged append", args: []string{"--audit-log", forged, "--key-file", key}, code: exitFailed,
			want: []string{forged, "line 6", "carries no MAC", "written without the key"}},
		{name: "forged append, chain only", args: []string{"--audit-log", forged}, code: exitOK,
			stdout: "ok: 6 records, head " + chainHash(f) + "\nMACs: not checked (no --key-file); 3 of 6 records carry one\n"},
		{name: "last record rewritten", args: []string{"--audit-log", rewritten, "--key-file", key}, code: exitFailed,
			want: []string{rewritten, "line 5", "MAC does not match"}},
		{name: "a log without MACs", args: []string{"--audit-log", plain, "--key-file", key}, code: exitFailed,
			want: []string{plain, "no record carries a MAC"}},
		{name: "key file readable by others", args: []string{"--audit-log", good, "--key-file", openKey}, code: exitUsage,
			want: []string{"--key-file", openKey, "0644", "chmod 600"}},
		{name: "key file too short", args: []string{"--audit-log", good, "--key-file", shortKey}, code: exitUsage,
			want: []string{shortKey, "at least 32"}},
		{name: "key file missing", args: []string{"--audit-log", good, "--key-file", filepath.Join(dir, "nokey")}, code: exitUsage,
			want: []string{"nokey"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), tc.env, "", append([]string{"audit", "verify"}, tc.args...)...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			assert.NotContains(t, r.stdout+r.stderr, "KEYSECRET", "the key never shows")
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

func TestAuditVerifyHead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	lines := writeAuditLog(t, path, 5)
	head3, head5 := chainHash(lines[2]), chainHash(lines[4])
	cut := filepath.Join(dir, "cut.jsonl")
	writeLines(t, cut, lines[:4])

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		want   []string
	}{
		{name: "an earlier head", args: []string{"--audit-log", path, "--head", head3}, code: exitOK,
			stdout: "ok: 5 records, head " + head5 + "\nhead " + head3 + " found at line 3; 2 records follow\n"},
		{name: "the current head, in upper case", args: []string{"--audit-log", path, "--head", strings.ToUpper(head5)}, code: exitOK,
			stdout: "ok: 5 records, head " + head5 + "\nhead " + head5 + " found at line 5; 0 records follow\n"},
		{name: "the last record deleted after the head was kept", args: []string{"--audit-log", cut, "--head", head5}, code: exitFailed,
			want: []string{cut, "head " + head5 + " is not the chain hash of any of the 4 line(s)"}},
		{name: "not a hash", args: []string{"--audit-log", path, "--head", "5f0c9a"}, code: exitUsage,
			want: []string{"--head", "not a chain hash"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), nil, "", append([]string{"audit", "verify"}, tc.args...)...)
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

func TestAuditVerifySealedTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeAuditLog(t, path, 2)
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = fh.WriteString(`{"id":"20261129T221500.000Z-deadbeef","ti`)
	require.NoError(t, err)
	require.NoError(t, fh.Close())

	r := runApp(t.Context(), nil, "", "audit", "verify", "--audit-log", path)
	assert.Equal(t, exitFailed, r.code)
	r.oneErrorLine(t, "line 3", "incomplete record")

	lines := writeAuditLog(t, path, 1)
	require.Len(t, lines, 5)
	r = runApp(t.Context(), nil, "", "audit", "verify", "--audit-log", path)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "ok: 5 records, head "+chainHash(lines[4])+"\ntorn lines: 1, each sealed by the recovered record after it\n", r.stdout)
}

func TestAuditHead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	lines := writeAuditLog(t, path, 3)
	head := chainHash(lines[2])
	broken := filepath.Join(dir, "broken.jsonl")
	writeLines(t, broken, [][]byte{lines[0], lines[2]})
	empty := filepath.Join(dir, "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		want   []string
	}{
		{name: "text", args: []string{"--audit-log", path}, code: exitOK, stdout: "head     " + head + "\nrecords  3\n"},
		{name: "json", args: []string{"--audit-log", path, "-o", "json"}, code: exitOK,
			stdout: fmt.Sprintf("{\n  \"log\": %q,\n  \"head\": %q,\n  \"records\": 3\n}\n", path, head)},
		{name: "empty", args: []string{"--audit-log", empty}, code: exitOK, stdout: "head     " + audit.Genesis + "\nrecords  0\n"},
		{name: "a log that fails verification", args: []string{"--audit-log", broken}, code: exitFailed, want: []string{broken, "line 2", "prev does not match"}},
		{name: "no such log", args: []string{"--audit-log", filepath.Join(dir, "missing.jsonl")}, code: exitUsage, want: []string{"does not exist"}},
		{name: "unknown format", args: []string{"--audit-log", path, "-o", "csv"}, code: exitUsage, want: []string{`unknown output format "csv"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), nil, "", append([]string{"audit", "head"}, tc.args...)...)
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

func TestOpenAuditLog(t *testing.T) {
	dir := t.TempDir()
	key := writeKeyFile(t, filepath.Join(dir, "key"), testAuditKey, 0o600)
	otherKey := writeKeyFile(t, filepath.Join(dir, "other"), strings.Repeat("o", 40), 0o600)
	openKey := writeKeyFile(t, filepath.Join(dir, "open"), testAuditKey, 0o644)
	emptyKey := writeKeyFile(t, filepath.Join(dir, "empty"), "", 0o600)
	keyed := filepath.Join(dir, "keyed.jsonl")
	writeKeyedAuditLog(t, keyed, []byte(testAuditKey), 1)

	tests := []struct {
		name    string
		path    string
		flag    string
		env     string
		wantErr []string // nil: opens
		wantMAC bool
	}{
		{name: "no key", path: filepath.Join(dir, "plain.jsonl")},
		{name: "key from the flag", path: filepath.Join(dir, "a.jsonl"), flag: key, wantMAC: true},
		{name: "key from the environment", path: filepath.Join(dir, "b.jsonl"), env: key, wantMAC: true},
		{name: "the flag wins", path: filepath.Join(dir, "c.jsonl"), flag: key, env: openKey, wantMAC: true},
		{name: "keyed log with its key", path: keyed, flag: key, wantMAC: true},
		{name: "key file readable by others", path: filepath.Join(dir, "d.jsonl"), flag: openKey, wantErr: []string{"--audit-key-file", "0644", "chmod 600"}},
		{name: "empty key file", path: filepath.Join(dir, "e.jsonl"), env: emptyKey, wantErr: []string{envAuditKeyFile, "is empty"}},
		{name: "keyed log without a key", path: keyed, wantErr: []string{"keyed", "--audit-key-file", envAuditKeyFile}},
		{name: "keyed log with another key", path: keyed, flag: otherKey, wantErr: []string{"does not match"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
			a.getenv = func(k string) string {
				if k == envAuditKeyFile {
					return tc.env
				}
				return ""
			}
			l, err := a.openAuditLog(tc.path, tc.flag, audit.WithActor("ops"))
			if tc.wantErr != nil {
				require.Error(t, err)
				assert.ErrorIs(t, err, agent.ErrUsage)
				assert.Equal(t, exitUsage, exitCode(err))
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				assert.NotContains(t, err.Error(), "KEYSECRET")
				return
			}
			require.NoError(t, err)
			rec, err := l.Append(audit.Record{Command: "invite", Outcome: "invited"})
			require.NoError(t, err)
			require.NoError(t, l.Close())
			assert.Equal(t, tc.wantMAC, rec.MAC != "")
		})
	}
}
