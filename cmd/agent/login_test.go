package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/flows"
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

			assertSessionFile(t, session, pw, r)

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

// assertSessionFile checks that path is a private storage state holding
// the session cookie, and that no output shows the cookie or the password.
func assertSessionFile(t *testing.T, path, pw string, r cliResult) {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	state, err := agent.LoadSession(path, time.Now())
	require.NoError(t, err, "the file is a valid storage state")
	c, ok := state.SessionCookie()
	require.True(t, ok, "the file holds a claysession cookie")
	require.NotEmpty(t, c.Value)
	for _, out := range []string{r.stdout, r.stderr} {
		assert.NotContains(t, out, c.Value)
		assert.NotContains(t, out, pw)
	}
}

// errorLine returns the last line on stderr, the error (any line before it
// lists the artifacts of the failure), and asserts that it says each of
// want.
func errorLine(t *testing.T, r cliResult, want ...string) string {
	t.Helper()
	lines := r.stderrLines()
	require.NotEmpty(t, lines, "an error on stderr")
	last := lines[len(lines)-1]
	for _, w := range want {
		assert.Contains(t, last, w)
	}
	return last
}

func TestLoginSignsInOnEitherForm(t *testing.T) {
	tests := []struct {
		form      fixtures.LoginForm
		rendition string
	}{
		{fixtures.LoginOnePage, fixtures.RenditionTable},
		{fixtures.LoginTwoStep, fixtures.RenditionTable},
		{fixtures.LoginTwoStep, fixtures.RenditionFeed},
	}
	for _, tc := range tests {
		t.Run(string(tc.form)+" "+tc.rendition, func(t *testing.T) {
			e := startE2E(t, fixtures.WithLoginForm(tc.form), fixtures.WithRendition(tc.rendition))
			email, pw := e.Server.Credentials()
			session := filepath.Join(t.TempDir(), "session.json")
			r := runCLI(t, pw+"\n", e.login(session, "--email", email, "--password-stdin")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Contains(t, r.stdout, "signed in as "+email)
			assertSessionFile(t, session, pw, r)
			assert.Equal(t, 1, e.Server.SignInAttempts(), "one sign-in")
			assert.Empty(t, e.Server.ProviderRequests(), "no provider button was pressed")
		})
	}
}

func TestLoginWaitsForASlowSignInUpToTheSignInTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 16 s sign-in")
	}
	tests := []struct {
		name  string
		delay time.Duration
		flags []string // after the fixture's globals; no --timeout: the default step timeout
		want  int
		// within bounds the whole run
		within time.Duration
	}{
		{
			name:   "longer than the default step timeout, shorter than the default sign-in timeout",
			delay:  agent.DefaultStepTimeout + time.Second,
			want:   exitOK,
			within: flows.DefaultSignInTimeout,
		},
		{
			name:   "longer than --signin-timeout",
			delay:  time.Minute,
			flags:  []string{"--signin-timeout", "3s", "--timeout", "5s"},
			want:   exitLogin,
			within: 50 * time.Second, // the sign-in would take a minute
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startE2E(t, fixtures.WithLoginForm(fixtures.LoginTwoStep), fixtures.WithSignInDelay(tc.delay))
			email, pw := e.Server.Credentials()
			session := filepath.Join(t.TempDir(), "session.json")
			args := []string{"login",
				"--base-url", e.URL(), "--workspace", e.Server.Workspace(), "--session", session,
				"--chrome", e.chrome, "--artifacts-dir", e.artifacts,
				"--email", email, "--password-stdin"}
			r := runCLI(t, pw+"\n", append(args, tc.flags...)...)
			require.Equal(t, tc.want, r.code, r.stderr)
			assert.Less(t, r.elapsed, tc.within, "the run does not hang")
			assert.Equal(t, 1, e.Server.SignInAttempts())
			assert.Empty(t, e.Server.ProviderRequests())
			if tc.want == exitOK {
				assert.GreaterOrEqual(t, r.elapsed, tc.delay, "it waited for the slow sign-in")
				assertSessionFile(t, session, pw, r)
				return
			}
			line := errorLine(t, r, "no session within 3s", "--signin-timeout")
			assert.NotContains(t, line, pw)
			assert.NoFileExists(t, session)
			assert.Empty(t, r.stdout)
		})
	}
}

