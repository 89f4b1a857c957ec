package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
)

// envRunAsMain makes the test binary run the agent's main instead of the
// tests, so that a test can run (and kill -9) the agent as a process.
const envRunAsMain = "CLAY_AGENT_TEST_RUN_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunAsMain) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// scimToken is the bearer token of the tests' SCIM services.
const scimToken = "test-token-0123456789abcdef0123456789abcdef"

var scimServingRE = regexp.MustCompile(`serving SCIM 2.0 on (http://\S+)/scim/v2`)

// scimEnv is a SCIM service in front of a fixture server.
type scimEnv struct {
	*mutEnv
	base  string // http://HOST:PORT/scim/v2
	state string
	done  chan cliResult
}

// scimArgs is the command line of `agent scim serve` for the fixture.
func (m *mutEnv) scimArgs(state string, extra ...string) []string {
	tokenFile := filepath.Join(m.Dir, "scim-token")
	_ = os.WriteFile(tokenFile, []byte(scimToken+"\n"), 0o600)
	args := append([]string{"scim", "serve", "--listen", "127.0.0.1:0", "--token-file", tokenFile, "--state-dir", state,
		"--audit-log", m.auditLog, "--lock-dir", m.locks, "--max-roster-age", "2s", "--mutation-wait", "60s"}, m.globals()...)
	return append(args, extra...)
}

// startSCIM runs the service in this process until the test ends.
func startSCIM(t *testing.T, m *mutEnv, extra ...string) *scimEnv {
	t.Helper()
	return startSCIMApp(t, m, nil, extra...)
}

// startSCIMApp is startSCIM; configure, when set, gets the app first.
func startSCIMApp(t *testing.T, m *mutEnv, configure func(*app), extra ...string) *scimEnv {
	t.Helper()
	s := &scimEnv{mutEnv: m, state: filepath.Join(m.Dir, "scim-state"), done: make(chan cliResult, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	go func() {
		a := newApp(strings.NewReader(""), stdout, stderr)
		if configure != nil {
			configure(a)
		}
		err := a.execute(ctx, m.scimArgs(s.state, extra...))
		code := exitCode(err)
		if err != nil {
			a.reportError(err, code)
		}
		s.done <- cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case r := <-s.done:
			if t.Failed() {
				t.Logf("scim serve stderr:\n%s", r.stderr)
			}
		case <-time.After(time.Minute):
			t.Error("scim serve did not stop within a minute")
		}
	})
	require.Eventually(t, func() bool {
		if mm := scimServingRE.FindStringSubmatch(stdout.String()); mm != nil {
			s.base = mm[1] + "/scim/v2"
			return true
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "scim serve did not start: %s", stderr.String())
	return s
}

// call sends a SCIM request and decodes the JSON answer.
func scimCall(t testing.TB, base, method, path string, body any, token string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/scim+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		require.NoError(t, json.Unmarshal(data, &out), "%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

func (s *scimEnv) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return scimCall(t, s.base, method, path, body, scimToken)
}

// userID finds a user's id with a userName filter.
func (s *scimEnv) userID(t *testing.T, email string) string {
	t.Helper()
	code, list := s.call(t, "GET", "/Users?filter="+urlQuery(`userName eq "`+email+`"`), nil)
	require.Equal(t, http.StatusOK, code, list)
	res, _ := list["Resources"].([]any)
	require.Len(t, res, 1, "%s: %v", email, list)
	return res[0].(map[string]any)["id"].(string)
}

// groupID finds the group of a role by its display name.
func (s *scimEnv) groupID(t *testing.T, name string) string {
	t.Helper()
	code, list := s.call(t, "GET", "/Groups?filter="+urlQuery(`displayName eq "`+name+`"`), nil)
	require.Equal(t, http.StatusOK, code, list)
	res, _ := list["Resources"].([]any)
	require.Len(t, res, 1, "%s: %v", name, list)
	return res[0].(map[string]any)["id"].(string)
}

func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "%20", `"`, "%22", "[", "%5B", "]", "%5D")
	return r.Replace(s)
}

func assertSCIMError(t *testing.T, code, want int, body map[string]any, scimType string) {
	t.Helper()
	assert.Equal(t, want, code, body)
	assert.Contains(t, body["schemas"], "urn:ietf:params:scim:api:messages:2.0:Error", body)
	assert.Equal(t, fmt.Sprint(want), body["status"], body)
	if scimType != "" {
		assert.Equal(t, scimType, body["scimType"], body)
	}
}

func newUser(email, given, family string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": email,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"emails":   []any{map[string]any{"primary": true, "value": email, "type": "work"}},
		"active":   true,
	}
}

