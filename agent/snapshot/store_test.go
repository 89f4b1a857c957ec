package snapshot_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
)

var t0 = time.Date(2024, 3, 10, 7, 30, 5, 123, time.UTC)

func names(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// write saves a roster of workspace ws captured at at, with one member
// whose name tells the snapshots apart.
func write(t *testing.T, dir, ws string, at time.Time, who string) string {
	t.Helper()
	path, err := snapshot.Save(dir, &roster.Roster{
		Workspace:  ws,
		CapturedAt: at,
		Members:    []roster.Member{{Name: who, Email: "x@example.com", Role: roster.Admin}},
	})
	require.NoError(t, err)
	return path
}

func TestFileName(t *testing.T) {
	tests := []struct {
		workspace string
		at        time.Time
		seq       int
		want      string
	}{
		{"acme", t0, 1, "acme-20240310T073005Z.json"},
		{"acme", t0, 2, "acme-20240310T073005Z-2.json"},
		{"acme", t0.In(time.FixedZone("X", 3600)), 1, "acme-20240310T073005Z.json"},
		{"Acme Inc.", t0, 1, "Acme_Inc.-20240310T073005Z.json"},
		{"a/b\\c", t0, 1, "a_b_c-20240310T073005Z.json"},
		{"../etc", t0, 1, "_etc-20240310T073005Z.json"},
		{"  ", t0, 1, "workspace-20240310T073005Z.json"},
		{"Zürich GmbH", t0, 1, "Z_rich_GmbH-20240310T073005Z.json"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := snapshot.FileName(tt.workspace, tt.at, tt.seq)
			assert.Equal(t, tt.want, got)
			e, err := snapshot.ParseFileName(got)
			require.NoError(t, err)
			assert.Equal(t, snapshot.FileKey(tt.workspace), e.Key)
			assert.Equal(t, tt.at.UTC().Truncate(time.Second), e.Time)
			assert.Equal(t, tt.seq, e.Seq)
		})
	}
}

func TestParseFileNameRejects(t *testing.T) {
	for _, name := range []string{
		".acme-20240310T073005Z.json.tmp-12345",
		".acme-20240310T073005Z.json",
		"acme-20240310T073005Z.json.bak",
		"acme-20240310T0730Z.json",
		"acme-20241310T073005Z.json",
		"acme-20240310T073005Z-1.json",
		"-20240310T073005Z.json",
		"notes.txt",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := snapshot.ParseFileName(name)
			assert.ErrorIs(t, err, snapshot.ErrInvalidSnapshot)
		})
	}
}

func TestSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snaps")
	r := &roster.Roster{
		Workspace:  "acme",
		CapturedAt: t0,
		Members:    []roster.Member{{Name: "Ann", Email: "ann@example.com", Role: roster.Admin, You: true}},
	}

	path, err := snapshot.Save(dir, r)
	require.NoError(t, err)

	assert.Equal(t, filepath.Join(dir, "acme-20240310T073005Z.json"), path)
	got, err := snapshot.Load(path)
	require.NoError(t, err)
	assert.Equal(t, r.Members, got.Members)
	assert.Equal(t, []roster.Invitation{}, got.Invitations, "an empty list is saved as [], not null")
	assert.True(t, t0.Equal(got.CapturedAt))
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, snapshot.FileMode, fi.Mode().Perm())
		di, err := os.Stat(dir)
		require.NoError(t, err)
		assert.Equal(t, snapshot.DirMode, di.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, json.Valid(raw))
	assert.Contains(t, string(raw), "\n  \"workspace\": \"acme\"", "indented JSON")
}

func TestSaveNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	first := write(t, dir, "acme", t0, "first")
	second := write(t, dir, "acme", t0.Add(500*time.Millisecond), "second")
	third := write(t, dir, "acme", t0, "third")

	assert.Equal(t, "acme-20240310T073005Z.json", filepath.Base(first))
	assert.Equal(t, "acme-20240310T073005Z-2.json", filepath.Base(second))
	assert.Equal(t, "acme-20240310T073005Z-3.json", filepath.Base(third))
	for path, who := range map[string]string{first: "first", second: "second", third: "third"} {
		r, err := snapshot.Load(path)
		require.NoError(t, err)
		assert.Equal(t, who, r.Members[0].Name)
	}
	p, r, err := snapshot.Latest(dir, "acme", "")
	require.NoError(t, err)
	assert.Equal(t, third, p, "a later sequence number is newer")
	assert.Equal(t, "third", r.Members[0].Name)
}

func TestSaveZeroTimeUsesNow(t *testing.T) {
	dir := t.TempDir()
	before := time.Now().UTC().Truncate(time.Second)
	path, err := snapshot.Save(dir, &roster.Roster{Workspace: "acme"})
	require.NoError(t, err)
	e, err := snapshot.ParseFileName(path)
	require.NoError(t, err)
	assert.False(t, e.Time.Before(before))
	r, err := snapshot.Load(path)
	require.NoError(t, err)
	assert.False(t, r.CapturedAt.IsZero())
}

