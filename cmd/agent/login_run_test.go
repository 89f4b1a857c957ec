package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/engine"
)

// fakeLogin is a sign-in page without a browser: it records what the run
// asked of it.
type fakeLogin struct {
	sess    fakeSession
	openErr error
	cookies []agent.Cookie
	err     error

	opened   []string // "teamURL signInTimeout"
	signedIn []string // "email password"
	saved    map[string]*agent.StorageState
}

func (f *fakeLogin) options(s streams, n *noted) *loginOptions {
	f.saved = map[string]*agent.StorageState{}
	return &loginOptions{
		streams: s, signInTimeout: 90 * time.Second,
		address: "ops@acme.test", password: "horse-battery",
		cfg:     agent.Config{Workspace: "1234", SessionFile: "/home/ops/.config/clay-agent/session.json"},
		teamURL: "http://127.0.0.1:9/workspaces/1234/settings/team",
		openBrowser: func(_ context.Context, cfg agent.Config, teamURL string, d time.Duration) (engine.Session, error) {
			f.opened = append(f.opened, fmt.Sprintf("%s %s", teamURL, d))
			if f.openErr != nil {
				return nil, f.openErr
			}
			return &f.sess, nil
		},
		signIn: func(_ context.Context, s engine.Session, email, password string) ([]agent.Cookie, error) {
			if s != &f.sess {
				return nil, errors.New("signed in on another session")
			}
			f.signedIn = append(f.signedIn, email+" "+password)
			return f.cookies, f.err
		},
		saveSession: func(path string, st *agent.StorageState) error {
			f.saved[path] = st
			return nil
		},
		artifacts: artifactKeeper{note: n.note},
	}
}

func TestRunLoginSavesTheSession(t *testing.T) {
	cookie := agent.Cookie{Name: agent.SessionCookieName, Value: "s:secret", Domain: "127.0.0.1", Path: "/", HTTPOnly: true}
	f := &fakeLogin{cookies: []agent.Cookie{cookie}}
	s, out, errOut := testStreams("")
	n := &noted{}
	opts := f.options(s, n)
	require.NoError(t, loginRun(context.Background(), opts))

	assert.Equal(t, []string{"http://127.0.0.1:9/workspaces/1234/settings/team 1m30s"}, f.opened, "the Team page, with --signin-timeout")
	assert.Equal(t, []string{"ops@acme.test horse-battery"}, f.signedIn)
	require.Contains(t, f.saved, opts.cfg.SessionFile)
	st := f.saved[opts.cfg.SessionFile]
	assert.Equal(t, []agent.Cookie{cookie}, st.Cookies)
	assert.NotNil(t, st.Origins, "origins is [] in the file, not null")
	assert.Empty(t, st.Origins)
	assert.Equal(t, "signed in as ops@acme.test; session saved to /home/ops/.config/clay-agent/session.json (mode 0600)\n", out.String())
	assert.NotContains(t, out.String()+errOut.String(), "secret")
	assert.NotContains(t, out.String()+errOut.String(), "horse-battery")
	assert.Equal(t, 1, f.sess.closed, "the browser is closed")
	assert.Empty(t, f.sess.artifacts)
}

func TestRunLoginWritesAPrivateFileIntoANewDirectory(t *testing.T) {
	cookie := agent.Cookie{Name: agent.SessionCookieName, Value: "s:secret", Domain: "127.0.0.1", Path: "/", Expires: float64(time.Now().Add(time.Hour).Unix())}
	f := &fakeLogin{cookies: []agent.Cookie{cookie}}
	s, _, _ := testStreams("")
	opts := f.options(s, &noted{})
	opts.cfg.SessionFile = filepath.Join(t.TempDir(), "new", "deeper", "session.json")
	opts.saveSession = saveSessionFile
	require.NoError(t, loginRun(context.Background(), opts))
	st, err := os.Stat(opts.cfg.SessionFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	state, err := agent.LoadSession(opts.cfg.SessionFile, time.Now())
	require.NoError(t, err, "the file is a storage state the other commands read")
	got, ok := state.SessionCookie()
	require.True(t, ok)
	assert.Equal(t, "s:secret", got.Value)
}

func TestRunLoginFailedSignInWritesNothing(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
	}{
		{"wrong password", fmt.Errorf("%w: the page says: Incorrect email or password.", agent.ErrLoginRequired), exitLogin},
		{"a one-time code", fmt.Errorf("%w: the login page asks for a one-time code", agent.ErrLoginRequired), exitLogin},
		{"a login page that changed", fmt.Errorf("%w: no password field", agent.ErrPageChanged), exitPageChanged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLogin{err: tc.err}
			f.sess.paths = []string{"artifacts/login.png"}
			s, out, _ := testStreams("")
			n := &noted{}
			err := loginRun(context.Background(), f.options(s, n))
			require.ErrorIs(t, err, tc.err)
			assert.Equal(t, tc.code, exitCode(err))
			assert.Empty(t, f.saved, "no session file")
			assert.Empty(t, out.String())
			assert.Equal(t, []string{"login"}, f.sess.artifacts, "the page is kept")
			assert.Equal(t, []string{"artifacts/login.png"}, n.paths)
			assert.Equal(t, 1, f.sess.closed)
		})
	}
}

