package scim_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
)

// TestOktaSequence runs the steps of Okta's SCIM 2.0 test suite, then
// the deactivation, replacement, reactivation and deletion Okta does.
func TestOktaSequence(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	okta := []string{"User-Agent", "OKTA SCIM Integration", "Accept", "application/scim+json"}
	// Okta's suite allows 600 ms a request: that is measured by
	// BenchmarkReadsFromTheKeptRoster, not asserted here.
	send := func(method, path string, body any) response {
		t.Helper()
		return h.do(method, path, body, okta...)
	}

	// 1. Users, paged.
	r := send(http.MethodGet, "/scim/v2/Users?count=2&startIndex=1", nil)
	users := resources(t, r)
	assert.Len(t, users, 2)
	assert.EqualValues(t, 2, r.body["itemsPerPage"])
	assert.EqualValues(t, 1, r.body["startIndex"])
	assert.EqualValues(t, 4, r.body["totalResults"])
	// Okta's required tests 1-2: the first user, then that user by id,
	// each with a given and a family name (members read from the page
	// have theirs derived from the page's name)
	for _, u := range users {
		name, _ := u["name"].(map[string]any)
		assert.NotEmpty(t, name["givenName"], "%v", u)
		assert.NotEmpty(t, name["familyName"], "%v", u)
	}
	r = send(http.MethodGet, "/scim/v2/Users/"+users[0]["id"].(string), nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	name, _ := r.body["name"].(map[string]any)
	assert.NotEmpty(t, name["givenName"], "%v", r.body)
	assert.NotEmpty(t, name["familyName"], "%v", r.body)

	// 2. Groups.
	r = send(http.MethodGet, "/scim/v2/Groups?count=100&startIndex=1", nil)
	groups := resources(t, r)
	require.Len(t, groups, 4)
	assert.Equal(t, "Clay Admin", groups[0]["displayName"])
	assert.Equal(t, "role-admin", groups[0]["id"])
	assert.Len(t, groups[0]["members"], 2)
	assert.EqualValues(t, 4, r.body["totalResults"])

	// 4. A filter that matches no one.
	r = send(http.MethodGet, "/scim/v2/Users?count=100&startIndex=1&filter="+url.QueryEscape(`userName eq "random.person@example.org"`), nil)
	assert.Empty(t, resources(t, r))
	assert.EqualValues(t, 0, r.body["totalResults"])

	// 5. An id that does not exist.
	r = send(http.MethodGet, "/scim/v2/Users/010101010101010101", nil)
	requireError(t, r, http.StatusNotFound, "")

	// 6. Create: userName at another domain than the work email.
	r = send(http.MethodPost, "/scim/v2/Users", oktaUser("rita.ray@okta.example.org", "rita@acme.test", "Rita", "Ray", "00u1abcd"))
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	id := r.str("id")
	require.Equal(t, scim.UserID("rita@acme.test"), id)
	assert.Equal(t, true, r.body["active"])
	assert.Equal(t, "rita.ray@okta.example.org", r.body["userName"])
	assert.Equal(t, map[string]any{"givenName": "Rita", "familyName": "Ray"}, r.body["name"])
	assert.Equal(t, "00u1abcd", r.body["externalId"])
	assert.Contains(t, r.body["schemas"], scim.SchemaUser)
	assert.Equal(t, map[string]any{"pending": true, "role": "Editor", "email": "rita@acme.test"}, ext(r))
	assert.Equal(t, "https://scim.example.test/scim/v2/Users/"+id, r.Header().Get("Location"))
	meta := r.body["meta"].(map[string]any)
	assert.Equal(t, "User", meta["resourceType"])
	assert.Equal(t, r.Header().Get("Location"), meta["location"])
	assert.Regexp(t, `^W/"[0-9a-f]+"$`, meta["version"])
	assert.Equal(t, meta["version"], r.Header().Get("ETag"))
	assert.NotEmpty(t, meta["created"])
	assert.NotEmpty(t, meta["lastModified"])
	assert.Equal(t, 1, be.actCount("invite rita@acme.test"))
	assert.Equal(t, roster.Editor, be.role("rita@acme.test"))

	// 7. Read it back.
	r = send(http.MethodGet, "/scim/v2/Users/"+id, nil)
	require.Equal(t, http.StatusOK, r.Code)
	assert.Equal(t, "rita.ray@okta.example.org", r.body["userName"])
	assert.Equal(t, map[string]any{"givenName": "Rita", "familyName": "Ray"}, r.body["name"])

	// The filter Okta checks before creating now finds it.
	r = send(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "Rita.Ray@okta.example.org"`), nil)
	found := resources(t, r)
	require.Len(t, found, 1)
	assert.Equal(t, id, found[0]["id"])

	// 8. Deactivate with a path-less replace.
	r = send(http.MethodPatch, "/scim/v2/Users/"+id, patchOps(map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, false, r.body["active"])
	assert.False(t, be.present("rita@acme.test"))
	assert.Equal(t, 1, be.actCount("offboard rita@acme.test"))

	// The deactivated user stays a resource.
	r = send(http.MethodGet, "/scim/v2/Users/"+id, nil)
	require.Equal(t, http.StatusOK, r.Code)
	assert.Equal(t, false, r.body["active"])
	assert.NotContains(t, r.body, "groups")

	// PUT with active false on the inactive user: no action.
	body := oktaUser("rita.ray@okta.example.org", "rita@acme.test", "Rita", "Ray", "00u1abcd")
	body["active"] = false
	r = send(http.MethodPut, "/scim/v2/Users/"+id, body)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, false, r.body["active"])
	assert.Equal(t, 1, be.callCount("offboard rita@acme.test"))

	// Reactivate: invited again, with the role it had.
	r = send(http.MethodPatch, "/scim/v2/Users/"+id, patchOps(map[string]any{"op": "replace", "value": map[string]any{"active": true}}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, true, r.body["active"])
	assert.Equal(t, 2, be.actCount("invite rita@acme.test"))
	assert.Equal(t, roster.Editor, be.role("rita@acme.test"))

	// PUT with active false on the active user: offboarded.
	body["name"] = map[string]any{"givenName": "Rita", "familyName": "Ray-Smith"}
	r = send(http.MethodPut, "/scim/v2/Users/"+id, body)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, false, r.body["active"])
	assert.Equal(t, map[string]any{"givenName": "Rita", "familyName": "Ray-Smith"}, r.body["name"])
	assert.False(t, be.present("rita@acme.test"))

	// Delete: 204, then 404.
	r = send(http.MethodDelete, "/scim/v2/Users/"+id, nil)
	require.Equal(t, http.StatusNoContent, r.Code, r.Body.String())
	r = send(http.MethodGet, "/scim/v2/Users/"+id, nil)
	requireError(t, r, http.StatusNotFound, "")
	assert.Equal(t, 2, be.callCount("offboard rita@acme.test"), "the inactive user is deleted without an action")
}

// TestEntraSequence runs what Microsoft Entra's provisioning sends.
func TestEntraSequence(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)

	// Entra probes with a filter on userName before creating.
	r := h.do(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "sam@acme.test"`), nil)
	assert.Empty(t, resources(t, r))
	// A user already in Clay is found the same way, to be matched.
	r = h.do(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(`UserName EQ "ED@acme.test"`), nil)
	require.Len(t, resources(t, r), 1)

	create := map[string]any{
		"schemas":                 []string{scim.SchemaUser, scim.SchemaEnterpriseUser},
		"externalId":              "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
		"userName":                "sam@acme.test",
		"active":                  true,
		"emails":                  []any{map[string]any{"type": "work", "value": "sam@acme.test"}},
		"meta":                    map[string]any{"resourceType": "User"},
		"name":                    map[string]any{"formatted": "Sam Smith", "familyName": "Smith", "givenName": "Sam"},
		"roles":                   []any{},
		scim.SchemaEnterpriseUser: map[string]any{"department": "Sales", "manager": map[string]any{"value": "boss"}},
	}
	r = h.do(http.MethodPost, "/scim/v2/Users", create)
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	id := r.str("id")
	assert.Contains(t, r.body["schemas"], scim.SchemaEnterpriseUser)
	assert.Equal(t, "Sales", r.body[scim.SchemaEnterpriseUser].(map[string]any)["department"])
	assert.Equal(t, 1, be.actCount("invite sam@acme.test"))

	// externalId filter.
	r = h.do(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`), nil)
	require.Len(t, resources(t, r), 1)

	// Capitalized ops, a filtered email path, a sub-attribute.
	r = h.do(http.MethodPatch, "/scim/v2/Users/"+id, patchOps(
		map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": "sam.smith@acme.test"},
		map[string]any{"op": "Replace", "path": "name.familyName", "value": "Smith-Jones"},
		map[string]any{"op": "Add", "path": "displayName", "value": "Sam Smith-Jones"},
		map[string]any{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Marketing"},
		map[string]any{"op": "Add", "path": `roles[primary eq "True"].value`, "value": "User"},
	))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, []any{map[string]any{"type": "work", "value": "sam.smith@acme.test"}}, r.body["emails"])
	assert.Equal(t, "Smith-Jones", r.body["name"].(map[string]any)["familyName"])
	assert.Equal(t, "Marketing", r.body[scim.SchemaEnterpriseUser].(map[string]any)["department"])
	assert.Equal(t, []any{map[string]any{"primary": true, "value": "User"}}, r.body["roles"])
	assert.Equal(t, "sam@acme.test", ext(r)["email"], "the Clay address does not move")
	assert.Equal(t, id, r.str("id"))

	// Filters on the work email.
	r = h.do(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(`emails[type eq "work"].value eq "sam.smith@acme.test"`), nil)
	require.Len(t, resources(t, r), 1)
	r = h.do(http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(`emails.value eq "SAM.SMITH@acme.test"`), nil)
	require.Len(t, resources(t, r), 1)

	// The periodic PATCH with active "True" does nothing.
	calls := be.mutations()
	r = h.do(http.MethodPatch, "/scim/v2/Users/"+id, patchOps(map[string]any{"op": "Replace", "path": "active", "value": "True"}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, calls, be.mutations())

	// Disable with "False" as a string.
	r = h.do(http.MethodPatch, "/scim/v2/Users/"+id, patchOps(map[string]any{"op": "Replace", "path": "active", "value": "False"}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, false, r.body["active"])
	assert.False(t, be.present("sam@acme.test"))

	// Enable, then disable with a path-less replace of an object.
	r = h.do(http.MethodPatch, "/scim/v2/Users/"+id, patchOps(map[string]any{"op": "Replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:active", "value": true}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, true, r.body["active"])
	assert.True(t, be.present("sam@acme.test"))
	r = h.do(http.MethodPatch, "/scim/v2/Users/"+id, patchOps(map[string]any{"op": "Replace", "value": map[string]any{"active": false}}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, false, r.body["active"])
	assert.Equal(t, 2, be.actCount("offboard sam@acme.test"))

	// Entra's group lookup.
	r = h.do(http.MethodGet, "/scim/v2/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "Clay Viewer"`), nil)
	found := resources(t, r)
	require.Len(t, found, 1)
	assert.Equal(t, "role-viewer", found[0]["id"])
	assert.NotContains(t, found[0], "members")
}