// A crash while writing leaves a temporary file with partial content; a
// damaged or foreign file may sit in the directory too. None of them is
// ever taken for a snapshot.
func TestLatestIgnoresPartialAndForeignFiles(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "acme", t0, "good")

	full, err := os.ReadFile(good)
	require.NoError(t, err)
	later := t0.Add(time.Hour)
	// What a crash between write and rename leaves behind: a temporary
	// file named after a newer snapshot, holding half of it.
	partial := filepath.Join(dir, "."+snapshot.FileName("acme", later, 1)+".tmp-4021337")
	require.NoError(t, os.WriteFile(partial, full[:len(full)/2], 0o600))
	// A damaged file under a snapshot's name.
	require.NoError(t, os.WriteFile(filepath.Join(dir, snapshot.FileName("acme", later.Add(time.Minute), 1)), full[:len(full)/2], 0o600))
	// An empty file under a snapshot's name.
	require.NoError(t, os.WriteFile(filepath.Join(dir, snapshot.FileName("acme", later.Add(2*time.Minute), 1)), nil, 0o600))
	// JSON that is not a roster.
	require.NoError(t, os.WriteFile(filepath.Join(dir, snapshot.FileName("acme", later.Add(3*time.Minute), 1)), []byte("{}"), 0o600))
	// A newer snapshot of another workspace.
	write(t, dir, "globex", later.Add(4*time.Minute), "other")
	// A newer file of a workspace whose name maps to the same key.
	write(t, dir, "acme!", later.Add(5*time.Minute), "lookalike")
	require.NoError(t, os.Mkdir(filepath.Join(dir, snapshot.FileName("acme", later.Add(6*time.Minute), 1)), 0o700))

	p, r, err := snapshot.Latest(dir, "acme", "")
	require.NoError(t, err)
	assert.Equal(t, good, p)
	assert.Equal(t, "good", r.Members[0].Name)

	entries, err := snapshot.List(dir, "acme")
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotEqual(t, partial, e.Path, "a temporary file is never listed")
	}

	_, err = snapshot.Load(partial)
	assert.ErrorIs(t, err, snapshot.ErrInvalidSnapshot, "the partial content does not parse")
}

func TestLatest(t *testing.T) {
	dir := t.TempDir()
	p1 := write(t, dir, "acme", t0, "one")
	p2 := write(t, dir, "acme", t0.Add(time.Hour), "two")
	p3 := write(t, dir, "acme", t0.Add(2*time.Hour), "three")

	tests := []struct {
		name      string
		workspace string
		before    string
		want      string
		wantErr   error
	}{
		{name: "newest", workspace: "acme", want: p3},
		{name: "before the newest", workspace: "acme", before: p3, want: p2},
		{name: "before by base name", workspace: "acme", before: filepath.Base(p2), want: p1},
		{name: "nothing before the oldest", workspace: "acme", before: p1, wantErr: snapshot.ErrNoSnapshot},
		{name: "before a time between", workspace: "acme", before: snapshot.FileName("acme", t0.Add(90*time.Minute), 1), want: p2},
		{name: "unknown workspace", workspace: "globex", wantErr: snapshot.ErrNoSnapshot},
		{name: "bad bound", workspace: "acme", before: "nonsense", wantErr: snapshot.ErrInvalidSnapshot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, r, err := snapshot.Latest(dir, tt.workspace, tt.before)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, r)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			require.NotNil(t, r)
		})
	}
}

func TestLatestMissingDir(t *testing.T) {
	_, _, err := snapshot.Latest(filepath.Join(t.TempDir(), "none"), "acme", "")
	assert.ErrorIs(t, err, snapshot.ErrNoSnapshot)
}

func TestPrune(t *testing.T) {
	tests := []struct {
		name        string
		keep        int
		wantRemoved int
		wantErr     error
	}{
		{name: "keep two of five", keep: 2, wantRemoved: 3},
		{name: "keep more than there are", keep: 9, wantRemoved: 0},
		{name: "keep exactly all", keep: 5, wantRemoved: 0},
		{name: "keep one", keep: 1, wantRemoved: 4},
		{name: "keep zero is refused", keep: 0, wantErr: snapshot.ErrInvalidKeep},
		{name: "negative keep is refused", keep: -1, wantErr: snapshot.ErrInvalidKeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var acme []string
			for i := range 5 {
				acme = append(acme, write(t, dir, "acme", t0.Add(time.Duration(i)*time.Minute), "m"))
			}
			other := write(t, dir, "globex", t0, "g")
			temp := filepath.Join(dir, ".acme-20200101T000000Z.json.tmp-1")
			require.NoError(t, os.WriteFile(temp, []byte("{"), 0o600))

			removed, err := snapshot.Prune(dir, "acme", tt.keep)

			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Len(t, names(t, dir), 7, "nothing removed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, append([]string(nil), acme[:tt.wantRemoved]...), removed, "the oldest go first")
			for _, p := range acme {
				_, err := os.Stat(p)
				assert.Equal(t, !slices.Contains(removed, p), err == nil, p)
			}
			assert.FileExists(t, other, "other workspaces are untouched")
			assert.FileExists(t, temp, "temporary files are untouched")
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		wantErr error
	}{
		{name: "valid", content: `{"workspace":"acme","captured_at":"2024-03-10T07:30:05Z","members":[],"invitations":[]}`},
		{name: "truncated", content: `{"workspace":"acme","mem`, wantErr: snapshot.ErrInvalidSnapshot},
		{name: "empty", content: ``, wantErr: snapshot.ErrInvalidSnapshot},
		{name: "null", content: `null`, wantErr: snapshot.ErrInvalidSnapshot},
		{name: "empty object", content: `{}`, wantErr: snapshot.ErrInvalidSnapshot},
		{name: "array", content: `[]`, wantErr: snapshot.ErrInvalidSnapshot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".json")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			r, err := snapshot.Load(path)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "acme", r.Workspace)
		})
	}
	_, err := snapshot.Load(filepath.Join(dir, "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
