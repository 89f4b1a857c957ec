package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
)

// liveWorkspace is the workspace id of the recorded fixture: not the
// recording's stand-in, so that the test sees it rewritten.
const liveWorkspace = "98765"

// recordFixture records the Team page of e into a new directory and
// returns the directory and record's output.
func recordFixture(t *testing.T, e *e2e) (string, cliResult) {
	t.Helper()
	out := filepath.Join(e.Dir, "rec")
	r := runCLI(t, "", append([]string{"record", "--out", out}, e.globals()...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	return out, r
}

// startReplay serves the recording in dir as `agent fixtures serve
// --recording` does, with a session file of its own.
func startReplay(t *testing.T, live *e2e, dir string) *e2e {
	t.Helper()
	rec, err := fixtures.OpenRecording(dir)
	require.NoError(t, err)
	env := fixturetest.Start(t, fixtures.WithRecording(rec))
	require.True(t, env.Server.Replaying())
	return &e2e{Env: env, chrome: live.chrome, artifacts: filepath.Join(env.Dir, "artifacts")}
}

// listJSON runs `agent list -o json` on e.
func listJSON(t *testing.T, e *e2e) rosterJSON {
	t.Helper()
	r := runCLI(t, "", e.list("-o", "json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var got rosterJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
	return got
}

func roles(ms []memberJSON) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Role)
	}
	sort.Strings(out)
	return out
}

func yous(ms []memberJSON) int {
	n := 0
	for _, m := range ms {
		if m.You {
			n++
		}
	}
	return n
}

// TestRecordReplaysEveryRendition: a recording replays the page's own
// code against the recorded JSON, so that `agent list` on the replay reads
// every recorded member, on virtualized, paged and infinite-scroll pages
// alike, with stand-ins for every email and name and the workspace id
// rewritten.
func TestRecordReplaysEveryRendition(t *testing.T) {
	const members = 60 // more rows than any rendition shows at once
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			opts := []fixtures.Option{fixtures.WithRendition(rendition), fixtures.WithWorkspace(liveWorkspace), fixtures.WithMembers(members)}
			// the table keeps its code inline; the others load it as
			// files, as a bundled app does
			external := rendition != fixtures.RenditionTable
			if external {
				opts = append(opts, fixtures.WithExternalAssets())
			}
			live := startE2E(t, opts...)
			want := listJSON(t, live)
			require.Len(t, want.Members, members)
			out, r := recordFixture(t, live)

			// record says where and how to replay, with the rewritten id
			assert.Contains(t, r.stdout, "agent fixtures serve --recording "+out)
			assert.Contains(t, r.stdout, "agent list --base-url http://"+replayAddr+" --workspace "+fixtures.DefaultWorkspace+" --session")
			assert.Contains(t, r.stdout, "agent login --email "+fixtures.DefaultEmail)
			assert.NotContains(t, r.stdout, liveWorkspace)

			// nothing personal or secret is left in any file or file name;
			// the document keeps its code, the rendered page drops it
			cookie := live.Server.NewSession().Value
			var names []string
			require.NoError(t, filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
				require.NoError(t, err)
				names = append(names, p)
				if info.IsDir() {
					return nil
				}
				data, err := os.ReadFile(p)
				require.NoError(t, err)
				text := string(data)
				for _, m := range live.Server.Members() {
					assert.NotContains(t, strings.ToLower(text), strings.ToLower(m.Email), p)
					assert.NotContains(t, text, m.Name, p)
				}
				assert.NotContains(t, text, liveWorkspace, p)
				assert.NotContains(t, text, cookie[:10], p)
				return nil
			}))
			assert.NotContains(t, strings.Join(names, "\n"), liveWorkspace)
			page, err := os.ReadFile(filepath.Join(out, fixtures.RecordingPage))
			require.NoError(t, err)
			assert.NotContains(t, string(page), "<script")
			rec, err := fixtures.OpenRecording(out)
			require.NoError(t, err)
			assert.True(t, rec.HasDocument())
			kinds := map[fixtures.RecordedKind]int{}
			for _, resp := range rec.Manifest.Responses {
				kinds[resp.Kind]++
			}
			assert.Equal(t, 1, kinds[fixtures.RecordedDocument])
			if external {
				assert.Equal(t, 1, kinds[fixtures.RecordedScript], "the page's script")
				assert.Equal(t, 1, kinds[fixtures.RecordedStyle], "the page's style sheet")
			}
			doc, err := os.ReadFile(filepath.Join(out, "document.html"))
			require.NoError(t, err)
			assert.Contains(t, string(doc), "<script", "the document keeps its code")
			assert.Equal(t, fixtures.DefaultWorkspace, rec.Workspace())
			assert.Equal(t, members, rec.Manifest.Members)

			// replayed, the recording reads like the page it came from
			replay := startReplay(t, live, out)
			got := listJSON(t, replay)
			assert.Equal(t, fixtures.DefaultWorkspace, got.Workspace)
			require.Len(t, got.Members, len(want.Members))
			assert.Len(t, got.Invitations, len(want.Invitations))
			assert.Equal(t, roles(want.Members), roles(got.Members))
			assert.Equal(t, 1, yous(want.Members))
			assert.Equal(t, yous(want.Members), yous(got.Members))
			emails := map[string]bool{}
			for _, m := range got.Members {
				assert.Regexp(t, `^user\d{3,}@example\.test$`, m.Email)
				assert.Regexp(t, `^Person \d{3,}$`, m.Name)
				emails[m.Email] = true
			}
			assert.Len(t, emails, members, "every member has a stand-in of its own")
		})
	}
}

