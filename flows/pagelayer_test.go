package flows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent"
	"github.com/clay-agent/clay-agent/agent/roster"
	"github.com/clay-agent/clay-agent/fixtures"
	"github.com/clay-agent/clay-agent/fixtures/fixturetest"
	"github.com/clay-agent/clay-agent/flows"
)

// A full read leaves a paged list on its last page, and the "pages"
// rendition keeps it there, even across reloads. Every flow that follows
// must still find a member of the first page: never report her absent.
func TestFlowsAfterTheListWasLeftOnItsLastPage(t *testing.T) {
	env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionPages), fixtures.WithMembers(60), fixtures.WithPageSize(25))
	team := open(t, env, 10*time.Second)
	ctx := testContext(t)

	r, err := team.List(ctx, "")
	require.NoError(t, err)
	require.Len(t, r.Members, 60)

	// a dry run, then the real run, as the interactive mode does
	rs, err := team.Offboard(ctx, []string{"john.smith@acme.test"}, flows.Batch{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, flows.WouldRemove, rs[0].Action, rs[0].Detail)
	rs, err = team.Offboard(ctx, []string{"john.smith@acme.test"}, flows.Batch{Retry: fastRetry})
	require.NoError(t, err)
	require.Equal(t, flows.Removed, rs[0].Action, rs[0].Detail)
	assert.False(t, hasMember(env.Server, "john.smith@acme.test"))

	_, err = team.List(ctx, "")
	require.NoError(t, err)
	res, err := team.SetRole(ctx, "bob.oneil@acme.test", roster.Viewer, flows.Batch{Retry: fastRetry})
	require.NoError(t, err)
	assert.Equal(t, flows.RoleChanged, res.Action, res.Detail)
	assert.Equal(t, "Viewer", memberRole(env.Server, "bob.oneil@acme.test"))

	// absent is reported only for a member who is really gone
	rs, err = team.Offboard(ctx, []string{"john.smith@acme.test", "zoe.alander@acme.test"}, flows.Batch{Retry: fastRetry})
	require.NoError(t, err)
	assert.Equal(t, []flows.Action{flows.AlreadyAbsent, flows.Removed}, actions(rs), rs)
	assert.False(t, hasMember(env.Server, "zoe.alander@acme.test"))
}

// A batch of 20 from the middle of a 300-member list removes all 20, on
// every rendition.
func TestOffboardBatchFromTheMiddleOfALongList(t *testing.T) {
	targets := make([]string, 20)
	for i := range targets {
		targets[i] = fmt.Sprintf("member%04d@example.test", 141+i)
	}
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition), fixtures.WithMembers(300), fixtures.WithPageSize(25))
			team := open(t, env, 10*time.Second)
			ctx := testContext(t)
			_, err := team.List(ctx, "") // leaves the list at its end
			require.NoError(t, err)
			rs, err := team.Offboard(ctx, targets, flows.Batch{Retry: fastRetry, Policy: flows.Policy{MaxRemovals: -1}})
			require.NoError(t, err)
			require.Len(t, rs, len(targets))
			for _, r := range rs {
				assert.Equal(t, flows.Removed, r.Action, "%s: %s", r.Email, r.Detail)
				assert.False(t, hasMember(env.Server, r.Email), r.Email)
			}
			assert.Len(t, env.Server.Members(), 280)
			ok, bad := mutations(env.Server, "remove")
			assert.Equal(t, 20, ok)
			assert.Zero(t, bad)
		})
	}
}

// Rows re-created on every scroll and every second: a removal whose first
// try meets a 500 is retried from a fresh read and removes the member once.
func TestRemovalOnRowsThatAreRecreated(t *testing.T) {
	for _, rendition := range []string{fixtures.RenditionFeed, fixtures.RenditionGrid} {
		t.Run(rendition, func(t *testing.T) {
			for i := range 3 {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition), fixtures.WithMembers(80))
				env.Server.SetFaults(fixtures.Faults{FailMutations: 1, Chaos: fixtures.ChaosFault{Enabled: true, Seed: int64(i + 1)}})
				email := fmt.Sprintf("member%04d@example.test", 60+i)
				rs, err := open(t, env, 10*time.Second).Offboard(testContext(t), []string{email}, flows.Batch{Retry: fastRetry})
				require.NoError(t, err)
				require.Len(t, rs, 1)
				assert.Equal(t, flows.Removed, rs[0].Action, rs[0].Detail)
				ok, bad := mutations(env.Server, "remove")
				assert.Equal(t, 1, ok, "removed exactly once")
				assert.Equal(t, 1, bad)
				assert.False(t, hasMember(env.Server, email))
			}
		})
	}
}

