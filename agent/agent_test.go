package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/secret"
)

func writeSession(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "session.json")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	require.NoError(t, os.Chmod(p, mode))
	return p
}

func TestLoadSession(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	valid := func(expires float64) string {
		return fmt.Sprintf(`{"cookies":[{"name":"claysession","value":"s:secret-value.sig","domain":".clay.com","path":"/","expires":%v,"httpOnly":true,"secure":true,"sameSite":"Lax"}],"origins":[]}`, expires)
	}
	// linked is a session file reached through a link, as a Kubernetes
	// Secret volume gives it
	linked := func(mode os.FileMode) func(t *testing.T) string {
		return func(t *testing.T) string {
			target := writeSession(t, valid(-1), mode)
			link := filepath.Join(t.TempDir(), "session.json")
			require.NoError(t, os.Symlink(target, link))
			return link
		}
	}
	cases := []struct {
		name    string
		path    func(t *testing.T) string
		want    error
		reason  error // the secret file's reason, for a refused file
		message string
	}{
		{"valid", func(t *testing.T) string { return writeSession(t, valid(float64(now.Add(time.Hour).Unix())), 0o600) }, nil, nil, ""},
		{"session cookie without expiry", func(t *testing.T) string { return writeSession(t, valid(-1), 0o400) }, nil, nil, ""},
		{"through a link", linked(0o600), nil, nil, ""},
		{"no path", func(*testing.T) string { return "" }, ErrUsage, nil, "--session"},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.json") }, ErrUsage, secret.ErrNotFound, "agent login"},
		{"a directory", func(t *testing.T) string { return t.TempDir() }, ErrUsage, secret.ErrNotRegular, "is a directory"},
		{"readable by others", func(t *testing.T) string { return writeSession(t, valid(-1), 0o644) }, ErrUsage, secret.ErrPermissive, "chmod 600"},
		{"readable by group", func(t *testing.T) string { return writeSession(t, valid(-1), 0o640) }, ErrUsage, secret.ErrPermissive, "mode 0640"},
		{"a link to a file others may read", linked(0o604), ErrUsage, secret.ErrPermissive, "chmod 600"},
		{"empty", func(t *testing.T) string { return writeSession(t, "", 0o600) }, ErrUsage, secret.ErrEmpty, "empty"},
		{"malformed", func(t *testing.T) string { return writeSession(t, `{"cookies": [`, 0o600) }, ErrUsage, nil, "not a storage-state"},
		{"no cookies", func(t *testing.T) string { return writeSession(t, `{"cookies": [], "origins": []}`, 0o600) }, ErrUsage, nil, "no cookies"},
		{"nameless cookie", func(t *testing.T) string { return writeSession(t, `{"cookies": [{"value": "x"}]}`, 0o600) }, ErrUsage, nil, "no name"},
		{"expired", func(t *testing.T) string { return writeSession(t, valid(float64(now.Add(-time.Hour).Unix())), 0o600) }, ErrLoginRequired, nil, "agent login"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			s, err := LoadSession(path, now)
			if tc.want == nil {
				require.NoError(t, err)
				c, ok := s.SessionCookie()
				require.True(t, ok)
				assert.Equal(t, "s:secret-value.sig", c.Value)
				return
			}
			require.ErrorIs(t, err, tc.want)
			if tc.reason != nil {
				require.ErrorIs(t, err, tc.reason)
				assert.Contains(t, err.Error(), "session file "+path)
			}
			assert.Contains(t, err.Error(), tc.message)
			assert.NotContains(t, err.Error(), "secret-value", "errors never quote the secret")
		})
	}
}

func TestSessionSecretsNeverPrinted(t *testing.T) {
	s := &StorageState{Cookies: []Cookie{{Name: "claysession", Value: "s:top-secret.sig", Domain: ".clay.com", Path: "/"}}}
	for _, out := range []string{fmt.Sprint(s.Cookies[0]), fmt.Sprintf("%v", s.Cookies), fmt.Sprintf("%+v", s.Cookies[0]), fmt.Sprintf("%#v", s.Cookies[0]), s.String()} {
		assert.NotContains(t, out, "top-secret")
	}
}

func TestSessionSaveIsPrivateAndRoundTrips(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.json")
	in := &StorageState{Cookies: []Cookie{{Name: "claysession", Value: "v", Domain: "127.0.0.1", Path: "/", Expires: -1}}, Origins: []Origin{}}
	require.NoError(t, in.Save(p))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	out, err := LoadSession(p, time.Now())
	require.NoError(t, err)
	assert.Equal(t, in.Cookies, out.Cookies)
	var raw map[string]any
	data, _ := os.ReadFile(p)
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Contains(t, raw, "origins", "Playwright's shape")
}

func TestConfigTeamURL(t *testing.T) {
	cases := []struct {
		cfg     Config
		want    string
		wantErr bool
	}{
		{Config{Workspace: "1234"}, "https://app.clay.com/workspaces/1234/settings/team", false},
		{Config{BaseURL: "http://127.0.0.1:8089/", Workspace: "9", TeamPath: "/w/{workspace}/team"}, "http://127.0.0.1:8089/w/9/team", false},
		{Config{BaseURL: "http://x.test", TeamPath: "settings/team"}, "http://x.test/settings/team", false},
		{Config{Workspace: "a/b"}, "https://app.clay.com/workspaces/a%2Fb/settings/team", false},
		{Config{}, "", true},
		{Config{BaseURL: "app.clay.com", Workspace: "1"}, "", true},
		{Config{BaseURL: "ftp://app.clay.com", Workspace: "1"}, "", true},
	}
	for _, tc := range cases {
		got, err := tc.cfg.TeamURL()
		if tc.wantErr {
			assert.ErrorIs(t, err, ErrUsage, "%+v", tc.cfg)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Workspace: "1"}
	require.NoError(t, ok.Validate())
	for _, bad := range []Config{
		{},
		{Workspace: "1", StepTimeout: -time.Second},
		{Workspace: "1", ChromeURL: "localhost:9222"},
		{Workspace: "1", ChromeURL: "file:///tmp/x"},
		{Workspace: "../1234"},
		{Workspace: "1234/../../admin"},
		{Workspace: "acme"},
		{Workspace: "12 34"},
		{Workspace: "１２３"}, // full-width digits
		{Workspace: "123456789012345678901"},
	} {
		assert.ErrorIs(t, bad.Validate(), ErrUsage, "%+v", bad)
	}
	assert.NoError(t, Config{Workspace: "1", ChromeURL: "http://chrome:9222"}.Validate())
	assert.NoError(t, Config{Workspace: "1", ChromeURL: "ws://chrome:9222/devtools/browser/x"}.Validate())
}

func TestFindChrome(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	_, realErr := os.Stat("/usr/lib/chromium/chromium")
	got, err := FindChrome()
	if realErr == nil {
		require.NoError(t, err)
		assert.Equal(t, "/usr/lib/chromium/chromium", got, "the real binary, not Debian's wrapper")
	} else {
		require.ErrorIs(t, err, ErrNoChrome)
		assert.Contains(t, err.Error(), "apt-get install -y chromium")
		assert.Contains(t, err.Error(), "CHROME_PATH")
	}
	// a headless-shell on PATH comes first of all
	shell := filepath.Join(dir, "headless-shell")
	require.NoError(t, os.WriteFile(shell, []byte("#!/bin/sh\n"), 0o755))
	got, err = FindChrome()
	require.NoError(t, err)
	assert.Equal(t, shell, got)
}
