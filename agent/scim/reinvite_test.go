package scim_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
)

func addMember(id string) map[string]any {
	return patchOps(map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": id}}})
}

func removeMember(id string) map[string]any {
	return patchOps(map[string]any{"op": "remove", "path": `members[value eq "` + id + `"]`})
}

func setRoleAttr(role string) map[string]any {
	return patchOps(map[string]any{"op": "Replace", "path": scim.SchemaClayUser + ":role", "value": role})
}

// create posts a new user and checks it is invited as Editor.
func (h *harness) create(t *testing.T, email string) string {
	t.Helper()
	r := h.do(http.MethodPost, "/scim/v2/Users", oktaUser(email, email, "New", "User", "x-"+email))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	require.Equal(t, true, ext(r)["pending"])
	inv, ok := h.be.invitation(email)
	require.True(t, ok)
	require.Equal(t, roster.Editor, inv.Role)
	return r.str("id")
}

// requireInvited checks the fake's invitation of email and the user's
// resource: pending, with role.
func (h *harness) requireInvited(t *testing.T, email string, role roster.Role) {
	t.Helper()
	inv, ok := h.be.invitation(email)
	require.True(t, ok, "%s has an invitation", email)
	assert.Equal(t, role, inv.Role)
	r := h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID(email), nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, map[string]any{"pending": true, "role": string(role), "email": email}, ext(r))
}

// TestPendingUserRole: a role asked for a pending invitation (Okta's
// group push right after the create, Entra's role attribute) revokes the
// invitation and invites again with the role; a role it already has does
// nothing.
func TestPendingUserRole(t *testing.T) {
	for _, tc := range []struct {
		name   string
		assign func(h *harness, id string) response
		status int
	}{
		{"okta group push", func(h *harness, id string) response {
			return h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", addMember(id))
		}, http.StatusNoContent},
		{"entra role attribute", func(h *harness, id string) response {
			return h.do(http.MethodPatch, "/scim/v2/Users/"+id, setRoleAttr("admin"))
		}, http.StatusOK},
		{"put with the role", func(h *harness, id string) response {
			body := oktaUser("new@acme.test", "new@acme.test", "New", "User", "x-new@acme.test")
			body[scim.SchemaClayUser] = map[string]any{"role": "Admin"}
			return h.do(http.MethodPut, "/scim/v2/Users/"+id, body)
		}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := newFakeBackend()
			h := newHarness(t, be)
			id := h.create(t, "new@acme.test")

			r := tc.assign(h, id)
			require.Equal(t, tc.status, r.Code, r.Body.String())
			h.requireInvited(t, "new@acme.test", roster.Admin)
			assert.Equal(t, 1, be.actCount("revoke new@acme.test"))
			assert.Equal(t, 2, be.actCount("invite new@acme.test"))
			assert.Zero(t, be.callCount("set-role new@acme.test"), "an invitation's role is not set in place")
			r = h.do(http.MethodGet, "/scim/v2/Groups/role-admin", nil)
			assert.Contains(t, r.Body.String(), id)

			// Okta pushes the groups again, Entra the attribute: nothing happens.
			calls := be.mutations()
			require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", addMember(id)).Code)
			require.Equal(t, http.StatusOK, h.do(http.MethodPatch, "/scim/v2/Users/"+id, setRoleAttr("Admin")).Code)
			assert.Equal(t, calls, be.mutations(), "no revoke, no new invitation email")
			h.requireInvited(t, "new@acme.test", roster.Admin)
		})
	}
}

// TestPendingUserRoleNoOp: asking a pending invitation for the role it
// has revokes nothing and sends no invitation.
func TestPendingUserRoleNoOp(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	ivy := scim.UserID("ivy@acme.test")
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-viewer", addMember(ivy)).Code)
	require.Equal(t, http.StatusOK, h.do(http.MethodPatch, "/scim/v2/Users/"+ivy, setRoleAttr("Viewer")).Code)
	id := h.create(t, "new@acme.test")
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-editor", addMember(id)).Code)
	assert.Zero(t, be.callCount("revoke ivy@acme.test")+be.callCount("revoke new@acme.test"))
	assert.Zero(t, be.callCount("invite ivy@acme.test"))
	assert.Equal(t, 1, be.callCount("invite new@acme.test"), "only the create's")
	h.requireInvited(t, "ivy@acme.test", roster.Viewer)
}

