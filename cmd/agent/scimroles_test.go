package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
)

func TestSCIMParseRoleMap(t *testing.T) {
	got, err := parseRoleMap(strings.Split("# Entra app roles\n Admin = Admin \n\nMember=editor\nSales Rep=sales-rep\nmember=Editor\nKey=Value=Viewer\n", "\n"), "file")
	require.NoError(t, err)
	assert.Equal(t, map[string]roster.Role{"Admin": roster.Admin, "Member": roster.Editor, "Sales Rep": roster.SalesRep, "Key=Value": roster.Viewer}, got)
}

// TestSCIMRoleMapFlags: a bad --entra-role-map or --entra-role-map-file
// is a usage error (exit 2) naming what is wrong, before anything starts.
func TestSCIMRoleMapFlags(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	env := map[string]string{envSCIMToken: strings.Repeat("t", minSCIMToken)}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no =", []string{"--entra-role-map", "Admin"}, []string{"--entra-role-map", "is not APP_ROLE=CLAY_ROLE"}},
		{"no app role", []string{"--entra-role-map", "=Admin"}, []string{"names no app role"}},
		{"an unknown Clay role", []string{"--entra-role-map", "Admin=Admin,Boss=Owner"}, []string{"Boss=Owner", "unknown role"}},
		{"one app role twice", []string{"--entra-role-map", "Admin=Admin,admin=Viewer"}, []string{`"admin" is mapped to both Admin and Viewer`}},
		{"nothing mapped", []string{"--entra-role-map", " , ,"}, []string{"--entra-role-map maps no app role"}},
		{"both flags", []string{"--entra-role-map", "Admin=Admin", "--entra-role-map-file", file("both", "Admin=Admin\n")}, []string{"exclude each other"}},
		{"no file", []string{"--entra-role-map-file", filepath.Join(dir, "missing")}, []string{"--entra-role-map-file", "no such file"}},
		{"a directory", []string{"--entra-role-map-file", dir}, []string{"is not a regular file"}},
		{"a bad line", []string{"--entra-role-map-file", file("bad", "# roles\nAdmin=Admin\nReader=Reader\n")}, []string{"Reader=Reader", "unknown role"}},
		{"an empty file", []string{"--entra-role-map-file", file("empty", "# nothing yet\n")}, []string{"maps no app role"}},
		{"a large file", []string{"--entra-role-map-file", file("large", strings.Repeat("# padding\n", maxRoleMapFile/10+1))}, []string{"larger than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runApp(t.Context(), env, "", append([]string{"scim", "serve", "--state-dir", filepath.Join(dir, "state")}, tt.args...)...)
			assertCLI(t, r, cliWant{code: exitUsage, stderr: tt.want, quietStdout: true})
			assert.NoDirExists(t, filepath.Join(dir, "state"), "nothing started")
		})
	}
}

// TestSCIMEntraRoleMap: with --entra-role-map-file, Entra's app roles set
// the Clay role on the Team page: a PATCH of roles[primary eq "True"].value
// on a member, and the roles of a POST; an app role the map does not name
// is refused and changes nothing.
func TestSCIMEntraRoleMap(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	roles := filepath.Join(m.Dir, "entra-roles")
	require.NoError(t, os.WriteFile(roles, []byte("# Entra app role = Clay role\nAdmin=Admin\nMember=Editor\n"), 0o644))
	s := startSCIM(t, m, "--entra-role-map-file", roles)

	john := s.userID(t, "john.smith@acme.test")
	code, u := s.call(t, "PATCH", "/Users/"+john, patch(map[string]any{"op": "Add", "path": `roles[primary eq "True"].value`, "value": "Admin"}))
	require.Equal(t, http.StatusOK, code, u)
	assert.Equal(t, "Admin", serverRole(m.Server, "john.smith@acme.test"))
	assert.Equal(t, map[string]any{"givenName": "John", "familyName": "Smith", "formatted": "Smith, John"}, u["name"], "the page's name, in parts")

	body := newUser("entra.role@acme.test", "Entra", "Role")
	body["roles"] = []any{map[string]any{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Member"}}
	code, u = s.call(t, "POST", "/Users", body)
	require.Equal(t, http.StatusCreated, code, u)
	inv, invited := serverInvitation(m.Server, "entra.role@acme.test")
	require.True(t, invited)
	assert.Equal(t, "Editor", inv.Role)

	mutations := len(m.Server.Mutations())
	body = newUser("entra.owner@acme.test", "Entra", "Owner")
	body["roles"] = []any{map[string]any{"primary": true, "value": "Owner"}}
	code, u = s.call(t, "POST", "/Users", body)
	assertSCIMError(t, code, http.StatusBadRequest, u, "invalidValue")
	assert.Contains(t, u["detail"], `"Owner"`)
	assert.Len(t, m.Server.Mutations(), mutations, "the refused request changed nothing")
}
