package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/fixtures"
)

// TestInviteRoles invites with each way of naming a role and checks the
// pending invitation on the server, the output and the audit records.
func TestInviteRoles(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	tests := []struct {
		email string
		role  []string // the --role flag, if any
		want  string
	}{
		{"default.role@acme.test", nil, "Editor"},
		{"viewer@acme.test", []string{"--role", "viewer"}, "Viewer"},
		{"user.alias@acme.test", []string{"--role", "User"}, "Editor"},
		{"member.alias@acme.test", []string{"--role", " MEMBER "}, "Editor"},
		{"sales@acme.test", []string{"--role", "sales rep"}, "Sales rep"},
		{"boss@acme.test", []string{"--role", "ADMIN"}, "Admin"},
	}
	for _, tc := range tests {
		t.Run(tc.email, func(t *testing.T) {
			args := append([]string{"--email", tc.email, "--yes"}, tc.role...)
			r := runCLI(t, "", m.cmd("invite", args...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, [][]string{{"invited", tc.email, "invited as " + tc.want}}, tableLines(r.stdout))
			inv, ok := serverInvitation(m.Server, tc.email)
			require.True(t, ok, "the invitation is pending on the server")
			assert.Equal(t, tc.want, inv.Role)
			sent, _ := serverMutations(m.Server, fixtures.KindInvite)
			assert.Equal(t, 1, sent[tc.email], "sent once")

			run := lastRun(t, m.records(t))
			assertRunShape(t, run, "invite", "1234", []string{tc.email}, audit.OutcomeFinished)
			assert.Equal(t, []string{"planned", "started " + tc.email, "invited " + tc.email, "finished"}, trail(run))
			mem, inv2 := before(t, finalFor(t, run, tc.email))
			assert.Nil(t, mem, "nothing was there before")
			assert.Nil(t, inv2)
		})
	}
	m.verifyAudit(t)
}

// TestInviteNoOps: a member or a pending invitation already there is a
// success with nothing clicked, with a note when the role differs.
func TestInviteNoOps(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	tests := []struct {
		email, role string
		action      string
		detail      string
	}{
		{"john.smith@acme.test", "editor", "already-member", "already a member as Editor"},
		{"JO.PARK@ACME.TEST", "admin", "already-member", "already a member as Editor (not Admin; use set-role to change it)"},
		{"pending.one@acme.test", "user", "already-invited", "already invited as Editor"},
		{"new.hire@partner.test", "editor", "already-invited", "already invited as Viewer (not Editor; revoke it and invite again to change the role)"},
	}
	for _, tc := range tests {
		t.Run(tc.email, func(t *testing.T) {
			r := runCLI(t, "", m.cmd("invite", "--email", tc.email, "--role", tc.role, "--yes", "-o", "json")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			results := decodeResults(t, r.stdout)
			require.Len(t, results, 1)
			email := strings.ToLower(tc.email)
			assert.Equal(t, resultLine{Email: email, Action: tc.action, Detail: tc.detail, Evidence: []string{}}, results[0])
			run := lastRun(t, m.records(t))
			assert.Equal(t, []string{"planned", tc.action + " " + email, "finished"}, trail(run), "nothing is clicked")
			mem, inv := before(t, finalFor(t, run, email))
			assert.True(t, mem != nil || inv != nil, "the record keeps what was there")
		})
	}
	assert.Empty(t, m.Server.Mutations())
	assert.Len(t, m.Server.Invitations(), 2)
}

// TestInvitePageErrors: an error the page shows ends in exit 1 with the
// page's own words, in the output and in the audit log.
func TestInvitePageErrors(t *testing.T) {
	tests := []struct {
		name   string
		opts   []fixtures.Option
		faults fixtures.Faults
		words  string
	}{
		{"no seats left", []fixtures.Option{fixtures.WithSeatLimit(14)}, fixtures.Faults{}, "No seats left on your plan."},
		{"an address the page rejects", nil, fixtures.Faults{InviteError: "Please enter a valid email address."}, "Please enter a valid email address."},
		{"a message of the page's own", nil, fixtures.Faults{InviteError: "Invitations are paused for this workspace."}, "Invitations are paused for this workspace."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startMut(t, append([]fixtures.Option{fixtures.WithRendition(fixtures.RenditionGrid)}, tc.opts...)...)
			m.Server.SetFaults(tc.faults)
			r := runCLI(t, "", m.cmd("invite", "--email", "new.person@acme.test", "--yes", "-o", "json")...)
			assert.Equal(t, exitFailed, r.code, r.stderr)
			results := decodeResults(t, r.stdout)
			require.Len(t, results, 1)
			assert.Equal(t, "failed", results[0].Action)
			assert.Contains(t, results[0].Detail, tc.words)
			_, ok := serverInvitation(m.Server, "new.person@acme.test")
			assert.False(t, ok)
			sent, rejected := serverMutations(m.Server, fixtures.KindInvite)
			assert.Empty(t, sent)
			assert.Equal(t, 1, rejected["new.person@acme.test"], "an error that is not transient is not retried")
			run := lastRun(t, m.records(t))
			assertRunShape(t, run, "invite", "1234", []string{"new.person@acme.test"}, audit.OutcomeFinished)
			rec := finalFor(t, run, "new.person@acme.test")
			assert.Equal(t, "failed", rec.Outcome)
			assert.Contains(t, rec.Detail, tc.words)
		})
	}
}

// TestInvitePageErrorIsShownEscaped: the page's own message, which quotes
// what a user typed, reaches the results table escaped and the JSON exactly.
func TestInvitePageErrorIsShownEscaped(t *testing.T) {
	const msg = "Invitations are paused\x1b]0;pwned\x07 \u202edesuap ton"
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	m.Server.SetFaults(fixtures.Faults{InviteError: msg})

	r := runCLI(t, "", m.cmd("invite", "--email", "new.person@acme.test", "--yes")...)
	assert.Equal(t, exitFailed, r.code, r.stderr)
	for _, out := range []string{r.stdout, r.stderr} {
		assert.NotContains(t, out, "\x1b")
		assert.NotContains(t, out, "\x07")
		assert.NotContains(t, out, "\u202e")
	}
	assert.Contains(t, r.stdout, `Invitations are paused\x1b]0;pwned\a \u202edesuap ton`)

	r = runCLI(t, "", m.cmd("invite", "--email", "new.person@acme.test", "--yes", "-o", "json")...)
	assert.Equal(t, exitFailed, r.code, r.stderr)
	results := decodeResults(t, r.stdout)
	require.Len(t, results, 1)
	assert.Contains(t, results[0].Detail, msg)
}

// TestInviteRetriesA500: the invitation is sent again after a 500 and
// pending exactly once.
func TestInviteRetriesA500(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	m.Server.SetFaults(fixtures.Faults{FailMutations: 1})
	r := runCLI(t, "", m.cmd("invite", "--email", "retry@acme.test", "--role", "viewer", "--yes")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, [][]string{{"invited", "retry@acme.test", "invited as Viewer"}}, tableLines(r.stdout))
	sent, failed := serverMutations(m.Server, fixtures.KindInvite)
	assert.Equal(t, map[string]int{"retry@acme.test": 1}, sent)
	assert.Equal(t, map[string]int{"retry@acme.test": 1}, failed)
	n := 0
	for _, i := range m.Server.Invitations() {
		if i.Email == "retry@acme.test" {
			n++
		}
	}
	assert.Equal(t, 1, n)
}

// TestInviteDryRunAndRefusal: a dry run sends nothing; an address outside
// --allow-domain is refused with exit 5.
func TestInviteDryRunAndRefusal(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionPaged))
	tests := []struct {
		name string
		args []string
		code int
		line []string
	}{
		{"dry run", []string{"--email", "new.person@acme.test", "--role", "viewer", "--dry-run"}, exitOK,
			[]string{"would-invite", "new.person@acme.test", "would invite as Viewer"}},
		{"outside --allow-domain", []string{"--email", "someone@gmail.com", "--allow-domain", "acme.test", "--yes"}, exitRefused,
			[]string{"refused", "someone@gmail.com", "refused by a safety rule: someone@gmail.com is outside the allowed domains (acme.test)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", m.cmd("invite", tc.args...)...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			assert.Equal(t, [][]string{tc.line}, tableLines(r.stdout))
			run := lastRun(t, m.records(t))
			assert.Equal(t, []string{"planned", tc.line[0] + " " + tc.line[1], "finished"}, trail(run))
		})
	}
	assert.Empty(t, m.Server.Mutations())
	assert.Len(t, m.Server.Invitations(), 2)
}