// TestPendingUserRoleFailedInvitation: when the invitation with the new
// role fails, the old one is sent again and the answer is 502; when that
// fails too, the answer says there is no invitation, and it is logged.
func TestPendingUserRoleFailedInvitation(t *testing.T) {
	noSeat := errors.New("the page says: no seats left for Admins")

	t.Run("back with the old role", func(t *testing.T) {
		be := newFakeBackend()
		h := newHarness(t, be)
		id := h.create(t, "new@acme.test")
		be.setInviteErr(func(_ string, role roster.Role) error {
			if role == roster.Admin {
				return noSeat
			}
			return nil
		})
		r := h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", addMember(id))
		requireError(t, r, http.StatusBadGateway, "")
		assert.Contains(t, r.body["detail"], "was not changed")
		assert.Contains(t, r.body["detail"], "no seats left for Admins")
		assert.Contains(t, r.body["detail"], "the invitation is back as Editor")
		h.requireInvited(t, "new@acme.test", roster.Editor)
		assert.Equal(t, 1, be.actCount("revoke new@acme.test"))
		assert.Equal(t, 3, be.callCount("invite new@acme.test"), "the create's, the new role's, the old role's")
		r = h.do(http.MethodGet, "/scim/v2/Groups/role-admin", nil)
		assert.NotContains(t, r.Body.String(), id)
	})

	t.Run("no invitation left", func(t *testing.T) {
		be := newFakeBackend()
		h := newHarness(t, be)
		id := h.create(t, "new@acme.test")
		be.setInviteErr(func(string, roster.Role) error { return noSeat })
		r := h.do(http.MethodPatch, "/scim/v2/Users/"+id, setRoleAttr("Admin"))
		requireError(t, r, http.StatusBadGateway, "")
		assert.Contains(t, r.body["detail"], "was not changed, and new@acme.test has no invitation now")
		assert.Contains(t, r.body["detail"], "inviting it again as Editor")
		assert.False(t, be.present("new@acme.test"))
		lost := h.logs.FilterMessage("scim role change of a pending invitation: the invitation is lost, invite the address again").All()
		require.Len(t, lost, 1)
		assert.Equal(t, zapcore.ErrorLevel, lost[0].Level)
		// the next roster read shows the user inactive
		h.eventuallyActive(id, false)
	})

	t.Run("revoke fails: nothing changed", func(t *testing.T) {
		be := newFakeBackend()
		h := newHarness(t, be)
		ivy := scim.UserID("ivy@acme.test")
		be.setRefuse("ivy@acme.test", errors.New("the page shows an error"))
		r := h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", addMember(ivy))
		requireError(t, r, http.StatusBadGateway, "")
		assert.Contains(t, r.body["detail"], "was not changed")
		assert.Zero(t, be.callCount("invite ivy@acme.test"))
		be.setRefuse("ivy@acme.test", nil)
		h.requireInvited(t, "ivy@acme.test", roster.Viewer)
	})
}

