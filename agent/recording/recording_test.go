package recording

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactsConsistentlyAcrossDOMAndJSON(t *testing.T) {
	r := New("98765")
	api := []byte(`{"users":[{"id":42,"name":"Ana López","email":"Ana@Corp.com","role":"Admin"},
		{"id":43,"name":"Smith, John","email":"john@corp.com","role":"Editor","apiKey":"sk-123"}],
		"session":{"token":"abc"},"workspaceId":"98765"}`)
	r.LearnJSON(api)
	html := `<html><head><meta name="csrf-token" content="t0k3n"><script>window.boot={"u":"ana@corp.com"}</script></head>
<body><a href="/workspaces/98765/settings/team">Team</a><div>Ana López <span>(you)</span></div><div>ana@corp.com</div>
<div>Smith, John</div><div>john@corp.com</div><input type="hidden" name="x" value="secret-csrf"></body></html>`
	out := r.HTML(html)
	js := string(r.JSON(api))

	for _, leaked := range []string{"ana@corp.com", "Ana@Corp.com", "john@corp.com", "Ana López", "Smith, John", "sk-123", "abc", "t0k3n", "secret-csrf", "98765", "window.boot"} {
		assert.NotContains(t, out, leaked)
		assert.NotContains(t, js, leaked)
	}
	// the same person has the same stand-in in both
	var doc struct {
		Users []struct {
			ID    int    `json:"id"`
			Name  string `json:"name"`
			Email string `json:"email"`
			Role  string `json:"role"`
		} `json:"users"`
	}
	require.NoError(t, json.Unmarshal([]byte(js), &doc))
	require.Len(t, doc.Users, 2)
	assert.Contains(t, out, doc.Users[0].Email)
	assert.Contains(t, out, doc.Users[0].Name)
	assert.Contains(t, out, doc.Users[1].Name)
	assert.Equal(t, "Admin", doc.Users[0].Role, "roles are not personal data")
	assert.NotEqual(t, doc.Users[0].ID, doc.Users[1].ID)
	assert.Contains(t, out, "/workspaces/1234/settings/team")
	assert.Contains(t, out, "(you)")
	assert.Equal(t, 1, strings.Count(out, doc.Users[0].Email))
	c := r.Counts()
	assert.Equal(t, 2, c["emails"])
	assert.Equal(t, 1, c["scripts"])
}

func TestNotJSONIsRedactedAsText(t *testing.T) {
	r := New("")
	out := string(r.JSON([]byte("oops ana@corp.com")))
	assert.Equal(t, "oops user001@example.test", out)
}

func TestRedactsAvatarInitials(t *testing.T) {
	r := New("")
	r.LearnName("Jo Park")
	r.LearnName(`Robert "Bob" O'Neil`)
	out := r.HTML(`<span> JP </span><span>RN</span><span>Jo Park</span><span>OK</span>`)
	assert.NotContains(t, out, "JP")
	assert.NotContains(t, out, ">RN<")
	assert.Contains(t, out, ">OK<", "capitals that abbreviate no known name stay")
	assert.Contains(t, out, "Person 001")
	assert.Equal(t, 2, r.Counts()["initials"])
}

// Addresses the page script cannot read, the workspace id anywhere, ids
// and UUIDs are redacted too; what is left is found by Leaks.
func TestRedactsWhatTheParserDidNotRecognise(t *testing.T) {
	r := New("98765")
	r.LearnJSON([]byte(`{"users":[{"id":40417,"name":"Bo Two","email":"bo@corp.com"}]}`))
	r.LearnUnreadable(`Di Four "di,four"@corp.com Viewer Remove`)
	html := `<div data-ws="98765" data-user="40417" data-key="1b4e28ba-2fa1-11d2-883f-0016d3cca427">` +
		`<div>Di Four</div><div>"di,four"@corp.com</div><div>&quot;x,y&quot;@corp.com</div>` +
		`<div>o'neil=1@corp.com</div><img src="logo@2x.png"><div>Bo Two</div><div>bo@corp.com</div></div>`
	out := r.HTML(html)
	for _, leaked := range []string{"di,four", "x,y", "o'neil", "corp.com", "98765", "40417", "1b4e28ba", "Di Four", "Bo Two"} {
		assert.NotContains(t, out, leaked)
	}
	assert.Contains(t, out, `src="logo@2x.png"`, "file names are not addresses")
	assert.Equal(t, "/v3/workspaces/1234/users", r.Text("/v3/workspaces/98765/users"))
	assert.Equal(t, "/v3/users?workspace=1234", r.Text("/v3/users?workspace=98765"))
	assert.Equal(t, "id 1234 1234 ", r.Text("id 98765 98765 "), "every whole token")
	assert.Equal(t, "198765", r.Text("198765"), "not inside a longer number")
	assert.Empty(t, r.Leaks(map[string][]byte{"page.html": []byte(out), "api/01-v3-users-1234.json": r.JSON([]byte(`{"workspace":"98765"}`))}))
}

