package scim

import (
	"net/http"
	"net/url"
	"strings"
)

// serviceProviderConfig returns the service's capabilities (RFC 7643 §5).
func (s *Server) serviceProviderConfig(base string) object {
	return object{
		"schemas":          []string{SchemaServiceProviderConfig},
		"documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxCount},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "Authentication with the bearer token configured for this service, in the Authorization header",
			"specUri":     "https://www.rfc-editor.org/rfc/rfc6750",
			"primary":     true,
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     base + "/ServiceProviderConfig",
		},
	}
}

// resourceTypeResource returns rt as a ResourceType resource (RFC 7643
// §6).
func resourceTypeResource(rt *resourceType, base string) object {
	res := object{
		"schemas":     []string{SchemaResourceType},
		"id":          rt.Name,
		"name":        rt.Name,
		"endpoint":    rt.Endpoint,
		"description": rt.Description,
		"schema":      rt.Core.ID,
		"meta": map[string]any{
			"resourceType": "ResourceType",
			"location":     base + "/ResourceTypes/" + rt.Name,
		},
	}
	if len(rt.Extensions) > 0 {
		exts := make([]any, len(rt.Extensions))
		for i, e := range rt.Extensions {
			exts[i] = map[string]any{"schema": e.ID, "required": false}
		}
		res["schemaExtensions"] = exts
	}
	return res
}

// commonAttributes are defined by no schema (RFC 7643 §3.1), so /Schemas
// does not list them.
var commonAttributes = map[string]bool{"id": true, "externalId": true, "meta": true}

// schemaResource returns sc as a Schema resource (RFC 7643 §7).
func schemaResource(sc *schema, base string) object {
	attrs := make([]attribute, 0, len(sc.Attributes))
	for _, a := range sc.Attributes {
		if !commonAttributes[a.Name] {
			attrs = append(attrs, a)
		}
	}
	return object{
		"schemas":     []string{SchemaSchema},
		"id":          sc.ID,
		"name":        sc.Name,
		"description": sc.Description,
		"attributes":  attrs,
		"meta": map[string]any{
			"resourceType": "Schema",
			"location":     base + "/Schemas/" + sc.ID,
		},
	}
}

// discovery serves /ServiceProviderConfig, /ResourceTypes and /Schemas.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request, endpoint, id string) {
	base := callOf(r.Context()).base
	if unescaped, err := url.PathUnescape(id); err == nil {
		id = unescaped
	}
	list := func(items []object) {
		s.writeJSON(w, http.StatusOK, listResponse{
			Schemas: []string{MessageListResponse}, TotalResults: len(items), StartIndex: 1, ItemsPerPage: len(items), Resources: items,
		})
	}
	switch endpoint {
	case "serviceproviderconfig", "serviceproviderconfigs":
		if id != "" {
			s.writeError(w, r, notFound("no such endpoint %q", r.URL.Path))
			return
		}
		s.writeJSON(w, http.StatusOK, s.serviceProviderConfig(base))
	case "resourcetypes":
		var items []object
		for _, rt := range resourceTypes {
			if id == "" || strings.EqualFold(id, rt.Name) {
				items = append(items, resourceTypeResource(rt, base))
			}
		}
		switch {
		case id == "":
			list(items)
		case len(items) == 0:
			s.writeError(w, r, notFound("no resource type %q", id))
		default:
			s.writeJSON(w, http.StatusOK, items[0])
		}
	case "schemas":
		var items []object
		for _, sc := range schemas {
			if id == "" || strings.EqualFold(id, sc.ID) {
				items = append(items, schemaResource(sc, base))
			}
		}
		switch {
		case id == "":
			list(items)
		case len(items) == 0:
			s.writeError(w, r, notFound("no schema %q", id))
		default:
			s.writeJSON(w, http.StatusOK, items[0])
		}
	}
}
