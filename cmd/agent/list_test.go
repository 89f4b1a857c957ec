package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/fixtures"
)

// wantMember is one member as `agent list -o json` documents it.
type wantMember struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
	You   bool   `json:"you"`
}

type wantInvitation struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// expected returns the fixture's members and invitations as the CLI must
// print them.
func (e *e2e) expected() ([]wantMember, []wantInvitation) {
	self, _ := e.Server.Credentials()
	var ms []wantMember
	for _, m := range e.Server.Members() {
		ms = append(ms, wantMember{Name: m.Name, Email: m.Email, Role: m.Role, You: strings.EqualFold(m.Email, self)})
	}
	var is []wantInvitation
	for _, i := range e.Server.Invitations() {
		is = append(is, wantInvitation{Email: i.Email, Role: i.Role})
	}
	return ms, is
}

func TestListJSONEveryRendition(t *testing.T) {
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(rendition))
			before := time.Now().UTC().Truncate(time.Second)
			r := runCLI(t, "", e.list("-o", "json")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Empty(t, r.stderr)

			// the documented shape, key for key
			var raw map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw), r.stdout)
			assert.ElementsMatch(t, []string{"workspace", "captured_at", "members", "invitations", "unreadable"}, keys(raw))
			assert.JSONEq(t, "[]", string(raw["unreadable"]), "every row was read")
			var rawMembers []map[string]any
			require.NoError(t, json.Unmarshal(raw["members"], &rawMembers))
			require.NotEmpty(t, rawMembers)
			for _, m := range rawMembers {
				assert.ElementsMatch(t, []string{"name", "email", "role", "you"}, keys(m))
				assert.IsType(t, true, m["you"])
			}
			var rawInvs []map[string]any
			require.NoError(t, json.Unmarshal(raw["invitations"], &rawInvs))
			for _, i := range rawInvs {
				assert.ElementsMatch(t, []string{"email", "role"}, keys(i))
			}

			var got struct {
				Workspace   string           `json:"workspace"`
				CapturedAt  string           `json:"captured_at"`
				Members     []wantMember     `json:"members"`
				Invitations []wantInvitation `json:"invitations"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
			assert.Equal(t, e.Server.Workspace(), got.Workspace)
			at, err := time.Parse(time.RFC3339, got.CapturedAt)
			require.NoError(t, err, "captured_at must be RFC 3339: %q", got.CapturedAt)
			assert.False(t, at.Before(before), "captured_at %s is before the run began", at)
			assert.False(t, at.After(time.Now()), "captured_at %s is in the future", at)

			ms, is := e.expected()
			assert.ElementsMatch(t, ms, got.Members)
			assert.ElementsMatch(t, is, got.Invitations)

			// the awkward seed rows come back whole and distinct
			byEmail := map[string]wantMember{}
			for _, m := range got.Members {
				byEmail[m.Email] = m
			}
			assert.Equal(t, "Smith, John", byEmail["john.smith@acme.test"].Name)
			assert.Equal(t, `Robert "Bob" O'Neil`, byEmail["bob.oneil@acme.test"].Name)
			assert.Equal(t, "Zoë Ålander", byEmail["zoe.alander@acme.test"].Name)
			assert.Equal(t, "李小龍", byEmail["xiaolong.li@acme.test"].Name)
			assert.Equal(t, "Al Brenner", byEmail["al@acme.test"].Name)
			assert.Equal(t, "Sal Moreno", byEmail["sal@acme.test"].Name)
			assert.Equal(t, "Kal Iyer", byEmail["kal@acme.test.io"].Name)
			assert.Contains(t, byEmail, "Jo.Park@Acme.test", "the email keeps its case")
			assert.Equal(t, "Sales rep", byEmail["sal@acme.test"].Role)
			you := 0
			for _, m := range got.Members {
				if m.You {
					you++
					assert.Equal(t, "admin@acme.test", m.Email)
					assert.Equal(t, "Ana López", m.Name, "the (you) marker is not part of the name")
				}
			}
			assert.Equal(t, 1, you)
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestListCSVEveryRendition(t *testing.T) {
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(rendition))
			r := runCLI(t, "", e.list("-o", "csv")...)
			require.Equal(t, exitOK, r.code, r.stderr)

			// RFC 4180: CRLF line breaks, fields with commas or quotes quoted,
			// quotes doubled
			assert.True(t, strings.HasSuffix(r.stdout, "\r\n"), "records end with CRLF")
			assert.NotContains(t, strings.ReplaceAll(r.stdout, "\r\n", ""), "\n", "no bare LF")
			assert.Contains(t, r.stdout, `"Smith, John"`)
			assert.Contains(t, r.stdout, `"Robert ""Bob"" O'Neil"`)

			rd := csv.NewReader(strings.NewReader(r.stdout))
			records, err := rd.ReadAll()
			require.NoError(t, err)
			require.NotEmpty(t, records)
			assert.Equal(t, []string{"type", "name", "email", "role", "you"}, records[0])

			ms, is := e.expected()
			var want [][]string
			for _, m := range ms {
				want = append(want, []string{"member", m.Name, m.Email, m.Role, boolText(m.You)})
			}
			for _, i := range is {
				want = append(want, []string{"invitation", "", i.Email, i.Role, "false"})
			}
			assert.ElementsMatch(t, want, records[1:])
		})
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestListTableEveryRendition(t *testing.T) {
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(rendition))
			r := runCLI(t, "", e.list()...)
			require.Equal(t, exitOK, r.code, r.stderr)
			lines := strings.Split(r.stdout, "\n")
			require.NotEmpty(t, lines)
			assert.Regexp(t, `^NAME\s+EMAIL\s+ROLE`, lines[0])
			ms, is := e.expected()
			for _, m := range ms {
				line := lineWith(lines, m.Email)
				if assert.NotEmpty(t, line, "a row for %s", m.Email) {
					assert.Contains(t, line, m.Name)
					assert.Contains(t, line, m.Role)
					assert.Equal(t, m.You, strings.Contains(line, "(you)"), line)
				}
			}
			assert.Contains(t, r.stdout, "12 members, 2 pending invitations")
			for _, i := range is {
				line := lineWith(lines, i.Email)
				if assert.NotEmpty(t, line, "a row for the invitation of %s", i.Email) {
					assert.Contains(t, line, i.Role)
				}
			}
		})
	}
}

