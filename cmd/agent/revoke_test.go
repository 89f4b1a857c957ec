package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/fixtures"
)

// TestRevokeLeavesMembersAlone revokes an invitation and reports a member
// and an unknown address as already-absent, without touching the member.
func TestRevokeLeavesMembersAlone(t *testing.T) {
	for _, rendition := range []string{fixtures.RenditionTable, fixtures.RenditionPaged} {
		t.Run(rendition, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(rendition))
			targets := []string{"new.hire@partner.test", "john.smith@acme.test", "nobody@acme.test"}
			r := runCLI(t, "", m.cmd("revoke", "--email", "NEW.HIRE@partner.test", "--email", targets[1], "--email", targets[2], "--yes")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, [][]string{
				{"revoked-invitation", "new.hire@partner.test", "revoked the pending invitation (Viewer)"},
				{"already-absent", "john.smith@acme.test", "no pending invitation with this email (a member has it; use offboard to remove members)"},
				{"already-absent", "nobody@acme.test", "no pending invitation with this email"},
			}, tableLines(r.stdout))
			_, invited := serverInvitation(m.Server, "new.hire@partner.test")
			assert.False(t, invited)
			assert.True(t, serverHasMember(m.Server, "john.smith@acme.test"))
			revoked, _ := serverMutations(m.Server, fixtures.KindRevoke)
			assert.Equal(t, map[string]int{"new.hire@partner.test": 1}, revoked)
			assert.Len(t, m.Server.Mutations(), 1)

			run := lastRun(t, m.records(t))
			assertRunShape(t, run, "revoke", "1234", targets, audit.OutcomeFinished)
			assert.Equal(t, []string{
				"planned",
				"started new.hire@partner.test", "revoked-invitation new.hire@partner.test",
				"already-absent john.smith@acme.test", "already-absent nobody@acme.test",
				"finished",
			}, trail(run))
			rec := finalFor(t, run, "new.hire@partner.test")
			_, inv := before(t, rec)
			require.NotNil(t, inv)
			assert.Equal(t, "Viewer", string(inv.Role))
			require.Len(t, rec.Evidence, 2)
			for _, p := range rec.Evidence {
				assertPNG(t, p, m.evidence, run[0].RunID, "new.hire@partner.test")
			}
			m.verifyAudit(t)
		})
	}
}

// TestRevokeSafetyRules: --max-removals and --allow-domain refuse with
// exit 5 and nothing sent.
func TestRevokeSafetyRules(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		actions []string
		detail  string
	}{
		{"more revocations than --max-removals", []string{"--max-removals", "1", "--email", "pending.one@acme.test", "--email", "new.hire@partner.test", "--email", "john.smith@acme.test"},
			[]string{"refused", "refused", "already-absent"}, "would revoke 2 invitations, more than --max-removals 1"},
		{"outside --allow-domain", []string{"--allow-domain", "acme.test", "--email", "new.hire@partner.test"},
			[]string{"refused"}, "outside the allowed domains"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
			r := runCLI(t, "", m.cmd("revoke", append(tc.args, "--yes", "-o", "json")...)...)
			assert.Equal(t, exitRefused, r.code, r.stderr)
			results := decodeResults(t, r.stdout)
			require.Len(t, results, len(tc.actions))
			run := lastRun(t, m.records(t))
			for i, res := range results {
				assert.Equal(t, tc.actions[i], res.Action)
				assert.Equal(t, tc.actions[i], finalFor(t, run, res.Email).Outcome)
				if res.Action == "refused" {
					assert.Contains(t, res.Detail, tc.detail)
				}
			}
			for _, line := range trail(run) {
				assert.NotContains(t, line, "started", "nothing is clicked")
			}
			assert.Empty(t, m.Server.Mutations())
			assert.Len(t, m.Server.Invitations(), 2)
		})
	}
}

// TestRevokeDryRunAndRetry: a dry run sends nothing; a 500 is retried and
// the invitation revoked once.
func TestRevokeDryRunAndRetry(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	r := runCLI(t, "", m.cmd("revoke", "--email", "pending.one@acme.test", "--dry-run")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, [][]string{{"would-revoke-invitation", "pending.one@acme.test", "would revoke the pending invitation (Editor)"}}, tableLines(r.stdout))
	assert.Empty(t, m.Server.Mutations())
	assert.Equal(t, "revoke --dry-run", lastRun(t, m.records(t))[0].Command)

	m.Server.SetFaults(fixtures.Faults{FailMutations: 1})
	r = runCLI(t, "", m.cmd("revoke", "--email", "pending.one@acme.test", "--yes")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "revoked-invitation", tableLines(r.stdout)[0][0])
	ok, failed := serverMutations(m.Server, fixtures.KindRevoke)
	assert.Equal(t, map[string]int{"pending.one@acme.test": 1}, ok)
	assert.Equal(t, map[string]int{"pending.one@acme.test": 1}, failed)
	_, invited := serverInvitation(m.Server, "pending.one@acme.test")
	assert.False(t, invited)
	m.verifyAudit(t)
}
