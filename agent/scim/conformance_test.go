package scim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/scim"
)

// The values RFC 7643 §7 allows for an attribute's characteristics.
var (
	allowedTypes      = []string{"string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"}
	allowedMutability = []string{"readOnly", "readWrite", "immutable", "writeOnly"}
	allowedReturned   = []string{"always", "never", "default", "request"}
	allowedUniqueness = []string{"none", "server", "global"}
	// attrName is ATTRNAME of RFC 7643 §2.1: ALPHA *(nameChar).
	attrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
)

// discoveryClient reads the discovery endpoints over HTTP.
type discoveryClient struct {
	t    *testing.T
	base string
}

// get fetches path (under /scim/v2) and decodes the JSON object it
// answers with 200 and the SCIM media type.
func (c discoveryClient) get(path string) map[string]any {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, data)
	assert.True(c.t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/scim+json"), "GET %s: %s", path, resp.Header.Get("Content-Type"))
	var out map[string]any
	require.NoError(c.t, json.Unmarshal(data, &out), "GET %s: %s", path, data)
	return out
}

// list fetches a list endpoint and checks the ListResponse around its
// resources.
func (c discoveryClient) list(path string) []map[string]any {
	c.t.Helper()
	body := c.get(path)
	assert.Equal(c.t, []any{scim.MessageListResponse}, body["schemas"], path)
	items, ok := body["Resources"].([]any)
	require.True(c.t, ok, "%s: Resources is a list", path)
	require.NotEmpty(c.t, items, path)
	assert.EqualValues(c.t, len(items), body["totalResults"], path)
	assert.EqualValues(c.t, len(items), body["itemsPerPage"], path)
	assert.EqualValues(c.t, 1, body["startIndex"], path)
	out := make([]map[string]any, len(items))
	for i, e := range items {
		m, ok := e.(map[string]any)
		require.True(c.t, ok, "%s: resource %d is an object", path, i)
		out[i] = m
	}
	return out
}

// checkMeta checks a discovery resource's meta: its resource type, and a
// location that is the URL it is served at.
func checkMeta(t *testing.T, where string, res map[string]any, resourceType, location string) {
	t.Helper()
	meta, ok := res["meta"].(map[string]any)
	require.True(t, ok, "%s: meta is an object", where)
	assert.Equal(t, resourceType, meta["resourceType"], "%s: meta.resourceType", where)
	assert.Equal(t, location, meta["location"], "%s: meta.location", where)
}

// TestDiscoveryConformsToRFC7643 walks /ServiceProviderConfig,
// /ResourceTypes and /Schemas (each list, and each resource by its id)
// over HTTP and checks every attribute of every schema, sub-attributes
// included, against RFC 7643 §7, and the resource types against §6.
func TestDiscoveryConformsToRFC7643(t *testing.T) {
	h := newHarness(t, newFakeBackend(), func(c *scim.Config) { c.BaseURL = "" })
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	c := discoveryClient{t: t, base: srv.URL + "/scim/v2"}

	t.Run("ServiceProviderConfig", func(t *testing.T) {
		c := discoveryClient{t: t, base: c.base}
		spc := c.get("/ServiceProviderConfig")
		checkServiceProviderConfig(t, spc)
		checkMeta(t, "ServiceProviderConfig", spc, "ServiceProviderConfig", c.base+"/ServiceProviderConfig")
	})

	schemas := map[string]map[string]any{}
	t.Run("Schemas", func(t *testing.T) {
		c := discoveryClient{t: t, base: c.base}
		for _, sc := range c.list("/Schemas") {
			id, _ := sc["id"].(string)
			require.True(t, strings.HasPrefix(id, "urn:"), "a schema's id is a URN: %v", sc["id"])
			require.NotContains(t, schemas, id, "schema ids are unique")
			schemas[id] = sc
			assert.Equal(t, []any{scim.SchemaSchema}, sc["schemas"], id)
			assert.NotEmpty(t, sc["name"], id)
			checkMeta(t, id, sc, "Schema", c.base+"/Schemas/"+id)
			assert.Equal(t, sc, c.get("/Schemas/"+url.PathEscape(id)), "%s: by id as in the list", id)
		}
	})

	types := map[string]bool{}
	t.Run("ResourceTypes", func(t *testing.T) {
		c := discoveryClient{t: t, base: c.base}
		for _, rt := range c.list("/ResourceTypes") {
			id, _ := rt["id"].(string)
			require.NotEmpty(t, id)
			types[fmt.Sprint(rt["name"])] = true
			checkResourceType(t, rt, schemas)
			checkMeta(t, id, rt, "ResourceType", c.base+"/ResourceTypes/"+id)
			assert.Equal(t, rt, c.get("/ResourceTypes/"+url.PathEscape(id)), "%s: by id as in the list", id)
		}
	})

	require.NotEmpty(t, schemas)
	for id, sc := range schemas {
		t.Run("attributes of "+id, func(t *testing.T) {
			attrs, ok := sc["attributes"].([]any)
			require.True(t, ok, "attributes is a list")
			require.NotEmpty(t, attrs)
			checkAttributes(t, id, attrs, false, types)
		})
	}
}

