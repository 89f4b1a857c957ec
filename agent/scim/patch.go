package scim

import (
	"reflect"
	"strings"
)

// patchKind is the op of a PATCH operation.
type patchKind string

const (
	patchAdd     patchKind = "add"
	patchReplace patchKind = "replace"
	patchRemove  patchKind = "remove"
)

// patchOp is one PATCH operation (RFC 7644 §3.5.2).
type patchOp struct {
	Op    patchKind
	Path  string
	Value any
}

// decodePatch reads a PatchOp message. Member names and op names are
// matched ignoring case, as Entra capitalizes them.
func decodePatch(body map[string]any) ([]patchOp, *apiError) {
	var ops []any
	found := false
	for k, v := range body {
		switch {
		case strings.EqualFold(k, "schemas"):
			list, err := schemaList(v)
			if err != nil || !hasSchema(map[string]any{"schemas": list}, MessagePatchOp) {
				return nil, badRequest(typeInvalidSyntax, "schemas must hold %s", MessagePatchOp)
			}
			found = true
		case strings.EqualFold(k, "Operations"):
			list, ok := v.([]any)
			if !ok {
				return nil, badRequest(typeInvalidSyntax, "Operations must be a list")
			}
			ops = list
		}
	}
	if !found {
		return nil, badRequest(typeInvalidSyntax, "schemas must hold %s", MessagePatchOp)
	}
	if len(ops) == 0 {
		return nil, badRequest(typeInvalidSyntax, "no Operations")
	}
	out := make([]patchOp, 0, len(ops))
	for i, o := range ops {
		m, ok := o.(map[string]any)
		if !ok {
			return nil, badRequest(typeInvalidSyntax, "operation %d is not an object", i+1)
		}
		var op patchOp
		var hasOp bool
		for k, v := range m {
			switch strings.ToLower(k) {
			case "op":
				s, _ := v.(string)
				switch kind := patchKind(strings.ToLower(strings.TrimSpace(s))); kind {
				case patchAdd, patchReplace, patchRemove:
					op.Op, hasOp = kind, true
				default:
					return nil, badRequest(typeInvalidSyntax, "operation %d: op %q is not add, replace or remove", i+1, s)
				}
			case "path":
				if v == nil {
					continue
				}
				s, ok := v.(string)
				if !ok {
					return nil, badRequest(typeInvalidPath, "operation %d: path must be a string", i+1)
				}
				op.Path = strings.TrimSpace(s)
			case "value":
				op.Value = v
			}
		}
		if !hasOp {
			return nil, badRequest(typeInvalidSyntax, "operation %d has no op", i+1)
		}
		if op.Op != patchRemove && op.Value == nil {
			return nil, badRequest(typeInvalidValue, "operation %d: %s needs a value", i+1, op.Op)
		}
		out = append(out, op)
	}
	return out, nil
}

// patcher applies operations to a document of a resource type.
type patcher struct {
	rt  *resourceType
	doc map[string]any
	// touched holds the attributes the operations named: core ones by
	// name, extension ones as "URN:name", whole extensions as "URN".
	touched map[string]bool
}

func newPatcher(rt *resourceType, doc map[string]any) *patcher {
	return &patcher{rt: rt, doc: doc, touched: map[string]bool{}}
}

// apply applies one operation.
func (p *patcher) apply(op patchOp) *apiError {
	if op.Path != "" {
		path, err := parsePath(p.rt, op.Path)
		if err != nil {
			return inputError(err, true)
		}
		if op.Op == patchRemove {
			return p.remove(path, op.Value)
		}
		return p.set(op.Op, path, op.Value)
	}
	if op.Op == patchRemove {
		return badRequest(typeNoTarget, "remove needs a path")
	}
	m, ok := op.Value.(map[string]any)
	if !ok {
		return badRequest(typeInvalidValue, "%s without a path needs an object as its value", op.Op)
	}
	for _, k := range sortedKeys(m) {
		if strings.EqualFold(k, "schemas") {
			continue
		}
		var path attrPath
		if ext := p.rt.extension(k); ext != nil {
			path = attrPath{schema: ext}
		} else {
			var err error
			if path, err = parsePath(p.rt, k); err != nil {
				return inputError(err, true)
			}
		}
		if e := p.set(op.Op, path, m[k]); e != nil {
			return e
		}
	}
	return nil
}

// touch records that path was named.
func (p *patcher) touch(path attrPath) {
	switch {
	case path.attr == nil:
		p.touched[path.schema.ID] = true
	case path.schema == p.rt.Core:
		p.touched[path.attr.Name] = true
	default:
		p.touched[path.schema.ID+":"+path.attr.Name] = true
	}
}

