package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
	"github.com/clay-agent/clay-agent/flows"
)

// testApp is an app with env as its only environment and a logger that
// drops everything, for the app's own implementations of a dependency.
func testApp(env map[string]string) *app {
	a := newApp(strings.NewReader(""), io.Discard, io.Discard)
	a.getenv = envOf(env)
	a.log = testLog
	return a
}

// fakeSCIMBackend answers the SCIM service from a set roster and records
// what it was built with and asked.
type fakeSCIMBackend struct {
	mu       sync.Mutex
	roster   *roster.Roster
	invited  []string
	closed   bool
	policy   flows.Policy
	lockPath string
}

func (b *fakeSCIMBackend) Roster(context.Context) (*roster.Roster, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := *b.roster
	return &c, nil
}

func (b *fakeSCIMBackend) Invite(_ context.Context, _ scim.Request, email string, role roster.Role) (core.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.invited = append(b.invited, email)
	b.roster.Invitations = append(b.roster.Invitations, roster.Invitation{Email: email, Role: role})
	return core.Result{Email: email, Action: core.Invited}, nil
}

func (b *fakeSCIMBackend) Offboard(_ context.Context, _ scim.Request, email string) (core.Result, error) {
	return core.Result{Email: email, Action: core.Removed}, nil
}

func (b *fakeSCIMBackend) SetRole(_ context.Context, _ scim.Request, email string, _ roster.Role) (core.Result, error) {
	return core.Result{Email: email, Action: core.RoleChanged}, nil
}

func (b *fakeSCIMBackend) Revoke(_ context.Context, _ scim.Request, email string) (core.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.roster.Invitations[:0]
	for _, inv := range b.roster.Invitations {
		if inv.Email != email {
			kept = append(kept, inv)
		}
	}
	b.roster.Invitations = kept
	return core.Result{Email: email, Action: core.RevokedInvitation}, nil
}

func (b *fakeSCIMBackend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
}

// scimRunEnv is scim serve's Options over a fake backend and token, with
// the state and the audit log in a scratch directory.
type scimRunEnv struct {
	o        *scimServeOptions
	backend  *fakeSCIMBackend
	built    int
	opened   []string // the audit logs opened
	listener *recordingListener
	out      *lockedBuffer
	tmp      string
}

func newSCIMRunEnv(t *testing.T) *scimRunEnv {
	t.Helper()
	st, out, _ := lockedStreams()
	tmp := t.TempDir()
	e := &scimRunEnv{backend: &fakeSCIMBackend{roster: seedRoster()}, listener: &recordingListener{}, out: out, tmp: tmp}
	e.o = &scimServeOptions{streams: st, listen: "127.0.0.1:0", stateDir: filepath.Join(tmp, "scim"),
		maxRosterAge: time.Minute, mutationWait: 10 * time.Second, defaultRole: "Editor", emailFrom: "work", conflict: "error",
		maxRemovalsPerHour: 10, rate: 100, burst: 100, lockDir: filepath.Join(tmp, "locks"), lockTimeout: time.Second,
		auditLog:     filepath.Join(tmp, "audit.jsonl"),
		getenv:       noEnv,
		auditKey:     noAuditKey,
		checkConfig:  func() error { return nil },
		readToken:    func(string) ([]byte, error) { return []byte(scimToken), nil },
		check:        checkOK("1234"),
		auditLogPath: func(flagValue string) string { return flagValue },
		openAudit: func(path, _ string, opts ...audit.Option) (*audit.Log, error) {
			e.opened = append(e.opened, path)
			return audit.Open(path, opts...)
		},
		newBackend: func(_ *zap.Logger, _ *audit.Log, policy flows.Policy, lockPath string, _ time.Duration) scimServiceBackend {
			e.built++
			e.backend.policy, e.backend.lockPath = policy, lockPath
			return e.backend
		},
		listenOn: e.listener.listen,
		now:      time.Now,
		log:      testLog,
	}
	return e
}

var scimRunServingRE = regexp.MustCompile(`serving SCIM 2.0 on (http://\S+/scim/v2) for workspace 1234 \(state in `)

