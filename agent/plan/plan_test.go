package plan

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/core"
	"github.com/clay-agent/clay-agent/agent/roster"
)

var t0 = time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)

func testRoster() *roster.Roster {
	return &roster.Roster{
		Workspace: "1234",
		Members: []roster.Member{
			{Name: "Ana", Email: "admin@acme.test", Role: roster.Admin, You: true},
			{Name: "John", Email: "john.smith@acme.test", Role: roster.Editor},
			{Name: "Bob", Email: "bob.oneil@acme.test", Role: roster.Viewer},
		},
		Invitations: []roster.Invitation{{Email: "pending.one@acme.test", Role: roster.Editor}},
	}
}

func testPlan() *Plan {
	r := testRoster()
	return &Plan{
		Version: Version, Workspace: "1234", CreatedAt: t0, Roster: RosterDigest(r),
		Sources: []Source{{Source: "okta-users.json", Format: "okta-json", Digest: "ab", People: 3}},
		Actions: []Action{
			{Action: Offboard, Email: "john.smith@acme.test", Reason: "inactive-in-idp", Kind: KindMember, Role: "Editor"},
			{Action: Revoke, Email: "pending.one@acme.test", Reason: "invitation-inactive-in-idp", Kind: KindInvitation, Role: "Editor"},
		},
		Limits: Limits{MaxRemovals: 10},
		Others: OthersDigest(r, []string{"john.smith@acme.test", "pending.one@acme.test"}),
	}
}

func TestWriteReadDigest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	digest, err := Write(path, testPlan())
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	p, d, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, digest, d)
	assert.Equal(t, testPlan().Actions, p.Actions)

	for name, body := range map[string]string{
		"not JSON":       "nope",
		"unknown field":  `{"version":1,"workspace":"1","created_at":"2026-12-01T00:00:00Z","actions":[],"extra":1}`,
		"other version":  `{"version":2,"workspace":"1","created_at":"2026-12-01T00:00:00Z"}`,
		"unknown action": `{"version":1,"workspace":"1","created_at":"2026-12-01T00:00:00Z","actions":[{"action":"delete-all","email":"a@b.test"}]}`,
		"bad email":      `{"version":1,"workspace":"1","created_at":"2026-12-01T00:00:00Z","actions":[{"action":"offboard","email":"John <a@b.test>"}]}`,
		"no workspace":   `{"version":1,"created_at":"2026-12-01T00:00:00Z"}`,
	} {
		p := filepath.Join(t.TempDir(), "bad.json")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		_, _, err := Read(p)
		assert.ErrorIs(t, err, ErrInvalid, name)
	}
}

func TestRosterDigestIgnoresOrderAndNames(t *testing.T) {
	a := testRoster()
	b := testRoster()
	b.Members[0], b.Members[2] = b.Members[2], b.Members[0]
	b.Members[1].Name = "Johnny"
	b.Members[1].Email = "John.Smith@acme.test"
	assert.Equal(t, RosterDigest(a), RosterDigest(b))
	b.Members[1].Role = roster.Viewer
	assert.NotEqual(t, RosterDigest(a), RosterDigest(b))
}

func TestApproval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	digest, err := Write(path, testPlan())
	require.NoError(t, err)

	_, err = CheckApproval(path, digest)
	require.ErrorIs(t, err, ErrNotApproved)
	require.ErrorIs(t, err, core.ErrRefused)

	a, err := Approve(path, "carol", t0)
	require.NoError(t, err)
	assert.Equal(t, digest, a.Plan)
	got, err := CheckApproval(path, digest)
	require.NoError(t, err)
	assert.Equal(t, "carol", got.By)

	// the plan edited after its approval
	p, _, err := Read(path)
	require.NoError(t, err)
	p.Actions = append(p.Actions, Action{Action: Offboard, Email: "bob.oneil@acme.test", Kind: KindMember, Role: "Viewer"})
	changed, err := Write(path, p)
	require.NoError(t, err)
	_, err = CheckApproval(path, changed)
	require.ErrorIs(t, err, ErrApprovalMismatch)
	require.ErrorIs(t, err, core.ErrRefused)

	_, err = Approve(path, " ", t0)
	assert.Error(t, err)
}

