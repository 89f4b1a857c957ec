package scim_test

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
)

// TestNamePartsOfPageMembers: Okta's gate reads the first user of a page
// and one user by id and wants name.givenName and name.familyName. Members
// read from the Team page get them from the page's name (or their
// address); users the client created keep the name it sent.
func TestNamePartsOfPageMembers(t *testing.T) {
	be := newFakeBackend()
	be.addMember("jane.doe@acme.test", "jane.doe@acme.test", roster.Viewer, false)
	be.addMember("mei@acme.test", "山田 太郎", roster.Viewer, false)
	h := newHarness(t, be)

	first := resources(t, h.do(http.MethodGet, "/scim/v2/Users?count=1&startIndex=1", nil))
	require.Len(t, first, 1)
	name, _ := first[0]["name"].(map[string]any)
	assert.NotEmpty(t, name["givenName"], "%v", first[0])
	assert.NotEmpty(t, name["familyName"], "%v", first[0])

	tests := []struct {
		email string
		want  map[string]any
	}{
		{"ann@acme.test", map[string]any{"givenName": "Ann", "familyName": "Admin", "formatted": "Ann Admin"}},
		{"jane.doe@acme.test", map[string]any{"givenName": "jane", "familyName": "doe", "formatted": "jane doe"}},
		{"mei@acme.test", map[string]any{"givenName": "太郎", "familyName": "山田", "formatted": "山田 太郎"}},
		// an invitation has no name on the page: its address gives one
		{"ivy@acme.test", map[string]any{"givenName": "ivy", "familyName": "ivy", "formatted": "ivy"}},
	}
	for _, tt := range tests {
		r := h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID(tt.email), nil)
		require.Equal(t, http.StatusOK, r.Code, r.Body.String())
		assert.Equal(t, tt.want, r.body["name"], tt.email)
	}
	for _, u := range resources(t, h.do(http.MethodGet, "/scim/v2/Users", nil)) {
		name, _ := u["name"].(map[string]any)
		assert.NotEmpty(t, name["givenName"], "%v", u["userName"])
		assert.NotEmpty(t, name["familyName"], "%v", u["userName"])
	}

	// A client's name is kept as sent.
	r := h.do(http.MethodPost, "/scim/v2/Users", oktaUser("rita@acme.test", "rita@acme.test", "Rita", "Ray", "r1"))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	assert.Equal(t, map[string]any{"givenName": "Rita", "familyName": "Ray"}, r.body["name"])

	// Patching one part of a derived name keeps the others.
	ann := "/scim/v2/Users/" + scim.UserID("ann@acme.test")
	r = h.do(http.MethodPatch, ann, patchOps(map[string]any{"op": "replace", "path": "name.familyName", "value": "Adams"}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, map[string]any{"givenName": "Ann", "familyName": "Adams", "formatted": "Ann Admin"}, r.body["name"])
	r = h.do(http.MethodGet, ann, nil)
	assert.Equal(t, map[string]any{"givenName": "Ann", "familyName": "Adams", "formatted": "Ann Admin"}, r.body["name"])

	// A PATCH that names no part of the name leaves it derived: a new
	// displayName shows in it.
	ed := "/scim/v2/Users/" + scim.UserID("ed@acme.test")
	r = h.do(http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "path": "displayName", "value": "Edward Elric"}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, map[string]any{"givenName": "Edward", "familyName": "Elric", "formatted": "Edward Elric"}, r.body["name"])
}

