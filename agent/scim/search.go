package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// MessageSearchRequest is the schema of a POST .search body (RFC 7644
// §3.4.3).
const MessageSearchRequest = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// searchEndpoint is the last segment of a search's path.
const searchEndpoint = ".search"

// searchQuery returns the query of the GET that a SearchRequest asks the
// same as: filter, startIndex, count, attributes and excludedAttributes.
// sortBy and sortOrder are accepted and, sorting not being supported,
// ignored, as they are in a GET.
func searchQuery(body map[string]any) (url.Values, *apiError) {
	q := url.Values{}
	found := false
	for _, k := range sortedKeys(body) {
		v := body[k]
		switch name := strings.ToLower(k); name {
		case "schemas":
			list, err := schemaList(v)
			if err != nil || !hasSchema(map[string]any{"schemas": list}, MessageSearchRequest) {
				return nil, badRequest(typeInvalidSyntax, "schemas must hold %s", MessageSearchRequest)
			}
			found = true
		case "filter":
			s, ok := v.(string)
			if !ok {
				return nil, badRequest(typeInvalidFilter, "filter must be a string")
			}
			q.Set("filter", s)
		case "startindex", "count":
			n, _ := v.(json.Number)
			i, err := n.Int64()
			if err != nil {
				return nil, badRequest(typeInvalidValue, "%s must be an integer", k)
			}
			q.Set(map[string]string{"startindex": "startIndex", "count": "count"}[name], strconv.FormatInt(i, 10))
		case "attributes", "excludedattributes":
			names, e := attributeNames(k, v)
			if e != nil {
				return nil, e
			}
			q.Set(map[string]string{"attributes": "attributes", "excludedattributes": "excludedAttributes"}[name], names)
		case "sortby", "sortorder":
			if _, ok := v.(string); !ok && v != nil {
				return nil, badRequest(typeInvalidValue, "%s must be a string", k)
			}
		default:
			return nil, badRequest(typeInvalidSyntax, "%q is not a member of a SearchRequest", k)
		}
	}
	if !found {
		return nil, badRequest(typeInvalidSyntax, "schemas must hold %s", MessageSearchRequest)
	}
	return q, nil
}

// attributeNames returns the attribute names of a SearchRequest's
// attributes or excludedAttributes (a list of strings) comma-separated,
// as a GET gives them.
func attributeNames(member string, v any) (string, *apiError) {
	list, ok := v.([]any)
	if !ok {
		return "", badRequest(typeInvalidValue, "%s must be a list of attribute names", member)
	}
	names := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return "", badRequest(typeInvalidValue, "%s must be a list of attribute names", member)
		}
		names = append(names, s)
	}
	return strings.Join(names, ","), nil
}

// search answers a POST .search of a resource type as the GET of its
// list: the body's SearchRequest becomes the query.
func (s *Server) search(w http.ResponseWriter, r *http.Request, list func(http.ResponseWriter, *http.Request)) {
	body, e := readBody(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	q, e := searchQuery(body)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	get := r.Clone(r.Context())
	get.URL.RawQuery = q.Encode()
	list(w, get)
}