// TestPendingUserRoleResumesAfterCrash: the worker stops after a step is
// recorded (or while a step acts), and the next start finishes the job
// from that step: the invitation has the new role, sent exactly once.
func TestPendingUserRoleResumesAfterCrash(t *testing.T) {
	for _, step := range []string{"invite", "verify"} {
		t.Run("after the step before "+step, func(t *testing.T) {
			be := newFakeBackend()
			cfg, logs := harnessConfig(t, be, func(c *scim.Config) { c.MutationWait = 2 * time.Second })
			h1 := startHarnessWith(t, be, cfg, logs, func(s *scim.Server) { scim.StopAfterStep(s, step) })
			id := h1.create(t, "new@acme.test")
			requireError(t, h1.do(http.MethodPatch, "/scim/v2/Groups/role-admin", addMember(id)), http.StatusServiceUnavailable, "")
			select {
			case err := <-h1.done:
				require.Error(t, err)
			case <-time.After(time.Minute):
				t.Fatal("the worker did not stop")
			}
			h1.cancel()
			require.NoError(t, h1.srv.Close())
			h1.cancel = nil
			assert.Equal(t, 1, be.actCount("revoke new@acme.test"))
			assert.Equal(t, step == "verify", be.callCount("invite new@acme.test") == 2, "the invitation was sent before the stop")

			cfg.Registry, cfg.MutationWait = prometheus.NewRegistry(), 5*time.Second
			h2 := startHarness(t, be, cfg, logs)
			require.Eventually(t, func() bool {
				r := h2.do(http.MethodGet, "/scim/v2/Users/"+id, nil)
				return ext(r)["role"] == "Admin"
			}, time.Minute, 10*time.Millisecond)
			h2.requireInvited(t, "new@acme.test", roster.Admin)
			assert.Equal(t, 1, be.callCount("revoke new@acme.test"), "the revoke is not done again")
			assert.Equal(t, 2, be.callCount("invite new@acme.test"), "the create's, then the new role's once")
			assert.NotEmpty(t, logs.FilterMessage("resuming a job left by the previous process").All())
		})
	}

	t.Run("while the revoke acts", func(t *testing.T) {
		be := newFakeBackend()
		cfg, logs := harnessConfig(t, be, func(c *scim.Config) { c.MutationWait = 2 * time.Second })
		h1 := startHarness(t, be, cfg, logs)
		id := h1.create(t, "new@acme.test")
		be.mu.Lock()
		be.gate, be.started = make(chan struct{}), make(chan string, 16)
		be.mu.Unlock()
		requireError(t, h1.do(http.MethodPatch, "/scim/v2/Groups/role-admin", addMember(id)), http.StatusServiceUnavailable, "")
		waitStarted(t, be, "revoke new@acme.test")
		// the process dies; the revoke then happens on the page, unrecorded
		h1.cancel()
		require.NoError(t, h1.srv.Close())
		be.open()
		<-h1.done
		h1.cancel = nil
		_, invited := be.invitation("new@acme.test")
		require.False(t, invited)

		cfg.Registry, cfg.MutationWait = prometheus.NewRegistry(), 5*time.Second
		h2 := startHarness(t, be, cfg, logs)
		require.Eventually(t, func() bool {
			r := h2.do(http.MethodGet, "/scim/v2/Users/"+id, nil)
			return ext(r)["role"] == "Admin"
		}, time.Minute, 10*time.Millisecond)
		h2.requireInvited(t, "new@acme.test", roster.Admin)
		assert.Equal(t, 2, be.callCount("revoke new@acme.test"), "the revoke is done again")
		assert.Equal(t, 1, be.actCount("revoke new@acme.test"), "and acts once")
		assert.Equal(t, 2, be.actCount("invite new@acme.test"))
	})
}

// TestPendingUserRoleSparesTheRemovalBudget: the revoke of a role change
// is no removal: it does not count against MaxRemovalsPerHour, and goes
// on while the breaker is open.
func TestPendingUserRoleSparesTheRemovalBudget(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be, func(c *scim.Config) { c.MaxRemovalsPerHour = 1 })
	id := h.create(t, "new@acme.test")
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", addMember(id)).Code)
	h.requireInvited(t, "new@acme.test", roster.Admin)

	// the one removal of the hour is still there
	require.Equal(t, http.StatusNoContent, h.do(http.MethodDelete, "/scim/v2/Users/"+scim.UserID("ed@acme.test"), nil).Code)
	requireError(t, h.do(http.MethodDelete, "/scim/v2/Users/"+scim.UserID("ann@acme.test"), nil), http.StatusServiceUnavailable, "")
	assert.Equal(t, 1.0, metricValue(t, h, scim.MetricBreakerOpen))

	// with the breaker open, a pending user's role still changes
	r := h.do(http.MethodPatch, "/scim/v2/Groups/role-sales-rep", addMember(scim.UserID("ivy@acme.test")))
	require.Equal(t, http.StatusNoContent, r.Code, r.Body.String())
	h.requireInvited(t, "ivy@acme.test", roster.SalesRep)
}

