package main

import (
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/fixtures"
)

// TestOffboardRemovesRevokesVerifiesAndAudits offboards members, a pending
// invitation, a member with an invitation and an absent email, given by
// --email and by --from-file, and checks the output, the server, the
// evidence and every audit record.
func TestOffboardRemovesRevokesVerifiesAndAudits(t *testing.T) {
	for _, rendition := range []string{fixtures.RenditionTable, fixtures.RenditionGrid} {
		t.Run(rendition, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(rendition))
			m.Server.SetInvitations(append(fixtures.SeedInvitations(), fixtures.Invitation{ID: 503, Email: "al@acme.test", Role: "Viewer"}))
			file := filepath.Join(m.Dir, "leavers.txt")
			require.NoError(t, os.WriteFile(file, []byte("# leavers\n\npending.one@acme.test\n  nobody@acme.test   # never joined\nAl@Acme.Test\n"), 0o600))

			r := runCLI(t, "", m.cmd("offboard", "--email", " John.Smith@ACME.test ", "--from-file", file, "--yes")...)
			require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
			assert.Equal(t, [][]string{
				{"removed", "john.smith@acme.test", "removed Smith, John (Editor)"},
				{"revoked-invitation", "pending.one@acme.test", "revoked the pending invitation (Editor)"},
				{"already-absent", "nobody@acme.test", "no member and no pending invitation with this email"},
				{"removed", "al@acme.test", "removed Al Brenner (Editor); revoked the pending invitation (Viewer)"},
			}, tableLines(r.stdout))

			// the server: each change made exactly once, nothing else touched
			removed, failedRemovals := serverMutations(m.Server, fixtures.KindRemove)
			assert.Equal(t, map[string]int{"john.smith@acme.test": 1, "al@acme.test": 1}, removed)
			assert.Empty(t, failedRemovals)
			revoked, _ := serverMutations(m.Server, fixtures.KindRevoke)
			assert.Equal(t, map[string]int{"pending.one@acme.test": 1, "al@acme.test": 1}, revoked)
			assert.Len(t, m.Server.Mutations(), 4)
			assert.False(t, serverHasMember(m.Server, "john.smith@acme.test"))
			assert.False(t, serverHasMember(m.Server, "al@acme.test"))
			assert.True(t, serverHasMember(m.Server, "sal@acme.test"), "al@ never matches sal@")
			_, invited := serverInvitation(m.Server, "pending.one@acme.test")
			assert.False(t, invited)

			// the audit log
			targets := []string{"john.smith@acme.test", "pending.one@acme.test", "nobody@acme.test", "al@acme.test"}
			run := lastRun(t, m.records(t))
			assertRunShape(t, run, "offboard", "1234", targets, audit.OutcomeFinished)
			assert.Equal(t, []string{
				"planned",
				"started john.smith@acme.test", "removed john.smith@acme.test",
				"started pending.one@acme.test", "revoked-invitation pending.one@acme.test",
				"already-absent nobody@acme.test",
				"started al@acme.test", "removed al@acme.test",
				"finished",
			}, trail(run))
			assert.Equal(t, "2 removed, 1 revoked-invitation, 1 already-absent", run[len(run)-1].Detail)

			john := finalFor(t, run, "john.smith@acme.test")
			mem, inv := before(t, john)
			require.NotNil(t, mem)
			assert.Equal(t, "Smith, John", mem.Name)
			assert.Equal(t, "Editor", string(mem.Role))
			assert.Nil(t, inv)
			pending := finalFor(t, run, "pending.one@acme.test")
			mem, inv = before(t, pending)
			assert.Nil(t, mem)
			require.NotNil(t, inv)
			assert.Equal(t, "Editor", string(inv.Role))
			al := finalFor(t, run, "al@acme.test")
			mem, inv = before(t, al)
			require.NotNil(t, mem)
			require.NotNil(t, inv)
			assert.Equal(t, "Viewer", string(inv.Role))
			nobody := finalFor(t, run, "nobody@acme.test")
			mem, inv = before(t, nobody)
			assert.Nil(t, mem)
			assert.Nil(t, inv)

			// the evidence: a screenshot before and after each click, none
			// for the absent email
			var kept []string
			for _, rec := range []audit.Record{john, pending, al} {
				require.Len(t, rec.Evidence, 2, rec.Target)
				assert.True(t, strings.HasSuffix(rec.Evidence[0], "-before.png"), rec.Evidence[0])
				assert.True(t, strings.HasSuffix(rec.Evidence[1], "-after.png"), rec.Evidence[1])
				for _, p := range rec.Evidence {
					assertPNG(t, p, m.evidence, run[0].RunID, rec.Target)
					kept = append(kept, filepath.Base(p))
				}
			}
			assert.Empty(t, nobody.Evidence)
			assert.ElementsMatch(t, kept, m.evidenceFiles(t), "no other evidence files")
			assert.Equal(t, len(m.records(t)), m.verifyAudit(t))
			assert.NoDirExists(t, m.artifacts, "a run without failures keeps no failure artifacts")
		})
	}
}