// TestRunSCIMServeRefusesMissingToken: without a bearer token (or with
// one too short to be random) scim serve stops at once: no session
// check, no store, no audit log, no browser, no listener.
func TestRunSCIMServeRefusesMissingToken(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no token":      nil,
		"a short token": {envSCIMToken: "0123456789"},
		"a blank token": {envSCIMToken: "   "},
	} {
		t.Run(name, func(t *testing.T) {
			e := newSCIMRunEnv(t)
			e.o.readToken = testApp(env).readSCIMToken
			checked := false
			e.o.check = func() (string, error) { checked = true; return "1234", nil }
			err := scimServeRun(t.Context(), e.o)
			require.ErrorIs(t, err, agent.ErrUsage)
			assert.ErrorContains(t, err, "token")
			assert.False(t, checked, "the token is checked first")
			assert.NoDirExists(t, e.o.stateDir)
			assert.Empty(t, e.opened, "no audit log opened")
			assert.Zero(t, e.built, "no backend, no browser")
			assert.Empty(t, e.listener.asked())
			assert.Empty(t, e.out.String())
		})
	}
}

// TestRunSCIMServeStopsBeforeServing: a session that does not pass, an
// audit log that cannot be opened and an address it cannot listen on
// each stop the service before it serves, and what was opened is closed.
func TestRunSCIMServeStopsBeforeServing(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(e *scimRunEnv)
		want    error
		store   bool // whether the state directory was made
		backend bool // whether the backend was built
	}{
		{name: "expired session", want: agent.ErrLoginRequired, edit: func(e *scimRunEnv) {
			e.o.check = func() (string, error) { return "", fmt.Errorf("%w: expired", agent.ErrLoginRequired) }
		}},
		{name: "an audit log that is a directory", want: audit.ErrNotRegular, store: true, edit: func(e *scimRunEnv) {
			e.o.auditLog = e.tmp
		}},
		{name: "address in use", want: agent.ErrUsage, store: true, backend: true, edit: func(e *scimRunEnv) {
			e.listener.err = errors.New("address already in use")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newSCIMRunEnv(t)
			tc.edit(e)
			err := scimServeRun(t.Context(), e.o)
			require.ErrorIs(t, err, tc.want)
			if tc.store {
				assert.DirExists(t, e.o.stateDir)
			} else {
				assert.NoDirExists(t, e.o.stateDir)
			}
			assert.Equal(t, tc.backend, e.built == 1)
			assert.Equal(t, tc.backend, e.backend.closed, "a backend built is closed")
			assert.Empty(t, e.out.String(), "it never said it serves")
		})
	}
}

// TestRunSCIMServeAnswersFromTheBackend: the service answers SCIM with
// the backend's roster, only with the token, serves /metrics beside it,
// and closes the backend when it stops.
func TestRunSCIMServeAnswersFromTheBackend(t *testing.T) {
	e := newSCIMRunEnv(t)
	e.o.allowDomains = []string{"acme.test"}
	run := runInBackground(t, func(ctx context.Context) error { return scimServeRun(ctx, e.o) })
	base := waitFor(t, e.out, scimRunServingRE)
	assert.Contains(t, e.out.String(), "(state in "+e.o.stateDir+")")

	code, list := scimCall(t, base, "GET", "/Users?filter="+urlQuery(`userName eq "john.smith@acme.test"`), nil, scimToken)
	require.Equal(t, http.StatusOK, code, list)
	assert.EqualValues(t, 1, list["totalResults"])
	code, _ = scimCall(t, base, "GET", "/Users", nil, "")
	assert.Equal(t, http.StatusUnauthorized, code)
	// the worker runs: a change goes through the backend
	code, created := scimCall(t, base, "POST", "/Users", newUser("new.hire@acme.test", "New", "Hire"), scimToken)
	assert.Equal(t, http.StatusCreated, code, created)
	e.backend.mu.Lock()
	assert.Equal(t, []string{"new.hire@acme.test"}, e.backend.invited)
	e.backend.mu.Unlock()
	resp, err := http.Get(strings.TrimSuffix(base, "/scim/v2") + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "go_goroutines")

	require.NoError(t, run.stop(t))
	assert.True(t, e.backend.closed)
	assert.Equal(t, []string{e.o.auditLog}, e.opened)
	assert.Equal(t, flows.Policy{MaxRemovals: 10, AllowDomains: []string{"acme.test"}}, e.backend.policy)
	assert.Equal(t, lock.PathFor(filepath.Join(e.tmp, "locks"), "1234"), e.backend.lockPath)
	assert.FileExists(t, filepath.Join(e.o.stateDir, "scim.db"))
}

