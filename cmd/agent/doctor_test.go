package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
)

func TestDoctor(t *testing.T) {
	env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionGrid))
	chrome := fixturetest.Chrome(t)
	base := []string{"doctor", "--base-url", env.URL(), "--workspace", env.Server.Workspace(), "--team-path", env.Server.TeamPath(),
		"--chrome", chrome, "--timeout", "10s", "--artifacts-dir", t.TempDir()}

	t.Run("all good", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(append(base, "--session", env.SessionFile), strings.NewReader(""), &out, &errb)
		require.Equal(t, 0, code, out.String()+errb.String())
		for _, check := range []string{"browser", "config", "session", "reachable", "team page"} {
			assert.Regexp(t, `(?m)^ok\s+`+check, out.String())
		}
		assert.Contains(t, out.String(), "12 members, 2 pending invitations")
	})
	t.Run("a session file others can read", func(t *testing.T) {
		require.NoError(t, os.Chmod(env.SessionFile, 0o644))
		defer os.Chmod(env.SessionFile, 0o600)
		var out, errb bytes.Buffer
		code := run(append(base, "--session", env.SessionFile, "--offline"), strings.NewReader(""), &out, &errb)
		assert.Equal(t, 1, code)
		assert.Regexp(t, `(?m)^FAIL\s+session\s+.*chmod 600`, out.String())
		assert.Regexp(t, `(?m)^ok\s+browser`, out.String())
		assert.NotContains(t, out.String(), "team page", "--offline starts no browser")
	})
	t.Run("an expired session", func(t *testing.T) {
		env.Server.SetFaults(fixtures.Faults{ExpireSession: true})
		defer env.Server.SetFaults(fixtures.Faults{})
		var out, errb bytes.Buffer
		code := run(append(base, "--session", env.SessionFile), strings.NewReader(""), &out, &errb)
		assert.Equal(t, 1, code)
		assert.Regexp(t, `(?m)^FAIL\s+team page\s+.*agent login`, out.String())
	})
}
