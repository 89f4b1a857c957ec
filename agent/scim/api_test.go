package scim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
)

// health gets /healthz without a token.
func (h *harness) health() *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	return rec
}

func TestBadRequestsGetSCIMErrors(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be, func(c *scim.Config) { c.MaxBody = 4096; c.RatePerClient = 1000; c.Burst = 1000 })
	ed := "/scim/v2/Users/" + scim.UserID("ed@acme.test")
	user := func(mod func(m map[string]any)) map[string]any {
		m := oktaUser("zed@acme.test", "zed@acme.test", "Zed", "Z", "")
		mod(m)
		return m
	}
	filter := func(f string) string { return "/scim/v2/Users?filter=" + url.QueryEscape(f) }
	tests := []struct {
		name     string
		method   string
		path     string
		body     any
		headers  []string
		status   int
		scimType string
	}{
		{"bad JSON", http.MethodPost, "/scim/v2/Users", `{"userName":`, nil, 400, "invalidSyntax"},
		{"not an object", http.MethodPost, "/scim/v2/Users", `["a"]`, nil, 400, "invalidSyntax"},
		{"two values", http.MethodPost, "/scim/v2/Users", `{} {}`, nil, 400, "invalidSyntax"},
		{"empty body", http.MethodPost, "/scim/v2/Users", ``, nil, 400, "invalidSyntax"},
		{"unknown attribute", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { m["shoeSize"] = 44 }), nil, 400, "invalidSyntax"},
		{"unknown sub-attribute", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { m["name"] = map[string]any{"nick": "z"} }), nil, 400, "invalidSyntax"},
		{"unknown extension attribute", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { m[scim.SchemaClayUser] = map[string]any{"seat": 1} }), nil, 400, "invalidSyntax"},
		{"attribute twice", http.MethodPost, "/scim/v2/Users", `{"schemas":["` + scim.SchemaUser + `"],"userName":"a@acme.test","USERNAME":"b@acme.test"}`, nil, 400, "invalidValue"},
		{"active not a boolean", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { m["active"] = "maybe" }), nil, 400, "invalidValue"},
		{"userName not a string", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { m["userName"] = 7 }), nil, 400, "invalidValue"},
		{"emails not objects", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { m["emails"] = []any{"zed@acme.test"} }), nil, 400, "invalidValue"},
		{"no schemas", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { delete(m, "schemas") }), nil, 400, "invalidSyntax"},
		{"no userName", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { delete(m, "userName") }), nil, 400, "invalidValue"},
		{"no address", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { delete(m, "emails"); m["userName"] = "zed" }), nil, 400, "invalidValue"},
		{"bad address", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) {
			m["emails"] = []any{map[string]any{"value": "Zed <zed@acme.test>", "type": "work", "primary": true}}
		}), nil, 400, "invalidValue"},
		{"unknown role", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { m[scim.SchemaClayUser] = map[string]any{"role": "Owner"} }), nil, 400, "invalidValue"},
		{"exists", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) {
			m["emails"] = []any{map[string]any{"value": "ED@acme.test", "type": "work", "primary": true}}
		}), nil, 409, "uniqueness"},
		{"userName taken", http.MethodPost, "/scim/v2/Users", user(func(m map[string]any) { m["userName"] = "ed@acme.test" }), nil, 409, "uniqueness"},
		{"PATCH unknown path", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "path": "shoeSize", "value": 1}), nil, 400, "invalidPath"},
		{"PATCH bad path", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "path": "emails[type eq", "value": "x"}), nil, 400, "invalidPath"},
		{"PATCH unknown attribute in value", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "value": map[string]any{"shoeSize": 1}}), nil, 400, "invalidPath"},
		{"PATCH bad op", http.MethodPatch, ed, patchOps(map[string]any{"op": "merge", "path": "active", "value": false}), nil, 400, "invalidSyntax"},
		{"PATCH no op", http.MethodPatch, ed, patchOps(map[string]any{"path": "active", "value": false}), nil, 400, "invalidSyntax"},
		{"PATCH no operations", http.MethodPatch, ed, map[string]any{"schemas": []string{scim.MessagePatchOp}}, nil, 400, "invalidSyntax"},
		{"PATCH no schemas", http.MethodPatch, ed, map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}}, nil, 400, "invalidSyntax"},
		{"PATCH remove without path", http.MethodPatch, ed, patchOps(map[string]any{"op": "remove"}), nil, 400, "noTarget"},
		{"PATCH replace without value", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "path": "active"}), nil, 400, "invalidValue"},
		{"PATCH value not an object", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "value": "x"}), nil, 400, "invalidValue"},
		{"PATCH active not a boolean", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "path": "active", "value": "Nope"}), nil, 400, "invalidValue"},
		{"PATCH id", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "path": "id", "value": "x"}), nil, 400, "mutability"},
		{"PATCH groups", http.MethodPatch, ed, patchOps(map[string]any{"op": "add", "path": "groups", "value": []any{map[string]any{"value": "role-admin"}}}), nil, 400, "mutability"},
		{"PATCH pending", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "path": scim.SchemaClayUser + ":pending", "value": true}), nil, 400, "mutability"},
		{"PATCH remove userName", http.MethodPatch, ed, patchOps(map[string]any{"op": "remove", "path": "userName"}), nil, 400, "invalidValue"},
		{"PATCH remove active", http.MethodPatch, ed, patchOps(map[string]any{"op": "remove", "path": "active"}), nil, 400, "mutability"},
		{"PATCH active null", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "value": map[string]any{"active": nil}}), nil, 400, "mutability"},
		{"PATCH remove role", http.MethodPatch, ed, patchOps(map[string]any{"op": "remove", "path": scim.SchemaClayUser + ":role"}), nil, 400, "mutability"},
		{"PATCH role null", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "value": map[string]any{scim.SchemaClayUser: map[string]any{"role": nil}}}), nil, 400, "mutability"},
		{"PATCH unknown role", http.MethodPatch, ed, patchOps(map[string]any{"op": "replace", "path": scim.SchemaClayUser + ":role", "value": "Boss"}), nil, 400, "invalidValue"},
		{"PUT unknown user", http.MethodPut, "/scim/v2/Users/nobody", user(func(map[string]any) {}), nil, 404, ""},
		{"PATCH unknown user", http.MethodPatch, "/scim/v2/Users/nobody", patchOps(map[string]any{"op": "replace", "path": "active", "value": false}), nil, 404, ""},
		{"DELETE unknown user", http.MethodDelete, "/scim/v2/Users/nobody", nil, nil, 404, ""},
		{"unknown group", http.MethodGet, "/scim/v2/Groups/admins", nil, nil, 404, ""},
		{"unknown endpoint", http.MethodGet, "/scim/v2/Devices", nil, nil, 404, ""},
		{"outside the API", http.MethodGet, "/api/users", nil, nil, 404, ""},
		{"too deep", http.MethodGet, "/scim/v2/Users/a/b", nil, nil, 404, ""},
		{"unknown schema", http.MethodGet, "/scim/v2/Schemas/urn:x", nil, nil, 404, ""},
		{"filter operator", http.MethodGet, filter(`userName co "ed"`), nil, nil, 400, "invalidFilter"},
		{"filter attribute", http.MethodGet, filter(`title eq "Boss"`), nil, nil, 400, "invalidFilter"},
		{"filter and", http.MethodGet, filter(`userName eq "ed@acme.test" and active eq true`), nil, nil, 400, "invalidFilter"},
		{"filter no value", http.MethodGet, filter(`userName eq`), nil, nil, 400, "invalidFilter"},
		{"filter unquoted", http.MethodGet, filter(`userName eq ed`), nil, nil, 400, "invalidFilter"},
		{"filter garbage", http.MethodGet, filter(`((`), nil, nil, 400, "invalidFilter"},
		{"filter empty", http.MethodGet, filter(``), nil, nil, 400, "invalidFilter"},
		{"filter bool on string", http.MethodGet, filter(`userName eq true`), nil, nil, 400, "invalidFilter"},
		{"filter unknown attribute", http.MethodGet, filter(`shoeSize eq "44"`), nil, nil, 400, "invalidFilter"},
		{"group filter", http.MethodGet, "/scim/v2/Groups?filter=" + url.QueryEscape(`members eq "x"`), nil, nil, 400, "invalidFilter"},
		{"bad count", http.MethodGet, "/scim/v2/Users?count=many", nil, nil, 400, "invalidValue"},
		{"bad startIndex", http.MethodGet, "/scim/v2/Users?startIndex=1.5", nil, nil, 400, "invalidValue"},
		{"no token", http.MethodGet, "/scim/v2/Users", nil, []string{"Authorization", ""}, 401, ""},
		{"wrong token", http.MethodGet, "/scim/v2/Users", nil, []string{"Authorization", "Bearer nope"}, 401, ""},
		{"basic auth", http.MethodGet, "/scim/v2/Users", nil, []string{"Authorization", "Basic " + token}, 401, ""},
		{"too large", http.MethodPost, "/scim/v2/Users", `{"userName":"` + strings.Repeat("a", 5000) + `"}`, nil, 413, ""},
		{"method on list", http.MethodDelete, "/scim/v2/Users", nil, nil, 405, ""},
		{"method on user", http.MethodPost, ed, nil, nil, 405, ""},
		{"method on discovery", http.MethodPost, "/scim/v2/ServiceProviderConfig", nil, nil, 405, ""},
		{"bulk", http.MethodPost, "/scim/v2/Bulk", `{}`, nil, 501, ""},
		{"search at the root", http.MethodPost, "/scim/v2/.search", search(map[string]any{"filter": `userName eq "ed@acme.test"`}), nil, 501, ""},
		{"search at the root with GET", http.MethodGet, "/scim/v2/.search", nil, nil, 405, ""},
		{"search with GET", http.MethodGet, "/scim/v2/Users/.search", nil, nil, 405, ""},
		{"search without schemas", http.MethodPost, "/scim/v2/Users/.search", map[string]any{"filter": `userName eq "ed@acme.test"`}, nil, 400, "invalidSyntax"},
		{"search with another member", http.MethodPost, "/scim/v2/Users/.search", search(map[string]any{"query": "ed"}), nil, 400, "invalidSyntax"},
		{"search bad filter", http.MethodPost, "/scim/v2/Users/.search", search(map[string]any{"filter": `userName co "ed"`}), nil, 400, "invalidFilter"},
		{"search filter not a string", http.MethodPost, "/scim/v2/Groups/.search", search(map[string]any{"filter": 7}), nil, 400, "invalidFilter"},
		{"search bad count", http.MethodPost, "/scim/v2/Users/.search", search(map[string]any{"count": "ten"}), nil, 400, "invalidValue"},
		{"search fractional startIndex", http.MethodPost, "/scim/v2/Users/.search", search(map[string]any{"startIndex": 1.5}), nil, 400, "invalidValue"},
		{"search attributes not a list", http.MethodPost, "/scim/v2/Users/.search", search(map[string]any{"attributes": "userName"}), nil, 400, "invalidValue"},
		{"group PUT without name", http.MethodPut, "/scim/v2/Groups/role-admin", map[string]any{"schemas": []string{scim.SchemaGroup}}, nil, 400, "invalidValue"},
		{"group PATCH of another id", http.MethodPatch, "/scim/v2/Groups/role-admin", patchOps(map[string]any{"op": "replace", "value": map[string]any{"id": "role-viewer", "displayName": "Admins"}}), nil, 400, "mutability"},
		{"group member not a user", http.MethodPut, "/scim/v2/Groups/role-admin", map[string]any{"schemas": []string{scim.SchemaGroup}, "displayName": "Clay Admin",
			"members": []any{map[string]any{"display": "x"}}}, nil, 400, "invalidValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, tt.body, tt.headers...)
			requireError(t, r, tt.status, tt.scimType)
			if tt.status == http.StatusUnauthorized {
				assert.Contains(t, r.Header().Get("WWW-Authenticate"), "Bearer")
			}
			if tt.status == http.StatusMethodNotAllowed {
				assert.NotEmpty(t, r.Header().Get("Allow"))
			}
		})
	}
	assert.Zero(t, be.mutations(), "no bad request acted")
	entries, err := h.srv.RequestLog(time.Time{})
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotEqual(t, http.StatusInternalServerError, e.Status, "%s %s", e.Method, e.Path)
		assert.NotEmpty(t, e.RequestID)
	}
}