// TestSearchWithPOST: POST /Users/.search and /Groups/.search answer as
// the GET of the list with the SearchRequest's members as its query.
func TestSearchWithPOST(t *testing.T) {
	h := newHarness(t, newFakeBackend())
	tests := []struct {
		name, path, get string
		body            map[string]any
	}{
		{"a filter", "/scim/v2/Users/.search", "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "ED@acme.test"`),
			map[string]any{"filter": `userName eq "ED@acme.test"`}},
		{"a page", "/scim/v2/Users/.search", "/scim/v2/Users?startIndex=2&count=2",
			map[string]any{"startIndex": 2, "count": 2}},
		{"attributes", "/scim/v2/Users/.search", "/scim/v2/Users?attributes=userName,emails&count=3",
			map[string]any{"attributes": []string{"userName", "emails"}, "count": 3, "sortBy": "userName", "sortOrder": "ascending"}},
		{"excluded attributes", "/scim/v2/Users/.search", "/scim/v2/Users?excludedAttributes=emails",
			map[string]any{"excludedAttributes": []string{"emails"}}},
		{"everything", "/scim/v2/Users/.search", "/scim/v2/Users", map[string]any{}},
		{"groups", "/scim/v2/Groups/.search", "/scim/v2/Groups?excludedAttributes=members&filter=" + url.QueryEscape(`displayName eq "Clay Viewer"`),
			map[string]any{"filter": `displayName eq "Clay Viewer"`, "excludedAttributes": []string{"members"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := h.do(http.MethodGet, tt.get, nil)
			got := h.do(http.MethodPost, tt.path, search(tt.body))
			require.Equal(t, http.StatusOK, got.Code, got.Body.String())
			assert.Equal(t, want.body, got.body)
			assert.NotEmpty(t, resources(t, got))
		})
	}
	entries, err := h.srv.RequestLog(time.Time{})
	require.NoError(t, err)
	ops := map[string]int{}
	for _, e := range entries {
		ops[e.Op]++
	}
	assert.Equal(t, 5, ops["users.search"])
	assert.Equal(t, 1, ops["groups.search"])
}

// TestPatchCannotRemoveTheState: removing active or the Clay role is
// refused (mutability) and changes nothing; replacing them acts.
func TestPatchCannotRemoveTheState(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	ed := "/scim/v2/Users/" + scim.UserID("ed@acme.test")
	before := h.do(http.MethodGet, ed, nil)
	for _, op := range []map[string]any{
		{"op": "remove", "path": "active"},
		{"op": "Remove", "path": "urn:ietf:params:scim:schemas:core:2.0:User:active"},
		{"op": "remove", "path": scim.SchemaClayUser + ":role"},
	} {
		r := h.do(http.MethodPatch, ed, patchOps(op))
		requireError(t, r, http.StatusBadRequest, "mutability")
	}
	after := h.do(http.MethodGet, ed, nil)
	assert.Equal(t, before.body, after.body, "nothing changed")
	assert.Zero(t, be.mutations())
	assert.True(t, be.present("ed@acme.test"))

	// removing other attributes still works
	r := h.do(http.MethodPatch, ed, patchOps(map[string]any{"op": "remove", "path": "displayName"}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.NotContains(t, r.body, "displayName")
}

// TestGroupRename: Okta renames the groups it pushes with a PATCH that
// carries no members (a replace of displayName, or of {id, displayName}).
// It is answered 204 and changes nobody's role; the group keeps the role's
// name. A PUT with another name sets the members it lists and keeps the
// name too.
func TestGroupRename(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	before := h.do(http.MethodGet, "/scim/v2/Groups/role-admin", nil)
	require.Equal(t, http.StatusOK, before.Code)
	for _, op := range []map[string]any{
		{"op": "replace", "path": "displayName", "value": "Engineering admins"},
		{"op": "Replace", "value": map[string]any{"id": "role-admin", "displayName": "Engineering admins"}},
		{"op": "replace", "value": map[string]any{"displayName": "Clay Admin"}},
	} {
		r := h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", patchOps(op), "User-Agent", "Okta SCIM Client 1.0.0")
		require.Equal(t, http.StatusNoContent, r.Code, r.Body.String())
		assert.Equal(t, before.Header().Get("ETag"), r.Header().Get("ETag"), "the group did not change")
	}
	after := h.do(http.MethodGet, "/scim/v2/Groups/role-admin", nil)
	assert.Equal(t, before.body, after.body)
	assert.Equal(t, "Clay Admin", after.body["displayName"])
	assert.Zero(t, be.mutations(), "nobody's role changed")

	// A rename with members sets the members.
	ed := scim.UserID("ed@acme.test")
	r := h.do(http.MethodPatch, "/scim/v2/Groups/role-viewer", patchOps(
		map[string]any{"op": "replace", "value": map[string]any{"id": "role-viewer", "displayName": "Readers"}},
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ed}}},
	))
	require.Equal(t, http.StatusNoContent, r.Code, r.Body.String())
	assert.Equal(t, roster.Viewer, be.role("ed@acme.test"))

	ivy := scim.UserID("ivy@acme.test")
	r = h.do(http.MethodPut, "/scim/v2/Groups/role-viewer", map[string]any{
		"schemas": []string{scim.SchemaGroup}, "displayName": "Readers",
		"members": []any{map[string]any{"value": ed}, map[string]any{"value": ivy}},
	})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, "Clay Viewer", r.body["displayName"])
	assert.Len(t, r.body["members"], 2)
	assert.Equal(t, 1, be.mutations(), "only the member added acted")
}

