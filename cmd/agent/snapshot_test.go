package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/audit"
	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/webhook"
	"github.com/clay-agent/clay-agent/fixtures"
)

// webhookRecorder is a webhook endpoint that answers every post with one
// status and keeps the bodies.
type webhookRecorder struct {
	*httptest.Server
	mu      sync.Mutex
	status  int
	bodies  [][]byte
	headers []http.Header
}

func newWebhookRecorder(t *testing.T, status int) *webhookRecorder {
	t.Helper()
	w := &webhookRecorder{status: status}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies = append(w.bodies, body)
		w.headers = append(w.headers, r.Header.Clone())
		w.mu.Unlock()
		rw.WriteHeader(w.status)
	}))
	t.Cleanup(w.Close)
	return w
}

// posts returns the bodies received so far.
func (w *webhookRecorder) posts() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.bodies)
}

// snapshotFileRE is the name of a snapshot of the fixture's workspace.
var snapshotFileRE = regexp.MustCompile(`^1234-\d{8}T\d{6}Z(-\d+)?\.json$`)

// snapshotJSON is the -o json output of snapshot and diff.
type snapshotJSON struct {
	Snapshot string              `json:"snapshot"`
	Previous string              `json:"previous"`
	Changes  snapshot.Changes    `json:"changes"`
	Audit    *snapshot.AuditHead `json:"audit"`
}

func decodeSnapshotJSON(t *testing.T, stdout string) snapshotJSON {
	t.Helper()
	var out snapshotJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&out), stdout)
	return out
}

// dirNames lists the names in dir, hidden and temporary files included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// assertNoTempFiles fails if dir holds a temporary file of an atomic
// write.
func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	require.NoError(t, err)
	for _, de := range des {
		assert.False(t, fsutil.IsTemp(de.Name()), "temporary file left behind: %s", de.Name())
	}
}

// assertSnapshotFile checks a snapshot file's name, mode and content.
func assertSnapshotFile(t *testing.T, dir, path string, members, invitations int) {
	t.Helper()
	assert.Equal(t, dir, filepath.Dir(path))
	assert.Regexp(t, snapshotFileRE, filepath.Base(path))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, snapshot.FileMode, st.Mode().Perm())
	r, err := snapshot.Load(path)
	require.NoError(t, err)
	assert.Equal(t, "1234", r.Workspace)
	assert.Len(t, r.Members, members)
	assert.Len(t, r.Invitations, invitations)
	assert.WithinDuration(t, time.Now(), r.CapturedAt, time.Minute)
}

