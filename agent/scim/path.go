package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// errPath is wrapped by every error of parsePath and parseFilter.
var errPath = errors.New("bad attribute path")

// attrPath is an attribute path (RFC 7644 §3.10), resolved against a
// resource type's schemas:
//
//	[URN ":"] attr ["[" sub eq value "]"] ["." sub]
//
// A bare extension URN is a path too, to the whole extension (attr nil).
type attrPath struct {
	schema *schema
	attr   *attribute
	filter *valueFilter
	sub    *attribute
}

// valueFilter selects the values of a multi-valued attribute whose
// sub-attribute equals a value.
type valueFilter struct {
	attr  *attribute
	value any
}

// String writes the path back in its canonical form.
func (p attrPath) String() string {
	var b strings.Builder
	if p.schema != nil && p.schema != userSchema && p.schema != groupSchema {
		b.WriteString(p.schema.ID)
		if p.attr != nil {
			b.WriteByte(':')
		}
	}
	if p.attr != nil {
		b.WriteString(p.attr.Name)
	}
	if p.filter != nil {
		v, _ := json.Marshal(p.filter.value)
		fmt.Fprintf(&b, "[%s eq %s]", p.filter.attr.Name, v)
	}
	if p.sub != nil {
		b.WriteString("." + p.sub.Name)
	}
	return b.String()
}

func pathError(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errPath, fmt.Sprintf(format, a...))
}

// parsePath parses s as an attribute path of rt.
func parsePath(rt *resourceType, s string) (attrPath, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return attrPath{}, pathError("empty path")
	}
	sch, rest := rt.Core, s
	if hasPrefixFold(s, "urn:") {
		found := false
		for _, c := range append([]*schema{rt.Core}, rt.Extensions...) {
			if len(s) < len(c.ID) || !strings.EqualFold(s[:len(c.ID)], c.ID) {
				continue
			}
			tail := s[len(c.ID):]
			if tail == "" && c != rt.Core {
				return attrPath{schema: c}, nil
			}
			if strings.HasPrefix(tail, ":") {
				sch, rest, found = c, tail[1:], true
				break
			}
		}
		if !found {
			return attrPath{}, pathError("%q names no schema of %s", s, rt.Name)
		}
	}
	name, rest := scanName(rest)
	if name == "" {
		return attrPath{}, pathError("%q: no attribute name", s)
	}
	a := find(sch.Attributes, name)
	if a == nil {
		return attrPath{}, pathError("%q: no attribute %q in %s", s, name, sch.ID)
	}
	p := attrPath{schema: sch, attr: a}
	if strings.HasPrefix(rest, "[") {
		end := closingBracket(rest)
		if end < 0 {
			return attrPath{}, pathError("%q: unbalanced [", s)
		}
		if a.Type != typeComplex || !a.MultiValued {
			return attrPath{}, pathError("%q: %s is not a multi-valued complex attribute", s, a.Name)
		}
		f, err := parseValueFilter(a, rest[1:end])
		if err != nil {
			return attrPath{}, fmt.Errorf("%w (in %q)", err, s)
		}
		p.filter, rest = &f, rest[end+1:]
	}
	if strings.HasPrefix(rest, ".") {
		var subName string
		subName, rest = scanName(rest[1:])
		if a.Type != typeComplex {
			return attrPath{}, pathError("%q: %s has no sub-attributes", s, a.Name)
		}
		if p.sub = a.sub(subName); p.sub == nil {
			return attrPath{}, pathError("%q: %s has no sub-attribute %q", s, a.Name, subName)
		}
	}
	if rest != "" {
		return attrPath{}, pathError("%q: unexpected %q", s, rest)
	}
	return p, nil
}

// parseValueFilter parses the inside of brackets: sub eq value.
func parseValueFilter(a *attribute, s string) (valueFilter, error) {
	s = strings.TrimSpace(s)
	name, rest := scanName(s)
	sub := a.sub(name)
	if sub == nil {
		return valueFilter{}, pathError("%s has no sub-attribute %q", a.Name, name)
	}
	value, err := parseComparison(sub, rest)
	if err != nil {
		return valueFilter{}, err
	}
	return valueFilter{attr: sub, value: value}, nil
}