func TestLoginWrongPasswordExitsThreeAndWritesNothing(t *testing.T) {
	for _, form := range []fixtures.LoginForm{fixtures.LoginOnePage, fixtures.LoginTwoStep} {
		t.Run(string(form), func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(fixtures.RenditionTable), fixtures.WithLoginForm(form))
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
			assert.Equal(t, 1, e.Server.SignInAttempts(), "one sign-in, not retried")
			assert.Empty(t, e.Server.ProviderRequests())
		})
	}
}

func TestLoginStopsAtWhatItCannotGive(t *testing.T) {
	tests := []struct {
		form      fixtures.LoginForm
		want      []string
		attempts  int      // sign-ins the fixture received
		providers []string // requests to the provider stand-ins
	}{
		{
			form:     fixtures.LoginOTP,
			want:     []string{"asks for a one-time code", `a field with autocomplete=one-time-code labelled "Verification code"`},
			attempts: 1,
		},
		{
			form: fixtures.LoginCaptcha,
			want: []string{"asks for a CAPTCHA", "hCaptcha"},
		},
		{
			form:      fixtures.LoginSSO,
			want:      []string{"asks for single sign-on on another site", "http://localhost:"},
			providers: []string{"GET /sso/saml"}, // reached, and never given the password
		},
	}
	for _, tc := range tests {
		t.Run(string(tc.form), func(t *testing.T) {
			e := startE2E(t, fixtures.WithLoginForm(tc.form))
			email, pw := e.Server.Credentials()
			session := filepath.Join(t.TempDir(), "session.json")
			r := runCLI(t, pw+"\n", e.login(session, "--email", email, "--password-stdin", "--signin-timeout", "3m")...)
			require.Equal(t, exitLogin, r.code, r.stderr)
			line := errorLine(t, r, tc.want...)
			assert.Contains(t, line, "export the session", "says what to do instead")
			assert.Contains(t, line, `README.md, "The session"`)
			assert.Less(t, r.elapsed, 90*time.Second, "it stops when it sees it, without waiting for the sign-in timeout")
			assert.NotContains(t, r.stderr, pw)
			assert.NoFileExists(t, session)
			assert.Empty(t, r.stdout)
			assert.Equal(t, tc.attempts, e.Server.SignInAttempts())
			assert.Equal(t, tc.providers, e.Server.ProviderRequests(), "no provider button was pressed")
		})
	}
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
		{"no sign-in timeout", "pw\n", []string{"--email", "admin@acme.test", "--session", session, "--password-stdin", "--signin-timeout", "0s"}, "--signin-timeout"},
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

func TestFixturesServeLoginFlags(t *testing.T) {
	clearAgentEnv(t)
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"an unknown login form", []string{"--login-form", "three-step"}, `unknown login form "three-step"`},
		{"a negative sign-in delay", []string{"--signin-delay", "-1s"}, "--signin-delay"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"fixtures", "serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			r.oneErrorLine(t, tc.want)
		})
	}

	for _, form := range fixtures.LoginForms() {
		t.Run(string(form), func(t *testing.T) {
			ff := &fixtureFlags{rendition: fixtures.RenditionTable, pageSize: fixtures.DefaultPageSize, loginForm: string(form), signIn: time.Second}
			require.NoError(t, ff.validate())
			srv, _, err := ff.server()
			require.NoError(t, err)
			assert.Equal(t, form, srv.LoginForm())
		})
	}
}

func TestFixturesServeGeneratedRenditionPrintsItsChoices(t *testing.T) {
	clearAgentEnv(t)
	r := runCLI(t, "", "fixtures", "serve", "--addr", "127.0.0.1:0", "--rendition", "gen:x")
	assert.Equal(t, exitUsage, r.code, r.stderr)
	r.oneErrorLine(t, `unknown rendition "gen:x"`, "gen:SEED")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		a := newApp(strings.NewReader(""), &stdout, &stderr)
		done <- exitCode(a.execute(ctx, []string{"fixtures", "serve", "--rendition", "gen:42", "--addr", "127.0.0.1:0"}))
	}()
	g := fixtures.Generate(42)
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "choices:") }, time.Minute, 20*time.Millisecond,
		"no choices printed: %s %s", stdout.String(), stderr.String())
	printed := stdout.String()
	assert.Contains(t, printed, "fixture server (gen:42 rendition")
	assert.Contains(t, printed, "seed:      42\n")
	for _, d := range fixtures.GenDims() {
		assert.Contains(t, printed, string(d)+"="+g.Choices[d])
	}
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code)
	case <-time.After(30 * time.Second):
		t.Fatal("fixtures serve did not stop")
	}
}