func TestSnapshotTwiceReportsTheChangesAndPostsThem(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionGrid))
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	dir := filepath.Join(e.Dir, "snapshots")
	hook := newWebhookRecorder(t, http.StatusNoContent)
	env := map[string]string{webhook.EnvURL: hook.URL + "/hooks/secret-token"}
	snap := func(extra ...string) cliResult {
		t.Helper()
		args := append(append([]string{"snapshot", "--dir", dir}, e.globals()...), extra...)
		return runApp(t.Context(), env, "", args...)
	}
	seedMembers, seedInvitations := len(e.Server.Members()), len(e.Server.Invitations())

	// 1: the baseline. Everything counts as added; nothing is posted.
	r := snap("-o", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	first := decodeSnapshotJSON(t, r.stdout)
	assert.Empty(t, first.Previous)
	assert.Len(t, first.Changes.Added, seedMembers)
	assert.Len(t, first.Changes.Invited, seedInvitations)
	assertSnapshotFile(t, dir, first.Snapshot, seedMembers, seedInvitations)
	assert.Empty(t, hook.posts(), "the first snapshot is a baseline, not a change")
	firstData, err := os.ReadFile(first.Snapshot)
	require.NoError(t, err)

	// Between the runs: a role change, a rename, an email that changes
	// case only, a removal, an addition, an invitation gone, a new one.
	ms := e.Server.Members()
	ms = slices.DeleteFunc(ms, func(m fixtures.Member) bool { return m.Email == "priya.nair@acme.test" })
	for i := range ms {
		switch ms[i].Email {
		case "john.smith@acme.test":
			ms[i].Role = fixtures.RoleAdmin
		case "bob.oneil@acme.test":
			ms[i].Name = "Bob O'Neil"
		case "Jo.Park@Acme.test":
			ms[i].Email = "jo.park@acme.test"
		}
	}
	ms = append(ms, fixtures.Member{ID: 900, Name: "Nia Okafor", Email: "nia.okafor@acme.test", Role: fixtures.RoleViewer})
	e.Server.SetMembers(ms)
	invs := slices.DeleteFunc(e.Server.Invitations(), func(i fixtures.Invitation) bool { return i.Email == "pending.one@acme.test" })
	e.Server.SetInvitations(append(invs, fixtures.Invitation{ID: 600, Email: "later@acme.test", Role: fixtures.RoleEditor}))

	// 2: the changes, in JSON and posted once.
	r = snap("-o", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	second := decodeSnapshotJSON(t, r.stdout)
	assert.NotEqual(t, first.Snapshot, second.Snapshot)
	assertSnapshotFile(t, dir, second.Snapshot, seedMembers, seedInvitations)
	wantChanges := `{
		"added": [{"name": "Nia Okafor", "email": "nia.okafor@acme.test", "role": "Viewer", "you": false}],
		"removed": [{"name": "Priya Nair", "email": "priya.nair@acme.test", "role": "Viewer", "you": false}],
		"role_changed": [{"email": "john.smith@acme.test", "from": "Editor", "to": "Admin"}],
		"renamed": [{"email": "bob.oneil@acme.test", "from": "Robert \"Bob\" O'Neil", "to": "Bob O'Neil"}],
		"invited": [{"email": "later@acme.test", "role": "Editor"}],
		"invitation_gone": [{"email": "pending.one@acme.test", "role": "Editor"}],
		"unreadable": []
	}`
	assert.JSONEq(t, fmt.Sprintf(`{"snapshot": %s, "previous": %s, "changes": %s}`,
		jsonString(t, second.Snapshot), jsonString(t, first.Snapshot), wantChanges), r.stdout)
	after, err := os.ReadFile(first.Snapshot)
	require.NoError(t, err)
	assert.Equal(t, firstData, after, "an earlier snapshot is never rewritten")

	posts := hook.posts()
	require.Len(t, posts, 1, "one post for one change set")
	var payload map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(posts[0], &payload))
	assert.ElementsMatch(t, []string{"text", "workspace", "snapshot", "previous", "changes"}, keys(payload))
	assert.JSONEq(t, wantChanges, string(payload["changes"]))
	assert.JSONEq(t, jsonString(t, second.Snapshot), string(payload["snapshot"]))
	assert.JSONEq(t, jsonString(t, first.Snapshot), string(payload["previous"]))
	assert.JSONEq(t, `"1234"`, string(payload["workspace"]))
	var text string
	require.NoError(t, json.Unmarshal(payload["text"], &text))
	assert.True(t, strings.HasPrefix(text, "Clay workspace 1234: "), text)
	for _, w := range []string{
		"1 added: nia.okafor@acme.test (Viewer)",
		"1 removed: priya.nair@acme.test (Viewer)",
		"1 role changed: john.smith@acme.test Editor → Admin",
		"1 invited: later@acme.test (Editor)",
		"1 invitation gone: pending.one@acme.test (Editor)",
	} {
		assert.Contains(t, text, w)
	}
	assert.NotContains(t, strings.ToLower(text), "jo.park", "a change of case is no change")
	assert.Equal(t, "application/json", hook.headers[0].Get("Content-Type"))

	// 3: nothing changed: nothing is posted; --keep 2 removes the first.
	r = snap("--keep", "2")
	require.Equal(t, exitOK, r.code, r.stderr)
	m := regexp.MustCompile(`(?m)^saved     (\S+) \(`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	third := m[1]
	assert.Equal(t,
		"saved     "+third+" ("+fmt.Sprintf("%d members, %d pending invitations", seedMembers, seedInvitations)+")\n"+
			"previous  "+second.Snapshot+"\n"+
			"no changes\n"+
			"removed 1 older snapshot(s) (--keep)\n",
		r.stdout)
	assert.Len(t, hook.posts(), 1, "no post without changes")
	assert.ElementsMatch(t, []string{filepath.Base(second.Snapshot), filepath.Base(third)}, dirNames(t, dir))
	assertNoTempFiles(t, dir)
}

func TestSnapshotWebhookFailureKeepsTheSnapshotAndExitsOne(t *testing.T) {
	e := startE2E(t)
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	dir := filepath.Join(e.Dir, "snapshots")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	// An earlier snapshot with one member: this run has changes to post.
	previous := filepath.Join(dir, "1234-20200101T000000Z.json")
	writeRosterFile(t, previous, roster.Roster{
		Workspace:  "1234",
		CapturedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		Members:    []roster.Member{{Name: "Gone", Email: "gone@acme.test", Role: roster.Editor}},
	})
	hook := newWebhookRecorder(t, http.StatusInternalServerError)
	// The flag wins over an unusable CLAY_WEBHOOK. The URL holds secrets
	// that the error must not repeat.
	env := map[string]string{webhook.EnvURL: "ftp://not-a-webhook"}
	hookURL := "http://alice:hunter2@" + strings.TrimPrefix(hook.URL, "http://") + "/services/T0SECRET/B0SECRET/XXXXSECRETTOKEN?sig=SIGSECRET"
	args := append([]string{"snapshot", "--dir", dir, "-o", "json", "--webhook", hookURL}, e.globals()...)

	r := runApp(t.Context(), env, "", args...)

	assert.Equal(t, exitFailed, r.code, r.stderr)
	out := decodeSnapshotJSON(t, r.stdout)
	assert.Equal(t, previous, out.Previous)
	assertSnapshotFile(t, dir, out.Snapshot, len(e.Server.Members()), len(e.Server.Invitations()))
	assert.Equal(t, []roster.Member{{Name: "Gone", Email: "gone@acme.test", Role: roster.Editor}}, out.Changes.Removed)
	assert.Len(t, hook.posts(), webhook.DefaultMaxAttempts, "retried up to the limit")

	for _, s := range secretWebhookParts {
		assert.NotContains(t, r.stdout+r.stderr, s)
	}
	lines := r.stderrLines()
	require.Len(t, lines, 1, r.stderr)
	var got struct {
		Error struct {
			Message  string `json:"message"`
			ExitCode int    `json:"exit_code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got), lines[0])
	assert.Equal(t, exitFailed, got.Error.ExitCode)
	assert.Contains(t, got.Error.Message, out.Snapshot+" was saved")
	assert.Contains(t, got.Error.Message, "HTTP 500")
	assert.Contains(t, got.Error.Message, "/services/…")
	assert.ElementsMatch(t, []string{filepath.Base(previous), filepath.Base(out.Snapshot)}, dirNames(t, dir))
}

func TestSnapshotExpiredSessionExitsThreeAndWritesNothing(t *testing.T) {
	e := startE2E(t)
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	e.Server.SetFaults(fixtures.Faults{ExpireSession: true})
	dir := filepath.Join(e.Dir, "snapshots")
	r := runApp(t.Context(), nil, "", append([]string{"snapshot", "--dir", dir}, e.globals()...)...)
	assert.Equal(t, exitLogin, r.code, r.stderr)
	assert.Contains(t, r.stderr, "agent login")
	assert.Contains(t, r.stderr, "artifacts of the failure")
	assert.Empty(t, r.stdout)
	assert.NoDirExists(t, dir, "no snapshot of a failed listing")
}

func TestSnapshotBadInputExitsBeforeTheBrowser(t *testing.T) {
	clearAgentEnv(t)
	tmp := t.TempDir()
	state := filepath.Join(tmp, "state")
	t.Setenv("XDG_STATE_HOME", state)
	files := sessionFiles(t, tmp)
	dir := filepath.Join(tmp, "snapshots")
	artifacts := filepath.Join(tmp, "artifacts")
	args := func(session string, extra ...string) []string {
		return append([]string{"snapshot", "--dir", dir, "--chrome", noBrowser, "--artifacts-dir", artifacts,
			"--base-url", "http://127.0.0.1:9", "--workspace", "1234", "--session", session}, extra...)
	}
	valid := files["valid"]
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{name: "no --dir", args: []string{"snapshot", "--chrome", noBrowser, "--workspace", "1234", "--session", valid}, code: 2, want: []string{"--dir"}},
		{name: "empty --dir", args: args(valid, "--dir", " "), code: 2, want: []string{"--dir"}},
		{name: "unknown output format", args: args(valid, "-o", "csv"), code: 2, want: []string{`unknown output format "csv"`, "text, json"}},
		{name: "negative --keep", args: args(valid, "--keep", "-1"), code: 2, want: []string{"--keep must be 0"}},
		{name: "--keep not a number", args: args(valid, "--keep", "all"), code: 2, want: []string{"--keep"}},
		{name: "negative --lock-timeout", args: args(valid, "--lock-timeout", "-1s"), code: 2, want: []string{"--lock-timeout"}},
		{name: "webhook that is not http", args: args(valid, "--webhook", "ftp://hooks.example/x"), code: 2, want: []string{"--webhook", "invalid webhook URL"}},
		{name: "webhook that is not absolute", args: args(valid, "--webhook", "hooks.example/x"), code: 2, want: []string{"invalid webhook URL"}},
		{name: "CLAY_WEBHOOK that is not a URL", env: map[string]string{webhook.EnvURL: "/relative"}, args: args(valid), code: 2, want: []string{webhook.EnvURL, "invalid webhook URL"}},
		{name: "positional argument", args: args(valid, "now"), code: 2, want: []string{"takes no arguments"}},
		{name: "no workspace", args: []string{"snapshot", "--dir", dir, "--chrome", noBrowser, "--session", valid}, code: 2, want: []string{"no workspace"}},
		{name: "no session", args: []string{"snapshot", "--dir", dir, "--chrome", noBrowser, "--workspace", "1234"}, code: 2, want: []string{"no session file"}},
		{name: "missing session file", args: args(files["missing"]), code: 2, want: []string{files["missing"], "does not exist"}},
		{name: "session file readable by others", args: args(files["open"]), code: 2, want: []string{"chmod 600"}},
		{name: "expired session", args: args(files["expired"]), code: 3, want: []string{"expired", "agent login"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), tc.env, "", tc.args...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			r.oneErrorLine(t, tc.want...)
			assert.Empty(t, r.stdout)
			assert.NotContains(t, r.stderr, noBrowser, "it must stop before starting the browser")
			assert.NotContains(t, r.stderr, secretValue)
			assert.NoDirExists(t, dir)
			assert.NoDirExists(t, artifacts)
			assert.NoDirExists(t, state, "no lock taken for bad input")
		})
	}

	// The same command line with valid input gets as far as the browser.
	r := runApp(t.Context(), nil, "", args(valid)...)
	assert.Equal(t, exitFailed, r.code, r.stderr)
	assert.Contains(t, r.stderr, noBrowser)
	assert.NoDirExists(t, dir, "no snapshot without a listing")
}

func TestSnapshotWaitsForTheWorkspaceLock(t *testing.T) {
	clearAgentEnv(t)
	tmp := t.TempDir()
	files := sessionFiles(t, tmp)
	locks := filepath.Join(tmp, "locks")
	dir := filepath.Join(tmp, "snapshots")
	held, err := lock.Acquire(t.Context(), lock.PathFor(locks, "1234"), 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = held.Release() })
	args := []string{"snapshot", "--dir", dir, "--lock-dir", locks, "--lock-timeout", "300ms", "--chrome", noBrowser,
		"--workspace", "1234", "--session", files["valid"], "--base-url", "http://127.0.0.1:9"}

	start := time.Now()
	r := runApp(t.Context(), nil, "", args...)
	assert.Equal(t, exitFailed, r.code, r.stderr)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "it waited for the lock")
	lines := r.stderrLines()
	require.Len(t, lines, 1, r.stderr)
	assert.Contains(t, lines[0], "waiting for the workspace lock")
	assert.Contains(t, lines[0], fmt.Sprintf("pid %d", os.Getpid()), "it names the holder")
	assert.NotContains(t, r.stderr, noBrowser, "no browser while another run holds the lock")
	assert.NoDirExists(t, dir)

	// Once the lock is free, the same command line gets as far as the
	// browser.
	require.NoError(t, held.Release())
	r = runApp(t.Context(), nil, "", args...)
	assert.Equal(t, exitFailed, r.code)
	assert.Contains(t, r.stderr, noBrowser)
}

func TestWriteSnapshotText(t *testing.T) {
	hook, err := webhook.New("https://hooks.example.com/services/T0/B0/secret")
	require.NoError(t, err)
	r := &roster.Roster{
		Workspace:   "1234",
		Members:     []roster.Member{{Name: "Ann", Email: "ann@example.com", Role: roster.Admin}},
		Invitations: []roster.Invitation{},
	}
	changes := snapshot.Diff(&roster.Roster{Members: []roster.Member{
		{Name: "Ann  A.", Email: "ANN@example.com", Role: roster.Editor},
		{Name: "", Email: "old@example.com", Role: roster.Viewer},
	}}, r)

	tests := []struct {
		name string
		res  *snapshot.Result
		hook bool
		want string
	}{
		{
			name: "baseline",
			res:  &snapshot.Result{Snapshot: "d/1234-a.json", Roster: r, Changes: snapshot.Diff(nil, r)},
			want: "saved     d/1234-a.json (1 members, 0 pending invitations)\n" +
				"previous  none: this is the first snapshot of the workspace here, the baseline for later ones\n",
		},
		{
			name: "changes, pruned and posted",
			res: &snapshot.Result{Snapshot: "d/1234-b.json", Previous: "d/1234-a.json", Roster: r, Changes: changes,
				Pruned: []string{"d/1234-0.json", "d/1234-00.json"}, Notified: true},
			hook: true,
			want: "saved     d/1234-b.json (1 members, 0 pending invitations)\n" +
				"previous  d/1234-a.json\n" +
				"3 changes:\n" +
				"  removed       old@example.com  Viewer\n" +
				"  role changed  ann@example.com  Editor → Admin\n" +
				"  renamed       ann@example.com  \"Ann A.\" → \"Ann\"\n" +
				"removed 2 older snapshot(s) (--keep)\n" +
				"posted the changes to https://hooks.example.com/services/…\n",
		},
		{
			name: "a webhook that failed is not reported as posted",
			res:  &snapshot.Result{Snapshot: "d/1234-b.json", Previous: "d/1234-a.json", Roster: r, Changes: changes, WebhookErr: errors.New("HTTP 500")},
			hook: true,
			want: "saved     d/1234-b.json (1 members, 0 pending invitations)\n" +
				"previous  d/1234-a.json\n" +
				"3 changes:\n" +
				"  removed       old@example.com  Viewer\n" +
				"  role changed  ann@example.com  Editor → Admin\n" +
				"  renamed       ann@example.com  \"Ann A.\" → \"Ann\"\n",
		},
		{
			name: "the audit head",
			res: &snapshot.Result{Snapshot: "d/1234-a.json", Roster: r, Changes: snapshot.Diff(nil, r),
				Audit: &snapshot.AuditHead{Log: "/state/audit.jsonl", Head: audit.Genesis, Records: 0}},
			want: "saved     d/1234-a.json (1 members, 0 pending invitations)\n" +
				"previous  none: this is the first snapshot of the workspace here, the baseline for later ones\n" +
				"audit     0 records, head " + audit.Genesis + " (/state/audit.jsonl)\n",
		},
		{
			name: "an audit log that did not verify",
			res: &snapshot.Result{Snapshot: "d/1234-a.json", Roster: r, Changes: snapshot.Diff(nil, r),
				Audit: &snapshot.AuditHead{Log: "/state/audit.jsonl", Error: "audit: verify /state/audit.jsonl: line 2: prev does not match"}},
			want: "saved     d/1234-a.json (1 members, 0 pending invitations)\n" +
				"previous  none: this is the first snapshot of the workspace here, the baseline for later ones\n" +
				"audit     not verified, no head published: audit: verify /state/audit.jsonl: line 2: prev does not match\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := hook
			if !tc.hook {
				h = nil
			}
			require.NoError(t, writeSnapshotText(&buf, tc.res, h))
			assert.Equal(t, tc.want, buf.String())
			assert.NotContains(t, buf.String(), "secret", "the webhook URL's path is never printed")
		})
	}
}

func TestSnapshotAftermath(t *testing.T) {
	tests := []struct {
		name string
		res  *snapshot.Result
		code int
		want []string
	}{
		{name: "all well", res: &snapshot.Result{Snapshot: "s.json"}, code: exitOK},
		{name: "webhook failed", res: &snapshot.Result{Snapshot: "s.json", WebhookErr: errors.New("HTTP 500")}, code: exitFailed,
			want: []string{"s.json was saved", "posting the changes failed: HTTP 500"}},
		{name: "pruning failed", res: &snapshot.Result{Snapshot: "s.json", PruneErr: errors.New("permission denied")}, code: exitFailed,
			want: []string{"s.json was saved", "removing old snapshots failed: permission denied"}},
		{name: "both", res: &snapshot.Result{Snapshot: "s.json", WebhookErr: errors.New("HTTP 500"), PruneErr: errors.New("permission denied")}, code: exitFailed,
			want: []string{"HTTP 500", "permission denied"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := snapshotAftermath(tc.res)
			assert.Equal(t, tc.code, exitCode(err))
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
			if err != nil {
				assert.NotContains(t, err.Error(), "\n")
			}
		})
	}
}

func TestSnapshotFailureReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("snapshot: list: %w: the page showed a login form", agent.ErrLoginRequired), "login required"},
		{fmt.Errorf("snapshot: list: %w: no rows", agent.ErrPageChanged), "page changed"},
		{fmt.Errorf("%w: no workspace", agent.ErrUsage), "bad input"},
		{fmt.Errorf("%w: list: the browser closed or crashed", agent.ErrBrowserGone), "browser gone"},
		{fmt.Errorf("%w: list: no answer within 15s", agent.ErrStepTimeout), "timeout"},
		{fmt.Errorf("run: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("starting the browser: %w", context.Canceled), "cancelled"},
		{errors.New("snapshot: save: disk full"), "error"},
	}
	for _, tc := range tests {
		t.Run(tc.want+": "+tc.err.Error(), func(t *testing.T) {
			assert.Equal(t, tc.want, snapshotFailureReason(tc.err))
		})
	}
}

// secretWebhookParts are the parts of the webhook URLs of
// TestWebhookURLSecretsAreNeverPrinted that must never be printed.
var secretWebhookParts = []string{"hunter2", "alice", "T0SECRET", "B0SECRET", "XXXXSECRETTOKEN", "SIGSECRET"}

func TestWebhookURLSecretsAreNeverPrinted(t *testing.T) {
	clearAgentEnv(t)
	tmp := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(tmp, "state"))
	files := sessionFiles(t, tmp)
	dir := filepath.Join(tmp, "snapshots")
	global := []string{"--chrome", noBrowser, "--base-url", "http://127.0.0.1:9", "--workspace", "1234", "--session", files["valid"], "-vv"}
	tabbed := "https://alice:hunter2@hooks.slack.com/services/T0SECRET/B0SECRET/XXXX\tSECRETTOKEN?sig=SIGSECRET"
	spaced := "https://alice:hunter2@hooks slack.com/services/T0SECRET/B0SECRET/XXXXSECRETTOKEN?sig=SIGSECRET"
	valid := "https://alice:hunter2@hooks.slack.com/services/T0SECRET/B0SECRET/XXXXSECRETTOKEN?sig=SIGSECRET"
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{name: "snapshot --webhook with a tab", args: []string{"snapshot", "--dir", dir, "--webhook", tabbed}, code: exitUsage,
			want: []string{"--webhook", "https://hooks.slack.com/services/…", "invalid control character"}},
		{name: "snapshot, CLAY_WEBHOOK with a space", env: map[string]string{webhook.EnvURL: spaced}, args: []string{"snapshot", "--dir", dir}, code: exitUsage,
			want: []string{webhook.EnvURL, "invalid webhook URL"}},
		{name: "serve --webhook with a tab", args: []string{"serve", "--dir", dir, "--snapshot-every", "1h", "--listen", "127.0.0.1:0", "--webhook", tabbed}, code: exitUsage,
			want: []string{"--webhook", "invalid control character"}},
		{name: "doctor, CLAY_WEBHOOK with a tab", env: map[string]string{webhook.EnvURL: tabbed}, args: []string{"doctor", "--offline"}, code: exitFailed,
			want: []string{"FAIL  webhook", webhook.EnvURL, "https://hooks.slack.com/services/…", "invalid control character"}},
		{name: "doctor, a valid CLAY_WEBHOOK", env: map[string]string{webhook.EnvURL: valid}, args: []string{"doctor", "--offline"}, code: exitOK,
			want: []string{"ok    webhook      https://hooks.slack.com/services/… (CLAY_WEBHOOK)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t.Context(), tc.env, "", append(tc.args, global...)...)
			assert.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			out := r.stdout + r.stderr
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			for _, s := range secretWebhookParts {
				assert.NotContains(t, out, s)
			}
			assert.NoDirExists(t, dir)
		})
	}
}

// writeEarlierSnapshot writes a snapshot of the fixture's workspace with
// one member who is gone since, so that the next snapshot has changes to
// post.
func writeEarlierSnapshot(t *testing.T, dir string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o700))
	previous := filepath.Join(dir, "1234-20200101T000000Z.json")
	writeRosterFile(t, previous, roster.Roster{
		Workspace:  "1234",
		CapturedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		Members:    []roster.Member{{Name: "Gone", Email: "gone@acme.test", Role: roster.Editor}},
	})
	return previous
}

func TestSnapshotPublishesTheAuditHead(t *testing.T) {
	e := startE2E(t)
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	dir := filepath.Join(e.Dir, "snapshots")
	writeEarlierSnapshot(t, dir)
	logPath := filepath.Join(e.Dir, "audit", "audit.jsonl")
	lines := writeAuditLog(t, logPath, 3)
	head := chainHash(lines[2])
	hook := newWebhookRecorder(t, http.StatusNoContent)
	snap := func(env map[string]string, extra ...string) cliResult {
		t.Helper()
		args := append(append([]string{"snapshot", "--dir", dir, "--webhook", hook.URL}, e.globals()...), extra...)
		return runApp(t.Context(), env, "", args...)
	}

	// In the JSON output and in the webhook's payload.
	r := snap(nil, "-o", "json", "--audit-log", logPath)
	require.Equal(t, exitOK, r.code, r.stderr)
	out := decodeSnapshotJSON(t, r.stdout)
	want := &snapshot.AuditHead{Log: logPath, Head: head, Records: 3}
	assert.Equal(t, want, out.Audit)
	posts := hook.posts()
	require.Len(t, posts, 1)
	var payload snapshot.Payload
	require.NoError(t, json.Unmarshal(posts[0], &payload))
	assert.Equal(t, want, payload.Audit)
	assert.True(t, strings.HasSuffix(payload.Text, "\nAudit log: 3 records, head "+head+"."), payload.Text)

	// In the text output, the log named by CLAY_AUDIT_LOG.
	r = snap(map[string]string{envAuditLog: logPath})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\naudit     3 records, head "+head+" ("+logPath+")\n")
	assert.Empty(t, r.stderr)

	// A log that does not verify: a warning, and the snapshot is taken.
	writeLines(t, logPath, [][]byte{lines[0], lines[2]})
	r = snap(nil, "--audit-log", logPath)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\naudit     not verified, no head published: ")
	r.oneErrorLine(t, "warning: no audit head published", logPath, "line 2")

	// No log: nothing published, a debug log says so.
	r = snap(nil, "-o", "json", "-vv", "--audit-log", filepath.Join(e.Dir, "missing.jsonl"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Nil(t, decodeSnapshotJSON(t, r.stdout).Audit)
	assert.NotContains(t, r.stdout, `"audit"`)
	assert.Contains(t, r.stderr, "no audit log: no audit head to publish")
}

// TestSnapshotVerifiesTheAuditMACsBeforePublishing: with --audit-key-file
// the head is published only when every keyed record's MAC verifies; a
// record appended without the key (a forgery with a correct prev) gives
// a warning and no head.
func TestSnapshotVerifiesTheAuditMACsBeforePublishing(t *testing.T) {
	e := startE2E(t)
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.Dir, "state"))
	dir := filepath.Join(e.Dir, "snapshots")
	logPath := filepath.Join(e.Dir, "audit", "audit.jsonl")
	key := []byte(strings.Repeat("k", 40))
	keyFile := writeKeyFile(t, filepath.Join(e.Dir, "audit.key"), string(key), 0o600)
	lines := writeKeyedAuditLog(t, logPath, key, 2)
	snap := func() cliResult {
		t.Helper()
		args := append([]string{"snapshot", "--dir", dir, "-o", "json", "--audit-log", logPath, "--audit-key-file", keyFile}, e.globals()...)
		return runApp(t.Context(), nil, "", args...)
	}
	r := snap()
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, &snapshot.AuditHead{Log: logPath, Head: chainHash(lines[1]), Records: 2}, decodeSnapshotJSON(t, r.stdout).Audit)

	// a record appended without the key, chained correctly
	forged, err := json.Marshal(audit.Record{ID: audit.NewID(), Time: time.Now().UTC(), Actor: "mallory", Workspace: "1234",
		Command: "offboard", Target: "x@example.com", Outcome: audit.OutcomeRemoved, Evidence: []string{}, Prev: chainHash(lines[1])})
	require.NoError(t, err)
	writeLines(t, logPath, append(lines, forged))
	r = snap()
	require.Equal(t, exitOK, r.code, r.stderr)
	got := decodeSnapshotJSON(t, r.stdout).Audit
	require.NotNil(t, got)
	assert.Empty(t, got.Head, "no head published")
	assert.NotEmpty(t, got.Error)
	r.oneErrorLine(t, "warning: no audit head published")

	// without the key, the chain alone verifies: the MACs were the proof
	args := append([]string{"snapshot", "--dir", dir, "-o", "json", "--audit-log", logPath}, e.globals()...)
	r = runApp(t.Context(), nil, "", args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, 3, decodeSnapshotJSON(t, r.stdout).Audit.Records)
}
