package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
)

// serverMutationsOf returns the fixture server's mutations of kind for
// email (invitations with role, when role is set), answered with success.
func serverMutationsOf(srv *fixtures.Server, kind, email, role string) int {
	n := 0
	for _, mu := range srv.Mutations() {
		if mu.Kind == kind && roster.SameEmail(mu.Target, email) && (role == "" || strings.EqualFold(mu.Role, role)) && mu.Status >= 200 && mu.Status < 300 {
			n++
		}
	}
	return n
}

// requireServerInvitation checks the fixture server's invitation of email.
func requireServerInvitation(t *testing.T, srv *fixtures.Server, email, role string) {
	t.Helper()
	inv, ok := serverInvitation(srv, email)
	require.True(t, ok, "%s has a pending invitation", email)
	assert.Equal(t, role, inv.Role, "the invitation's role")
}

// auditOutcomes returns the outcomes the audit records give email under
// command, in order.
func auditOutcomes(recs []audit.Record, command, email string) []string {
	var out []string
	for _, r := range recs {
		if r.Command == command && roster.SameEmail(r.Target, email) {
			out = append(out, r.Outcome)
		}
	}
	return out
}

// TestSCIMPendingUserRole: on every rendition, Okta's create-then-push
// and Entra's create-then-assign (a group, then the role attribute) give
// the pending user its role: the invitation is revoked and sent again
// with the role, both audited, and a repeat changes nothing.
func TestSCIMPendingUserRole(t *testing.T) {
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(rendition))
			s := startSCIM(t, m)
			admin, viewer := s.groupID(t, "Clay Admin"), s.groupID(t, "Clay Viewer")

			t.Run("okta", func(t *testing.T) {
				const email = "okta.pending@acme.test"
				code, u := s.call(t, "POST", "/Users", newUser(email, "Okta", "Pending"))
				require.Equal(t, http.StatusCreated, code, u)
				id := u["id"].(string)
				requireServerInvitation(t, m.Server, email, "Editor")

				code, g := s.call(t, "PATCH", "/Groups/"+admin, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}}))
				require.Equal(t, http.StatusNoContent, code, g)
				requireServerInvitation(t, m.Server, email, "Admin")
				assert.Equal(t, 1, serverMutationsOf(m.Server, fixtures.KindRevoke, email, ""))
				assert.Equal(t, 1, serverMutationsOf(m.Server, fixtures.KindInvite, email, "Admin"))
				assert.Zero(t, serverMutationsOf(m.Server, fixtures.KindSetRole, email, ""))
				code, got := s.call(t, "GET", "/Users/"+id, nil)
				require.Equal(t, http.StatusOK, code)
				assert.Equal(t, map[string]any{"pending": true, "role": "Admin", "email": email}, got["urn:clay-agent:params:scim:schemas:extension:clay:2.0:User"])

				// Okta pushes the group again: no revoke, no new invitation
				before := len(m.Server.Mutations())
				code, g = s.call(t, "PATCH", "/Groups/"+admin, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}}))
				require.Equal(t, http.StatusNoContent, code, g)
				assert.Len(t, m.Server.Mutations(), before)
				requireServerInvitation(t, m.Server, email, "Admin")

				recs := m.records(t)
				assert.Equal(t, []string{audit.OutcomeStarted, "revoked-invitation"}, auditOutcomes(recs, "scim revoke", email))
				assert.Equal(t, []string{audit.OutcomeStarted, "invited"}, auditOutcomes(recs, "scim invite Admin", email))
			})

			t.Run("entra", func(t *testing.T) {
				const email = "entra.pending@acme.test"
				code, u := s.call(t, "POST", "/Users", newUser(email, "Entra", "Pending"))
				require.Equal(t, http.StatusCreated, code, u)
				id := u["id"].(string)
				code, g := s.call(t, "PATCH", "/Groups/"+viewer, patch(map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": id}}}))
				require.Equal(t, http.StatusNoContent, code, g)
				requireServerInvitation(t, m.Server, email, "Viewer")

				code, p := s.call(t, "PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace",
					"path": "urn:clay-agent:params:scim:schemas:extension:clay:2.0:User:role", "value": "Admin"}))
				require.Equal(t, http.StatusOK, code, p)
				assert.Equal(t, "Admin", p["urn:clay-agent:params:scim:schemas:extension:clay:2.0:User"].(map[string]any)["role"])
				requireServerInvitation(t, m.Server, email, "Admin")
				assert.Equal(t, 2, serverMutationsOf(m.Server, fixtures.KindRevoke, email, ""))
				assert.Equal(t, 3, serverMutationsOf(m.Server, fixtures.KindInvite, email, ""), "Editor, Viewer, Admin")
				assert.Len(t, auditOutcomes(m.records(t), "scim revoke", email), 4, "two revokes, each started and done")
			})
			m.verifyAudit(t)
		})
	}
}

