package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/engine"
	"github.com/clay-agent/clay-agent/agent/roster"
)

// listRoster is what the fake Team page of the list tests shows.
func listRoster() *roster.Roster {
	return &roster.Roster{
		Workspace:  "1234",
		CapturedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Members: []roster.Member{
			{Name: "Ann Lee", Email: "ann@acme.test", Role: roster.Admin, You: true},
			{Name: "Bob\nStone", Email: "bob@acme.test", Role: roster.Editor},
		},
		Invitations: []roster.Invitation{{Email: "cat@acme.test", Role: roster.Viewer}},
	}
}

// fakeList sets up listOptions on a fake session whose page shows r, or
// fails with err; it records the workspaces read.
func fakeList(s streams, sess *fakeSession, n *noted, r *roster.Roster, err error, read *[]string) *listOptions {
	return &listOptions{
		streams: s, output: "table", workspace: "1234",
		openSession: sess.opener(nil),
		readRoster: func(_ context.Context, got engine.Session, workspace string) (*roster.Roster, error) {
			if got != sess {
				return nil, fmt.Errorf("read on another session: %v", got)
			}
			*read = append(*read, workspace)
			return r, err
		},
		artifacts: artifactKeeper{note: n.note},
	}
}

func TestRunListWritesEachFormat(t *testing.T) {
	tests := []struct {
		output string
		check  func(t *testing.T, out string)
	}{
		{output: "table", check: func(t *testing.T, out string) {
			assert.Equal(t, "NAME       EMAIL          ROLE    \n"+
				"Ann Lee    ann@acme.test  Admin   (you)\n"+
				"Bob Stone  bob@acme.test  Editor  \n"+
				"\n2 members, 1 pending invitations:\n"+
				"INVITED        ROLE\n"+
				"cat@acme.test  Viewer\n", out)
		}},
		{output: "json", check: func(t *testing.T, out string) {
			var got rosterJSON
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			assert.Equal(t, toRosterJSON(listRoster()), got)
			assert.Equal(t, "2026-01-02T03:04:05Z", got.CapturedAt)
			assert.NotNil(t, got.Unreadable, "always present")
		}},
		{output: "csv", check: func(t *testing.T, out string) {
			records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			require.NoError(t, err)
			assert.Equal(t, [][]string{
				{"type", "name", "email", "role", "you"},
				{"member", "Ann Lee", "ann@acme.test", "Admin", "true"},
				{"member", "Bob\nStone", "bob@acme.test", "Editor", "false"},
				{"invitation", "", "cat@acme.test", "Viewer", "false"},
			}, records)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.output, func(t *testing.T) {
			s, out, errOut := testStreams("")
			sess, n := &fakeSession{}, &noted{}
			var read []string
			opts := fakeList(s, sess, n, listRoster(), nil, &read)
			opts.output = tc.output
			require.NoError(t, listRun(context.Background(), opts))
			tc.check(t, out.String())
			assert.Empty(t, errOut.String())
			assert.Equal(t, []string{"1234"}, read, "the workspace's page is read once")
			assert.Equal(t, 1, sess.closed, "the browser is closed")
			assert.Empty(t, sess.artifacts, "no artifacts of a success")
		})
	}
}

func TestRunListKeepsTheArtifactsOfAFailedRead(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
	}{
		{"page changed", fmt.Errorf("list: %w: no heading", agent.ErrPageChanged), exitPageChanged},
		{"signed out", fmt.Errorf("list: %w", agent.ErrLoginRequired), exitLogin},
		{"not complete", fmt.Errorf("list: %w: the count differs", agent.ErrNotVerified), exitNotVerified},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, out, _ := testStreams("")
			sess := &fakeSession{paths: []string{"artifacts/list.png", "artifacts/list.html"}}
			n := &noted{}
			var read []string
			err := listRun(context.Background(), fakeList(s, sess, n, nil, tc.err, &read))
			require.ErrorIs(t, err, tc.err)
			assert.Equal(t, tc.code, exitCode(err))
			assert.Equal(t, []string{"list"}, sess.artifacts, "the page is kept, labelled list")
			assert.Equal(t, sess.paths, n.paths, "and its files reported")
			assert.Equal(t, 1, sess.closed)
			assert.Empty(t, out.String())
		})
	}
}

func TestRunListStopsWhenNoSessionOpens(t *testing.T) {
	s, out, _ := testStreams("")
	sess, n := &fakeSession{}, &noted{}
	var read []string
	opts := fakeList(s, sess, n, listRoster(), nil, &read)
	opts.openSession = sess.opener(fmt.Errorf("%w: session cookie expired", agent.ErrLoginRequired))
	err := listRun(context.Background(), opts)
	assert.ErrorIs(t, err, agent.ErrLoginRequired)
	assert.Empty(t, read, "nothing is read")
	assert.Empty(t, sess.artifacts)
	assert.Empty(t, out.String())
}

func TestRunListUnreadableRows(t *testing.T) {
	unreadable := listRoster()
	unreadable.Unreadable = []roster.Unreadable{{Kind: "member", Text: "Di Four\n\"di,four\"@acme.test  Viewer"}}
	const warning = "agent: warning: a member row with controls but no readable email: \"Di Four \\\"di,four\\\"@acme.test Viewer\"\n"
	tests := []struct {
		name    string
		output  string
		allow   bool
		fails   bool
		warning bool
	}{
		{name: "table", output: "table", fails: true, warning: true},
		{name: "table, allowed", output: "table", allow: true, warning: true},
		{name: "json: the error says it", output: "json", fails: true},
		{name: "json, allowed", output: "json", allow: true, warning: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, out, errOut := testStreams("")
			var read []string
			opts := fakeList(s, &fakeSession{}, &noted{}, unreadable, nil, &read)
			opts.output, opts.allowUnreadable = tc.output, tc.allow
			err := listRun(context.Background(), opts)
			if tc.fails {
				require.ErrorIs(t, err, errUnreadable)
				assert.Equal(t, exitFailed, exitCode(err))
				assert.Contains(t, err.Error(), "1 row(s)")
				assert.Contains(t, err.Error(), "--allow-unreadable")
			} else {
				require.NoError(t, err)
			}
			if tc.warning {
				assert.Equal(t, warning, errOut.String())
			} else {
				assert.Empty(t, errOut.String())
			}
			assert.Contains(t, out.String(), "di,four", "the row is listed all the same")
		})
	}
}

func TestRunListTableShowsUnreadableRowsApart(t *testing.T) {
	r := listRoster()
	r.Invitations = nil
	r.Unreadable = []roster.Unreadable{{Kind: "invitation", Text: "pending\tsomeone"}}
	s, out, _ := testStreams("")
	var read []string
	opts := fakeList(s, &fakeSession{}, &noted{}, r, nil, &read)
	opts.allowUnreadable = true
	require.NoError(t, listRun(context.Background(), opts))
	assert.True(t, strings.HasSuffix(out.String(), "\n2 members, no pending invitations\n"+
		"\n1 rows with controls but no readable email (not counted above):\n"+
		"UNREADABLE invitation  pending someone\n"), out.String())
}
