package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Errors of normalize: an attribute the schema does not have, and a value
// of the wrong type.
var (
	errUnknownAttr = errors.New("unknown attribute")
	errBadValue    = errors.New("bad value")
)

// normalize returns v as a value of attribute a: object keys in their
// canonical case, booleans parsed from "True" and "False", an empty
// object, an empty list and null as nil (unassigned). With element set,
// v is one value of a multi-valued attribute.
func normalize(a *attribute, v any, element bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.MultiValued && !element {
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		out := make([]any, 0, len(list))
		for _, e := range list {
			ne, err := normalize(a, e, true)
			if err != nil {
				return nil, err
			}
			if ne != nil {
				out = append(out, ne)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	switch a.Type {
	case typeComplex:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s must be an object", errBadValue, a.Name)
		}
		out, err := normalizeObject(a.Name, a.SubAttributes, m)
		if err != nil || len(out) == 0 {
			return nil, err
		}
		return out, nil
	case typeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, fmt.Errorf("%w: %s must be true or false", errBadValue, a.Name)
	case typeInteger, typeDecimal:
		switch v.(type) {
		case json.Number, float64:
			return v, nil
		}
		return nil, fmt.Errorf("%w: %s must be a number", errBadValue, a.Name)
	default:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s must be a string", errBadValue, a.Name)
		}
		return s, nil
	}
}

// normalizeObject normalizes the members of m as attributes of attrs.
// The names of m must be distinct ignoring case.
func normalizeObject(owner string, attrs []attribute, m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	seen := make(map[string]bool, len(m))
	for _, k := range sortedKeys(m) {
		a := find(attrs, k)
		if a == nil {
			return nil, fmt.Errorf("%w: %q in %s", errUnknownAttr, k, owner)
		}
		if seen[a.Name] {
			return nil, fmt.Errorf("%w: %s given twice in %s", errBadValue, a.Name, owner)
		}
		seen[a.Name] = true
		nv, err := normalize(a, m[k], false)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out[a.Name] = nv
		}
	}
	return out, nil
}

// normalizeResource returns body as a document of rt: the core
// attributes and each extension's object under its URN, all in canonical
// form, with "schemas" as a list of strings.
func normalizeResource(rt *resourceType, body map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(body))
	seen := make(map[string]bool, len(body))
	for _, k := range sortedKeys(body) {
		v := body[k]
		name := k
		var nv any
		var err error
		switch a := find(rt.Core.Attributes, k); {
		case strings.EqualFold(k, "schemas"):
			name = "schemas"
			nv, err = schemaList(v)
		case rt.extension(k) != nil:
			ext := rt.extension(k)
			name = ext.ID
			if v != nil {
				m, ok := v.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%w: %s must be an object", errBadValue, ext.ID)
				}
				var obj map[string]any
				if m, err = extensionObject(ext, m); err == nil {
					obj, err = normalizeObject(ext.ID, ext.Attributes, m)
				}
				if len(obj) > 0 {
					nv = obj
				}
			}
		case a != nil:
			name = a.Name
			nv, err = normalize(a, v, false)
		default:
			return nil, fmt.Errorf("%w: %q", errUnknownAttr, k)
		}
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: %s given twice", errBadValue, name)
		}
		seen[name] = true
		if nv != nil {
			out[name] = nv
		}
	}
	return out, nil
}

// extensionObject returns m, the object of the extension ext, without a
// "schemas" member that names only ext: client libraries that serialize an
// extension as a resource of its own put its URN there. A "schemas" member
// that names anything else is a bad value.
func extensionObject(ext *schema, m map[string]any) (map[string]any, error) {
	var key string
	for k := range m {
		if strings.EqualFold(k, "schemas") {
			key = k
		}
	}
	if key == "" {
		return m, nil
	}
	list, err := schemaList(m[key])
	if err != nil {
		return nil, err
	}
	for _, urn := range list.([]any) {
		if !strings.EqualFold(urn.(string), ext.ID) {
			return nil, fmt.Errorf("%w: the schemas in %s may name only %s, not %q", errBadValue, ext.ID, ext.ID, urn)
		}
	}
	out := make(map[string]any, len(m)-1)
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out, nil
}

// schemaList checks that v is a list of strings.
func schemaList(v any) (any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: schemas must be a list of URNs", errBadValue)
	}
	for _, s := range list {
		if _, ok := s.(string); !ok {
			return nil, fmt.Errorf("%w: schemas must be a list of URNs", errBadValue)
		}
	}
	return list, nil
}

// hasSchema reports whether doc's schemas list holds urn.
func hasSchema(doc map[string]any, urn string) bool {
	list, _ := doc["schemas"].([]any)
	for _, s := range list {
		if s, ok := s.(string); ok && strings.EqualFold(s, urn) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// deepCopy copies a JSON document.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// inputError maps an error of normalize or parsePath to the client's
// answer: an unknown attribute is invalidSyntax in a body and invalidPath
// in a PATCH operation, a value of the wrong type invalidValue.
func inputError(err error, inPatch bool) *apiError {
	switch {
	case errors.Is(err, errUnknownAttr) && inPatch, errors.Is(err, errPath):
		return badRequest(typeInvalidPath, "%v", err)
	case errors.Is(err, errUnknownAttr):
		return badRequest(typeInvalidSyntax, "%v", err)
	default:
		return badRequest(typeInvalidValue, "%v", err)
	}
}