// TestSCIMPendingUserRoleFailures: a new invitation the page refuses is
// answered 502 and the invitation is back with the old role; when the
// old one fails too, the answer says there is none. Neither revoke counts
// against --max-removals-per-hour, and a user in two role groups gets the
// more privileged role.
func TestSCIMPendingUserRoleFailures(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	var mu sync.Mutex
	failing := map[string]bool{} // "command email" that the page refuses
	fail := func(keys ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			failing[k] = true
		}
	}
	s := startSCIMApp(t, m, func(a *app) {
		a.scimBeforeAction = func(command, email string) {
			mu.Lock()
			refuse := failing[command+" "+email]
			mu.Unlock()
			f := fixtures.Faults{}
			if refuse {
				f.InviteError = "No seats left for this role"
			}
			m.Server.SetFaults(f)
		}
	}, "--max-removals-per-hour", "1")
	admin := s.groupID(t, "Clay Admin")

	t.Run("back with the old role", func(t *testing.T) {
		const email = "no.seat@acme.test"
		code, u := s.call(t, "POST", "/Users", newUser(email, "No", "Seat"))
		require.Equal(t, http.StatusCreated, code, u)
		fail("invite Admin " + email)
		code, body := s.call(t, "PATCH", "/Groups/"+admin, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": u["id"]}}}))
		assertSCIMError(t, code, http.StatusBadGateway, body, "")
		assert.Contains(t, body["detail"], "was not changed")
		assert.Contains(t, body["detail"], "No seats left for this role")
		assert.Contains(t, body["detail"], "the invitation is back as Editor")
		requireServerInvitation(t, m.Server, email, "Editor")
		assert.Equal(t, []string{audit.OutcomeStarted, "failed"}, auditOutcomes(m.records(t), "scim invite Admin", email))
		code, got := s.call(t, "GET", "/Users/"+u["id"].(string), nil)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, "Editor", got["urn:clay-agent:params:scim:schemas:extension:clay:2.0:User"].(map[string]any)["role"])
	})

	t.Run("no invitation left", func(t *testing.T) {
		const email = "lost.invite@acme.test"
		code, u := s.call(t, "POST", "/Users", newUser(email, "Lost", "Invite"))
		require.Equal(t, http.StatusCreated, code, u)
		fail("invite Admin "+email, "invite Editor "+email)
		code, body := s.call(t, "PATCH", "/Groups/"+admin, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": u["id"]}}}))
		assertSCIMError(t, code, http.StatusBadGateway, body, "")
		assert.Contains(t, body["detail"], "has no invitation now")
		_, invited := serverInvitation(m.Server, email)
		assert.False(t, invited)
		recs := m.records(t)
		assert.Equal(t, []string{audit.OutcomeStarted, "failed"}, auditOutcomes(recs, "scim invite Admin", email))
		assert.Equal(t, []string{audit.OutcomeStarted, "invited", audit.OutcomeStarted, "failed"}, auditOutcomes(recs, "scim invite Editor", email),
			"the create's invitation, then the one that should have restored it")
	})

	t.Run("the removal budget is untouched", func(t *testing.T) {
		code, _ := s.call(t, "DELETE", "/Users/"+s.userID(t, "al@acme.test"), nil)
		assert.Equal(t, http.StatusNoContent, code, "the hour's one removal is still there after two revokes")
		code, body := s.call(t, "DELETE", "/Users/"+s.userID(t, "kal@acme.test.io"), nil)
		assertSCIMError(t, code, http.StatusServiceUnavailable, body, "")
	})

	t.Run("two role groups", func(t *testing.T) {
		john := s.userID(t, "john.smith@acme.test")
		for _, group := range []string{"Clay Admin", "Clay Viewer"} {
			code, g := s.call(t, "PATCH", "/Groups/"+s.groupID(t, group), patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": john}}}))
			require.Equal(t, http.StatusNoContent, code, g)
		}
		assert.Equal(t, "Admin", serverRole(m.Server, "john.smith@acme.test"), "the more privileged role wins")
		code, g := s.call(t, "PATCH", "/Groups/"+admin, patch(map[string]any{"op": "remove", "path": `members[value eq "` + john + `"]`}))
		require.Equal(t, http.StatusNoContent, code, g)
		assert.Equal(t, "Viewer", serverRole(m.Server, "john.smith@acme.test"), "the other group's role")
	})
}

// readAuditSoFar reads the complete records of an audit log another
// process is writing.
func readAuditSoFar(path string) []audit.Record {
	data, _ := os.ReadFile(path)
	var out []audit.Record
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		var r audit.Record
		if bytes.HasSuffix(line, []byte("\n")) && json.Unmarshal(line, &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// startSCIMProcess runs `agent scim serve` as a process of its own and
// returns it with the service's base URL.
func startSCIMProcess(t testing.TB, m *mutEnv, state string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], m.scimArgs(state)...)
	cmd.Env = append(os.Environ(), envRunAsMain+"=1", "CLAY_AUDIT_LOG=", "XDG_STATE_HOME="+filepath.Join(m.Dir, "state"))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if mm := scimServingRE.FindStringSubmatch(sc.Text()); mm != nil {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return cmd, mm[1] + "/scim/v2"
		}
	}
	t.Fatal("the service never said where it listens")
	return nil, ""
}