// TestFiltersOnAddresses: userName, emails and externalId filters match
// addresses whatever their case; an unquoted value is a 400 invalidFilter
// that says how to quote it.
func TestFiltersOnAddresses(t *testing.T) {
	h := newHarness(t, newFakeBackend())
	body := oktaUser("Jane.Doe@Acme.test", "Jane.Doe@Acme.test", "Jane", "Doe", "Jane.Doe@Corp.example")
	body["emails"] = append(body["emails"].([]any), map[string]any{"value": "JD@Home.example", "type": "home"})
	r := h.do(http.MethodPost, "/scim/v2/Users", body)
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	jane := r.str("id")
	r = h.do(http.MethodPost, "/scim/v2/Users", oktaUser("kim@acme.test", "kim@acme.test", "Kim", "Lee", "00uAbC"))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	kim := r.str("id")
	ed := scim.UserID("ed@acme.test")

	tests := []struct {
		filter string
		want   []string
	}{
		{`userName eq "jane.doe@acme.test"`, []string{jane}},
		{`userName eq "JANE.DOE@ACME.TEST"`, []string{jane}},
		{`userName eq "Ed@Acme.Test"`, []string{ed}},
		{`emails.value eq "jane.doe@acme.TEST"`, []string{jane}},
		{`emails.value eq "jd@home.example"`, []string{jane}},
		{`emails eq "JD@HOME.EXAMPLE"`, []string{jane}},
		{`emails[type eq "work"].value eq "jane.doe@acme.test"`, []string{jane}},
		{`emails[type eq "WORK"].value eq "ED@acme.test"`, []string{ed}},
		{`emails[type eq "work"].value eq "jd@home.example"`, nil},
		{`emails[type eq "home"].value eq "jd@home.example"`, []string{jane}},
		{`externalId eq "jane.doe@corp.example"`, []string{jane}},
		{`externalId eq "Jane.Doe@Corp.example"`, []string{jane}},
		{`externalId eq "00uAbC"`, []string{kim}},
		{`externalId eq "00uabc"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			r := h.do(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(tt.filter), nil)
			var got []string
			for _, u := range resources(t, r) {
				got = append(got, u["id"].(string))
			}
			assert.Equal(t, tt.want, got)
		})
	}

	for _, f := range []string{`userName eq jane@x.com`, `emails[type eq work].value eq "jane@x.com"`, `externalId eq 00uAbC`} {
		r := h.do(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(f), nil)
		requireError(t, r, http.StatusBadRequest, "invalidFilter")
		assert.Contains(t, r.str("detail"), "is not quoted", f)
	}
	r = h.do(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(`userName eq jane@x.com`), nil)
	assert.Contains(t, r.str("detail"), `"jane@x.com"`)
}

// TestDeactivatedUserStaysReadable: a user deactivated with PATCH or PUT
// active=false stays a resource (GET 200 with active false), through later
// roster reads, which no longer show it, and a restart; DELETE removes it,
// and it is 404 from then on.
func TestDeactivatedUserStaysReadable(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be, func(c *scim.Config) { c.MaxRosterAge = time.Millisecond })
	ed, ann := scim.UserID("ed@acme.test"), scim.UserID("ann@acme.test")

	r := h.do(http.MethodPatch, "/scim/v2/Users/"+ed, patchOps(map[string]any{"op": "replace", "path": "active", "value": false}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, false, r.body["active"])
	put := oktaUser("ann@acme.test", "ann@acme.test", "Ann", "Admin", "")
	put["active"] = false
	r = h.do(http.MethodPut, "/scim/v2/Users/"+ann, put)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, false, r.body["active"])
	require.False(t, be.present("ed@acme.test"))
	require.False(t, be.present("ann@acme.test"))

	readable := func(h *harness) {
		t.Helper()
		for _, id := range []string{ed, ann} {
			r := h.do(http.MethodGet, "/scim/v2/Users/"+id, nil)
			require.Equal(t, http.StatusOK, r.Code, r.Body.String())
			assert.Equal(t, false, r.body["active"])
			assert.NotContains(t, r.body, "groups")
		}
		r := h.do(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "ed@acme.test"`), nil)
		require.Len(t, resources(t, r), 1, "Okta's lookup before a create finds the inactive user")
	}
	// through a roster read that no longer shows them
	read := h.srv.Health().RosterReadAt
	require.Eventually(t, func() bool {
		h.do(http.MethodGet, "/scim/v2/Users", nil)
		return h.srv.Health().RosterReadAt.After(read)
	}, time.Minute, 5*time.Millisecond)
	readable(h)

	// through a restart
	h.stop()
	cfg := h.cfg
	cfg.Registry = prometheus.NewRegistry()
	h = startHarness(t, be, cfg, h.logs)
	readable(h)

	// DELETE: gone, and a second DELETE is 404 too
	require.Equal(t, http.StatusNoContent, h.do(http.MethodDelete, "/scim/v2/Users/"+ed, nil).Code)
	requireError(t, h.do(http.MethodGet, "/scim/v2/Users/"+ed, nil), http.StatusNotFound, "")
	requireError(t, h.do(http.MethodDelete, "/scim/v2/Users/"+ed, nil), http.StatusNotFound, "")
	assert.Equal(t, 1, be.callCount("offboard ed@acme.test"), "deleting the inactive user did not act")
	r = h.do(http.MethodGet, "/scim/v2/Users/"+ann, nil)
	assert.Equal(t, http.StatusOK, r.Code)
}