// A confirmation dialog that names someone else is cancelled, and nothing
// is removed.
func TestDialogNamingAnotherMemberIsCancelled(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			env.Server.SetFaults(fixtures.Faults{DialogNamesOther: true})
			rs, err := open(t, env, 5*time.Second).Offboard(testContext(t), []string{"john.smith@acme.test"}, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			require.Len(t, rs, 1)
			assert.Equal(t, flows.Failed, rs[0].Action)
			assert.ErrorIs(t, rs[0].Err, agent.ErrPageChanged)
			assert.Contains(t, rs[0].Detail, "names")
			assert.True(t, hasMember(env.Server, "john.smith@acme.test"))
			assert.Empty(t, env.Server.Mutations(), "nothing confirmed")
			assert.Len(t, env.Server.Members(), len(fixtures.SeedMembers()))
		})
	}
}

// An error shown inside the confirmation dialog ends the target with the
// page's own words (exit 1); nothing is retried or removed.
func TestErrorInsideTheDialog(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			env.Server.SetFaults(fixtures.Faults{RemoveError: "At least one Admin must remain"})
			rs, err := open(t, env, 5*time.Second).Offboard(testContext(t), []string{"john.smith@acme.test"}, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			require.Len(t, rs, 1)
			assert.Equal(t, flows.Failed, rs[0].Action)
			assert.ErrorIs(t, rs[0].Err, agent.ErrPageError)
			assert.NotErrorIs(t, rs[0].Err, agent.ErrTransient)
			assert.Contains(t, rs[0].Detail, "At least one Admin must remain")
			ok, bad := mutations(env.Server, "remove")
			assert.Zero(t, ok)
			assert.Equal(t, 1, bad, "tried once")
			assert.True(t, hasMember(env.Server, "john.smith@acme.test"))
		})
	}
}

// chaosSeeds are the seeds CI runs every flow under.
var chaosSeeds = []int64{7, 42}

// Every flow on every rendition, with rows re-rendered and responses
// delayed at random (seeded).
func TestEveryFlowUnderChaos(t *testing.T) {
	for _, seed := range chaosSeeds {
		for _, rendition := range renditions {
			t.Run(fmt.Sprintf("%s/seed-%d", rendition, seed), func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition), fixtures.WithMembers(70), fixtures.WithPageSize(25))
				env.Server.SetFaults(fixtures.Faults{Chaos: fixtures.ChaosFault{Enabled: true, Seed: seed}})
				team := open(t, env, 10*time.Second)
				ctx := testContext(t)
				b := flows.Batch{Retry: fastRetry}

				r, err := team.List(ctx, "")
				require.NoError(t, err)
				assert.Len(t, r.Members, 70)
				assert.Len(t, r.Invitations, len(fixtures.SeedInvitations()))

				res, err := team.SetRole(ctx, "member0031@example.test", roster.Viewer, b)
				require.NoError(t, err)
				assert.Equal(t, flows.RoleChanged, res.Action, res.Detail)
				assert.Equal(t, "Viewer", memberRole(env.Server, "member0031@example.test"))

				rs, err := team.Offboard(ctx, []string{"member0064@example.test", "john.smith@acme.test"}, b)
				require.NoError(t, err)
				assert.Equal(t, []flows.Action{flows.Removed, flows.Removed}, actions(rs), rs)

				res, err = team.Invite(ctx, "chaos.hire@acme.test", roster.Editor, b)
				require.NoError(t, err)
				assert.Equal(t, flows.Invited, res.Action, res.Detail)

				rs, err = team.Revoke(ctx, []string{"pending.one@acme.test"}, b)
				require.NoError(t, err)
				assert.Equal(t, []flows.Action{flows.RevokedInvitation}, actions(rs), rs)

				assert.Len(t, env.Server.Members(), 68)
				_, ok := invitation(env.Server, "chaos.hire@acme.test")
				assert.True(t, ok)
				_, ok = invitation(env.Server, "pending.one@acme.test")
				assert.False(t, ok)
			})
		}
	}
}
