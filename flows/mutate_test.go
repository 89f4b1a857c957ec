package flows_test

import (
	"context"
	"errors"
	"strings"
	"sync"
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

// fast retries keep fault tests short.
var fastRetry = flows.Retry{Attempts: 3, Base: 50 * time.Millisecond, MaxDuration: 20 * time.Second}

func hasMember(srv *fixtures.Server, email string) bool {
	for _, m := range srv.Members() {
		if roster.SameEmail(m.Email, email) {
			return true
		}
	}
	return false
}

func memberRole(srv *fixtures.Server, email string) string {
	for _, m := range srv.Members() {
		if roster.SameEmail(m.Email, email) {
			return m.Role
		}
	}
	return ""
}

func invitation(srv *fixtures.Server, email string) (fixtures.Invitation, bool) {
	for _, i := range srv.Invitations() {
		if roster.SameEmail(i.Email, email) {
			return i, true
		}
	}
	return fixtures.Invitation{}, false
}

// mutations counts the mutations of kind that the server accepted.
func mutations(srv *fixtures.Server, kind string) (ok, failed int) {
	for _, m := range srv.Mutations() {
		if m.Kind != kind {
			continue
		}
		if m.Status >= 200 && m.Status < 300 {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

func actions(rs []flows.Result) []flows.Action {
	out := make([]flows.Action, len(rs))
	for i, r := range rs {
		out[i] = r.Action
	}
	return out
}

func TestOffboardEveryRendition(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			team := open(t, env, 10*time.Second)
			var seen []flows.Result
			evidence := map[string]int{}
			b := flows.Batch{
				Retry:    fastRetry,
				OnResult: func(r flows.Result) { seen = append(seen, r) },
				Evidence: func(_ context.Context, target, when string) (string, error) {
					evidence[target+"/"+when]++
					return "/evidence/" + target + "-" + when + ".png", nil
				},
			}
			targets, err := flows.ValidateTargets([]string{" John.Smith@ACME.test ", "pending.one@acme.test", "nobody@acme.test", "al@acme.test"}, b.Policy)
			require.NoError(t, err)
			rs, err := team.Offboard(testContext(t), targets, b)
			require.NoError(t, err)
			assert.Equal(t, []flows.Action{flows.Removed, flows.RevokedInvitation, flows.AlreadyAbsent, flows.Removed}, actions(rs))
			assert.Equal(t, actions(rs), actions(seen), "each outcome is reported as it happens")
			assert.False(t, hasMember(env.Server, "john.smith@acme.test"))
			assert.False(t, hasMember(env.Server, "al@acme.test"))
			assert.True(t, hasMember(env.Server, "sal@acme.test"), "a prefix match is never a match")
			_, stillInvited := invitation(env.Server, "pending.one@acme.test")
			assert.False(t, stillInvited)
			ok, _ := mutations(env.Server, "remove")
			assert.Equal(t, 2, ok)
			ok, _ = mutations(env.Server, "revoke")
			assert.Equal(t, 1, ok)
			assert.Equal(t, 1, evidence["john.smith@acme.test/before"])
			assert.Equal(t, 1, evidence["john.smith@acme.test/after"])
			assert.Zero(t, evidence["nobody@acme.test/before"], "nothing is clicked for an absent email")
			require.NotNil(t, rs[0].Before.Member)
			assert.Equal(t, "Smith, John", rs[0].Before.Member.Name)
		})
	}
}

func TestOffboardSafetyRules(t *testing.T) {
	members := func(adminMaria bool) []fixtures.Member {
		ms := fixtures.SeedMembers()
		for i := range ms {
			if ms[i].Email == "admin@acme.test" && !adminMaria {
				continue
			}
			if ms[i].Email == "admin@acme.test" {
				ms[i].Role = "Editor" // Maria is then the last Admin
			}
		}
		return ms
	}
	cases := []struct {
		name    string
		members []fixtures.Member
		targets []string
		policy  flows.Policy
	}{
		{"the signed-in user", nil, []string{"admin@acme.test"}, flows.Policy{}},
		{"the last admin", members(true), []string{"maria.garcia@acme.test"}, flows.Policy{}},
		{"more removals than allowed", nil, []string{"john.smith@acme.test", "bob.oneil@acme.test"}, flows.Policy{MaxRemovals: 1}},
		{"outside the allowed domains", nil, []string{"new.hire@partner.test"}, flows.Policy{AllowDomains: []string{"acme.test"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionGrid))
			if tc.members != nil {
				env.Server.SetMembers(tc.members)
			}
			clicked := false
			rs, err := open(t, env, 10*time.Second).Offboard(testContext(t), tc.targets, flows.Batch{
				Policy:  tc.policy,
				OnStart: func(string) error { clicked = true; return nil },
			})
			require.NoError(t, err)
			require.Len(t, rs, len(tc.targets))
			for _, r := range rs {
				assert.Equal(t, flows.Refused, r.Action, r.Detail)
				assert.ErrorIs(t, r.Err, agent.ErrRefused)
			}
			assert.False(t, clicked)
			assert.Empty(t, env.Server.Mutations(), "nothing is sent")
		})
	}
}

