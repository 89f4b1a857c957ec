package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clay-agent/clay-agent/agent/fsutil"
	"github.com/clay-agent/clay-agent/agent/recording"
	"github.com/clay-agent/clay-agent/fixtures"
)

func init() { registerCommand((*app).recordCommand) }

// recordManifest describes a recording.
type recordManifest struct {
	RecordedAt  string           `json:"recorded_at"`
	Page        string           `json:"page"`
	Members     int              `json:"members"`
	Invitations int              `json:"invitations"`
	Roles       map[string]int   `json:"roles"`
	Responses   []recordResponse `json:"responses"`
	Redacted    map[string]int   `json:"redacted"`
	// Unreadable counts the rows with controls and no readable email.
	Unreadable int `json:"unreadable"`
}

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

type recordResponse struct {
	File   string `json:"file"`
	Path   string `json:"path"`
	Status int64  `json:"status"`
}

var unsafeFile = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (a *app) recordCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "record",
		Short: "Record the live Team page (DOM and /v3 JSON), redacted, as a fixture",
		Long: `record opens the Team page with the session, reads it as list does (following
pagination and scrolling), and stores its DOM and the /v3 JSON it loaded in --out,
with emails, names, ids, cookies and tokens replaced and scripts dropped. Rows
whose email the agent cannot read are redacted by their text. Before anything is
written, a final scan looks through every file and file name for anything still
shaped like an address, a UUID, the workspace id, an id or a name it learned; if
it finds one, record writes nothing and exits 1, naming only the kind and place.
Use it to confirm the Team page's path and markup against shared/clay-team-page.md, and
replay it with: agent fixtures serve --recording DIR.`,
		Example: `  agent record --out recordings/$(date +%F)`,
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if out == "" {
				return usageError("--out is required")
			}
			entries, err := os.ReadDir(out)
			if err == nil && len(entries) > 0 {
				return usageError("--out %s is not empty; a recording never overwrites", out)
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return usageError("--out %s: %v", out, err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.openSession(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			capture := s.b.CaptureResponses(func(u, mime string) bool {
				return strings.Contains(u, "/v3/") || strings.Contains(mime, "json")
			})
			r, err := s.team.List(ctx, s.cfg.Workspace)
			if err != nil {
				return s.fail("record", err)
			}
			html, err := s.b.HTML(ctx)
			if err != nil {
				return s.fail("record", err)
			}
			responses, err := capture.Finish(ctx)
			if err != nil {
				return s.fail("record", err)
			}
			red := recording.New(s.cfg.Workspace)
			for _, resp := range responses {
				red.LearnJSON(resp.Body)
			}
			m := recordManifest{RecordedAt: a.now().UTC().Format("2006-01-02T15:04:05Z"), Members: len(r.Members), Invitations: len(r.Invitations), Roles: map[string]int{}}
			for _, mem := range r.Members {
				red.LearnName(mem.Name)
				m.Roles[string(mem.Role)]++
			}
			for _, u := range r.Unreadable {
				red.LearnUnreadable(u.Text)
			}
			m.Unreadable = len(r.Unreadable)
			// everything is redacted and scanned in memory first: nothing is
			// written unless the whole recording is clean
			files := map[string][]byte{fixtures.RecordingPage: []byte(red.HTML(html))}
			for i, resp := range responses {
				u, _ := url.Parse(resp.URL)
				path := ""
				if u != nil {
					path = red.Text(u.Path)
				}
				name := "api/" + fmt.Sprintf("%02d-%s.json", i+1, strings.Trim(unsafeFile.ReplaceAllString(path, "-"), "-"))
				files[name] = red.JSON(resp.Body)
				m.Responses = append(m.Responses, recordResponse{File: name, Path: path, Status: resp.Status})
			}
			if u, err := url.Parse(s.team.URL()); err == nil {
				m.Page = red.Text(u.Path)
			}
			m.Redacted = red.Counts()
			data, _ := json.MarshalIndent(m, "", "  ")
			files["manifest.json"] = append(data, '\n')
			if leaks := red.Leaks(files); len(leaks) > 0 {
				return leakError(leaks)
			}
			if err := os.MkdirAll(filepath.Join(out, "api"), 0o700); err != nil {
				return err
			}
			names := make([]string, 0, len(files))
			for name := range files {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if err := fsutil.CreateFileAtomic(filepath.Join(out, filepath.FromSlash(name)), files[name], 0o600); err != nil {
					return err
				}
			}
			fmt.Fprintf(a.stdout, "recorded %s: %d members, %d invitations, %d responses, to %s\n", m.Page, m.Members, m.Invitations, len(m.Responses), out)
			fmt.Fprintf(a.stdout, "replay it with: agent fixtures serve --recording %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the directory to write the recording to (new or empty)")
	return cmd
}
