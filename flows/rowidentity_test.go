package flows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
	"github.com/clay-agent/clay-agent/flows"
)

// workspaceOf is the seed members, then generated members up to n in all,
// with extra placed at the positions given (0-based, in the final list).
func workspaceOf(n int, extra map[int]fixtures.Member) []fixtures.Member {
	base := fixtures.SeedMembers()
	for k := len(base) + 1; len(base)+len(extra) < n; k++ {
		base = append(base, fixtures.Member{ID: 10000 + k, Name: fmt.Sprintf("Member %04d", k), Email: fmt.Sprintf("member%04d@example.test", k), Role: fixtures.RoleEditor})
	}
	out := make([]fixtures.Member, 0, n)
	for len(out) < n {
		if m, ok := extra[len(out)]; ok {
			out = append(out, m)
			continue
		}
		out = append(out, base[0])
		base = base[1:]
	}
	return out
}

// membersByEmail indexes what a list read, failing on a member listed twice.
func membersByEmail(t *testing.T, r *roster.Roster) map[string]roster.Member {
	t.Helper()
	out := map[string]roster.Member{}
	for _, m := range r.Members {
		k := roster.NormalizeEmail(m.Email)
		_, dup := out[k]
		assert.False(t, dup, "%s is listed twice", m.Email)
		out[k] = m
	}
	return out
}

// A member who never set a name is shown by their email in the name's
// place, also in another case: the row shows the address twice. Such a
// member is one row: listed once, counted once (the paged renditions state
// their counts), and removable.
func TestMemberShownByTheirEmail(t *testing.T) {
	blank := []fixtures.Member{
		{ID: 801, Name: "nameless@acme.test", Email: "nameless@acme.test", Role: fixtures.RoleEditor},
		{ID: 802, Name: "Blank.Case@Acme.test", Email: "blank.case@acme.test", Role: fixtures.RoleViewer},
	}
	for _, rendition := range renditions {
		for _, target := range blank {
			t.Run(rendition+"/"+target.Email, func(t *testing.T) {
				// on the last page of a paged list: "Showing 51–62 of 62"
				ms := workspaceOf(62, map[int]fixtures.Member{60: blank[0], 61: blank[1]})
				env := fixturetest.Start(t, fixtures.WithRendition(rendition), fixtures.WithPageSize(25))
				env.Server.SetMembers(ms)
				team := open(t, env, 10*time.Second)
				ctx := testContext(t)

				r, err := team.List(ctx, "")
				require.NoError(t, err)
				require.Len(t, r.Members, 62)
				got := membersByEmail(t, r)
				for _, b := range blank {
					m, ok := got[b.Email]
					require.True(t, ok, "%s is listed", b.Email)
					assert.Equal(t, b.Email, m.Email, "the address the row shows as its email")
					assert.Equal(t, b.Name, m.Name, "the name is what stands in the name's place")
					assert.Equal(t, roster.CanonicalRole(b.Role), m.Role)
				}

				rs, err := team.Offboard(ctx, []string{target.Email}, flows.Batch{Retry: fastRetry})
				require.NoError(t, err)
				require.Len(t, rs, 1)
				assert.Equal(t, flows.Removed, rs[0].Action, rs[0].Detail)
				assert.False(t, hasMember(env.Server, target.Email))
				assert.Len(t, env.Server.Members(), 61)
				ok, bad := mutations(env.Server, "remove")
				assert.Equal(t, 1, ok)
				assert.Zero(t, bad)
			})
		}
	}
}