func TestLeaksFindsWhatRedactionMissed(t *testing.T) {
	r := New("98765")
	r.LearnName("Ana López")
	r.LearnUnreadable(`Zebulon Quartz "z,q"@corp.com Editor Remove`)
	for _, tc := range []struct {
		name, file, body, kind string
	}{
		{"a quoted address", "page.html", `<div>"a,b"@corp.com</div>`, "an email address"},
		{"an escaped quoted address", "page.html", `<div title="&quot;a,b&quot;@corp.com"></div>`, "an email address"},
		{"a plain address", "api/01.json", `{"e":"ana@corp.com"}`, "an email address"},
		{"the workspace id in a file name", "api/01-v3-workspaces-98765.json", `{}`, "the workspace id"},
		{"a UUID", "page.html", `<a href="/u/1b4e28ba-2fa1-11d2-883f-0016d3cca427">`, "a UUID"},
		{"a learned name", "page.html", `<div>Ana López</div>`, "a name"},
		{"a name split over elements", "page.html", `<span>Zebulon</span> <span>Q.</span>`, "a word of a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaks := r.Leaks(map[string][]byte{tc.file: []byte(tc.body)})
			require.NotEmpty(t, leaks)
			var kinds []string
			for _, l := range leaks {
				kinds = append(kinds, l.Kind)
				assert.NotContains(t, l.String(), "corp.com", "a leak is named by kind and place, not value")
			}
			assert.Contains(t, kinds, tc.kind)
		})
	}
	assert.Empty(t, r.Leaks(map[string][]byte{"page.html": []byte(`<div>Person 001</div><div>user001@example.test</div><div>Team members 3</div>`)}))
}

// A document keeps its scripts, redacted as text, so that the page's own
// code still runs when it is replayed.
func TestDocumentKeepsItsCodeRedacted(t *testing.T) {
	r := New("98765")
	r.LearnJSON([]byte(`{"users":[{"id":40417,"name":"Bo Two","email":"bo@corp.com"}]}`))
	doc := `<html><head><meta name="csrf-token" content="t0k3n">` +
		`<script>window.boot = {"workspace":"98765","me":"bo@corp.com","teamPath":"/workspaces/98765/settings/team"};</script>` +
		`<script>var f = h('input', {placeholder: 'name@company.com'}); var x='bo@corp.com'; var who = "Bo Two"; var n = 40417;</script>` +
		`</head><body><input type="hidden" name="k" value="secret-csrf"></body></html>`
	out := r.Document(doc)
	for _, leaked := range []string{"98765", "bo@corp.com", "Bo Two", "40417", "t0k3n", "secret-csrf", "company.com"} {
		assert.NotContains(t, out, leaked)
	}
	assert.Equal(t, 2, strings.Count(out, "<script>"), "scripts are kept")
	assert.Contains(t, out, `"/workspaces/1234/settings/team"`)
	assert.Contains(t, out, `placeholder: 'user`, "the quote that opens a string stays")
	assert.Contains(t, out, `var x='user001@example.test'`, "so does the code before it")
	assert.Contains(t, out, `var who = "Person 001"`)
	assert.Contains(t, out, `var n = 1001;`)
	assert.Empty(t, r.Leaks(map[string][]byte{"document.html": []byte(out)}))
	assert.Equal(t, 2, r.Counts()["scripts"])

	assert.Equal(t, `a{background:url(x@2x.png)} b{content:'user001@example.test'}`, r.Script(`a{background:url(x@2x.png)} b{content:'bo@corp.com'}`))
}

func TestRedactsQueries(t *testing.T) {
	r := New("98765")
	r.LearnJSON([]byte(`{"users":[{"id":40417,"name":"Bo Two","email":"bo@corp.com"}]}`))
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"offset=25&limit=25", "offset=25&limit=25"},
		{"limit=25&offset=25", "limit=25&offset=25"},
		{"workspace=98765&q=bo%40corp.com", "workspace=1234&q=user001%40example.test"},
		{"user_id=40417&name=Bo+Two", "user_id=1001&name=Person+001"},
		{"token=abc&session=def&flag", "token=REDACTED&session=REDACTED&flag"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, r.Query(tc.in))
		})
	}
}

