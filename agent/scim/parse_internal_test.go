package scim

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUserID(t *testing.T) {
	id := UserID("ann@acme.test")
	assert.Len(t, id, 32)
	assert.Regexp(t, `^[0-9a-f]{32}$`, id)
	assert.Equal(t, id, UserID(" ANN@Acme.Test "))
	assert.NotEqual(t, id, UserID("anne@acme.test"))
	// The derivation is part of the contract: ids must not change.
	assert.Equal(t, "e4d5f987a8d70fa3da8c16531c1fff96", UserID("ann@acme.test"))
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in    string
		path  string
		value any
		err   bool
	}{
		{in: `userName eq "a@b.c"`, path: "userName", value: "a@b.c"},
		{in: `USERNAME EQ "a@b.c"`, path: "userName", value: "a@b.c"},
		{in: `  externalId   eq   "x y"  `, path: "externalId", value: "x y"},
		{in: `id eq "abc"`, path: "id", value: "abc"},
		{in: `emails.value eq "a@b.c"`, path: "emails.value", value: "a@b.c"},
		{in: `emails[type eq "work"].value eq "a@b.c"`, path: `emails[type eq "work"].value`, value: "a@b.c"},
		{in: `emails[TYPE Eq "work"].VALUE eq "a@b.c"`, path: `emails[type eq "work"].value`, value: "a@b.c"},
		{in: `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "q\"uote"`, path: "userName", value: `q"uote`},
		{in: `active eq true`, path: "active", value: true},
		{in: `userName eq "\u00e9"`, path: "userName", value: "é"},
		{in: `userName co "a"`, err: true},
		{in: `userName eq "a" and id eq "b"`, err: true},
		{in: `userName eq`, err: true},
		{in: `userName`, err: true},
		{in: `userName eq a`, err: true},
		{in: `userName eq jane@x.com`, err: true},
		{in: `emails eq "a@b.c"`, path: "emails.value", value: "a@b.c"},
		{in: `emails[type eq work].value eq "a@b.c"`, err: true},
		{in: `userName eq "unterminated`, err: true},
		{in: `name eq "x"`, err: true},
		{in: `emails[type eq "work" eq "a"`, err: true},
		{in: `emails[value].value eq "a"`, err: true},
		{in: `userName.first eq "a"`, err: true},
		{in: `urn:nope:userName eq "a"`, err: true},
		{in: `active eq "True"`, path: "active", value: true},
		{in: `active eq "yes"`, err: true},
		{in: ``, err: true},
		{in: `eq "a"`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, err := parseFilter(userType, tt.in)
			if tt.err {
				require.ErrorIs(t, err, errPath)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.path, f.path.String())
			assert.Equal(t, tt.value, f.value)
		})
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  bool
	}{
		{in: "active", want: "active"},
		{in: "name.givenName", want: "name.givenName"},
		{in: "NAME.GIVENNAME", want: "name.givenName"},
		{in: `emails[type eq "work"].value`, want: `emails[type eq "work"].value`},
		{in: `roles[primary eq "True"].value`, want: `roles[primary eq true].value`},
		{in: `members[value eq "abc"]`, err: true}, // not a user attribute
		{in: "urn:ietf:params:scim:schemas:core:2.0:User:active", want: "active"},
		{in: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", want: SchemaEnterpriseUser + ":manager.value"},
		{in: SchemaClayUser + ":role", want: SchemaClayUser + ":role"},
		{in: SchemaClayUser, want: SchemaClayUser},
		{in: SchemaUser, err: true},
		{in: "urn:ietf:params:scim:schemas:core:2.0:Users:active", err: true},
		{in: "shoeSize", err: true},
		{in: "name.nick", err: true},
		{in: "active.value", err: true},
		{in: "emails[", err: true},
		{in: `emails[type eq "work"]x`, err: true},
		{in: `name[givenName eq "x"]`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := parsePath(userType, tt.in)
			if tt.err {
				require.ErrorIs(t, err, errPath)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.String())
		})
	}
}

