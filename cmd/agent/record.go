package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/recording"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
)

// errLeak means a redacted recording still holds something that looks
// like personal data, so it was not written.
var errLeak = errors.New("the redacted recording still looks like it holds personal data")

// leakError names what the leak scan found, by kind and place: never the
// value itself.
func leakError(leaks []recording.Leak) error {
	const most = 10
	var where []string
	for i, l := range leaks {
		if i == most {
			where = append(where, fmt.Sprintf("and %d more", len(leaks)-most))
			break
		}
		where = append(where, l.String())
	}
	return fmt.Errorf("%w; nothing was written: %s", errLeak, strings.Join(where, "; "))
}

var unsafeFile = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// recordOptions are what `agent record` runs with.
type recordOptions struct {
	streams streams
	// out is --out, the new or empty directory to write to.
	out string
	// now dates the recording.
	now func() time.Time
	// capture reads the Team page as list does and returns what it
	// loaded; write writes the recording's files.
	capture func(ctx context.Context) (*pageCapture, error)
	write   func(dir string, files map[string][]byte) error
}

// checkOut refuses a missing --out, and one that holds files: a
// recording never overwrites.
func (o *recordOptions) checkOut() error {
	if o.out == "" {
		return usageError("--out is required")
	}
	entries, err := os.ReadDir(o.out)
	if err == nil && len(entries) > 0 {
		return usageError("--out %s is not empty; a recording never overwrites", o.out)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return usageError("--out %s: %v", o.out, err)
	}
	return nil
}

// newRecordCmd builds `agent record`; runF, when not nil, runs instead of
// recordRun.
func newRecordCmd(a *app, runF func(context.Context, *recordOptions) error) *cobra.Command {
	opts := &recordOptions{streams: a.streams(), now: func() time.Time { return a.now() }, capture: a.captureTeamPage, write: writeRecording}
	cmd := &cobra.Command{
		Use:   "record",
		Short: "Record the live Team page (its document, scripts, styles and /v3 JSON), redacted, as a fixture",
		Long: `record opens the Team page with the session, reads it as list does (following
pagination and scrolling), and stores in --out what the page loaded: the document
as the server sent it, the same-origin scripts and style sheets it loaded, and the
/v3 JSON its code fetched, each with the query it was fetched with; and, for
reference, the rendered DOM with its scripts dropped (page.html). Emails, names,
initials, ids, cookies and tokens are replaced, in scripts too, and the workspace
id is rewritten in every file, path and file name. Rows whose email the agent
cannot read are redacted by their text. Before anything is written, a final scan
looks through every file and file name for anything still shaped like an address,
a UUID, the workspace id, an id or a name it learned; if it finds one, record
writes nothing and exits 1, naming only the kind and place.
Use it to confirm the Team page's path and markup against docs/page-contract.md,
and replay it with: agent fixtures serve --recording DIR, which runs the page's
own code against the recorded responses. record prints the workspace id and the
sign-in to use with the replay.`,
		Example: `  agent record --out recordings/$(date +%F)`,
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			return opts.checkOut()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return recordRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "the directory to write the recording to (new or empty)")
	return cmd
}

// recordRun captures the Team page, redacts everything it loaded in
// memory, and writes the recording only when the final scan finds nothing
// personal left in it.
func recordRun(ctx context.Context, opts *recordOptions) error {
	pc, err := opts.capture(ctx)
	if err != nil {
		return err
	}
	rec := redactCapture(pc, opts.now())
	if leaks := rec.red.Leaks(rec.files); len(leaks) > 0 {
		return leakError(leaks)
	}
	if err := opts.write(opts.out, rec.files); err != nil {
		return err
	}
	document := "no document"
	if rec.kinds[fixtures.RecordedDocument] > 0 {
		document = "the document"
	}
	m := rec.manifest
	fmt.Fprintf(opts.streams.Out, "recorded %s: %d members, %d invitations; %s, %d scripts, %d style sheets and %d /v3 responses, to %s\n",
		m.Page, m.Members, m.Invitations, document, rec.kinds[fixtures.RecordedScript], rec.kinds[fixtures.RecordedStyle], rec.kinds[fixtures.RecordedAPI], opts.out)
	writeReplayHelp(opts.streams.Out, opts.out, m)
	return nil
}

