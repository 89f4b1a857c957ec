package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/scim"
)

const token = "s3cret-token-for-tests"

// fakeBackend keeps a roster in memory and acts on it as the flows do:
// idempotently, reporting already-invited, already-absent and unchanged.
type fakeBackend struct {
	mu      sync.Mutex
	members map[string]roster.Member
	invites map[string]roster.Invitation
	// calls counts the calls by "op email"; acts counts the ones that
	// changed something.
	calls map[string]int
	acts  map[string]int
	// gate, when set, holds every mutation until it is closed or sent to.
	gate chan struct{}
	// started receives "op email" as each mutation begins.
	started chan string
	// refuse makes every action on an address fail with the error.
	refuse    map[string]error
	rosterErr error
	rosters   int
	// panicOn makes the mutation "op email" panic.
	panicOn string
	// inviteErr, when set, makes an invitation fail when it returns an
	// error, as the page's error would (no seat left, for example).
	inviteErr func(email string, role roster.Role) error
	// rosterGate, when set, holds every roster read until it is closed;
	// rosterHeld receives a value as each held read begins.
	rosterGate chan struct{}
	rosterHeld chan struct{}
}

func newFakeBackend() *fakeBackend {
	b := &fakeBackend{
		members: map[string]roster.Member{},
		invites: map[string]roster.Invitation{},
		calls:   map[string]int{},
		acts:    map[string]int{},
		refuse:  map[string]error{},
	}
	b.addMember("owner@acme.test", "Olive Owner", roster.Admin, true)
	b.addMember("ann@acme.test", "Ann Admin", roster.Admin, false)
	b.addMember("ed@acme.test", "Ed Editor", roster.Editor, false)
	b.invites["ivy@acme.test"] = roster.Invitation{Email: "ivy@acme.test", Role: roster.Viewer}
	return b
}

func (b *fakeBackend) addMember(email, name string, role roster.Role, you bool) {
	b.members[email] = roster.Member{Name: name, Email: email, Role: role, You: you}
}