func TestConflictModes(t *testing.T) {
	tests := []struct {
		name   string
		mode   scim.ConflictMode
		status int
	}{
		{"error", scim.ConflictError, http.StatusConflict},
		{"return existing", scim.ConflictReturnExisting, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newFakeBackend()
			h := newHarness(t, be, func(c *scim.Config) { c.Existing = tt.mode })
			r := h.do(http.MethodPost, "/scim/v2/Users", oktaUser("ed.okta@okta.example.org", "ed@acme.test", "Ed", "Editor", "00uED"))
			if tt.status == http.StatusConflict {
				requireError(t, r, http.StatusConflict, "uniqueness")
			} else {
				require.Equal(t, tt.status, r.Code, r.Body.String())
				assert.Equal(t, scim.UserID("ed@acme.test"), r.str("id"))
				assert.Equal(t, "00uED", r.body["externalId"], "the unclaimed user takes the client's attributes")
				assert.Equal(t, "ed.okta@okta.example.org", r.body["userName"])
			}
			// An invitation counts as existing too.
			r = h.do(http.MethodPost, "/scim/v2/Users", oktaUser("ivy@acme.test", "ivy@acme.test", "Ivy", "V", "00uIVY"))
			assert.Equal(t, tt.status, r.Code, r.Body.String())
			// A user another client's user holds is a conflict in both modes.
			r = h.do(http.MethodPost, "/scim/v2/Users", oktaUser("ivy2@okta.example.org", "ivy@acme.test", "Ivy", "V", "00uOTHER"))
			requireError(t, r, http.StatusConflict, "uniqueness")
			assert.Zero(t, be.mutations())
		})
	}
}