// lineWith returns the line holding email as a whole field.
func lineWith(lines []string, email string) string {
	for _, l := range lines {
		for _, f := range strings.Fields(l) {
			if f == email {
				return l
			}
		}
	}
	return ""
}

func TestListExpiredSessionExitsThree(t *testing.T) {
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(rendition))
			e.Server.SetFaults(fixtures.Faults{ExpireSession: true})
			r := runCLI(t, "", e.list("--timeout", "3m")...)
			assert.Equal(t, exitLogin, r.code, r.stderr)
			assert.Contains(t, r.stderr, "agent login")
			assert.Empty(t, r.stdout)
			assert.Less(t, r.elapsed, 90*time.Second, "it must not wait for the step timeout")
		})
	}
}

func TestListDriftExitsFourWithArtifacts(t *testing.T) {
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(rendition))
			e.Server.SetFaults(fixtures.Faults{Drift: true})
			args := e.list()
			args = append(args, "--timeout", "3s")
			r := runCLI(t, "", args...)
			assert.Equal(t, exitPageChanged, r.code, r.stderr)
			assert.Empty(t, r.stdout)

			paths := artifactPaths(t, r.stderr)
			require.Len(t, paths, 3, r.stderr)
			byExt := map[string]string{}
			for _, p := range paths {
				abs, err := filepath.Abs(p)
				require.NoError(t, err)
				root, err := filepath.Abs(e.artifacts)
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(abs, root+string(filepath.Separator)), "%s is under --artifacts-dir", p)
				switch {
				case strings.HasSuffix(p, ".console.txt"):
					byExt["console"] = p
				case strings.HasSuffix(p, ".png"):
					byExt["png"] = p
				case strings.HasSuffix(p, ".html"):
					byExt["html"] = p
				}
			}
			require.Len(t, byExt, 3, "one png, one html and one console.txt: %v", paths)
			png, err := os.ReadFile(byExt["png"])
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")), "a PNG image")
			html, err := os.ReadFile(byExt["html"])
			require.NoError(t, err)
			assert.Contains(t, strings.ToLower(string(html)), "<html")
			_, err = os.Stat(byExt["console"])
			require.NoError(t, err)
			for _, p := range paths {
				st, err := os.Stat(p)
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "%s may hold personal data", p)
			}
		})
	}
}

