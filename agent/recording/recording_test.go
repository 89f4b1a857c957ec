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