func patch(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

// TestSCIMVendorSequences replays Okta's and Entra's documented request
// sequences against the service on every rendition: create, get, filter,
// change a role through a group, deactivate, reactivate, delete; checking
// the SCIM answers and the fixture server's state.
func TestSCIMVendorSequences(t *testing.T) {
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			m := startMut(t, fixtures.WithRendition(rendition))
			s := startSCIM(t, m)

			t.Run("okta", func(t *testing.T) {
				// Okta's test suite: list two users, list groups, a filter miss, a 404
				code, list := s.call(t, "GET", "/Users?count=2&startIndex=1", nil)
				require.Equal(t, http.StatusOK, code, list)
				assert.Contains(t, list["schemas"], "urn:ietf:params:scim:api:messages:2.0:ListResponse")
				assert.LessOrEqual(t, len(list["Resources"].([]any)), 2)
				assert.GreaterOrEqual(t, list["totalResults"], float64(len(fixtures.SeedMembers())))
				code, groups := s.call(t, "GET", "/Groups", nil)
				require.Equal(t, http.StatusOK, code)
				assert.NotEmpty(t, groups["Resources"])
				code, miss := s.call(t, "GET", "/Users?filter="+urlQuery(`userName eq "nobody.here@acme.test"`), nil)
				require.Equal(t, http.StatusOK, code)
				assert.Equal(t, float64(0), miss["totalResults"])
				code, body := s.call(t, "GET", "/Users/00000000000000000000000000000000", nil)
				assertSCIMError(t, code, http.StatusNotFound, body, "")

				// create, read back, filter
				code, u := s.call(t, "POST", "/Users", newUser("okta.user@acme.test", "Okta", "User"))
				require.Equal(t, http.StatusCreated, code, u)
				id := u["id"].(string)
				assert.Equal(t, "okta.user@acme.test", u["userName"])
				assert.Contains(t, u["schemas"], "urn:ietf:params:scim:schemas:core:2.0:User")
				_, invited := serverInvitation(m.Server, "okta.user@acme.test")
				assert.True(t, invited, "the create invited the address")
				code, got := s.call(t, "GET", "/Users/"+id, nil)
				require.Equal(t, http.StatusOK, code)
				assert.Equal(t, true, got["active"])
				assert.Equal(t, id, s.userID(t, "okta.user@acme.test"))
				code, dup := s.call(t, "POST", "/Users", newUser("okta.user@acme.test", "Okta", "User"))
				assertSCIMError(t, code, http.StatusConflict, dup, "uniqueness")

				// a role through a group: John joins Clay Viewer
				john := s.userID(t, "john.smith@acme.test")
				code, g := s.call(t, "PATCH", "/Groups/"+s.groupID(t, "Clay Viewer"), patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": john}}}))
				require.Contains(t, []int{http.StatusOK, http.StatusNoContent}, code, g)
				assert.Equal(t, "Viewer", serverRole(m.Server, "john.smith@acme.test"))

				// deactivate with a path-less replace, reactivate, delete
				code, d := s.call(t, "PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
				require.Equal(t, http.StatusOK, code, d)
				assert.Equal(t, false, d["active"])
				_, invited = serverInvitation(m.Server, "okta.user@acme.test")
				assert.False(t, invited, "deactivation revoked the invitation")
				code, d = s.call(t, "PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": true}}))
				require.Equal(t, http.StatusOK, code, d)
				_, invited = serverInvitation(m.Server, "okta.user@acme.test")
				assert.True(t, invited, "reactivation invited again")
				put := newUser("okta.user@acme.test", "Okta", "User")
				put["active"] = false
				code, d = s.call(t, "PUT", "/Users/"+id, put)
				require.Equal(t, http.StatusOK, code, d)
				_, invited = serverInvitation(m.Server, "okta.user@acme.test")
				assert.False(t, invited, "a PUT with active false deactivates")
				code, _ = s.call(t, "DELETE", "/Users/"+id, nil)
				assert.Equal(t, http.StatusNoContent, code)
				code, body = s.call(t, "GET", "/Users/"+id, nil)
				assertSCIMError(t, code, http.StatusNotFound, body, "")
			})

			t.Run("entra", func(t *testing.T) {
				// Entra probes with a filter before it creates
				code, miss := s.call(t, "GET", "/Users?filter="+urlQuery(`userName eq "entra.user@acme.test"`), nil)
				require.Equal(t, http.StatusOK, code)
				assert.Equal(t, float64(0), miss["totalResults"])
				code, u := s.call(t, "POST", "/Users", newUser("entra.user@acme.test", "Entra", "User"))
				require.Equal(t, http.StatusCreated, code, u)
				id := u["id"].(string)
				code, p := s.call(t, "PATCH", "/Users/"+id, patch(
					map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": "entra.user@acme.test"},
					map[string]any{"op": "Replace", "path": "displayName", "value": "Entra User"},
				))
				require.Equal(t, http.StatusOK, code, p)
				// a role through a group, with a capitalised op
				bob := s.userID(t, "bob.oneil@acme.test")
				code, g := s.call(t, "PATCH", "/Groups/"+s.groupID(t, "Clay Admin"), patch(map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": bob}}}))
				require.Contains(t, []int{http.StatusOK, http.StatusNoContent}, code, g)
				assert.Equal(t, "Admin", serverRole(m.Server, "bob.oneil@acme.test"))
				// "False" as a string; then a path-less Replace back to active
				code, p = s.call(t, "PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "path": "active", "value": "False"}))
				require.Equal(t, http.StatusOK, code, p)
				_, invited := serverInvitation(m.Server, "entra.user@acme.test")
				assert.False(t, invited)
				code, p = s.call(t, "PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "value": map[string]any{"active": "True"}}))
				require.Equal(t, http.StatusOK, code, p)
				_, invited = serverInvitation(m.Server, "entra.user@acme.test")
				assert.True(t, invited)
				code, _ = s.call(t, "DELETE", "/Users/"+id, nil)
				assert.Equal(t, http.StatusNoContent, code)
				_, invited = serverInvitation(m.Server, "entra.user@acme.test")
				assert.False(t, invited)
			})

			// every action is in the audit log with the request and the client
			var scimRecords int
			for _, rec := range m.records(t) {
				if strings.HasPrefix(rec.Command, "scim ") {
					scimRecords++
					assert.NotEmpty(t, rec.Request, "%+v", rec)
				}
			}
			assert.NotZero(t, scimRecords)
			m.verifyAudit(t)
		})
	}
}

// TestSCIMBadRequests: bad JSON, an unknown attribute, an unsupported
// filter and a missing or wrong token get SCIM errors, never a 500.
func TestSCIMBadRequests(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionTable))
	s := startSCIM(t, m)
	code, body := scimCall(t, s.base, "GET", "/Users", nil, "")
	assertSCIMError(t, code, http.StatusUnauthorized, body, "")
	code, body = scimCall(t, s.base, "GET", "/Users", nil, "wrong-token-0123456789abcdef0123456789")
	assertSCIMError(t, code, http.StatusUnauthorized, body, "")
	code, body = s.call(t, "POST", "/Users", `{"userName": "broken@acme.test",`)
	assertSCIMError(t, code, http.StatusBadRequest, body, "invalidSyntax")
	code, body = s.call(t, "GET", "/Users?filter="+urlQuery(`title co "boss"`), nil)
	assertSCIMError(t, code, http.StatusBadRequest, body, "invalidFilter")
	id := s.userID(t, "al@acme.test")
	code, body = s.call(t, "PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "path": "favoriteColor", "value": "red"}))
	assert.Equal(t, http.StatusBadRequest, code, body)
	assert.Contains(t, body["schemas"], "urn:ietf:params:scim:api:messages:2.0:Error")
	assert.Empty(t, m.Server.Mutations(), "no bad request changed anything")
}