func TestIfMatch(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	path := "/scim/v2/Users/" + scim.UserID("ed@acme.test")
	r := h.do(http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, r.Code)
	etag := r.Header().Get("ETag")
	require.NotEmpty(t, etag)

	rename := patchOps(map[string]any{"op": "replace", "path": "displayName", "value": "Edward"})
	r = h.do(http.MethodPatch, path, rename, "If-Match", `W/"0000000000000000"`)
	requireError(t, r, http.StatusPreconditionFailed, "")
	requireError(t, h.do(http.MethodDelete, path, nil, "If-Match", `W/"0000000000000000"`), http.StatusPreconditionFailed, "")

	r = h.do(http.MethodPatch, path, rename, "If-Match", etag)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	assert.Equal(t, "Edward", r.body["displayName"])
	changed := r.Header().Get("ETag")
	assert.NotEqual(t, etag, changed)
	assert.Zero(t, be.mutations(), "a change of attributes takes no action")

	r = h.do(http.MethodGet, path, nil, "If-None-Match", changed)
	assert.Equal(t, http.StatusNotModified, r.Code)
	r = h.do(http.MethodGet, path, nil, "If-None-Match", etag)
	assert.Equal(t, http.StatusOK, r.Code)

	// Groups have versions too.
	r = h.do(http.MethodGet, "/scim/v2/Groups/role-admin", nil)
	requireError(t, h.do(http.MethodPatch, "/scim/v2/Groups/role-admin",
		patchOps(map[string]any{"op": "remove", "path": "members"}), "If-Match", `W/"1"`), http.StatusPreconditionFailed, "")
	assert.NotEmpty(t, r.Header().Get("ETag"))
}