func TestPatch(t *testing.T) {
	start := `{"userName":"a@acme.test","active":true,"name":{"givenName":"A","familyName":"B"},
		"emails":[{"value":"a@acme.test","type":"work","primary":true},{"value":"a@home.test","type":"home"}],
		"urn:clay-agent:params:scim:schemas:extension:clay:2.0:User":{"role":"Editor","pending":false}}`
	tests := []struct {
		name    string
		ops     string
		check   func(t *testing.T, doc map[string]any)
		touched []string
		errType scimType
	}{
		{
			name: "path-less replace of active", ops: `[{"op":"replace","value":{"active":false}}]`,
			check:   func(t *testing.T, d map[string]any) { assert.Equal(t, false, d["active"]) },
			touched: []string{"active"},
		},
		{
			name: "capitalized op and string boolean", ops: `[{"op":"Replace","path":"active","value":"False"}]`,
			check: func(t *testing.T, d map[string]any) { assert.Equal(t, false, d["active"]) },
		},
		{
			name: "sub-attribute", ops: `[{"op":"replace","path":"name.givenName","value":"Z"}]`,
			check: func(t *testing.T, d map[string]any) {
				assert.Equal(t, map[string]any{"givenName": "Z", "familyName": "B"}, d["name"])
			},
		},
		{
			name: "complex merge", ops: `[{"op":"replace","path":"name","value":{"FAMILYNAME":"C"}}]`,
			check: func(t *testing.T, d map[string]any) {
				assert.Equal(t, map[string]any{"givenName": "A", "familyName": "C"}, d["name"])
			},
		},
		{
			name: "filtered value", ops: `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@acme.test"}]`,
			check: func(t *testing.T, d map[string]any) {
				assert.Equal(t, "new@acme.test", d["emails"].([]any)[0].(map[string]any)["value"])
				assert.Equal(t, "a@home.test", d["emails"].([]any)[1].(map[string]any)["value"])
			},
		},
		{
			name: "filtered value without a match adds one", ops: `[{"op":"Add","path":"emails[type eq \"other\"].value","value":"o@acme.test"}]`,
			check: func(t *testing.T, d map[string]any) {
				require.Len(t, d["emails"], 3)
				assert.Equal(t, map[string]any{"type": "other", "value": "o@acme.test"}, d["emails"].([]any)[2])
			},
		},
		{
			name: "add to a multi-valued attribute", ops: `[{"op":"add","path":"emails","value":[{"value":"a@acme.test"},{"value":"x@acme.test","primary":"true"}]}]`,
			check: func(t *testing.T, d map[string]any) {
				require.Len(t, d["emails"], 3, "the existing value is not added twice")
				assert.NotContains(t, d["emails"].([]any)[0], "primary", "one primary")
				assert.Equal(t, true, d["emails"].([]any)[2].(map[string]any)["primary"])
			},
		},
		{
			name: "replace a multi-valued attribute", ops: `[{"op":"replace","path":"emails","value":[{"value":"x@acme.test"}]}]`,
			check: func(t *testing.T, d map[string]any) {
				assert.Equal(t, []any{map[string]any{"value": "x@acme.test"}}, d["emails"])
			},
		},
		{
			name: "remove a filtered value", ops: `[{"op":"remove","path":"emails[type eq \"home\"]"}]`,
			check: func(t *testing.T, d map[string]any) { assert.Len(t, d["emails"], 1) },
		},
		{
			name: "remove listed values", ops: `[{"op":"remove","path":"emails","value":[{"value":"A@ACME.TEST"}]}]`,
			check: func(t *testing.T, d map[string]any) { assert.Len(t, d["emails"], 1) },
		},
		{
			name: "remove a sub-attribute", ops: `[{"op":"remove","path":"name.givenName"}]`,
			check: func(t *testing.T, d map[string]any) { assert.Equal(t, map[string]any{"familyName": "B"}, d["name"]) },
		},
		{
			name: "extension attribute", ops: `[{"op":"replace","path":"urn:clay-agent:params:scim:schemas:extension:clay:2.0:User:role","value":"Admin"}]`,
			check: func(t *testing.T, d map[string]any) {
				assert.Equal(t, "Admin", d[SchemaClayUser].(map[string]any)["role"])
			},
			touched: []string{SchemaClayUser + ":role"},
		},
		{
			name: "extension in a path-less value", ops: `[{"op":"add","value":{"urn:clay-agent:params:scim:schemas:extension:clay:2.0:User":{"role":"Viewer"},"name.familyName":"Q"}}]`,
			check: func(t *testing.T, d map[string]any) {
				assert.Equal(t, "Viewer", d[SchemaClayUser].(map[string]any)["role"])
				assert.Equal(t, false, d[SchemaClayUser].(map[string]any)["pending"])
				assert.Equal(t, "Q", d["name"].(map[string]any)["familyName"])
			},
			touched: []string{SchemaClayUser, SchemaClayUser + ":role", "name"},
		},
		{
			name: "null unassigns", ops: `[{"op":"replace","value":{"displayName":null}},{"op":"add","path":"title","value":"Boss"}]`,
			check: func(t *testing.T, d map[string]any) {
				assert.NotContains(t, d, "displayName")
				assert.Equal(t, "Boss", d["title"])
			},
		},
		{name: "remove without path", ops: `[{"op":"remove"}]`, errType: typeNoTarget},
		{name: "unknown path", ops: `[{"op":"add","path":"nope","value":1}]`, errType: typeInvalidPath},
		{name: "unknown sub-attribute in value", ops: `[{"op":"add","path":"name","value":{"nick":"x"}}]`, errType: typeInvalidPath},
		{name: "wrong type", ops: `[{"op":"add","path":"userName","value":{"a":1}}]`, errType: typeInvalidValue},
		{name: "value not an object", ops: `[{"op":"add","value":[1]}]`, errType: typeInvalidValue},
		{name: "extension value not an object", ops: `[{"op":"add","path":"urn:clay-agent:params:scim:schemas:extension:clay:2.0:User","value":"x"}]`, errType: typeInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			require.NoError(t, json.Unmarshal([]byte(start), &doc))
			var ops []any
			require.NoError(t, json.Unmarshal([]byte(tt.ops), &ops))
			parsed, e := decodePatch(map[string]any{"schemas": []any{MessagePatchOp}, "Operations": ops})
			if e == nil {
				p := newPatcher(userType, doc)
				for _, op := range parsed {
					if e = p.apply(op); e != nil {
						break
					}
				}
				if e == nil && tt.touched != nil {
					for _, k := range tt.touched {
						assert.True(t, p.touched[k], "touched %s", k)
					}
				}
			}
			if tt.errType != "" {
				require.NotNil(t, e)
				assert.Equal(t, tt.errType, e.scimType, e.detail)
				assert.Equal(t, 400, e.status)
				return
			}
			require.Nil(t, e)
			tt.check(t, doc)
		})
	}
}

