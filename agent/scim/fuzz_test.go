package scim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clay-agent/clay-agent/agent/scim"
)

// FuzzHandler sends any method, path and body with a valid token and
// checks that the service never panics, never answers 500, and answers
// every error with the SCIM error schema.
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		method byte
		path   string
		body   string
	}{
		{0, "/scim/v2/Users?filter=userName%20eq%20%22a%40b.c%22", ""},
		{0, "/scim/v2/Users?startIndex=-1&count=999999999999&attributes=name.givenName", ""},
		{1, "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"f@acme.test"}`},
		{1, "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x","emails":[{"value":"f@acme.test","primary":"True"}],"urn:clay-agent:params:scim:schemas:extension:clay:2.0:User":{"role":"viewer"}}`},
		{2, "/scim/v2/Users/" + scim.UserID("ed@acme.test"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","value":{"active":"False"}}]}`},
		{2, "/scim/v2/Groups/role-admin", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + scim.UserID("ed@acme.test") + `"}]}]}`},
		{3, "/scim/v2/Users/" + scim.UserID("ann@acme.test"), `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@acme.test","active":false}`},
		{3, "/scim/v2/Groups/role-viewer", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Clay Viewer","members":[]}`},
		{4, "/scim/v2/Users/" + scim.UserID("ivy@acme.test"), ""},
		{0, "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", ""},
		{0, "/scim/v2/Groups?filter=displayName%20eq%20%22Clay%20Admin%22&excludedAttributes=members", ""},
		{1, "/scim/v2/Users", `{"a":` + strings.Repeat("[", 20000)},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	be := newFakeBackend()
	h := newHarness(f, be, func(c *scim.Config) {
		c.MutationWait = 200 * time.Millisecond
		c.RatePerClient, c.Burst = 1e9, 1<<30
		c.MaxBody = 64 << 10
		c.Logger = nil
		c.MaxRemovalsPerHour = 1 << 30
	})
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodHead, "OPTIONS"}
	f.Fuzz(func(t *testing.T, method byte, path string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/scim/v2/" + path
		}
		req, err := http.NewRequest(methods[int(method)%len(methods)], "http://scim.example.test"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.RemoteAddr = "192.0.2.1:1234"
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("500 for %s %s %q: %s", req.Method, path, body, rec.Body.String())
		}
		if rec.Code >= 400 && strings.Contains(rec.Header().Get("Content-Type"), "scim") {
			var e struct {
				Schemas []string `json:"schemas"`
				Status  string   `json:"status"`
				Detail  string   `json:"detail"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e.Schemas) != 1 || e.Schemas[0] != scim.MessageError || e.Detail == "" {
				t.Fatalf("%d without a SCIM error for %s %s: %s", rec.Code, req.Method, path, rec.Body.String())
			}
		}
	})
}