func TestRateLimit(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be, func(c *scim.Config) { c.RatePerClient = 0.5; c.Burst = 2 })
	for range 2 {
		require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/scim/v2/ServiceProviderConfig", nil).Code)
	}
	r := h.do(http.MethodGet, "/scim/v2/ServiceProviderConfig", nil)
	requireError(t, r, http.StatusTooManyRequests, "")
	assert.Equal(t, "2", r.Header().Get("Retry-After"))
	// A client's name is its own choice: the same peer under another
	// name shares the budget.
	requireError(t, h.do(http.MethodGet, "/scim/v2/ServiceProviderConfig", nil, scim.ClientHeader, "entra"), http.StatusTooManyRequests, "")
	// Wrong tokens are limited too.
	for range 2 {
		h.do(http.MethodGet, "/scim/v2/Users", nil, "Authorization", "Bearer guess", "X-Forwarded-For", "1.2.3.4")
	}
	requireError(t, h.do(http.MethodGet, "/scim/v2/Users", nil, "Authorization", "Bearer guess"), http.StatusTooManyRequests, "")
	// Health is not limited (and is ready once the first roster is read).
	require.Eventually(t, func() bool { return h.health().Code == http.StatusOK }, time.Minute, 5*time.Millisecond)
}

func TestDiscovery(t *testing.T) {
	h := newHarness(t, newFakeBackend(), func(c *scim.Config) { c.BaseURL = "" })
	r := h.do(http.MethodGet, "/scim/v2/ServiceProviderConfig", nil, "X-Forwarded-Proto", "https")
	require.Equal(t, http.StatusOK, r.Code)
	assert.Equal(t, []any{scim.SchemaServiceProviderConfig}, r.body["schemas"])
	assert.Equal(t, map[string]any{"supported": true}, r.body["patch"])
	assert.Equal(t, map[string]any{"supported": true, "maxResults": 200.0}, r.body["filter"])
	assert.Equal(t, false, r.body["bulk"].(map[string]any)["supported"])
	assert.Equal(t, map[string]any{"supported": true}, r.body["etag"])
	assert.Equal(t, map[string]any{"supported": false}, r.body["sort"])
	assert.Equal(t, "oauthbearertoken", r.body["authenticationSchemes"].([]any)[0].(map[string]any)["type"])
	assert.Equal(t, "https://example.com/scim/v2/ServiceProviderConfig", r.body["meta"].(map[string]any)["location"])

	types := resources(t, h.do(http.MethodGet, "/scim/v2/ResourceTypes", nil))
	require.Len(t, types, 2)
	assert.Equal(t, "/Users", types[0]["endpoint"])
	assert.Equal(t, scim.SchemaUser, types[0]["schema"])
	r = h.do(http.MethodGet, "/scim/v2/ResourceTypes/Group", nil)
	require.Equal(t, http.StatusOK, r.Code)
	assert.Equal(t, scim.SchemaGroup, r.body["schema"])

	list := resources(t, h.do(http.MethodGet, "/scim/v2/Schemas", nil))
	require.Len(t, list, 4)
	r = h.do(http.MethodGet, "/scim/v2/Schemas/"+scim.SchemaClayUser, nil)
	require.Equal(t, http.StatusOK, r.Code)
	names := map[string]map[string]any{}
	for _, a := range r.body["attributes"].([]any) {
		names[a.(map[string]any)["name"].(string)] = a.(map[string]any)
	}
	assert.Equal(t, "readOnly", names["pending"]["mutability"])
	assert.Equal(t, "readWrite", names["role"]["mutability"])
	assert.Equal(t, []any{"Admin", "Editor", "Viewer", "Sales rep"}, names["role"]["canonicalValues"])
	r = h.do(http.MethodGet, "/scim/v2/Schemas/"+scim.SchemaUser, nil)
	for _, a := range r.body["attributes"].([]any) {
		assert.NotEqual(t, "id", a.(map[string]any)["name"], "common attributes belong to no schema")
	}
}

