package snapshot_test

import (
	"encoding/json"
	"fmt"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
)

func ExampleDiff() {
	prev := &roster.Roster{
		Workspace: "acme",
		Members: []roster.Member{
			{Name: "Ann", Email: "Ann@Example.com", Role: roster.Admin},
			{Name: "Bob", Email: "bob@example.com", Role: roster.Editor},
		},
		Invitations: []roster.Invitation{{Email: "cat@example.com", Role: roster.Viewer}},
	}
	cur := &roster.Roster{
		Workspace: "acme",
		Members: []roster.Member{
			{Name: "Ann Lee", Email: "ann@example.com", Role: roster.Admin},
			{Name: "Bob", Email: "bob@example.com", Role: roster.Admin},
			{Name: "Cat", Email: "cat@example.com", Role: roster.Viewer},
		},
	}
	c := snapshot.Diff(prev, cur)
	fmt.Println(c.Text("acme"))
	out, _ := json.Marshal(c.RoleChanged)
	fmt.Println(string(out))
	// Output:
	// Clay workspace acme: 1 added: cat@example.com (Viewer); 1 role changed: bob@example.com Editor → Admin; 1 renamed: ann@example.com "Ann" → "Ann Lee"; 1 invitation gone: cat@example.com (Viewer).
	// [{"email":"bob@example.com","from":"Editor","to":"Admin"}]
}
