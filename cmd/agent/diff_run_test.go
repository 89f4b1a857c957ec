package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/agent/snapshot"
)

func TestRunDiff(t *testing.T) {
	newer := &roster.Roster{Workspace: "1234", CapturedAt: time.Date(2026, 1, 3, 2, 30, 0, 0, time.UTC),
		Members: []roster.Member{{Name: "Ann", Email: "ann@acme.test", Role: roster.Admin}, {Name: "Bob", Email: "bob@acme.test", Role: roster.Editor}}}
	result := &snapshot.Result{Previous: "old.json", Snapshot: "new.json", Workspace: "1234", Roster: newer,
		Changes: snapshot.Changes{Added: []roster.Member{newer.Members[1]}}}
	tests := []struct {
		name       string
		output     string
		oldSpace   string // the workspace the OLD file holds
		stdout     string
		jsonAdded  string // with -o json: the added member's email
		wantStderr string
	}{
		{name: "text", output: "text", oldSpace: "1234",
			stdout: "old  old.json\nnew  new.json (2 members, 0 pending invitations)\n1 change:\n  added  bob@acme.test  Editor, \"Bob\"\n"},
		{name: "json", output: "json", oldSpace: "1234", jsonAdded: "bob@acme.test"},
		{name: "different workspaces", output: "text", oldSpace: " 5678",
			wantStderr: "agent: warning: the files hold different workspaces (\" 5678\" and \"1234\")\n"},
		{name: "the same workspace but for spaces", output: "text", oldSpace: " 1234 "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, out, errOut := testStreams("")
			var diffed, loaded []string
			opts := &diffOptions{streams: s, output: tc.output, oldPath: "old.json", newPath: "new.json",
				diffFiles: func(o, n string) (*snapshot.Result, error) {
					diffed = append(diffed, o, n)
					return result, nil
				},
				load: func(p string) (*roster.Roster, error) {
					loaded = append(loaded, p)
					return &roster.Roster{Workspace: tc.oldSpace}, nil
				}}
			require.NoError(t, diffRun(context.Background(), opts))
			assert.Equal(t, []string{"old.json", "new.json"}, diffed, "OLD first, then NEW")
			assert.Equal(t, []string{"old.json"}, loaded, "the old file's workspace is compared")
			assert.Equal(t, tc.wantStderr, errOut.String())
			switch {
			case tc.jsonAdded != "":
				var got struct {
					Previous string `json:"previous"`
					Changes  struct {
						Added []roster.Member `json:"added"`
					} `json:"changes"`
				}
				require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
				assert.Equal(t, "old.json", got.Previous)
				require.Len(t, got.Changes.Added, 1)
				assert.Equal(t, tc.jsonAdded, got.Changes.Added[0].Email)
			case tc.stdout != "":
				assert.Equal(t, tc.stdout, out.String())
			default:
				assert.Contains(t, out.String(), "1 change:")
			}
		})
	}
}

func TestRunDiffUnreadableFileIsBadInput(t *testing.T) {
	s, out, errOut := testStreams("")
	cause := &fs.PathError{Op: "open", Path: "missing.json", Err: fs.ErrNotExist}
	opts := &diffOptions{streams: s, output: "text", oldPath: "missing.json", newPath: "new.json",
		diffFiles: func(string, string) (*snapshot.Result, error) { return nil, cause },
		load: func(string) (*roster.Roster, error) {
			t.Fatal("nothing is loaded after a failed diff")
			return nil, nil
		}}
	err := diffRun(context.Background(), opts)
	require.Error(t, err)
	assert.ErrorIs(t, err, agent.ErrUsage, "exit 2")
	assert.True(t, errors.Is(err, fs.ErrNotExist), "the cause is kept")
	assert.Equal(t, exitUsage, exitCode(err))
	assert.Empty(t, out.String())
	assert.Empty(t, errOut.String())
}
