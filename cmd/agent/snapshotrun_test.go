package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/lock"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
	"github.com/clay-agent/clay-agent/agent/webhook"
)

// snapshotRunEnv is snapshot's Options over a fake page, with the
// snapshots and the locks in a scratch directory.
type snapshotRunEnv struct {
	o      *snapshotOptions
	page   *fakePage
	opener *fakeOpener
	out    *lockedBuffer
	errOut *lockedBuffer
	dir    string
	locks  string
	// heads are the audit log flags the taker was asked to publish.
	heads [][2]string
}

func newSnapshotRunEnv(t *testing.T) *snapshotRunEnv {
	t.Helper()
	tmp := t.TempDir()
	st, out, errOut := lockedStreams()
	e := &snapshotRunEnv{page: &fakePage{roster: seedRoster()}, out: out, errOut: errOut,
		dir: filepath.Join(tmp, "snapshots"), locks: filepath.Join(tmp, "locks")}
	e.opener = &fakeOpener{page: e.page}
	e.o = &snapshotOptions{streams: st, output: "text", getenv: noEnv, auditKey: noAuditKey,
		settings: snapshotSettings{dir: e.dir, lockDir: e.locks, lockTimeout: time.Second, auditLog: "audit.jsonl", auditKeyFile: "audit.key"},
		taker: snapshotTaker{check: checkOK("1234"), open: e.opener.open, now: time.Now,
			auditHead: func(logFlag, keyFlag string) *snapshot.AuditHead {
				e.heads = append(e.heads, [2]string{logFlag, keyFlag})
				return nil
			}},
	}
	return e
}

// TestRunSnapshotWritesAtomically: each run writes one complete snapshot
// file, never a temporary one, reports the changes since the last, and is
// done with the page before the file is written.
func TestRunSnapshotWritesAtomically(t *testing.T) {
	e := newSnapshotRunEnv(t)
	seed := seedRoster()
	filesAtClose := -1
	e.page.onClose = func() {
		if filesAtClose < 0 {
			des, _ := os.ReadDir(e.dir)
			filesAtClose = len(des)
		}
	}
	require.NoError(t, snapshotRun(t.Context(), e.o))
	assert.Zero(t, filesAtClose, "the browser is closed before the file is written")
	assert.Contains(t, e.out.String(), fmt.Sprintf("(%d members, %d pending invitations)", len(seed.Members), len(seed.Invitations)))
	assert.Contains(t, e.out.String(), "previous  none: this is the first snapshot")
	names := dirNames(t, e.dir)
	require.Len(t, names, 1)
	assertSnapshotFile(t, e.dir, filepath.Join(e.dir, names[0]), len(seed.Members), len(seed.Invitations))
	assertNoTempFiles(t, e.dir)
	lists, closes, failed := e.page.counts()
	assert.Equal(t, 1, lists)
	assert.GreaterOrEqual(t, closes, 1, "the browser is closed")
	assert.Empty(t, failed)
	assert.Equal(t, [][2]string{{"audit.jsonl", "audit.key"}}, e.heads, "the audit head of the log the flags name")

	// the page changes: the next run reports it, in JSON
	changed := seedRoster()
	changed.Members = changed.Members[1:]
	changed.Invitations = append(changed.Invitations, roster.Invitation{Email: "new@acme.test", Role: roster.Viewer})
	e.page.roster = changed
	e.out.buf.Reset()
	e.o.output = "json"
	require.NoError(t, snapshotRun(t.Context(), e.o))
	got := decodeSnapshotJSON(t, e.out.String())
	assert.Equal(t, filepath.Join(e.dir, names[0]), got.Previous)
	require.Len(t, got.Changes.Removed, 1)
	assert.Equal(t, seed.Members[0].Email, got.Changes.Removed[0].Email)
	require.Len(t, got.Changes.Invited, 1)
	assert.Equal(t, "new@acme.test", got.Changes.Invited[0].Email)
	assert.Len(t, dirNames(t, e.dir), 2, "a new file; the earlier one is kept")
	assertNoTempFiles(t, e.dir)
	assert.Empty(t, e.errOut.String())
}