// pageCapture is what record read of the Team page.
type pageCapture struct {
	// team is the Team page's URL; workspace the workspace read.
	team      *url.URL
	workspace string
	// roster is the list as read; html the rendered DOM.
	roster *roster.Roster
	html   string
	// responses are the last response to each request a recording keeps,
	// in the order of the requests.
	responses []agent.Response
}

// captureTeamPage opens the Team page, reads it as list does while the
// browser captures what it loads, and keeps the page's artifacts when a
// step fails.
func (a *app) captureTeamPage(ctx context.Context) (*pageCapture, error) {
	s, err := a.openSession(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	team, err := url.Parse(s.team.URL())
	if err != nil {
		return nil, usageError("the Team page's URL %s: %v", s.team.URL(), err)
	}
	capture := s.b.CaptureResponses(func(r agent.Response) bool {
		return r.Method == http.MethodGet && recordedKind(team, r) != ""
	})
	r, err := s.team.List(ctx, s.cfg.Workspace)
	if err != nil {
		return nil, s.fail("record", err)
	}
	html, err := s.b.HTML(ctx)
	if err != nil {
		return nil, s.fail("record", err)
	}
	responses, err := capture.Finish(ctx)
	if err != nil {
		return nil, s.fail("record", err)
	}
	return &pageCapture{team: team, workspace: s.cfg.Workspace, roster: r, html: html, responses: latestResponses(team, responses)}, nil
}

// redactedRecording is a recording redacted in memory: its files by name,
// its manifest, how many responses of each kind it holds, and the
// redactor that knows what it replaced.
type redactedRecording struct {
	red      *recording.Redactor
	manifest fixtures.RecordingManifest
	files    map[string][]byte
	kinds    map[fixtures.RecordedKind]int
}

// redactCapture redacts everything pc holds: the redactor first learns
// the ids and names in the /v3 JSON and the roster, then every file is
// redacted, the manifest last.
func redactCapture(pc *pageCapture, now time.Time) *redactedRecording {
	red := recording.New(pc.workspace)
	for _, resp := range pc.responses {
		if recordedKind(pc.team, resp) == fixtures.RecordedAPI {
			red.LearnJSON(resp.Body)
		}
	}
	r := pc.roster
	m := fixtures.RecordingManifest{
		RecordedAt: now.UTC().Format("2006-01-02T15:04:05Z"), Workspace: red.WorkspaceStandIn,
		Members: len(r.Members), Invitations: len(r.Invitations), Roles: map[string]int{},
	}
	for _, mem := range r.Members {
		red.LearnName(mem.Name)
		m.Roles[string(mem.Role)]++
	}
	for _, u := range r.Unreadable {
		red.LearnUnreadable(u.Text)
	}
	m.Unreadable = len(r.Unreadable)
	rec := &redactedRecording{red: red, manifest: m, kinds: map[fixtures.RecordedKind]int{},
		files: map[string][]byte{fixtures.RecordingPage: []byte(red.HTML(pc.html))}}
	for _, resp := range pc.responses {
		rec.add(pc.team, resp)
	}
	rec.manifest.Page = red.Text(pc.team.Path)
	rec.manifest.Redacted = red.Counts()
	data, _ := json.MarshalIndent(rec.manifest, "", "  ")
	rec.files[fixtures.RecordingManifestFile] = append(data, '\n')
	return rec
}

// add redacts one response into a file of its kind, named by its
// redacted path and query, and lists it in the manifest.
func (rec *redactedRecording) add(team *url.URL, resp agent.Response) {
	red := rec.red
	kind := recordedKind(team, resp)
	u, _ := url.Parse(resp.URL)
	path, query := red.Text(u.Path), red.Query(u.RawQuery)
	rec.kinds[kind]++
	var name string
	var body []byte
	switch kind {
	case fixtures.RecordedDocument:
		name, body = recordingDocument, []byte(red.Document(string(resp.Body)))
	case fixtures.RecordedScript, fixtures.RecordedStyle:
		name = fmt.Sprintf("assets/%02d-%s", rec.kinds[fixtures.RecordedScript]+rec.kinds[fixtures.RecordedStyle], fileName(path, ""))
		body = []byte(red.Script(string(resp.Body)))
	default:
		name = fmt.Sprintf("api/%02d-%s.json", rec.kinds[kind], fileName(path, query))
		body = red.JSON(resp.Body)
	}
	rec.files[name] = body
	rec.manifest.Responses = append(rec.manifest.Responses, fixtures.RecordedResponse{
		File: name, Kind: kind, Method: resp.Method, Path: path, Query: query,
		Status: resp.Status, ContentType: resp.MIMEType,
	})
}

// recordingDocument is the file of a recording that holds the page's
// document as the server sent it.
const recordingDocument = "document.html"

// replayAddr is the address `agent fixtures serve` listens on by default.
const replayAddr = "127.0.0.1:8089"

// writeReplayHelp prints how to replay the recording in dir: the command
// that serves it, and next to the command to run on it, the workspace id
// the recording uses, the base URL and the sign-in.
func writeReplayHelp(w io.Writer, dir string, m fixtures.RecordingManifest) {
	base := "http://" + replayAddr
	email, pwd := fixtures.DefaultEmail, fixtures.DefaultPassword
	target := replayTarget(base, m.Workspace, m.Page)
	fmt.Fprintf(w, "the recording's workspace id is %s (the real one was rewritten everywhere)\n", m.Workspace)
	fmt.Fprintf(w, "replay it with:\n  agent fixtures serve --recording %s --addr %s\n", dir, replayAddr)
	fmt.Fprintf(w, "then read it with the session file that command prints:\n  agent list %s --session SESSION_FILE\n", target)
	fmt.Fprintf(w, "or sign in to the replay (%s / %s) and read it:\n  printf '%%s' %s | agent login --email %s --password-stdin %s --session replay-session.json\n  agent list %s --session replay-session.json\n",
		email, pwd, pwd, email, target, target)
}

// replayTarget returns the flags that point a command at a replay: its
// base URL, the recording's workspace id and, when the page is not at the
// default path, the page's path.
func replayTarget(base, workspace, page string) string {
	t := "--base-url " + base + " --workspace " + workspace
	if page != "" && page != strings.ReplaceAll(agent.DefaultTeamPath, "{workspace}", workspace) {
		t += " --team-path " + page
	}
	return t
}

// recordedKind says what a response the Team page loaded is to a
// recording, or "" when it is none of it: the page's own document, a
// same-origin script or style sheet, or /v3 JSON.
func recordedKind(team *url.URL, r agent.Response) fixtures.RecordedKind {
	u, err := url.Parse(r.URL)
	if err != nil || u.Scheme != team.Scheme || u.Host != team.Host {
		return ""
	}
	switch r.Type {
	case agent.ResourceDocument:
		if u.Path == team.Path {
			return fixtures.RecordedDocument
		}
		return ""
	case agent.ResourceScript:
		return fixtures.RecordedScript
	case agent.ResourceStylesheet:
		return fixtures.RecordedStyle
	}
	if strings.HasPrefix(u.Path, "/v3/") || strings.Contains(r.MIMEType, "json") {
		return fixtures.RecordedAPI
	}
	return ""
}

// latestResponses keeps the last response to each request (a page loaded
// twice asks twice), in the order the requests were first made.
func latestResponses(team *url.URL, rs []agent.Response) []agent.Response {
	last := map[string]int{}
	var order []string
	for i, r := range rs {
		k := r.Method + " " + r.URL
		if recordedKind(team, r) == fixtures.RecordedDocument {
			k = string(fixtures.RecordedDocument)
		}
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = i
	}
	out := make([]agent.Response, 0, len(order))
	for _, k := range order {
		out = append(out, rs[last[k]])
	}
	return out
}

// fileName turns a redacted path and query into a file name.
func fileName(path, query string) string {
	n := path
	if query != "" {
		n += "-" + query
	}
	n = strings.Trim(unsafeFile.ReplaceAllString(n, "-"), "-")
	if len(n) > 100 {
		n = n[len(n)-100:]
	}
	if n == "" {
		n = "root"
	}
	return n
}

// writeRecording writes the files of a recording into dir.
func writeRecording(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := fsutil.CreateFileAtomic(p, files[name], 0o600); err != nil {
			return err
		}
	}
	return nil
}