func TestOffboardAmbiguousRowsClickNothing(t *testing.T) {
	env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionTable))
	ms := fixtures.SeedMembers()
	ms = append(ms, fixtures.Member{ID: 900, Name: "Dup One", Email: "dup@acme.test", Role: "Editor"},
		fixtures.Member{ID: 901, Name: "Dup Two", Email: "DUP@acme.test", Role: "Editor"})
	env.Server.SetMembers(ms)
	rs, err := open(t, env, 10*time.Second).Offboard(testContext(t), []string{"dup@acme.test"}, flows.Batch{})
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, flows.Failed, rs[0].Action)
	assert.ErrorIs(t, rs[0].Err, agent.ErrPageChanged)
	assert.Empty(t, env.Server.Mutations())
}

func TestOffboardDryRunClicksNothing(t *testing.T) {
	env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionPaged))
	rs, err := open(t, env, 10*time.Second).Offboard(testContext(t),
		[]string{"john.smith@acme.test", "pending.one@acme.test", "nobody@acme.test", "admin@acme.test"}, flows.Batch{DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, []flows.Action{flows.WouldRemove, flows.WouldRevoke, flows.AlreadyAbsent, flows.Refused}, actions(rs))
	assert.Contains(t, rs[0].Detail, "Smith, John")
	assert.Empty(t, env.Server.Mutations())
	assert.True(t, hasMember(env.Server, "john.smith@acme.test"))
}