// Ids are replaced in one pass, and by stand-ins that are no id of the
// page: 1001 and 1002 are taken, so they become 1003 and 1004.
func TestIDsAreReplacedInOnePass(t *testing.T) {
	r := New("")
	r.LearnJSON([]byte(`{"users":[{"id":1002},{"id":1001}]}`))
	assert.Equal(t, "/users/1003 /users/1004", r.Text("/users/1002 /users/1001"))
}

// Numeric ids are replaced wherever they appear (JSON numbers and strings,
// URLs, the DOM), consistently, and never by a value that is itself an id
// of the page: the leak scan then finds nothing, and every original id is
// gone.
func TestNumericIDsGetStandInsThatAreNoOriginalID(t *testing.T) {
	tests := []struct {
		name string
		ids  []string // the users' ids, the signed-in user first
	}{
		{"ids far from the stand-ins", []string{"48213", "48214", "48215"}},
		{"ids that are the first stand-ins, in reverse", []string{"1003", "1002", "1001"}},
		{"ids that are the first stand-ins, in order", []string{"1001", "1002", "1003"}},
		{"an id that is the workspace stand-in", []string{"1234", "1001", "77"}},
		{"ids as strings", []string{`"1002"`, `"1001"`, `"5000"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bare := make([]string, len(tt.ids))
			for i, id := range tt.ids {
				bare[i] = strings.Trim(id, `"`)
			}
			me := []byte(`{"user":{"id":` + tt.ids[0] + `,"name":"Ana Ruiz","email":"ana@corp.test"}}`)
			users := []byte(`{"users":[` +
				`{"id":` + tt.ids[0] + `,"name":"Ana Ruiz","email":"ana@corp.test"},` +
				`{"id":` + tt.ids[1] + `,"name":"Bo Chan","email":"bo@corp.test","managerId":` + tt.ids[0] + `},` +
				`{"id":` + tt.ids[2] + `,"name":"Cy Dunn","email":"cy@corp.test"}]}`)
			r := New("98765")
			r.LearnJSON(me)
			r.LearnJSON(users)
			html := `<ul>` +
				`<li data-user-id="` + bare[0] + `">Ana Ruiz ana@corp.test</li>` +
				`<li data-user-id="` + bare[1] + `">Bo Chan <a href="/workspaces/98765/users/` + bare[1] + `">bo@corp.test</a></li>` +
				`<li data-user-id="` + bare[2] + `">Cy Dunn cy@corp.test</li></ul>`
			files := map[string][]byte{
				"page.html":            []byte(r.HTML(html)),
				"api/01-v3-me.json":    r.JSON(me),
				"api/02-v3-users.json": r.JSON(users),
				"api/03-" + r.Text("/v3/workspaces/98765/users/"+bare[1]): []byte("{}"),
			}
			require.Empty(t, r.Leaks(files))

			var gotMe struct {
				User struct{ ID json.Number } `json:"user"`
			}
			var gotUsers struct {
				Users []struct {
					ID        json.Number `json:"id"`
					ManagerID json.Number `json:"managerId"`
					Email     string      `json:"email"`
				} `json:"users"`
			}
			require.NoError(t, json.Unmarshal(files["api/01-v3-me.json"], &gotMe))
			require.NoError(t, json.Unmarshal(files["api/02-v3-users.json"], &gotUsers))
			require.Len(t, gotUsers.Users, 3)
			standIns := map[string]string{}
			for i, u := range gotUsers.Users {
				standIns[bare[i]] = u.ID.String()
				assert.NotContains(t, bare, u.ID.String(), "a stand-in is no original id")
				assert.NotEqual(t, r.WorkspaceStandIn, u.ID.String())
			}
			assert.Len(t, map[string]bool{standIns[bare[0]]: true, standIns[bare[1]]: true, standIns[bare[2]]: true}, 3, "one stand-in per id")
			assert.Equal(t, standIns[bare[0]], gotMe.User.ID.String(), "the same id in both files")
			assert.Equal(t, standIns[bare[0]], gotUsers.Users[1].ManagerID.String(), "under another key too")
			page := string(files["page.html"])
			for i, id := range bare {
				if len(id) >= minIDLen {
					assert.Contains(t, page, `data-user-id="`+standIns[bare[i]]+`"`, "the DOM joins the JSON")
				}
			}
			assert.Contains(t, page, "/workspaces/"+r.WorkspaceStandIn+"/users/"+standIns[bare[1]])
			assert.NotContains(t, bare, r.WorkspaceStandIn)
		})
	}
}