// TestTwoRoleGroups: a user in two role groups gets the more privileged
// role, with a warning; leaving one leaves the other's role, leaving both
// the default role. Pending users are invited again for each change,
// members have their role set.
func TestTwoRoleGroups(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	id := h.create(t, "new@acme.test")
	ed := scim.UserID("ed@acme.test")
	conflicts := func() int {
		return h.logs.FilterMessage("a user is in more than one role group: the most privileged role wins").Len()
	}
	members := func(group string) string {
		r := h.do(http.MethodGet, "/scim/v2/Groups/"+group, nil)
		require.Equal(t, http.StatusOK, r.Code)
		return r.Body.String()
	}

	// Okta pushes Clay Viewer, then Clay Admin: Admin wins.
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-viewer", addMember(id)).Code)
	h.requireInvited(t, "new@acme.test", roster.Viewer)
	assert.Zero(t, conflicts())
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", addMember(id)).Code)
	h.requireInvited(t, "new@acme.test", roster.Admin)
	assert.Equal(t, 1, conflicts())
	// the other order: the less privileged group changes nothing
	calls := be.mutations()
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-editor", addMember(id)).Code)
	assert.Equal(t, calls, be.mutations())
	assert.Equal(t, 2, conflicts())
	h.requireInvited(t, "new@acme.test", roster.Admin)
	for _, g := range []string{"role-admin", "role-editor", "role-viewer"} {
		assert.Contains(t, members(g), id, "in %s", g)
	}
	r := h.do(http.MethodGet, "/scim/v2/Users/"+id, nil)
	assert.Len(t, r.body["groups"], 3)

	// Leaving Admin: the most privileged of the others, Editor.
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", removeMember(id)).Code)
	h.requireInvited(t, "new@acme.test", roster.Editor)
	assert.NotContains(t, members("role-admin"), id)
	// Leaving Viewer: still Editor, nothing to do.
	calls = be.mutations()
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-viewer", removeMember(id)).Code)
	assert.Equal(t, calls, be.mutations())
	// Leaving the last one: the default role, Editor, which it has.
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-editor", removeMember(id)).Code)
	assert.Equal(t, calls, be.mutations())
	h.requireInvited(t, "new@acme.test", roster.Editor)
	assert.Equal(t, 3, be.actCount("revoke new@acme.test"), "to Viewer, to Admin, to Editor")

	// A member: Viewer and Admin, then out of Admin.
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-viewer", addMember(ed)).Code)
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", addMember(ed)).Code)
	assert.Equal(t, roster.Admin, be.role("ed@acme.test"))
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", removeMember(ed)).Code)
	assert.Equal(t, roster.Viewer, be.role("ed@acme.test"))
	assert.Zero(t, be.callCount("revoke ed@acme.test"), "a member's role is set in place")
	assert.Equal(t, 3, be.callCount("set-role ed@acme.test"))
}

// TestPendingUserLeavesItsGroup: removing a pending user from its role
// group invites it again with the default role.
func TestPendingUserLeavesItsGroup(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	ivy := scim.UserID("ivy@acme.test")
	require.Equal(t, http.StatusNoContent, h.do(http.MethodPatch, "/scim/v2/Groups/role-viewer", removeMember(ivy)).Code)
	h.requireInvited(t, "ivy@acme.test", roster.Editor)
	assert.Equal(t, 1, be.actCount("revoke ivy@acme.test"))
	assert.Equal(t, 1, be.actCount("invite ivy@acme.test"))
}