func TestUserListPagingAndProjection(t *testing.T) {
	h := newHarness(t, newFakeBackend())
	all := resources(t, h.do(http.MethodGet, "/scim/v2/Users", nil))
	require.Len(t, all, 4)
	tests := []struct {
		query string
		want  int
		start float64
	}{
		{"startIndex=1&count=2", 2, 1},
		{"startIndex=3&count=2", 2, 3},
		{"startIndex=4&count=10", 1, 4},
		{"startIndex=9", 0, 9},
		{"startIndex=0&count=1", 1, 1},
		{"count=0", 0, 1},
		{"count=-3", 0, 1},
		{"count=1000", 4, 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := h.do(http.MethodGet, "/scim/v2/Users?"+tt.query, nil)
			assert.Len(t, resources(t, r), tt.want)
			assert.EqualValues(t, 4, r.body["totalResults"])
			assert.EqualValues(t, tt.want, r.body["itemsPerPage"])
			assert.Equal(t, tt.start, r.body["startIndex"])
		})
	}
	pageOne := resources(t, h.do(http.MethodGet, "/scim/v2/Users?startIndex=1&count=2", nil))
	pageTwo := resources(t, h.do(http.MethodGet, "/scim/v2/Users?startIndex=3&count=2", nil))
	seen := map[any]bool{}
	for _, u := range append(pageOne, pageTwo...) {
		seen[u["id"]] = true
	}
	assert.Len(t, seen, 4, "pages do not overlap")

	r := h.do(http.MethodGet, "/scim/v2/Users?attributes=userName,name.givenName,"+url.QueryEscape(scim.SchemaClayUser+":role")+"&filter="+url.QueryEscape(`id eq "`+scim.UserID("ann@acme.test")+`"`), nil)
	got := resources(t, r)
	require.Len(t, got, 1)
	assert.ElementsMatch(t, []string{"id", "schemas", "userName", "name", scim.SchemaClayUser}, keys(got[0]))
	assert.Equal(t, map[string]any{"givenName": "Ann"}, got[0]["name"], "the derived name is selected like a stored one")
	assert.Equal(t, map[string]any{"role": "Admin"}, got[0][scim.SchemaClayUser])

	r = h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID("ann@acme.test")+"?excludedAttributes=emails,meta,id", nil)
	require.Equal(t, http.StatusOK, r.Code)
	assert.NotContains(t, r.body, "emails")
	assert.NotContains(t, r.body, "meta")
	assert.Contains(t, r.body, "id")
	assert.Equal(t, "Ann Admin", r.body["displayName"])

	// Members and invitations.
	r = h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID("ivy@acme.test"), nil)
	assert.Equal(t, map[string]any{"pending": true, "role": "Viewer", "email": "ivy@acme.test"}, ext(r))
	assert.Equal(t, true, r.body["active"])
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRosterChangesShowInUsers(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be, func(c *scim.Config) { c.MaxRosterAge = time.Millisecond })
	resources(t, h.do(http.MethodGet, "/scim/v2/Users", nil))
	// Removed from Clay by other means, accepted an invitation, added.
	be.mu.Lock()
	delete(be.members, "ed@acme.test")
	delete(be.invites, "ivy@acme.test")
	be.addMember("ivy@acme.test", "Ivy Viewer", roster.Viewer, false)
	be.addMember("zoe@acme.test", "Zoe", roster.SalesRep, false)
	be.mu.Unlock()

	// The kept roster is older than MaxRosterAge from now on: the next
	// reads bring the changes, once the re-read they start has finished.
	var r response
	require.Eventually(t, func() bool {
		r = h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID("ed@acme.test"), nil)
		return r.body["active"] == false
	}, time.Minute, 5*time.Millisecond, "a member removed by other means shows as inactive")
	r = h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID("ivy@acme.test"), nil)
	assert.Equal(t, false, ext(r)["pending"])
	r = h.do(http.MethodGet, "/scim/v2/Users/"+scim.UserID("zoe@acme.test"), nil)
	assert.Equal(t, "Sales rep", ext(r)["role"])
	assert.Equal(t, "Zoe", r.body["displayName"])
}