func (b *fakeBackend) Roster(ctx context.Context) (*roster.Roster, error) {
	b.mu.Lock()
	gate, held := b.rosterGate, b.rosterHeld
	b.mu.Unlock()
	if gate != nil {
		if held != nil {
			held <- struct{}{}
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rosters++
	if b.rosterErr != nil {
		return nil, b.rosterErr
	}
	r := &roster.Roster{Workspace: "acme", CapturedAt: time.Now()}
	for _, m := range b.members {
		r.Members = append(r.Members, m)
	}
	for _, i := range b.invites {
		r.Invitations = append(r.Invitations, i)
	}
	return r, nil
}

// enter counts a call and waits at the gate.
func (b *fakeBackend) enter(ctx context.Context, what string) error {
	b.mu.Lock()
	b.calls[what]++
	gate, started, panics := b.gate, b.started, b.panicOn == what
	b.mu.Unlock()
	if panics {
		panic("boom: " + what)
	}
	if started != nil {
		started <- what
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (b *fakeBackend) Invite(ctx context.Context, _ scim.Request, email string, role roster.Role) (core.Result, error) {
	what := "invite " + email
	if err := b.enter(ctx, what); err != nil {
		return core.Result{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	res := core.Result{Email: email}
	if err := b.refuse[email]; err != nil {
		res.Action, res.Err, res.Detail = core.Refused, err, err.Error()
		return res, nil
	}
	if b.inviteErr != nil {
		if err := b.inviteErr(email, role); err != nil {
			res.Action, res.Err, res.Detail = core.Failed, err, err.Error()
			return res, nil
		}
	}
	if m, ok := b.members[email]; ok {
		res.Action, res.Before.Member = core.AlreadyMember, &m
		return res, nil
	}
	if i, ok := b.invites[email]; ok {
		res.Action, res.Before.Invitation = core.AlreadyInvited, &i
		return res, nil
	}
	b.invites[email] = roster.Invitation{Email: email, Role: role}
	b.acts[what]++
	res.Action, res.Clicked = core.Invited, true
	return res, nil
}

func (b *fakeBackend) Offboard(ctx context.Context, _ scim.Request, email string) (core.Result, error) {
	what := "offboard " + email
	if err := b.enter(ctx, what); err != nil {
		return core.Result{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	res := core.Result{Email: email}
	if err := b.refuse[email]; err != nil {
		res.Action, res.Err, res.Detail = core.Failed, err, err.Error()
		if errors.Is(err, core.ErrRefused) {
			res.Action = core.Refused
		}
		return res, nil
	}
	m, member := b.members[email]
	_, invited := b.invites[email]
	switch {
	case member && m.You:
		err := fmt.Errorf("%w: %s is the signed-in user", core.ErrRefused, email)
		res.Action, res.Err, res.Detail = core.Refused, err, err.Error()
		return res, nil
	case member:
		delete(b.members, email)
		delete(b.invites, email)
		res.Action = core.Removed
	case invited:
		delete(b.invites, email)
		res.Action = core.RevokedInvitation
	default:
		res.Action = core.AlreadyAbsent
		return res, nil
	}
	b.acts[what]++
	return res, nil
}

func (b *fakeBackend) SetRole(ctx context.Context, _ scim.Request, email string, role roster.Role) (core.Result, error) {
	what := "set-role " + email
	if err := b.enter(ctx, what); err != nil {
		return core.Result{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	res := core.Result{Email: email}
	if m, ok := b.members[email]; ok {
		if m.Role == role {
			res.Action = core.Unchanged
			return res, nil
		}
		m.Role = role
		b.members[email] = m
	} else if _, ok := b.invites[email]; ok {
		// as the page: an invitation's role cannot be changed
		err := fmt.Errorf("%w: no member with this email (there is a pending invitation)", errNoSuchMember)
		res.Action, res.Err, res.Detail = core.Failed, err, err.Error()
		return res, nil
	} else {
		err := fmt.Errorf("%w: %s is not in the workspace", core.ErrNotVerified, email)
		res.Action, res.Err, res.Detail = core.Failed, err, err.Error()
		return res, nil
	}
	b.acts[what+" "+string(role)]++
	res.Action = core.RoleChanged
	return res, nil
}

// errNoSuchMember is the fake's failure of a role change of someone who
// is no member.
var errNoSuchMember = errors.New("no such member")

func (b *fakeBackend) Revoke(ctx context.Context, _ scim.Request, email string) (core.Result, error) {
	what := "revoke " + email
	if err := b.enter(ctx, what); err != nil {
		return core.Result{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	res := core.Result{Email: email}
	if err := b.refuse[email]; err != nil {
		res.Action, res.Err, res.Detail = core.Failed, err, err.Error()
		return res, nil
	}
	i, ok := b.invites[email]
	if !ok {
		res.Action = core.AlreadyAbsent
		return res, nil
	}
	delete(b.invites, email)
	b.acts[what]++
	res.Action, res.Before.Invitation = core.RevokedInvitation, &i
	return res, nil
}

// setInviteErr sets inviteErr.
func (b *fakeBackend) setInviteErr(f func(email string, role roster.Role) error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inviteErr = f
}

// setRefuse makes every action on email fail with err (nil: no more).
func (b *fakeBackend) setRefuse(email string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		delete(b.refuse, email)
		return
	}
	b.refuse[email] = err
}

// invitation returns the pending invitation of email, if any.
func (b *fakeBackend) invitation(email string) (roster.Invitation, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, ok := b.invites[email]
	return i, ok
}

func (b *fakeBackend) callCount(what string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[what]
}

func (b *fakeBackend) actCount(what string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.acts[what]
}

func (b *fakeBackend) mutations() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.calls {
		n += c
	}
	return n
}

func (b *fakeBackend) role(email string) roster.Role {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m, ok := b.members[email]; ok {
		return m.Role
	}
	return b.invites[email].Role
}

func (b *fakeBackend) present(email string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, m := b.members[email]
	_, i := b.invites[email]
	return m || i
}

// harness runs a server with its worker.
type harness struct {
	t       testing.TB
	srv     *scim.Server
	handler http.Handler
	be      *fakeBackend
	cfg     scim.Config
	logs    *observer.ObservedLogs
	cancel  context.CancelFunc
	done    chan error
}

// newHarness starts a server on a new state file; mods change the config.
func newHarness(t testing.TB, be *fakeBackend, mods ...func(*scim.Config)) *harness {
	t.Helper()
	cfg, logs := harnessConfig(t, be, mods...)
	return startHarness(t, be, cfg, logs)
}

// harnessConfig returns the config of newHarness and its observed log.
func harnessConfig(t testing.TB, be *fakeBackend, mods ...func(*scim.Config)) (scim.Config, *observer.ObservedLogs) {
	core, logs := observer.New(zap.DebugLevel)
	cfg := scim.Config{
		Backend:      be,
		StatePath:    filepath.Join(t.TempDir(), "state", "scim.db"),
		Token:        []byte(token),
		Workspace:    "acme",
		BaseURL:      "https://scim.example.test",
		MutationWait: 5 * time.Second,
		Logger:       zap.New(core),
		Registry:     prometheus.NewRegistry(),
	}
	for _, m := range mods {
		m(&cfg)
	}
	return cfg, logs
}

func startHarness(t testing.TB, be *fakeBackend, cfg scim.Config, logs *observer.ObservedLogs) *harness {
	t.Helper()
	return startHarnessWith(t, be, cfg, logs, nil)
}

// startHarnessWith is startHarness; prepare, when set, gets the server
// before its worker starts.
func startHarnessWith(t testing.TB, be *fakeBackend, cfg scim.Config, logs *observer.ObservedLogs, prepare func(*scim.Server)) *harness {
	t.Helper()
	srv, err := scim.New(cfg)
	require.NoError(t, err)
	if prepare != nil {
		prepare(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, srv: srv, handler: srv.Handler(), be: be, cfg: cfg, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

// stop cancels the worker, waits for it and closes the server.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(time.Minute):
		h.t.Error("the worker did not stop")
	}
	_ = h.srv.Close()
	h.cancel = nil
}

// response is a recorded answer with its body decoded.
type response struct {
	*httptest.ResponseRecorder
	body map[string]any
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// do sends a request with the bearer token; headers are name, value pairs.
func (h *harness) do(method, path string, body any, headers ...string) response {
	h.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(h.t, err)
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	out := response{ResponseRecorder: rec}
	if rec.Body.Len() > 0 && strings.Contains(rec.Header().Get("Content-Type"), "json") {
		require.NoError(h.t, json.Unmarshal(rec.Body.Bytes(), &out.body), "body: %s", rec.Body.String())
	}
	return out
}

// requireError checks a SCIM error answer.
func requireError(t *testing.T, r response, status int, scimType string) {
	t.Helper()
	require.Equal(t, status, r.Code, "body: %s", r.Body.String())
	require.Equal(t, []any{scim.MessageError}, r.body["schemas"], "body: %s", r.Body.String())
	require.Equal(t, fmt.Sprint(status), r.body["status"])
	require.NotEmpty(t, r.body["detail"])
	if scimType == "" {
		require.NotContains(t, r.body, "scimType")
	} else {
		require.Equal(t, scimType, r.body["scimType"], "detail: %v", r.body["detail"])
	}
}

// resources returns a list answer's resources.
func resources(t *testing.T, r response) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Code, "body: %s", r.Body.String())
	require.Equal(t, []any{scim.MessageListResponse}, r.body["schemas"])
	list, ok := r.body["Resources"].([]any)
	require.True(t, ok, "Resources is a list: %s", r.Body.String())
	out := make([]map[string]any, len(list))
	for i, e := range list {
		out[i] = e.(map[string]any)
	}
	return out
}

func oktaUser(userName, work, given, family, externalID string) map[string]any {
	return map[string]any{
		"schemas":     []string{scim.SchemaUser},
		"userName":    userName,
		"name":        map[string]any{"givenName": given, "familyName": family},
		"emails":      []any{map[string]any{"primary": true, "value": work, "type": "work"}},
		"displayName": given + " " + family,
		"externalId":  externalID,
		"groups":      []any{},
		"active":      true,
	}
}

func patchOps(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{scim.MessagePatchOp}, "Operations": list}
}

// search returns a SearchRequest with the members of m.
func search(m map[string]any) map[string]any {
	out := map[string]any{"schemas": []string{scim.MessageSearchRequest}}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func ext(r response) map[string]any {
	m, _ := r.body[scim.SchemaClayUser].(map[string]any)
	return m
}
