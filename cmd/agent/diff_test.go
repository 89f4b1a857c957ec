package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// writeRosterFile writes r as a snapshot file would hold it.
func writeRosterFile(t *testing.T, path string, r roster.Roster) {
	t.Helper()
	data, err := json.MarshalIndent(r, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// jsonString is s as a JSON string literal.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return string(b)
}

func TestDiffFiles(t *testing.T) {
	at := time.Date(2026, 1, 2, 2, 30, 0, 0, time.UTC)
	m := func(name, email string, role roster.Role) roster.Member {
		return roster.Member{Name: name, Email: email, Role: role}
	}
	inv := func(email string, role roster.Role) roster.Invitation {
		return roster.Invitation{Email: email, Role: role}
	}
	base := roster.Roster{
		Workspace:  "1234",
		CapturedAt: at,
		Members: []roster.Member{
			{Name: "Ann", Email: "ann@example.com", Role: roster.Admin, You: true},
			m("Bob", "Bob@Example.com", roster.Editor),
			m("Cat", "cat@example.com", roster.Viewer),
			m("Dan", "dan@example.com", roster.Editor),
		},
		Invitations: []roster.Invitation{inv("eve@example.com", roster.Editor), inv("fay@example.com", roster.Viewer)},
	}
	edit := func(f func(r *roster.Roster)) roster.Roster {
		r := base
		r.CapturedAt = at.Add(24 * time.Hour)
		r.Members = append([]roster.Member(nil), base.Members...)
		r.Invitations = append([]roster.Invitation(nil), base.Invitations...)
		f(&r)
		return r
	}
	const noChanges = `{
    "added": [],
    "removed": [],
    "role_changed": [],
    "renamed": [],
    "invited": [],
    "invitation_gone": [],
    "unreadable": []
  }`

	tests := []struct {
		name        string
		cur         roster.Roster
		wantChanges string // the "changes" object of -o json, as printed
		wantText    string // the text output after the "old" and "new" lines
	}{
		{
			name:        "identical",
			cur:         edit(func(*roster.Roster) {}),
			wantChanges: noChanges,
			wantText:    "no changes\n",
		},
		{
			name: "an email changes case: no change at all",
			cur: edit(func(r *roster.Roster) {
				r.Members[1].Email = "bob@example.com"
				r.Invitations[0].Email = "EVE@example.com"
			}),
			wantChanges: noChanges,
			wantText:    "no changes\n",
		},
		{
			name: "a member is renamed: not removed and added",
			cur: edit(func(r *roster.Roster) {
				r.Members[0].Name = "Ann Lee"
			}),
			wantChanges: `{
    "added": [],
    "removed": [],
    "role_changed": [],
    "renamed": [
      {
        "email": "ann@example.com",
        "from": "Ann",
        "to": "Ann Lee"
      }
    ],
    "invited": [],
    "invitation_gone": [],
    "unreadable": []
  }`,
			wantText: "1 change:\n" +
				`  renamed  ann@example.com  "Ann" → "Ann Lee"` + "\n",
		},
		{
			name: "every kind of change, with a case change that is none",
			cur: edit(func(r *roster.Roster) {
				r.Members[1].Email = "BOB@EXAMPLE.COM"                                          // same member
				r.Members[2].Role = roster.Admin                                                // role changed
				r.Members = append(r.Members[:3], m("Gus", "gus@example.com", roster.SalesRep)) // Dan removed, Gus added
				r.Invitations = []roster.Invitation{inv("fay@example.com", roster.Viewer), inv("hal@example.com", roster.Editor)}
			}),
			wantChanges: `{
    "added": [
      {
        "name": "Gus",
        "email": "gus@example.com",
        "role": "Sales rep",
        "you": false
      }
    ],
    "removed": [
      {
        "name": "Dan",
        "email": "dan@example.com",
        "role": "Editor",
        "you": false
      }
    ],
    "role_changed": [
      {
        "email": "cat@example.com",
        "from": "Viewer",
        "to": "Admin"
      }
    ],
    "renamed": [],
    "invited": [
      {
        "email": "hal@example.com",
        "role": "Editor"
      }
    ],
    "invitation_gone": [
      {
        "email": "eve@example.com",
        "role": "Editor"
      }
    ],
    "unreadable": []
  }`,
			wantText: "5 changes:\n" +
				"  added            gus@example.com  Sales rep, \"Gus\"\n" +
				"  removed          dan@example.com  Editor, \"Dan\"\n" +
				"  role changed     cat@example.com  Viewer → Admin\n" +
				"  invited          hal@example.com  Editor\n" +
				"  invitation gone  eve@example.com  Editor\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			oldPath := filepath.Join(dir, "1234-20260102T023000Z.json")
			newPath := filepath.Join(dir, "1234-20260103T023000Z.json")
			writeRosterFile(t, oldPath, base)
			writeRosterFile(t, newPath, tc.cur)

			r := runApp(t.Context(), nil, "", "diff", "-o", "json", oldPath, newPath)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Empty(t, r.stderr)
			want := "{\n" +
				`  "snapshot": ` + jsonString(t, newPath) + ",\n" +
				`  "previous": ` + jsonString(t, oldPath) + ",\n" +
				`  "changes": ` + tc.wantChanges + "\n}\n"
			assert.Equal(t, want, r.stdout)

			r = runApp(t.Context(), nil, "", "diff", oldPath, newPath)
			require.Equal(t, exitOK, r.code, r.stderr)
			head := "old  " + oldPath + "\nnew  " + newPath + " (" + countMembers(&tc.cur) + ")\n"
			assert.Equal(t, head+tc.wantText, r.stdout)
		})
	}
}

func TestDiffBadInputExitsTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	writeRosterFile(t, good, roster.Roster{Workspace: "1234", CapturedAt: time.Now(), Members: []roster.Member{}})
	p := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}
	truncated := p("truncated.json", `{"workspace":"1234","members":[`)
	notRoster := p("empty-object.json", `{}`)
	text := p("text.json", "members: ann\n")
	missing := filepath.Join(dir, "missing.json")

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no files", []string{"diff"}, []string{"two snapshot files", "got 0"}},
		{"one file", []string{"diff", good}, []string{"two snapshot files", "got 1"}},
		{"three files", []string{"diff", good, good, good}, []string{"two snapshot files", "got 3"}},
		{"missing old file", []string{"diff", missing, good}, []string{missing, "no such file"}},
		{"missing new file", []string{"diff", good, missing}, []string{missing, "no such file"}},
		{"truncated JSON", []string{"diff", truncated, good}, []string{truncated, "invalid snapshot"}},
		{"JSON that is not a roster", []string{"diff", good, notRoster}, []string{notRoster, "not a roster"}},
		{"not JSON", []string{"diff", good, text}, []string{text, "invalid snapshot"}},
		{"a directory", []string{"diff", dir, good}, []string{dir}},
		{"unknown output format", []string{"diff", "-o", "csv", good, good}, []string{`unknown output format "csv"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []string{"text", "json"} {
				args := tc.args
				if format == "json" && !strings.Contains(strings.Join(args, " "), "-o") {
					args = append([]string{args[0], "-o", "json"}, args[1:]...)
				}
				r := runApp(t.Context(), nil, "", args...)
				assert.Equal(t, exitUsage, r.code, "%s: %s", format, r.stderr)
				assert.Empty(t, r.stdout)
				r.oneErrorLine(t, tc.want...)
			}
		})
	}
}

func TestDiffWarnsAboutDifferentWorkspaces(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	b := filepath.Join(dir, "b.json")
	writeRosterFile(t, a, roster.Roster{Workspace: "1234", CapturedAt: time.Now(), Members: []roster.Member{}})
	writeRosterFile(t, b, roster.Roster{Workspace: "5678", CapturedAt: time.Now(), Members: []roster.Member{}})
	r := runApp(t.Context(), nil, "", "diff", a, b)
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stderr, `different workspaces ("1234" and "5678")`)
	assert.Contains(t, r.stdout, "no changes")
}

// Names, emails and roles in snapshot files come from the page: the text
// output shows them escaped, JSON keeps them exactly.
func TestDiffEscapesPageText(t *testing.T) {
	dir := t.TempDir()
	oldPath := filepath.Join(dir, "1234-20260102T023000Z.json")
	newPath := filepath.Join(dir, "1234-20260103T023000Z.json")
	at := time.Date(2026, 1, 2, 2, 30, 0, 0, time.UTC)
	writeRosterFile(t, oldPath, roster.Roster{
		Workspace: "1234", CapturedAt: at,
		Members: []roster.Member{
			{Name: "Ann", Email: "ann@acme.test", Role: roster.Admin},
			{Name: "Gone " + titleChange, Email: "gone" + rlo + "@acme.test", Role: roster.Editor},
		},
		Invitations: []roster.Invitation{},
	})
	cur := roster.Roster{
		Workspace: "1234", CapturedAt: at.Add(24 * time.Hour),
		Members: []roster.Member{
			{Name: "Ann " + rlo + "nimdA", Email: "ann@acme.test", Role: hostileRole},
			{Name: hostileName, Email: hostileMail, Role: roster.Editor},
		},
		Invitations: []roster.Invitation{{Email: "inv\x1b[2J@acme.test", Role: "Viewer\u200b"}},
	}
	writeRosterFile(t, newPath, cur)

	r := runApp(t.Context(), nil, "", "diff", oldPath, newPath)
	require.Equal(t, exitOK, r.code, r.stderr)
	assertInert(t, r.stdout)
	head := "old  " + oldPath + "\nnew  " + newPath + " (" + countMembers(&cur) + ")\n"
	assert.Equal(t, head+"5 changes:\n"+
		`  added         eve\u202e@evil.test   Editor, "Eve \x1b]0;pwned\a \u202enimdA"`+"\n"+
		`  removed       gone\u202e@acme.test  Editor, "Gone \x1b]0;pwned\a"`+"\n"+
		`  role changed  ann@acme.test         Admin → Editor\x1b[2J`+"\n"+
		`  renamed       ann@acme.test         "Ann" → "Ann \u202enimdA"`+"\n"+
		`  invited       inv\x1b[2J@acme.test  Viewer\u200b`+"\n",
		r.stdout)

	r = runApp(t.Context(), nil, "", "diff", "-o", "json", oldPath, newPath)
	require.Equal(t, exitOK, r.code, r.stderr)
	var got struct {
		Changes struct {
			Added   []roster.Member `json:"added"`
			Renamed []struct {
				To string `json:"to"`
			} `json:"renamed"`
			Invited []roster.Invitation `json:"invited"`
		} `json:"changes"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	require.Len(t, got.Changes.Added, 1)
	assert.Equal(t, hostileName, got.Changes.Added[0].Name)
	assert.Equal(t, hostileMail, got.Changes.Added[0].Email)
	require.Len(t, got.Changes.Renamed, 1)
	assert.Equal(t, "Ann "+rlo+"nimdA", got.Changes.Renamed[0].To)
	require.Len(t, got.Changes.Invited, 1)
	assert.Equal(t, "inv\x1b[2J@acme.test", got.Changes.Invited[0].Email)
}
