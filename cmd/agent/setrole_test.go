package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/fixtures"
)

// TestSetRoleChangesVerifiesAndAudits changes roles on each rendition (a
// native select on the table, a portal listbox on the grid), then repeats
// the change as a no-op.
func TestSetRoleChangesVerifiesAndAudits(t *testing.T) {
	for _, rendition := range []string{fixtures.RenditionTable, fixtures.RenditionGrid} {
		t.Run(rendition, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(rendition))
			r := runCLI(t, "", m.cmd("set-role", "--email", "John.Smith@acme.test", "--role", "viewer", "--yes")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, [][]string{{"role-changed", "john.smith@acme.test", "changed Smith, John from Editor to Viewer"}}, tableLines(r.stdout))
			assert.Equal(t, "Viewer", serverRole(m.Server, "john.smith@acme.test"))
			changed, _ := serverMutations(m.Server, fixtures.KindSetRole)
			assert.Equal(t, map[string]int{"john.smith@acme.test": 1}, changed)

			run := lastRun(t, m.records(t))
			assertRunShape(t, run, "set-role Viewer", "1234", []string{"john.smith@acme.test"}, audit.OutcomeFinished)
			assert.Equal(t, []string{"planned", "started john.smith@acme.test", "role-changed john.smith@acme.test", "finished"}, trail(run))
			rec := finalFor(t, run, "john.smith@acme.test")
			mem, _ := before(t, rec)
			require.NotNil(t, mem)
			assert.Equal(t, "Editor", string(mem.Role), "the record keeps the role before")
			require.Len(t, rec.Evidence, 2)
			for _, p := range rec.Evidence {
				assertPNG(t, p, m.evidence, run[0].RunID, "john.smith@acme.test")
			}

			// the same role again: nothing to do
			r = runCLI(t, "", m.cmd("set-role", "--email", "john.smith@acme.test", "--role", "VIEWER", "--yes", "-o", "json")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, []resultLine{{Email: "john.smith@acme.test", Action: "unchanged", Detail: "already Viewer", Evidence: []string{}}}, decodeResults(t, r.stdout))
			changed, _ = serverMutations(m.Server, fixtures.KindSetRole)
			assert.Equal(t, 1, changed["john.smith@acme.test"], "nothing is sent for the same role")
			assert.Equal(t, []string{"planned", "unchanged john.smith@acme.test", "finished"}, trail(lastRun(t, m.records(t))))
			m.verifyAudit(t)
		})
	}
}

// TestSetRoleSafetyRules: demoting the signed-in user or the last Admin is
// refused with exit 5 and nothing sent; demoting one of two Admins is not.
func TestSetRoleSafetyRules(t *testing.T) {
	lastAdmin := fixtures.SeedMembers()
	for i := range lastAdmin {
		if lastAdmin[i].Email == fixtures.DefaultEmail {
			lastAdmin[i].Role = fixtures.RoleEditor
		}
	}
	tests := []struct {
		name    string
		members []fixtures.Member
		args    []string
		code    int
		action  string
		detail  string
		role    string // on the server afterwards
	}{
		{"demoting the signed-in user", nil, []string{"--email", "admin@acme.test", "--role", "editor"}, exitRefused, "refused", "signed-in user", "Admin"},
		{"demoting the last Admin", lastAdmin, []string{"--email", "maria.garcia@acme.test", "--role", "viewer"}, exitRefused, "refused", "last Admin", "Admin"},
		{"outside --allow-domain", nil, []string{"--email", "kal@acme.test.io", "--role", "viewer", "--allow-domain", "acme.test"}, exitRefused, "refused", "outside the allowed domains", "Editor"},
		{"an email that is no member", nil, []string{"--email", "nobody@acme.test", "--role", "viewer"}, exitFailed, "failed", "no member with this email", ""},
		{"an email that is only invited", nil, []string{"--email", "pending.one@acme.test", "--role", "viewer"}, exitFailed, "failed", "revoke it and invite again", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
			if tc.members != nil {
				m.Server.SetMembers(tc.members)
			}
			r := runCLI(t, "", m.cmd("set-role", append(tc.args, "--yes", "-o", "json")...)...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			results := decodeResults(t, r.stdout)
			require.Len(t, results, 1)
			assert.Equal(t, tc.action, results[0].Action)
			assert.Contains(t, results[0].Detail, tc.detail)
			assert.Empty(t, m.Server.Mutations(), "nothing is sent")
			assert.Equal(t, tc.role, serverRole(m.Server, tc.args[1]))
			run := lastRun(t, m.records(t))
			assert.Equal(t, []string{"planned", tc.action + " " + tc.args[1], "finished"}, trail(run), "nothing is clicked")
		})
	}

	t.Run("demoting one of two Admins", func(t *testing.T) {
		m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
		r := runCLI(t, "", m.cmd("set-role", "--email", "maria.garcia@acme.test", "--role", "editor", "--yes")...)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, "Editor", serverRole(m.Server, "maria.garcia@acme.test"))
	})
}

// TestSetRoleRetriesA500: the change is made once after a 500.
func TestSetRoleRetriesA500(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	m.Server.SetFaults(fixtures.Faults{FailMutations: 1})
	r := runCLI(t, "", m.cmd("set-role", "--email", "tom.becker@acme.test", "--role", "admin", "--yes")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, [][]string{{"role-changed", "tom.becker@acme.test", "changed Tom Becker from Sales rep to Admin"}}, tableLines(r.stdout))
	ok, failed := serverMutations(m.Server, fixtures.KindSetRole)
	assert.Equal(t, map[string]int{"tom.becker@acme.test": 1}, ok)
	assert.Equal(t, map[string]int{"tom.becker@acme.test": 1}, failed)
	assert.Equal(t, "Admin", serverRole(m.Server, "tom.becker@acme.test"))
}

// TestSetRoleDryRun shows the change and makes none.
func TestSetRoleDryRun(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionPaged))
	r := runCLI(t, "", m.cmd("set-role", "--email", "priya.nair@acme.test", "--role", "sales-rep", "--dry-run")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, [][]string{{"would-change-role", "priya.nair@acme.test", "would change Priya Nair from Viewer to Sales rep"}}, tableLines(r.stdout))
	assert.Empty(t, m.Server.Mutations())
	assert.Equal(t, "Viewer", serverRole(m.Server, "priya.nair@acme.test"))
	run := lastRun(t, m.records(t))
	assert.Equal(t, "set-role Sales rep --dry-run", run[0].Command)
	assert.Equal(t, []string{"planned", "would-change-role priya.nair@acme.test", "finished"}, trail(run))
}