func TestRequestLogAndMetrics(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	h.do(http.MethodGet, "/scim/v2/Users", nil, agentRequestID, "req-42", scim.ClientHeader, "okta")
	h.do(http.MethodPost, "/scim/v2/Users", oktaUser("lou@acme.test", "lou@acme.test", "L", "U", ""), scim.ClientHeader, "okta")
	h.do(http.MethodGet, "/scim/v2/Users", nil, "Authorization", "Bearer wrong-"+token)

	entries, err := h.srv.RequestLog(time.Time{})
	require.NoError(t, err)
	require.Len(t, entries, 2, "the request without the token is counted, not stored")
	assert.Equal(t, "req-42", entries[0].RequestID)
	assert.Equal(t, "okta", entries[0].Client)
	assert.Equal(t, "users.list", entries[0].Op)
	assert.Equal(t, 200, entries[0].Status)
	assert.Equal(t, 201, entries[1].Status)
	require.Len(t, entries[1].Jobs, 1)
	assert.Equal(t, scim.JobRef{Seq: 1, Op: "invite", Email: "lou@acme.test", Action: "invited", OK: true}, entries[1].Jobs[0])
	data, err := json.Marshal(entries)
	require.NoError(t, err)
	assert.NotContains(t, string(data), token)
	assert.NotContains(t, string(data), "Bearer")
	for _, l := range h.logs.All() {
		for _, f := range l.Context {
			assert.NotContains(t, f.String, token)
		}
	}

	assert.Equal(t, 1.0, metricValue(t, h, scim.MetricRequests, "op", "users.create", "status", "201"))
	assert.Equal(t, 1.0, metricValue(t, h, scim.MetricRequests, "op", "unknown", "status", "401"))
	assert.Equal(t, 0.0, metricValue(t, h, scim.MetricQueueDepth))
	families, err := h.cfg.Registry.Gather()
	require.NoError(t, err)
	var ops []string
	for _, f := range families {
		if f.GetName() == scim.MetricActionSeconds {
			for _, m := range f.GetMetric() {
				ops = append(ops, m.GetLabel()[0].GetValue())
			}
		}
	}
	assert.ElementsMatch(t, []string{"invite", "roster"}, ops)
}