// addrListener is a listener that says it listens on addr.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }

// TestRunSCIMServeWarnsOfPlainHTTPOffLoopback: plain HTTP on an address
// other machines reach is served with a warning; on the loopback
// interface, or with TLS asked for, it is not.
func TestRunSCIMServeWarnsOfPlainHTTPOffLoopback(t *testing.T) {
	for _, tc := range []struct {
		name string
		ip   string
		warn bool
	}{{"loopback", "127.0.0.1", false}, {"any interface", "0.0.0.0", true}, {"a LAN address", "10.1.2.3", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSCIMRunEnv(t)
			core, logs := observer.New(zapcore.WarnLevel)
			e.o.log = zap.New(core)
			e.o.listenOn = func(string) (net.Listener, error) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				return addrListener{Listener: ln, addr: &net.TCPAddr{IP: net.ParseIP(tc.ip), Port: 8443}}, err
			}
			run := runInBackground(t, func(ctx context.Context) error { return scimServeRun(ctx, e.o) })
			require.Eventually(t, func() bool { return strings.Contains(e.out.String(), "serving SCIM 2.0 on http://"+tc.ip) },
				20*time.Second, 10*time.Millisecond, e.out.String())
			require.NoError(t, run.stop(t))
			assert.Equal(t, tc.warn, logs.FilterMessageSnippet("plain HTTP on a non-loopback address").Len() == 1)
		})
	}
}

// TestRunSCIMServeRefusesBadSettings: every setting is checked before the
// service starts; a bad one is a usage error.
func TestRunSCIMServeRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name string
		edit func(o *scimServeOptions)
	}{
		{"listen without a port", func(o *scimServeOptions) { o.listen = "localhost" }},
		{"a certificate without its key", func(o *scimServeOptions) { o.tlsCert = "tls.crt" }},
		{"no token named", func(o *scimServeOptions) { o.tokenFile = "" }},
		{"an unknown default role", func(o *scimServeOptions) { o.defaultRole = "owner" }},
		{"an unknown email source", func(o *scimServeOptions) { o.emailFrom = "home" }},
		{"an unknown conflict mode", func(o *scimServeOptions) { o.conflict = "merge" }},
		{"no removals per hour", func(o *scimServeOptions) { o.maxRemovalsPerHour = 0 }},
		{"no roster age", func(o *scimServeOptions) { o.maxRosterAge = 0 }},
		{"a negative lock timeout", func(o *scimServeOptions) { o.lockTimeout = -time.Second }},
		{"no rate", func(o *scimServeOptions) { o.rate = 0 }},
		{"an allowed domain that is none", func(o *scimServeOptions) { o.allowDomains = []string{"*"} }},
		{"a bad webhook", func(o *scimServeOptions) { o.webhookURL = "mailto:ops@acme.test" }},
		{"a bad configuration", func(o *scimServeOptions) {
			o.checkConfig = func() error { return fmt.Errorf("%w: no workspace", agent.ErrUsage) }
		}},
	}
	valid := func() *scimServeOptions {
		o := newSCIMRunEnv(t).o
		o.tokenFile = "/run/secrets/scim-token"
		return o
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.edit(o)
			require.ErrorIs(t, o.validate(), agent.ErrUsage)
		})
	}
	o := valid()
	o.tokenFile, o.getenv = "", envOf(map[string]string{envSCIMToken: scimToken})
	o.emailFrom, o.conflict, o.defaultRole = "username", "existing", "viewer"
	require.NoError(t, o.validate())
	assert.Equal(t, scim.EmailUserName, o.from)
	assert.Equal(t, scim.ConflictReturnExisting, o.existing)
	assert.Equal(t, roster.Viewer, o.role)
}