func TestNormalizeBooleans(t *testing.T) {
	a := find(userSchema.Attributes, "active")
	for in, want := range map[any]any{true: true, false: false, "True": true, "FALSE": false, " true ": true} {
		got, err := normalize(a, in, false)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	for _, in := range []any{"yes", 1.0, map[string]any{}} {
		_, err := normalize(a, in, false)
		require.ErrorIs(t, err, errBadValue)
	}
}

func TestProjection(t *testing.T) {
	res := object{
		"id": "1", "schemas": []any{SchemaUser}, "userName": "u", "meta": map[string]any{"version": "v"},
		"name":   map[string]any{"givenName": "G", "familyName": "F"},
		"emails": []any{map[string]any{"value": "a", "type": "work"}, map[string]any{"value": "b"}},
	}
	got := parseProjection(userType, "name.givenName,emails.value,nope", "").apply(userType, deepCopy(map[string]any(res)).(map[string]any))
	assert.Equal(t, object{
		"id": "1", "schemas": []any{SchemaUser},
		"name":   map[string]any{"givenName": "G"},
		"emails": []any{map[string]any{"value": "a"}, map[string]any{"value": "b"}},
	}, got)
	got = parseProjection(userType, "", "name.familyName,emails,id,schemas").apply(userType, deepCopy(map[string]any(res)).(map[string]any))
	assert.Equal(t, object{
		"id": "1", "schemas": []any{SchemaUser}, "userName": "u", "meta": map[string]any{"version": "v"},
		"name": map[string]any{"givenName": "G"},
	}, got)
}
