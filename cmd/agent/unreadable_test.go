package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
)

// quotedMember holds a seat under an address whose local part is quoted:
// valid, and not one the page script reads.
var quotedMember = fixtures.Member{ID: 190, Name: "Di Four", Email: `"di,four"@acme.test`, Role: fixtures.RoleViewer}

func withQuotedMember(srv *fixtures.Server) {
	srv.SetMembers(append(fixtures.SeedMembers(), quotedMember))
}

// TestListReportsUnreadableRows: a seat whose email cannot be read is
// listed with its text and a warning, and list exits 1 unless
// --allow-unreadable; it is never a roster one seat short with exit 0.
func TestListReportsUnreadableRows(t *testing.T) {
	for _, rendition := range fixtures.Renditions() {
		t.Run(rendition, func(t *testing.T) {
			e := startE2E(t, fixtures.WithRendition(rendition))
			withQuotedMember(e.Server)

			r := runCLI(t, "", e.list("-o", "json")...)
			assert.Equal(t, exitFailed, r.code, r.stderr)
			var got struct {
				Members    []memberJSON `json:"members"`
				Unreadable []struct {
					Kind string `json:"kind"`
					Text string `json:"text"`
				} `json:"unreadable"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
			assert.Len(t, got.Members, len(fixtures.SeedMembers()))
			require.Len(t, got.Unreadable, 1, r.stdout)
			assert.Equal(t, "member", got.Unreadable[0].Kind)
			assert.Contains(t, got.Unreadable[0].Text, quotedMember.Email, "the exact text, in JSON")
			msg, code := jsonError(t, r.stderr)
			assert.Equal(t, exitFailed, code)
			assert.Contains(t, msg, "--allow-unreadable")

			r = runCLI(t, "", e.list("--allow-unreadable")...)
			assert.Equal(t, exitOK, r.code, r.stderr)
			assert.Contains(t, r.stdout, "di,four", "the table shows the row")
			assert.Contains(t, r.stderr, "warning")
		})
	}
}

// TestOffboardDoesNotCallAnUnreadableRowAbsent: the target could be the
// row whose email cannot be read, so it is not reported already-absent
// (exit 0) but not verified (exit 6), and nothing is clicked.
func TestOffboardDoesNotCallAnUnreadableRowAbsent(t *testing.T) {
	m := startMut(t, fixtures.WithRendition(fixtures.RenditionFeed))
	withQuotedMember(m.Server)
	r := runCLI(t, "", m.cmd("offboard", "--email", "di@acme.test", "--yes", "-o", "json")...)
	assert.Equal(t, exitNotVerified, r.code, r.stderr)
	results := decodeResults(t, r.stdout)
	require.Len(t, results, 1)
	assert.Equal(t, "failed", results[0].Action)
	assert.Empty(t, m.Server.Mutations())
	// an address the row cannot be is still proven absent
	r = runCLI(t, "", m.cmd("offboard", "--email", "zed.nobody@acme.test", "--yes", "-o", "json")...)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "already-absent", decodeResults(t, r.stdout)[0].Action)
}

// TestSnapshotRecordsUnreadableRows: the nightly snapshot keeps the row.
func TestSnapshotRecordsUnreadableRows(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionPages))
	withQuotedMember(e.Server)
	dir := filepath.Join(e.Dir, "snapshots")
	r := runCLI(t, "", append([]string{"snapshot", "--dir", dir}, e.globals()...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "no readable email")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var snap struct {
		Unreadable []struct {
			Kind string `json:"kind"`
			Text string `json:"text"`
		} `json:"unreadable"`
	}
	require.NoError(t, json.Unmarshal(data, &snap))
	require.Len(t, snap.Unreadable, 1)
	assert.True(t, strings.Contains(snap.Unreadable[0].Text, quotedMember.Email))
}

// TestRecordRedactsUnreadableRowsAndTheWorkspace: an address the page
// script cannot read, the name on its row and the workspace id are in no
// recorded file and no file name.
func TestRecordRedactsUnreadableRowsAndTheWorkspace(t *testing.T) {
	e := startE2E(t, fixtures.WithRendition(fixtures.RenditionTable), fixtures.WithWorkspace("98765"))
	withQuotedMember(e.Server)
	out := filepath.Join(e.Dir, "rec")
	r := runCLI(t, "", append([]string{"record", "--out", out}, e.globals()...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var names []string
	require.NoError(t, filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		names = append(names, p)
		if info.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, leaked := range []string{"di,four", "Di Four", "98765", "acme.test"} {
			assert.NotContains(t, string(data), leaked, p)
		}
		return nil
	}))
	assert.NotContains(t, strings.Join(names, "\n"), "98765")
}