// TestGroupMembershipSetsRole checks that group changes set roles.
func TestGroupMembershipSetsRole(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	ed := scim.UserID("ed@acme.test")
	ivy := scim.UserID("ivy@acme.test")

	// Okta: add a member.
	r := h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", patchOps(map[string]any{
		"op": "add", "path": "members", "value": []any{map[string]any{"value": ed, "display": "ed@acme.test"}},
	}))
	require.Equal(t, http.StatusNoContent, r.Code, r.Body.String())
	assert.NotEmpty(t, r.Header().Get("ETag"))
	assert.Equal(t, roster.Admin, be.role("ed@acme.test"))

	r = h.do(http.MethodGet, "/scim/v2/Users/"+ed, nil)
	assert.Equal(t, "Admin", ext(r)["role"])
	assert.Equal(t, []any{map[string]any{"value": "role-admin", "display": "Clay Admin", "type": "direct",
		"$ref": "https://scim.example.test/scim/v2/Groups/role-admin"}}, r.body["groups"])

	// Adding again changes nothing.
	calls := be.mutations()
	r = h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", patchOps(map[string]any{
		"op": "Add", "path": "members", "value": []any{map[string]any{"value": ed}},
	}))
	require.Equal(t, http.StatusNoContent, r.Code, r.Body.String())
	assert.Equal(t, calls, be.mutations())

	// Okta: remove with a filtered path; the default role follows.
	r = h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", patchOps(map[string]any{
		"op": "remove", "path": `members[value eq "` + ed + `"]`,
	}))
	require.Equal(t, http.StatusNoContent, r.Code, r.Body.String())
	assert.Equal(t, roster.Editor, be.role("ed@acme.test"))

	// Entra: add with a capitalized op, remove with a value.
	r = h.do(http.MethodPatch, "/scim/v2/Groups/role-sales-rep", patchOps(map[string]any{
		"op": "Add", "path": "members", "value": []any{map[string]any{"value": ivy}},
	}))
	require.Equal(t, http.StatusNoContent, r.Code, r.Body.String())
	assert.Equal(t, roster.SalesRep, be.role("ivy@acme.test"))
	r = h.do(http.MethodGet, "/scim/v2/Groups/role-sales-rep", nil)
	require.Equal(t, http.StatusOK, r.Code)
	assert.Len(t, r.body["members"], 1)

	// Removal from a group the user is no longer in changes nothing.
	r = h.do(http.MethodPatch, "/scim/v2/Groups/role-viewer", patchOps(map[string]any{
		"op": "Remove", "path": "members", "value": []any{map[string]any{"value": ivy}},
	}))
	require.Equal(t, http.StatusNoContent, r.Code, r.Body.String())
	assert.Equal(t, roster.SalesRep, be.role("ivy@acme.test"))

	// PUT replaces the members: ed in, ivy out (to the default role).
	r = h.do(http.MethodPut, "/scim/v2/Groups/role-sales-rep", map[string]any{
		"schemas": []string{scim.SchemaGroup}, "displayName": "Clay Sales rep",
		"members": []any{map[string]any{"value": ed}},
	})
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, roster.SalesRep, be.role("ed@acme.test"))
	assert.Equal(t, roster.Editor, be.role("ivy@acme.test"))
	require.Len(t, r.body["members"], 1)

	// The extension's role attribute sets the role too.
	r = h.do(http.MethodPatch, "/scim/v2/Users/"+ed, patchOps(map[string]any{
		"op": "replace", "path": scim.SchemaClayUser + ":role", "value": "viewer",
	}))
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, "Viewer", ext(r)["role"])
	assert.Equal(t, roster.Viewer, be.role("ed@acme.test"))

	// Creating and deleting groups are refused (renaming: TestGroupRename).
	r = h.do(http.MethodPost, "/scim/v2/Groups", map[string]any{"schemas": []string{scim.SchemaGroup}, "displayName": "Engineering"})
	requireError(t, r, http.StatusBadRequest, "mutability")
	r = h.do(http.MethodPost, "/scim/v2/Groups", map[string]any{"schemas": []string{scim.SchemaGroup}, "displayName": "clay admin"})
	requireError(t, r, http.StatusConflict, "uniqueness")
	r = h.do(http.MethodDelete, "/scim/v2/Groups/role-admin", nil)
	requireError(t, r, http.StatusBadRequest, "mutability")
	// An unknown member.
	r = h.do(http.MethodPatch, "/scim/v2/Groups/role-admin", patchOps(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "nobody"}}}))
	requireError(t, r, http.StatusBadRequest, "invalidValue")
}
