package scim

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzFilter checks that any filter either fails with errPath or parses
// to a path that parses back to itself.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "a@b.c"`, `emails[type eq "work"].value eq "x"`, `urn:ietf:params:scim:schemas:core:2.0:User:id eq "1"`,
		`active eq true`, `emails[type eq "w\"]"].value eq "]"`, `userName eq "a" and id eq "b"`, `((`, `"`, `[`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, rt := range resourceTypes {
			flt, err := parseFilter(rt, s)
			if err != nil {
				continue
			}
			again, err := parsePath(rt, flt.path.String())
			if err != nil {
				t.Fatalf("%q parsed to %q, which does not parse: %v", s, flt.path.String(), err)
			}
			if again.String() != flt.path.String() {
				t.Fatalf("%q: %q then %q", s, flt.path.String(), again.String())
			}
		}
	})
}

// FuzzPatch checks that any PATCH body either fails with a 400 or applies
// to a user and a group without panicking, leaving documents that encode.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","value":{"active":false}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails[type eq \"work\"].value","value":"x"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"1\"]"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"1"},{"value":"2"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails","value":[{"value":"a"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"urn:clay-agent:params:scim:schemas:extension:clay:2.0:User":{"role":"x"}}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var body map[string]any
		if dec.Decode(&body) != nil {
			return
		}
		ops, e := decodePatch(body)
		if e != nil {
			if e.status != 400 {
				t.Fatalf("status %d", e.status)
			}
			return
		}
		docs := map[*resourceType]map[string]any{
			userType: {"userName": "a@b.c", "emails": []any{map[string]any{"value": "a@b.c", "type": "work"}},
				"name": map[string]any{"givenName": "A"}, SchemaClayUser: map[string]any{"role": "Admin"}},
			groupType: {"displayName": "Clay Admin", "members": []any{map[string]any{"value": "1"}}},
		}
		for rt, doc := range docs {
			p := newPatcher(rt, doc)
			for _, op := range ops {
				if e := p.apply(op); e != nil {
					if e.status != 400 {
						t.Fatalf("status %d", e.status)
					}
					break
				}
			}
			if _, err := json.Marshal(object(p.doc)); err != nil {
				t.Fatalf("the patched document does not encode: %v", err)
			}
		}
	})
}
