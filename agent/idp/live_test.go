package idp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clay-agent/clay-agent/agent/idp"
	"github.com/clay-agent/clay-agent/agent/secret"
)

const (
	oktaToken    = "00abcSSWStokenXYZ-very-secret"
	clientID     = "11111111-2222-3333-4444-555555555555"
	clientSecret = "s3cr3t~client~secret~value"
	accessToken  = "eyJ0eXAiOiJKV1QiLCJhbGciOi.fake-graph-access-token"
)

// fastRetry keeps the tests' retries short.
var fastRetry = idp.WithRetry(4, time.Millisecond, 5*time.Millisecond)

// fault lets a test answer a request instead of the fake: it returns
// true when it wrote a response. n counts the requests, from 1.
type fault func(w http.ResponseWriter, r *http.Request, n int) bool

// fakeOkta serves testdata/okta-users.json as Okta's Users API does:
// pages of pageSize users chained by Link headers, DEPROVISIONED users
// only when the filter asks for them.
type fakeOkta struct {
	t        *testing.T
	srv      *httptest.Server
	pageSize int
	active   []json.RawMessage
	deprov   []json.RawMessage
	fault    fault

	mu       sync.Mutex
	requests []string
}

func newFakeOkta(t *testing.T, pageSize int) *fakeOkta {
	data, err := os.ReadFile(testdata("okta-users.json"))
	require.NoError(t, err)
	var users []json.RawMessage
	require.NoError(t, json.Unmarshal(data, &users))
	f := &fakeOkta{t: t, pageSize: pageSize}
	for _, u := range users {
		var s struct{ Status string }
		require.NoError(t, json.Unmarshal(u, &s))
		if s.Status == "DEPROVISIONED" {
			f.deprov = append(f.deprov, u)
		} else {
			f.active = append(f.active, u)
		}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOkta) spec() string { return "okta:" + f.srv.URL }

func (f *fakeOkta) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	n := len(f.requests)
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "SSWS "+oktaToken {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oae1","errorCauses":[]}`)
		return
	}
	if f.fault != nil && f.fault(w, r, n) {
		return
	}
	if r.Method != http.MethodGet || r.URL.Path != "/api/v1/users" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	assert.Equal(f.t, "200", q.Get("limit"))
	list := f.active
	switch q.Get("filter") {
	case "":
	case `status eq "DEPROVISIONED"`:
		list = f.deprov
	default:
		f.t.Errorf("unexpected filter %q", q.Get("filter"))
	}
	after, _ := strconv.Atoi(q.Get("after"))
	end := min(after+f.pageSize, len(list))
	self := *r.URL
	w.Header().Add("Link", fmt.Sprintf(`<%s%s>; rel="self"`, f.srv.URL, self.RequestURI()))
	if end < len(list) {
		q.Set("after", strconv.Itoa(end))
		w.Header().Add("Link", fmt.Sprintf(`<%s/api/v1/users?%s>; rel="next"`, f.srv.URL, q.Encode()))
	}
	w.Header().Set("Content-Type", "application/json")
	page := list[after:end]
	if page == nil {
		page = []json.RawMessage{}
	}
	require.NoError(f.t, json.NewEncoder(w).Encode(page))
}

func (f *fakeOkta) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func env(vars map[string]string) idp.Option {
	return idp.WithGetenv(func(k string) string { return vars[k] })
}

func oktaEnv() idp.Option { return env(map[string]string{idp.EnvOktaToken: oktaToken}) }