// A display name that is another member's email is a name: Mallory, whose
// name is Marcus's address, is listed with her own email and is never
// touched when Marcus is removed, also when Marcus's row is pages away.
func TestNameThatIsAnotherMembersEmail(t *testing.T) {
	mallory := fixtures.Member{ID: 811, Name: "marcus.hale@acme.test", Email: "mallory.quinn@acme.test", Role: fixtures.RoleEditor}
	marcus := fixtures.Member{ID: 812, Name: "Marcus Hale", Email: "marcus.hale@acme.test", Role: fixtures.RoleEditor}
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			ms := workspaceOf(62, map[int]fixtures.Member{2: mallory, 61: marcus})
			env := fixturetest.Start(t, fixtures.WithRendition(rendition), fixtures.WithPageSize(25))
			env.Server.SetMembers(ms)
			team := open(t, env, 10*time.Second)
			ctx := testContext(t)

			r, err := team.List(ctx, "")
			require.NoError(t, err)
			require.Len(t, r.Members, 62)
			got := membersByEmail(t, r)
			assert.Equal(t, roster.Member{Name: mallory.Name, Email: mallory.Email, Role: roster.Editor}, got[mallory.Email])
			assert.Equal(t, roster.Member{Name: marcus.Name, Email: marcus.Email, Role: roster.Editor}, got[marcus.Email])

			// reload: the list starts wherever it is, Mallory's row may be
			// rendered while Marcus's is not
			rs, err := team.Offboard(ctx, []string{marcus.Email}, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			require.Len(t, rs, 1)
			assert.Equal(t, flows.Removed, rs[0].Action, rs[0].Detail)
			assert.False(t, hasMember(env.Server, marcus.Email))
			assert.True(t, hasMember(env.Server, mallory.Email), "Mallory is never touched")
			for _, m := range env.Server.Mutations() {
				assert.NotEqual(t, mallory.ID, m.ID, "no mutation of Mallory")
			}

			rs, err = team.Offboard(ctx, []string{mallory.Email}, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			assert.Equal(t, flows.Removed, rs[0].Action, rs[0].Detail)
			assert.False(t, hasMember(env.Server, mallory.Email))
			assert.Len(t, env.Server.Members(), 60)
		})
	}
}

// A row that mentions someone else's address ("Invited by
// maria.garcia@acme.test") is one row, of its own member: listed once with
// the member's email, counted once, and removing the member never touches
// the one mentioned.
func TestRowThatMentionsAnotherAddress(t *testing.T) {
	ivy := fixtures.Member{ID: 821, Name: "Ivy Ito", Email: "ivy.ito@acme.test", Role: fixtures.RoleEditor, InvitedBy: "maria.garcia@acme.test"}
	nameless := fixtures.Member{ID: 822, Name: "nameless@acme.test", Email: "nameless@acme.test", Role: fixtures.RoleViewer, InvitedBy: "maria.garcia@acme.test"}
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			ms := workspaceOf(62, map[int]fixtures.Member{3: ivy, 61: nameless})
			env := fixturetest.Start(t, fixtures.WithRendition(rendition), fixtures.WithPageSize(25))
			env.Server.SetMembers(ms)
			team := open(t, env, 10*time.Second)
			ctx := testContext(t)

			r, err := team.List(ctx, "")
			require.NoError(t, err)
			require.Len(t, r.Members, 62)
			got := membersByEmail(t, r)
			assert.Equal(t, roster.Member{Name: ivy.Name, Email: ivy.Email, Role: roster.Editor}, got[ivy.Email])
			assert.Equal(t, roster.Member{Name: nameless.Name, Email: nameless.Email, Role: roster.Viewer}, got[nameless.Email])
			assert.Equal(t, "Maria Garcia", got["maria.garcia@acme.test"].Name)
			assert.Len(t, r.Invitations, len(fixtures.SeedInvitations()), "a member row that says \"Invited by\" is no invitation")

			rs, err := team.Offboard(ctx, []string{ivy.Email, nameless.Email}, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			assert.Equal(t, []flows.Action{flows.Removed, flows.Removed}, actions(rs), rs)
			assert.False(t, hasMember(env.Server, ivy.Email))
			assert.False(t, hasMember(env.Server, nameless.Email))
			assert.True(t, hasMember(env.Server, "maria.garcia@acme.test"), "the member mentioned is never touched")
			ok, bad := mutations(env.Server, "remove")
			assert.Equal(t, 2, ok)
			assert.Zero(t, bad)
		})
	}
}
