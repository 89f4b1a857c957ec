package snapshot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
)

func member(name, email string, role roster.Role) roster.Member {
	return roster.Member{Name: name, Email: email, Role: role}
}

func invite(email string, role roster.Role) roster.Invitation {
	return roster.Invitation{Email: email, Role: role}
}

func rost(members []roster.Member, invites ...roster.Invitation) *roster.Roster {
	return &roster.Roster{Workspace: "acme", Members: members, Invitations: invites}
}

// changes builds an expected Changes with empty (not nil) lists.
func changes(edit func(c *snapshot.Changes)) snapshot.Changes {
	c := snapshot.Changes{
		Added:          []roster.Member{},
		Removed:        []roster.Member{},
		RoleChanged:    []snapshot.RoleChange{},
		Renamed:        []snapshot.Rename{},
		Invited:        []roster.Invitation{},
		InvitationGone: []roster.Invitation{},
	}
	if edit != nil {
		edit(&c)
	}
	return c
}

func TestDiff(t *testing.T) {
	ann := member("Ann", "ann@example.com", roster.Admin)
	bob := member("Bob", "bob@example.com", roster.Editor)
	cat := member("Cat", "cat@example.com", roster.Viewer)

	tests := []struct {
		name      string
		prev, cur *roster.Roster
		want      snapshot.Changes
	}{
		{
			name: "no previous snapshot: everything is new, sorted by email",
			prev: nil,
			cur:  rost([]roster.Member{cat, ann}, invite("zed@example.com", roster.Editor), invite("Dan@example.com", roster.Viewer)),
			want: changes(func(c *snapshot.Changes) {
				c.Added = []roster.Member{ann, cat}
				c.Invited = []roster.Invitation{invite("Dan@example.com", roster.Viewer), invite("zed@example.com", roster.Editor)}
			}),
		},
		{
			name: "identical rosters",
			prev: rost([]roster.Member{ann, bob}, invite("dan@example.com", roster.Editor)),
			cur:  rost([]roster.Member{bob, ann}, invite("dan@example.com", roster.Editor)),
			want: changes(nil),
		},
		{
			name: "email changes case: not a removal and an addition",
			prev: rost([]roster.Member{member("Ann", "Ann@Example.COM", roster.Admin)}, invite("DAN@example.com", roster.Editor)),
			cur:  rost([]roster.Member{ann}, invite("dan@example.com", roster.Editor)),
			want: changes(nil),
		},
		{
			name: "email gains surrounding space",
			prev: rost([]roster.Member{ann}),
			cur:  rost([]roster.Member{member("Ann", " ann@example.com ", roster.Admin)}),
			want: changes(nil),
		},
		{
			name: "renamed member: same email, new name",
			prev: rost([]roster.Member{ann, bob}),
			cur:  rost([]roster.Member{member("Ann Lee", "ann@example.com", roster.Admin), bob}),
			want: changes(func(c *snapshot.Changes) {
				c.Renamed = []snapshot.Rename{{Email: "ann@example.com", From: "Ann", To: "Ann Lee"}}
			}),
		},
		{
			name: "white space in a name is not a rename",
			prev: rost([]roster.Member{member("Ann  Lee", "ann@example.com", roster.Admin)}),
			cur:  rost([]roster.Member{member(" Ann Lee", "ann@example.com", roster.Admin)}),
			want: changes(nil),
		},
		{
			name: "role changed",
			prev: rost([]roster.Member{ann, bob}),
			cur:  rost([]roster.Member{ann, member("Bob", "bob@example.com", roster.Admin)}),
			want: changes(func(c *snapshot.Changes) {
				c.RoleChanged = []snapshot.RoleChange{{Email: "bob@example.com", From: roster.Editor, To: roster.Admin}}
			}),
		},
		{
			name: "role spelled differently is the same role",
			prev: rost([]roster.Member{member("Bob", "bob@example.com", "editor")}),
			cur:  rost([]roster.Member{bob}),
			want: changes(nil),
		},
		{
			name: "case change, rename and role change at once",
			prev: rost([]roster.Member{member("Bob", "Bob@Example.com", roster.Editor)}),
			cur:  rost([]roster.Member{member("Robert", "bob@example.com", roster.SalesRep)}),
			want: changes(func(c *snapshot.Changes) {
				c.RoleChanged = []snapshot.RoleChange{{Email: "bob@example.com", From: roster.Editor, To: roster.SalesRep}}
				c.Renamed = []snapshot.Rename{{Email: "bob@example.com", From: "Bob", To: "Robert"}}
			}),
		},
		{
			name: "added and removed",
			prev: rost([]roster.Member{ann, bob}),
			cur:  rost([]roster.Member{cat, ann}),
			want: changes(func(c *snapshot.Changes) {
				c.Added = []roster.Member{cat}
				c.Removed = []roster.Member{bob}
			}),
		},
		{
			name: "invited and invitation gone",
			prev: rost([]roster.Member{ann}, invite("dan@example.com", roster.Editor)),
			cur:  rost([]roster.Member{ann}, invite("eve@example.com", roster.Viewer)),
			want: changes(func(c *snapshot.Changes) {
				c.Invited = []roster.Invitation{invite("eve@example.com", roster.Viewer)}
				c.InvitationGone = []roster.Invitation{invite("dan@example.com", roster.Editor)}
			}),
		},
		{
			name: "invitation accepted: member added, invitation gone",
			prev: rost([]roster.Member{ann}, invite("Dan@example.com", roster.Editor)),
			cur:  rost([]roster.Member{ann, member("Dan", "dan@example.com", roster.Editor)}),
			want: changes(func(c *snapshot.Changes) {
				c.Added = []roster.Member{member("Dan", "dan@example.com", roster.Editor)}
				c.InvitationGone = []roster.Invitation{invite("Dan@example.com", roster.Editor)}
			}),
		},
		{
			name: "invitation re-sent with another role",
			prev: rost(nil, invite("dan@example.com", roster.Editor)),
			cur:  rost(nil, invite("dan@example.com", roster.Admin)),
			want: changes(func(c *snapshot.Changes) {
				c.Invited = []roster.Invitation{invite("dan@example.com", roster.Admin)}
				c.InvitationGone = []roster.Invitation{invite("dan@example.com", roster.Editor)}
			}),
		},
		{
			name: "everything removed",
			prev: rost([]roster.Member{bob, ann}, invite("dan@example.com", roster.Editor)),
			cur:  rost(nil),
			want: changes(func(c *snapshot.Changes) {
				c.Removed = []roster.Member{ann, bob}
				c.InvitationGone = []roster.Invitation{invite("dan@example.com", roster.Editor)}
			}),
		},
		{
			name: "sorted by normalized email, not by raw case",
			prev: rost(nil),
			cur: rost([]roster.Member{
				member("B", "B@example.com", roster.Editor),
				member("c", "c@example.com", roster.Editor),
				member("a", "a@example.com", roster.Editor),
			}),
			want: changes(func(c *snapshot.Changes) {
				c.Added = []roster.Member{
					member("a", "a@example.com", roster.Editor),
					member("B", "B@example.com", roster.Editor),
					member("c", "c@example.com", roster.Editor),
				}
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := snapshot.Diff(tt.prev, tt.cur)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want.Count() == 0, got.Empty())
		})
	}
}

