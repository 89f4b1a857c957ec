package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
	"github.com/clay-agent/clay-agent/flows"
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
		assert.Equal(t, exitLogin, code, "signed out")
		assert.Regexp(t, `(?m)^FAIL\s+team page\s+.*agent login`, out.String())
	})
}

// TestDoctorProvesEveryControl: on every rendition, doctor finds every
// control the flows need, opening and closing popups, menus and the invite
// dialog, and never sends a mutation; on a page whose remove controls lost
// their hooks it exits 4 naming them, before an offboarding finds out.
func TestDoctorProvesEveryControl(t *testing.T) {
	chrome := fixturetest.Chrome(t)
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			args := []string{"doctor", "--base-url", env.URL(), "--workspace", env.Server.Workspace(),
				"--session", env.SessionFile, "--chrome", chrome, "--timeout", "10s", "--artifacts-dir", t.TempDir()}

			r := runCLI(t, "", append(args, "-o", "json")...)
			require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
			var rep struct {
				Controls []flows.Check `json:"controls"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
			got := map[flows.ProbeControl]flows.Check{}
			for _, c := range rep.Controls {
				got[c.Control] = c
				assert.True(t, c.OK(), "%s: %+v", c.Control, c)
			}
			for _, c := range []flows.ProbeControl{flows.ProbeList, flows.ProbeInvite, flows.ProbeInviteEmail, flows.ProbeSendInvite, flows.ProbeRole, flows.ProbeRemove, flows.ProbeRevoke} {
				require.Contains(t, got, c)
				assert.True(t, got[c].Found && got[c].Unique, "%s: %+v", c, got[c])
				assert.NotEmpty(t, got[c].Hook, c)
			}
			if got[flows.ProbeRemove].Detail != "" && strings.Contains(got[flows.ProbeRemove].Detail, "actions menu") {
				assert.True(t, got[flows.ProbeRemoveItem].Found, "the menu's Remove item was found: %+v", got[flows.ProbeRemoveItem])
			}
			assert.Empty(t, env.Server.Mutations(), "doctor changes nothing")

			env.Server.SetFaults(fixtures.Faults{BareRemove: true})
			r = runCLI(t, "", args...)
			assert.Equal(t, exitPageChanged, r.code, r.stdout+r.stderr)
			assert.Regexp(t, `(?m)^FAIL\s+team page\s+.*remove`, r.stdout)
			assert.Regexp(t, `(?m)^(remove|remove-item)\s+no\s`, r.stdout, "the table names the control")
			assert.Regexp(t, `(?m)^list\s+yes\s`, r.stdout, "the list still reads")
			assert.Empty(t, env.Server.Mutations(), "doctor changes nothing")
		})
	}
}