func TestOktaLiveReadsEveryPageAndTheDeactivatedUsers(t *testing.T) {
	f := newFakeOkta(t, 3)
	d, err := idp.Load(context.Background(), f.spec(), oktaEnv(), fastRetry)
	require.NoError(t, err)
	assert.Equal(t, idp.FormatOktaAPI, d.Format)
	assert.Equal(t, "okta:"+f.srv.URL, d.Source)
	// 14 users in pages of 3, then 2 deactivated users on one page
	assert.Equal(t, 5+1, f.count())
	require.Len(t, d.People, 16)

	file, err := idp.Load(context.Background(), testdata("okta-users.json"))
	require.NoError(t, err)
	assert.ElementsMatch(t, file.People, d.People)
	assert.Equal(t, idp.CanonicalDigest(file.People), d.Digest)
	for i := 1; i < len(d.People); i++ {
		assert.Less(t, d.People[i-1].Email, d.People[i].Email, "live people are sorted")
	}
	pending := person(t, d, "pending.one@acme.test")
	assert.Equal(t, "DEPROVISIONED", pending.Status)

	// the digest does not depend on the page size
	g := newFakeOkta(t, 100)
	d2, err := idp.Load(context.Background(), g.spec(), oktaEnv(), fastRetry)
	require.NoError(t, err)
	assert.Equal(t, d.Digest, d2.Digest)
}

func TestOktaTokenFromAFile(t *testing.T) {
	f := newFakeOkta(t, 50)
	path := filepath.Join(t.TempDir(), "okta-token")
	require.NoError(t, os.WriteFile(path, []byte(oktaToken+"\n"), 0o600))
	d, err := idp.Load(context.Background(), f.spec(), idp.WithOktaTokenFile(path), env(map[string]string{idp.EnvOktaToken: "ignored"}))
	require.NoError(t, err)
	assert.Len(t, d.People, 16)

	_, err = idp.Load(context.Background(), f.spec(), idp.WithOktaTokenFile(filepath.Join(t.TempDir(), "missing")))
	assert.ErrorIs(t, err, idp.ErrBadSource)
	_, err = idp.Load(context.Background(), f.spec(), env(nil))
	require.ErrorIs(t, err, idp.ErrBadSource)
	assert.Contains(t, err.Error(), idp.EnvOktaToken)
	assert.Equal(t, 2, f.count(), "no request without a token")
}

func TestOktaRefusedToken(t *testing.T) {
	f := newFakeOkta(t, 50)
	wrong := "00wrongTOKENvalue"
	d, err := idp.Load(context.Background(), f.spec(), env(map[string]string{idp.EnvOktaToken: wrong}), fastRetry)
	require.Error(t, err)
	assert.Nil(t, d)
	assert.ErrorIs(t, err, idp.ErrAuth)
	assert.ErrorIs(t, err, idp.ErrIncomplete)
	var he *idp.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusUnauthorized, he.Code)
	assert.Contains(t, err.Error(), "Invalid token provided")
	assert.Contains(t, err.Error(), "$"+idp.EnvOktaToken)
	assert.NotContains(t, err.Error(), wrong)
	assert.Equal(t, 1, f.count(), "a 401 is not retried")
}

func TestOktaRetries(t *testing.T) {
	tests := []struct {
		name     string
		fault    fault
		requests int
		slow     time.Duration // the least the load takes
	}{
		{
			name: "429 with Retry-After",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n == 2 {
					w.Header().Set("Retry-After", "1")
					w.Header().Set("X-Rate-Limit-Remaining", "0")
					w.WriteHeader(http.StatusTooManyRequests)
					fmt.Fprint(w, `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}`)
					return true
				}
				return false
			},
			requests: 7,
			slow:     time.Second,
		},
		{
			name: "5xx twice",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n == 3 || n == 4 {
					w.WriteHeader(http.StatusBadGateway)
					return true
				}
				return false
			},
			requests: 8,
		},
		{
			name: "a dropped connection",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n == 1 {
					conn, _, err := w.(http.Hijacker).Hijack()
					require.NoError(t, err)
					conn.Close()
					return true
				}
				return false
			},
			requests: 7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, 3)
			f.fault = tt.fault
			start := time.Now()
			d, err := idp.Load(context.Background(), f.spec(), oktaEnv(), fastRetry)
			require.NoError(t, err)
			assert.Len(t, d.People, 16)
			assert.Equal(t, tt.requests, f.count())
			assert.GreaterOrEqual(t, time.Since(start), tt.slow)
		})
	}
}