const agentRequestID = scim.RequestIDHeader

func TestHealth(t *testing.T) {
	be := newFakeBackend()
	h := newHarness(t, be)
	require.Eventually(t, func() bool { return h.health().Code == http.StatusOK }, time.Minute, 10*time.Millisecond)
	var got scim.Health
	require.NoError(t, json.Unmarshal(h.health().Body.Bytes(), &got))
	assert.Equal(t, scim.HealthOK, got.Status)
	assert.True(t, got.Worker)
	assert.Equal(t, "acme", got.Workspace)

	h.stop()
	rec := h.health()
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "closed")
}

func TestNewChecksConfig(t *testing.T) {
	base := scim.Config{Backend: newFakeBackend(), StatePath: t.TempDir() + "/s.db", Token: []byte("t")}
	tests := []struct {
		name string
		mod  func(*scim.Config)
	}{
		{"no backend", func(c *scim.Config) { c.Backend = nil }},
		{"no state", func(c *scim.Config) { c.StatePath = "" }},
		{"no token", func(c *scim.Config) { c.Token = nil }},
		{"bad role", func(c *scim.Config) { c.DefaultRole = "Owner" }},
		{"negative breaker", func(c *scim.Config) { c.MaxRemovalsPerHour = -1 }},
		{"bad email source", func(c *scim.Config) { c.EmailFrom = 7 }},
		{"role map to an unknown role", func(c *scim.Config) { c.RoleMap = map[string]roster.Role{"Admin": "Owner"} }},
		{"role map of an empty name", func(c *scim.Config) { c.RoleMap = map[string]roster.Role{" ": roster.Admin} }},
		{"role map of one name twice", func(c *scim.Config) {
			c.RoleMap = map[string]roster.Role{"Admin": roster.Admin, "admin ": roster.Viewer}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mod(&cfg)
			_, err := scim.New(cfg)
			require.ErrorIs(t, err, core.ErrUsage)
		})
	}
}

func TestStateFile(t *testing.T) {
	h := newHarness(t, newFakeBackend())
	info, err := os.Stat(h.cfg.StatePath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	info, err = os.Stat(filepath.Dir(h.cfg.StatePath))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())

	// One worker at a time; the file is locked while open.
	require.Eventually(t, func() bool { return h.srv.Health().Worker }, time.Minute, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.ErrorIs(t, h.srv.Run(ctx), scim.ErrAlreadyRunning)
	cfg := h.cfg
	cfg.Registry = nil
	_, err = scim.New(cfg)
	require.Error(t, err)
}