func TestOffboardFaults(t *testing.T) {
	t.Run("a 500 on a removal is retried and the member removed once", func(t *testing.T) {
		for _, rendition := range renditions {
			t.Run(rendition, func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition))
				env.Server.SetFaults(fixtures.Faults{FailMutations: 1})
				rs, err := open(t, env, 10*time.Second).Offboard(testContext(t), []string{"john.smith@acme.test"}, flows.Batch{Retry: fastRetry})
				require.NoError(t, err)
				require.Len(t, rs, 1)
				assert.Equal(t, flows.Removed, rs[0].Action, rs[0].Detail)
				ok, bad := mutations(env.Server, "remove")
				assert.Equal(t, 1, ok, "removed exactly once")
				assert.Equal(t, 1, bad)
				assert.False(t, hasMember(env.Server, "john.smith@acme.test"))
			})
		}
	})
	t.Run("a confirm dialog that never appears", func(t *testing.T) {
		env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionGrid))
		env.Server.SetFaults(fixtures.Faults{NoConfirmDialog: true})
		rs, err := open(t, env, 2*time.Second).Offboard(testContext(t), []string{"john.smith@acme.test"}, flows.Batch{Retry: fastRetry})
		require.NoError(t, err)
		require.Len(t, rs, 1)
		assert.Equal(t, flows.Failed, rs[0].Action)
		assert.ErrorIs(t, rs[0].Err, agent.ErrPageChanged)
		assert.Contains(t, rs[0].Detail, "confirmation dialog")
		assert.Empty(t, env.Server.Mutations())
	})
	t.Run("a dialog that does not close", func(t *testing.T) {
		env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionTable))
		env.Server.SetFaults(fixtures.Faults{StickyDialog: true})
		rs, err := open(t, env, 2*time.Second).Offboard(testContext(t), []string{"john.smith@acme.test"}, flows.Batch{Retry: fastRetry})
		require.NoError(t, err)
		assert.Equal(t, flows.Failed, rs[0].Action)
		assert.ErrorIs(t, rs[0].Err, agent.ErrNotVerified)
		assert.Contains(t, rs[0].Detail, "did not close")
		assert.True(t, hasMember(env.Server, "john.smith@acme.test"))
	})
	t.Run("a row that does not disappear", func(t *testing.T) {
		for _, rendition := range renditions {
			t.Run(rendition, func(t *testing.T) {
				env := fixturetest.Start(t, fixtures.WithRendition(rendition))
				env.Server.SetFaults(fixtures.Faults{IgnoreMutations: true})
				rs, err := open(t, env, 3*time.Second).Offboard(testContext(t), []string{"john.smith@acme.test"}, flows.Batch{Retry: fastRetry})
				require.NoError(t, err)
				require.Len(t, rs, 1)
				assert.Equal(t, flows.Failed, rs[0].Action)
				assert.ErrorIs(t, rs[0].Err, agent.ErrNotVerified)
			})
		}
	})
	t.Run("the session expires in the middle of a batch", func(t *testing.T) {
		env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionGrid))
		env.Server.SetFaults(fixtures.Faults{ExpireAfterMutations: 2})
		var seen []flows.Result
		rs, err := open(t, env, 5*time.Second).Offboard(testContext(t),
			[]string{"john.smith@acme.test", "bob.oneil@acme.test", "priya.nair@acme.test"},
			flows.Batch{Retry: fastRetry, OnResult: func(r flows.Result) { seen = append(seen, r) }})
		require.ErrorIs(t, err, agent.ErrLoginRequired)
		require.NotEmpty(t, rs)
		require.Len(t, rs, 2, "the batch stops at the expired session")
		assert.Equal(t, flows.Removed, rs[0].Action)
		assert.Equal(t, flows.Failed, rs[1].Action)
		assert.ErrorIs(t, rs[1].Err, agent.ErrLoginRequired)
		assert.Contains(t, rs[1].Detail, "was confirmed", "the record says the click happened")
		assert.Len(t, seen, len(rs))
		assert.True(t, hasMember(env.Server, "priya.nair@acme.test"))
	})
	t.Run("the browser dies in the middle of a flow", func(t *testing.T) {
		env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionTable))
		team := open(t, env, 5*time.Second)
		var once sync.Once
		rs, err := team.Offboard(testContext(t), []string{"john.smith@acme.test", "bob.oneil@acme.test"}, flows.Batch{
			Retry: fastRetry,
			OnStart: func(target string) error {
				if target == "bob.oneil@acme.test" {
					once.Do(team.Browser().Close)
				}
				return nil
			},
		})
		require.ErrorIs(t, err, agent.ErrBrowserGone)
		require.Len(t, rs, 2)
		assert.Equal(t, flows.Removed, rs[0].Action)
		assert.Equal(t, flows.Failed, rs[1].Action)
		assert.True(t, hasMember(env.Server, "bob.oneil@acme.test"))
	})
}

func TestInviteEveryRendition(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			team := open(t, env, 10*time.Second)
			ctx := testContext(t)
			res, err := team.Invite(ctx, "new.person@acme.test", roster.Viewer, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			assert.Equal(t, flows.Invited, res.Action, res.Detail)
			inv, ok := invitation(env.Server, "new.person@acme.test")
			require.True(t, ok)
			assert.Equal(t, "Viewer", inv.Role)
			ok1, _ := mutations(env.Server, "invite")
			assert.Equal(t, 1, ok1)
		})
	}
}

