package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/fixtures"
)

// login builds `agent login` for the fixture, writing the session to
// session.
func (e *e2e) login(session string, extra ...string) []string {
	args := []string{"login",
		"--base-url", e.URL(),
		"--workspace", e.Server.Workspace(),
		"--session", session,
		"--chrome", e.chrome,
		"--artifacts-dir", e.artifacts,
		"--timeout", "10s",
	}
	return append(args, extra...)
}

func TestLoginWritesAPrivateSessionThatListCanUse(t *testing.T) {
	tests := []struct {
		name     string
		password func(t *testing.T, pw string) (stdin string, flags []string)
		target   func(dir string) string
		existing bool // a file with mode 0644 is there already
	}{
		{
			name: "password on stdin",
			password: func(_ *testing.T, pw string) (string, []string) {
				return pw + "\n", []string{"--password-stdin"}
			},
			target: func(dir string) string { return filepath.Join(dir, "session.json") },
		},
		{
			name: "password in CLAY_PASSWORD",
			password: func(t *testing.T, pw string) (string, []string) {
				t.Setenv("CLAY_PASSWORD", pw)
				return "", nil
			},
			target: func(dir string) string { return filepath.Join(dir, "session.json") },
		},
		{
			name: "into a directory that does not exist yet",
			password: func(_ *testing.T, pw string) (string, []string) {
				return pw, []string{"--password-stdin"}
			},
			target: func(dir string) string { return filepath.Join(dir, "new", "deeper", "session.json") },
		},
		{
			name: "over a file others could read",
			password: func(_ *testing.T, pw string) (string, []string) {
				return pw + "\r\n", []string{"--password-stdin"}
			},
			target:   func(dir string) string { return filepath.Join(dir, "session.json") },
			existing: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(fixtures.RenditionGrid))
			email, pw := e.Server.Credentials()
			session := tc.target(t.TempDir())
			if tc.existing {
				require.NoError(t, os.WriteFile(session, []byte("{}"), 0o644))
				require.NoError(t, os.Chmod(session, 0o644))
			}
			stdin, flags := tc.password(t, pw)
			r := runCLI(t, stdin, e.login(session, append([]string{"--email", email}, flags...)...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Contains(t, r.stdout, "signed in as "+email)
			assert.Contains(t, r.stdout, session)

			st, err := os.Stat(session)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
			state, err := agent.LoadSession(session, time.Now())
			require.NoError(t, err, "the file is a valid storage state")
			c, ok := state.SessionCookie()
			require.True(t, ok, "the file holds a claysession cookie")
			require.NotEmpty(t, c.Value)
			for _, out := range []string{r.stdout, r.stderr} {
				assert.NotContains(t, out, c.Value)
				assert.NotContains(t, out, pw)
			}

			lr := runCLI(t, "", "list", "-o", "json",
				"--base-url", e.URL(), "--workspace", e.Server.Workspace(),
				"--session", session, "--chrome", e.chrome, "--artifacts-dir", e.artifacts)
			require.Equal(t, exitOK, lr.code, lr.stderr)
			var got struct {
				Members []wantMember `json:"members"`
			}
			require.NoError(t, json.Unmarshal([]byte(lr.stdout), &got))
			ms, _ := e.expected()
			assert.ElementsMatch(t, ms, got.Members)
		})
	}
}

func TestLoginWrongPasswordExitsThreeAndWritesNothing(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionTable))
	email, _ := e.Server.Credentials()
	session := filepath.Join(t.TempDir(), "session.json")
	const wrong = "not-the-horse-battery"
	r := runCLI(t, wrong+"\n", e.login(session, "--email", email, "--password-stdin", "-vv")...)
	assert.Equal(t, exitLogin, r.code, r.stderr)
	assert.Contains(t, r.stderr, "Incorrect email or password.", "the page's own message")
	assert.NotContains(t, r.stderr, wrong)
	assert.NotContains(t, r.stdout, wrong)
	assert.NoFileExists(t, session)
	assert.Empty(t, r.stdout)
}

func TestLoginBadInputExitsTwoBeforeTheBrowser(t *testing.T) {
	clearAgentEnv(t)
	dir := t.TempDir()
	session := filepath.Join(dir, "session.json")
	common := []string{"--workspace", "1234", "--base-url", "http://127.0.0.1:9", "--chrome", noBrowser, "--artifacts-dir", filepath.Join(dir, "artifacts")}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"no password at all", "", []string{"--email", "admin@acme.test", "--session", session}, "no password"},
		{"nothing on stdin", "", []string{"--email", "admin@acme.test", "--session", session, "--password-stdin"}, "--password-stdin"},
		{"an empty line on stdin", "\n", []string{"--email", "admin@acme.test", "--session", session, "--password-stdin"}, "empty"},
		{"no email", "pw\n", []string{"--session", session, "--password-stdin"}, "--email"},
		{"an email that is not one", "pw\n", []string{"--email", "Admin <admin@acme.test>", "--session", session, "--password-stdin"}, "--email"},
		{"no session file to write", "pw\n", []string{"--email", "admin@acme.test", "--password-stdin"}, "--session"},
		{"a password flag", "", []string{"--email", "admin@acme.test", "--session", session, "--password", "pw"}, "unknown flag: --password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.stdin, append(append([]string{"login"}, common...), tc.args...)...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			lines := r.stderrLines()
			require.Len(t, lines, 1, r.stderr)
			assert.Contains(t, lines[0], tc.want)
			assert.NotContains(t, r.stderr, noBrowser)
			assert.NoFileExists(t, session)
		})
	}
}
