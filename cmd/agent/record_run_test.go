package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
)

// capturedPage is a Team page as record captures it, with its document,
// a script, a style sheet and the /v3 JSON, all holding personal data.
func capturedPage(t *testing.T) *pageCapture {
	t.Helper()
	const origin = "http://127.0.0.1:8089"
	team, err := url.Parse(origin + "/workspaces/98765/settings/team")
	require.NoError(t, err)
	return &pageCapture{
		team: team, workspace: "98765",
		roster: &roster.Roster{Workspace: "98765",
			Members: []roster.Member{
				{Name: "Ann Lee", Email: "ann@corp.test", Role: roster.Admin, You: true},
				{Name: "Bob Stone", Email: "bob@corp.test", Role: roster.Editor},
			},
			Invitations: []roster.Invitation{{Email: "cat@corp.test", Role: roster.Viewer}}},
		html: `<html><body><h1>Team</h1><div>Ann Lee</div><div>ann@corp.test</div><div>Bob Stone</div><div>bob@corp.test</div><script>boot()</script></body></html>`,
		responses: []agent.Response{
			{Method: "GET", URL: team.String(), Status: 200, MIMEType: "text/html", Type: agent.ResourceDocument,
				Body: []byte(`<html><script src="/assets/app.js"></script><div data-workspace="98765">ann@corp.test</div></html>`)},
			{Method: "GET", URL: origin + "/assets/app.js", Status: 200, MIMEType: "text/javascript", Type: agent.ResourceScript,
				Body: []byte(`fetch("/v3/workspaces/98765/users?page=1")`)},
			{Method: "GET", URL: origin + "/assets/app.css", Status: 200, MIMEType: "text/css", Type: agent.ResourceStylesheet,
				Body: []byte(`h1{color:red}`)},
			{Method: "GET", URL: origin + "/v3/workspaces/98765/users?page=1", Status: 200, MIMEType: "application/json", Type: agent.ResourceFetch,
				Body: []byte(`{"users":[{"id":424242,"name":"Ann Lee","email":"ann@corp.test","role":"Admin"},{"id":424243,"name":"Bob Stone","email":"bob@corp.test","role":"Editor"}],"invitations":[{"email":"cat@corp.test","role":"Viewer"}]}`)},
		},
	}
}

// fakeRecord runs record on pc and keeps what it wrote.
type fakeRecord struct {
	pc         *pageCapture
	captureErr error
	writeErr   error
	written    map[string]map[string][]byte
}

func (f *fakeRecord) options(s streams) *recordOptions {
	f.written = map[string]map[string][]byte{}
	return &recordOptions{
		streams: s, out: "recordings/2026-01-02",
		now:     func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)) },
		capture: func(context.Context) (*pageCapture, error) { return f.pc, f.captureErr },
		write: func(dir string, files map[string][]byte) error {
			f.written[dir] = files
			return f.writeErr
		},
	}
}

func TestRunRecordWritesARedactedRecording(t *testing.T) {
	f := &fakeRecord{pc: capturedPage(t)}
	s, out, errOut := testStreams("")
	require.NoError(t, recordRun(context.Background(), f.options(s)))
	require.Len(t, f.written, 1, "one recording")
	files := f.written["recordings/2026-01-02"]
	require.NotNil(t, files, "written to --out")

	var names []string
	for name, body := range files {
		names = append(names, name)
		for _, personal := range []string{"corp.test", "Ann Lee", "Bob Stone", "98765", "424242"} {
			assert.NotContains(t, string(body), personal, name)
			assert.NotContains(t, name, personal)
		}
	}
	sort.Strings(names)
	assert.Equal(t, "api/01-v3-workspaces-"+fixtures.DefaultWorkspace+"-users-page-1.json", names[0], "named by the redacted path and query")
	assert.Contains(t, string(files[names[0]]), `"email": "user001@example.test"`, "stand-ins in the JSON")
	assert.Contains(t, string(files[names[0]]), `"name": "Person 001"`)
	require.Len(t, names, 6, "%v", names)
	assert.Equal(t, []string{"api", "assets", "assets", "document.html", fixtures.RecordingManifestFile, fixtures.RecordingPage},
		[]string{strings.Split(names[0], "/")[0], strings.Split(names[1], "/")[0], strings.Split(names[2], "/")[0], names[3], names[4], names[5]})
	assert.NotContains(t, string(files[fixtures.RecordingPage]), "<script", "the rendered page drops its scripts")
	assert.Contains(t, string(files["document.html"]), "<script", "the document keeps its code")

	var m fixtures.RecordingManifest
	require.NoError(t, json.Unmarshal(files[fixtures.RecordingManifestFile], &m))
	assert.Equal(t, "2026-01-02T02:04:05Z", m.RecordedAt, "in UTC")
	assert.Equal(t, fixtures.DefaultWorkspace, m.Workspace)
	assert.Equal(t, 2, m.Members)
	assert.Equal(t, 1, m.Invitations)
	assert.Equal(t, map[string]int{"Admin": 1, "Editor": 1}, m.Roles)
	assert.Equal(t, "/workspaces/"+fixtures.DefaultWorkspace+"/settings/team", m.Page)
	var kinds []fixtures.RecordedKind
	for _, r := range m.Responses {
		kinds = append(kinds, r.Kind)
		assert.Contains(t, files, r.File, "the manifest lists files that are there")
	}
	assert.Equal(t, []fixtures.RecordedKind{fixtures.RecordedDocument, fixtures.RecordedScript, fixtures.RecordedStyle, fixtures.RecordedAPI}, kinds)
	assert.Equal(t, "page=1", m.Responses[3].Query)
	assert.NotEmpty(t, m.Redacted)

	assert.Equal(t, "recorded "+m.Page+": 2 members, 1 invitations; the document, 1 scripts, 1 style sheets and 1 /v3 responses, to recordings/2026-01-02\n"+
		"the recording's workspace id is "+fixtures.DefaultWorkspace+" (the real one was rewritten everywhere)\n"+
		"replay it with:\n  agent fixtures serve --recording recordings/2026-01-02 --addr "+replayAddr+"\n",
		strings.Join(strings.SplitAfter(out.String(), "\n")[:4], ""))
	assert.Contains(t, out.String(), "agent list --base-url http://"+replayAddr+" --workspace "+fixtures.DefaultWorkspace+" --session replay-session.json")
	assert.NotContains(t, out.String(), "98765")
	assert.Empty(t, errOut.String())
}