// TestOffboardJSONOutput checks the documented JSON shape, and that its
// evidence is the audit log's.
func TestOffboardJSONOutput(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionPaged))
	r := runCLI(t, "", m.cmd("offboard", "--email", "bob.oneil@acme.test", "--email", "nobody@acme.test", "--email", "admin@acme.test", "--yes", "-o", "json")...)
	assert.Equal(t, exitRefused, r.code, "the worst outcome is the refusal: %s", r.stderr)
	assert.Empty(t, r.stderrLines(), "the results say it all")
	results := decodeResults(t, r.stdout)
	require.Len(t, results, 3)
	assert.Equal(t, resultLine{Email: "nobody@acme.test", Action: "already-absent", Detail: "no member and no pending invitation with this email", Evidence: []string{}}, results[1])
	assert.Equal(t, "removed", results[0].Action)
	assert.Equal(t, `removed Robert "Bob" O'Neil (Editor)`, results[0].Detail)
	assert.Equal(t, "refused", results[2].Action)
	assert.Contains(t, results[2].Detail, "signed-in user")
	assert.Empty(t, results[2].Evidence)
	run := lastRun(t, m.records(t))
	assert.Equal(t, finalFor(t, run, "bob.oneil@acme.test").Evidence, results[0].Evidence)
	require.Len(t, results[0].Evidence, 2)
}

