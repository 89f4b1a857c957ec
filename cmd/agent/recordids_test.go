package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/fixtures"
)

// idBase numbers the live page's ids from 1001: the values a recording's
// stand-ins start from, so that a stand-in that took an original id's
// value would show as a leak (and a recording refused as one).
const idBase = 1000

// recordIDRenditions are the pages recorded with numeric ids: a bundled
// one whose removals replay, and one generated rendition of each list form
// of the covering set.
func recordIDRenditions() []string {
	out := []string{fixtures.RenditionPaged}
	for _, form := range fixtures.GenValues(fixtures.DimList) {
		for _, g := range fixtures.CoveringSet() {
			if g.Is(fixtures.DimList, form) {
				out = append(out, g.Name())
				break
			}
		}
	}
	return out
}

// TestRecordReplacesNumericIDs: the /v3 JSON holds numeric ids (the
// contract says so) and the page puts them in URLs and the DOM. A
// recording replaces every one by a stand-in that is no id of the page,
// so no original id is left in any file, and the replay joins them again:
// it lists the same members, and a removal of a recorded row is replayed.
func TestRecordReplacesNumericIDs(t *testing.T) {
	for _, rendition := range recordIDRenditions() {
		t.Run(rendition, func(t *testing.T) {
			live := startE2E(t, fixtures.WithRendition(rendition), fixtures.WithWorkspace(liveWorkspace),
				fixtures.WithMembers(60), fixtures.WithExternalAssets(), fixtures.WithIDBase(idBase))
			want := listJSON(t, live)
			var ids []string
			for _, m := range live.Server.Members() {
				require.Greater(t, m.ID, idBase)
				ids = append(ids, strconv.Itoa(m.ID))
			}
			for _, inv := range live.Server.Invitations() {
				ids = append(ids, strconv.Itoa(inv.ID))
			}
			out, _ := recordFixture(t, live)

			anyID := regexp.MustCompile(`(^|[^\pL\pN])(` + regexp.QuoteMeta(ids[0]) + joinAlt(ids[1:]) + `)($|[^\pL\pN])`)
			files := 0
			require.NoError(t, filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
				require.NoError(t, err)
				rel, _ := filepath.Rel(out, p)
				assert.False(t, anyID.MatchString(rel), "an original id in the name %s", rel)
				if info.IsDir() {
					return nil
				}
				data, err := os.ReadFile(p)
				require.NoError(t, err)
				if m := anyID.FindSubmatch(data); m != nil {
					t.Errorf("original id %s in %s", m[2], rel)
				}
				files++
				return nil
			}))
			require.Positive(t, files)

			replay := startReplay(t, live, out)
			got := listJSON(t, replay)
			assertSameRoster(t, want, got)
			emails := map[string]bool{}
			for _, m := range got.Members {
				emails[m.Email] = true
			}
			assert.Len(t, emails, len(want.Members), "every member has a stand-in of its own")

			// the removal is sent with the stand-in of the row's id, and the
			// replay answers it
			var target memberJSON
			for _, m := range got.Members[len(got.Members)/2:] {
				if !m.You && m.Role != "Admin" {
					target = m
					break
				}
			}
			require.NotEmpty(t, target.Email)
			m := &mutEnv{e2e: replay, auditLog: filepath.Join(replay.Dir, "audit.jsonl"), evidence: filepath.Join(replay.Dir, "evidence"), locks: filepath.Join(replay.Dir, "locks")}
			r := runCLI(t, "", m.cmd("offboard", "--email", target.Email, "--yes", "-o", "json")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			results := decodeResults(t, r.stdout)
			require.Len(t, results, 1)
			assert.Equal(t, "removed", results[0].Action)
			after := listJSON(t, replay)
			assert.Len(t, after.Members, len(got.Members)-1)
			for _, mem := range after.Members {
				assert.NotEqual(t, target.Email, mem.Email)
			}
		})
	}
}

func joinAlt(ids []string) string {
	s := ""
	for _, id := range ids {
		s += "|" + regexp.QuoteMeta(id)
	}
	return s
}

// TestRecordReplaysTheCoveringSet: record → replay on every generated
// rendition of the covering set (the ones TestRecordReplacesNumericIDs
// does not record already): the replay lists the same members, with the
// same roles and the same signed-in user, and the same invitations.
func TestRecordReplaysTheCoveringSet(t *testing.T) {
	done := map[string]bool{}
	for _, r := range recordIDRenditions() {
		done[r] = true
	}
	for _, g := range fixtures.CoveringSet() {
		if done[g.Name()] {
			continue
		}
		t.Run(g.Name(), func(t *testing.T) {
			t.Log(g.String())
			live := startE2E(t, fixtures.WithRendition(g.Name()), fixtures.WithWorkspace(liveWorkspace), fixtures.WithIDBase(idBase))
			want := listJSON(t, live)
			out, _ := recordFixture(t, live)
			replay := startReplay(t, live, out)
			assertSameRoster(t, want, listJSON(t, replay))
		})
	}
}

// assertSameRoster asserts that a replay lists what the live page listed:
// as many members and invitations, the same roles and the same signed-in
// user (the addresses are stand-ins).
func assertSameRoster(t *testing.T, want, got rosterJSON) {
	t.Helper()
	require.Len(t, got.Members, len(want.Members))
	assert.Len(t, got.Invitations, len(want.Invitations))
	assert.Equal(t, roles(want.Members), roles(got.Members))
	assert.Equal(t, yous(want.Members), yous(got.Members))
}