func TestOktaFailureMidwayReturnsNoDirectory(t *testing.T) {
	tests := []struct {
		name  string
		fault fault
		wants []string
		auth  bool
	}{
		{
			name: "page 3 keeps failing",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Query().Get("after") == "6" {
					w.WriteHeader(http.StatusInternalServerError)
					fmt.Fprint(w, `{"errorCode":"E0000009","errorSummary":"Internal Server Error"}`)
					return true
				}
				return false
			},
			wants: []string{"user list", "page 3 (after 6 users)", "after 4 attempts", "HTTP 500", "Internal Server Error"},
		},
		{
			name: "the deactivated list is refused",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Query().Get("filter") != "" {
					w.WriteHeader(http.StatusForbidden)
					fmt.Fprint(w, `{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action"}`)
					return true
				}
				return false
			},
			wants: []string{"list of deactivated users", "HTTP 403", "permission"},
			auth:  true,
		},
		{
			name: "a rate limit too long to wait",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n == 2 {
					w.Header().Set("Retry-After", "3600")
					w.WriteHeader(http.StatusTooManyRequests)
					return true
				}
				return false
			},
			wants: []string{"page 2", "HTTP 429", "asks to wait 1h0m0s"},
		},
		{
			name: "a next link to another host",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.Header().Set("Link", `<https://evil.test/api/v1/users?after=3>; rel="next"`)
				fmt.Fprint(w, `[]`)
				return true
			},
			wants: []string{"page 1", "another host (evil.test)"},
		},
		{
			name: "a next link that loops",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.Header().Set("Link", `</api/v1/users?after=3&limit=200>; rel="next"`)
				fmt.Fprint(w, `[]`)
				return true
			},
			wants: []string{"page 2", "repeats an earlier page"},
		},
		{
			name: "a page that is not JSON",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				fmt.Fprint(w, `<html>maintenance</html>`)
				return true
			},
			wants: []string{"page 1: not a list of users"},
		},
		{
			name: "a server that echoes the token",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"errorSummary":"bad header %s"}`, r.Header.Get("Authorization"))
				return true
			},
			wants: []string{"HTTP 400", "bad header SSWS …"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOkta(t, 3)
			f.fault = tt.fault
			d, err := idp.Load(context.Background(), f.spec(), oktaEnv(), fastRetry, idp.WithMaxRetryAfter(time.Minute))
			require.Error(t, err)
			assert.Nil(t, d)
			assert.ErrorIs(t, err, idp.ErrIncomplete)
			assert.Equal(t, tt.auth, isAuth(err))
			assert.NotContains(t, err.Error(), oktaToken)
			for _, w := range tt.wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func isAuth(err error) bool { return errors.Is(err, idp.ErrAuth) }

func TestOktaCancelledDuringARetryWait(t *testing.T) {
	f := newFakeOkta(t, 3)
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Retry-After", "90")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	d, err := idp.Load(ctx, f.spec(), oktaEnv(), fastRetry)
	require.Error(t, err)
	assert.Nil(t, d)
	assert.Less(t, time.Since(start), 60*time.Second, "the deadline, not the 90s Retry-After, ended it")
	assert.ErrorIs(t, err, idp.ErrIncomplete)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "HTTP 429")
}

// fakeGraph serves the Microsoft identity platform's token endpoint and
// Graph's user list, from testdata/graph-users-page1.json and page2.
type fakeGraph struct {
	t      *testing.T
	srv    *httptest.Server
	tenant string
	pages  [2][]byte
	fault  fault

	mu       sync.Mutex
	requests []string
}

func newFakeGraph(t *testing.T) *fakeGraph {
	g := &fakeGraph{t: t, tenant: "acmetest.onmicrosoft.com"}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	for i, name := range []string{"graph-users-page1.json", "graph-users-page2.json"} {
		data, err := os.ReadFile(testdata(name))
		require.NoError(t, err)
		g.pages[i] = []byte(strings.ReplaceAll(string(data), "https://graph.microsoft.com", g.srv.URL))
	}
	return g
}

func (g *fakeGraph) opts(extra ...idp.Option) []idp.Option {
	return append([]idp.Option{
		idp.WithGraphLoginURL(g.srv.URL), idp.WithGraphBaseURL(g.srv.URL), fastRetry,
		env(map[string]string{idp.EnvAzureClientID: clientID, idp.EnvAzureClientSecret: clientSecret}),
	}, extra...)
}

func (g *fakeGraph) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.requests)
}

func (g *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests = append(g.requests, r.Method+" "+r.URL.RequestURI())
	n := len(g.requests)
	g.mu.Unlock()
	if g.fault != nil && g.fault(w, r, n) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/"+g.tenant+"/oauth2/v2.0/token":
		require.NoError(g.t, r.ParseForm())
		assert.Equal(g.t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
		assert.Equal(g.t, "client_credentials", r.PostForm.Get("grant_type"))
		assert.Equal(g.t, "https://graph.microsoft.com/.default", r.PostForm.Get("scope"))
		if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1","error_codes":[7000215]}`)
			return
		}
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":%q}`, accessToken)
	case r.Method == http.MethodGet && r.URL.Path == "/v1.0/users":
		if r.Header.Get("Authorization") != "Bearer "+accessToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token is empty."}}`)
			return
		}
		q := r.URL.Query()
		assert.Equal(g.t, "id,displayName,mail,userPrincipalName,accountEnabled,otherMails,proxyAddresses,userType", q.Get("$select"))
		assert.Equal(g.t, "999", q.Get("$top"))
		if q.Get("$skiptoken") == "" {
			w.Write(g.pages[0])
		} else {
			w.Write(g.pages[1])
		}
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"code":"Request_ResourceNotFound","message":"not found"}}`)
	}
}

func TestGraphLiveReadsEveryPage(t *testing.T) {
	g := newFakeGraph(t)
	d, err := idp.Load(context.Background(), "entra:"+g.tenant, g.opts()...)
	require.NoError(t, err)
	assert.Equal(t, idp.FormatGraphAPI, d.Format)
	assert.Equal(t, "entra:acmetest.onmicrosoft.com", d.Source)
	assert.Equal(t, 3, g.count(), "a token and two pages")

	file, err := idp.Load(context.Background(), testdata("graph-users.json"))
	require.NoError(t, err)
	assert.ElementsMatch(t, file.People, d.People)
	assert.Equal(t, idp.CanonicalDigest(file.People), d.Digest)
	assert.True(t, person(t, d, "robert.oneil@acme.test").Active)
}

func TestGraphSecretFileAndClientIDOption(t *testing.T) {
	g := newFakeGraph(t)
	path := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(path, []byte(clientSecret+"\n"), 0o600))
	d, err := idp.Load(context.Background(), "entra:"+g.tenant,
		append(g.opts(), env(nil), idp.WithEntraClientID(clientID), idp.WithEntraSecretFile(path))...)
	require.NoError(t, err)
	assert.Len(t, d.People, 15)
}

// TestSecretFilesAreReadUnderTheSecretPolicy: a token or client-secret
// file that group or others may read is refused, naming the file and the
// fix, before any request to any source: LoadAll reads every live
// source's secret first, and CheckCredentials sends nothing at all.
func TestSecretFilesAreReadUnderTheSecretPolicy(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	oktaOpen := write("okta-open", oktaToken+"\n", 0o644)
	entraOpen := write("entra-open", clientSecret+"\n", 0o640)
	entraLink := filepath.Join(dir, "entra-link")
	require.NoError(t, os.Symlink(entraOpen, entraLink))
	okta := newFakeOkta(t, 50)
	graph := newFakeGraph(t)
	tests := []struct {
		name   string
		specs  []string
		opts   []idp.Option
		path   string
		reason error
		kind   string
	}{
		{name: "Okta token readable by others", specs: []string{okta.spec()},
			opts: []idp.Option{idp.WithOktaTokenFile(oktaOpen), env(map[string]string{idp.EnvOktaToken: oktaToken})},
			path: oktaOpen, reason: secret.ErrPermissive, kind: "Okta API token file"},
		{name: "Okta token file missing", specs: []string{okta.spec()},
			opts: []idp.Option{idp.WithOktaTokenFile(filepath.Join(dir, "missing"))},
			path: filepath.Join(dir, "missing"), reason: secret.ErrNotFound, kind: "Okta API token file"},
		{name: "Entra secret readable by the group", specs: []string{"entra:" + graph.tenant},
			opts: graph.opts(env(map[string]string{idp.EnvAzureClientID: clientID}), idp.WithEntraSecretFile(entraOpen)),
			path: entraOpen, reason: secret.ErrPermissive, kind: "Entra client secret file"},
		{name: "Entra secret through a link to a group-readable file", specs: []string{"entra:" + graph.tenant},
			opts: graph.opts(env(map[string]string{idp.EnvAzureClientID: clientID}), idp.WithEntraSecretFile(entraLink)),
			path: entraLink, reason: secret.ErrPermissive, kind: "Entra client secret file"},
		{name: "Okta first, then a refused Entra secret", specs: []string{okta.spec(), "entra:" + graph.tenant},
			opts: graph.opts(env(map[string]string{idp.EnvOktaToken: oktaToken, idp.EnvAzureClientID: clientID}), idp.WithEntraSecretFile(entraOpen)),
			path: entraOpen, reason: secret.ErrPermissive, kind: "Entra client secret file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, err := range map[string]error{
				"LoadAll":          func() error { _, err := idp.LoadAll(context.Background(), tt.specs, tt.opts...); return err }(),
				"CheckCredentials": idp.CheckCredentials(tt.specs, tt.opts...),
			} {
				require.ErrorIs(t, err, idp.ErrBadSource, name)
				assert.ErrorIs(t, err, tt.reason, name)
				assert.Contains(t, err.Error(), tt.kind+" "+tt.path, name)
				if tt.reason == secret.ErrPermissive {
					assert.Contains(t, err.Error(), "chmod 600 "+tt.path, name)
				}
				assert.NotContains(t, err.Error(), oktaToken, name)
				assert.NotContains(t, err.Error(), clientSecret, name)
			}
			assert.Zero(t, okta.count(), "no request to Okta")
			assert.Zero(t, graph.count(), "no request to Graph")
		})
	}
	require.NoError(t, idp.CheckCredentials([]string{okta.spec(), testdata("graph-users.json")}, oktaEnv()))
	assert.Zero(t, okta.count(), "CheckCredentials sends nothing")
}

func TestGraphMissingCredentials(t *testing.T) {
	g := newFakeGraph(t)
	_, err := idp.Load(context.Background(), "entra:"+g.tenant, append(g.opts(), env(map[string]string{idp.EnvAzureClientSecret: clientSecret}))...)
	require.ErrorIs(t, err, idp.ErrBadSource)
	assert.Contains(t, err.Error(), idp.EnvAzureClientID)
	_, err = idp.Load(context.Background(), "entra:"+g.tenant, append(g.opts(), env(map[string]string{idp.EnvAzureClientID: clientID}))...)
	require.ErrorIs(t, err, idp.ErrBadSource)
	assert.Contains(t, err.Error(), idp.EnvAzureClientSecret)
	assert.Zero(t, g.count())
}

func TestGraphFailures(t *testing.T) {
	tests := []struct {
		name  string
		opts  []idp.Option
		fault fault
		auth  bool
		wants []string
	}{
		{
			name:  "a wrong secret",
			opts:  []idp.Option{env(map[string]string{idp.EnvAzureClientID: clientID, idp.EnvAzureClientSecret: "wrong-secret-value"})},
			auth:  true,
			wants: []string{"token request", "HTTP 401", "invalid_client", "$AZURE_CLIENT_ID and $AZURE_CLIENT_SECRET"},
		},
		{
			name: "an unknown tenant",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error":"invalid_request","error_description":"AADSTS90002: Tenant not found."}`)
				return true
			},
			auth:  true,
			wants: []string{"token request", "HTTP 400", "invalid_request"},
		},
		{
			name: "no permission to read users",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.Method == http.MethodGet {
					w.WriteHeader(http.StatusForbidden)
					fmt.Fprint(w, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)
					return true
				}
				return false
			},
			auth:  true,
			wants: []string{"user list", "page 1", "HTTP 403", "Authorization_RequestDenied: Insufficient privileges", "User.Read.All"},
		},
		{
			name: "page 2 keeps failing",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Query().Get("$skiptoken") != "" {
					w.WriteHeader(http.StatusServiceUnavailable)
					fmt.Fprintf(w, `{"error":{"code":"serviceNotAvailable","message":"try later; your token %s"}}`, r.Header.Get("Authorization"))
					return true
				}
				return false
			},
			wants: []string{"page 2 (after 7 users)", "after 4 attempts", "HTTP 503", "serviceNotAvailable", "your token Bearer …"},
		},
		{
			name: "a token endpoint that keeps failing",
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.WriteHeader(http.StatusInternalServerError)
				return true
			},
			wants: []string{"token request", "after 4 attempts", "HTTP 500"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newFakeGraph(t)
			g.fault = tt.fault
			d, err := idp.Load(context.Background(), "entra:"+g.tenant, g.opts(tt.opts...)...)
			require.Error(t, err)
			assert.Nil(t, d)
			assert.ErrorIs(t, err, idp.ErrIncomplete)
			assert.Equal(t, tt.auth, isAuth(err))
			for _, secret := range []string{clientSecret, "wrong-secret-value", accessToken} {
				assert.NotContains(t, err.Error(), secret)
			}
			for _, w := range tt.wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestGraphNextLinkToAnotherHostIsRefused(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the token reached another host: %s", r.Header.Get("Authorization"))
	}))
	defer other.Close()
	g := newFakeGraph(t)
	g.pages[0] = []byte(strings.ReplaceAll(string(g.pages[0]), g.srv.URL, other.URL))
	_, err := idp.Load(context.Background(), "entra:"+g.tenant, g.opts()...)
	require.ErrorIs(t, err, idp.ErrIncomplete)
	u, _ := url.Parse(other.URL)
	assert.Contains(t, err.Error(), "another host ("+u.Host+")")
}

func TestRetriesAreLogged(t *testing.T) {
	f := newFakeOkta(t, 50)
	f.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"errorSummary":"overloaded (%s)"}`, r.Header.Get("Authorization"))
			return true
		}
		return false
	}
	core, logs := observer.New(zap.DebugLevel)
	_, err := idp.Load(context.Background(), f.spec(), oktaEnv(), fastRetry, idp.WithLogger(zap.New(core)))
	require.NoError(t, err)
	warns := logs.FilterLevelExact(zap.WarnLevel).All()
	require.Len(t, warns, 1)
	assert.Contains(t, warns[0].ContextMap()["error"], "HTTP 503")
	assert.Equal(t, "okta:"+f.srv.URL, warns[0].ContextMap()["source"])
	assert.Len(t, logs.FilterMessage("identity provider page read").All(), 2)
	for _, e := range logs.All() {
		for _, v := range e.ContextMap() {
			assert.NotContains(t, fmt.Sprint(v), oktaToken)
		}
	}
}