func TestRunRecordWithoutADocument(t *testing.T) {
	f := &fakeRecord{pc: capturedPage(t)}
	f.pc.responses = f.pc.responses[3:]
	s, out, _ := testStreams("")
	require.NoError(t, recordRun(context.Background(), f.options(s)))
	assert.Contains(t, out.String(), "; no document, 0 scripts, 0 style sheets and 1 /v3 responses, to ")
}

func TestRunRecordWritesNothingThatLeaks(t *testing.T) {
	f := &fakeRecord{pc: capturedPage(t)}
	// a row the agent could not read names someone whom the page shows
	// again, a word at a time: the redactor misses it, the scan does not
	f.pc.roster.Unreadable = []roster.Unreadable{{Kind: "member", Text: `Zebulon Quartz "z,q"@corp.test Editor Remove`}}
	f.pc.html = `<html><body><span>Zebulon</span> <span>Q.</span></body></html>`
	s, out, _ := testStreams("")
	err := recordRun(context.Background(), f.options(s))
	require.ErrorIs(t, err, errLeak)
	assert.Equal(t, exitFailed, exitCode(err))
	assert.Contains(t, err.Error(), "a word of a name")
	assert.Contains(t, err.Error(), fixtures.RecordingPage, "names the place")
	assert.NotContains(t, err.Error(), "Zebulon", "never the value")
	assert.Empty(t, f.written, "nothing was written")
	assert.Empty(t, out.String())
}

func TestRunRecordFailures(t *testing.T) {
	errDisk := errors.New("no space left on device")
	tests := []struct {
		name       string
		captureErr error
		writeErr   error
		is         error
		code       int
		writes     int
	}{
		{name: "signed out", captureErr: fmt.Errorf("list: %w", agent.ErrLoginRequired), is: agent.ErrLoginRequired, code: exitLogin},
		{name: "the page changed", captureErr: fmt.Errorf("list: %w", agent.ErrPageChanged), is: agent.ErrPageChanged, code: exitPageChanged},
		{name: "a full disk", writeErr: errDisk, is: errDisk, code: exitFailed, writes: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRecord{pc: capturedPage(t), captureErr: tc.captureErr, writeErr: tc.writeErr}
			if tc.captureErr != nil {
				f.pc = nil
			}
			s, out, _ := testStreams("")
			err := recordRun(context.Background(), f.options(s))
			require.ErrorIs(t, err, tc.is)
			assert.Equal(t, tc.code, exitCode(err))
			assert.Len(t, f.written, tc.writes)
			assert.Empty(t, out.String(), "no summary of a recording that was not written")
		})
	}
}

func TestRecordCheckOut(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	require.NoError(t, os.Mkdir(full, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(full, "page.html"), []byte("x"), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.Mkdir(empty, 0o700))
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	tests := []struct {
		name, out, want string
	}{
		{"a new directory", filepath.Join(dir, "new"), ""},
		{"an empty directory", empty, ""},
		{"no --out", "", "--out is required"},
		{"a directory with files", full, "is not empty; a recording never overwrites"},
		{"a file", file, "--out " + file},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&recordOptions{out: tc.out}).checkOut()
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, agent.ErrUsage)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