// set applies add or replace at path.
func (p *patcher) set(op patchKind, path attrPath, v any) *apiError {
	if path.attr == nil {
		m, ok := v.(map[string]any)
		if !ok && v != nil {
			return badRequest(typeInvalidValue, "%s needs an object as its value", path.schema.ID)
		}
		m, err := extensionObject(path.schema, m)
		if err != nil {
			return inputError(err, true)
		}
		p.touch(path)
		for _, k := range sortedKeys(m) {
			a := find(path.schema.Attributes, k)
			if a == nil {
				return badRequest(typeInvalidPath, "%q is not an attribute of %s", k, path.schema.ID)
			}
			if e := p.set(op, attrPath{schema: path.schema, attr: a}, m[k]); e != nil {
				return e
			}
		}
		return nil
	}
	p.touch(path)
	c := container(p.doc, path, p.rt.Core, true)
	a := path.attr
	switch {
	case path.filter == nil && path.sub == nil:
		nv, err := normalize(a, v, false)
		if err != nil {
			return inputError(err, true)
		}
		switch {
		case nv == nil:
			delete(c, a.Name)
		case a.MultiValued && op == patchAdd:
			cur, _ := c[a.Name].([]any)
			for _, e := range nv.([]any) {
				cur = addValue(a, cur, e)
			}
			c[a.Name] = cur
		case a.Type == typeComplex && !a.MultiValued:
			cur, _ := c[a.Name].(map[string]any)
			if cur == nil {
				cur = map[string]any{}
			}
			for k, x := range nv.(map[string]any) {
				cur[k] = x
			}
			c[a.Name] = cur
		default:
			c[a.Name] = nv
		}
	case !a.MultiValued:
		nv, err := normalize(path.sub, v, false)
		if err != nil {
			return inputError(err, true)
		}
		cur, _ := c[a.Name].(map[string]any)
		if cur == nil {
			cur = map[string]any{}
		}
		if nv == nil {
			delete(cur, path.sub.Name)
		} else {
			cur[path.sub.Name] = nv
		}
		setOrDelete(c, a.Name, cur, len(cur) > 0)
	default:
		var nv any
		var err error
		if path.sub != nil {
			nv, err = normalize(path.sub, v, false)
		} else {
			nv, err = normalize(a, v, true)
		}
		if err != nil {
			return inputError(err, true)
		}
		cur, _ := c[a.Name].([]any)
		matched := false
		for _, e := range cur {
			m, ok := e.(map[string]any)
			if !ok || (path.filter != nil && !matches(m, path.filter)) {
				continue
			}
			matched = true
			mergeInto(m, path, nv)
		}
		if !matched && nv != nil {
			m := map[string]any{}
			if path.filter != nil {
				m[path.filter.attr.Name] = path.filter.value
			}
			mergeInto(m, path, nv)
			cur = addValue(a, cur, m)
		}
		setOrDelete(c, a.Name, cur, len(cur) > 0)
	}
	return nil
}

// mergeInto sets nv in the element m of a multi-valued attribute: as the
// sub-attribute of path, or member by member.
func mergeInto(m map[string]any, path attrPath, nv any) {
	if path.sub != nil {
		if nv == nil {
			delete(m, path.sub.Name)
		} else {
			m[path.sub.Name] = nv
		}
		return
	}
	if obj, ok := nv.(map[string]any); ok {
		for k, x := range obj {
			m[k] = x
		}
	}
}

// remove applies remove at path. A value given with a multi-valued path
// selects the values to remove (as Entra removes group members).
func (p *patcher) remove(path attrPath, v any) *apiError {
	if path.attr == nil {
		p.touch(path)
		delete(p.doc, path.schema.ID)
		return nil
	}
	p.touch(path)
	c := container(p.doc, path, p.rt.Core, false)
	if c == nil {
		return nil
	}
	a := path.attr
	switch {
	case path.filter == nil && path.sub == nil:
		if !a.MultiValued || v == nil {
			delete(c, a.Name)
			return nil
		}
		nv, err := normalize(a, v, false)
		if err != nil {
			return inputError(err, true)
		}
		drop, _ := nv.([]any)
		cur, _ := c[a.Name].([]any)
		keep := cur[:0:0]
		for _, e := range cur {
			if !containsValue(a, drop, e) {
				keep = append(keep, e)
			}
		}
		setOrDelete(c, a.Name, keep, len(keep) > 0)
	case !a.MultiValued:
		cur, _ := c[a.Name].(map[string]any)
		delete(cur, path.sub.Name)
		setOrDelete(c, a.Name, cur, len(cur) > 0)
	default:
		cur, _ := c[a.Name].([]any)
		keep := cur[:0:0]
		for _, e := range cur {
			m, ok := e.(map[string]any)
			if ok && (path.filter == nil || matches(m, path.filter)) {
				if path.sub == nil {
					continue
				}
				delete(m, path.sub.Name)
				if _, hasValue := m["value"]; !hasValue && a.sub("value") != nil {
					continue
				}
			}
			keep = append(keep, e)
		}
		setOrDelete(c, a.Name, keep, len(keep) > 0)
	}
	return nil
}

func setOrDelete[V any](c map[string]any, name string, v V, keep bool) {
	if keep {
		c[name] = v
	} else {
		delete(c, name)
	}
}

// addValue appends e to the values cur of a multi-valued attribute unless
// an equal value is there. A value marked primary takes the mark from the
// others.
func addValue(a *attribute, cur []any, e any) []any {
	if containsValue(a, cur, e) {
		return cur
	}
	if m, ok := e.(map[string]any); ok && m["primary"] == true {
		for _, o := range cur {
			if om, ok := o.(map[string]any); ok {
				delete(om, "primary")
			}
		}
	}
	return append(cur, e)
}

// containsValue reports whether list holds a value equal to e: with the
// same "value" when both have one, else deeply equal.
func containsValue(a *attribute, list []any, e any) bool {
	em, _ := e.(map[string]any)
	valueAttr := a.sub("value")
	for _, x := range list {
		xm, _ := x.(map[string]any)
		if valueAttr != nil && em != nil && xm != nil {
			ev, eok := em["value"]
			xv, xok := xm["value"]
			if eok && xok {
				if equalValue(valueAttr, ev, xv) {
					return true
				}
				continue
			}
		}
		if reflect.DeepEqual(x, e) {
			return true
		}
	}
	return false
}