// TestReplayRefusesChangesItDoesNotHold: an invitation cannot be replayed
// (the recording holds no such change), so the replay refuses it and the
// agent exits 2 saying that a recording is read-only.
func TestReplayRefusesChangesItDoesNotHold(t *testing.T) {
	live := startE2E(t, fixtures.WithRendition(fixtures.RenditionTable), fixtures.WithWorkspace(liveWorkspace))
	out, _ := recordFixture(t, live)
	replay := startReplay(t, live, out)
	m := &mutEnv{e2e: replay, auditLog: filepath.Join(replay.Dir, "audit.jsonl"), evidence: filepath.Join(replay.Dir, "evidence"), locks: filepath.Join(replay.Dir, "locks")}

	before := listJSON(t, replay)
	r := runCLI(t, "", m.cmd("invite", "--email", "new.person@example.test", "--yes", "-o", "json")...)
	assert.Equal(t, exitUsage, r.code, r.stderr)
	results := decodeResults(t, r.stdout)
	require.Len(t, results, 1)
	assert.Equal(t, "failed", results[0].Action)
	assert.Contains(t, results[0].Detail, "a recording is read-only")
	assert.Equal(t, before, withoutTime(listJSON(t, replay), before.CapturedAt), "nothing changed")
}

// TestReplayReplaysRemovalsOfRecordedRows: a member the recording holds is
// removed from the replayed JSON, across the pages it was recorded in, and
// the removal is verified as on the live page.
func TestReplayReplaysRemovalsOfRecordedRows(t *testing.T) {
	live := startE2E(t, fixtures.WithRendition(fixtures.RenditionPaged), fixtures.WithWorkspace(liveWorkspace), fixtures.WithMembers(60))
	out, _ := recordFixture(t, live)
	replay := startReplay(t, live, out)
	m := &mutEnv{e2e: replay, auditLog: filepath.Join(replay.Dir, "audit.jsonl"), evidence: filepath.Join(replay.Dir, "evidence"), locks: filepath.Join(replay.Dir, "locks")}

	before := listJSON(t, replay)
	require.Len(t, before.Members, 60)
	target := before.Members[40] // recorded on the second page
	require.False(t, target.You)
	r := runCLI(t, "", m.cmd("offboard", "--email", target.Email, "--yes", "-o", "json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	results := decodeResults(t, r.stdout)
	require.Len(t, results, 1)
	assert.Equal(t, "removed", results[0].Action)

	after := listJSON(t, replay)
	assert.Len(t, after.Members, 59)
	for _, mem := range after.Members {
		assert.NotEqual(t, target.Email, mem.Email)
	}
}

// TestFixturesServeRecordingPrintsHowToUseIt: the replay prints the
// workspace id, the base URL and a session file next to the command to
// run, and that very command reads the recording.
func TestFixturesServeRecordingPrintsHowToUseIt(t *testing.T) {
	live := startE2E(t, fixtures.WithRendition(fixtures.RenditionGrid), fixtures.WithWorkspace(liveWorkspace), fixtures.WithMembers(30))
	out, _ := recordFixture(t, live)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		a := newApp(strings.NewReader(""), &stdout, &stderr)
		err := a.execute(ctx, []string{"fixtures", "serve", "--recording", out, "--addr", "127.0.0.1:0"})
		done <- exitCode(err)
	}()
	var run string
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(stdout.String(), "\n") {
			if cmd, ok := strings.CutPrefix(strings.TrimSpace(line), "run:"); ok {
				run = strings.TrimSpace(cmd)
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "no command to run: %s %s", stdout.String(), stderr.String())
	printed := stdout.String()
	assert.Contains(t, printed, "workspace: "+fixtures.DefaultWorkspace)
	assert.Contains(t, printed, "sign in:   "+fixtures.DefaultEmail+" / "+fixtures.DefaultPassword)
	assert.Contains(t, printed, "a recording is read-only")
	assert.NotContains(t, printed, liveWorkspace)

	args := strings.Fields(run)
	require.Equal(t, "agent", args[0], run)
	assert.Contains(t, run, "--workspace "+fixtures.DefaultWorkspace+" --session ")
	session := args[len(args)-1]
	assert.FileExists(t, session)
	r := runCLI(t, "", append(args[1:], "-o", "json", "--chrome", live.chrome, "--artifacts-dir", t.TempDir())...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var got rosterJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.Len(t, got.Members, 30)

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code)
	case <-time.After(10 * time.Second):
		t.Fatal("fixtures serve did not stop")
	}
	assert.NoFileExists(t, session, "the session file goes with the server")
}

// withoutTime returns got with its capture time set to at.
func withoutTime(got rosterJSON, at string) rosterJSON {
	got.CapturedAt = at
	return got
}

func TestRecordNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "page.html"), []byte("x"), 0o600))
	r := runCLI(t, "", "record", "--out", dir, "--workspace", "1", "--session", "/nonexistent")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "not empty")
}