func TestInviteNoOps(t *testing.T) {
	env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionGrid))
	team := open(t, env, 10*time.Second)
	ctx := testContext(t)
	for _, tc := range []struct {
		email  string
		role   roster.Role
		action flows.Action
		note   string
	}{
		{"john.smith@acme.test", roster.Editor, flows.AlreadyMember, ""},
		{"JO.PARK@acme.test", roster.Admin, flows.AlreadyMember, "set-role"},
		{"pending.one@acme.test", roster.Editor, flows.AlreadyInvited, ""},
		{"new.hire@partner.test", roster.Editor, flows.AlreadyInvited, "not Editor"},
	} {
		res, err := team.Invite(ctx, tc.email, tc.role, flows.Batch{})
		require.NoError(t, err)
		assert.Equal(t, tc.action, res.Action, tc.email)
		if tc.note != "" {
			assert.Contains(t, res.Detail, tc.note)
		}
	}
	assert.Empty(t, env.Server.Mutations())
}

func TestInvitePageErrors(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			env.Server.SetFaults(fixtures.Faults{InviteError: "No seats left on your plan."})
			res, err := open(t, env, 5*time.Second).Invite(testContext(t), "new.person@acme.test", roster.Editor, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			assert.Equal(t, flows.Failed, res.Action)
			assert.ErrorIs(t, res.Err, agent.ErrPageError)
			assert.NotErrorIs(t, res.Err, agent.ErrTransient)
			assert.Contains(t, res.Detail, "No seats left on your plan.")
			_, ok := invitation(env.Server, "new.person@acme.test")
			assert.False(t, ok)
		})
	}
}

func TestSetRoleEveryRendition(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			team := open(t, env, 10*time.Second)
			ctx := testContext(t)
			res, err := team.SetRole(ctx, "john.smith@acme.test", roster.Viewer, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			assert.Equal(t, flows.RoleChanged, res.Action, res.Detail)
			assert.Equal(t, "Viewer", memberRole(env.Server, "john.smith@acme.test"))
			res, err = team.SetRole(ctx, "zoe.alander@acme.test", roster.Viewer, flows.Batch{})
			require.NoError(t, err)
			assert.Equal(t, flows.Unchanged, res.Action)
			ok, _ := mutations(env.Server, "set-role")
			assert.Equal(t, 1, ok)
		})
	}
}

func TestSetRoleRefusals(t *testing.T) {
	env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionPaged))
	team := open(t, env, 10*time.Second)
	ctx := testContext(t)
	res, err := team.SetRole(ctx, "admin@acme.test", roster.Editor, flows.Batch{})
	require.NoError(t, err)
	assert.Equal(t, flows.Refused, res.Action)
	assert.Contains(t, res.Detail, "signed-in user")
	assert.Empty(t, env.Server.Mutations())
	res, err = team.SetRole(ctx, "nobody@acme.test", roster.Editor, flows.Batch{})
	require.NoError(t, err)
	assert.Equal(t, flows.Failed, res.Action)
	assert.ErrorIs(t, res.Err, flows.ErrNoSuchMember)
}

func TestSetRoleRetriesA500(t *testing.T) {
	env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionGrid))
	env.Server.SetFaults(fixtures.Faults{FailMutations: 1})
	res, err := open(t, env, 5*time.Second).SetRole(testContext(t), "john.smith@acme.test", roster.Admin, flows.Batch{Retry: fastRetry})
	require.NoError(t, err)
	assert.Equal(t, flows.RoleChanged, res.Action, res.Detail)
	assert.Equal(t, "Admin", memberRole(env.Server, "john.smith@acme.test"))
}

