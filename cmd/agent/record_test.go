package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
)

func TestRecordRedactsAndReplays(t *testing.T) {
	for _, rendition := range []string{fixtures.RenditionTable, fixtures.RenditionPaged} {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			chrome := fixturetest.Chrome(t)
			out := filepath.Join(t.TempDir(), "rec")
			global := []string{"--base-url", env.URL(), "--workspace", env.Server.Workspace(), "--chrome", chrome, "--timeout", "10s", "--artifacts-dir", t.TempDir()}
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"record", "--out", out, "--session", env.SessionFile}, global...), strings.NewReader(""), &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			assert.Contains(t, stdout.String(), "agent fixtures serve --recording "+out)

			// nothing personal or secret is left, in the page or the JSON
			files, _ := filepath.Glob(filepath.Join(out, "api", "*.json"))
			require.NotEmpty(t, files)
			files = append(files, filepath.Join(out, "page.html"), filepath.Join(out, "manifest.json"))
			cookie := env.Server.NewSession().Value
			for _, f := range files {
				data, err := os.ReadFile(f)
				require.NoError(t, err)
				for _, m := range env.Server.Members() {
					assert.NotContains(t, string(data), m.Email, f)
					assert.NotContains(t, strings.ToLower(string(data)), strings.ToLower(m.Email), f)
					if len(m.Name) > 3 {
						assert.NotContains(t, string(data), m.Name, f)
					}
				}
				assert.NotContains(t, string(data), cookie[:10], f)
				assert.NotContains(t, string(data), "<script", f)
			}

			// replayed, the recording reads like the page it came from
			page, err := fixtures.LoadRecording(out)
			require.NoError(t, err)
			replay := fixturetest.Start(t, fixtures.WithRecordedPage(page))
			stdout.Reset()
			stderr.Reset()
			code = run([]string{"list", "-o", "json", "--session", replay.SessionFile, "--base-url", replay.URL(), "--workspace", replay.Server.Workspace(),
				"--chrome", chrome, "--timeout", "10s", "--artifacts-dir", t.TempDir()}, strings.NewReader(""), &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			var got rosterJSON
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &got))
			require.Len(t, got.Members, len(env.Server.Members()))
			require.Len(t, got.Invitations, len(env.Server.Invitations()))
			var wantRoles, gotRoles []string
			for _, m := range env.Server.Members() {
				wantRoles = append(wantRoles, m.Role)
			}
			you := 0
			for _, m := range got.Members {
				gotRoles = append(gotRoles, m.Role)
				assert.True(t, strings.HasSuffix(m.Email, "@example.test"), m.Email)
				assert.True(t, strings.HasPrefix(m.Name, "Person "), m.Name)
				if m.You {
					you++
				}
			}
			sort.Strings(wantRoles)
			sort.Strings(gotRoles)
			assert.Equal(t, wantRoles, gotRoles)
			assert.Equal(t, 1, you)
		})
	}
}

func TestRecordNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "page.html"), []byte("x"), 0o600))
	var stdout, stderr bytes.Buffer
	code := run([]string{"record", "--out", dir, "--workspace", "1", "--session", "/nonexistent"}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "not empty")
}