func checkServiceProviderConfig(t *testing.T, spc map[string]any) {
	t.Helper()
	assert.Equal(t, []any{scim.SchemaServiceProviderConfig}, spc["schemas"])
	for _, feature := range []string{"patch", "bulk", "filter", "changePassword", "sort", "etag"} {
		m, ok := spc[feature].(map[string]any)
		if assert.True(t, ok, "%s is an object", feature) {
			assert.IsType(t, true, m["supported"], "%s.supported is a boolean", feature)
		}
	}
	bulk, _ := spc["bulk"].(map[string]any)
	assert.IsType(t, 0.0, bulk["maxOperations"], "bulk.maxOperations is a number")
	assert.IsType(t, 0.0, bulk["maxPayloadSize"], "bulk.maxPayloadSize is a number")
	filter, _ := spc["filter"].(map[string]any)
	assert.IsType(t, 0.0, filter["maxResults"], "filter.maxResults is a number")
	schemes, ok := spc["authenticationSchemes"].([]any)
	require.True(t, ok, "authenticationSchemes is a list")
	require.NotEmpty(t, schemes)
	for i, s := range schemes {
		m, _ := s.(map[string]any)
		for _, k := range []string{"type", "name", "description"} {
			assert.NotEmpty(t, m[k], "authenticationSchemes[%d].%s", i, k)
		}
	}
}

// checkResourceType checks a ResourceType (RFC 7643 §6): its schema and
// extensions are schemas /Schemas serves.
func checkResourceType(t *testing.T, rt map[string]any, schemas map[string]map[string]any) {
	t.Helper()
	id := fmt.Sprint(rt["id"])
	assert.Equal(t, []any{scim.SchemaResourceType}, rt["schemas"], id)
	assert.NotEmpty(t, rt["name"], id)
	endpoint, _ := rt["endpoint"].(string)
	assert.True(t, strings.HasPrefix(endpoint, "/"), "%s: endpoint %q is relative to the base URL", id, endpoint)
	core, _ := rt["schema"].(string)
	assert.Contains(t, schemas, core, "%s: its schema is served by /Schemas", id)
	exts, _ := rt["schemaExtensions"].([]any)
	for _, e := range exts {
		m, ok := e.(map[string]any)
		require.True(t, ok, "%s: a schema extension is an object", id)
		assert.Contains(t, schemas, m["schema"], "%s: its extension is served by /Schemas", id)
		assert.IsType(t, true, m["required"], "%s: schemaExtensions.required is a boolean", id)
	}
}

// checkAttributes checks attribute definitions (RFC 7643 §7), and the
// sub-attributes of complex ones, which cannot be complex themselves.
func checkAttributes(t *testing.T, where string, attrs []any, sub bool, types map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	for i, x := range attrs {
		a, ok := x.(map[string]any)
		require.True(t, ok, "%s: attribute %d is an object", where, i)
		name, _ := a["name"].(string)
		path := where + ":" + name
		if sub {
			path = where + "." + name
		}
		assert.True(t, attrName.MatchString(name) || (sub && name == "$ref" && a["type"] == "reference"), "%s: name %q", where, name)
		assert.False(t, seen[strings.ToLower(name)], "%s: defined twice", path)
		seen[strings.ToLower(name)] = true
		checkAttribute(t, path, a, sub, types)
	}
}

func checkAttribute(t *testing.T, path string, a map[string]any, sub bool, types map[string]bool) {
	t.Helper()
	typ, _ := a["type"].(string)
	assert.Contains(t, allowedTypes, typ, "%s: type", path)
	for _, k := range []string{"multiValued", "required", "caseExact"} {
		assert.IsType(t, true, a[k], "%s: %s is a boolean", path, k)
	}
	assert.Contains(t, allowedMutability, a["mutability"], "%s: mutability", path)
	assert.Contains(t, allowedReturned, a["returned"], "%s: returned", path)
	assert.Contains(t, allowedUniqueness, a["uniqueness"], "%s: uniqueness", path)
	if d, ok := a["description"]; ok {
		assert.IsType(t, "", d, "%s: description is a string", path)
	}

	refs, hasRefs := a["referenceTypes"]
	if typ == "reference" {
		list, ok := refs.([]any)
		if assert.True(t, ok && len(list) > 0, "%s: a reference has referenceTypes", path) {
			for _, r := range list {
				s, _ := r.(string)
				assert.True(t, s == "external" || s == "uri" || types[s], "%s: reference type %v is external, uri or a resource type", path, r)
			}
		}
	} else {
		assert.False(t, hasRefs, "%s: only a reference has referenceTypes", path)
	}

	subs, hasSubs := a["subAttributes"]
	switch {
	case typ == "complex" && sub:
		t.Errorf("%s: a sub-attribute cannot be complex", path)
	case typ == "complex":
		list, ok := subs.([]any)
		if assert.True(t, ok && len(list) > 0, "%s: a complex attribute has subAttributes", path) {
			checkAttributes(t, path, list, true, types)
		}
	default:
		assert.False(t, hasSubs, "%s: only a complex attribute has subAttributes", path)
	}

	if cv, ok := a["canonicalValues"]; ok {
		list, ok := cv.([]any)
		if assert.True(t, ok && len(list) > 0, "%s: canonicalValues is a list of values", path) {
			seen := map[string]bool{}
			for _, v := range list {
				s, ok := v.(string)
				assert.True(t, ok && strings.TrimSpace(s) == s && s != "", "%s: canonical value %v", path, v)
				assert.False(t, seen[s], "%s: canonical value %q twice", path, s)
				seen[s] = true
			}
		}
	}
}