// TestRunSnapshotStopsBeforeTheBrowser: a configuration or session that
// does not pass, or a workspace lock held by another run, stops the run
// before any page is opened and before anything is written.
func TestRunSnapshotStopsBeforeTheBrowser(t *testing.T) {
	tests := []struct {
		name  string
		check sessionCheck
		hold  bool
		want  error
	}{
		{name: "no session", check: func() (string, error) { return "", fmt.Errorf("%w: no session file", agent.ErrUsage) }, want: agent.ErrUsage},
		{name: "expired session", check: func() (string, error) { return "", fmt.Errorf("%w: expired", agent.ErrLoginRequired) }, want: agent.ErrLoginRequired},
		{name: "lock held", check: checkOK("1234"), hold: true, want: lock.ErrLocked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newSnapshotRunEnv(t)
			e.o.taker.check = tc.check
			e.o.settings.lockTimeout = 50 * time.Millisecond
			if tc.hold {
				held, err := lock.Acquire(t.Context(), lock.PathFor(e.locks, "1234"), 0)
				require.NoError(t, err)
				t.Cleanup(func() { _ = held.Release() })
			}
			err := snapshotRun(t.Context(), e.o)
			require.ErrorIs(t, err, tc.want)
			assert.Zero(t, e.opener.opened(), "no browser")
			assert.Empty(t, e.heads, "no audit head read")
			assert.NoDirExists(t, e.dir)
			assert.Empty(t, e.out.String())
			if !tc.hold {
				assert.NoDirExists(t, e.locks, "no lock taken")
			}
		})
	}
}

// TestRunSnapshotKeepsTheArtifactsOfAFailedListing: a listing that fails
// keeps the page's artifacts under the label "snapshot", returns the
// listing's error and writes no snapshot.
func TestRunSnapshotKeepsTheArtifactsOfAFailedListing(t *testing.T) {
	e := newSnapshotRunEnv(t)
	e.page.err = fmt.Errorf("%w: no member list", agent.ErrPageChanged)
	err := snapshotRun(t.Context(), e.o)
	require.ErrorIs(t, err, agent.ErrPageChanged)
	_, closes, failed := e.page.counts()
	assert.Equal(t, []string{"snapshot"}, failed)
	assert.Equal(t, 1, closes, "closed once, after the artifacts")
	assert.NoDirExists(t, e.dir)
	assert.Empty(t, e.out.String())

	// a browser that does not start is the opener's error, unwrapped
	e = newSnapshotRunEnv(t)
	e.opener.err = agent.ErrBrowserGone
	require.ErrorIs(t, snapshotRun(t.Context(), e.o), agent.ErrBrowserGone)
	assert.NoDirExists(t, e.dir)
}

// TestRunSnapshotReportsTheAuditHeadAndUnreadableRows: a published head
// is in the output; one that could not be verified, and rows without a
// readable email, are warnings on stderr, and the snapshot is saved all
// the same.
func TestRunSnapshotReportsTheAuditHeadAndUnreadableRows(t *testing.T) {
	tests := []struct {
		name       string
		head       *snapshot.AuditHead
		unreadable []roster.Unreadable
		stdout     []string
		stderr     []string
	}{
		{name: "a verified head", head: &snapshot.AuditHead{Log: "/state/audit.jsonl", Head: "ab12", Records: 3},
			stdout: []string{"audit     3 records, head ab12 (/state/audit.jsonl)"}},
		{name: "a head that does not verify", head: &snapshot.AuditHead{Log: "/state/audit.jsonl", Error: "line 2: chain broken"},
			stdout: []string{"audit     not verified, no head published: line 2: chain broken"},
			stderr: []string{"agent: warning: no audit head published: line 2: chain broken"}},
		{name: "an unreadable row", unreadable: []roster.Unreadable{{Kind: "member", Text: "Remove\n  ???"}},
			stdout: []string{", 1 rows with no readable email"},
			stderr: []string{"agent: warning: a member row with controls but no readable email, kept in the snapshot: \"Remove ???\""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newSnapshotRunEnv(t)
			e.o.taker.auditHead = func(string, string) *snapshot.AuditHead { return tc.head }
			e.page.roster.Unreadable = tc.unreadable
			require.NoError(t, snapshotRun(t.Context(), e.o))
			assertCLI(t, cliResult{stdout: e.out.String(), stderr: e.errOut.String()}, cliWant{stdout: tc.stdout, stderr: tc.stderr})
			if len(tc.stderr) == 0 {
				assert.Empty(t, e.errOut.String())
			}
			assert.Len(t, dirNames(t, e.dir), 1)
		})
	}
}