// artifactPaths reads the paths the CLI printed after "artifacts of the
// failure:".
func artifactPaths(t *testing.T, stderr string) []string {
	t.Helper()
	const marker = "artifacts of the failure: "
	for _, l := range strings.Split(stderr, "\n") {
		if _, rest, ok := strings.Cut(l, marker); ok {
			return strings.Split(strings.TrimSpace(rest), ", ")
		}
	}
	return nil
}

func TestListNeverPrintsTheSessionCookie(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionGrid))
	state, err := agent.LoadSession(e.SessionFile, time.Now())
	require.NoError(t, err)
	c, ok := state.SessionCookie()
	require.True(t, ok)
	require.NotEmpty(t, c.Value)
	id := strings.TrimPrefix(strings.SplitN(c.Value, ".", 2)[0], "s:")

	tests := []struct {
		name   string
		faults fixtures.Faults
		extra  []string
		code   int
	}{
		{"debug logs", fixtures.Faults{}, []string{"-vv"}, exitOK},
		{"debug logs as JSON", fixtures.Faults{}, []string{"-vv", "--log-format", "json", "-o", "json"}, exitOK},
		{"expired session with debug logs", fixtures.Faults{ExpireSession: true}, []string{"-vv"}, exitLogin},
		{"drift with debug logs", fixtures.Faults{Drift: true}, []string{"-vv", "--timeout", "3s"}, exitPageChanged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.Server.SetFaults(tc.faults)
			r := runCLI(t, "", e.list(tc.extra...)...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			assert.NotEmpty(t, r.stderr, "-vv logs something")
			for _, out := range []string{r.stdout, r.stderr} {
				assert.NotContains(t, out, c.Value)
				assert.NotContains(t, out, id)
			}
		})
	}
}

func TestListUsesTheEnvironment(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionTable))
	t.Run("environment only", func(t *testing.T) {
		t.Setenv("CLAY_BASE_URL", e.URL())
		t.Setenv("CLAY_WORKSPACE", e.Server.Workspace())
		t.Setenv("CLAY_SESSION", e.SessionFile)
		t.Setenv("CHROME_PATH", e.chrome)
		t.Setenv("CLAY_ARTIFACTS_DIR", e.artifacts)
		r := runCLI(t, "", "list", "-o", "json")
		require.Equal(t, exitOK, r.code, r.stderr)
		var got struct {
			Workspace string       `json:"workspace"`
			Members   []wantMember `json:"members"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
		assert.Equal(t, e.Server.Workspace(), got.Workspace)
		assert.Len(t, got.Members, len(e.Server.Members()))
	})
	t.Run("flags over a wrong environment", func(t *testing.T) {
		t.Setenv("CLAY_BASE_URL", "http://127.0.0.1:9")
		t.Setenv("CLAY_WORKSPACE", "999999")
		t.Setenv("CLAY_SESSION", filepath.Join(e.Dir, "no-such-session.json"))
		t.Setenv("CHROME_PATH", noBrowser)
		r := runCLI(t, "", e.list("-o", "json")...)
		require.Equal(t, exitOK, r.code, r.stderr)
		var got struct {
			Workspace string       `json:"workspace"`
			Members   []wantMember `json:"members"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
		assert.Equal(t, e.Server.Workspace(), got.Workspace)
		assert.Len(t, got.Members, len(e.Server.Members()))
	})
}