func TestRunLoginWithoutABrowser(t *testing.T) {
	f := &fakeLogin{openErr: fmt.Errorf("no Chrome or Chromium found: %w", os.ErrNotExist)}
	s, out, _ := testStreams("")
	err := loginRun(context.Background(), f.options(s, &noted{}))
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Equal(t, exitFailed, exitCode(err))
	assert.Empty(t, f.signedIn, "no sign-in without a browser")
	assert.Empty(t, f.saved)
	assert.Empty(t, out.String())
}

func TestLoginPrepareChecksBeforeTheBrowser(t *testing.T) {
	session := "/home/ops/session.json"
	cfg := agent.Config{BaseURL: "http://127.0.0.1:9", Workspace: "1234", TeamPath: agent.DefaultTeamPath, SessionFile: session}
	env := func(pw string) func(string) string {
		return func(k string) string {
			if k == "CLAY_PASSWORD" {
				return pw
			}
			return ""
		}
	}
	tests := []struct {
		name     string
		opts     loginOptions
		stdin    string
		cfg      func(agent.Config) agent.Config
		want     string // a substring of the usage error; "" for none
		password string
	}{
		{name: "password on stdin", opts: loginOptions{email: "Ops@Acme.Test", passwordStdin: true}, stdin: "pw\r\nsecond line\n", password: "pw"},
		{name: "password without a newline", opts: loginOptions{email: "ops@acme.test", passwordStdin: true}, stdin: "pw", password: "pw"},
		{name: "password in CLAY_PASSWORD", opts: loginOptions{email: "ops@acme.test", getenv: env("from-env")}, password: "from-env"},
		{name: "stdin over CLAY_PASSWORD", opts: loginOptions{email: "ops@acme.test", passwordStdin: true, getenv: env("from-env")}, stdin: "pw\n", password: "pw"},
		{name: "no password", opts: loginOptions{email: "ops@acme.test"}, want: "no password: use --password-stdin or set CLAY_PASSWORD"},
		{name: "nothing on stdin", opts: loginOptions{email: "ops@acme.test", passwordStdin: true}, want: "--password-stdin: no password on standard input"},
		{name: "an empty line", opts: loginOptions{email: "ops@acme.test", passwordStdin: true}, stdin: "\n", want: "--password-stdin: the password is empty"},
		{name: "no email, before the password", opts: loginOptions{}, want: "--email"},
		{name: "not an email", opts: loginOptions{email: "Ops <ops@acme.test>", passwordStdin: true}, stdin: "pw\n", want: "--email"},
		{name: "no sign-in timeout", opts: loginOptions{email: "ops@acme.test", signInTimeout: -1}, want: "--signin-timeout must be positive"},
		{name: "no session file", opts: loginOptions{email: "ops@acme.test", passwordStdin: true}, stdin: "pw\n",
			cfg: func(c agent.Config) agent.Config { c.SessionFile = ""; return c }, want: "no session file to write"},
		{name: "no workspace", opts: loginOptions{email: "ops@acme.test", passwordStdin: true}, stdin: "pw\n",
			cfg: func(c agent.Config) agent.Config { c.Workspace = ""; return c }, want: "no workspace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.streams, _, _ = testStreams(tc.stdin)
			if o.getenv == nil {
				o.getenv = env("")
			}
			if o.signInTimeout == 0 {
				o.signInTimeout = time.Minute
			}
			c := cfg
			if tc.cfg != nil {
				c = tc.cfg(c)
			}
			err := o.prepare(c)
			if tc.want != "" {
				require.ErrorIs(t, err, agent.ErrUsage)
				assert.Contains(t, err.Error(), tc.want)
				assert.Empty(t, o.password, "nothing is kept of a refused command line")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.password, o.password)
			assert.Equal(t, "ops@acme.test", o.address)
			assert.Equal(t, "http://127.0.0.1:9/workspaces/1234/settings/team", o.teamURL)
			assert.Equal(t, session, o.cfg.SessionFile)
		})
	}
}