// TestRunSnapshotWebhookFailureKeepsTheSnapshot: a webhook that fails
// leaves the snapshot in place and exits 1, saying which snapshot was
// saved; one that answers posts the changes and says so.
func TestRunSnapshotWebhookFailureKeepsTheSnapshot(t *testing.T) {
	for _, status := range []int{200, 400} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			hook := newWebhookRecorder(t, status)
			e := newSnapshotRunEnv(t)
			e.o.getenv = envOf(map[string]string{webhook.EnvURL: hook.URL})
			require.NoError(t, e.o.validate())
			require.NoError(t, snapshotRun(t.Context(), e.o), "nothing to post the first time")
			assert.Empty(t, hook.posts())

			e.page.roster.Members = e.page.roster.Members[1:]
			e.out.buf.Reset()
			err := snapshotRun(t.Context(), e.o)
			require.NotEmpty(t, hook.posts())
			var body map[string]any
			require.NoError(t, json.Unmarshal(hook.posts()[0], &body))
			assert.Contains(t, body["text"], seedRoster().Members[0].Email)
			assert.Len(t, dirNames(t, e.dir), 2, "the snapshot is saved whatever the webhook says")
			if status == 200 {
				require.NoError(t, err)
				assert.Contains(t, e.out.String(), "posted the changes to")
				return
			}
			var ee *exitError
			require.True(t, errors.As(err, &ee), "%v", err)
			assert.Equal(t, exitFailed, ee.code)
			assert.Contains(t, ee.msg, "was saved, but posting the changes failed")
			assert.NotContains(t, e.out.String(), "posted the changes")
		})
	}
}

// TestRunSnapshotRefusesBadSettings: the flags' values are checked before
// anything starts, as usage errors.
func TestRunSnapshotRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name string
		edit func(o *snapshotOptions)
	}{
		{"no dir", func(o *snapshotOptions) { o.settings.dir = " " }},
		{"negative keep", func(o *snapshotOptions) { o.settings.keep = -1 }},
		{"negative lock timeout", func(o *snapshotOptions) { o.settings.lockTimeout = -time.Second }},
		{"csv output", func(o *snapshotOptions) { o.output = "csv" }},
		{"a webhook that is no URL", func(o *snapshotOptions) { o.settings.webhookURL = "hooks" }},
		{"CLAY_WEBHOOK that is no URL", func(o *snapshotOptions) { o.getenv = envOf(map[string]string{webhook.EnvURL: "/relative"}) }},
		{"an unusable audit key", func(o *snapshotOptions) {
			o.auditKey = func(string, string) ([]byte, error) { return nil, fmt.Errorf("%w: key too short", agent.ErrUsage) }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newSnapshotRunEnv(t)
			tc.edit(e.o)
			require.ErrorIs(t, e.o.validate(), agent.ErrUsage)
		})
	}
	e := newSnapshotRunEnv(t)
	e.o.getenv = envOf(map[string]string{webhook.EnvURL: "https://hooks.example/x"})
	require.NoError(t, e.o.validate())
	assert.NotNil(t, e.o.settings.hook, "the webhook from the environment")
	_, err := os.Stat(e.dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "validating writes nothing")
}