// entraUser is a POST of Entra's with the app roles of
// SingleAppRoleAssignment or AppRoleAssignmentsComplex.
func entraUser(email string, roles ...map[string]any) map[string]any {
	list := make([]any, len(roles))
	for i, r := range roles {
		list[i] = r
	}
	return map[string]any{
		"schemas":  []string{scim.SchemaUser, scim.SchemaEnterpriseUser},
		"userName": email, "active": true, "externalId": "ext-" + email,
		"emails": []any{map[string]any{"type": "work", "value": email}},
		"roles":  list,
	}
}

func appRole(value string, primary bool) map[string]any {
	return map[string]any{"primary": primary, "type": "WindowsAzureActiveDirectoryRole", "value": value, "display": value}
}

// TestEntraAppRoles: with a role map, Entra's roles attribute sets the
// Clay role: on POST, on a PATCH of roles[primary eq "True"].value and of
// roles; an app role the map does not name is 400 invalidValue. Without
// a map, roles are kept and not acted on.
func TestEntraAppRoles(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be, func(c *scim.Config) {
		c.RoleMap = map[string]roster.Role{"Admin": roster.Admin, "Member": roster.Editor, "Sales Rep": "sales-rep", "Reader": roster.Viewer}
	})

	r := h.do(http.MethodPost, "/scim/v2/Users", entraUser("sam@acme.test", appRole("Admin", true)))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	sam := "/scim/v2/Users/" + r.str("id")
	assert.Equal(t, "Admin", ext(r)["role"])
	assert.Equal(t, roster.Admin, be.role("sam@acme.test"))
	assert.Len(t, r.body["roles"], 1, "the roles are kept as sent")

	// SingleAppRoleAssignment's PATCH
	r = h.do(http.MethodPatch, sam, patchOps(map[string]any{"op": "Add", "path": `roles[primary eq "True"].value`, "value": "member"}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, "Editor", ext(r)["role"])
	assert.Equal(t, roster.Editor, be.role("sam@acme.test"))

	// AppRoleAssignmentsComplex's PATCH: the value is a JSON object
	r = h.do(http.MethodPatch, sam, patchOps(map[string]any{"op": "replace", "path": "roles", "value": []any{
		map[string]any{"value": `{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Sales Rep"}`},
	}}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, roster.SalesRep, be.role("sam@acme.test"))

	// the same role again does nothing; other attributes do not touch it
	calls := be.mutations()
	r = h.do(http.MethodPatch, sam, patchOps(map[string]any{"op": "replace", "path": "roles", "value": []any{appRole("Sales Rep", false)}}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	r = h.do(http.MethodPatch, sam, patchOps(map[string]any{"op": "replace", "path": "displayName", "value": "Sam S"}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, calls, be.mutations())

	// several roles: the primary one, or the one they all map to
	r = h.do(http.MethodPost, "/scim/v2/Users", entraUser("pat@acme.test", appRole("Member", false), appRole("Reader", true)))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	assert.Equal(t, roster.Viewer, be.role("pat@acme.test"))
	r = h.do(http.MethodPost, "/scim/v2/Users", entraUser("lee@acme.test", appRole("Member", false), map[string]any{"value": "EDITOR-ISH", "display": "member"}))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	assert.Equal(t, roster.Editor, be.role("lee@acme.test"))

	refused := []struct {
		name   string
		method string
		path   string
		body   map[string]any
		detail string
	}{
		{"an unknown role", http.MethodPost, "/scim/v2/Users", entraUser("zed@acme.test", appRole("Owner", true)), `"Owner" is not one of the app roles mapped to Clay roles (Admin, Member, Reader, Sales Rep)`},
		{"roles of several Clay roles, none primary", http.MethodPost, "/scim/v2/Users", entraUser("zed@acme.test", appRole("Admin", false), appRole("Reader", false)), "several Clay roles (Admin, Viewer)"},
		{"the extension disagrees", http.MethodPost, "/scim/v2/Users", func() map[string]any {
			u := entraUser("zed@acme.test", appRole("Admin", true))
			u[scim.SchemaClayUser] = map[string]any{"role": "Viewer"}
			return u
		}(), "asks for Viewer and roles for Admin"},
		{"an unknown role in a PATCH", http.MethodPatch, sam, patchOps(map[string]any{"op": "Add", "path": `roles[primary eq "True"].value`, "value": "Owner"}), `"Owner"`},
		{"an unknown role in a PUT", http.MethodPut, sam, entraUser("sam@acme.test", appRole("Owner", true)), `"Owner"`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			calls := be.mutations()
			r := h.do(tt.method, tt.path, tt.body)
			requireError(t, r, http.StatusBadRequest, "invalidValue")
			assert.Contains(t, r.str("detail"), tt.detail)
			assert.Equal(t, calls, be.mutations())
		})
	}
	assert.False(t, be.present("zed@acme.test"))
	assert.Equal(t, roster.SalesRep, be.role("sam@acme.test"))

	// Without a map, roles are attributes only.
	be2 := newFakeBackend()
	h2 := newHarness(t, be2)
	r = h2.do(http.MethodPost, "/scim/v2/Users", entraUser("sam@acme.test", appRole("Owner", true)))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	assert.Equal(t, roster.Editor, be2.role("sam@acme.test"), "the default role")
	assert.Equal(t, "Owner", r.body["roles"].([]any)[0].(map[string]any)["value"])
}

// holdRosters makes the backend's roster reads wait until the returned
// function is called.
func holdRosters(be *fakeBackend) (held chan struct{}, release func()) {
	be.mu.Lock()
	defer be.mu.Unlock()
	gate := make(chan struct{})
	be.rosterGate, be.rosterHeld = gate, make(chan struct{}, 16)
	var once sync.Once
	return be.rosterHeld, func() {
		once.Do(func() {
			be.mu.Lock()
			be.rosterGate, be.rosterHeld = nil, nil
			be.mu.Unlock()
			close(gate)
		})
	}
}

// TestRestartAnswersFromTheKeptRoster: after a restart, reads are answered
// at once from the roster the store kept, with its age in X-Roster-Age,
// while the worker reads the roster again; /healthz is ready. On a first
// start with an empty store, /healthz is not ready until the first roster
// read has finished.
func TestRestartAnswersFromTheKeptRoster(t *testing.T) {
	be := newFakeBackend()
	held, release := holdRosters(be)
	h := newHarness(t, be, func(c *scim.Config) { c.MutationWait = 200 * time.Millisecond })

	// first start: nothing to answer from yet
	<-held
	rec := h.health()
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "the first roster read has not finished")
	r := h.do(http.MethodGet, "/scim/v2/Users", nil)
	requireError(t, r, http.StatusServiceUnavailable, "")
	assert.NotEmpty(t, r.Header().Get("Retry-After"))
	release()
	require.Eventually(t, func() bool { return h.health().Code == http.StatusOK }, time.Minute, 5*time.Millisecond)
	r = h.do(http.MethodGet, "/scim/v2/Users", nil)
	require.Len(t, resources(t, r), 4)
	assert.Equal(t, "0", r.Header().Get(scim.RosterAgeHeader))
	readAt := h.srv.Health().RosterReadAt

	// restart, with a roster read that does not end
	h.stop()
	be.mu.Lock()
	be.addMember("late@acme.test", "Late Comer", roster.Viewer, false)
	be.mu.Unlock()
	held, release = holdRosters(be)
	defer release()
	cfg := h.cfg
	cfg.Registry = prometheus.NewRegistry()
	h = startHarness(t, be, cfg, h.logs)
	<-held // the worker is reading the roster again

	tests := []struct{ path string }{
		{"/scim/v2/Users?count=1&startIndex=1"},
		{"/scim/v2/Users/" + scim.UserID("ann@acme.test")},
		{"/scim/v2/Groups"},
		{"/scim/v2/Groups/role-admin"},
	}
	// the roster read is held until release: an answer at all is one that
	// did not wait for it (BenchmarkSCIMColdRead in cmd/agent times it)
	for _, tt := range tests {
		r := h.do(http.MethodGet, tt.path, nil)
		require.Equal(t, http.StatusOK, r.Code, "%s: %s", tt.path, r.Body.String())
		age, err := strconv.Atoi(r.Header().Get(scim.RosterAgeHeader))
		require.NoError(t, err, "%s: %s is a number of seconds", tt.path, scim.RosterAgeHeader)
		assert.GreaterOrEqual(t, age, 0)
	}
	r = h.do(http.MethodGet, "/scim/v2/Users", nil)
	assert.Len(t, resources(t, r), 4, "the kept roster, without the member added since")
	health := h.srv.Health()
	assert.True(t, health.OK(), health.Reason)
	assert.True(t, health.RosterReadAt.Equal(readAt), "the roster read at %s answers, %s", readAt, health.RosterReadAt)

	// once the read ends, reads show it
	release()
	require.Eventually(t, func() bool { return h.srv.Health().RosterReadAt.After(readAt) }, time.Minute, 5*time.Millisecond)
	r = h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID("late@acme.test"), nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
}

// TestExtensionObjectWithItsSchemas: a client library that serializes an
// extension on its own puts the extension's URN in a "schemas" member of
// its object. In a POST, a PUT or a PATCH of the whole extension it is
// accepted and not kept; one that names another schema is refused.
func TestExtensionObjectWithItsSchemas(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	withSchemas := func(urn string, m map[string]any) map[string]any {
		m["schemas"] = []any{urn}
		return m
	}

	u := oktaUser("rita@acme.test", "rita@acme.test", "Rita", "Ray", "r1")
	u["schemas"] = []string{scim.SchemaUser, scim.SchemaEnterpriseUser}
	u[scim.SchemaEnterpriseUser] = withSchemas(scim.SchemaEnterpriseUser, map[string]any{"department": "Sales"})
	r := h.do(http.MethodPost, "/scim/v2/Users", u)
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	assert.Equal(t, map[string]any{"department": "Sales"}, r.body[scim.SchemaEnterpriseUser])

	ed := "/scim/v2/Users/" + scim.UserID("ed@acme.test")
	tests := []struct {
		name string
		op   map[string]any
		want func(t *testing.T, r response)
	}{
		{"add the Clay extension", map[string]any{"op": "add", "path": scim.SchemaClayUser,
			"value": withSchemas(scim.SchemaClayUser, map[string]any{"role": "Viewer"})},
			func(t *testing.T, r response) {
				assert.Equal(t, "Viewer", ext(r)["role"])
				assert.NotContains(t, ext(r), "schemas")
				assert.Equal(t, roster.Viewer, be.role("ed@acme.test"))
			}},
		{"replace the enterprise extension", map[string]any{"op": "replace", "path": scim.SchemaEnterpriseUser,
			"value": withSchemas(scim.SchemaEnterpriseUser, map[string]any{"costCenter": "42"})},
			func(t *testing.T, r response) {
				assert.Equal(t, map[string]any{"costCenter": "42"}, r.body[scim.SchemaEnterpriseUser])
			}},
		{"a path-less replace", map[string]any{"op": "replace", "value": map[string]any{
			scim.SchemaEnterpriseUser: withSchemas(scim.SchemaEnterpriseUser, map[string]any{"division": "North"})}},
			func(t *testing.T, r response) {
				assert.Equal(t, map[string]any{"costCenter": "42", "division": "North"}, r.body[scim.SchemaEnterpriseUser])
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPatch, ed, patchOps(tt.op))
			require.Equal(t, http.StatusOK, r.Code, r.Body.String())
			tt.want(t, r)
			tt.want(t, h.do(http.MethodGet, ed, nil))
		})
	}

	// schemas that name another schema, or are not a list of URNs
	for _, bad := range []any{[]any{scim.SchemaUser}, "x"} {
		op := map[string]any{"op": "add", "path": scim.SchemaEnterpriseUser,
			"value": map[string]any{"schemas": bad, "department": "Ops"}}
		requireError(t, h.do(http.MethodPatch, ed, patchOps(op)), http.StatusBadRequest, "invalidValue")
		u := oktaUser("sam@acme.test", "sam@acme.test", "Sam", "Stone", "s1")
		u[scim.SchemaEnterpriseUser] = map[string]any{"schemas": bad, "department": "Ops"}
		requireError(t, h.do(http.MethodPost, "/scim/v2/Users", u), http.StatusBadRequest, "invalidValue")
	}
	assert.False(t, be.present("sam@acme.test"))
}

// TestAttributesThatSelectNothing: names in attributes that are not
// attributes of the resource (a filter among them) select nothing, so a
// list of only such names answers id and schemas; an empty list selects
// the default set.
func TestAttributesThatSelectNothing(t *testing.T) {
	h := newHarness(t, newFakeBackend())
	ann := scim.UserID("ann@acme.test")
	keys := func(m map[string]any) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	tests := []struct {
		name, path string
		want       []string
	}{
		{"an unknown name", "/scim/v2/Users?attributes=nickname2", []string{"id", "schemas"}},
		{"a filter", "/scim/v2/Users?attributes=" + url.QueryEscape(`emails[type eq "work"]`), []string{"id", "schemas"}},
		{"an unknown name and a known one", "/scim/v2/Users?attributes=nickname2,userName", []string{"id", "schemas", "userName"}},
		{"one user", "/scim/v2/Users/" + ann + "?attributes=nickname2", []string{"id", "schemas"}},
		{"a group", "/scim/v2/Groups?attributes=nickname2", []string{"id", "schemas"}},
		{"a search", "/scim/v2/Users/.search", []string{"id", "schemas"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if strings.HasSuffix(tt.path, ".search") {
				r = h.do(http.MethodPost, tt.path, search(map[string]any{"attributes": []string{"nickname2"}}))
			} else {
				r = h.do(http.MethodGet, tt.path, nil)
			}
			require.Equal(t, http.StatusOK, r.Code, r.Body.String())
			list := []map[string]any{r.body}
			if !strings.Contains(tt.path, "/Users/"+ann) {
				list = resources(t, r)
			}
			require.NotEmpty(t, list)
			for _, res := range list {
				assert.Equal(t, tt.want, keys(res))
			}
		})
	}

	// an empty list, or one of blanks, selects the default set
	for _, q := range []string{"attributes=", "attributes=" + url.QueryEscape(" , ")} {
		r := h.do(http.MethodGet, "/scim/v2/Users/"+ann+"?"+q, nil)
		require.Equal(t, http.StatusOK, r.Code, r.Body.String())
		assert.Contains(t, r.body, "userName", q)
		assert.Contains(t, r.body, "meta", q)
	}
}