// TestOffboardNoOps: an email that is not there, whatever its case and
// however close to another, is already-absent, and nothing is clicked.
func TestOffboardNoOps(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	r := runCLI(t, "", m.cmd("offboard", "--email", "JO.PARK@acme.TEST", "--yes")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "removed", tableLines(r.stdout)[0][0], "matching ignores case")
	assert.False(t, serverHasMember(m.Server, "jo.park@acme.test"))
	before := len(m.Server.Mutations())
	evidence := m.evidenceFiles(t)

	targets := []string{
		"jo.park@acme.test", // just removed
		"kal@acme.test",     // kal@acme.test.io is a member
		"smith@acme.test",   // john.smith@acme.test is a member
		"al@acme.tes",       // al@acme.test is a member
		"pending@acme.test", // pending.one@acme.test is invited
	}
	args := []string{"--yes"}
	for _, e := range targets {
		args = append(args, "--email", e)
	}
	r = runCLI(t, "", m.cmd("offboard", args...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := tableLines(r.stdout)
	require.Len(t, lines, len(targets))
	for i, l := range lines {
		assert.Equal(t, []string{"already-absent", targets[i]}, l[:2])
	}
	assert.Len(t, m.Server.Mutations(), before, "nothing is sent")
	assert.Equal(t, evidence, m.evidenceFiles(t), "nothing is clicked, so no screenshots")
	run := lastRun(t, m.records(t))
	assertRunShape(t, run, "offboard", "1234", targets, audit.OutcomeFinished)
	for _, rec := range run[1 : len(run)-1] {
		assert.Equal(t, "already-absent", rec.Outcome, rec.Target)
	}
	assert.Equal(t, "5 already-absent", run[len(run)-1].Detail)
	assert.True(t, serverHasMember(m.Server, "kal@acme.test.io"))
	assert.True(t, serverHasMember(m.Server, "john.smith@acme.test"))
	assert.True(t, serverHasMember(m.Server, "al@acme.test"))
	_, invited := serverInvitation(m.Server, "pending.one@acme.test")
	assert.True(t, invited)
}

// TestOffboardSafetyRules: each rule refuses with exit 5, clicks nothing,
// and writes a "refused" record; targets the rules allow still go ahead.
func TestOffboardSafetyRules(t *testing.T) {
	lastAdmin := fixtures.SeedMembers()
	for i := range lastAdmin {
		if lastAdmin[i].Email == fixtures.DefaultEmail {
			lastAdmin[i].Role = fixtures.RoleEditor // Maria is then the last Admin
		}
	}
	tests := []struct {
		name    string
		members []fixtures.Member
		args    []string
		targets []string
		actions []string
		detail  string
		code    int
		removed map[string]int
	}{
		{
			name: "the signed-in user", targets: []string{"admin@acme.test"},
			actions: []string{"refused"}, detail: "signed-in user", code: exitRefused,
		},
		{
			name: "the last Admin", members: lastAdmin, targets: []string{"maria.garcia@acme.test"},
			actions: []string{"refused"}, detail: "last Admin", code: exitRefused,
		},
		{
			name: "more removals than --max-removals", args: []string{"--max-removals", "2"},
			targets: []string{"john.smith@acme.test", "bob.oneil@acme.test", "pending.one@acme.test"},
			actions: []string{"refused", "refused", "refused"}, detail: "3 removals, more than --max-removals 2", code: exitRefused,
		},
		{
			name: "more removals than the default of 10",
			targets: []string{"john.smith@acme.test", "bob.oneil@acme.test", "zoe.alander@acme.test", "xiaolong.li@acme.test",
				"al@acme.test", "sal@acme.test", "kal@acme.test.io", "jo.park@acme.test", "priya.nair@acme.test",
				"tom.becker@acme.test", "pending.one@acme.test"},
			actions: []string{"refused", "refused", "refused", "refused", "refused", "refused", "refused", "refused", "refused", "refused", "refused"},
			detail:  "11 removals, more than --max-removals 10", code: exitRefused,
		},
		{
			name: "an email outside --allow-domain", args: []string{"--allow-domain", "acme.test"},
			targets: []string{"new.hire@partner.test"},
			actions: []string{"refused"}, detail: "outside the allowed domains", code: exitRefused,
		},
		{
			name: "a refusal does not stop the targets the rules allow", args: []string{"--allow-domain", "@ACME.test"},
			targets: []string{"new.hire@partner.test", "john.smith@acme.test"},
			actions: []string{"refused", "removed"}, detail: "outside the allowed domains", code: exitRefused,
			removed: map[string]int{"john.smith@acme.test": 1},
		},
		{
			name: "--max-removals counts removals, not targets", args: []string{"--max-removals", "1"},
			targets: []string{"nobody@acme.test", "john.smith@acme.test", "admin@acme.test"},
			actions: []string{"already-absent", "removed", "refused"}, detail: "signed-in user", code: exitRefused,
			removed: map[string]int{"john.smith@acme.test": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
			if tc.members != nil {
				m.Server.SetMembers(tc.members)
			}
			args := append([]string{"--yes", "-o", "json"}, tc.args...)
			for _, e := range tc.targets {
				args = append(args, "--email", e)
			}
			r := runCLI(t, "", m.cmd("offboard", args...)...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			results := decodeResults(t, r.stdout)
			require.Len(t, results, len(tc.targets))
			run := lastRun(t, m.records(t))
			assertRunShape(t, run, "offboard", "1234", tc.targets, audit.OutcomeFinished)
			for i, res := range results {
				assert.Equal(t, tc.targets[i], res.Email)
				assert.Equal(t, tc.actions[i], res.Action, res.Detail)
				rec := finalFor(t, run, res.Email)
				assert.Equal(t, tc.actions[i], rec.Outcome)
				if res.Action == "refused" {
					assert.Contains(t, res.Detail, tc.detail)
					assert.Equal(t, res.Detail, rec.Detail)
					assert.Empty(t, res.Evidence)
					assert.NotContains(t, trail(run), "started "+res.Email, "nothing is clicked for a refused target")
				}
			}
			removed, _ := serverMutations(m.Server, fixtures.KindRemove)
			if tc.removed == nil {
				tc.removed = map[string]int{}
				assert.Empty(t, m.Server.Mutations(), "nothing is sent")
			}
			assert.Equal(t, tc.removed, removed)
			m.verifyAudit(t)
		})
	}
}

// TestOffboardDryRun reads the live page, prints what would happen and
// clicks nothing; it needs no --yes off a terminal.
func TestOffboardDryRun(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	m.Server.SetInvitations(append(fixtures.SeedInvitations(), fixtures.Invitation{ID: 503, Email: "bob.oneil@acme.test", Role: "Viewer"}))
	tests := []struct {
		name    string
		targets []string
		lines   [][]string
		code    int
	}{
		{
			name:    "changes and no-ops",
			targets: []string{"john.smith@acme.test", "pending.one@acme.test", "bob.oneil@acme.test", "nobody@acme.test"},
			lines: [][]string{
				{"would-remove", "john.smith@acme.test", "would remove Smith, John (Editor)"},
				{"would-revoke-invitation", "pending.one@acme.test", "would revoke the pending invitation (Editor)"},
				{"would-remove-and-revoke", "bob.oneil@acme.test", `would remove Robert "Bob" O'Neil (Editor) and revoke the pending invitation`},
				{"already-absent", "nobody@acme.test", "no member and no pending invitation with this email"},
			},
			code: exitOK,
		},
		{
			name:    "a refusal shows as it would happen",
			targets: []string{"admin@acme.test", "john.smith@acme.test"},
			lines: [][]string{
				{"refused", "admin@acme.test", "refused by a safety rule: admin@acme.test is the signed-in user; the agent never removes its own account"},
				{"would-remove", "john.smith@acme.test", "would remove Smith, John (Editor)"},
			},
			code: exitRefused,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--dry-run"}
			for _, e := range tc.targets {
				args = append(args, "--email", e)
			}
			r := runCLI(t, "", m.cmd("offboard", args...)...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			assert.Equal(t, tc.lines, tableLines(r.stdout))
			assert.Empty(t, m.Server.Mutations(), "a dry run sends nothing")
			assert.Empty(t, m.evidenceFiles(t), "a dry run clicks nothing")
			run := lastRun(t, m.records(t))
			assertRunShape(t, run, "offboard --dry-run", "1234", tc.targets, audit.OutcomeFinished)
			want := []string{"planned"}
			for _, l := range tc.lines {
				want = append(want, l[0]+" "+l[1])
			}
			assert.Equal(t, append(want, "finished"), trail(run), "no started record: nothing is clicked")
		})
	}
	assert.True(t, serverHasMember(m.Server, "john.smith@acme.test"))
	_, invited := serverInvitation(m.Server, "pending.one@acme.test")
	assert.True(t, invited)
	m.verifyAudit(t)
}

// TestOffboardFromStandardInput: --from-file - reads the list from
// standard input, which then cannot confirm: --yes is required.
func TestOffboardFromStandardInput(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	stdin := "# leavers\n\ntom.becker@acme.test\n  PRIYA.NAIR@acme.test  # contractor\n"

	r := runCLI(t, stdin, m.cmd("offboard", "--from-file", "-")...)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--yes")
	assert.Empty(t, m.Server.Mutations())

	r = runCLI(t, stdin, m.cmd("offboard", "--from-file", "-", "--yes")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, [][]string{
		{"removed", "tom.becker@acme.test", "removed Tom Becker (Sales rep)"},
		{"removed", "priya.nair@acme.test", "removed Priya Nair (Viewer)"},
	}, tableLines(r.stdout))
	assert.Equal(t, []string{"tom.becker@acme.test", "priya.nair@acme.test"}, lastRun(t, m.records(t))[0].Targets)

	r = runCLI(t, "# nobody today\n\n", m.cmd("offboard", "--from-file", "-", "--yes")...)
	assert.Equal(t, exitUsage, r.code, "an empty list is a usage error")
	assert.Contains(t, r.stderr, "no email given")
}

// TestOffboardDuplicateTargetsCountOnce: the same address twice, in any
// case, is one target.
func TestOffboardDuplicateTargetsCountOnce(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	r := runCLI(t, "", m.cmd("offboard", "--email", "zoe.alander@acme.test", "--email", " ZOE.ALANDER@acme.test", "--yes", "--max-removals", "1")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, [][]string{{"removed", "zoe.alander@acme.test", "removed Zoë Ålander (Viewer)"}}, tableLines(r.stdout))
	assert.Equal(t, []string{"zoe.alander@acme.test"}, lastRun(t, m.records(t))[0].Targets)
}

// TestOffboardFaults checks the exit code, the output and the audit log for
// each way the page can fail.
func TestOffboardFaults(t *testing.T) {
	dup := append(fixtures.SeedMembers(),
		fixtures.Member{ID: 900, Name: "Dup One", Email: "dup@acme.test", Role: fixtures.RoleEditor},
		fixtures.Member{ID: 901, Name: "Dup Two", Email: "DUP@acme.test", Role: fixtures.RoleEditor})
	tests := []struct {
		name       string
		rendition  string
		members    []fixtures.Member
		faults     fixtures.Faults
		timeout    string
		target     string
		code       int
		action     string
		detail     []string
		trail      []string
		closing    string
		removedOK  int
		stillThere bool
	}{
		{
			name: "two rows for one email", rendition: fixtures.RenditionTable, members: dup,
			target: "dup@acme.test", code: exitPageChanged, action: "failed",
			detail: []string{"2 member rows match dup@acme.test", "refusing to guess"},
			trail:  []string{"planned", "failed dup@acme.test", "finished"}, closing: audit.OutcomeFinished,
			stillThere: true,
		},
		{
			name: "a 500 on the removal is retried once", rendition: fixtures.RenditionGrid,
			faults: fixtures.Faults{FailMutations: 1}, target: "john.smith@acme.test", code: exitOK, action: "removed",
			detail: []string{"removed Smith, John (Editor)"},
			trail:  []string{"planned", "started john.smith@acme.test", "removed john.smith@acme.test", "finished"}, closing: audit.OutcomeFinished,
			removedOK: 1,
		},
		{
			name: "a confirmation dialog that never appears", rendition: fixtures.RenditionGrid,
			faults: fixtures.Faults{NoConfirmDialog: true}, timeout: "2s", target: "john.smith@acme.test", code: exitPageChanged, action: "failed",
			detail: []string{"confirmation dialog", "did not open"},
			trail:  []string{"planned", "started john.smith@acme.test", "failed john.smith@acme.test", "finished"}, closing: audit.OutcomeFinished,
			stillThere: true,
		},
		{
			name: "a confirmation dialog that never closes", rendition: fixtures.RenditionTable,
			faults: fixtures.Faults{StickyDialog: true}, timeout: "2s", target: "john.smith@acme.test", code: exitNotVerified, action: "failed",
			detail: []string{"did not close"},
			trail:  []string{"planned", "started john.smith@acme.test", "failed john.smith@acme.test", "finished"}, closing: audit.OutcomeFinished,
			stillThere: true,
		},
		{
			name: "a server that ignores the removal", rendition: fixtures.RenditionTable,
			faults: fixtures.Faults{IgnoreMutations: true}, timeout: "3s", target: "john.smith@acme.test", code: exitNotVerified, action: "failed",
			detail: []string{"not verified"},
			trail:  []string{"planned", "started john.smith@acme.test", "failed john.smith@acme.test", "finished"}, closing: audit.OutcomeFinished,
			removedOK: 1, stillThere: true,
		},
		{
			name: "an expired session", rendition: fixtures.RenditionTable,
			faults: fixtures.Faults{ExpireSession: true}, target: "john.smith@acme.test", code: exitLogin, action: "failed",
			detail: []string{"not attempted", "login page", "agent login"},
			trail:  []string{"planned", "not-attempted john.smith@acme.test", "aborted"}, closing: audit.OutcomeAborted,
			stillThere: true,
		},
		{
			name: "a page without the contract's hooks", rendition: fixtures.RenditionGrid,
			faults: fixtures.Faults{Drift: true}, timeout: "3s", target: "john.smith@acme.test", code: exitPageChanged, action: "failed",
			detail: []string{"not attempted"},
			trail:  []string{"planned", "not-attempted john.smith@acme.test", "aborted"}, closing: audit.OutcomeAborted,
			stillThere: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(tc.rendition))
			if tc.members != nil {
				m.Server.SetMembers(tc.members)
			}
			m.Server.SetFaults(tc.faults)
			args := []string{"--email", tc.target, "--yes", "-o", "json"}
			if tc.timeout != "" {
				args = append(args, "--timeout", tc.timeout)
			}
			r := runCLI(t, "", m.cmd("offboard", args...)...)
			assert.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			results := decodeResults(t, r.stdout)
			require.Len(t, results, 1)
			assert.Equal(t, tc.action, results[0].Action, results[0].Detail)
			for _, d := range tc.detail {
				assert.Contains(t, results[0].Detail, d)
			}
			run := lastRun(t, m.records(t))
			assertRunShape(t, run, "offboard", "1234", []string{tc.target}, tc.closing)
			assert.Equal(t, tc.trail, trail(run))
			removed, failed := serverMutations(m.Server, fixtures.KindRemove)
			assert.Equal(t, tc.removedOK, removed[tc.target], "accepted removals")
			if tc.faults.FailMutations > 0 {
				assert.Equal(t, 1, failed[tc.target], "the 500")
				assert.Len(t, m.Server.Mutations(), 2, "one failure, then exactly one removal")
			}
			if tc.stillThere {
				assert.True(t, serverHasMember(m.Server, tc.target))
			}
			if tc.code != exitOK {
				assert.DirExists(t, m.artifacts, "a failure keeps artifacts")
			}
			m.verifyAudit(t)
		})
	}
}

// TestOffboardSessionExpiresInTheMiddleOfABatch: the session expires after
// the second removal; the run stops with exit 3 and the audit log says
// which targets were done, which was under way, and which was never
// attempted.
func TestOffboardSessionExpiresInTheMiddleOfABatch(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	m.Server.SetFaults(fixtures.Faults{ExpireAfterMutations: 2})
	targets := []string{"john.smith@acme.test", "bob.oneil@acme.test", "priya.nair@acme.test"}
	r := runCLI(t, "", m.cmd("offboard", "--email", targets[0], "--email", targets[1], "--email", targets[2], "--yes")...)
	assert.Equal(t, exitLogin, r.code, r.stderr)
	assert.Contains(t, r.stderr, "redirected to a login page")
	assert.Contains(t, r.stderr, "agent login", "the message says what to do")
	lines := tableLines(r.stdout)
	require.Len(t, lines, 3, r.stdout)
	assert.Equal(t, []string{"removed", targets[0]}, lines[0][:2])
	assert.Equal(t, []string{"failed", targets[1]}, lines[1][:2])
	assert.Contains(t, lines[1][2], "was confirmed", "the output says the click happened")
	assert.Equal(t, []string{"failed", targets[2]}, lines[2][:2])
	assert.Contains(t, lines[2][2], "not attempted")

	removed, _ := serverMutations(m.Server, fixtures.KindRemove)
	assert.Equal(t, map[string]int{targets[0]: 1, targets[1]: 1}, removed)
	assert.True(t, serverHasMember(m.Server, targets[2]))

	run := lastRun(t, m.records(t))
	assertRunShape(t, run, "offboard", "1234", targets, audit.OutcomeAborted)
	assert.Equal(t, []string{
		"planned",
		"started " + targets[0], "removed " + targets[0],
		"started " + targets[1], "failed " + targets[1],
		"not-attempted " + targets[2],
		"aborted",
	}, trail(run))
	bob := finalFor(t, run, targets[1])
	assert.Contains(t, bob.Detail, "was confirmed")
	require.NotEmpty(t, bob.Evidence)
	assertPNG(t, bob.Evidence[0], m.evidence, run[0].RunID, targets[1])
	assert.Contains(t, finalFor(t, run, targets[2]).Detail, "login page")
	assert.Contains(t, run[len(run)-1].Detail, "login page")
	assert.Contains(t, run[len(run)-1].Detail, "1 removed, 1 failed, 1 not-attempted")
	m.verifyAudit(t)
}

// TestOffboardWaitsOutSlowRows: rows that arrive late are waited for, not
// taken as absent.
func TestOffboardWaitsOutSlowRows(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	m.Server.SetFaults(fixtures.Faults{RowDelay: 1500 * time.Millisecond})
	r := runCLI(t, "", m.cmd("offboard", "--email", "xiaolong.li@acme.test", "--yes")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, [][]string{{"removed", "xiaolong.li@acme.test", "removed 李小龍 (Editor)"}}, tableLines(r.stdout))
	assert.False(t, serverHasMember(m.Server, "xiaolong.li@acme.test"))
}

// TestOffboardInterruptedInTheMiddleOfABatch sends the process a real
// SIGINT as soon as the first removal reaches the server: the run stops
// before the next target, exits non-zero, and the audit log shows what was
// done and what was not attempted.
func TestOffboardInterruptedInTheMiddleOfABatch(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	// keep the signal from killing the test binary whatever happens
	guard := make(chan os.Signal, 4)
	signal.Notify(guard, os.Interrupt)
	defer signal.Stop(guard)

	targets := []string{"john.smith@acme.test", "bob.oneil@acme.test", "priya.nair@acme.test"}
	res := make(chan cliResult, 1)
	go func() {
		res <- runCLI(t, "", m.cmd("offboard", "--email", targets[0], "--email", targets[1], "--email", targets[2], "--yes")...)
	}()
	require.Eventually(t, func() bool { return len(m.Server.Mutations()) > 0 }, 20*time.Second, 5*time.Millisecond)
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	var r cliResult
	select {
	case r = <-res:
	case <-time.After(15 * time.Second):
		t.Fatal("offboard did not return within 15s of SIGINT")
	}
	assert.NotEqual(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "agent: interrupted")
	lines := tableLines(r.stdout)
	require.Len(t, lines, 3, "every target is accounted for: %s", r.stdout)
	assert.Contains(t, []string{"removed", "failed"}, lines[0][0])
	for _, l := range lines[1:] {
		assert.Equal(t, "failed", l[0])
		assert.Contains(t, l[2], "not attempted")
	}
	removed, _ := serverMutations(m.Server, fixtures.KindRemove)
	assert.Equal(t, map[string]int{targets[0]: 1}, removed, "nothing after the interrupt")
	assert.True(t, serverHasMember(m.Server, targets[1]))
	assert.True(t, serverHasMember(m.Server, targets[2]))

	run := lastRun(t, m.records(t))
	assertRunShape(t, run, "offboard", "1234", targets, audit.OutcomeAborted)
	got := trail(run)
	require.Len(t, got, 6, "%q", got)
	assert.Equal(t, []string{"planned", "started " + targets[0]}, got[:2])
	assert.Contains(t, []string{"removed " + targets[0], "failed " + targets[0]}, got[2])
	assert.Equal(t, []string{"not-attempted " + targets[1], "not-attempted " + targets[2], "aborted"}, got[3:])
	assert.Contains(t, run[len(run)-1].Detail, "context canceled")
	m.verifyAudit(t)
}

// TestOffboardEvidenceOfSimilarAddresses: two targets whose addresses
// differ only in a character a file name cannot hold keep screenshots of
// their own.
func TestOffboardEvidenceOfSimilarAddresses(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	m.Server.SetMembers(append(fixtures.SeedMembers(),
		fixtures.Member{ID: 910, Name: "Plus Sign", Email: "a+b@acme.test", Role: fixtures.RoleEditor},
		fixtures.Member{ID: 911, Name: "Hyphen", Email: "a-b@acme.test", Role: fixtures.RoleEditor}))
	r := runCLI(t, "", m.cmd("offboard", "--email", "a+b@acme.test", "--email", "a-b@acme.test", "--yes")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	run := lastRun(t, m.records(t))
	plus := finalFor(t, run, "a+b@acme.test")
	hyphen := finalFor(t, run, "a-b@acme.test")
	require.Len(t, plus.Evidence, 2)
	require.Len(t, hyphen.Evidence, 2)
	for _, p := range plus.Evidence {
		assert.NotContains(t, hyphen.Evidence, p, "one target's screenshot is not another's")
	}
	assert.Len(t, m.evidenceFiles(t), 4, "four screenshots, none overwritten")
	for i, rec := range []audit.Record{plus, hyphen} {
		for _, p := range rec.Evidence {
			assertPNG(t, p, m.evidence, run[0].RunID, rec.Target)
			assert.Equal(t, strconv.Itoa(i+1), evidenceName.FindStringSubmatch(filepath.Base(p))[2], "%s carries the target's position", p)
		}
	}
}