func TestCheck(t *testing.T) {
	gone := map[string]Done{"john.smith@acme.test": {Email: "john.smith@acme.test", Outcome: "removed", At: t0.Add(time.Minute)}}
	tests := []struct {
		name string
		// plan changes the plan, change the roster read at apply
		plan    func(p *Plan)
		change  func(r *roster.Roster)
		age     time.Duration
		applied map[string]Done
		want    error
		do      []string
		done    []string
	}{
		{name: "unchanged", change: func(*roster.Roster) {}, do: []string{"john.smith@acme.test", "pending.one@acme.test"}},
		{name: "already gone", change: func(r *roster.Roster) { r.Members = withoutJohn(r); r.Invitations = nil },
			do: nil, done: []string{"john.smith@acme.test", "pending.one@acme.test"}},
		{name: "role changed", change: func(r *roster.Roster) { r.Members[1].Role = roster.Admin }, want: ErrStale},
		{name: "invitation accepted", change: func(r *roster.Roster) {
			r.Invitations = nil
			r.Members = append(r.Members, roster.Member{Email: "pending.one@acme.test", Role: roster.Editor})
		}, want: ErrStale},
		{name: "too old", change: func(*roster.Roster) {}, age: 25 * time.Hour, want: ErrStale},
		{name: "other workspace", change: func(r *roster.Roster) { r.Workspace = "999" }, want: ErrOtherWorkspace},
		{name: "may hide in an unreadable row", plan: func(p *Plan) {
			r := testRoster()
			r.Unreadable = []roster.Unreadable{{Kind: "member", Text: `John "john.smith"@acme.test Editor`}}
			p.Others = OthersDigest(r, p.Targets())
		}, change: func(r *roster.Roster) {
			r.Members = withoutJohn(r)
			r.Unreadable = []roster.Unreadable{{Kind: "member", Text: `John "john.smith"@acme.test Editor`}}
			r.Invitations = nil
		}, do: []string{"john.smith@acme.test"}, done: []string{"pending.one@acme.test"}},
		{name: "an unreadable row appeared", change: func(r *roster.Roster) {
			r.Unreadable = []roster.Unreadable{{Kind: "member", Text: `Di "di,four"@acme.test Viewer`}}
		}, want: ErrStale},
		{name: "another seat was added", change: func(r *roster.Roster) {
			r.Members = append(r.Members, roster.Member{Email: "new.hire@acme.test", Role: roster.Editor})
		}, want: ErrStale},
		{name: "another seat changed role", change: func(r *roster.Roster) { r.Members[2].Role = roster.Admin }, want: ErrStale},
		{name: "another seat was removed", change: func(r *roster.Roster) { r.Members = r.Members[:2] }, want: ErrStale},
		{name: "order and names do not count", change: func(r *roster.Roster) {
			r.Members[0], r.Members[2] = r.Members[2], r.Members[0]
			r.Members[0].Name = "Robert"
		}, do: []string{"john.smith@acme.test", "pending.one@acme.test"}},
		{name: "made in the future", plan: func(p *Plan) { p.CreatedAt = t0.Add(30 * 24 * time.Hour) }, change: func(*roster.Roster) {}, want: ErrStale},
		{name: "made by a version without others", plan: func(p *Plan) { p.Others = "" }, change: func(*roster.Roster) {}, want: ErrStale},
		{name: "every action applied already", change: func(r *roster.Roster) {},
			applied: map[string]Done{
				"john.smith@acme.test":  {Email: "john.smith@acme.test", Outcome: "removed", At: t0.Add(time.Minute)},
				"pending.one@acme.test": {Email: "pending.one@acme.test", Outcome: "revoked-invitation", At: t0.Add(time.Minute)},
			}, want: ErrAlreadyApplied},
		{name: "a seat an earlier apply removed is back", change: func(r *roster.Roster) {}, applied: gone, want: ErrStale},
		{name: "an interrupted apply goes on with the rest", change: func(r *roster.Roster) { r.Members = withoutJohn(r) },
			applied: gone, do: []string{"pending.one@acme.test"}, done: []string{"john.smith@acme.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testPlan()
			if tc.plan != nil {
				tc.plan(p)
			}
			r := testRoster()
			tc.change(r)
			c, err := Check(p, r, t0.Add(time.Hour+tc.age), DefaultMaxAge, tc.applied)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				assert.ErrorIs(t, err, core.ErrRefused)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.do, emails(c.Do))
			assert.Equal(t, tc.done, emails(c.Done))
		})
	}
}

func withoutJohn(r *roster.Roster) []roster.Member {
	return []roster.Member{r.Members[0], r.Members[2]}
}

func emails(as []Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Email)
	}
	return out
}
