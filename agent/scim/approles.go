package scim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// roleKey is how an app role's name is looked up in Config.RoleMap:
// trimmed, inner white space collapsed, lower-cased.
func roleKey(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// normalizeRoleMap returns m keyed by roleKey, with canonical Clay roles,
// and its app roles' names as given, for error details. Errors wrap
// core.ErrUsage.
func normalizeRoleMap(m map[string]roster.Role) (map[string]roster.Role, string, error) {
	if len(m) == 0 {
		return nil, "", nil
	}
	out := make(map[string]roster.Role, len(m))
	for _, name := range sortedKeys(m) {
		k := roleKey(name)
		if k == "" {
			return nil, "", fmt.Errorf("%w: scim: role map: an app role without a name", core.ErrUsage)
		}
		role, err := roster.ParseRole(string(m[name]))
		if err != nil {
			return nil, "", fmt.Errorf("%w: scim: role map: %s: %w", core.ErrUsage, name, err)
		}
		if prev, dup := out[k]; dup && prev != role {
			return nil, "", fmt.Errorf("%w: scim: role map: %q is mapped to both %s and %s", core.ErrUsage, name, prev, role)
		}
		out[k] = role
	}
	return out, strings.Join(sortedKeys(m), ", "), nil
}

// appRoleNames returns the names an element of the roles attribute goes
// by: its value and its display. Entra's AppRoleAssignmentsComplex sends
// the value as a JSON object in a string ({"id", "value", "displayName"}),
// whose value and displayName count as well.
func appRoleNames(m map[string]any) []string {
	var names []string
	value := docString(m, "value")
	if strings.HasPrefix(strings.TrimSpace(value), "{") {
		var inner struct {
			Value       string `json:"value"`
			DisplayName string `json:"displayName"`
		}
		if json.Unmarshal([]byte(value), &inner) == nil {
			names = append(names, inner.Value, inner.DisplayName)
		}
	}
	names = append(names, value, docString(m, "display"))
	out := names[:0]
	for _, n := range names {
		if strings.TrimSpace(n) != "" {
			out = append(out, n)
		}
	}
	return out
}

// appRole returns the Clay role the roles attribute of doc asks for under
// Config.RoleMap: the role of the primary element, else the one role all
// elements map to; nil when doc has no roles. An element the map does not
// name, or elements that map to several Clay roles with none primary, are
// 400 invalidValue.
func (s *Server) appRole(doc map[string]any) (*roster.Role, *apiError) {
	list, _ := doc["roles"].([]any)
	var primary *roster.Role
	found := map[roster.Role]bool{}
	for _, e := range list {
		m, _ := e.(map[string]any)
		names := appRoleNames(m)
		if len(names) == 0 {
			continue
		}
		role, ok := s.lookupAppRole(names)
		if !ok {
			return nil, badRequest(typeInvalidValue, "the role %q is not one of the app roles mapped to Clay roles (%s)", names[0], s.cfg.roleNames)
		}
		found[role] = true
		if m["primary"] == true && primary == nil {
			primary = &role
		}
	}
	switch {
	case primary != nil:
		return primary, nil
	case len(found) == 1:
		for r := range found {
			return &r, nil
		}
	case len(found) > 1:
		var roles []string
		for r := range found {
			roles = append(roles, string(r))
		}
		sort.Strings(roles)
		return nil, badRequest(typeInvalidValue, "the user's roles map to several Clay roles (%s) and none is primary: assign one app role", strings.Join(roles, ", "))
	}
	return nil, nil
}

// lookupAppRole returns the Clay role of the first of names the map
// holds.
func (s *Server) lookupAppRole(names []string) (roster.Role, bool) {
	for _, n := range names {
		if role, ok := s.cfg.RoleMap[roleKey(n)]; ok {
			return role, true
		}
	}
	return "", false
}

// applyAppRole sets the role in asks for from its roles attribute, when
// Config.RoleMap is set: without a map, roles are kept and not acted on.
// A role the Clay extension asks for in the same request must agree.
func (s *Server) applyAppRole(in *userInput) *apiError {
	if len(s.cfg.RoleMap) == 0 {
		return nil
	}
	role, e := s.appRole(in.doc)
	if e != nil || role == nil {
		return e
	}
	if in.role != nil && *in.role != *role {
		return badRequest(typeInvalidValue, "%s:%s asks for %s and roles for %s", SchemaClayUser, attrRole, *in.role, *role)
	}
	in.role = role
	return nil
}