// TestSCIMPendingUserRoleSurvivesKill9: the service is killed (-9) once
// the revoke step of a pending user's role change is done and recorded
// and the invitation with the new role has begun. The next start goes on
// from that step: the invitation has the new role, sent exactly once.
func TestSCIMPendingUserRoleSurvivesKill9(t *testing.T) {
	const email = "kill.pending@acme.test"
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	state := filepath.Join(m.Dir, "scim-state")
	cmd, base := startSCIMProcess(t, m, state)
	code, u := scimCall(t, base, "POST", "/Users", newUser(email, "Kill", "Pending"), scimToken)
	require.Equal(t, http.StatusCreated, code, u)
	id := u["id"].(string)
	code, list := scimCall(t, base, "GET", "/Groups?filter="+urlQuery(`displayName eq "Clay Admin"`), nil, scimToken)
	require.Equal(t, http.StatusOK, code, list)
	admin := list["Resources"].([]any)[0].(map[string]any)["id"].(string)

	go func() {
		body, _ := json.Marshal(patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}}))
		req, _ := http.NewRequest("PATCH", base+"/Groups/"+admin, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+scimToken)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool {
		for _, r := range readAuditSoFar(m.auditLog) {
			if r.Command == "scim invite Admin" && r.Outcome == audit.OutcomePlanned && slices.Contains(r.Targets, email) {
				return true
			}
		}
		return false
	}, time.Minute, 5*time.Millisecond, "the invitation with the new role began")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	_, invited := serverInvitation(m.Server, email)
	if !invited {
		assert.Zero(t, serverMutationsOf(m.Server, fixtures.KindInvite, email, "Admin"), "killed before the new invitation was sent")
	}
	assert.Equal(t, 1, serverMutationsOf(m.Server, fixtures.KindRevoke, email, ""))

	_, base = startSCIMProcess(t, m, state)
	require.Eventually(t, func() bool {
		inv, ok := serverInvitation(m.Server, email)
		return ok && inv.Role == "Admin"
	}, 2*time.Minute, 200*time.Millisecond, "the resumed job sent the invitation with the new role")
	require.Eventually(t, func() bool {
		code, got := scimCall(t, base, "GET", "/Users/"+id, nil, scimToken)
		ext, _ := got["urn:clay-agent:params:scim:schemas:extension:clay:2.0:User"].(map[string]any)
		return code == http.StatusOK && ext["role"] == "Admin"
	}, time.Minute, 200*time.Millisecond, "the job finished")
	assert.Equal(t, 1, serverMutationsOf(m.Server, fixtures.KindInvite, email, "Admin"), "invited with the new role exactly once")
	assert.Equal(t, 1, serverMutationsOf(m.Server, fixtures.KindRevoke, email, ""), "the revoke is not done again")
	assert.Equal(t, 1, serverMutationsOf(m.Server, fixtures.KindInvite, email, "Editor"), "the create's invitation only")
	outcomes := auditOutcomes(m.records(t), "scim invite Admin", email)
	require.NotEmpty(t, outcomes)
	assert.Contains(t, []string{"invited", "already-invited"}, outcomes[len(outcomes)-1],
		"the resumed step sent the invitation, or found the one sent before the kill: %v", outcomes)
	assert.NotContains(t, outcomes, "failed")
}