// parseComparison parses ` eq value` (the operator in any case) and
// returns the value, checked against a's type.
func parseComparison(a *attribute, s string) (any, error) {
	trimmed := strings.TrimLeftFunc(s, unicode.IsSpace)
	if len(trimmed) == len(s) {
		return nil, pathError("no operator after %s", a.Name)
	}
	op, rest := scanName(trimmed)
	if !strings.EqualFold(op, "eq") {
		if op == "" {
			return nil, pathError("no operator after %s", a.Name)
		}
		return nil, pathError("operator %q is not supported (only eq)", op)
	}
	after := strings.TrimLeftFunc(rest, unicode.IsSpace)
	if len(after) == len(rest) {
		return nil, pathError("no value after eq")
	}
	value, rest, err := parseLiteral(after)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(rest) != "" {
		return nil, pathError("unexpected %q after the value (only one comparison is supported)", strings.TrimSpace(rest))
	}
	switch v := value.(type) {
	case string:
		if a.Type == typeBoolean {
			// Entra writes roles[primary eq "True"].
			switch strings.ToLower(v) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		if a.Type == typeBoolean || a.Type == typeComplex {
			return nil, pathError("%s is not a string", a.Name)
		}
	case bool:
		if a.Type != typeBoolean {
			return nil, pathError("%s is not a boolean", a.Name)
		}
	}
	return value, nil
}

// parseLiteral parses a JSON string, true or false at the start of s.
func parseLiteral(s string) (any, string, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		end := stringEnd(s)
		if end < 0 {
			return nil, "", pathError("unterminated string")
		}
		var v string
		if err := json.Unmarshal([]byte(s[:end+1]), &v); err != nil {
			return nil, "", pathError("bad string %s", s[:end+1])
		}
		return v, s[end+1:], nil
	case hasPrefixFold(s, "true") && !nameChar(rune(at(s, 4))):
		return true, s[4:], nil
	case hasPrefixFold(s, "false") && !nameChar(rune(at(s, 5))):
		return false, s[5:], nil
	}
	word, _, _ := strings.Cut(s, " ")
	if word = strings.TrimRight(word, "])"); word != "" {
		return nil, "", pathError("the value %s is not quoted: write it as a JSON string, %s (or give true or false)", word, strconv.Quote(word))
	}
	return nil, "", pathError("the value must be a quoted string, true or false")
}

// filter is a filter of a list request: path eq value.
type filter struct {
	path  attrPath
	value any
}

// parseFilter parses a filter of rt: one comparison with eq.
func parseFilter(rt *resourceType, s string) (filter, error) {
	s = strings.TrimSpace(s)
	end := pathEnd(s)
	p, err := parsePath(rt, s[:end])
	if err != nil {
		return filter{}, err
	}
	if p.attr != nil && p.sub == nil && p.attr.Type == typeComplex && p.attr.MultiValued {
		// emails eq "…" compares the values (RFC 7644 §3.4.2.2)
		p.sub = p.attr.sub("value")
	}
	target := p.attr
	if p.sub != nil {
		target = p.sub
	}
	if target == nil || target.Type == typeComplex {
		return filter{}, pathError("%q is not a simple attribute", s[:end])
	}
	value, err := parseComparison(target, s[end:])
	if err != nil {
		return filter{}, err
	}
	return filter{path: p, value: value}, nil
}

// pathEnd returns the index of the first white space of s outside
// brackets and quotes, or len(s).
func pathEnd(s string) int {
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth <= 0 && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return i
		}
	}
	return len(s)
}

// closingBracket returns the index of the "]" closing the "[" at s[0],
// or -1.
func closingBracket(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ']':
			return i
		}
	}
	return -1
}

// stringEnd returns the index of the quote closing the JSON string that
// starts at s[0], or -1.
func stringEnd(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// scanName returns the attribute name at the start of s and the rest.
func scanName(s string) (string, string) {
	i := 0
	for i < len(s) && nameChar(rune(s[i])) {
		i++
	}
	return s[:i], s[i:]
}

func nameChar(r rune) bool {
	return r == '$' || r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
}

func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// container returns the object of doc that holds p's attribute: doc for
// the core schema, the extension's object otherwise (nil when absent and
// create is false).
func container(doc map[string]any, p attrPath, core *schema, create bool) map[string]any {
	if p.schema == core {
		return doc
	}
	m, _ := doc[p.schema.ID].(map[string]any)
	if m == nil && create {
		m = map[string]any{}
		doc[p.schema.ID] = m
	}
	return m
}

// valuesAt returns the simple values doc holds at p.
func valuesAt(doc map[string]any, p attrPath, core *schema) []any {
	c := container(doc, p, core, false)
	if c == nil || p.attr == nil {
		return nil
	}
	v, ok := c[p.attr.Name]
	if !ok || v == nil {
		return nil
	}
	var elems []any
	if p.attr.MultiValued {
		elems, _ = v.([]any)
	} else {
		elems = []any{v}
	}
	var out []any
	for _, e := range elems {
		if p.filter != nil && !matches(e, p.filter) {
			continue
		}
		if p.sub != nil {
			m, _ := e.(map[string]any)
			if sv, ok := m[p.sub.Name]; ok && sv != nil {
				out = append(out, sv)
			}
			continue
		}
		out = append(out, e)
	}
	return out
}

// matches reports whether the element e (an object) passes f.
func matches(e any, f *valueFilter) bool {
	m, _ := e.(map[string]any)
	return m != nil && equalValue(f.attr, m[f.attr.Name], f.value)
}

// equalValue compares two simple values of attribute a, ignoring case
// unless a is case-exact.
func equalValue(a *attribute, x, y any) bool {
	xs, xok := x.(string)
	ys, yok := y.(string)
	if xok && yok {
		if a.CaseExact {
			return xs == ys
		}
		return strings.EqualFold(xs, ys)
	}
	xb, xok := x.(bool)
	yb, yok := y.(bool)
	return xok && yok && xb == yb
}