// TestSCIMDeprovisioningSurvivesKill9: the service is killed (-9) while a
// queued deprovisioning is under way, after the page removed the member
// but before the service saw the answer. The next start finishes the job,
// and the member is removed exactly once.
func TestSCIMDeprovisioningSurvivesKill9(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionGrid))
	state := filepath.Join(m.Dir, "scim-state")
	cmd, base := startSCIMProcess(t, m, state)
	code, list := scimCall(t, base, "GET", "/Users?filter="+urlQuery(`userName eq "priya.nair@acme.test"`), nil, scimToken)
	require.Equal(t, http.StatusOK, code, list)
	id := list["Resources"].([]any)[0].(map[string]any)["id"].(string)

	m.Server.SetFaults(fixtures.Faults{SlowMutationAnswer: time.Minute})
	go func() {
		req, _ := http.NewRequest("DELETE", base+"/Users/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+scimToken)
		resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return !serverHasMember(m.Server, "priya.nair@acme.test") }, time.Minute, 20*time.Millisecond,
		"the page removed the member")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	m.Server.SetFaults(fixtures.Faults{})

	_, base = startSCIMProcess(t, m, state)
	require.Eventually(t, func() bool {
		code, _ := scimCall(t, base, "GET", "/Users/"+id, nil, scimToken)
		return code == http.StatusNotFound
	}, 2*time.Minute, 200*time.Millisecond, "the resumed job finished the deletion")
	removals := 0
	for _, mu := range m.Server.Mutations() {
		if mu.Kind == fixtures.KindRemove && mu.Target == "priya.nair@acme.test" {
			removals++
		}
	}
	assert.Equal(t, 1, removals, "removed exactly once")
	var resumed bool
	for _, rec := range m.records(t) {
		if rec.Target == "priya.nair@acme.test" && rec.Outcome == "already-absent" {
			resumed = true
		}
	}
	assert.True(t, resumed, "the resumed job found the member gone and did not act again")
}