func TestChangesJSONHasArraysNotNull(t *testing.T) {
	tests := []struct {
		name string
		c    snapshot.Changes
	}{
		{name: "zero value", c: snapshot.Changes{}},
		{name: "from Diff", c: snapshot.Diff(rost(nil), rost(nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.c)
			require.NoError(t, err)
			assert.JSONEq(t, `{"added":[],"removed":[],"role_changed":[],"renamed":[],"invited":[],"invitation_gone":[],"unreadable":[]}`, string(b))
		})
	}
}

func TestChangesJSONFields(t *testing.T) {
	c := snapshot.Diff(
		rost([]roster.Member{member("Bob", "bob@example.com", roster.Editor)}),
		rost([]roster.Member{member("Rob", "bob@example.com", roster.Admin)}),
	)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"added":[],"removed":[],"invited":[],"invitation_gone":[],"unreadable":[],
		"role_changed":[{"email":"bob@example.com","from":"Editor","to":"Admin"}],
		"renamed":[{"email":"bob@example.com","from":"Bob","to":"Rob"}]
	}`, string(b))
}

func TestChangesText(t *testing.T) {
	many := make([]roster.Member, 12)
	for i := range many {
		many[i] = member("", fmt.Sprintf("u%02d@example.com", i), roster.Editor)
	}
	tests := []struct {
		name      string
		workspace string
		prev, cur *roster.Roster
		want      string
	}{
		{
			name:      "no changes",
			workspace: "acme",
			prev:      rost(nil),
			cur:       rost(nil),
			want:      "Clay workspace acme: no changes.",
		},
		{
			name: "every kind, no workspace",
			prev: rost([]roster.Member{
				member("Bob", "bob@example.com", roster.Editor),
				member("Cat", "cat@example.com", roster.Viewer),
			}, invite("dan@example.com", roster.Editor)),
			cur: rost([]roster.Member{
				member("Ann", "ann@example.com", roster.Admin),
				member("Robert", "bob@example.com", roster.Admin),
			}, invite("eve@example.com", roster.SalesRep)),
			want: `Clay workspace: 1 added: ann@example.com (Admin); 1 removed: cat@example.com (Viewer); ` +
				`1 role changed: bob@example.com Editor → Admin; 1 renamed: bob@example.com "Bob" → "Robert"; ` +
				`1 invited: eve@example.com (Sales rep); 1 invitation gone: dan@example.com (Editor).`,
		},
		{
			name:      "text from the page is escaped",
			workspace: "acme\x1b[2J",
			prev: rost([]roster.Member{
				member("Bob", "bob@example.com", roster.Editor),
				member("Cat\x07", "cat\u202e@example.com", roster.Viewer),
			}, invite("dan\u2066@example.com", "Editor\u200b")),
			cur: rost([]roster.Member{
				member("Ann", "ann\x1b]0;pwned\x07@example.com", "Admin\u009b"),
				member("Bob \u202etrebor", "bob@example.com", "Admin\x1b[0m"),
			}),
			want: `Clay workspace acme\x1b[2J: 1 added: ann\x1b]0;pwned\a@example.com (Admin\u009b); ` +
				`1 removed: cat\u202e@example.com (Viewer); ` +
				`1 role changed: bob@example.com Editor → Admin\x1b[0m; ` +
				`1 renamed: bob@example.com "Bob" → "Bob \u202etrebor"; ` +
				`1 invitation gone: dan\u2066@example.com (Editor\u200b).`,
		},
		{
			name:      "long lists are cut",
			workspace: "acme",
			prev:      rost(nil),
			cur:       rost(many),
			want: "Clay workspace acme: 12 added: u00@example.com (Editor), u01@example.com (Editor), " +
				"u02@example.com (Editor), u03@example.com (Editor), u04@example.com (Editor), " +
				"u05@example.com (Editor), u06@example.com (Editor), u07@example.com (Editor), " +
				"u08@example.com (Editor), u09@example.com (Editor), and 2 more.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, snapshot.Diff(tt.prev, tt.cur).Text(tt.workspace))
		})
	}
}

func TestChangesSlackTextEscapes(t *testing.T) {
	c := snapshot.Diff(
		rost([]roster.Member{member("Bob", "bob@example.com", roster.Editor)}),
		rost([]roster.Member{member("<Bob & Co>", "bob@example.com", roster.Editor)}),
	)
	got := c.SlackText("R&D <team>")
	assert.Contains(t, got, "R&amp;D &lt;team&gt;")
	assert.Contains(t, got, `"&lt;Bob &amp; Co&gt;"`)
	assert.False(t, strings.ContainsAny(got, "<>"))
}