// With -o json every line the command writes on stderr is JSON, failures
// included (design.md: machine-readable output, errors too), and it still
// says where the failure's artifacts are.
func TestListJSONFailureWritesOnlyJSONOnStderr(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionGrid))
	e.Server.SetFaults(fixtures.Faults{Drift: true})
	r := runCLI(t, "", e.list("-o", "json", "--timeout", "3s")...)
	require.Equal(t, exitPageChanged, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	lines := r.stderrLines()
	require.NotEmpty(t, lines)
	for _, l := range lines {
		var v map[string]any
		assert.NoError(t, json.Unmarshal([]byte(l), &v), "a stderr line that is not JSON: %q", l)
	}
	pngs, err := filepath.Glob(filepath.Join(e.artifacts, "*.png"))
	require.NoError(t, err)
	require.Len(t, pngs, 1)
	assert.Contains(t, r.stderr, pngs[0], "stderr names the screenshot")
}

// Names are chosen by whoever edits a profile: the table shows them
// escaped, CSV keeps a spreadsheet from running them, JSON keeps them
// exactly.
func TestListShowsHostileNamesSafely(t *testing.T) {
	const (
		hostile = "Eve \x1b]0;pwned\x07 \u202enimdA"
		formula = `=HYPERLINK("http://evil.test/","click")`
	)
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionTable))
	e.Server.SetMembers(append(fixtures.SeedMembers(),
		fixtures.Member{ID: 920, Name: hostile, Email: "eve@evil.test", Role: fixtures.RoleEditor},
		fixtures.Member{ID: 921, Name: formula, Email: "formula@evil.test", Role: fixtures.RoleViewer}))

	t.Run("table", func(t *testing.T) {
		r := runCLI(t, "", e.list()...)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.NotContains(t, r.stdout, "\x1b")
		assert.NotContains(t, r.stdout, "\x07")
		assert.NotContains(t, r.stdout, "\u202e")
		line := lineWith(strings.Split(r.stdout, "\n"), "eve@evil.test")
		assert.Contains(t, line, `Eve \x1b]0;pwned\a \u202enimdA`)
		assert.Contains(t, lineWith(strings.Split(r.stdout, "\n"), "formula@evil.test"), formula)
	})
	csvName := func(t *testing.T, out, email string) string {
		t.Helper()
		records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		require.NoError(t, err)
		for _, rec := range records {
			if rec[2] == email {
				return rec[1]
			}
		}
		require.Failf(t, "no row", "for %s in\n%s", email, out)
		return ""
	}
	t.Run("csv", func(t *testing.T) {
		r := runCLI(t, "", e.list("-o", "csv")...)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, "'"+formula, csvName(t, r.stdout, "formula@evil.test"))
		assert.Equal(t, hostile, csvName(t, r.stdout, "eve@evil.test"))
	})
	t.Run("csv raw", func(t *testing.T) {
		r := runCLI(t, "", e.list("-o", "csv", "--csv-raw")...)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, formula, csvName(t, r.stdout, "formula@evil.test"))
	})
	t.Run("json", func(t *testing.T) {
		r := runCLI(t, "", e.list("-o", "json")...)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.NotContains(t, r.stdout, "\x1b", "encoding/json escapes controls")
		var got struct {
			Members []wantMember `json:"members"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
		byEmail := map[string]string{}
		for _, m := range got.Members {
			byEmail[m.Email] = m.Name
		}
		assert.Equal(t, hostile, byEmail["eve@evil.test"])
		assert.Equal(t, formula, byEmail["formula@evil.test"])
	})
}
