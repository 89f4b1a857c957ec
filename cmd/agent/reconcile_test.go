package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/plan"
	"github.com/clay-agent/clay-agent/fixtures"
)

// idpTestdata is a file of the idp package's test data: exports of the
// fixture workspace's company in each format.
func idpTestdata(name string) string {
	return filepath.Join("..", "..", "agent", "idp", "testdata", name)
}

// wantFindings is what every test export says of the fixture roster.
var wantFindings = map[string]idp.Finding{
	"admin@acme.test":        idp.FindingActive,
	"john.smith@acme.test":   idp.FindingInactiveInIdP,
	"bob.oneil@acme.test":    idp.FindingActive,
	"kal@acme.test.io":       idp.FindingExternal,
	"tom.becker@acme.test":   idp.FindingNotInIdP,
	"maria.garcia@acme.test": idp.FindingActive,
	"pending.one@acme.test":  idp.FindingInvitationInactiveInIdP,
	"new.hire@partner.test":  idp.FindingInvitationExternal,
}

// TestReconcileEveryExportFormat: the fixture roster against an export
// in each format gives the same findings.
func TestReconcileEveryExportFormat(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionPaged))
	for file, extra := range map[string][]string{
		"entra-users.csv":  nil,
		"graph-users.json": nil,
		"okta-users.json":  nil,
		"okta-users.csv":   nil,
		// the download lists no aliases: Bob is at the company's other domain
		"google-users.csv": {"--domain-alias", "acme.test=acme-corp.test"},
		"hr-people.csv":    {"--idp-column", "email=Work Email,status=Employment Status,name=Full Name,aliases=Other Emails", "--idp-active", "Active", "--idp-active", "On Leave"},
	} {
		t.Run(file, func(t *testing.T) {
			args := append([]string{"reconcile", "--idp", idpTestdata(file), "--company-domain", "acme.test", "-o", "json"}, extra...)
			r := runCLI(t, "", append(args, e.globals()...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			var rep struct {
				Findings []idp.Row           `json:"findings"`
				Summary  map[idp.Finding]int `json:"summary"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
			assert.Len(t, rep.Findings, len(fixtures.SeedMembers())+len(fixtures.SeedInvitations()))
			got := map[string]idp.Finding{}
			for _, f := range rep.Findings {
				got[f.Email] = f.Finding
			}
			for email, want := range wantFindings {
				assert.Equal(t, want, got[email], email)
			}
		})
	}
	t.Run("detailed exit code", func(t *testing.T) {
		r := runCLI(t, "", append([]string{"reconcile", "--idp", idpTestdata("okta-users.json"), "--detailed-exitcode"}, e.globals()...)...)
		assert.Equal(t, exitFindings, r.code, r.stderr)
		assert.Contains(t, r.stdout, "inactive-in-idp")
	})
}

// TestReconcileBadSourcesExitTwoBeforeTheBrowser: an unreadable file, an
// unknown header, a CSV with no email column, an empty source and
// conflicting duplicates each exit 2 with one line, before any browser.
// The session file is valid (it is checked before the sources), so the
// line is about the source.
func TestReconcileBadSourcesExitTwoBeforeTheBrowser(t *testing.T) {
	dir := t.TempDir()
	session := filepath.Join(dir, "session.json")
	writeState(t, session, time.Now().Add(24*time.Hour), 0o600)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	cases := map[string][]string{
		"missing file":       {"--idp", filepath.Join(dir, "nope.csv")},
		"unknown header":     {"--idp", write("weird.csv", "foo,bar\n1,2\n")},
		"no email column":    {"--idp", write("noemail.csv", "name,state\nA,on\n"), "--idp-column", "email=mail,status=state", "--idp-active", "on"},
		"empty source":       {"--idp", write("empty.json", "[]")},
		"conflicting rows":   {"--idp", write("dup.csv", "Email Address [Required],Status [READ ONLY]\na@acme.test,Active\na@acme.test,Suspended\n")},
		"blank idp":          {"--idp", ""},
		"bad domain alias":   {"--idp", idpTestdata("okta-users.json"), "--domain-alias", "nodomain"},
		"bad company domain": {"--idp", idpTestdata("okta-users.json"), "--company-domain", "*"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			all := append([]string{"reconcile", "--workspace", "1234", "--session", session, "--chrome", "/nonexistent/chrome"}, args...)
			r := runCLI(t, "", all...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			assert.NotContains(t, r.oneErrorLine(t), "session file")
			assert.NotContains(t, r.stderr, "/nonexistent/chrome", "no browser was started")
		})
	}
}

// TestPlanApproveApply: the whole path on the fixture: plan from an
// export, approve, apply; the server's state and the audit log show it.
func TestPlanApproveApply(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionPages))
	planPath := filepath.Join(m.Dir, "plan.json")
	idpArgs := []string{"--idp", idpTestdata("entra-users.csv"), "--company-domain", "acme.test"}

	r := runCLI(t, "", append(append([]string{"plan", "--out", planPath}, idpArgs...), m.globals()...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	p, digest, err := plan.Read(planPath)
	require.NoError(t, err)
	assert.Equal(t, []plan.Action{
		{Action: plan.Offboard, Email: "john.smith@acme.test", Reason: "inactive-in-idp", Kind: "member", Role: "Editor"},
		{Action: plan.Revoke, Email: "pending.one@acme.test", Reason: "invitation-inactive-in-idp", Kind: "invitation", Role: "Editor"},
	}, p.Actions, "not-in-idp and external are not planned without --offboard-unknown")
	assert.Contains(t, r.stdout, "tom.becker@acme.test: not planned")
	require.Len(t, p.Sources, 1)
	assert.NotEmpty(t, p.Sources[0].Digest)
	assert.Empty(t, m.Server.Mutations(), "plan changes nothing")

	key := writeKeyFile(t, filepath.Join(m.Dir, "audit.key"), testAuditKey, 0o600)
	apply := func(extra ...string) cliResult {
		return runCLI(t, "", m.cmd("apply", append([]string{planPath, "--yes", "-o", "json", "--audit-key-file", key}, extra...)...)...)
	}
	// unapproved
	r = apply("--require-approval")
	assert.Equal(t, exitRefused, r.code, r.stderr)
	assert.Empty(t, m.Server.Mutations())

	r = runCLI(t, "", "approve", planPath, "--by", "Carol", "--audit-log", m.auditLog, "--audit-key-file", key)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, digest)

	// changed after the approval
	tampered := *p
	tampered.Actions = append(append([]plan.Action(nil), p.Actions...), plan.Action{Action: plan.Offboard, Email: "maria.garcia@acme.test", Reason: "inactive-in-idp", Kind: "member", Role: "Admin"})
	orig, err := os.ReadFile(planPath)
	require.NoError(t, err)
	_, err = plan.Write(planPath, &tampered)
	require.NoError(t, err)
	r = apply("--require-approval")
	assert.Equal(t, exitRefused, r.code, r.stderr)
	assert.Contains(t, r.stderr, "changed after the approval")
	assert.Empty(t, m.Server.Mutations())
	require.NoError(t, os.WriteFile(planPath, orig, 0o600))

	r = apply("--require-approval")
	require.Equal(t, exitOK, r.code, r.stderr)
	results := decodeResults(t, r.stdout)
	require.Len(t, results, 2)
	assert.False(t, serverHasMember(m.Server, "john.smith@acme.test"))
	_, pending := serverInvitation(m.Server, "pending.one@acme.test")
	assert.False(t, pending)
	assert.True(t, serverHasMember(m.Server, "tom.becker@acme.test"), "not planned, not touched")

	recs := lastRun(t, m.records(t))
	for _, rec := range recs {
		assert.Equal(t, digest, rec.Plan, "every record carries the plan's digest")
		assert.Equal(t, "Carol", rec.ApprovedBy)
	}
	assert.Contains(t, trail(recs), "removed john.smith@acme.test")
	var approved bool
	for _, rec := range m.records(t) {
		if rec.Outcome == audit.OutcomeApproved && rec.Plan == digest {
			approved = true
		}
	}
	assert.True(t, approved, "the approval is in the audit log")
	m.verifyAudit(t)

	// applied again: a plan is applied once, even with its seats back
	before := len(m.Server.Mutations())
	r = apply()
	assert.Equal(t, exitRefused, r.code, r.stderr)
	assert.Contains(t, r.stderr, "applied once")
	m.Server.SetMembers(append(m.Server.Members(), fixtures.Member{ID: 9001, Name: "John Smith", Email: "john.smith@acme.test", Role: "Editor"}))
	m.Server.SetInvitations(append(m.Server.Invitations(), fixtures.Invitation{ID: 9002, Email: "pending.one@acme.test", Role: "Editor"}))
	r = apply("--require-approval")
	assert.Equal(t, exitRefused, r.code, r.stderr)
	assert.Contains(t, r.stderr, "applied once")
	assert.Len(t, m.Server.Mutations(), before, "nothing clicked for seats that came back")
	assert.FileExists(t, filepath.Join(filepath.Dir(m.auditLog), "plans", digest+".json"), "the state directory records the plan applied")
}

// TestApplyOnceAndBoundApprovals: the hostile cases of an approved plan.
// A seat an interrupted apply took away that is back is not taken again;
// an approval file written by whoever edited the plan, an approval
// without the audit key, a plan dated in the future, and a plan whose
// other seats changed are each refused (exit 5, or exit 2 before any
// browser for the missing key), and nothing is clicked.
func TestApplyOnceAndBoundApprovals(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	key := writeKeyFile(t, filepath.Join(m.Dir, "audit.key"), testAuditKey, 0o600)
	planPath := filepath.Join(m.Dir, "plan.json")
	makePlan := func() (*plan.Plan, string) {
		t.Helper()
		r := runCLI(t, "", append([]string{"plan", "--out", planPath, "--idp", idpTestdata("entra-users.csv"), "--company-domain", "acme.test"}, m.globals()...)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		p, digest, err := plan.Read(planPath)
		require.NoError(t, err)
		require.Len(t, p.Actions, 2)
		// a new plan: an approval file of an earlier one would name it changed
		require.NoError(t, os.RemoveAll(plan.ApprovalPath(planPath)))
		return p, digest
	}
	apply := func(extra ...string) cliResult {
		return runCLI(t, "", m.cmd("apply", append([]string{planPath, "--yes", "--audit-key-file", key}, extra...)...)...)
	}
	p, _ := makePlan()

	t.Run("require-approval without the key", func(t *testing.T) {
		r := runCLI(t, "", m.cmd("apply", planPath, "--yes", "--require-approval", "--chrome", "/nonexistent/chrome")...)
		assert.Equal(t, exitUsage, r.code, r.stderr)
		assert.Contains(t, r.stderr, "--audit-key-file")
		assert.NotContains(t, r.stderr, "/nonexistent/chrome", "no browser was started")
	})
	t.Run("an approval without the key", func(t *testing.T) {
		r := runCLI(t, "", "approve", planPath, "--by", "Mallory", "--audit-log", filepath.Join(m.Dir, "other-audit.jsonl"))
		require.Equal(t, exitOK, r.code, r.stderr)
		r = apply("--require-approval")
		assert.Equal(t, exitRefused, r.code, r.stderr)
		assert.Contains(t, r.stderr, "not approved")
	})
	t.Run("a forged approval file", func(t *testing.T) {
		forged := *p
		forged.Actions = append(append([]plan.Action(nil), p.Actions...), plan.Action{Action: plan.Offboard, Email: "maria.garcia@acme.test", Reason: "inactive-in-idp", Kind: "member", Role: "Admin"})
		d, err := plan.Write(planPath, &forged)
		require.NoError(t, err)
		body := fmt.Sprintf(`{"plan_digest":%q,"workspace":%q,"approved_by":"Carol","approved_at":%q}`, d, p.Workspace, time.Now().UTC().Format(time.RFC3339))
		require.NoError(t, os.WriteFile(plan.ApprovalPath(planPath), []byte(body), 0o600))
		r := apply("--require-approval")
		assert.Equal(t, exitRefused, r.code, r.stderr)
		assert.Contains(t, r.stderr, "no approval")
	})
	t.Run("dated in the future", func(t *testing.T) {
		future := *p
		future.CreatedAt = time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
		_, err := plan.Write(planPath, &future)
		require.NoError(t, err)
		r := apply()
		assert.Equal(t, exitRefused, r.code, r.stderr)
		assert.Contains(t, r.stderr, "future")
	})
	require.Empty(t, m.Server.Mutations(), "nothing was clicked for any of the above")

	t.Run("another seat changed since the plan", func(t *testing.T) {
		makePlan()
		ms := m.Server.Members()
		m.Server.SetMembers(append(ms, fixtures.Member{ID: 9100, Name: "New Hire", Email: "new.hire@acme.test", Role: "Editor"}))
		t.Cleanup(func() { m.Server.SetMembers(ms) })
		r := apply()
		assert.Equal(t, exitRefused, r.code, r.stderr)
		assert.Contains(t, r.stderr, "seats the plan does not touch changed")
		assert.Empty(t, m.Server.Mutations())
	})

	t.Run("an interrupted apply is finished, never repeated", func(t *testing.T) {
		p, digest := makePlan()
		// an apply that stopped after its first target, the member
		first := *p
		first.Actions = p.Actions[:1]
		require.Equal(t, plan.Offboard, first.Actions[0].Action)
		// the ledger as an apply that stopped after the first target leaves it
		l, err := plan.ReadLedger(filepath.Join(filepath.Dir(m.auditLog), "plans"), digest)
		require.NoError(t, err)
		r := runCLI(t, "", m.cmd("offboard", "--email", first.Actions[0].Email, "--yes", "--audit-key-file", key)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		require.NoError(t, l.Note(filepath.Join(filepath.Dir(m.auditLog), "plans"), plan.Done{Email: first.Actions[0].Email, Outcome: "removed", At: time.Now().UTC()}))

		// the removed member is back: the plan does not take the seat again
		back := fixtures.Member{ID: 9200, Name: "John Smith", Email: first.Actions[0].Email, Role: first.Actions[0].Role}
		ms := m.Server.Members()
		m.Server.SetMembers(append(ms, back))
		before := len(m.Server.Mutations())
		r = apply()
		assert.Equal(t, exitRefused, r.code, r.stderr)
		assert.Contains(t, r.stderr, "are back")
		assert.Len(t, m.Server.Mutations(), before)

		// without it, the rest of the plan is done, once
		m.Server.SetMembers(ms)
		r = apply("-o", "json")
		require.Equal(t, exitOK, r.code, r.stderr)
		var revoked int
		for _, res := range decodeResults(t, r.stdout) {
			if res.Action == "revoked-invitation" {
				revoked++
			}
		}
		assert.Equal(t, 1, revoked, r.stdout)
		r = apply()
		assert.Equal(t, exitRefused, r.code, r.stderr)
		assert.Contains(t, r.stderr, "applied once")
	})
}

// TestApplyRefusesAStalePlan: a plan older than --max-plan-age, or one
// whose target changed role since, is refused whole (exit 5) with the
// differences, and nothing is clicked.
func TestApplyRefusesAStalePlan(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	planPath := filepath.Join(m.Dir, "plan.json")
	r := runCLI(t, "", append([]string{"plan", "--out", planPath, "--idp", idpTestdata("okta-users.json"), "--company-domain", "acme.test"}, m.globals()...)...)
	require.Equal(t, exitOK, r.code, r.stderr)

	r = runCLI(t, "", m.cmd("apply", planPath, "--yes", "--max-plan-age", "1ns")...)
	assert.Equal(t, exitRefused, r.code, r.stderr)
	assert.Contains(t, r.stderr, "max-plan-age")

	ms := m.Server.Members()
	for i := range ms {
		if ms[i].Email == "john.smith@acme.test" {
			ms[i].Role = "Admin"
		}
	}
	m.Server.SetMembers(ms)
	r = runCLI(t, "", m.cmd("apply", planPath, "--yes")...)
	assert.Equal(t, exitRefused, r.code, r.stderr)
	assert.Contains(t, r.stderr, "john.smith@acme.test: was member (Editor), now member (Admin)")
	assert.Empty(t, m.Server.Mutations())
	_ = time.Second
}
