package flows_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
)

// wantSeed is what the Team page must show for the fixture's seed data.
func wantSeed(srv *fixtures.Server) ([]roster.Member, []roster.Invitation) {
	self, _ := srv.Credentials()
	var ms []roster.Member
	for _, m := range srv.Members() {
		ms = append(ms, roster.Member{Name: m.Name, Email: m.Email, Role: roster.CanonicalRole(m.Role), You: roster.SameEmail(m.Email, self)})
	}
	var is []roster.Invitation
	for _, i := range srv.Invitations() {
		is = append(is, roster.Invitation{Email: i.Email, Role: roster.CanonicalRole(i.Role)})
	}
	return ms, is
}

func sortMembers(ms []roster.Member) []roster.Member {
	out := append([]roster.Member(nil), ms...)
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out
}

func TestListEveryRendition(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			team := open(t, env, 10*time.Second)
			r, err := team.List(testContext(t), env.Server.Workspace())
			require.NoError(t, err)
			ms, is := wantSeed(env.Server)
			assert.Equal(t, sortMembers(ms), sortMembers(r.Members))
			assert.ElementsMatch(t, is, r.Invitations)
			assert.Equal(t, env.Server.Workspace(), r.Workspace)
			assert.False(t, r.CapturedAt.IsZero())
		})
	}
}

func TestListAwkwardRows(t *testing.T) {
	env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionGrid))
	team := open(t, env, 10*time.Second)
	r, err := team.List(testContext(t), env.Server.Workspace())
	require.NoError(t, err)
	byEmail := map[string]roster.Member{}
	for _, m := range r.Members {
		byEmail[m.Email] = m
	}
	// names with commas, quotes and non-ASCII letters come back whole
	for _, name := range []string{"Smith, John", `Robert "Bob" O'Neil`, "Zoë Ålander", "李小龍"} {
		found := false
		for _, m := range r.Members {
			found = found || m.Name == name
		}
		assert.True(t, found, "name %q", name)
	}
	// emails that differ by a prefix are separate members
	assert.Contains(t, byEmail, "al@acme.test")
	assert.Contains(t, byEmail, "sal@acme.test")
	// the email exactly as shown, case kept
	assert.Contains(t, byEmail, "Jo.Park@Acme.test")
	// the (you) marker becomes a flag and leaves the name
	self, ok := r.Self()
	require.True(t, ok)
	assert.Equal(t, "Ana López", self.Name)
	assert.NotContains(t, self.Name, "(you)")
	n := 0
	for _, m := range r.Members {
		if m.You {
			n++
		}
	}
	assert.Equal(t, 1, n)
}

func TestListLargeWorkspaces(t *testing.T) {
	for _, tc := range []struct {
		rendition string
		members   int
	}{
		{fixtures.RenditionGrid, 400},
		{fixtures.RenditionPaged, 180},
		{fixtures.RenditionTable, 250},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.rendition, tc.members), func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(tc.rendition), fixtures.WithMembers(tc.members))
			team := open(t, env, 10*time.Second)
			r, err := team.List(testContext(t), env.Server.Workspace())
			require.NoError(t, err)
			ms, _ := wantSeed(env.Server)
			require.Len(t, r.Members, tc.members)
			assert.Equal(t, sortMembers(ms), sortMembers(r.Members))
		})
	}
}

func TestListFaults(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			t.Run("slow first byte", func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition))
				env.Server.SetFaults(fixtures.Faults{SlowFirstByte: 700 * time.Millisecond})
				r, err := open(t, env, 10*time.Second).List(testContext(t), "1234")
				require.NoError(t, err)
				assert.Len(t, r.Members, len(env.Server.Members()))
			})
			t.Run("rows arrive late", func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition))
				env.Server.SetFaults(fixtures.Faults{RowDelay: 1500 * time.Millisecond})
				r, err := open(t, env, 10*time.Second).List(testContext(t), "1234")
				require.NoError(t, err)
				assert.Len(t, r.Members, len(env.Server.Members()))
				assert.Len(t, r.Invitations, len(env.Server.Invitations()))
			})
			t.Run("500 on the next mutation does not affect reading", func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition))
				env.Server.SetFaults(fixtures.Faults{FailMutations: 1})
				r, err := open(t, env, 10*time.Second).List(testContext(t), "1234")
				require.NoError(t, err)
				assert.Len(t, r.Members, len(env.Server.Members()))
			})
			t.Run("expired session stops at once", func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition))
				env.Server.SetFaults(fixtures.Faults{ExpireSession: true})
				step := 3 * time.Minute
				team := open(t, env, step)
				start := time.Now()
				_, err := team.List(testContext(t), "1234")
				require.ErrorIs(t, err, agent.ErrLoginRequired)
				assert.Contains(t, err.Error(), "agent login")
				assert.NotErrorIs(t, err, context.DeadlineExceeded)
				assert.Less(t, time.Since(start), step/2, "it must not wait for the step timeout")
			})
			t.Run("drifted markup is a contract error", func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition))
				env.Server.SetFaults(fixtures.Faults{Drift: true})
				_, err := open(t, env, 3*time.Second).List(testContext(t), "1234")
				require.ErrorIs(t, err, agent.ErrPageChanged)
				assert.Contains(t, err.Error(), "member rows")
			})
		})
	}
}