func TestRevoke(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition))
			rs, err := open(t, env, 10*time.Second).Revoke(testContext(t), []string{"new.hire@partner.test", "john.smith@acme.test"}, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			assert.Equal(t, []flows.Action{flows.RevokedInvitation, flows.AlreadyAbsent}, actions(rs))
			assert.True(t, strings.Contains(rs[1].Detail, "offboard"))
			_, ok := invitation(env.Server, "new.hire@partner.test")
			assert.False(t, ok)
			assert.True(t, hasMember(env.Server, "john.smith@acme.test"))
		})
	}
}

// Rows far down a long list are out of the DOM (virtualized) or behind
// "Load more" (paged) until the flow brings them into view.
func TestMutationsFarDownALongList(t *testing.T) {
	for _, rendition := range renditions {
		t.Run(rendition, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(rendition), fixtures.WithMembers(80))
			team := open(t, env, 10*time.Second)
			ctx := testContext(t)
			res, err := team.SetRole(ctx, "member0071@example.test", roster.Viewer, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			assert.Equal(t, flows.RoleChanged, res.Action, res.Detail)
			assert.Equal(t, "Viewer", memberRole(env.Server, "member0071@example.test"))
			rs, err := team.Offboard(ctx, []string{"member0079@example.test", "member0040@example.test"}, flows.Batch{Retry: fastRetry})
			require.NoError(t, err)
			assert.Equal(t, []flows.Action{flows.Removed, flows.Removed}, actions(rs), rs)
			assert.False(t, hasMember(env.Server, "member0079@example.test"))
			assert.False(t, hasMember(env.Server, "member0040@example.test"))
			_, failed := mutations(env.Server, "remove")
			assert.Zero(t, failed)
		})
	}
}

// TestNoClickWithoutItsRecord: when the record that a click is about to
// happen cannot be written, no flow clicks, the target fails with
// ErrNotRecorded, and a batch stops there.
func TestNoClickWithoutItsRecord(t *testing.T) {
	errDiskFull := errors.New("no space left on device")
	type run func(ctx context.Context, team *flows.Team, b flows.Batch) ([]flows.Result, error)
	one := func(res flows.Result, err error) ([]flows.Result, error) { return []flows.Result{res}, err }
	for _, tc := range []struct {
		name    string
		run     run
		targets int
	}{
		{"offboard", func(ctx context.Context, team *flows.Team, b flows.Batch) ([]flows.Result, error) {
			return team.Offboard(ctx, []string{"john.smith@acme.test", "bob.oneil@acme.test"}, b)
		}, 2},
		{"revoke", func(ctx context.Context, team *flows.Team, b flows.Batch) ([]flows.Result, error) {
			return team.Revoke(ctx, []string{"new.hire@partner.test"}, b)
		}, 1},
		{"set-role", func(ctx context.Context, team *flows.Team, b flows.Batch) ([]flows.Result, error) {
			return one(team.SetRole(ctx, "john.smith@acme.test", roster.Viewer, b))
		}, 1},
		{"invite", func(ctx context.Context, team *flows.Team, b flows.Batch) ([]flows.Result, error) {
			return one(team.Invite(ctx, "new.person@acme.test", roster.Viewer, b))
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fixturetest.Start(t, fixtures.WithRendition(fixtures.RenditionFeed))
			team := open(t, env, 10*time.Second)
			var starts []string
			rs, err := tc.run(testContext(t), team, flows.Batch{
				Retry: fastRetry,
				OnStart: func(target string) error {
					starts = append(starts, target)
					return errDiskFull
				},
			})
			require.NotEmpty(t, rs)
			assert.Equal(t, flows.Failed, rs[0].Action, rs[0].Detail)
			assert.ErrorIs(t, rs[0].Err, flows.ErrNotRecorded)
			assert.ErrorIs(t, rs[0].Err, errDiskFull)
			assert.False(t, rs[0].Clicked)
			if tc.targets > 1 {
				require.ErrorIs(t, err, flows.ErrNotRecorded, "the batch stops")
				assert.Len(t, rs, 1, "no later target is tried")
			}
			assert.Len(t, starts, 1, "one start asked for, not retried")
			assert.Empty(t, env.Server.Mutations(), "nothing was sent to the server")
		})
	}
}
